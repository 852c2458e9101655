//! Drafting from the corpus index: continuation counts of the context's matched suffix, asked
//! of every shard through the executor ([`ShardRequest::DraftNext`]) and summed, so a draft
//! does not depend on how the index is sharded or where its shards run.
//!
//! A node needs only the continuations that can still score `min_prob`: those with at least a
//! fraction `q` of the node's count. A token with `q` of the index's count has `q` of some
//! shard's count (else the sum would be short), so each shard reports the tokens above its own
//! share ([`ShardIndex::frequent_next`]), and a second round asks the other shards for the
//! counts of what they did not report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::tree::{Child, Source};
use crate::deadline::Deadline;
use crate::error::{AnygramError, Result};
use crate::index::Index;
use crate::lm::{prompt_count, MatchState};
use crate::query::Segment;
use crate::request::{ShardRequest, ShardResponse};
use crate::shard_index::{label, ShardIndex};

/// One shard's count of a continuation and the range of the extended pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftNextPart {
    pub token: u32,
    pub seg: Segment,
}

/// One shard's answer to [`ShardRequest::DraftNext`]: the real tokens following at least
/// `min_count` occurrences of a pattern of `m` tokens with range `seg` (`u64::MAX`: none),
/// plus every token of `also`, each with its extended range (empty where it never follows).
pub fn draft_next<S: ShardIndex>(
    s: &S,
    seg: Segment,
    m: usize,
    min_count: u64,
    also: &[S::Tok],
) -> Vec<DraftNextPart> {
    let mut out = Vec::new();
    if m > 0 && !seg.is_empty() && min_count < u64::MAX {
        out.extend(
            s.frequent_next(seg, m, min_count)
                .into_iter()
                .map(|(t, seg)| DraftNextPart {
                    token: label(t),
                    seg,
                }),
        );
    }
    out.extend(also.iter().map(|&t| DraftNextPart {
        token: label(t),
        seg: if m == 0 {
            s.find(&[t])
        } else {
            s.extend(seg, m, t)
        },
    }));
    out
}

/// A pattern in every shard: its length, per-shard ranges and total count.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusNode {
    m: usize,
    segs: Vec<Segment>,
}

/// The index's longest suffix of the context, from the shards' match states: the longest
/// of them, and its range in the shards that hold one that long (empty elsewhere).
pub fn root(states: &[MatchState]) -> (usize, CorpusNode) {
    let m = states.iter().map(|s| s.len).max().unwrap_or(0);
    let segs = states
        .iter()
        .map(|s| {
            if s.len == m {
                s.seg
            } else {
                Segment::empty_at(0)
            }
        })
        .collect();
    (m, CorpusNode { m, segs })
}

/// Continuation counts from the corpus, through the index's executor.
pub struct Corpus<'a> {
    pub index: &'a Index,
}

impl Source for Corpus<'_> {
    type Node = CorpusNode;

    fn expand(
        &mut self,
        node: &CorpusNode,
        min_frac: f64,
    ) -> Result<(u64, Vec<Child<CorpusNode>>)> {
        let docs: Vec<u64> = self.index.shard_docs().collect();
        let counts: Vec<u64> = node
            .segs
            .iter()
            .zip(&docs)
            .map(|(&seg, &d)| prompt_count(seg, node.m, d))
            .collect();
        let total: u64 = counts.iter().sum();
        if node.m == 0 || total == 0 {
            return Ok((0, Vec::new()));
        }
        // Slightly below the exact share, so rounding never drops a token that qualifies.
        let share = (min_frac.clamp(0.0, 1.0) * (1.0 - 1e-9)).max(0.0);
        let ask = |min_count: &dyn Fn(usize) -> u64, also: &dyn Fn(usize) -> Vec<u32>| {
            node.segs
                .iter()
                .enumerate()
                .map(|(i, &seg)| {
                    let also = also(i);
                    (!seg.is_empty() && (min_count(i) < u64::MAX || !also.is_empty())).then(|| {
                        ShardRequest::DraftNext {
                            seg,
                            m: node.m,
                            min_count: min_count(i),
                            also,
                        }
                    })
                })
                .collect::<Vec<_>>()
        };
        let first = ask(
            &|i| ((share * counts[i] as f64).floor() as u64).max(1),
            &|_| Vec::new(),
        );
        let parts = self
            .index
            .run_each(first, Deadline::NONE, ShardResponse::into_draft_next)?;
        // token -> per-shard range (None: not reported by that shard).
        let mut found: BTreeMap<u32, Vec<Option<Segment>>> = BTreeMap::new();
        let n = node.segs.len();
        for (i, part) in parts.iter().enumerate() {
            for p in part.iter().flatten() {
                found.entry(p.token).or_insert_with(|| vec![None; n])[i] = Some(p.seg);
            }
        }
        let missing = |i: usize| -> Vec<u32> {
            found
                .iter()
                .filter(|(_, by)| by[i].is_none())
                .map(|(&t, _)| t)
                .collect()
        };
        let second = ask(&|_| u64::MAX, &missing);
        if second.iter().any(Option::is_some) {
            let parts =
                self.index
                    .run_each(second, Deadline::NONE, ShardResponse::into_draft_next)?;
            for (i, part) in parts.iter().enumerate() {
                for p in part.iter().flatten() {
                    if let Some(by) = found.get_mut(&p.token) {
                        by[i] = Some(p.seg);
                    }
                }
            }
        }
        let mut kids: Vec<Child<CorpusNode>> = found
            .into_iter()
            .map(|(token, by)| {
                let segs: Vec<Segment> = by
                    .into_iter()
                    .map(|s| s.unwrap_or(Segment::empty_at(0)))
                    .collect();
                Child {
                    token,
                    count: segs.iter().map(Segment::count).sum(),
                    node: CorpusNode {
                        m: node.m + 1,
                        segs,
                    },
                }
            })
            .collect();
        if kids.iter().any(|k| k.count > total) {
            return Err(AnygramError::Internal(
                "a continuation outnumbers its prefix".into(),
            ));
        }
        kids.sort_by(|a, b| b.count.cmp(&a.count).then(a.token.cmp(&b.token)));
        Ok((total, kids))
    }
}
