//! Engine results to Python objects.

use anygram_core::DocResult;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A `DocResult` as the dict infini-gram returns (plus anygram's extra fields).
pub fn doc_to_dict<'py>(py: Python<'py>, d: &DocResult) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("doc_ix", d.doc_ix)?;
    out.set_item("doc_len", d.doc_len)?;
    out.set_item("disp_len", d.disp_len)?;
    out.set_item("needle_offset", d.needle_offset)?;
    out.set_item("metadata", &d.metadata)?;
    out.set_item("token_ids", &d.token_ids)?;
    out.set_item("blocked", false)?;
    out.set_item("shard", d.shard)?;
    out.set_item("doc_start_ptr", d.doc_start_ptr)?;
    out.set_item("disp_offset", d.disp_offset)?;
    Ok(out)
}

pub fn docs_to_list<'py>(py: Python<'py>, docs: &[DocResult]) -> PyResult<Vec<Bound<'py, PyDict>>> {
    docs.iter().map(|d| doc_to_dict(py, d)).collect()
}
