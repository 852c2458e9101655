//! Draft tokens for speculative decoding (REST, SuffixDecoding): given the token ids so far,
//! propose continuations that a neural model then verifies in one batched forward pass.
//!
//! Two sources compete. The **corpus**: the longest suffix of the context that occurs in the
//! index (every shard's [`MatchState`], kept incrementally as `generate` keeps it) and its most
//! frequent continuations, counted exactly across shards ([`corpus`]). The **context**: the
//! same from the request's own prompt and output, in an online suffix automaton ([`local`]).
//! Each grows a tree best-first by path probability ([`tree`]); the tree with the higher
//! expected number of accepted tokens is proposed.
//!
//! **Adaptive length.** A source drafts at most `tokens_per_match · m` tokens for an `m`-token
//! match (a long match predicts further), and no node scoring below `min_prob`. With
//! `calibrate`, the drafter also counts how often the model accepted the token at each draft
//! depth (given the ones before it, recent steps weighing more) and drafts no deeper than where
//! the chance of getting there falls below `min_prob`: the counts' scores are optimistic (a
//! continuation seen once scores 1), and every drafted token costs verification work, so
//! `min_prob` is also the price of a drafted token in accepted ones.
//!
//! **Following the request.** Each call gives the whole context. The drafter keeps the
//! context it saw, every position's match states and the automaton: tokens appended since the
//! last call cost one extension each; a context that changed before its end (a new request)
//! is re-matched from the common prefix. Comparing the new context with the last draft tells
//! how many draft tokens the model accepted, which drives the adaptive length.

pub mod corpus;
pub mod local;
pub mod tree;

use serde::{Deserialize, Serialize};

use crate::deadline::Deadline;
use crate::error::{AnygramError, Result};
use crate::index::Index;
use crate::lm::MatchState;
use crate::request::{ShardRequest, ShardResponse};
pub use corpus::{draft_next, DraftNextPart};
use local::SuffixAutomaton;
pub use tree::{DraftSource, DraftTree, Shape};

/// How drafts are made.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DraftOptions {
    /// At most this many draft tokens (tree nodes) per step.
    pub max_tokens: usize,
    /// At most `tokens_per_match · m` tokens for an `m`-token match.
    pub tokens_per_match: f64,
    /// Matches shorter than this draft nothing.
    pub min_match: usize,
    /// Tokens whose path probability is below this are not drafted.
    pub min_prob: f64,
    /// Also draft from the request's own prompt and output.
    pub use_context: bool,
    /// Limit the draft's depth by the measured acceptance at each depth.
    pub calibrate: bool,
}

impl Default for DraftOptions {
    fn default() -> Self {
        DraftOptions {
            max_tokens: 16,
            tokens_per_match: 2.0,
            min_match: 1,
            min_prob: 0.1,
            use_context: true,
            calibrate: true,
        }
    }
}

impl DraftOptions {
    fn check(&self) -> Result<()> {
        let bad = |what: String| Err(AnygramError::InvalidArgument(what));
        if !(self.min_prob > 0.0 && self.min_prob <= 1.0) {
            return bad(format!("min_prob must be in (0, 1], not {}", self.min_prob));
        }
        if !(self.tokens_per_match >= 0.0 && self.tokens_per_match.is_finite()) {
            return bad(format!(
                "tokens_per_match must be finite and >= 0, not {}",
                self.tokens_per_match
            ));
        }
        if self.min_match == 0 {
            return bad("min_match must be at least 1".into());
        }
        Ok(())
    }
}

/// Totals over a drafter's steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftStats {
    /// Drafts proposed (non-empty ones).
    pub drafts: u64,
    /// Draft tokens proposed.
    pub drafted: u64,
    /// Draft tokens the model was seen to accept (from the next call's context).
    pub accepted: u64,
    /// Recent share of draft tokens accepted (exponential average), which scales the length.
    pub acceptance: f64,
}

/// Keeps one request's matches and proposes its drafts.
#[derive(Debug, Clone)]
pub struct Drafter {
    opts: DraftOptions,
    context: Vec<u32>,
    /// `states[i]`: every shard's match state after `context[..i]`, where known.
    states: Vec<Option<Vec<MatchState>>>,
    local: SuffixAutomaton,
    last: Option<(usize, DraftTree)>,
    stats: DraftStats,
    /// Per draft depth: (times the model got there, times it accepted the token), decayed.
    depths: Vec<(f64, f64)>,
}

/// Weight of the past at each call, in the per-depth acceptance counts.
const DECAY: f64 = 0.95;
/// Pseudo-counts of acceptance at every depth before any is measured (optimistic start).
const PRIOR: f64 = 2.0;

/// Appending more tokens than this at once re-matches the whole context in one round
/// instead of one round per token.
const BULK: usize = 32;

impl Drafter {
    pub fn new(opts: DraftOptions) -> Result<Drafter> {
        opts.check()?;
        Ok(Drafter {
            opts,
            context: Vec::new(),
            states: vec![None],
            local: SuffixAutomaton::new(),
            last: None,
            stats: DraftStats {
                acceptance: 1.0,
                ..DraftStats::default()
            },
            depths: Vec::new(),
        })
    }

    pub fn options(&self) -> DraftOptions {
        self.opts
    }

    pub fn stats(&self) -> DraftStats {
        self.stats
    }

