//! The infinity-gram language model: `prob`, `ntd` (next-token distribution) and their
//! back-off forms `infgram_prob` / `infgram_ntd`, plus `score` (every position of a text in one
//! pass), with infini-gram's semantics and result fields.
//!
//! **Continuations.** An occurrence of a prompt of `m` tokens at stream position `p` continues
//! with the token at `p + m`: a real token, or the separator when the match ends its document.
//! Every occurrence has one (the stream ends with a separator), so a prompt "occurs with a next
//! token" exactly when it occurs. Document ends are counted per shard as [`DOC_END`] and
//! reported under the eos id the caller gives ([`Index::default_eos_token_id`]: the
//! tokenizer's `eos_token_id` if the manifest names one, else the width's separator value).
//! The empty prompt occurs before every token and at every document end (`N + D` times per
//! shard), as in infini-gram, whose stream holds one separator per document.
//!
//! **Sampling.** The exact next-token walk (`sa_shard.rs`) costs `O(distinct · log run)`
//! whatever the prompt's count, so sampling is only kept for compatibility (`exact = false`
//! above `max_support`, infini-gram's scheme, `approx`); its unit is decided on the prompt's
//! total count over the whole index.
//!
//! **Back-off.** Each shard finds the longest suffix of the prompt it holds (doubling then
//! binary search on the suffix length, like infini-gram: about `2 log2(len)` searches); the
//! index's is the longest of those, and its range in the other shards is empty
//! ([`merge_longest_suffix`]), so no search is repeated.
//!
//! This module holds the per-shard answers (generic over [`ShardIndex`]) and the index-level
//! queries, which send them to the shards through the executor and merge the partial answers.

use serde::{Deserialize, Serialize};

use crate::deadline::{Deadline, Ticker};
use crate::error::{AnygramError, Result};
use crate::index::Index;
pub use crate::merge::DOC_END;
use crate::merge::{
    merge_longest_suffix, merge_ntd, merge_prob, merge_score, InfgramNtdResult, InfgramProbResult,
    NextCountsPart, NtdResult, ProbPart, ProbResult, ScoredToken, ShardScore, SuffixPart,
};
use crate::query::Segment;
use crate::request::{ShardRequest, ShardResponse};
use crate::shard_index::{label, ShardIndex};
use crate::token::Token;

/// Options of `ntd` / `infgram_ntd`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct NtdOptions {
    /// Above this many occurrences of the prompt, sample (unless `exact`). Must be positive.
    pub max_support: u64,
    /// Never sample.
    pub exact: bool,
}

impl Default for NtdOptions {
    fn default() -> Self {
        NtdOptions {
            max_support: 1000,
            exact: false,
        }
    }
}

impl NtdOptions {
    /// Always exact.
    pub const EXACT: NtdOptions = NtdOptions {
        max_support: 1,
        exact: true,
    };

    /// The sampling unit for a prompt occurring `prompt_cnt` times in the whole index: 1
    /// (exact) or infini-gram's smallest power of two with `cnt <= unit * max_support`.
    pub fn unit(&self, prompt_cnt: u64) -> u64 {
        if self.exact {
            return 1;
        }
        let mut unit: u64 = 1;
        while prompt_cnt > unit.saturating_mul(self.max_support) {
            unit <<= 1;
        }
        unit
    }
}

// ------------------------------------------------------------------ answers on one shard

/// Occurrences of a prompt of `m` tokens with range `seg` in a shard of `num_docs` documents,
/// document ends included (only the empty prompt has occurrences outside the rank order: one
/// per document end).
pub fn prompt_count(seg: Segment, m: usize, num_docs: u64) -> u64 {
    seg.count() + if m == 0 { num_docs } else { 0 }
}

/// `extend`, or `find(&[t])` for the empty pattern (whose range some kinds cannot step from).
#[inline]
fn extend_pattern<S: ShardIndex>(s: &S, seg: Segment, m: usize, t: S::Tok) -> Segment {
    if m == 0 {
        s.find(&[t])
    } else {
        s.extend(seg, m, t)
    }
}

