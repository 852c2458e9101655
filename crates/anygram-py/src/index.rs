//! `anygram._core.Index`: an opened index. Every method releases the GIL; results cross as
//! dicts with named fields (engine structs through serde), options as keyword arguments.

use std::path::PathBuf;

use anygram_core::attribution::{word_starts_from_ids, AttributeOptions};
use anygram_core::cnf::{CnfOptions, CnfScope, Page, SAMPLING_SEED};
use anygram_core::contamination::WindowUnit;
use anygram_core::generate::{GenerateOptions, Sampler};
use anygram_core::lm::NtdOptions;
use anygram_core::merge::NtdResult;
use anygram_core::{Deadline, Index, OpenOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pythonize::pythonize;
use serde::Serialize;

use crate::convert::{doc_to_dict, docs_to_list};
use crate::errors::{detach, internal};
use crate::ids::TokenIds;

/// infini-gram's `ntd` result: `{prompt_cnt, result_by_token_id: {id: {cont_cnt, prob}}, approx}`.
fn ntd_to_dict<'py>(py: Python<'py>, r: &NtdResult) -> PyResult<Bound<'py, PyDict>> {
    let by_id = PyDict::new(py);
    for &(id, cont_cnt) in &r.counts {
        let entry = PyDict::new(py);
        entry.set_item("cont_cnt", cont_cnt)?;
        entry.set_item("prob", r.prob(cont_cnt))?;
        by_id.set_item(id, entry)?;
    }
    let d = PyDict::new(py);
    d.set_item("prompt_cnt", r.prompt_cnt)?;
    d.set_item("result_by_token_id", by_id)?;
    d.set_item("approx", r.approx)?;
    Ok(d)
}

/// Any engine result as Python objects (structs become dicts with their field names).
fn to_py<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    pythonize(py, value).map_err(|e| internal(format!("converting a result: {e}")))
}

/// Columns of per-position results, `{name: [value per position]}`, built straight from the
/// engine's rows (no per-row Python objects).
macro_rules! columns {
    ($py:expr, $rows:expr, { $($name:literal => |$r:ident| $value:expr),* $(,)? }) => {{
        let out = PyDict::new($py);
        $(
            out.set_item($name, $rows.iter().map(|$r| $value).collect::<Vec<_>>())?;
        )*
        Ok(out)
    }};
}

fn cnf_options(
    max_clause_freq: u64,
    max_diff_tokens: u64,
    exact: bool,
    document_scope: bool,
    seed: Option<u64>,
) -> CnfOptions {
    CnfOptions {
        max_clause_freq,
        max_diff_tokens,
        exact,
        scope: if document_scope {
            CnfScope::Document
        } else {
            CnfScope::Window
        },
        seed: seed.unwrap_or(SAMPLING_SEED),
        ..CnfOptions::default()
    }
}

fn cnf_ids(cnf: Vec<Vec<TokenIds>>) -> Vec<Vec<Vec<u32>>> {
    cnf.into_iter()
        .map(|c| c.into_iter().map(|t| t.0).collect())
        .collect()
}

#[pyclass(name = "Index", module = "anygram._core", frozen)]
pub struct PyIndex {
    pub(crate) inner: Index,
}

impl PyIndex {
    /// An index opened elsewhere (e.g. over another executor, `crate::remote`).
    pub(crate) fn from_index(inner: Index) -> Self {
        PyIndex { inner }
    }
}

#[pymethods]
impl PyIndex {
    #[new]
    #[pyo3(signature = (paths, *, load_to_ram = false, verify = false, populate = false))]
    fn new(
        py: Python<'_>,
        paths: Vec<PathBuf>,
        load_to_ram: bool,
        verify: bool,
        populate: bool,
    ) -> PyResult<Self> {
        let opts = OpenOptions {
            load_to_ram,
            verify_checksums: verify,
            populate,
        };
        let inner = detach(py, || Index::open(&paths, opts))?;
        Ok(PyIndex { inner })
    }

    fn count(&self, py: Python<'_>, ids: TokenIds) -> PyResult<u64> {
        detach(py, || self.inner.count(&ids.0))
    }

