//! Shards answered in other processes: a Python object as the engine's [`Executor`], and the
//! shard server that answers its requests where the shards are (a Ray actor holds one, see
//! `anygram/distributed/ray_backend.py`). Requests and answers cross as postcard bytes; the
//! query families, their rounds and their merges stay the engine's own, so answers are those
//! of a local index over the same shards.

use std::collections::HashMap;
use std::path::PathBuf;

use anygram_core::executor::{Executor, Fanout, LocalExecutor};
use anygram_core::request::{ShardRequest, ShardResponse};
use anygram_core::{AnygramError, Deadline, Index, OpenOptions, Result};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::errors::detach;
use crate::index::PyIndex;

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value)
        .map_err(|e| AnygramError::Internal(format!("encoding a shard message: {e}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| {
        AnygramError::InvalidArgument(format!(
            "not a shard message of this anygram version ({e}); every process must run the \
             same anygram"
        ))
    })
}

/// An executor whose rounds a Python object delivers: `runner.run(jobs, timeout)`, where `jobs`
/// is a list of `(shard, request bytes)` and `timeout` the seconds left (`None`: no deadline),
/// returns the answer bytes of each job, in order. An exception it raises is the query's
/// error, unchanged (a timeout stays a `QueryTimeoutError`, a shard down its own class).
struct PyExecutor {
    runner: Py<PyAny>,
    num_shards: usize,
}

impl PyExecutor {
    /// `(shards, requests)`: one encoded request per shard, or one for all of them.
    fn jobs(&self, work: Fanout<'_>) -> Result<(Vec<usize>, Vec<Vec<u8>>)> {
        Ok(match work {
            Fanout::All(req) => ((0..self.num_shards).collect(), vec![encode(req)?]),
            Fanout::One(s, req) => (vec![s], vec![encode(req)?]),
            Fanout::Each(reqs) => {
                if reqs.len() != self.num_shards {
                    return Err(AnygramError::Internal(format!(
                        "{} requests for {} shards",
                        reqs.len(),
                        self.num_shards
                    )));
                }
                let mut shards = Vec::new();
                let mut encoded = Vec::new();
                for (s, r) in reqs.iter().enumerate() {
                    if let Some(r) = r {
                        shards.push(s);
                        encoded.push(encode::<ShardRequest>(r)?);
                    }
                }
                (shards, encoded)
            }
        })
    }
}

impl Executor for PyExecutor {
    fn num_shards(&self) -> usize {
        self.num_shards
    }

    fn run(&self, work: Fanout<'_>, deadline: Deadline) -> Result<Vec<Option<ShardResponse>>> {
        deadline.check()?;
        let (shards, encoded) = self.jobs(work)?;
        if let Some(&s) = shards.iter().find(|&&s| s >= self.num_shards) {
            return Err(anygram_core::executor::no_shard(s, self.num_shards));
        }
        let answers = Python::attach(|py| -> PyResult<Vec<Result<ShardResponse>>> {
            let bytes: Vec<Bound<'_, PyBytes>> =
                encoded.iter().map(|b| PyBytes::new(py, b)).collect();
            let jobs = PyList::empty(py);
            for (k, &s) in shards.iter().enumerate() {
                jobs.append((s, &bytes[if bytes.len() == 1 { 0 } else { k }]))?;
            }
            let out = self
                .runner
                .bind(py)
                .call_method1("run", (jobs, deadline.remaining_secs()))?;
            let out = out.cast::<PyList>()?;
            out.iter()
                .map(|a| Ok(decode::<ShardResponse>(a.cast::<PyBytes>()?.as_bytes())))
                .collect()
        })
        .map_err(|e| AnygramError::Remote(Box::new(e)))?;
        if answers.len() != shards.len() {
            return Err(AnygramError::Internal(format!(
                "the executor answered {} of {} requests",
                answers.len(),
                shards.len()
            )));
        }
        let mut out: Vec<Option<ShardResponse>> = (0..self.num_shards).map(|_| None).collect();
        for (s, a) in shards.into_iter().zip(answers) {
            out[s] = Some(a?);
        }
        Ok(out)
    }
}