/// `(prompt_cnt, cont_cnt)` for a prompt of `m` tokens with range `seg`: the continuation is
/// a real token `cont` (if given) and/or a document end (`doc_end`).
pub fn prob_part<S: ShardIndex>(
    s: &S,
    seg: Segment,
    m: usize,
    cont: Option<S::Tok>,
    doc_end: bool,
) -> ProbPart {
    let mut cont_cnt = 0;
    if let Some(c) = cont {
        cont_cnt += extend_pattern(s, seg, m, c).count();
    }
    if doc_end {
        cont_cnt += if m == 0 {
            s.num_docs()
        } else {
            s.extend(seg, m, S::Tok::SEPARATOR).count()
        };
    }
    ProbPart {
        prompt_cnt: prompt_count(seg, m, s.num_docs()),
        cont_cnt,
    }
}

/// Next-token counts of a prompt of `m` tokens with range `seg`, sampled with `unit` (1:
/// exact), sorted by id, document ends as [`DOC_END`].
pub fn next_counts<S: ShardIndex>(s: &S, seg: Segment, m: usize, unit: u64) -> NextCountsPart {
    if m == 0 {
        // The empty prompt: every token's count (a table lookup for every kind), plus one
        // document end per document. Never sampled.
        let mut counts = s.unigram_counts();
        if s.num_docs() > 0 {
            counts.push((DOC_END, s.num_docs()));
        }
        return NextCountsPart {
            counts,
            sampled: false,
        };
    }
    let (counts, sampled) = if unit <= 1 {
        (s.next_token_counts(seg, m), false)
    } else {
        s.next_token_counts_sampled(seg, m, unit)
    };
    NextCountsPart { counts, sampled }
}

/// Length and range of the longest suffix of `prompt` that occurs in the shard (the empty
/// suffix always does): galloping up from the empty suffix, then binary search between the
/// last length found and the first missing.
pub fn longest_suffix<S: ShardIndex>(s: &S, prompt: &[S::Tok]) -> SuffixPart {
    let n = prompt.len();
    let (len, seg) = longest_occurring((0, s.find(&[])), n + 1, Gallop::Up, |k| {
        s.find(&prompt[n - k..])
    });
    SuffixPart {
        len,
        seg,
        prompt_cnt: prompt_count(seg, len, s.num_docs()),
    }
}

/// Where [`longest_occurring`] gallops from: the known-good end (a long match is likely) or
/// the known-bad end (only a few tokens are likely to go).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gallop {
    Up,
    Down,
}

/// The largest suffix length `k` in `[good, bad)` that occurs, with its range, given that
/// occurring is monotone (a suffix of an occurring suffix occurs), that `good` occurs (its
/// range `good_seg`) and that `bad` does not. Gallops from one end (steps 1, 2, 4, ... from
/// `good` upwards, or from `bad` downwards) until the answer is bracketed, then binary search:
/// `O(log distance)` searches from the end galloped from. The one search on suffix lengths of
/// the engine: `infgram_*` back-off and the matching statistics of `score` / `generate`.
fn longest_occurring(
    (mut good, mut good_seg): (usize, Segment),
    mut bad: usize,
    from: Gallop,
    find: impl Fn(usize) -> Segment,
) -> (usize, Segment) {
    let mut step = 1usize;
    while bad - good > 1 {
        let k = match from {
            Gallop::Up => good.saturating_add(step).min(bad - 1),
            Gallop::Down => bad.saturating_sub(step).max(good + 1),
        };
        let seg = find(k);
        let occurs = !seg.is_empty();
        if occurs {
            (good, good_seg) = (k, seg);
        } else {
            bad = k;
        }
        // Bracketed: the probe moved the far end.
        if occurs == (from == Gallop::Down) {
            break;
        }
        step = step.saturating_mul(2);
    }
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        let seg = find(mid);
        if seg.is_empty() {
            bad = mid;
        } else {
            (good, good_seg) = (mid, seg);
        }
    }
    (good, good_seg)
}

/// The longest suffix of a growing text that occurs in one shard: its length and range.
/// Matching statistics: the longest suffix of `q[..i+1]` is at most one token longer than
/// that of `q[..i]`, so appending a token costs one extension, and only when that fails, fresh
/// searches for shorter suffixes. `score` and `generate` both walk a text with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchState {
    pub len: usize,
    pub seg: Segment,
}

impl MatchState {
    /// The empty suffix of a shard (every real-token suffix).
    pub fn start<S: ShardIndex>(s: &S) -> MatchState {
        MatchState {
            len: 0,
            seg: s.find(&[]),
        }
    }