    /// `{cnt, segment_by_shard: [{lo, hi}]}`.
    fn find<'py>(&self, py: Python<'py>, ids: TokenIds) -> PyResult<Bound<'py, PyAny>> {
        let r = detach(py, || self.inner.find(&ids.0))?;
        to_py(py, &r)
    }

    /// Document ends are reported under this id unless the caller names another.
    #[getter]
    fn default_eos_token_id(&self) -> u32 {
        self.inner.default_eos_token_id()
    }

    /// `{prompt_cnt, cont_cnt, prob}`.
    #[pyo3(signature = (prompt, cont_id, *, eos_token_id))]
    fn prob<'py>(
        &self,
        py: Python<'py>,
        prompt: TokenIds,
        cont_id: u32,
        eos_token_id: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = detach(py, || self.inner.prob(&prompt.0, cont_id, eos_token_id))?;
        // Built by hand: the hottest small result (pythonize costs ~1 µs more here).
        let d = PyDict::new(py);
        d.set_item("prompt_cnt", r.prompt_cnt)?;
        d.set_item("cont_cnt", r.cont_cnt)?;
        d.set_item("prob", r.prob)?;
        Ok(d.into_any())
    }

    #[pyo3(signature = (prompt, *, max_support, exact, eos_token_id))]
    fn ntd<'py>(
        &self,
        py: Python<'py>,
        prompt: TokenIds,
        max_support: u64,
        exact: bool,
        eos_token_id: u32,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = NtdOptions { max_support, exact };
        let r = detach(py, || self.inner.ntd(&prompt.0, opts, eos_token_id))?;
        ntd_to_dict(py, &r)
    }

    /// `{prompt_cnt, cont_cnt, prob, suffix_len}`.
    #[pyo3(signature = (prompt, cont_id, *, eos_token_id))]
    fn infgram_prob<'py>(
        &self,
        py: Python<'py>,
        prompt: TokenIds,
        cont_id: u32,
        eos_token_id: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = detach(py, || {
            self.inner.infgram_prob(&prompt.0, cont_id, eos_token_id)
        })?;
        let d = PyDict::new(py);
        d.set_item("prompt_cnt", r.prompt_cnt)?;
        d.set_item("cont_cnt", r.cont_cnt)?;
        d.set_item("prob", r.prob)?;
        d.set_item("suffix_len", r.suffix_len)?;
        Ok(d.into_any())
    }

    #[pyo3(signature = (prompt, *, max_support, exact, eos_token_id))]
    fn infgram_ntd<'py>(
        &self,
        py: Python<'py>,
        prompt: TokenIds,
        max_support: u64,
        exact: bool,
        eos_token_id: u32,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = NtdOptions { max_support, exact };
        let r = detach(py, || self.inner.infgram_ntd(&prompt.0, opts, eos_token_id))?;
        let d = ntd_to_dict(py, &r.ntd)?;
        d.set_item("suffix_len", r.suffix_len)?;
        Ok(d)
    }

    /// `needle_len`: the pattern's length in tokens (needed by kinds whose ranks mark where
    /// occurrences end; the SA kind ignores it).
    #[pyo3(signature = (s, rank, max_disp_len, *, needle_len = 0))]
    fn get_doc_by_rank<'py>(
        &self,
        py: Python<'py>,
        s: usize,
        rank: u64,
        max_disp_len: u64,
        needle_len: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let d = detach(py, || {
            self.inner
                .get_doc_by_rank(s, rank, needle_len, max_disp_len)
        })?;
        doc_to_dict(py, &d)
    }

    fn get_doc_by_ptr<'py>(
        &self,
        py: Python<'py>,
        s: usize,
        ptr: u64,
        max_disp_len: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let d = detach(py, || self.inner.get_doc_by_ptr(s, ptr, max_disp_len))?;
        doc_to_dict(py, &d)
    }

    fn get_doc_by_ix<'py>(
        &self,
        py: Python<'py>,
        doc_ix: u64,
        max_disp_len: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let d = detach(py, || self.inner.get_doc_by_ix(doc_ix, max_disp_len))?;
        doc_to_dict(py, &d)
    }

    #[pyo3(signature = (requests, max_disp_len, *, needle_len = 0))]
    fn get_docs_by_ranks<'py>(
        &self,
        py: Python<'py>,
        requests: Vec<(usize, u64)>,
        max_disp_len: u64,
        needle_len: usize,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let d = detach(py, || {
            self.inner
                .get_docs_by_ranks(&requests, needle_len, max_disp_len)
        })?;
        docs_to_list(py, &d)
    }

    fn get_docs_by_ptrs<'py>(
        &self,
        py: Python<'py>,
        requests: Vec<(usize, u64)>,
        max_disp_len: u64,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let d = detach(py, || self.inner.get_docs_by_ptrs(&requests, max_disp_len))?;
        docs_to_list(py, &d)
    }

    fn get_docs_by_ixs<'py>(
        &self,
        py: Python<'py>,
        doc_ixs: Vec<u64>,
        max_disp_len: u64,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let d = detach(py, || self.inner.get_docs_by_ixs(&doc_ixs, max_disp_len))?;
        docs_to_list(py, &d)
    }

    #[getter]
    fn num_tokens(&self) -> u64 {
        self.inner.num_tokens()
    }

    #[getter]
    fn num_docs(&self) -> u64 {
        self.inner.num_docs()
    }

    #[getter]
    fn num_shards(&self) -> usize {
        self.inner.num_shards()
    }

    #[getter]
    fn vocab_size(&self) -> u64 {
        self.inner.vocab_size()
    }

    #[getter]
    fn token_width(&self) -> &'static str {
        self.inner.token_width().name()
    }

    #[getter]
    fn size_bytes(&self) -> u64 {
        self.inner.size_bytes()
    }

    /// The tokenizer description stored in the manifest, as JSON text.
    #[getter]
    fn tokenizer_json(&self) -> String {
        self.inner.tokenizer().to_string()
    }

    /// Each opened directory's manifest, as JSON text.
    fn manifests(&self) -> Vec<(PathBuf, String)> {
        self.inner
            .sources
            .iter()
            .map(|(p, m)| (p.clone(), serde_json::to_string(m).unwrap_or_default()))
            .collect()
    }

    /// The generation of each opened directory.
    #[getter]
    fn generations(&self) -> Vec<u64> {
        self.inner.generations()
    }

    /// Document numbers given out (taken-down ones included).
    #[getter]
    fn doc_slots(&self) -> u64 {
        self.inner.doc_slots()
    }

    /// Global numbers of the documents whose metadata has `value` at the key path `path`.
    fn docs_where(&self, py: Python<'_>, path: Vec<String>, value: String) -> PyResult<Vec<u64>> {
        detach(py, || self.inner.docs_where(&path, &value))
    }

    /// Global numbers of the documents containing an n-gram.
    fn docs_containing(&self, py: Python<'_>, ids: TokenIds) -> PyResult<Vec<u64>> {
        detach(py, || self.inner.docs_containing(&ids.0))
    }

    /// Per shard: `(directory, tokens, documents, bytes)`.
    fn shard_stats(&self) -> Vec<(PathBuf, u64, u64, u64)> {
        self.inner.shard_stats()
    }

    // ------------------------------------------------------------- boolean search (cnf.rs)

    /// `{cnt, approx, cnt_interval}` of a CNF query: `cnf[clause][term]` are token ids.
    #[pyo3(signature = (cnf, *, max_clause_freq, max_diff_tokens, exact, document_scope, seed = None, timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn count_cnf<'py>(
        &self,
        py: Python<'py>,
        cnf: Vec<Vec<TokenIds>>,
        max_clause_freq: u64,
        max_diff_tokens: u64,
        exact: bool,
        document_scope: bool,
        seed: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = cnf_options(
            max_clause_freq,
            max_diff_tokens,
            exact,
            document_scope,
            seed,
        );
        let cnf = cnf_ids(cnf);
        let deadline = Deadline::after_secs(timeout);
        let r = detach(py, || self.inner.count_cnf_until(&cnf, opts, deadline))?;
        to_py(py, &r)
    }

    /// `{cnt, approx, cnt_interval, ptrs_by_shard}`.
    #[pyo3(signature = (cnf, *, max_clause_freq, max_diff_tokens, exact, document_scope, seed = None, timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn find_cnf<'py>(
        &self,
        py: Python<'py>,
        cnf: Vec<Vec<TokenIds>>,
        max_clause_freq: u64,
        max_diff_tokens: u64,
        exact: bool,
        document_scope: bool,
        seed: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = cnf_options(
            max_clause_freq,
            max_diff_tokens,
            exact,
            document_scope,
            seed,
        );
        let cnf = cnf_ids(cnf);
        let deadline = Deadline::after_secs(timeout);
        let r = detach(py, || self.inner.find_cnf_until(&cnf, opts, deadline))?;
        to_py(py, &r)
    }

    /// `{cnt, approx, cnt_interval, total, idxs, documents}`; each document has `spans:
    /// [(start, end, clause)]` in its window.
    #[pyo3(signature = (cnf, *, max_clause_freq, max_diff_tokens, exact, document_scope, offset, limit, page_seed, max_disp_len, seed = None, timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn search_docs_cnf<'py>(
        &self,
        py: Python<'py>,
        cnf: Vec<Vec<TokenIds>>,
        max_clause_freq: u64,
        max_diff_tokens: u64,
        exact: bool,
        document_scope: bool,
        offset: u64,
        limit: u64,
        page_seed: Option<u64>,
        max_disp_len: u64,
        seed: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = cnf_options(
            max_clause_freq,
            max_diff_tokens,
            exact,
            document_scope,
            seed,
        );
        let cnf = cnf_ids(cnf);
        let page = Page {
            offset,
            limit,
            seed: page_seed,
            max_disp_len,
        };
        let deadline = Deadline::after_secs(timeout);
        let r = detach(py, || {
            self.inner.search_docs_cnf_until(&cnf, opts, page, deadline)
        })?;
        let docs = r
            .docs
            .iter()
            .map(|d| {
                let dict = doc_to_dict(py, &d.doc)?;
                dict.set_item("spans", &d.spans)?;
                Ok(dict)
            })
            .collect::<PyResult<Vec<_>>>()?;
        let out = PyDict::new(py);
        out.set_item("cnt", r.cnt)?;
        out.set_item("approx", r.approx)?;
        out.set_item("cnt_interval", r.cnt_interval)?;
        out.set_item("total", r.total)?;
        out.set_item("idxs", r.idxs)?;
        out.set_item("documents", docs)?;
        Ok(out)
    }

    /// `rs[l]`: `l +` the longest prefix of `ids[l:]` that occurs.
    #[pyo3(signature = (ids, *, timeout = None))]
    fn creativity(
        &self,
        py: Python<'_>,
        ids: TokenIds,
        timeout: Option<f64>,
    ) -> PyResult<Vec<usize>> {
        let deadline = Deadline::after_secs(timeout);
        detach(py, || self.inner.creativity_until(&ids.0, deadline))
    }

    /// `infgram_prob(ids[:i], ids[i])` for every position, one engine pass, as columns
    /// `{prob, effective_n, suffix_len, prompt_cnt, cont_cnt, sparse, sole_next}` (`sole_next`:
    /// the one next token of a sparse estimate, else -1).
    #[pyo3(signature = (ids, *, eos_token_id, timeout = None))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        ids: TokenIds,
        eos_token_id: u32,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let deadline = Deadline::after_secs(timeout);
        let r = detach(py, || {
            self.inner.score_until(&ids.0, eos_token_id, deadline)
        })?;
        columns!(py, r, {
            "prob" => |x| x.prob,
            "effective_n" => |x| x.suffix_len + 1,
            "suffix_len" => |x| x.suffix_len,
            "prompt_cnt" => |x| x.prompt_cnt,
            "cont_cnt" => |x| x.cont_cnt,
            "sparse" => |x| x.sole_next.is_some(),
            "sole_next" => |x| x.sole_next.map_or(-1, i64::from),
        })
    }

    /// The shape of `infgram_ntd(ids[:i])` at every position, exactly, as columns
    /// `{suffix_len, prompt_cnt, distinct, mode, mode_cnt, half_prompt_cnt, half_cont_cnt}`.
    #[pyo3(signature = (ids, *, eos_token_id, timeout = None))]
    fn next_token_summaries<'py>(
        &self,
        py: Python<'py>,
        ids: TokenIds,
        eos_token_id: u32,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let deadline = Deadline::after_secs(timeout);
        let r = detach(py, || {
            self.inner
                .next_token_summaries_until(&ids.0, eos_token_id, deadline)
        })?;
        columns!(py, r, {
            "suffix_len" => |x| x.suffix_len,
            "prompt_cnt" => |x| x.prompt_cnt,
            "distinct" => |x| x.distinct,
            "mode" => |x| x.mode,
            "mode_cnt" => |x| x.mode_cnt,
            "half_prompt_cnt" => |x| x.half_prompt_cnt,
            "half_cont_cnt" => |x| x.half_cont_cnt,
        })
    }

    /// infini-gram's `attribute` spans: `[{l, r, length, count, unigram_logprob_sum,
    /// docs: [{s, ptr}]}]`.
    /// The word-start mask is `word_starts` (bytes, nonzero = a word starts there) or, from
    /// `bow_ids`, the positions holding one of those ids.
    #[pyo3(signature = (ids, *, min_len, max_cnt, delim_ids, word_starts, bow_ids, max_docs, timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn attribute<'py>(
        &self,
        py: Python<'py>,
        ids: TokenIds,
        min_len: usize,
        max_cnt: u64,
        delim_ids: TokenIds,
        word_starts: Option<Vec<u8>>,
        bow_ids: Option<TokenIds>,
        max_docs: usize,
        timeout: Option<f64>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let word_starts = match (word_starts, bow_ids) {
            (Some(m), _) => Some(m.iter().map(|&b| b != 0).collect()),
            (None, Some(b)) => Some(word_starts_from_ids(&ids.0, &b.0)),
            (None, None) => None,
        };
        let opts = AttributeOptions {
            min_len,
            max_cnt,
            delim_ids: delim_ids.0,
            word_starts,
            max_docs,
        };
        let deadline = Deadline::after_secs(timeout);
        let spans = detach(py, || self.inner.attribute_until(&ids.0, &opts, deadline))?;
        spans
            .iter()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("l", s.l)?;
                d.set_item("r", s.r)?;
                d.set_item("length", s.r - s.l)?;
                d.set_item("count", s.count)?;
                d.set_item("unigram_logprob_sum", s.unigram_logprob_sum)?;
                let docs = s
                    .docs
                    .iter()
                    .map(|&(sh, ptr)| {
                        let doc = PyDict::new(py);
                        doc.set_item("s", sh)?;
                        doc.set_item("ptr", ptr)?;
                        Ok(doc)
                    })
                    .collect::<PyResult<Vec<_>>>()?;
                d.set_item("docs", docs)?;
                Ok(d)
            })
            .collect()
    }

    /// `{token_ids, suffix_len, stop}`: a continuation sampled from the ∞-gram model.
    #[pyo3(signature = (prompt, *, max_new_tokens, temperature, top_k, seed, eos_token_id, timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn generate<'py>(
        &self,
        py: Python<'py>,
        prompt: TokenIds,
        max_new_tokens: usize,
        temperature: f64,
        top_k: Option<usize>,
        seed: u64,
        eos_token_id: u32,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = GenerateOptions {
            max_new_tokens,
            temperature,
            top_k,
            seed,
            eos: eos_token_id,
        };
        let deadline = Deadline::after_secs(timeout);
        let r = detach(py, || self.inner.generate(&prompt.0, opts, deadline))?;
        to_py(py, &r)
    }

    /// Per item: `{windows, found, longest}`, the windows of `window` tokens (or UTF-8
    /// characters, `chars=True`) every `stride` and how many occur (one creativity walk each).
    #[pyo3(signature = (items, *, window, stride, chars, timeout = None))]
    fn coverage_many<'py>(
        &self,
        py: Python<'py>,
        items: Vec<TokenIds>,
        window: usize,
        stride: usize,
        chars: bool,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let items: Vec<Vec<u32>> = items.into_iter().map(|t| t.0).collect();
        let unit = if chars {
            WindowUnit::Utf8Chars
        } else {
            WindowUnit::Tokens
        };
        let deadline = Deadline::after_secs(timeout);
        let r = detach(py, || {
            self.inner
                .coverage_many_until(&items, window, stride, unit, deadline)
        })?;
        to_py(py, &r)
    }
}

