//! Exact-substring deduplication and decontamination (Lee et al. 2022, "Deduplicating Training
//! Data Makes Language Models Better"), over an index's shards.
//!
//! **What is removed.** With `k = min_len`, a document position is a duplicate when it lies in
//! a `k`-token window whose tokens occur elsewhere in the corpus (never across a document end):
//! the union of every occurrence of every repeated substring of at least `k` tokens, since each
//! such occurrence is a chain of repeated `k`-token windows. `Keep::None` removes all of them
//! (Lee et al.'s tool); `Keep::First` keeps each window's first occurrence in corpus order
//! (shard, then position), so the first copy of a duplicated document stays whole.
//! Decontamination removes the windows that occur in another index (the evaluation sets).
//!
//! **How.** Inside a shard, the suffix and PLCP arrays (libsais) group every window's
//! occurrences ([`in_shard`]). Across shards, each shard's documents are walked against the
//! other shards through the [`ShardIndex`] seam, keeping matching statistics ([`cross`]): shard
//! `s` asks the shards before it (`First`) or all others (`None`), so a window that occurs once
//! in shard 1 and once in shard 7 is found whatever the memory budget made of the shards.
//! Only one shard's arrays are in memory at a time (8 bytes per token, 12 for u32 tokens).

pub mod bytes;
pub mod cross;
pub mod in_shard;
pub mod marks;
pub mod open;
pub mod rewrite;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{AnygramError, Result};
use crate::shard_index::ShardIndex;
use crate::token::Token;
use marks::{merged_windows, Marks};

pub use bytes::TokenBytes;
pub use open::dedup_dirs;

/// Which occurrences of a repeated window are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// All but the first (by shard, then position).
    First,
    /// All of them.
    None,
}

/// Dedup settings.
#[derive(Debug, Clone)]
pub struct DedupOptions {
    /// Shortest repeated substring removed, in tokens.
    pub min_len: u64,
    pub keep: Keep,
    /// Threads for suffix sorting.
    pub workers: usize,
    /// How many of the most repeated spans to report.
    pub top_spans: usize,
    /// Set from another thread (Ctrl-C) to stop at the next document.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for DedupOptions {
    fn default() -> Self {
        DedupOptions {
            min_len: 50,
            keep: Keep::First,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            top_spans: 20,
            cancel: None,
        }
    }
}

impl DedupOptions {
    fn check_cancelled(&self) -> Result<()> {
        match &self.cancel {
            Some(c) if c.load(Ordering::Relaxed) => {
                Err(AnygramError::Cancelled("dedup interrupted".into()))
            }
            _ => Ok(()),
        }
    }
}

/// The ranges to remove from one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocDups {
    /// Global document number (shards in order).
    pub doc: u64,
    /// The document's length: tokens, or bytes once mapped to bytes ([`open::dedup_dirs`]).
    pub len: u64,
    /// Sorted, disjoint, non-touching `[start, end)` offsets within the document, in the
    /// unit of `len`.
    pub ranges: Vec<(u64, u64)>,
}

/// A much repeated span: its tokens (at most [`SPAN_SHOWN`]), how often it occurs within the
/// shard that holds the most copies, and its full length in tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedSpan {
    pub count: u64,
    pub len: u64,
    pub tokens: Vec<u32>,
}

/// Tokens of a repeated span kept for the report.
pub const SPAN_SHOWN: u64 = 200;

/// Every document with something to remove, in document order, and the most repeated spans.
#[derive(Debug, Clone, Default)]
pub struct DedupResult {
    pub docs: Vec<DocDups>,
    pub spans: Vec<RepeatedSpan>,
    /// Seconds per phase (summed over shards), for reports and benchmarks.
    pub seconds: Vec<(&'static str, f64)>,
}

impl DedupResult {
    fn time<R>(&mut self, phase: &'static str, f: impl FnOnce() -> R) -> R {
        let clock = std::time::Instant::now();
        let r = f();
        let dt = clock.elapsed().as_secs_f64();
        match self.seconds.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, t)) => *t += dt,
            None => self.seconds.push((phase, dt)),
        }
        r
    }
}

/// The document `[start, end)` token ranges of every shard document, with its global number.
fn shard_docs(starts: &[u64]) -> impl Iterator<Item = (usize, u64, u64)> + '_ {
    starts
        .windows(2)
        .enumerate()
        .map(|(d, w)| (d, w[0] + 1, w[1]))
}

/// Walks every document of `shard` (its `stream`) against each of `others`, marking the
/// windows that occur there.
fn mark_against_all<S, O>(
    stream: &[S::Tok],
    shard: &S,
    others: &[&O],
    k: u64,
    marks: &Marks,
    opts: &DedupOptions,
) -> Result<()>
where
    S: ShardIndex,
    O: ShardIndex<Tok = S::Tok>,
{
    if others.is_empty() {
        return Ok(());
    }
    let docs: Vec<(usize, u64, u64)> = shard_docs(shard.doc_starts())
        .filter(|&(_, a, b)| b - a >= k)
        .collect();
    docs.par_iter().try_for_each(|&(_, a, b)| {
        opts.check_cancelled()?;
        let doc = &stream[a as usize..b as usize];
        for o in others {
            cross::mark_occurring(*o, doc, a, k as usize, marks);
        }
        Ok(())
    })
}