    /// The state after appending `text.last()`, given `next`, this state's suffix extended by
    /// that token (as computed by the caller; empty if it does not occur). `text` ends with the
    /// appended token and holds at least `self.len + 1` tokens.
    ///
    /// When `next` is empty, the longest suffix of `text` is `text[n-k..]` for the largest
    /// `k <= len` that occurs (occurring is monotone in `k`): gallop down from `len`, then
    /// binary search, `O(log(len - k))` searches, one when only the first token has to go.
    pub fn advance<S: ShardIndex>(self, s: &S, text: &[S::Tok], next: Segment) -> MatchState {
        if !next.is_empty() {
            return MatchState {
                len: self.len + 1,
                seg: next,
            };
        }
        let n = text.len();
        let (len, seg) = longest_occurring((0, s.find(&[])), self.len + 1, Gallop::Down, |k| {
            s.find(&text[n - k..])
        });
        MatchState { len, seg }
    }

    /// Appends `text.last()`: extends, else shrinks ([`Self::advance`]).
    pub fn push<S: ShardIndex>(self, s: &S, text: &[S::Tok]) -> MatchState {
        let t = text[text.len() - 1];
        let next = extend_pattern(s, self.seg, self.len, t);
        self.advance(s, text, next)
    }
}

/// For every position `i` of `q`, the shard's part of `infgram_prob(q[..i], q[i])` (`eos`:
/// the real token also counting document ends, if the eos id is one). One walk of
/// [`MatchState`]: `n` extensions and at most `2n` searches in all, where a back-off search per
/// position costs about `2 log2(len)` of them. The next tokens bounding the range are read once
/// per position and serve both the extension (often answered by them alone) and the sparse
/// test.
pub fn score_part<S: ShardIndex>(
    s: &S,
    q: &[S::Tok],
    eos: Option<S::Tok>,
    ticker: &mut Ticker,
) -> Result<Vec<ShardScore>> {
    let mut out = Vec::with_capacity(q.len());
    let mut state = MatchState::start(s);
    for (i, &t) in q.iter().enumerate() {
        ticker.tick()?;
        let MatchState { len, seg } = state;
        let bounds = if len > 0 && s.cheap_next_bounds() {
            s.next_bounds(seg, len)
        } else {
            None
        };
        let next = match bounds {
            _ if len == 0 => s.find(&[t]),
            Some(b) => s.extend_within(seg, len, t, b),
            None if seg.is_empty() || s.cheap_next_bounds() => seg,
            None => s.extend(seg, len, t),
        };
        let mut cont_cnt = next.count();
        if eos == Some(t) {
            cont_cnt += if len == 0 {
                s.num_docs()
            } else {
                s.extend(seg, len, S::Tok::SEPARATOR).count()
            };
        }
        out.push(ShardScore {
            suffix_len: len,
            prompt_cnt: prompt_count(seg, len, s.num_docs()),
            cont_cnt,
            sole_next: if len == 0 || s.cheap_next_bounds() {
                sole_next(s, seg, len, eos, bounds)
            } else {
                sole_next_given(s, seg, len, eos, (t, next.count()), q[i - 1])
            },
        });
        if i + 1 < q.len() {
            state = state.advance(s, &q[..=i], next);
        }
    }
    Ok(out)
}

/// [`sole_next`] for a pattern of `m > 0` tokens ending with `last`, given that the scored
/// token `t` follows `t_cnt` of its occurrences: when `t` follows some, the counts answer
/// without the range's bounds (which cost the FM kind a rank per candidate symbol); the
/// bounds are read only when `t` follows none, or when the pattern ends with the separator
/// (whose range holds the FM's end-of-text row, which the counts must not see).
fn sole_next_given<S: ShardIndex>(
    s: &S,
    seg: Segment,
    m: usize,
    eos: Option<S::Tok>,
    (t, t_cnt): (S::Tok, u64),
    last: S::Tok,
) -> Option<u32> {
    let sep = S::Tok::SEPARATOR;
    if t_cnt == 0 || last == sep || t == sep {
        return sole_next(s, seg, m, eos, s.next_bounds(seg, m));
    }
    let total = seg.count();
    if t_cnt == total {
        Some(if eos == Some(t) { DOC_END } else { label(t) })
    } else if eos == Some(t) && t_cnt + s.extend(seg, m, sep).count() == total {
        // Real eos tokens and document ends only (the separator sorts last).
        Some(DOC_END)
    } else {
        None
    }
}