/// `anygram._core.Sampler`: the engine's seeded sampler, for draws made in Python (the
/// neural-mixture path), so every generation path shares its tie rule and random stream.
#[pyclass(name = "Sampler", module = "anygram._core")]
pub struct PySampler {
    inner: Sampler,
}

#[pymethods]
impl PySampler {
    #[new]
    fn new(seed: u64) -> Self {
        PySampler {
            inner: Sampler::new(seed),
        }
    }

    /// One of `ids`, drawn by `weights` (positive ones only; most weight first, ties to the
    /// smaller id; cut to `top_k`; raised to `1 / temperature`; 0: the first). None when no
    /// weight is positive.
    #[pyo3(signature = (ids, weights, *, temperature, top_k = None))]
    fn sample(
        &mut self,
        ids: Vec<u32>,
        weights: Vec<f64>,
        temperature: f64,
        top_k: Option<usize>,
    ) -> PyResult<Option<u32>> {
        if ids.len() != weights.len() {
            return Err(crate::errors::to_py(
                anygram_core::AnygramError::InvalidArgument(format!(
                    "{} ids but {} weights",
                    ids.len(),
                    weights.len()
                )),
            ));
        }
        let items: Vec<(u32, f64)> = ids.into_iter().zip(weights).collect();
        self.inner
            .sample(&items, temperature, top_k)
            .map_err(crate::errors::to_py)
    }
}
