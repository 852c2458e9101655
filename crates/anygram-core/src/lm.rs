//! The infinity-gram language model: `prob`, `ntd` (next-token distribution) and their
//! back-off forms `infgram_prob` / `infgram_ntd`, with infini-gram's semantics and result fields.
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
//! **Next tokens by boundary jumping.** Inside a prompt's suffix-array range the suffixes agree
//! on their first `m` tokens, so they are sorted by the token at offset `m`, separators last.
//! Each distinct next token is one sub-range; `ntd` walks them from the left, finding each one's
//! end by galloping then binary search on that token: `O(distinct · log run)` random reads,
//! whatever the prompt's count. That makes the exact distribution cheap, so sampling is only
//! kept for compatibility (`exact = false` above `max_support`, infini-gram's scheme, `approx`).
//!
//! **Back-off.** Each shard finds the longest suffix of the prompt it holds (doubling then
//! binary search on the suffix length, like infini-gram: about `2 log2(len)` searches, each a
//! prefix-table lookup plus a binary search); the index's is the longest of those, and its
//! range in the other shards is empty ([`merge_longest_suffix`]), so no search is repeated.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::error::{AnygramError, Result};
use crate::index::{Index, ShardSet};
pub use crate::merge::DOC_END;
use crate::merge::{
    merge_longest_suffix, merge_ntd, merge_prob, InfgramNtdResult, InfgramProbResult, NtdResult,
    ProbResult,
};
use crate::packed::PackedSlice;
use crate::query::Segment;
use crate::shard::Shard;
use crate::token::{checked_tokens, Token};

/// Shards beyond which per-shard work fans out over the thread pool (as for `find`).
const PARALLEL_SHARDS: usize = 4;

/// Options of `ntd` / `infgram_ntd`.
#[derive(Debug, Clone, Copy)]
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

/// infini-gram's sampling unit: the smallest power of two with `cnt <= unit * max_support`.
fn sampling_unit(prompt_cnt: u64, max_support: u64) -> u64 {
    let mut unit: u64 = 1;
    while prompt_cnt > unit.saturating_mul(max_support) {
        unit <<= 1;
    }
    unit
}

/// The per-shard label of a stored next token.
#[inline]
fn label<T: Token>(t: T) -> u32 {
    if t == T::SEPARATOR {
        DOC_END
    } else {
        t.to_u32()
    }
}

/// Next tokens of the suffixes of a range whose first `m` tokens agree.
struct Next<'a, T: Token> {
    tokens: &'a [T],
    sa: PackedSlice<'a>,
    m: u64,
}

