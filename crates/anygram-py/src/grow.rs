//! `anygram._core` functions that change a live index (`anygram_core::grow`): results and
//! options as JSON text, the engine call with the GIL released.

use std::path::PathBuf;

use anygram_core::grow;
use anygram_core::AnygramError;
use pyo3::prelude::*;

use crate::errors::detach;

fn json_arg(text: &str) -> Result<serde_json::Value, AnygramError> {
    serde_json::from_str(text).map_err(|e| AnygramError::InvalidArgument(format!("info: {e}")))
}

fn json_out<T: serde::Serialize>(v: &T) -> Result<String, AnygramError> {
    serde_json::to_string(v).map_err(|e| AnygramError::Internal(e.to_string()))
}

/// Adds the shards of the finished index at `built` to the index at `index`; the new
/// generation's manifest as JSON.
#[pyfunction]
pub fn grow_adopt(py: Python<'_>, index: PathBuf, built: PathBuf, info: &str) -> PyResult<String> {
    detach(py, || {
        json_out(&grow::adopt(&index, &built, json_arg(info)?)?)
    })
}

/// Takes documents down; `{removed, already, generation}` as JSON.
#[pyfunction]
pub fn grow_takedown(
    py: Python<'_>,
    index: PathBuf,
    doc_ixs: Vec<u64>,
    info: &str,
    workers: usize,
) -> PyResult<String> {
    detach(py, || {
        json_out(&grow::takedown(&index, &doc_ixs, json_arg(info)?, workers)?)
    })
}

/// Merges neighbouring shards; the manifest afterwards as JSON.
#[pyfunction]
#[pyo3(signature = (index, max_shards, mem_budget, workers, info))]
pub fn grow_compact(
    py: Python<'_>,
    index: PathBuf,
    max_shards: Option<usize>,
    mem_budget: u64,
    workers: usize,
    info: &str,
) -> PyResult<String> {
    detach(py, || {
        let m = grow::compact(&index, max_shards, mem_budget, workers, json_arg(info)?)?;
        json_out(&m)
    })
}

/// Every generation, oldest first, as JSON.
#[pyfunction]
pub fn grow_log(py: Python<'_>, index: PathBuf) -> PyResult<String> {
    detach(py, || json_out(&grow::log(&index)?))
}

/// The tier of a shard of `tokens` tokens next to a largest one of `largest`.
#[pyfunction]
pub fn grow_tier(tokens: u64, largest: u64) -> u32 {
    grow::plan::tier(tokens, largest)
}
