//! The suffix-array kind's answers to [`ShardIndex`]: the stored token stream and the bit-packed
//! suffix array (`shard.rs` opens them, `query.rs` finds patterns).
//!
//! **Next tokens by boundary jumping.** Inside a pattern's range the suffixes agree on their
//! first `m` tokens, so they are sorted by the token at offset `m`, separators last. Extending
//! the pattern by `t` is two binary searches on that token; the exact next-token counts walk
//! the distinct tokens from the left, each run's end found by galloping then binary search:
//! `O(distinct · log run)` random reads, whatever the pattern's count. The range's first and
//! last next tokens bound every next token in it, which `extend_within` uses to skip searches.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;
use crate::packed::PackedSlice;
use crate::query::Segment;
use crate::shard::Shard;
use crate::shard_index::{label, ShardIndex};
use crate::token::Token;

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

    /// [`Self::range_of`] given the next tokens `(first, last)` of the non-empty `seg`'s first
    /// and last suffixes: they bound every next token in it (the range is sorted by next
    /// token), so a `t` outside them is empty at once, and a `t` equal to one of them starts or
    /// ends the result there. Otherwise the lower bound by binary search, then the run's end by
    /// galloping from it (`O(log run)`, not `O(log range)`). In a scored text `t` falls outside
    /// the ends whenever the context is always followed by one token that `t` is not, and
    /// equals both when `t` is that token: no search at all.
    fn narrow(&self, seg: Segment, t: T, (first, last): (T, T)) -> Segment {
        let empty = Segment::empty_at(seg.lo);
        if seg.is_empty() || t < first || t > last {
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

    /// Every real next token in `seg` with at least `min_count` occurrences, with its range.
    /// A run that long holds one of the probed ranks: probes go at least `min_count` ranks
    /// apart and never skip the start of a run they have not reached.
    fn frequent(&self, seg: Segment, min_count: u64) -> Vec<(T, Segment)> {
        let (step, mut out) = (min_count.max(1), Vec::new());
        let (mut r, mut done) = (seg.lo, seg.lo);
        while r < seg.hi {
            let t = self.at(r);
            if t == T::SEPARATOR {
                break; // separators sort last
            }
            let run = Segment {
                lo: self.bound(done, r, t, false),
                hi: self.run_end(r, seg.hi, t),
            };
            if run.count() >= step {
                out.push((t, run));
            }
            done = run.hi;
            r = run.hi.max(r.saturating_add(step));
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
}

impl<T: Token> ShardIndex for Shard<T> {
    type Tok = T;

    #[inline]
    fn num_tokens(&self) -> u64 {
        self.num_tokens
    }

    #[inline]
    fn num_docs(&self) -> u64 {
        self.num_docs
    }

    #[inline]
    fn find(&self, q: &[T]) -> Segment {
        Shard::find(self, q)
    }

    fn extend(&self, seg: Segment, m: usize, t: T) -> Segment {
        self.next_tokens(m).range_of(seg, t)
    }

    #[inline]
    fn extend_within(&self, seg: Segment, m: usize, t: T, bounds: (T, T)) -> Segment {
        self.next_tokens(m).narrow(seg, t, bounds)
    }

    #[inline]
    fn next_bounds(&self, seg: Segment, m: usize) -> Option<(T, T)> {
        if seg.is_empty() {
            return None;
        }
        let next = self.next_tokens(m);
        Some((next.at(seg.lo), next.at(seg.hi - 1)))
    }

    fn next_token_counts(&self, seg: Segment, m: usize) -> Vec<(u32, u64)> {
        self.next_tokens(m).exact(seg)
    }

    fn frequent_next(&self, seg: Segment, m: usize, min_count: u64) -> Vec<(T, Segment)> {
        self.next_tokens(m).frequent(seg, min_count)
    }

    fn next_token_counts_sampled(
        &self,
        seg: Segment,
        m: usize,
        unit: u64,
    ) -> (Vec<(u32, u64)>, bool) {
        let mut out = BTreeMap::new();
        if !seg.is_empty() {
            self.next_tokens(m)
                .sampled(seg.lo, seg.hi, unit.max(1), None, None, &mut out);
        }
        (out.into_iter().collect(), unit > 1)
    }

    /// Straight from the prefix table.
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
        (0..a - 1)
            .filter_map(|t| {
                let c = entry((t + 1) * stride).saturating_sub(entry(t * stride));
                (c > 0).then_some((t as u32, c))
            })
            .collect()
    }

    #[inline]
    fn locate(&self, rank: u64, _m: usize) -> Option<u64> {
        self.pointer(rank)
    }

    fn locate_range(&self, seg: Segment, _m: usize, out: &mut Vec<u64>) {
        let sa = self.sa();
        out.extend((seg.lo..seg.hi.min(self.num_tokens)).map(|r| sa.get(r)));
    }

    #[inline]
    fn stream(&self) -> Option<&[T]> {
        Some(self.tokens())
    }

    fn extract(&self, from: u64, to: u64) -> Cow<'_, [T]> {
        let tokens = self.tokens();
        let to = (to as usize).min(tokens.len());
        Cow::Borrowed(tokens.get(from as usize..to).unwrap_or(&[]))
    }

    fn extract_original(&self, from: u64, to: u64) -> Cow<'_, [T]> {
        let ids = self.extract(from, to);
        if !self.docs.folded() {
            return ids;
        }
        let mut ids = ids.into_owned();
        self.docs.restore_case(from, &mut ids);
        Cow::Owned(ids)
    }

    #[inline]
    fn doc_starts(&self) -> &[u64] {
        Shard::doc_starts(self)
    }

    fn metadata(&self, doc: u64) -> Result<Cow<'_, str>> {
        Shard::metadata(self, doc)
    }

    fn dir(&self) -> &Path {
        Shard::dir(self)
    }

    fn size_bytes(&self) -> u64 {
        Shard::size_bytes(self)
    }
}