/// The one next token of a prompt of `m` tokens with range `seg`, if there is only one
/// ([`DOC_END`] for document ends, which a real `eos` token joins). `bounds` are the range's
/// smallest and largest next tokens, which the caller has read for its extension.
fn sole_next<S: ShardIndex>(
    s: &S,
    seg: Segment,
    m: usize,
    eos: Option<S::Tok>,
    bounds: Option<(S::Tok, S::Tok)>,
) -> Option<u32> {
    let sep = S::Tok::SEPARATOR;
    if m == 0 {
        // The empty prompt: every token and every document end, so one entry only when there
        // are no tokens, or when every token is the eos one (whose id document ends share).
        return match s.next_bounds(seg, 0) {
            None => (s.num_docs() > 0).then_some(DOC_END),
            Some((a, b)) => (a == b && eos == Some(a)).then_some(DOC_END),
        };
    }
    let (a, b) = bounds?;
    let eos_or_end = |t| t == sep || eos == Some(t);
    if a == b {
        Some(if eos_or_end(a) { DOC_END } else { label(a) })
    } else if eos == Some(a) && b == sep {
        // Real eos tokens then document ends, if nothing sorts between them.
        let both = s.extend(seg, m, a).count() + s.extend(seg, m, sep).count();
        (both == seg.count()).then_some(DOC_END)
    } else {
        None
    }
}

// ------------------------------------------------------------------ the index's queries

impl Index {
    /// The id document ends are reported under when the caller names none: the manifest's
    /// tokenizer `eos_token_id` if it has one, else the separator value of the token width
    /// (255, 65535 or 2³²−1), which is never a real token.
    pub fn default_eos_token_id(&self) -> u32 {
        self.tokenizer()
            .get("eos_token_id")
            .and_then(|v| v.as_u64())
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or_else(|| self.token_width().separator())
    }

    /// A continuation id must be a real token or the eos id.
    fn check_cont(&self, cont: u32, eos: u32) -> Result<()> {
        if (cont as u64) < self.vocab_size() || cont == eos {
            Ok(())
        } else {
            Err(AnygramError::TokenOutOfRange {
                token: cont as u64,
                vocab: self.vocab_size(),
            })
        }
    }

    fn check_support(opts: NtdOptions) -> Result<()> {
        if opts.max_support == 0 {
            return Err(AnygramError::InvalidQuery(
                "max_support must be a positive integer".into(),
            ));
        }
        Ok(())
    }

    /// `cont` as a real token (if it is one) and whether it also counts document ends.
    fn continuation(&self, cont: u32, eos: u32) -> (Option<u32>, bool) {
        (
            ((cont as u64) < self.vocab_size()).then_some(cont),
            cont == eos,
        )
    }

    /// `P(cont | prompt)` by counts: `cont_cnt / prompt_cnt`, -1.0 if the prompt does not occur.
    /// `cont == eos` counts document ends (plus any real token of that id). The continuation is
    /// searched inside the prompt's range only.
    pub fn prob(&self, prompt: &[u32], cont: u32, eos: u32) -> Result<ProbResult> {
        self.check_ids(prompt)?;
        self.check_cont(cont, eos)?;
        let (cont, doc_end) = self.continuation(cont, eos);
        let req = ShardRequest::Prob {
            prompt: prompt.to_vec(),
            cont,
            doc_end,
        };
        let parts = self.run_all(&req, Deadline::NONE, ShardResponse::into_prob)?;
        Ok(merge_prob(parts))
    }

    /// The distribution of the token after `prompt`: counts per id and the prompt's count.
    pub fn ntd(&self, prompt: &[u32], opts: NtdOptions, eos: u32) -> Result<NtdResult> {
        Self::check_support(opts)?;
        self.check_ids(prompt)?;
        let req = ShardRequest::Find {
            ids: prompt.to_vec(),
        };
        let segs = self.run_all(&req, Deadline::NONE, ShardResponse::into_segment)?;
        let m = prompt.len();
        self.ntd_in(&segs, m, opts, eos)
    }