impl<T: Token> Next<'_, T> {
    /// The token after the first `m` of the suffix of rank `rank` (a separator past the end,
    /// which only a corrupt pointer can reach).
    #[inline]
    fn at(&self, rank: u64) -> T {
        let pos = self.sa.get(rank).saturating_add(self.m);
        usize::try_from(pos)
            .ok()
            .and_then(|p| self.tokens.get(p))
            .copied()
            .unwrap_or(T::SEPARATOR)
    }

    /// First rank in `[lo, hi)` whose next token is `>= t` (`strict`: `> t`).
    fn bound(&self, mut lo: u64, mut hi: u64, t: T, strict: bool) -> u64 {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let x = self.at(mid);
            if x < t || (strict && x == t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The sub-range of `seg` continuing with `t`.
    fn range_of(&self, seg: Segment, t: T) -> Segment {
        let lo = self.bound(seg.lo, seg.hi, t, false);
        Segment {
            lo,
            hi: self.bound(lo, seg.hi, t, true),
        }
    }

    /// [`Self::range_of`] for a known-short result, given the next tokens `ends` of the
    /// non-empty `seg`'s first and last suffixes: they bound every next token in it (the range
    /// is sorted by next token), so a `t` outside them is empty at once, and a `t` equal to
    /// one of them starts or ends the result there. Otherwise the lower bound by binary
    /// search, then the run's end by galloping from it (`O(log run)`, not `O(log range)`).
    /// In a scored text `t` falls outside the ends whenever the context is always followed by
    /// one token that `t` is not, and equals both when `t` is that token: no search at all.
    fn narrow(&self, seg: Segment, t: T, (first, last): (T, T)) -> Segment {
        let empty = Segment {
            lo: seg.lo,
            hi: seg.lo,
        };
        if t < first || t > last {
            return empty;
        }
        let lo = if t == first {
            seg.lo
        } else {
            // `first < t <= last`: the run starts after the first rank, at the last one latest.
            let lo = self.bound(seg.lo + 1, seg.hi - 1, t, false);
            if (lo == seg.hi - 1 && t != last) || (lo < seg.hi - 1 && self.at(lo) != t) {
                return empty;
            }
            lo
        };
        let hi = if t == last {
            seg.hi
        } else {
            // `t < last`: the run ends before the last rank.
            self.run_end(lo, seg.hi - 1, t)
        };
        Segment { lo, hi }
    }

    /// End of the run of next token `t` that starts at `r`: gallop, then binary search.
    fn run_end(&self, r: u64, hi: u64, t: T) -> u64 {
        let mut lo = r + 1;
        let mut step = 1u64;
        let mut top = hi;
        loop {
            let probe = r.saturating_add(step);
            if probe >= hi {
                break;
            }
            if self.at(probe) != t {
                top = probe;
                break;
            }
            lo = probe + 1;
            step = step.saturating_mul(2);
        }
        self.bound(lo, top, t, true)
    }

    /// Exact counts of every next token in `seg`, sorted by id (document ends last).
    fn exact(&self, seg: Segment) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut r = seg.lo;
        while r < seg.hi {
            let t = self.at(r);
            let end = self.run_end(r, seg.hi, t);
            out.push((label(t), end - r));
            r = end;
        }
        out
    }

    /// infini-gram's sampled counts: a range whose first and last next tokens agree is counted
    /// whole; one shorter than `4 · unit` is sampled at the middle of every `unit` entries, each
    /// sample standing for them; others are halved. Deterministic, no threads.
    fn sampled(
        &self,
        start: u64,
        end: u64,
        unit: u64,
        first: Option<T>,
        last: Option<T>,
        out: &mut BTreeMap<u32, u64>,
    ) {
        if end - start < unit.saturating_mul(4) {
            let mut rank = start;
            while rank < end {
                let full = rank.saturating_add(unit) <= end;
                let mid = if full {
                    rank + unit / 2
                } else {
                    rank + (end - rank) / 2
                };
                *out.entry(label(self.at(mid))).or_default() +=
                    if full { unit } else { end - rank };
                rank = rank.saturating_add(unit);
            }
            return;
        }
        let a = first.unwrap_or_else(|| self.at(start));
        let b = last.unwrap_or_else(|| self.at(end - 1));
        if a == b {
            *out.entry(label(a)).or_default() += end - start;
            return;
        }
        let mid = start + (end - start) / 2;
        self.sampled(start, mid, unit, Some(a), None, out);
        self.sampled(mid, end, unit, None, Some(b), out);
    }
}

