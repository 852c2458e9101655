//! `creativity`: for every start `l` of an input, `rs[l] = l +` the length of the longest
//! prefix of `input[l..]` that occurs in the index (infini-gram's definition).
//!
//! **Cost.** The ends are monotone: if `input[l..r]` occurs, so does `input[l+1..r]`, so
//! `rs[l+1] >= rs[l]`. Each shard walks `l` forwards keeping `r` and the suffix-array range of
//! `input[l..r]`; extending by one token narrows that range by a binary search on the token
//! at offset `r - l` (the range's suffixes agree on their first `r - l` tokens, so they are
//! sorted by it). Moving to `l + 1` costs one fresh search for `input[l+1..r]`. In all, `n`
//! searches plus at most `2n` one-token narrowings, where infini-gram runs a full search of the
//! whole remaining input per position (one thread each). Shards are merged by
//! [`merge_creativity`] (per start, the furthest end).

use crate::error::Result;
use crate::index::{Index, ShardSet};
use crate::merge::merge_creativity;
use crate::packed::PackedSlice;
use crate::query::Segment;
use crate::shard::Shard;
use crate::token::Token;

/// Token at offset `m` of the suffix at `pos` (a separator past the stream's end, which only a
/// corrupt pointer reaches; separators sort last).
#[inline]
fn token_at<T: Token>(tokens: &[T], pos: u64, m: u64) -> T {
    usize::try_from(pos.saturating_add(m))
        .ok()
        .and_then(|p| tokens.get(p))
        .copied()
        .unwrap_or(T::SEPARATOR)
}

/// The part of `seg` (whose suffixes agree on their first `m` tokens) continuing with `t`.
pub(crate) fn narrow<T: Token>(
    tokens: &[T],
    sa: &PackedSlice<'_>,
    seg: Segment,
    m: u64,
    t: T,
) -> Segment {
    let bound = |mut lo: u64, mut hi: u64, strict: bool| {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let x = token_at(tokens, sa.get(mid), m);
            if x < t || (strict && x == t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    let lo = bound(seg.lo, seg.hi, false);
    if lo >= seg.hi || token_at(tokens, sa.get(lo), m) != t {
        return Segment { lo, hi: lo };
    }
    Segment {
        lo,
        hi: bound(lo, seg.hi, true),
    }
}

impl<T: Token> Shard<T> {
    /// `rs[l]` for this shard alone.
    pub fn creativity(&self, q: &[T]) -> Vec<usize> {
        self.creativity_segments(q).0
    }

    /// `rs[l]` for this shard alone, with the suffix-array range of `q[l..rs[l]]`.
    pub fn creativity_segments(&self, q: &[T]) -> (Vec<usize>, Vec<Segment>) {
        let n = q.len();
        let (tokens, sa) = (self.tokens(), self.sa());
        let all = Segment {
            lo: 0,
            hi: self.num_tokens(),
        };
        let mut rs = Vec::with_capacity(n);
        let mut segs = Vec::with_capacity(n);
        let mut r = 0usize;
        for l in 0..n {
            let mut seg = if r <= l {
                r = l;
                all
            } else {
                self.find(&q[l..r])
            };
            while r < n {
                let next = narrow(tokens, &sa, seg, (r - l) as u64, q[r]);
                if next.is_empty() {
                    break;
                }
                seg = next;
                r += 1;
            }
            rs.push(r);
            segs.push(seg);
        }
        (rs, segs)
    }
}

impl Index {
    /// For each start `l`, `l +` the length of the longest prefix of `ids[l..]` occurring in
    /// the index.
    pub fn creativity(&self, ids: &[u32]) -> Result<Vec<usize>> {
        let vocab = self.vocab_size();
        macro_rules! run {
            ($shards:expr) => {{
                let q = crate::token::checked_tokens(ids, vocab)?;
                let parts: Vec<Vec<usize>> = if $shards.len() >= 4 {
                    use rayon::prelude::*;
                    $shards.par_iter().map(|s| s.creativity(&q)).collect()
                } else {
                    $shards.iter().map(|s| s.creativity(&q)).collect()
                };
                Ok(merge_creativity(parts))
            }};
        }
        match self.shard_set() {
            ShardSet::U8(s) => run!(s),
            ShardSet::U16(s) => run!(s),
            ShardSet::U32(s) => run!(s),
        }
    }
}
