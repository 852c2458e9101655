//! Checks of index directories made before they are opened together.

use std::path::PathBuf;

use anygram_core::format::{check_distinct_sources, Manifest};
use anygram_core::AnygramError;
use pyo3::prelude::*;

use crate::errors::detach;

/// Refuses index directories that hold the same shard twice (by identity, not by path
/// spelling): see `anygram_core::format::check_distinct_sources`.
#[pyfunction]
pub fn check_index_sources(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<()> {
    detach(py, || {
        let sources = paths
            .into_iter()
            .map(|p| Manifest::read(&p).map(|m| (p, m)))
            .collect::<Result<Vec<_>, AnygramError>>()?;
        check_distinct_sources(&sources)
    })
}