impl<T: Token> Shard<T> {
    fn next_tokens(&self, m: usize) -> Next<'_, T> {
        Next {
            tokens: self.tokens(),
            sa: self.sa(),
            m: m as u64,
        }
    }

    /// Occurrences of a prompt of `m` tokens with range `seg`, document ends included (only the
    /// empty prompt has occurrences outside the suffix array: one per document end).
    pub fn prompt_count(&self, seg: Segment, m: usize) -> u64 {
        seg.count() + if m == 0 { self.num_docs } else { 0 }
    }

    /// `(prompt_cnt, cont_cnt)` in this shard for a prompt of `m` tokens with range `seg`: the
    /// continuation is a real token `cont` (if given) and/or a document end (`doc_end`).
    pub fn prob_part(&self, seg: Segment, m: usize, cont: Option<T>, doc_end: bool) -> (u64, u64) {
        let next = self.next_tokens(m);
        let mut cont_cnt = 0;
        if let Some(c) = cont {
            cont_cnt += if m == 0 {
                self.find(&[c]).count()
            } else {
                next.range_of(seg, c).count()
            };
        }
        if doc_end {
            cont_cnt += if m == 0 {
                self.num_docs
            } else {
                next.range_of(seg, T::SEPARATOR).count()
            };
        }
        (self.prompt_count(seg, m), cont_cnt)
    }

    /// Every next token's exact count, sorted by id (document ends as [`DOC_END`], last).
    pub fn next_token_counts(&self, seg: Segment, m: usize) -> Vec<(u32, u64)> {
        if m == 0 {
            return self.unigram_counts();
        }
        self.next_tokens(m).exact(seg)
    }

    /// Next-token counts sampled as infini-gram does with the given unit (see [`sampling_unit`]).
    pub fn next_token_counts_sampled(&self, seg: Segment, m: usize, unit: u64) -> Vec<(u32, u64)> {
        let mut out = BTreeMap::new();
        if !seg.is_empty() {
            self.next_tokens(m)
                .sampled(seg.lo, seg.hi, unit.max(1), None, None, &mut out);
        }
        if m == 0 {
            *out.entry(DOC_END).or_default() += self.num_docs;
        }
        out.into_iter().collect()
    }

    /// The empty prompt's continuations: every token's count, straight from the prefix table,
    /// plus one document end per document.
    fn unigram_counts(&self) -> Vec<(u32, u64)> {
        let prefix = self.prefix_table();
        let a = self.alphabet;
        let stride = if self.prefix_len == 2 { a } else { 1 };
        let entry = |i: u64| {
            usize::try_from(i)
                .ok()
                .and_then(|i| prefix.get(i))
                .copied()
                .unwrap_or(self.num_tokens)
        };
        let mut out: Vec<(u32, u64)> = (0..a - 1)
            .filter_map(|t| {
                let c = entry((t + 1) * stride).saturating_sub(entry(t * stride));
                (c > 0).then_some((t as u32, c))
            })
            .collect();
        out.push((DOC_END, self.num_docs));
        out
    }

    /// Length and range of the longest suffix of `prompt` that occurs in this shard (the empty
    /// suffix always does): doubling, then binary search between the last length found and
    /// the first missing.
    pub fn longest_suffix(&self, prompt: &[T]) -> (usize, Segment) {
        let n = prompt.len();
        let find = |len: usize| self.find(&prompt[n - len..]);
        let (mut lo, mut hi) = (0usize, 1usize);
        let mut lo_seg = find(0);
        loop {
            if hi > n {
                hi = n + 1;
                break;
            }
            let seg = find(hi);
            if seg.is_empty() {
                break;
            }
            (lo, lo_seg) = (hi, seg);
            hi *= 2;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let seg = find(mid);
            if seg.is_empty() {
                hi = mid;
            } else {
                (lo, lo_seg) = (mid, seg);
            }
        }
        (lo, lo_seg)
    }
}

fn map_shards<T: Token, R: Send>(
    shards: &[Shard<T>],
    f: impl Fn(&Shard<T>) -> R + Sync + Send,
) -> Vec<R> {
    if shards.len() >= PARALLEL_SHARDS {
        shards.par_iter().map(f).collect()
    } else {
        shards.iter().map(f).collect()
    }
}

fn map_pairs<T: Token, R: Send>(
    shards: &[Shard<T>],
    segs: &[Segment],
    f: impl Fn(&Shard<T>, Segment) -> R + Sync + Send,
) -> Vec<R> {
    if shards.len() >= PARALLEL_SHARDS {
        shards
            .par_iter()
            .zip(segs.par_iter())
            .map(|(s, &g)| f(s, g))
            .collect()
    } else {
        shards.iter().zip(segs).map(|(s, &g)| f(s, g)).collect()
    }
}

fn prob_on<T: Token>(
    shards: &[Shard<T>],
    segs: &[Segment],
    m: usize,
    cont: u32,
    eos: u32,
    vocab: u64,
) -> ProbResult {
    let real = ((cont as u64) < vocab).then(|| T::from_u32(cont));
    merge_prob(map_pairs(shards, segs, |s, seg| {
        s.prob_part(seg, m, real, cont == eos)
    }))
}