/// An index over `paths` (their manifests read here) whose shards `runner` answers (see
/// [`PyExecutor`]).
#[pyfunction]
pub fn remote_index(py: Python<'_>, paths: Vec<PathBuf>, runner: Py<PyAny>) -> PyResult<PyIndex> {
    let inner = detach(py, || {
        let sources = Index::read_sources(&paths)?;
        let num_shards = sources.iter().map(|(_, m)| m.shards.len()).sum();
        let executor = PyExecutor { runner, num_shards };
        Index::with_executor(sources, std::sync::Arc::new(executor))
    })?;
    Ok(PyIndex::from_index(inner))
}

/// Some shards of an index, opened in this process, answering encoded requests by their
/// number in the whole index.
#[pyclass(name = "ShardServer", module = "anygram._core", frozen)]
pub struct PyShardServer {
    local: LocalExecutor,
    shards: Vec<usize>,
    /// Shard number in the index → position among the opened shards.
    slot: HashMap<usize, usize>,
}

#[pymethods]
impl PyShardServer {
    #[new]
    #[pyo3(signature = (paths, shards, *, load_to_ram = false, verify = false, populate = false))]
    fn new(
        py: Python<'_>,
        paths: Vec<PathBuf>,
        shards: Vec<usize>,
        load_to_ram: bool,
        verify: bool,
        populate: bool,
    ) -> PyResult<Self> {
        let opts = OpenOptions {
            load_to_ram,
            verify_checksums: verify,
            populate,
        };
        let slot: HashMap<usize, usize> = shards.iter().enumerate().map(|(i, &s)| (s, i)).collect();
        if slot.len() != shards.len() || shards.is_empty() {
            return Err(crate::errors::to_py(AnygramError::InvalidArgument(
                format!("a shard server needs distinct shard numbers, not {shards:?}"),
            )));
        }
        let (_, local) = detach(py, || Index::open_shards(&paths, Some(&shards), opts))?;
        Ok(PyShardServer {
            local,
            shards,
            slot,
        })
    }

    /// The shard numbers this server answers for.
    #[getter]
    fn shards(&self) -> Vec<usize> {
        self.shards.clone()
    }

    /// Answers `jobs`, a list of `(shard, request bytes)` (each shard at most once), within
    /// `timeout` seconds (`None`: no limit; past it `QueryTimeoutError`): the answer bytes of
    /// each job, in order. Shards answer in parallel as in a local index.
    #[pyo3(signature = (jobs, timeout = None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        jobs: Vec<(usize, Bound<'py, PyBytes>)>,
        timeout: Option<f64>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let deadline = Deadline::after_secs(timeout);
        let mut reqs: Vec<Option<ShardRequest>> = (0..self.shards.len()).map(|_| None).collect();
        let mut order = Vec::with_capacity(jobs.len());
        for (s, bytes) in &jobs {
            let slot = *self.slot.get(s).ok_or_else(|| {
                crate::errors::to_py(AnygramError::InvalidArgument(format!(
                    "this shard server holds shards {:?}, not {s}",
                    self.shards
                )))
            })?;
            if reqs[slot].is_some() {
                return Err(crate::errors::to_py(AnygramError::InvalidArgument(
                    format!("shard {s} asked twice in one round"),
                )));
            }
            reqs[slot] = Some(decode(bytes.as_bytes()).map_err(crate::errors::to_py)?);
            order.push(slot);
        }
        let answers = detach(py, || {
            let mut answers = self.local.run(Fanout::Each(&reqs), deadline)?;
            order
                .iter()
                .map(|&slot| match answers[slot].take() {
                    Some(a) => encode(&a),
                    None => Err(AnygramError::Internal("a shard gave no answer".into())),
                })
                .collect::<Result<Vec<Vec<u8>>>>()
        })?;
        Ok(answers.iter().map(|a| PyBytes::new(py, a)).collect())
    }
}