/// The marked windows of each document of a shard as ranges (global document numbers from
/// `doc_base`).
fn collect_ranges(starts: &[u64], marks: &Marks, k: u64, doc_base: u64) -> Vec<DocDups> {
    shard_docs(starts)
        .filter_map(|(d, a, b)| {
            let ranges = merged_windows(marks, a, b, k);
            (!ranges.is_empty()).then(|| DocDups {
                doc: doc_base + d as u64,
                len: b - a,
                ranges,
            })
        })
        .collect()
}

fn check_min_len(k: u64) -> Result<()> {
    if k == 0 {
        return Err(AnygramError::InvalidArgument(
            "min_len must be at least 1".into(),
        ));
    }
    Ok(())
}

/// Deduplicates the documents of `shards` (one corpus, shards in order) whose real ids are
/// `< vocab`.
pub fn dedup<S: ShardIndex>(shards: &[S], vocab: u64, opts: &DedupOptions) -> Result<DedupResult> {
    check_min_len(opts.min_len)?;
    let k = opts.min_len;
    let mut result = DedupResult::default();
    let mut spans: Vec<RepeatedSpan> = Vec::new();
    let mut doc_base = 0u64;
    for (s, shard) in shards.iter().enumerate() {
        opts.check_cancelled()?;
        let len = shard.stream_len();
        let stream = shard.extract(0, len);
        let starts = shard.doc_starts();
        let marks = Marks::new(len);
        {
            let valid = result.time("valid_windows", || in_shard::valid_windows(starts, len, k));
            let arrays = result.time("suffix_and_plcp_arrays", || {
                in_shard::sa_plcp(&stream, vocab, opts.workers)
            })?;
            let groups = result.time("in_shard_groups", || {
                in_shard::mark_in_shard(
                    &arrays,
                    shard.num_tokens() as usize,
                    &valid,
                    k,
                    opts.keep,
                    &marks,
                    opts.top_spans * 8,
                )
            });
            spans.extend(groups.iter().map(|g| span_of(&stream, starts, g)));
        }
        opts.check_cancelled()?;
        let others: Vec<&S> = shards
            .iter()
            .enumerate()
            .filter(|&(o, _)| match opts.keep {
                Keep::First => o < s,
                Keep::None => o != s,
            })
            .map(|(_, o)| o)
            .collect();
        result.time("across_shards", || {
            mark_against_all(&stream, shard, &others, k, &marks, opts)
        })?;
        let found = result.time("ranges", || collect_ranges(starts, &marks, k, doc_base));
        result.docs.extend(found);
        doc_base += shard.num_docs();
    }
    result.spans = top_spans(spans, opts.top_spans);
    Ok(result)
}

/// Removes from the documents of `shards` every window of `min_len` tokens that occurs in
/// `against` (an index of the evaluation sets, same tokenizer).
pub fn decontaminate<S, A>(shards: &[S], against: &[A], opts: &DedupOptions) -> Result<DedupResult>
where
    S: ShardIndex,
    A: ShardIndex<Tok = S::Tok>,
{
    check_min_len(opts.min_len)?;
    let k = opts.min_len;
    let others: Vec<&A> = against.iter().collect();
    let mut result = DedupResult::default();
    let mut doc_base = 0u64;
    for shard in shards {
        opts.check_cancelled()?;
        let len = shard.stream_len();
        let stream = shard.extract(0, len);
        let marks = Marks::new(len);
        result.time("against", || {
            mark_against_all(&stream, shard, &others, k, &marks, opts)
        })?;
        let found = result.time("ranges", || {
            collect_ranges(shard.doc_starts(), &marks, k, doc_base)
        });
        result.docs.extend(found);
        doc_base += shard.num_docs();
    }
    Ok(result)
}

/// The span of a repeated group: its common prefix, clipped at its document's end.
fn span_of<T: Token>(stream: &[T], starts: &[u64], g: &in_shard::Group) -> RepeatedSpan {
    // The document holding `g.pos`: the last start (a separator position) before it.
    let d = starts.partition_point(|&s| s < g.pos);
    let end = starts.get(d).copied().unwrap_or(stream.len() as u64);
    let len = g.len.min(end - g.pos);
    let shown = len.min(SPAN_SHOWN);
    RepeatedSpan {
        count: g.count,
        len,
        tokens: stream[g.pos as usize..(g.pos + shown) as usize]
            .iter()
            .map(|t| t.to_u32())
            .collect(),
    }
}

/// The `n` most repeated spans, leaving out a span found inside one already kept (the windows
/// inside a repeated paragraph repeat as often as the paragraph).
fn top_spans(mut spans: Vec<RepeatedSpan>, n: usize) -> Vec<RepeatedSpan> {
    spans.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.len.cmp(&a.len))
            .then(a.tokens.cmp(&b.tokens))
    });
    let mut kept: Vec<RepeatedSpan> = Vec::new();
    for s in spans {
        if kept.len() >= n {
            break;
        }
        let inside = kept.iter().any(|k| {
            k.tokens.len() >= s.tokens.len()
                && k.tokens
                    .windows(s.tokens.len())
                    .any(|w| w == s.tokens.as_slice())
        });
        if !inside {
            kept.push(s);
        }
    }
    kept
}
