//! `attribute`: the maximal spans of an input that occur verbatim in the index, with their
//! counts and a few occurrences each (infini-gram's `attribute`, the OLMoTrace use).
//!
//! **Semantics** (infini-gram 2.6's `compute_interesting_spans`, kept exactly so results
//! compare one to one). For each start `l` (only word starts when a word-start mask is given):
//! `r` = the end of the longest prefix of `input[l..]` that occurs; cut after the first
//! delimiter inside it (a span may end with a delimiter, never hold one before its last
//! token); with the mask, back off until `r` is the input's end or a word start. Keep the span
//! if `r - l >= min_len`, its count is `<= max_cnt`, and `r` is beyond the end of every span
//! kept before it (so no kept span lies inside an earlier one).
//!
//! **Cost.** The longest prefixes come from the creativity walk (one search per position plus
//! at most `2n` one-token narrowings per shard, see [`crate::creativity`]), which also leaves
//! the suffix-array range of each `input[l..rs[l]]`: an uncut span's count and occurrences cost
//! nothing more. A span cut at a delimiter or a word boundary costs one more search, and only
//! when it could still be kept (its end is beyond the last kept one): infini-gram instead runs
//! a full search per position, then a second one per candidate, one thread each.

use crate::deadline::Deadline;
use crate::error::{AnygramError, Result};
use crate::index::Index;
use crate::merge::merge_creativity;
use crate::query::Segment;
use crate::request::{ShardRequest, ShardResponse};

/// Options of [`Index::attribute`].
#[derive(Debug, Clone)]
pub struct AttributeOptions {
    /// Shortest span kept, in tokens (at least 1).
    pub min_len: usize,
    /// Largest count of a kept span.
    pub max_cnt: u64,
    /// Tokens a span may end with but not contain before its end.
    pub delim_ids: Vec<u32>,
    /// Per input position, whether a word begins there (length = input length). When given,
    /// spans start and end at word boundaries only (the input's end is one).
    pub word_starts: Option<Vec<bool>>,
    /// Occurrences returned per span (the first ones in suffix-array order, shard by shard).
    pub max_docs: usize,
}

impl Default for AttributeOptions {
    fn default() -> Self {
        AttributeOptions {
            min_len: 1,
            max_cnt: u64::MAX,
            delim_ids: Vec::new(),
            word_starts: None,
            max_docs: 10,
        }
    }
}

/// One attributed span `input[l..r]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionSpan {
    pub l: usize,
    pub r: usize,
    /// Occurrences in the whole index.
    pub count: u64,
    /// Sum over the span's tokens of `ln(unigram count / tokens in the index)`; a token absent
    /// from the index counts -10000, like infini-gram.
    pub unigram_logprob_sum: f64,
    /// Up to `max_docs` occurrences as (shard, token position in the shard's stream).
    pub docs: Vec<(usize, u64)>,
}

/// A word-start mask from the ids that begin words (infini-gram's `bow_ids`).
pub fn word_starts_from_ids(ids: &[u32], bow_ids: &[u32]) -> Vec<bool> {
    let set: std::collections::HashSet<u32> = bow_ids.iter().copied().collect();
    ids.iter().map(|t| set.contains(t)).collect()
}

/// Log-probability infini-gram gives a token that does not occur.
pub const ABSENT_LOGPROB: f64 = -10000.0;