    /// Draft tokens after `ids` (the whole context so far), as a tree with at most
    /// `branching` children per node (1: a single draft).
    pub fn draft(&mut self, index: &Index, ids: &[u32], branching: usize) -> Result<DraftTree> {
        index.check_ids(ids)?;
        // Old evidence fades at every call, drafted or not, so a depth judged hopeless is
        // tried again after a while.
        for e in &mut self.depths {
            e.0 *= DECAY;
            e.1 *= DECAY;
        }
        self.learn(ids);
        self.follow(index, ids)?;
        let max_depth = self.max_depth();
        let shape = |m: usize| Shape {
            budget: (self.opts.tokens_per_match * m as f64)
                .ceil()
                .min(self.opts.max_tokens as f64) as usize,
            branching: branching.max(1),
            min_prob: self.opts.min_prob,
            max_depth,
        };
        let mut best = DraftTree::empty();
        if let Some(Some(states)) = self.states.last() {
            let (m, root) = corpus::root(states);
            if m >= self.opts.min_match {
                let mut src = corpus::Corpus { index };
                best = tree::grow(&mut src, root, m, DraftSource::Corpus, shape(m))?;
            }
        }
        if self.opts.use_context {
            if let Some((m, node)) = self.local.longest_repeat() {
                if m >= self.opts.min_match {
                    let mut src = &self.local;
                    let t = tree::grow(&mut src, node, m, DraftSource::Context, shape(m))?;
                    if (t.score(), t.match_len) > (best.score(), best.match_len) {
                        best = t;
                    }
                }
            }
        }
        if !best.token_ids.is_empty() {
            self.stats.drafts += 1;
            self.stats.drafted += best.token_ids.len() as u64;
            self.last = Some((ids.len(), best.clone()));
        }
        Ok(best)
    }

    /// The deepest draft depth the model reaches with chance `min_prob` or more, by the
    /// measured acceptance at each depth (unlimited without `calibrate`).
    fn max_depth(&self) -> usize {
        if !self.opts.calibrate {
            return usize::MAX;
        }
        let mut reach = 1.0;
        for (d, &(got, ok)) in self.depths.iter().enumerate() {
            reach *= (ok + PRIOR) / (got + PRIOR);
            if reach < self.opts.min_prob {
                return d;
            }
        }
        usize::MAX
    }

    /// How many tokens of the last draft the model accepted, read off the new context.
    fn learn(&mut self, ids: &[u32]) {
        let Some((at, tree)) = self.last.take() else {
            return;
        };
        if ids.len() <= at || self.context.len() != at || ids[..at] != self.context[..] {
            return;
        }
        let ok = tree.accepted(&ids[at..]);
        self.stats.accepted += ok as u64;
        // The deepest node bounds what could be accepted from a tree.
        let depth = (0..tree.parents.len())
            .map(|mut i| {
                let mut d = 1;
                while tree.parents[i] >= 0 {
                    i = tree.parents[i] as usize;
                    d += 1;
                }
                d
            })
            .max()
            .unwrap_or(1);
        let frac = ok as f64 / depth as f64;
        self.stats.acceptance = 0.7 * self.stats.acceptance + 0.3 * frac;
        // The model saw depth d when it accepted every token before it.
        if self.depths.len() < depth {
            self.depths.resize(depth, (0.0, 0.0));
        }
        for (d, e) in self.depths.iter_mut().enumerate() {
            if d < depth && d <= ok {
                e.0 += 1.0;
                e.1 += if d < ok { 1.0 } else { 0.0 };
            }
        }
    }

    /// Brings the matches up to `ids`: appends what is new, re-matches from the common prefix
    /// when the context changed before its end.
    fn follow(&mut self, index: &Index, ids: &[u32]) -> Result<()> {
        let keep = self
            .context
            .iter()
            .zip(ids)
            .take_while(|(a, b)| a == b)
            .count();
        if keep < self.context.len() {
            self.context.truncate(keep);
            self.states.truncate(keep + 1);
            self.local = SuffixAutomaton::new();
            for &t in &ids[..keep] {
                self.local.push(t);
            }
        }
        let new = &ids[keep..];
        for &t in new {
            self.local.push(t);
        }
        let known = matches!(self.states.last(), Some(Some(_)));
        if !known || new.len() > BULK {
            self.context.extend_from_slice(new);
            self.states.resize(self.context.len(), None);
            let req = ShardRequest::Match { ids: ids.to_vec() };
            let st = index.run_all(&req, Deadline::NONE, ShardResponse::into_state)?;
            self.states.push(Some(st));
            return Ok(());
        }
        for &t in new {
            self.context.push(t);
            let Some(Some(prev)) = self.states.last() else {
                return Err(AnygramError::Internal("a drafter lost its match".into()));
            };
            let reqs = prev
                .iter()
                .map(|st| {
                    Some(ShardRequest::Advance {
                        state: *st,
                        text: self.context[self.context.len() - (st.len + 1)..].to_vec(),
                    })
                })
                .collect();
            let next = index
                .run_each(reqs, Deadline::NONE, ShardResponse::into_state)?
                .into_iter()
                .map(|s| s.ok_or_else(|| AnygramError::Internal("a shard lost its state".into())))
                .collect::<Result<Vec<_>>>()?;
            self.states.push(Some(next));
        }
        Ok(())
    }
}
