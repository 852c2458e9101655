//! `anygram._core.IndexBuilder` and `DocumentReader`: the build pipeline's engine side. Python
//! drives the loop per batch of documents (megabytes), never per document or token.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use anygram_core::build::{
    load_bpe, BuildOptions, BuildProgress, ByteEncoder, ByteRange, Document, DocumentReader,
    FieldOptions, FileKind, IndexBuilder, OnError, TextEncoder,
};
use anygram_core::AnygramError;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::{detach, internal, to_py};

fn lock_err() -> AnygramError {
    AnygramError::InvalidArgument("the builder was used from two threads at once".into())
}

fn finished() -> AnygramError {
    AnygramError::InvalidArgument("the builder is already finished".into())
}

#[pyclass(name = "DocumentReader", module = "anygram._core", frozen)]
pub struct PyDocumentReader {
    inner: Mutex<DocumentReader>,
}

#[pymethods]
impl PyDocumentReader {
    #[new]
    /// `byte_range`: `(start, end, first_line)` to read only that part of an uncompressed JSONL
    /// file (a build plan's slice), its documents numbered by their line in the whole file.
    #[pyo3(signature = (path, display_path, kind, text_field = "text".to_string(), metadata_fields = None, on_error = "fail", max_line_bytes = None, byte_range = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        path: PathBuf,
        display_path: String,
        kind: &str,
        text_field: String,
        metadata_fields: Option<Vec<String>>,
        on_error: &str,
        max_line_bytes: Option<usize>,
        byte_range: Option<(u64, u64, u64)>,
    ) -> PyResult<Self> {
        let kind = match kind {
            "jsonl" => FileKind::Jsonl,
            "text" => FileKind::Text,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown file kind {other:?}"
                )))
            }
        };
        let on_error = parse_on_error(on_error)?;
        let fields = FieldOptions {
            text_field,
            metadata_fields,
        };
        let mut inner = match byte_range {
            None => DocumentReader::open(&path, &display_path, kind, fields, on_error),
            Some((start, end, first_line)) if matches!(kind, FileKind::Jsonl) => {
                let range = ByteRange {
                    start,
                    end,
                    first_line,
                };
                DocumentReader::open_range(&path, &display_path, fields, on_error, range)
            }
            Some(_) => Err(AnygramError::InvalidArgument(format!(
                "{}: only JSONL files can be read in parts",
                path.display()
            ))),
        }
        .map_err(to_py)?;
        if let Some(n) = max_line_bytes {
            inner = inner.with_max_line_bytes(n);
        }
        Ok(PyDocumentReader {
            inner: Mutex::new(inner),
        })
    }

    /// `(texts, metadata lines)` of the next batch; empty lists at the end of the file. For
    /// tokenizers that run in Python.
    fn read_batch(&self, py: Python<'_>, max_bytes: usize) -> PyResult<(Vec<String>, Vec<String>)> {
        let docs = detach(py, || {
            self.inner
                .lock()
                .map_err(|_| lock_err())?
                .next_batch(max_bytes)
        })?;
        Ok(docs.into_iter().map(|d| (d.text, d.meta)).unzip())
    }

    #[getter]
    fn file_bytes_read(&self) -> u64 {
        self.inner.lock().map(|r| r.file_bytes_read()).unwrap_or(0)
    }

    #[getter]
    fn skipped(&self) -> u64 {
        self.inner.lock().map(|r| r.skipped).unwrap_or(0)
    }

    #[getter]
    fn skipped_examples(&self) -> Vec<String> {
        self.inner
            .lock()
            .map(|r| r.skipped_examples.clone())
            .unwrap_or_default()
    }
}

fn parse_on_error(s: &str) -> PyResult<OnError> {
    match s {
        "fail" => Ok(OnError::Fail),
        "skip" => Ok(OnError::Skip),
        other => Err(PyValueError::new_err(format!(
            "on_error must be 'fail' or 'skip', not {other:?}"
        ))),
    }
}

/// The engine-side tokenizer of a build, when there is one.
fn make_encoder(spec: &str, path: Option<&Path>) -> PyResult<Option<Box<dyn TextEncoder>>> {
    match (spec, path) {
        ("bytes", _) => Ok(Some(Box::new(ByteEncoder))),
        ("external", _) => Ok(None),
        (kind, Some(path)) => Ok(Some(Box::new(load_bpe(kind, path).map_err(to_py)?))),
        (other, None) => Err(PyValueError::new_err(format!(
            "engine tokenizer {other:?} needs a file"
        ))),
    }
}

/// `anygram._core.Bpe`: the engine's exact byte-level BPE, for text queries and decoding.
#[pyclass(name = "Bpe", module = "anygram._core", frozen)]
pub struct PyBpe {
    inner: anygram_bpe::BpeTokenizer,
}

