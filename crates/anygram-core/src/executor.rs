//! Where shards answer: the seam between the query families and the places they run.
//!
//! A query family sends [`ShardRequest`]s through an [`Executor`] and merges the answers with
//! the pure functions of [`crate::merge`]. [`LocalExecutor`] answers from shards opened in this
//! process; another executor (processes, remote actors) only has to deliver the same requests
//! to the same shards and return their answers in shard order: the families, their dispatch and
//! their merges are the same code, so every executor gives identical answers.

use rayon::prelude::*;

use crate::deadline::Deadline;
use crate::error::{AnygramError, Result};
use crate::request::{answer, ShardRequest, ShardResponse};
use crate::shard_index::AnyShard;
use crate::token::Token;

/// What a query asks of the shards in one round.
#[derive(Debug, Clone, Copy)]
pub enum Fanout<'a> {
    /// The same request to every shard.
    All(&'a ShardRequest),
    /// `reqs[i]` to shard `i`; `None`: shard `i` has nothing to do.
    Each(&'a [Option<ShardRequest>]),
    /// One request to one shard.
    One(usize, &'a ShardRequest),
}

/// Delivers requests to shards and returns their answers, in shard order (`None` where a
/// shard was asked nothing). An error from any shard is the round's error.
pub trait Executor: Send + Sync {
    fn num_shards(&self) -> usize;
    fn run(&self, work: Fanout<'_>, deadline: Deadline) -> Result<Vec<Option<ShardResponse>>>;
}

/// Shards beyond which a round fans out over the thread pool; below it, the hand-off costs
/// more than the searches.
pub const PARALLEL_SHARDS: usize = 4;

/// `f(0..n)`, on the thread pool when there are enough items to pay for it. The one fan-out
/// rule of the engine.
pub fn fan_out<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    if n >= PARALLEL_SHARDS {
        (0..n).into_par_iter().map(f).collect()
    } else {
        (0..n).map(f).collect()
    }
}

/// The opened shards of one index, typed by token width (fixed per index).
pub enum ShardSet {
    U8(Vec<AnyShard<u8>>),
    U16(Vec<AnyShard<u16>>),
    U32(Vec<AnyShard<u32>>),
}

/// Answers from shards opened in this process.
pub struct LocalExecutor {
    shards: ShardSet,
}

impl LocalExecutor {
    pub fn new(shards: ShardSet) -> LocalExecutor {
        LocalExecutor { shards }
    }

    /// The opened shards, for the engine's whole-shard passes (dedup) that read streams.
    pub fn into_shards(self) -> ShardSet {
        self.shards
    }
}

impl Executor for LocalExecutor {
    fn num_shards(&self) -> usize {
        match &self.shards {
            ShardSet::U8(s) => s.len(),
            ShardSet::U16(s) => s.len(),
            ShardSet::U32(s) => s.len(),
        }
    }

    /// The engine's one token-width dispatch.
    fn run(&self, work: Fanout<'_>, deadline: Deadline) -> Result<Vec<Option<ShardResponse>>> {
        match &self.shards {
            ShardSet::U8(s) => run_on(s, work, deadline),
            ShardSet::U16(s) => run_on(s, work, deadline),
            ShardSet::U32(s) => run_on(s, work, deadline),
        }
    }
}

fn run_on<T: Token>(
    shards: &[AnyShard<T>],
    work: Fanout<'_>,
    deadline: Deadline,
) -> Result<Vec<Option<ShardResponse>>> {
    let n = shards.len();
    match work {
        Fanout::All(req) => fan_out(n, |i| answer(&shards[i], req, deadline).map(Some))
            .into_iter()
            .collect(),
        Fanout::Each(reqs) => {
            check_len(reqs.len(), n)?;
            fan_out(n, |i| {
                reqs[i]
                    .as_ref()
                    .map(|r| answer(&shards[i], r, deadline))
                    .transpose()
            })
            .into_iter()
            .collect()
        }
        Fanout::One(i, req) => {
            let shard = shards.get(i).ok_or_else(|| no_shard(i, n))?;
            let mut out: Vec<Option<ShardResponse>> = (0..n).map(|_| None).collect();
            out[i] = Some(answer(shard, req, deadline)?);
            Ok(out)
        }
    }
}

fn check_len(got: usize, n: usize) -> Result<()> {
    if got == n {
        Ok(())
    } else {
        Err(AnygramError::Internal(format!(
            "{got} requests for {n} shards"
        )))
    }
}

/// The error for a shard number out of range.
pub fn no_shard(s: usize, n: usize) -> AnygramError {
    AnygramError::InvalidQuery(format!("shard {s} does not exist (the index has {n})"))
}