fn ntd_on<T: Token>(
    shards: &[Shard<T>],
    segs: &[Segment],
    m: usize,
    opts: NtdOptions,
    eos: u32,
) -> NtdResult {
    let prompt_cnt: u64 = shards
        .iter()
        .zip(segs)
        .map(|(s, &seg)| s.prompt_count(seg, m))
        .sum();
    let unit = if opts.exact {
        1
    } else {
        sampling_unit(prompt_cnt, opts.max_support)
    };
    let parts = if unit == 1 {
        map_pairs(shards, segs, |s, seg| s.next_token_counts(seg, m))
    } else {
        map_pairs(shards, segs, |s, seg| {
            s.next_token_counts_sampled(seg, m, unit)
        })
    };
    merge_ntd(parts, eos, unit > 1)
}

macro_rules! on_shards {
    ($index:expr, $shards:ident => $body:expr) => {
        match $index.shard_set() {
            ShardSet::U8($shards) => $body,
            ShardSet::U16($shards) => $body,
            ShardSet::U32($shards) => $body,
        }
    };
}

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

    /// `P(cont | prompt)` by counts: `cont_cnt / prompt_cnt`, -1.0 if the prompt does not occur.
    /// `cont == eos` counts document ends (plus any real token of that id). The continuation is
    /// searched inside the prompt's range only.
    pub fn prob(&self, prompt: &[u32], cont: u32, eos: u32) -> Result<ProbResult> {
        self.check_cont(cont, eos)?;
        let vocab = self.vocab_size();
        on_shards!(self, s => {
            let q = checked_tokens(prompt, vocab)?;
            let segs = map_shards(s, |sh| sh.find(&q));
            Ok(prob_on(s, &segs, q.len(), cont, eos, vocab))
        })
    }

    /// The distribution of the token after `prompt`: counts per id and the prompt's count.
    pub fn ntd(&self, prompt: &[u32], opts: NtdOptions, eos: u32) -> Result<NtdResult> {
        Self::check_support(opts)?;
        on_shards!(self, s => {
            let q = checked_tokens(prompt, self.vocab_size())?;
            let segs = map_shards(s, |sh| sh.find(&q));
            Ok(ntd_on(s, &segs, q.len(), opts, eos))
        })
    }

    /// Length of the longest suffix of `prompt` that occurs in the index, with its range in
    /// every shard.
    pub fn longest_suffix(&self, prompt: &[u32]) -> Result<(usize, Vec<Segment>)> {
        on_shards!(self, s => {
            let q = checked_tokens(prompt, self.vocab_size())?;
            Ok(merge_longest_suffix(map_shards(s, |sh| sh.longest_suffix(&q))))
        })
    }

    /// `prob` of the longest suffix of `prompt` that occurs (the ∞-gram estimate).
    pub fn infgram_prob(&self, prompt: &[u32], cont: u32, eos: u32) -> Result<InfgramProbResult> {
        self.check_cont(cont, eos)?;
        let vocab = self.vocab_size();
        on_shards!(self, s => {
            let q = checked_tokens(prompt, vocab)?;
            let (m, segs) = merge_longest_suffix(map_shards(s, |sh| sh.longest_suffix(&q)));
            let r = prob_on(s, &segs, m, cont, eos, vocab);
            Ok(InfgramProbResult {
                prompt_cnt: r.prompt_cnt,
                cont_cnt: r.cont_cnt,
                prob: r.prob,
                suffix_len: m,
            })
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
        on_shards!(self, s => {
            let q = checked_tokens(prompt, self.vocab_size())?;
            let (m, segs) = merge_longest_suffix(map_shards(s, |sh| sh.longest_suffix(&q)));
            Ok(InfgramNtdResult {
                ntd: ntd_on(s, &segs, m, opts, eos),
                suffix_len: m,
            })
        })
    }
}

/// One shard's facts for one position of a scored text: the length of the longest suffix of
/// the preceding tokens held by the shard, that suffix's count and how often the token follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardScore {
    pub suffix_len: usize,
    pub prompt_cnt: u64,
    pub cont_cnt: u64,
    /// The one token that follows every occurrence of the suffix here (document ends as
    /// [`DOC_END`]), if there is only one: the infini-gram paper's "sparse" estimate.
    pub sole_next: Option<u32>,
}