    /// Next-token counts of a prompt of `m` tokens with per-shard ranges `segs`, sampled by a
    /// unit decided on the whole index's count.
    fn ntd_in(&self, segs: &[Segment], m: usize, opts: NtdOptions, eos: u32) -> Result<NtdResult> {
        let prompt_cnt: u64 = segs
            .iter()
            .zip(self.shard_docs())
            .map(|(&seg, d)| prompt_count(seg, m, d))
            .sum();
        let unit = opts.unit(prompt_cnt);
        let reqs = segs
            .iter()
            .zip(self.shard_docs())
            .map(|(&seg, d)| {
                (prompt_count(seg, m, d) > 0).then_some(ShardRequest::NextCounts { seg, m, unit })
            })
            .collect();
        let parts = self.run_each(reqs, Deadline::NONE, ShardResponse::into_next_counts)?;
        Ok(merge_ntd(parts.into_iter().flatten(), eos))
    }

    /// Length of the longest suffix of `prompt` that occurs in the index, with its range in
    /// every shard.
    pub fn longest_suffix(&self, prompt: &[u32]) -> Result<(usize, Vec<Segment>)> {
        self.check_ids(prompt)?;
        let req = ShardRequest::LongestSuffix {
            ids: prompt.to_vec(),
        };
        let parts = self.run_all(&req, Deadline::NONE, ShardResponse::into_suffix)?;
        Ok(merge_longest_suffix(parts))
    }

    /// `prob` of the longest suffix of `prompt` that occurs (the ∞-gram estimate).
    pub fn infgram_prob(&self, prompt: &[u32], cont: u32, eos: u32) -> Result<InfgramProbResult> {
        self.check_cont(cont, eos)?;
        let (m, segs) = self.longest_suffix(prompt)?;
        let (cont, doc_end) = self.continuation(cont, eos);
        let reqs = segs
            .iter()
            .zip(self.shard_docs())
            .map(|(&seg, d)| {
                (prompt_count(seg, m, d) > 0).then_some(ShardRequest::ProbIn {
                    seg,
                    m,
                    cont,
                    doc_end,
                })
            })
            .collect();
        let parts = self.run_each(reqs, Deadline::NONE, ShardResponse::into_prob)?;
        let r = merge_prob(parts.into_iter().flatten());
        Ok(InfgramProbResult {
            prompt_cnt: r.prompt_cnt,
            cont_cnt: r.cont_cnt,
            prob: r.prob,
            suffix_len: m,
        })
    }

    /// `ntd` of the longest suffix of `prompt` that occurs (the ∞-gram distribution).
    pub fn infgram_ntd(
        &self,
        prompt: &[u32],
        opts: NtdOptions,
        eos: u32,
    ) -> Result<InfgramNtdResult> {
        Self::check_support(opts)?;
        let (m, segs) = self.longest_suffix(prompt)?;
        Ok(InfgramNtdResult {
            ntd: self.ntd_in(&segs, m, opts, eos)?,
            suffix_len: m,
        })
    }

    /// `infgram_prob(ids[..i], ids[i])` for every position `i` of `ids` (the first token's
    /// context is empty: its probability is its count over all tokens and document ends), in
    /// one pass per shard that reuses each position's match ([`score_part`]).
    pub fn score(&self, ids: &[u32], eos: u32) -> Result<Vec<ScoredToken>> {
        self.score_until(ids, eos, Deadline::NONE)
    }

    /// [`Index::score`], stopped with [`AnygramError::Cancelled`] past `deadline`.
    pub fn score_until(
        &self,
        ids: &[u32],
        eos: u32,
        deadline: Deadline,
    ) -> Result<Vec<ScoredToken>> {
        self.check_ids(ids)?;
        let req = ShardRequest::Score {
            ids: ids.to_vec(),
            eos: ((eos as u64) < self.vocab_size()).then_some(eos),
        };
        let parts = self.run_all(&req, deadline, ShardResponse::into_score)?;
        Ok(merge_score(&parts, eos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_unit_is_infini_grams() {
        let unit = |cnt, max_support| {
            NtdOptions {
                max_support,
                exact: false,
            }
            .unit(cnt)
        };
        assert_eq!(unit(0, 1000), 1);
        assert_eq!(unit(1000, 1000), 1);
        assert_eq!(unit(1001, 1000), 2);
        assert_eq!(unit(4000, 1000), 4);
        assert_eq!(unit(4001, 1000), 8);
        assert_eq!(unit(u64::MAX / 2, u64::MAX), 1);
        assert_eq!(unit(1 << 40, 1), 1 << 40);
        assert_eq!(NtdOptions::EXACT.unit(1 << 40), 1);
    }
}