#[pymethods]
impl PyBpe {
    /// `kind`: "hf-bpe", "tiktoken-cl100k", "tiktoken-o200k" or "tiktoken-r50k". Raises
    /// `UnsupportedTokenizerError` for a tokenizer.json outside the fast path.
    #[new]
    fn new(py: Python<'_>, kind: String, path: PathBuf) -> PyResult<Self> {
        let inner = detach(py, || load_bpe(&kind, &path))?;
        Ok(PyBpe { inner })
    }

    fn encode(&self, py: Python<'_>, text: &str) -> Vec<u32> {
        py.detach(|| self.inner.encode(text))
    }

    fn encode_batch(&self, py: Python<'_>, texts: Vec<String>) -> Vec<Vec<u32>> {
        py.detach(|| {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            self.inner.encode_batch(&refs)
        })
    }

    /// The raw bytes of the tokens (UTF-8 may be cut mid-character at a window's edge).
    fn decode_bytes(&self, ids: Vec<u32>) -> PyResult<std::borrow::Cow<'static, [u8]>> {
        self.inner
            .decode_bytes(&ids)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| to_py(AnygramError::InvalidQuery(e.to_string())))
    }

    /// Each token decoded on its own, in one call (infini-gram's `tokens` field): a token that
    /// is not whole UTF-8 gets U+FFFD for its broken bytes.
    fn decode_each(&self, py: Python<'_>, ids: Vec<u32>) -> PyResult<Vec<String>> {
        detach(py, || {
            ids.iter()
                .map(|&id| {
                    self.inner
                        .token_bytes(id)
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .ok_or_else(|| AnygramError::InvalidQuery(format!("unknown token id {id}")))
                })
                .collect()
        })
    }

    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }
}

#[pyclass(name = "IndexBuilder", module = "anygram._core", frozen)]
pub struct PyIndexBuilder {
    inner: Mutex<Option<IndexBuilder>>,
    progress: Arc<BuildProgress>,
    encoder: Option<Box<dyn TextEncoder>>,
}

impl PyIndexBuilder {
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut IndexBuilder, Option<&dyn TextEncoder>) -> Result<T, AnygramError> + Send,
    ) -> PyResult<T> {
        let encoder = self.encoder.as_deref();
        detach(py, || {
            let mut guard = self.inner.lock().map_err(|_| lock_err())?;
            let b = guard.as_mut().ok_or_else(finished)?;
            f(b, encoder)
        })
    }
}

fn no_encoder() -> AnygramError {
    AnygramError::InvalidArgument("this build tokenizes in Python: pass token ids".into())
}