fn attribute_parts(
    index: &Index,
    ids: &[u32],
    opts: &AttributeOptions,
    deadline: Deadline,
) -> Result<Vec<AttributionSpan>> {
    let n = ids.len();
    let parts = index.creativity_parts(ids, deadline)?;
    let rs = merge_creativity(&parts);

    // Next delimiter at or after each position (n: none).
    let mut next_delim = vec![n; n + 1];
    for i in (0..n).rev() {
        next_delim[i] = if opts.delim_ids.contains(&ids[i]) {
            i
        } else {
            next_delim[i + 1]
        };
    }
    // With a word-start mask: the last word boundary at or before each end.
    let bounds: Option<Vec<usize>> = opts.word_starts.as_ref().map(|ws| {
        let mut b = vec![0; n + 1];
        b[n] = n;
        let mut last = 0;
        for (i, slot) in b.iter_mut().enumerate().take(n) {
            if ws[i] {
                last = i;
            }
            *slot = last;
        }
        b
    });

    // Unigram log-probabilities of the input's tokens (a prefix-table lookup each).
    let total = index.num_tokens() as f64;
    let mut logprob = std::collections::HashMap::new();
    for &t in ids {
        if let std::collections::hash_map::Entry::Vacant(e) = logprob.entry(t) {
            let c = index.count(&[t])?;
            e.insert(if c == 0 || total == 0.0 {
                ABSENT_LOGPROB
            } else {
                (c as f64 / total).ln()
            });
        }
    }

    let min_len = opts.min_len.max(1);
    let mut spans = Vec::new();
    let mut last_r = 0usize;
    for l in 0..n {
        if let Some(ws) = &opts.word_starts {
            if !ws[l] {
                continue;
            }
        }
        let r0 = rs[l];
        let mut r = r0;
        if next_delim[l] + 1 < r {
            r = next_delim[l] + 1;
        }
        if let Some(b) = &bounds {
            r = b[r].max(l);
        }
        if r - l < min_len || r <= last_r {
            continue;
        }
        deadline.check()?;
        let segs: Vec<Segment> = if r == r0 {
            // The walk left the range of every shard's own longest prefix from `l`.
            parts
                .iter()
                .map(|p| {
                    if p.rs[l] == r0 {
                        p.segs[l]
                    } else {
                        Segment::empty_at(0)
                    }
                })
                .collect()
        } else {
            index.find_segments(&ids[l..r])?
        };
        let count: u64 = segs.iter().map(Segment::count).sum();
        if count > opts.max_cnt {
            continue;
        }
        last_r = r;
        let docs = index.locate_first(&segs, r - l, opts.max_docs)?;
        let unigram_logprob_sum = ids[l..r]
            .iter()
            .map(|t| logprob.get(t).copied().unwrap_or(ABSENT_LOGPROB))
            .sum();
        spans.push(AttributionSpan {
            l,
            r,
            count,
            unigram_logprob_sum,
            docs,
        });
    }
    Ok(spans)
}

impl Index {
    /// The first `max` occurrences of per-shard ranges of a pattern of `m` tokens, in rank
    /// order shard by shard, as (shard, stream position).
    pub(crate) fn locate_first(
        &self,
        segs: &[Segment],
        m: usize,
        max: usize,
    ) -> Result<Vec<(usize, u64)>> {
        let mut left = max as u64;
        let reqs = segs
            .iter()
            .map(|&seg| {
                let take = seg.count().min(left);
                left -= take;
                (take > 0).then_some(ShardRequest::Locate {
                    seg,
                    m,
                    limit: take,
                })
            })
            .collect();
        let ptrs = self.run_each(reqs, Deadline::NONE, ShardResponse::into_ptrs)?;
        Ok(ptrs
            .into_iter()
            .enumerate()
            .flat_map(|(s, p)| p.unwrap_or_default().into_iter().map(move |x| (s, x)))
            .collect())
    }
}

impl Index {
    /// The maximal spans of `ids` that occur in the index (see the module documentation).
    pub fn attribute(&self, ids: &[u32], opts: &AttributeOptions) -> Result<Vec<AttributionSpan>> {
        self.attribute_until(ids, opts, Deadline::NONE)
    }

    /// [`Index::attribute`], stopped with `Cancelled` past `deadline`.
    pub fn attribute_until(
        &self,
        ids: &[u32],
        opts: &AttributeOptions,
        deadline: Deadline,
    ) -> Result<Vec<AttributionSpan>> {
        if let Some(ws) = &opts.word_starts {
            if ws.len() != ids.len() {
                return Err(AnygramError::InvalidQuery(format!(
                    "the word-start mask has {} entries for {} tokens",
                    ws.len(),
                    ids.len()
                )));
            }
        }
        attribute_parts(self, ids, opts, deadline)
    }
}