/// `infgram_prob` of one position of a scored text, plus whether the estimate is sparse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredToken {
    pub prob: f64,
    pub prompt_cnt: u64,
    pub cont_cnt: u64,
    pub suffix_len: usize,
    /// `Some(id)` when every occurrence of the suffix continues with the same token `id`
    /// (document ends reported as the eos id): the estimate is sparse, `infgram_ntd` has one
    /// entry.
    pub sole_next: Option<u32>,
}

/// Merges the shards' per-position facts into `infgram_prob` answers: per position the
/// longest suffix of any shard, counted in the shards holding it (the others' own longest is
/// shorter, so that suffix does not occur there), as [`merge_longest_suffix`] does.
/// The estimate is sparse when every shard holding the suffix has the same sole next token
/// (document ends labelled [`DOC_END`] there, reported as `eos`).
pub fn merge_score(parts: &[Vec<ShardScore>], eos: u32) -> Vec<ScoredToken> {
    let n = parts.iter().map(Vec::len).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            let at = || parts.iter().filter_map(move |p| p.get(i));
            let m = at().map(|s| s.suffix_len).max().unwrap_or(0);
            let holding = || at().filter(move |s| s.suffix_len == m && s.prompt_cnt > 0);
            let r = merge_prob(holding().map(|s| (s.prompt_cnt, s.cont_cnt)));
            let mut soles = holding().map(|s| s.sole_next);
            let first = soles.next().flatten();
            let sole_next = first.filter(|&t| soles.all(|s| s == Some(t))).map(|t| {
                if t == DOC_END {
                    eos
                } else {
                    t
                }
            });
            ScoredToken {
                prob: r.prob,
                prompt_cnt: r.prompt_cnt,
                cont_cnt: r.cont_cnt,
                suffix_len: m,
                sole_next,
            }
        })
        .collect()
}

impl<T: Token> Shard<T> {
    /// For every position `i` of `q`, this shard's part of `infgram_prob(q[..i], q[i])`
    /// (`eos`: the real token also counting document ends, if the eos id is one).
    ///
    /// Matching statistics: the longest suffix of `q[..i+1]` held here is at most one token
    /// longer than that of `q[..i]`. Narrowing the current range by `q[i]` (the token at offset
    /// `len` of its suffixes) gives both `cont_cnt` at `i` and, when not empty, the next
    /// position's range. Otherwise the suffix shrinks by fresh searches for shorter suffixes,
    /// galloping down then binary search (`O(log dropped)` searches); the length grows by at
    /// most one per position, so in all `n` narrowings and at most `2n` searches, where a
    /// back-off search per position costs about `2 log2(len)` of them. The next tokens of the
    /// range's first and last suffixes are read once per position and serve both the
    /// narrowing (often answered by them alone) and the sparse test.
    pub fn score_part(&self, q: &[T], eos: Option<T>) -> Vec<ShardScore> {
        let all = Segment {
            lo: 0,
            hi: self.num_tokens(),
        };
        let mut out = Vec::with_capacity(q.len());
        let (mut len, mut seg) = (0usize, all);
        for (i, &t) in q.iter().enumerate() {
            let after = self.next_tokens(len);
            // A non-empty context's range is never empty (it occurs), but stay total.
            let ends =
                (len > 0 && !seg.is_empty()).then(|| (after.at(seg.lo), after.at(seg.hi - 1)));
            let next = match ends {
                _ if len == 0 => self.find(&[t]),
                Some(ends) => after.narrow(seg, t, ends),
                None => seg,
            };
            let mut cont_cnt = next.count();
            if eos == Some(t) {
                cont_cnt += if len == 0 {
                    self.num_docs
                } else {
                    after.range_of(seg, T::SEPARATOR).count()
                };
            }
            out.push(ShardScore {
                suffix_len: len,
                prompt_cnt: self.prompt_count(seg, len),
                cont_cnt,
                sole_next: self.sole_next(seg, len, eos, ends),
            });
            if i + 1 == q.len() {
                break;
            }
            if !next.is_empty() {
                (len, seg) = (len + 1, next);
                continue;
            }
            // q[i-len..=i] does not occur: the longest suffix of q[..=i] is q[i+1-k..=i] for the
            // largest k <= len that occurs (occurring is monotone in k). Gallop down from len,
            // then binary search: O(log(len - k)) searches, one when the first token is all
            // that has to go.
            let find = |k: usize| self.find(&q[i + 1 - k..=i]);
            let (mut good, mut good_seg, mut bad) = (0usize, all, len + 1);
            let mut step = 1usize;
            while bad > step {
                let k = bad - step;
                let s = find(k);
                if !s.is_empty() {
                    (good, good_seg) = (k, s);
                    break;
                }
                bad = k;
                step *= 2;
            }
            while bad - good > 1 {
                let mid = good + (bad - good) / 2;
                let s = find(mid);
                if s.is_empty() {
                    bad = mid;
                } else {
                    (good, good_seg) = (mid, s);
                }
            }
            (len, seg) = (good, good_seg);
        }
        out
    }
}