#[pymethods]
impl PyIndexBuilder {
    /// `encoder` is "bytes" (UTF-8 bytes, in the engine) or "external" (ids come from Python).
    /// `index_options_json`: the kind, its parameters and case folding, as the manifest records
    /// them (`{"kind": "fm", "fm": {"sa_sample": 32, "isa_sample": 64}, "fold_case": false}`).
    #[new]
    #[pyo3(signature = (out, vocab_size, tokenizer_json, encoder, mem_budget, workers, max_shard_tokens = None, overwrite = false, encoder_path = None, resume_key = None, index_options_json = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        out: PathBuf,
        vocab_size: u64,
        tokenizer_json: &str,
        encoder: &str,
        mem_budget: u64,
        workers: usize,
        max_shard_tokens: Option<u64>,
        overwrite: bool,
        encoder_path: Option<PathBuf>,
        resume_key: Option<String>,
        index_options_json: Option<&str>,
    ) -> PyResult<Self> {
        let tokenizer: serde_json::Value = serde_json::from_str(tokenizer_json)
            .map_err(|e| PyValueError::new_err(format!("tokenizer_json: {e}")))?;
        let encoder = make_encoder(encoder, encoder_path.as_deref())?;
        let index = match index_options_json {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| to_py(AnygramError::InvalidArgument(format!("index options: {e}"))))?,
            None => Default::default(),
        };
        let opts = BuildOptions {
            mem_budget,
            workers,
            max_shard_tokens,
            overwrite,
            resume_key,
            index,
        };
        let inner = detach(py, || {
            IndexBuilder::create(&out, vocab_size, tokenizer, &opts)
        })?;
        Ok(PyIndexBuilder {
            progress: inner.progress(),
            inner: Mutex::new(Some(inner)),
            encoder,
        })
    }

    /// Reads, tokenizes and adds about `max_bytes` of documents from `reader`; returns
    /// `(documents, text bytes)` added, `(0, 0)` at the end of the file.
    fn add_from_reader(
        &self,
        py: Python<'_>,
        reader: &PyDocumentReader,
        max_bytes: usize,
    ) -> PyResult<(u64, u64)> {
        self.with(py, |b, enc| {
            let enc = enc.ok_or_else(no_encoder)?;
            let docs = reader
                .inner
                .lock()
                .map_err(|_| lock_err())?
                .next_batch(max_bytes)?;
            let bytes = docs.iter().map(|d| d.text.len() as u64).sum();
            b.add_documents(&docs, enc)?;
            Ok((docs.len() as u64, bytes))
        })
    }

    /// Tokenizes (in the engine) and adds documents given as text.
    fn add_texts(&self, py: Python<'_>, texts: Vec<String>, metas: Vec<String>) -> PyResult<()> {
        if texts.len() != metas.len() {
            return Err(PyValueError::new_err("texts and metas differ in length"));
        }
        let docs: Vec<Document> = texts
            .into_iter()
            .zip(metas)
            .map(|(text, meta)| Document { text, meta })
            .collect();
        self.with(py, |b, enc| {
            b.add_documents(&docs, enc.ok_or_else(no_encoder)?)
        })
    }

    /// Adds documents given as token ids (tokenized in Python).
    fn add_token_documents(
        &self,
        py: Python<'_>,
        docs: Vec<Vec<u32>>,
        metas: Vec<String>,
    ) -> PyResult<()> {
        if docs.len() != metas.len() {
            return Err(PyValueError::new_err("docs and metas differ in length"));
        }
        self.with(py, |b, _| {
            for (d, m) in docs.iter().zip(&metas) {
                b.add_token_document(d, m)?;
            }
            Ok(())
        })
    }

    /// Shards whose documents are complete; readable while `finish` runs in another thread.
    #[getter]
    fn shards_sealed(&self) -> u64 {
        self.progress.shards_sealed.load(Ordering::Relaxed)
    }

    /// Stops the build at its next check (callable while another thread is inside the
    /// builder): the manifest is never written, the directory stays a resumable build.
    fn cancel(&self) {
        self.progress.cancelled.store(true, Ordering::Relaxed);
    }

    /// Shards fully written; readable while `finish` runs in another thread.
    #[getter]
    fn shards_written(&self) -> u64 {
        self.progress.shards_written.load(Ordering::Relaxed)
    }

    /// Shards kept from an interrupted earlier run of the same build.
    #[getter]
    fn resumed_shards(&self) -> usize {
        self.inner
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|b| b.resumed_shards()))
            .unwrap_or(0)
    }

    #[getter]
    fn docs_added(&self) -> u64 {
        self.inner
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|b| b.docs_added()))
            .unwrap_or(0)
    }

    #[getter]
    fn tokens_added(&self) -> u64 {
        self.inner
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|b| b.tokens_added()))
            .unwrap_or(0)
    }

    #[getter]
    fn token_width(&self) -> Option<&'static str> {
        self.inner
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|b| b.token_width().name()))
    }

    /// Builds the last shard and commits the index; returns the manifest as JSON text.
    fn finish(&self, py: Python<'_>, build_info_json: &str) -> PyResult<String> {
        let info: serde_json::Value = serde_json::from_str(build_info_json)
            .map_err(|e| PyValueError::new_err(format!("build_info_json: {e}")))?;
        detach(py, || {
            let b = self
                .inner
                .lock()
                .map_err(|_| lock_err())?
                .take()
                .ok_or_else(finished)?;
            let m = b.finish(info)?;
            serde_json::to_string(&m).map_err(|e| AnygramError::InvalidArgument(e.to_string()))
        })
    }
}

/// Joins the finished part indexes of a build plan (in plan order) into the index `out`, its
/// manifest written last with `build_info_json` as build facts; returns the manifest's JSON.
#[pyfunction]
pub fn assemble_index(
    py: Python<'_>,
    out: PathBuf,
    parts: Vec<PathBuf>,
    build_info_json: &str,
) -> PyResult<String> {
    let build: serde_json::Value = serde_json::from_str(build_info_json)
        .map_err(|e| PyValueError::new_err(format!("build_info_json: {e}")))?;
    let manifest = detach(py, || {
        anygram_core::build::assemble::assemble(&out, &parts, build)
    })?;
    serde_json::to_string(&manifest).map_err(|e| internal(format!("manifest: {e}")))
}

/// `text` case-folded as a `--fold-case` index folds its text (Unicode simple case folding,
/// byte length kept: `anygram_core::fold`), for folding queries the same way.
#[pyfunction]
pub fn fold_case(text: &str) -> String {
    anygram_core::fold::fold(text)
}
