//! `anygram._core.Drafter`: one request's draft state over an opened index
//! (`anygram_core::draft`). Contexts come as a list of ids or, from numpy callers, as the
//! bytes of a little-endian u32 array, so a long context crosses without a Python object
//! per token.

use std::sync::Mutex;

use anygram_core::draft::{DraftOptions, DraftTree, Drafter};
use anygram_core::AnygramError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pythonize::pythonize;

use crate::errors::{detach, internal};
use crate::ids::TokenIds;
use crate::index::PyIndex;

#[pyclass(name = "Drafter", module = "anygram._core", frozen)]
pub struct PyDrafter {
    index: Py<PyIndex>,
    inner: Mutex<Drafter>,
}

fn unpack(bytes: &[u8]) -> Result<Vec<u32>, AnygramError> {
    if bytes.len() % 4 != 0 {
        return Err(AnygramError::InvalidQuery(format!(
            "packed token ids take 4 bytes each, not {} bytes",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

impl PyDrafter {
    fn run(&self, py: Python<'_>, ids: Vec<u32>, branching: usize) -> PyResult<DraftTree> {
        let index = &self.index.get().inner;
        detach(py, || {
            let mut d = self
                .inner
                .lock()
                .map_err(|_| AnygramError::Internal("a drafter panicked earlier".into()))?;
            d.draft(index, &ids, branching)
        })
    }
}

#[pymethods]
impl PyDrafter {
    #[new]
    #[pyo3(signature = (index, *, max_tokens, tokens_per_match, min_match, min_prob, use_context, calibrate))]
    fn new(
        index: Py<PyIndex>,
        max_tokens: usize,
        tokens_per_match: f64,
        min_match: usize,
        min_prob: f64,
        use_context: bool,
        calibrate: bool,
    ) -> PyResult<Self> {
        let opts = DraftOptions {
            max_tokens,
            tokens_per_match,
            min_match,
            min_prob,
            use_context,
            calibrate,
        };
        let inner = Drafter::new(opts).map_err(crate::errors::to_py)?;
        Ok(PyDrafter {
            index,
            inner: Mutex::new(inner),
        })
    }

    /// `{token_ids, parents, counts, probs, match_len, source}` after the context `ids`.
    #[pyo3(signature = (ids, *, branching = 1))]
    fn draft<'py>(
        &self,
        py: Python<'py>,
        ids: TokenIds,
        branching: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let tree = self.run(py, ids.0, branching)?;
        pythonize(py, &tree).map_err(|e| internal(format!("converting a draft: {e}")))
    }

    /// The draft's token ids (a single draft) after the context given as little-endian u32
    /// bytes.
    fn draft_packed(&self, py: Python<'_>, ids: &[u8]) -> PyResult<Vec<u32>> {
        let ids = unpack(ids).map_err(crate::errors::to_py)?;
        Ok(self.run(py, ids, 1)?.token_ids)
    }

    /// `{drafts, drafted, accepted, acceptance}`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self
            .inner
            .lock()
            .map_err(|_| internal("a drafter panicked earlier".into()))?
            .stats();
        let d = PyDict::new(py);
        d.set_item("drafts", s.drafts)?;
        d.set_item("drafted", s.drafted)?;
        d.set_item("accepted", s.accepted)?;
        d.set_item("acceptance", s.acceptance)?;
        Ok(d)
    }
}
