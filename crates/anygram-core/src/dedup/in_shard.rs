//! Duplicates inside one shard, from its suffix array and PLCP array (both from libsais).
//!
//! All occurrences of a `k`-token window sit next to each other in suffix order, linked by
//! longest-common-prefix values `>= k`: a maximal run of ranks whose neighbours share at least
//! `k` tokens is every occurrence of one window. The stream's separator is one symbol, so two
//! suffixes may share a prefix that runs through a document end; a link only counts when the
//! window it shares holds no separator (`valid`), which is how document ends break matches.

use libsais::suffix_array::AlphabetSize;
use libsais::SuffixArrayConstruction;

use super::marks::Marks;
use super::Keep;
use crate::error::{AnygramError, Result};
use crate::suffix_array::{integer_text, sais_err, threads};
use crate::token::{Token, TokenWidth};

/// Suffix array and PLCP array (`plcp[p]`: longest common prefix of the suffix at `p` and the
/// suffix before it in suffix order) of a whole stream, separators included.
pub enum SaPlcp {
    I32(Vec<i32>, Vec<i32>),
    I64(Vec<i64>, Vec<i64>),
}

impl SaPlcp {
    pub fn len(&self) -> usize {
        match self {
            SaPlcp::I32(sa, _) => sa.len(),
            SaPlcp::I64(sa, _) => sa.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(SA[rank], PLCP[SA[rank]])`.
    #[inline]
    fn at(&self, rank: usize) -> (u64, u64) {
        match self {
            SaPlcp::I32(sa, plcp) => {
                let p = sa[rank] as usize;
                (p as u64, plcp[p] as u64)
            }
            SaPlcp::I64(sa, plcp) => {
                let p = sa[rank] as usize;
                (p as u64, plcp[p] as u64)
            }
        }
    }
}

macro_rules! small_sa_plcp {
    ($text:expr, $buffer:ident, $variant:ident, $workers:expr) => {{
        let sa = SuffixArrayConstruction::for_text($text)
            .$buffer()
            .multi_threaded(threads($workers))
            .run()
            .map_err(sais_err)?;
        let with_plcp = sa
            .plcp_construction()
            .multi_threaded(threads($workers))
            .run()
            .map_err(sais_err)?;
        let (sa, plcp, _) = with_plcp.into_parts();
        SaPlcp::$variant(sa, plcp)
    }};
}

/// The suffix and PLCP arrays of `stream` (real ids `< vocab`), on `workers` threads.
pub fn sa_plcp<T: Token>(stream: &[T], vocab: u64, workers: usize) -> Result<SaPlcp> {
    let large = stream.len() > i32::MAX as usize;
    Ok(match T::WIDTH {
        TokenWidth::U8 => {
            let text = bytemuck::cast_slice::<T, u8>(stream);
            if large {
                small_sa_plcp!(text, in_owned_buffer64, I64, workers)
            } else {
                small_sa_plcp!(text, in_owned_buffer32, I32, workers)
            }
        }
        TokenWidth::U16 => {
            let text = bytemuck::cast_slice::<T, u16>(stream);
            if large {
                small_sa_plcp!(text, in_owned_buffer64, I64, workers)
            } else {
                small_sa_plcp!(text, in_owned_buffer32, I32, workers)
            }
        }
        TokenWidth::U32 => {
            if large {
                // libsais has no PLCP for 64-bit integer texts.
                return Err(AnygramError::Unsupported(
                    "dedup of a shard of more than 2^31 tokens of a u32 tokenizer: lower \
                     --mem-budget so that shards are smaller"
                        .into(),
                ));
            }
            // libsais' integer variant takes symbols in [0, k): the separator becomes k - 1,
            // which keeps it the largest symbol (as in `suffix_array::build`).
            let sep = vocab as i32;
            let mut text = integer_text(stream, sep as u32, |v| v as i32);
            let mut c = SuffixArrayConstruction::for_text_mut(&mut text)
                .in_owned_buffer32()
                .multi_threaded(threads(workers));
            // SAFETY: every symbol is in [0, vocab]: the shard's ids were checked < vocab at
            // build time and `TokenWidth::max_vocab` keeps vocab + 1 within i32.
            unsafe { c = c.with_alphabet_size(AlphabetSize::new(sep + 1)) };
            let sa = c.run().map_err(sais_err)?;
            let with_plcp = sa
                .plcp_construction()
                .multi_threaded(threads(workers))
                .run()
                .map_err(sais_err)?;
            let (sa, plcp, _) = with_plcp.into_parts();
            SaPlcp::I32(sa, plcp)
        }
    })
}

/// Bit `p` set when the `k` tokens from `p` are all real (inside one document).
pub fn valid_windows(doc_starts: &[u64], stream_len: u64, k: u64) -> Marks {
    let valid = Marks::new(stream_len);
    for w in doc_starts.windows(2) {
        let (start, end) = (w[0] + 1, w[1]);
        if end >= start + k {
            for p in start..=end - k {
                valid.set(p);
            }
        }
    }
    valid
}

/// A window repeated inside a shard: where one occurrence starts, how many there are, and how
/// far all of them agree (`len >= k`, clipped at the representative's document end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub count: u64,
    pub pos: u64,
    pub len: u64,
}

/// Marks, in `marks`, every start of a `k`-token window that occurs more than once in the
/// shard: all of them (`Keep::None`) or all but the first by position (`Keep::First`). Returns
/// the `top` largest groups (ties: earlier position first). The ranks are cut into chunks
/// scanned in parallel; a chunk takes the groups that start in it, to their end.
pub fn mark_in_shard(
    arrays: &SaPlcp,
    num_real: usize,
    valid: &Marks,
    k: u64,
    keep: Keep,
    marks: &Marks,
    top: usize,
) -> Vec<Group> {
    use rayon::prelude::*;
    // Small enough that every thread gets work, large enough that the hand-off is amortized;
    // tests reach several chunks with corpora of a few hundred tokens.
    let chunk = (num_real / 256).max(64);
    let linked = |rank: usize| {
        rank < num_real && {
            let (p, lcp) = arrays.at(rank);
            lcp >= k && valid.get(p)
        }
    };
    let mut groups: Vec<Group> = (0..num_real.div_ceil(chunk))
        .into_par_iter()
        .flat_map_iter(|c| {
            let (from, to) = (c * chunk, ((c + 1) * chunk).min(num_real));
            // Skip the tail of a group that started in the chunk before.
            let mut start = from;
            while start < to && start > 0 && linked(start) {
                start += 1;
            }
            scan_groups(arrays, start, to, &linked, keep, marks, top)
        })
        .collect();
    groups.sort_by_key(|g| (std::cmp::Reverse(g.count), g.pos));
    groups.truncate(top);
    groups
}

/// The groups starting at ranks in `[from, to)` (`from` starts one), each followed to its end:
/// marks their members and returns the `top` largest.
fn scan_groups(
    arrays: &SaPlcp,
    from: usize,
    to: usize,
    linked: &impl Fn(usize) -> bool,
    keep: Keep,
    marks: &Marks,
    top: usize,
) -> Vec<Group> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // Min-heap on (count, Reverse(pos)): the weakest kept group on top.
    let mut best: BinaryHeap<Reverse<(u64, Reverse<u64>, u64)>> = BinaryHeap::new();
    let mut start = from;
    while start < to {
        let (mut first, mut min_lcp) = (arrays.at(start).0, u64::MAX);
        let mut end = start + 1;
        while linked(end) {
            let (p, lcp) = arrays.at(end);
            first = first.min(p);
            min_lcp = min_lcp.min(lcp);
            end += 1;
        }
        let count = (end - start) as u64;
        if count >= 2 {
            for r in start..end {
                let p = arrays.at(r).0;
                if keep == Keep::None || p != first {
                    marks.set(p);
                }
            }
            if top > 0 {
                best.push(Reverse((count, Reverse(first), min_lcp)));
                if best.len() > top {
                    best.pop();
                }
            }
        }
        start = end;
    }
    best.into_iter()
        .map(|Reverse((count, Reverse(pos), len))| Group { count, pos, len })
        .collect()
}
