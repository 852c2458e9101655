//! `anygram._core.Dedup`: one dedup or decontamination run over index directories, and the
//! rewrite of JSONL inputs with its ranges. Python drives it per file, never per token.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anygram_core::build::{load_bpe, OnError};
use anygram_core::dedup::rewrite::{rewrite_jsonl, RewriteJob};
use anygram_core::dedup::{dedup_dirs, DedupOptions, DedupResult, Keep, TokenBytes};
use anygram_core::{AnygramError, OpenOptions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{detach, to_py};

#[pyclass(name = "Dedup", module = "anygram._core", frozen)]
pub struct PyDedup {
    corpus: Vec<PathBuf>,
    against: Option<Vec<PathBuf>>,
    encoder: String,
    encoder_path: Option<PathBuf>,
    opts: DedupOptions,
    cancel: Arc<AtomicBool>,
    result: Mutex<Option<Arc<DedupResult>>>,
}

fn not_run() -> PyErr {
    to_py(AnygramError::InvalidArgument(
        "the dedup has not run yet".into(),
    ))
}

impl PyDedup {
    fn result(&self) -> PyResult<Arc<DedupResult>> {
        self.result
            .lock()
            .map_err(|_| not_run())?
            .clone()
            .ok_or_else(not_run)
    }
}

#[pymethods]
impl PyDedup {
    /// `encoder`/`encoder_path`: the indexes' tokenizer as the engine reads it ("bytes", or a
    /// BPE kind and its file), to give ranges in bytes of the text.
    #[new]
    #[pyo3(signature = (corpus, min_len, keep = "first", against = None, encoder = "bytes".to_string(), encoder_path = None, workers = 1, top_spans = 20))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        corpus: Vec<PathBuf>,
        min_len: u64,
        keep: &str,
        against: Option<Vec<PathBuf>>,
        encoder: String,
        encoder_path: Option<PathBuf>,
        workers: usize,
        top_spans: usize,
    ) -> PyResult<Self> {
        let keep = match keep {
            "first" => Keep::First,
            "none" => Keep::None,
            other => {
                return Err(PyValueError::new_err(format!(
                    "keep must be 'first' or 'none', not {other:?}"
                )))
            }
        };
        let cancel = Arc::new(AtomicBool::new(false));
        Ok(PyDedup {
            corpus,
            against,
            encoder,
            encoder_path,
            opts: DedupOptions {
                min_len,
                keep,
                workers: workers.max(1),
                top_spans,
                cancel: Some(cancel.clone()),
            },
            cancel,
            result: Mutex::new(None),
        })
    }

    /// Finds the ranges (GIL released); `cancel()` from another thread stops it.
    fn run(&self, py: Python<'_>) -> PyResult<()> {
        let result = detach(py, || {
            let bytes = match (self.encoder.as_str(), &self.encoder_path) {
                ("bytes", _) => TokenBytes::Identity,
                (kind, Some(path)) => TokenBytes::of_bpe(&load_bpe(kind, path)?),
                (other, None) => {
                    return Err(AnygramError::Unsupported(format!(
                        "dedup maps tokens back to text with the engine's tokenizers (bytes, \
                         byte-level BPE, tiktoken); {other:?} is not one of them"
                    )))
                }
            };
            dedup_dirs(
                &self.corpus,
                self.against.as_deref(),
                &self.opts,
                Some(&bytes),
                OpenOptions::default(),
            )
        })?;
        *self.result.lock().map_err(|_| not_run())? = Some(Arc::new(result));
        Ok(())
    }

    fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// `(docs, lens, ranges)`: every document with something to remove (global number), its
    /// length in bytes, and its byte ranges.
    #[allow(clippy::type_complexity)]
    fn ranges(&self) -> PyResult<(Vec<u64>, Vec<u64>, Vec<Vec<(u64, u64)>>)> {
        let r = self.result()?;
        Ok((
            r.docs.iter().map(|d| d.doc).collect(),
            r.docs.iter().map(|d| d.len).collect(),
            r.docs.iter().map(|d| d.ranges.clone()).collect(),
        ))
    }

    /// Seconds spent per engine phase.
    fn seconds(&self) -> PyResult<Vec<(String, f64)>> {
        let r = self.result()?;
        Ok(r.seconds.iter().map(|(p, t)| (p.to_string(), *t)).collect())
    }

    /// The most repeated spans: `(count, length in tokens, first tokens)`.
    fn spans(&self) -> PyResult<Vec<(u64, u64, Vec<u32>)>> {
        let r = self.result()?;
        Ok(r.spans
            .iter()
            .map(|s| (s.count, s.len, s.tokens.clone()))
            .collect())
    }

    /// Rewrites one JSONL input (plain, .gz, .zst) into `output` without the ranges; returns
    /// the counts as a dict.
    #[pyo3(signature = (input, output, first_doc, text_field = "text", drop_empty = true, on_error = "fail", max_line_bytes = 8 << 30))]
    #[allow(clippy::too_many_arguments)]
    fn rewrite_jsonl<'py>(
        &self,
        py: Python<'py>,
        input: PathBuf,
        output: PathBuf,
        first_doc: u64,
        text_field: &str,
        drop_empty: bool,
        on_error: &str,
        max_line_bytes: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let on_error = match on_error {
            "fail" => OnError::Fail,
            "skip" => OnError::Skip,
            other => {
                return Err(PyValueError::new_err(format!(
                    "on_error must be 'fail' or 'skip', not {other:?}"
                )))
            }
        };
        let r = self.result()?;
        let stats = detach(py, || {
            rewrite_jsonl(&RewriteJob {
                input: &input,
                output: &output,
                text_field,
                first_doc,
                docs: &r.docs,
                drop_empty,
                on_error,
                max_line_bytes,
            })
        })?;
        let d = PyDict::new(py);
        d.set_item("docs", stats.docs)?;
        d.set_item("docs_changed", stats.docs_changed)?;
        d.set_item("docs_dropped", stats.docs_dropped)?;
        d.set_item("text_bytes", stats.text_bytes)?;
        d.set_item("bytes_removed", stats.bytes_removed)?;
        d.set_item("skipped", stats.skipped)?;
        d.set_item("skipped_examples", stats.skipped_examples)?;
        Ok(d)
    }
}
