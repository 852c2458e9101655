//! The BWT's rank structure and its sections of `fm.bwt`: fixed-block boosted trees
//! (`boosted.rs`) for alphabets of at most 256 symbols, one global Huffman-shaped wavelet tree
//! (`wavelet.rs`) for wider ones, both over RRR bits (`rrr.rs`).
//!
//! Why two: a boosted rank needs every symbol's rank at every superblock and a local alphabet
//! per block; with token ids (tens of thousands of symbols) those tables would cost more than the
//! boosting saves, while one global tree's size stays linear in the alphabet.
//!
//! `fm.bwt` sections: header (`n`, `primary`, RRR bits, layout, block log), alphabet (u32),
//! symbol counts (u64), code lengths of the global tree (u8; empty when boosted), RRR records,
//! RRR offsets, superblocks, block records, block headers (the last three empty for the global
//! tree). Files of the first FM format (six sections, a three-word header) are global trees.

use super::boosted::{Boosted, BoostedParts, MAX_SIGMA};
use super::rrr::{Rrr, RrrParts};
use super::sections::SectionWriter;
use super::wavelet::{huffman_lengths, Shape};
use crate::error::{AnygramError, Result};

pub const SEC_HEADER: usize = 0;
pub const SEC_SYMBOLS: usize = 1;
pub const SEC_COUNTS: usize = 2;
pub const SEC_LENGTHS: usize = 3;
pub const SEC_RECORDS: usize = 4;
pub const SEC_OFFSETS: usize = 5;
pub const SEC_SUPERS: usize = 6;
pub const SEC_BLOCKS: usize = 7;
pub const SEC_HEADERS: usize = 8;
pub const SECTIONS: usize = 9;
/// Sections of the first FM format.
pub const SECTIONS_V1: usize = 6;

const LAYOUT_TREE: u64 = 0;
/// 1, 2 and 3 were earlier boosted layouts (32-bit header counts and an inverse table; RRR
/// records with 64-bit samples; records of 74 classes with 32-bit samples); never read.
const LAYOUT_BOOSTED: u64 = 4;

/// Symbols per block of the boosted layout: 2^17 (see `benchmarks/RESULTS.md`, "Issue 12 —
/// compression boosting" and "Issue 12 — the size target": smaller blocks compress the bits
/// better but pay more header; 2^17 is 0.16 MB smaller than 2^16 on the shared corpus, which
/// the 0.35× size target needed, for the same 10- and 100-byte counts and ~15% slower absent
/// ones). The header names it, so files of either size read.
pub const BLOCK_LOG: u32 = 17;

/// The stored rank structure's shape, as opened.
pub enum Layout {
    Tree(Shape),
    Boosted { block_log: u32 },
}

/// Encodes the BWT `symbol(r)` (dense ids, `r < n`; `counts` per id) into the sections of
/// `fm.bwt`, after the header fields `n` and `primary`.
pub fn encode(
    n: u64,
    primary: u64,
    symbols: &[u32],
    counts: &[u64],
    block_log: u32,
    symbol: impl Fn(u64) -> u32 + Sync,
) -> Result<Vec<u8>> {
    let mut w = SectionWriter::default();
    if counts.len() <= MAX_SIGMA {
        let p = BoostedParts::build(n, counts.len(), block_log, symbol);
        w.push_u64s(&[n, primary, p.rrr.len, LAYOUT_BOOSTED, block_log as u64]);
        w.push(bytemuck::cast_slice(symbols).to_vec());
        w.push_u64s(counts);
        w.push(Vec::new());
        w.push_u64s(&p.rrr.records);
        w.push_u64s(&p.rrr.offsets);
        w.push_u64s(&p.supers);
        w.push_u64s(&p.blocks);
        w.push(p.headers);
    } else {
        let lengths = huffman_lengths(counts);
        let shape = Shape::new(&lengths, counts).ok_or_else(|| {
            AnygramError::InvalidArgument(
                "symbol counts too skewed for a 63-bit Huffman code".into(),
            )
        })?;
        let bits = shape.fill(n, symbol);
        let rrr = RrrParts::build(&bits);
        drop(bits);
        w.push_u64s(&[n, primary, rrr.len, LAYOUT_TREE, 0]);
        w.push(bytemuck::cast_slice(symbols).to_vec());
        w.push_u64s(counts);
        w.push(lengths);
        w.push_u64s(&rrr.records);
        w.push_u64s(&rrr.offsets);
        for _ in 0..3 {
            w.push(Vec::new());
        }
    }
    Ok(w.finish())
}

/// The layout named by a header's trailing words (`[]` for the first format), checked
/// against the code lengths and counts; the reason (for a `CorruptIndex` detail) if they do not
/// fit. A layout number this version does not read (an earlier boosted layout, or a later one)
/// is named as such, so that the error says to rebuild rather than only "corrupt".
pub fn layout(
    rest: &[u64],
    lengths: &[u8],
    counts: &[u64],
    rrr_len: u64,
) -> std::result::Result<Layout, String> {
    let bad = || "bad rank structure layout".to_string();
    match rest {
        [] | [LAYOUT_TREE, 0] => Shape::new(lengths, counts)
            .filter(|s| s.total_bits() == rrr_len)
            .map(Layout::Tree)
            .ok_or_else(bad),
        [LAYOUT_BOOSTED, b] if lengths.is_empty() && counts.len() <= MAX_SIGMA => {
            Ok(Layout::Boosted {
                block_log: u32::try_from(*b).map_err(|_| bad())?,
            })
        }
        [k @ 1..=15, _] if *k != LAYOUT_BOOSTED => Err(format!(
            "rank structure layout {k} is not read by this version (it reads {LAYOUT_TREE} and \
             {LAYOUT_BOOSTED}); rebuild the index"
        )),
        _ => Err(bad()),
    }
}

/// The rank structure's view for one query.
pub enum Ranks<'a> {
    Tree(&'a Shape, Rrr<'a>),
    Boosted(Boosted<'a>),
}

impl Ranks<'_> {
    /// Occurrences of `s` in `[0, i)` and `[0, j)`, `i ≤ j`.
    #[inline]
    pub fn rank_pair(&self, s: u32, i: u64, j: u64) -> (u64, u64) {
        match self {
            Ranks::Tree(shape, bits) => shape.rank_pair(bits, s, i, j),
            Ranks::Boosted(b) => b.rank_pair(s, i, j),
        }
    }

    /// The symbol at `i` and its occurrences in `[0, i)`.
    #[inline]
    pub fn access_rank(&self, i: u64) -> (u32, u64) {
        match self {
            Ranks::Tree(shape, bits) => shape.access_rank(bits, i),
            Ranks::Boosted(b) => b.access_rank(i),
        }
    }

    /// Every symbol occurring in `[lo, hi)` with its count.
    pub fn distinct(&self, lo: u64, hi: u64, out: &mut Vec<(u32, u64)>) {
        match self {
            Ranks::Tree(shape, bits) => shape.distinct(bits, lo, hi, out),
            Ranks::Boosted(b) => b.distinct(lo, hi, out),
        }
    }

    /// The smallest (or largest) symbol occurring in `[lo, hi)`.
    pub fn range_extreme(&self, lo: u64, hi: u64, largest: bool) -> Option<u32> {
        match self {
            Ranks::Tree(shape, bits) => shape.range_extreme(bits, lo, hi, largest),
            Ranks::Boosted(b) => b.range_extreme(lo, hi, largest),
        }
    }
}
