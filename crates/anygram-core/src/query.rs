//! Finding an n-gram in one shard: its suffix-array range.
//!
//! The prefix table gives the range of the first one or two tokens with two loads; a binary
//! search then narrows it on the remaining tokens. The search first looks for any match, then
//! runs the lower-bound and upper-bound searches interleaved, so that the cache misses of the
//! two (one suffix-array entry and one token-stream spot per step) overlap.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::packed::PackedSlice;
use crate::shard::Shard;
use crate::token::Token;

/// A half-open range `[lo, hi)` of suffix-array ranks: the occurrences of an n-gram in a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Segment {
    pub lo: u64,
    pub hi: u64,
}

impl Segment {
    pub fn count(&self) -> u64 {
        self.hi - self.lo
    }

    pub fn is_empty(&self) -> bool {
        self.lo >= self.hi
    }

    /// The empty range at `lo`.
    pub fn empty_at(lo: u64) -> Segment {
        Segment { lo, hi: lo }
    }
}

/// Compares the suffix at `pos` with `query`, both from offset `skip` on; `Equal` when the
/// suffix starts with the query. Past the end of the stream counts as smaller (only reachable
/// on a corrupt index: the stream ends with a separator, which is larger than any token).
#[inline(always)]
fn compare_suffix<T: Token>(tokens: &[T], pos: u64, query: &[T], skip: usize) -> Ordering {
    let want = &query[skip..];
    // A corrupt pointer may be anything: every offset is checked, nothing may overflow.
    let start = (pos as usize).saturating_add(skip);
    match tokens.get(start..start.saturating_add(want.len())) {
        Some(have) => have.cmp(want),
        None => {
            for (i, q) in want.iter().enumerate() {
                match tokens.get(start.saturating_add(i)) {
                    Some(t) if t == q => continue,
                    Some(t) => return t.cmp(q),
                    None => return Ordering::Less,
                }
            }
            Ordering::Equal
        }
    }
}

struct Searcher<'a, T: Token> {
    tokens: &'a [T],
    sa: PackedSlice<'a>,
    query: &'a [T],
    skip: usize,
}

impl<T: Token> Searcher<'_, T> {
    #[inline(always)]
    fn cmp(&self, rank: u64) -> Ordering {
        compare_suffix(self.tokens, self.sa.get(rank), self.query, self.skip)
    }

    fn find(&self, mut lo: u64, mut hi: u64) -> Segment {
        // Phase 1: shared narrowing until some suffix matches.
        let mid = loop {
            if lo >= hi {
                return Segment { lo, hi: lo };
            }
            let mid = lo + (hi - lo) / 2;
            self.sa.prefetch(lo + (mid - lo) / 2);
            self.sa.prefetch(mid + (hi - mid) / 2);
            match self.cmp(mid) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => break mid,
            }
        };
        // Phase 2: lower bound in [lo, mid], upper bound in (mid, hi], stepped together.
        let (mut l1, mut r1) = (lo, mid);
        let (mut l2, mut r2) = (mid + 1, hi);
        while l1 < r1 && l2 < r2 {
            let m1 = l1 + (r1 - l1) / 2;
            let m2 = l2 + (r2 - l2) / 2;
            // Both searches' next probes are one of two entries each: fetch all four now.
            self.sa.prefetch(l1 + (m1 - l1) / 2);
            self.sa.prefetch(m1 + (r1 - m1) / 2);
            self.sa.prefetch(l2 + (m2 - l2) / 2);
            self.sa.prefetch(m2 + (r2 - m2) / 2);
            let c1 = self.cmp(m1);
            let c2 = self.cmp(m2);
            if c1 == Ordering::Less {
                l1 = m1 + 1
            } else {
                r1 = m1
            }
            if c2 == Ordering::Greater {
                r2 = m2
            } else {
                l2 = m2 + 1
            }
        }
        while l1 < r1 {
            let m1 = l1 + (r1 - l1) / 2;
            self.sa.prefetch(l1 + (m1 - l1) / 2);
            self.sa.prefetch(m1 + (r1 - m1) / 2);
            if self.cmp(m1) == Ordering::Less {
                l1 = m1 + 1
            } else {
                r1 = m1
            }
        }
        while l2 < r2 {
            let m2 = l2 + (r2 - l2) / 2;
            self.sa.prefetch(l2 + (m2 - l2) / 2);
            self.sa.prefetch(m2 + (r2 - m2) / 2);
            if self.cmp(m2) == Ordering::Greater {
                r2 = m2
            } else {
                l2 = m2 + 1
            }
        }
        Segment { lo: l1, hi: l2 }
    }
}

impl<T: Token> Shard<T> {
    /// Index of a symbol in the prefix table: the separator is the last symbol.
    #[inline]
    fn symbol(&self, t: T) -> u64 {
        if t == T::SEPARATOR {
            self.alphabet - 1
        } else {
            (t.to_u32() as u64).min(self.alphabet - 1)
        }
    }

    /// The suffix-array range of `query` in this shard. Every token must be a real token id
    /// (`< vocab_size`); the index checks that before calling.
    pub fn find(&self, query: &[T]) -> Segment {
        let prefix = self.prefix_table();
        let a = self.alphabet;
        let entry = |i: u64| prefix.get(i as usize).copied().unwrap_or(self.num_tokens);
        let (lo, hi, skip) = match (query.len(), self.prefix_len) {
            (0, _) => {
                return Segment {
                    lo: 0,
                    hi: self.num_tokens,
                }
            }
            (_, 1) | (1, _) => {
                let s = self.symbol(query[0]);
                let (start, end) = if self.prefix_len == 1 {
                    (s, s + 1)
                } else {
                    (s * a, (s + 1) * a)
                };
                (entry(start), entry(end), 1)
            }
            _ => {
                let s = self.symbol(query[0]) * a + self.symbol(query[1]);
                (entry(s), entry(s + 1), 2)
            }
        };
        if skip >= query.len() || lo >= hi {
            return Segment { lo, hi: hi.max(lo) };
        }
        Searcher {
            tokens: self.tokens(),
            sa: self.sa(),
            query,
            skip,
        }
        .find(lo, hi)
    }

    /// Token position of the suffix of the given rank.
    pub fn pointer(&self, rank: u64) -> Option<u64> {
        (rank < self.num_tokens).then(|| self.sa().get(rank))
    }
}