impl<T: Token> Shard<T> {
    /// The one next token of a prompt of `m` tokens with range `seg`, if there is only one
    /// ([`DOC_END`] for document ends, which a real `eos` token joins). The range is sorted by
    /// next token, so its first and last entries tell: `ends`, their next tokens (`None` for
    /// an empty range), which the caller has read for its narrowing.
    fn sole_next(
        &self,
        seg: Segment,
        m: usize,
        eos: Option<T>,
        ends: Option<(T, T)>,
    ) -> Option<u32> {
        if m == 0 {
            // The empty prompt: every token and every document end, so one entry only when
            // there are no tokens, or when every token is the eos one (whose id document ends
            // share). Its range is every suffix, sorted by first token.
            if seg.is_empty() {
                return (self.num_docs > 0).then_some(DOC_END);
            }
            let first = self.next_tokens(0);
            let (a, b) = (first.at(seg.lo), first.at(seg.hi - 1));
            return (a == b && eos == Some(a)).then_some(DOC_END);
        }
        let (a, b) = ends?;
        let eos_or_end = |t: T| t == T::SEPARATOR || eos == Some(t);
        if a == b {
            Some(if eos_or_end(a) { DOC_END } else { label(a) })
        } else if eos == Some(a) && b == T::SEPARATOR {
            // Real eos tokens then document ends, if nothing sorts between them.
            let next = self.next_tokens(m);
            let end = next.run_end(seg.lo, seg.hi, a);
            (next.at(end) == T::SEPARATOR).then_some(DOC_END)
        } else {
            None
        }
    }
}

impl Index {
    /// `infgram_prob(ids[..i], ids[i])` for every position `i` of `ids` (the first token's
    /// context is empty: its probability is its count over all tokens and document ends), in
    /// one pass that reuses each position's match ([`Shard::score_part`]).
    pub fn score(&self, ids: &[u32], eos: u32) -> Result<Vec<ScoredToken>> {
        let vocab = self.vocab_size();
        on_shards!(self, s => {
            let q = checked_tokens(ids, vocab)?;
            let eos_tok = ((eos as u64) < vocab).then(|| Token::from_u32(eos));
            let parts = map_shards(s, |sh| sh.score_part(&q, eos_tok));
            Ok(merge_score(&parts, eos))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_unit_is_infini_grams() {
        assert_eq!(sampling_unit(0, 1000), 1);
        assert_eq!(sampling_unit(1000, 1000), 1);
        assert_eq!(sampling_unit(1001, 1000), 2);
        assert_eq!(sampling_unit(4000, 1000), 4);
        assert_eq!(sampling_unit(4001, 1000), 8);
        assert_eq!(sampling_unit(u64::MAX / 2, u64::MAX), 1);
        assert_eq!(sampling_unit(1 << 40, 1), 1 << 40);
    }
}
