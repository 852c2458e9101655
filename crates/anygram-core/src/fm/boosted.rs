//! Fixed-block compression boosting (Kärkkäinen & Puglisi 2011; Gog, Kärkkäinen, Kempa, Petri,
//! Puglisi 2019): the BWT cut into blocks of `2^block_log` symbols, each with its own
//! Huffman-shaped wavelet tree over the symbols present in it. Local codes follow the BWT's
//! local statistics (its higher-order contexts), so the trees are shorter and smaller than one
//! global tree, and a rank touches one block's few records instead of records spread over the
//! whole sequence at every level. All blocks' node bits are one RRR vector (`rrr.rs`), which
//! also squeezes the runs left inside a block.
//!
//! For alphabets of at most 256 symbols (byte text, small vocabularies). Layout:
//! - superblocks of 64 blocks: per symbol, its rank before the superblock (u64) and a mask of
//!   the blocks it occurs in (u64); a closing row holds the totals. A symbol absent from a block
//!   has the rank it has before the next block that holds it (one `trailing_zeros`).
//! - per block: where its bits start in the RRR vector, the ones before them, and where its
//!   header starts.
//! - a block header (bytes): the present symbols (a 256-bit map), the tree's height, leaves per
//!   depth, occurrences per depth, per present symbol its rank before the block (relative to the
//!   superblock) and canonical index, and per internal node the ones
//!   up to its end (relative to the block).
//!
//! The tree is canonical: at every depth the leaves are left of the internal nodes, and the
//! internal nodes are the rightmost prefixes, so a node's index, its offset in its level and
//! its bits follow from per-depth counts (no node table with offsets).

use super::rrr::{BitBuf, Rrr, RrrParts};
use super::wavelet::huffman_lengths;

/// Blocks per superblock: one u64 mask per symbol.
pub const BLOCKS_PER_SUPER: u64 = 64;
/// u64 words per block record: bits start, ones before, header offset.
pub const BLOCK_WORDS: usize = 3;
/// Largest alphabet of the layout.
pub const MAX_SIGMA: usize = 256;
/// Bytes before the per-depth arrays of a block header: symbol map, sigma - 1, height.
const FIXED_HEADER: usize = 34;
/// Bytes of a block header fetched ahead (a typical header of 2^16 symbols is ~600).
const HEADER_PREFETCH: usize = 640;

/// The stored parts of a boosted sequence.
pub struct BoostedParts {
    pub block_log: u32,
    /// `(superblocks + 1) * sigma` pairs of (rank before, block mask).
    pub supers: Vec<u64>,
    /// `BLOCK_WORDS` per block.
    pub blocks: Vec<u64>,
    pub headers: Vec<u8>,
    pub rrr: RrrParts,
}

/// Number of superblocks of a sequence of `n` symbols.
fn num_supers(n: u64, block_log: u32) -> u64 {
    n.div_ceil(BLOCKS_PER_SUPER << block_log)
}

/// Per-depth counts of a canonical tree, walked from the root.
#[derive(Clone, Copy)]
struct Level {
    /// Internal nodes at this depth.
    internal: u64,
    /// Index (in BFS order over internal nodes) of the first internal node of this depth.
    base: u64,
    /// Bits of this depth's nodes before it in the block's bits.
    start: u64,
    /// Bits of this depth's nodes.
    size: u64,
}

impl Level {
    fn root(n: u64) -> Level {
        Level {
            internal: 1,
            base: 0,
            start: 0,
            size: n,
        }
    }

    /// The next depth, `leaves` and `occurrences` being the leaves at it and their symbols'
    /// occurrences. Wrapping arithmetic: a corrupt header gives garbage, never a panic.
    #[inline]
    fn next(self, leaves: u64, occurrences: u64) -> Level {
        Level {
            internal: (2 * self.internal).wrapping_sub(leaves),
            base: self.base.wrapping_add(self.internal),
            start: self.start.wrapping_add(self.size),
            size: self.size.wrapping_sub(occurrences),
        }
    }

    /// Index of the internal node with prefix `p` at depth `d` (the rightmost `internal`
    /// prefixes).
    #[inline]
    fn node(&self, d: u32, p: u64) -> u64 {
        let first = 1u64.checked_shl(d).unwrap_or(0).wrapping_sub(self.internal);
        self.base.wrapping_add(p.wrapping_sub(first))
    }
}

/// Canonical code (most significant bit first) and length of canonical index `t`, from the
/// leaves per depth (`leaves[d - 1]` at depth `d`).
#[inline]
fn canonical_code(leaves: &[u8], t: u64) -> (u64, u32) {
    let mut code = 0u64;
    let mut idx = 0u64;
    for (d, &l) in leaves.iter().enumerate() {
        let l = l as u64;
        if d >= 63 {
            break;
        }
        if t < idx + l {
            return (code.wrapping_add(t - idx), d as u32 + 1);
        }
        idx += l;
        code = code.wrapping_add(l) << 1;
    }
    // Only on a corrupt header.
    (0, 0)
}

/// One superblock's blocks, encoded on their own: ranks, bit and header offsets are relative to
/// the superblock's start, so superblocks encode in parallel and are joined in order.
struct SuperPart {
    /// Per symbol: occurrences in the superblock, and the mask of its blocks holding it.
    counts: Vec<u64>,
    masks: Vec<u64>,
    blocks: Vec<u64>,
    headers: Vec<u8>,
    bits: BitBuf,
    ones: u64,
}

impl BoostedParts {
    /// Encodes the `n` symbols `symbol(i)` (each `< sigma ≤ MAX_SIGMA`); superblocks in
    /// parallel on rayon's pool.
    pub fn build(
        n: u64,
        sigma: usize,
        block_log: u32,
        symbol: impl Fn(u64) -> u32 + Sync,
    ) -> BoostedParts {
        use rayon::prelude::*;
        debug_assert!((6..=18).contains(&block_log), "24-bit header counts");
        let nsup = num_supers(n, block_log);
        let parts: Vec<SuperPart> = (0..nsup)
            .into_par_iter()
            .map(|sb| Self::encode_super(n, sigma, block_log, sb, &symbol))
            .collect();
        let mut supers = vec![0u64; (nsup as usize + 1) * sigma * 2];
        let nblocks = n.div_ceil(1u64 << block_log);
        let mut blocks = Vec::with_capacity(nblocks as usize * BLOCK_WORDS);
        let mut headers = Vec::with_capacity(parts.iter().map(|p| p.headers.len()).sum());
        let words = parts.iter().map(|p| p.bits.words.len()).sum::<usize>() + 1;
        let mut bits = BitBuf {
            words: Vec::with_capacity(words),
            len: 0,
        };
        let mut ones_total = 0u64;
        let mut rank = vec![0u64; sigma];
        for (sb, part) in parts.into_iter().enumerate() {
            for c in 0..sigma {
                supers[(sb * sigma + c) * 2] = rank[c];
                supers[(sb * sigma + c) * 2 + 1] = part.masks[c];
                rank[c] += part.counts[c];
            }
            for rec in part.blocks.chunks_exact(BLOCK_WORDS) {
                blocks.extend_from_slice(&[
                    bits.len + rec[0],
                    ones_total + rec[1],
                    headers.len() as u64 + rec[2],
                ]);
            }
            headers.extend_from_slice(&part.headers);
            bits.append(&part.bits);
            ones_total += part.ones;
        }
        for (c, &r) in rank.iter().enumerate() {
            supers[(nsup as usize * sigma + c) * 2] = r;
        }
        bits.words.push(0);
        let rrr = RrrParts::build_packed(&bits);
        BoostedParts {
            block_log,
            supers,
            blocks,
            headers,
            rrr,
        }
    }

    /// The blocks of superblock `sb`.
    fn encode_super(
        n: u64,
        sigma: usize,
        block_log: u32,
        sb: u64,
        symbol: &(impl Fn(u64) -> u32 + Sync),
    ) -> SuperPart {
        let bsize = 1u64 << block_log;
        let first = sb * BLOCKS_PER_SUPER;
        let last = ((sb + 1) * BLOCKS_PER_SUPER).min(n.div_ceil(bsize));
        let mut masks = vec![0u64; sigma];
        let mut blocks = Vec::with_capacity((last - first) as usize * BLOCK_WORDS);
        let mut headers = Vec::new();
        let mut bits = BitBuf {
            words: Vec::new(),
            len: 0,
        };
        let mut ones_total = 0u64;
        // Occurrences before the block, from the superblock's start.
        let mut rank = vec![0u64; sigma];
        let mut sym = Vec::with_capacity(bsize as usize);
        for b in first..last {
            let (lo, hi) = (b * bsize, ((b + 1) * bsize).min(n));
            sym.clear();
            sym.extend((lo..hi).map(&symbol));
            let mut counts = [0u64; MAX_SIGMA];
            for &s in &sym {
                counts[s as usize] += 1;
            }
            let present: Vec<usize> = (0..sigma).filter(|&c| counts[c] > 0).collect();
            for &c in &present {
                masks[c] |= 1 << (b % BLOCKS_PER_SUPER);
            }
            let pc: Vec<u64> = present.iter().map(|&c| counts[c]).collect();
            let lengths = huffman_lengths(&pc);
            let height = lengths.iter().copied().max().unwrap_or(0) as usize;
            // Canonical order: by (length, symbol).
            let mut order: Vec<usize> = (0..present.len()).collect();
            order.sort_by_key(|&j| (lengths[j], j));
            let mut canon = vec![0u8; present.len()];
            for (t, &j) in order.iter().enumerate() {
                canon[j] = t as u8;
            }
            let mut leaves = vec![0u8; height];
            let mut occ = vec![0u64; height + 1];
            for (j, &l) in lengths.iter().enumerate() {
                if l > 0 {
                    leaves[l as usize - 1] += 1;
                    occ[l as usize] += pc[j];
                }
            }
            // Local id per symbol, and its code.
            let mut local = [u32::MAX; MAX_SIGMA];
            let mut codes = vec![(0u64, 0u32); present.len()];
            for (j, &c) in present.iter().enumerate() {
                local[c] = j as u32;
                codes[j] = canonical_code(&leaves, canon[j] as u64);
            }
            // Levels and node sizes.
            let mut levels = Vec::with_capacity(height);
            let mut lv = Level::root(hi - lo);
            for d in 0..height {
                levels.push(lv);
                lv = lv.next(leaves[d] as u64, occ[d + 1]);
            }
            let nodes = levels
                .last()
                .map(|l| (l.base + l.internal) as usize)
                .unwrap_or(0);
            let mut node_start = vec![0u64; nodes];
            let mut node_size = vec![0u64; nodes];
            for (j, &(code, len)) in codes.iter().enumerate() {
                for d in 0..len {
                    let k = levels[d as usize].node(d, code >> (len - d)) as usize;
                    node_size[k] += pc[j];
                }
            }
            let mut acc = 0u64;
            for k in 0..nodes {
                node_start[k] = acc;
                acc += node_size[k];
            }
            let block_bits = acc;
            let mut local_bits = BitBuf::zeros(block_bits);
            let mut cursor = node_start.clone();
            let mut node_ones = vec![0u64; nodes];
            for &s in &sym {
                let (code, len) = codes[local[s as usize] as usize];
                for d in 0..len {
                    let k = levels[d as usize].node(d, code >> (len - d)) as usize;
                    if (code >> (len - 1 - d)) & 1 == 1 {
                        local_bits.set(cursor[k]);
                        node_ones[k] += 1;
                    }
                    cursor[k] += 1;
                }
            }
            // Block record and header.
            blocks.extend_from_slice(&[bits.len, ones_total, headers.len() as u64]);
            let mut map = [0u64; 4];
            for &c in &present {
                map[c / 64] |= 1 << (c % 64);
            }
            for w in map {
                headers.extend_from_slice(&w.to_le_bytes());
            }
            headers.push((present.len() - 1) as u8);
            headers.push(height as u8);
            headers.extend_from_slice(&leaves);
            for &o in &occ[1..] {
                headers.extend_from_slice(&u24(o));
            }
            for &c in &present {
                headers.extend_from_slice(&u24(rank[c]));
            }
            headers.extend_from_slice(&canon);
            let mut cum = 0u64;
            for &o in &node_ones {
                cum += o;
                headers.extend_from_slice(&u24(cum));
            }
            // Append the block's bits.
            let mut at = 0;
            while at < block_bits {
                let w = (block_bits - at).min(32) as u32;
                let i = (at / 64) as usize;
                let sh = at % 64;
                let mut v = local_bits.words[i] >> sh;
                if sh + w as u64 > 64 {
                    v |= local_bits.words[i + 1] << (64 - sh);
                }
                bits.push(v & ((1u64 << w) - 1), w);
                at += w as u64;
            }
            ones_total += cum;
            for &s in &sym {
                rank[s as usize] += 1;
            }
        }
        SuperPart {
            counts: rank,
            masks,
            blocks,
            headers,
            bits,
            ones: ones_total,
        }
    }
}

/// A read-only boosted sequence over stored parts.
#[derive(Clone, Copy)]
pub struct Boosted<'a> {
    n: u64,
    sigma: usize,
    block_log: u32,
    supers: &'a [u64],
    blocks: &'a [u64],
    headers: &'a [u8],
    bits: Rrr<'a, true>,
    /// The symbol-map bits of the dense ids `< sigma`: a corrupt header's map is cut to them, so
    /// that every symbol a header yields indexes the alphabet's tables.
    map_mask: [u64; 4],
}

/// A block header, read.
struct Header<'a> {
    map: [u64; 4],
    sigma: usize,
    leaves: &'a [u8],
    occ: &'a [u8],
    ranks: &'a [u8],
    canon: &'a [u8],
    ones: &'a [u8],
}

/// Header counts are 24-bit: ranks within a superblock of at most 64 · 2^18 symbols, and ones
/// of a block of at most 2^18 symbols with codes of at most 26 bits.
fn u24(v: u64) -> [u8; 3] {
    debug_assert!(v < 1 << 24);
    let b = v.to_le_bytes();
    [b[0], b[1], b[2]]
}

/// The `i`-th 24-bit value of `bytes` (0 past the end).
#[inline]
fn u24_at(bytes: &[u8], i: usize) -> u64 {
    let at = i.saturating_mul(3);
    match bytes.get(at..at.saturating_add(3)) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], 0]) as u64,
        None => 0,
    }
}

impl Header<'_> {
    /// Local index of dense symbol `c` (`None` if absent).
    #[inline]
    fn local(&self, c: u32) -> Option<usize> {
        let (w, b) = ((c / 64) as usize, c % 64);
        let word = *self.map.get(w)?;
        if (word >> b) & 1 == 0 {
            return None;
        }
        let below: u32 = self.map[..w].iter().map(|x| x.count_ones()).sum();
        Some((below + (word & ((1u64 << b) - 1)).count_ones()) as usize)
    }

    /// Dense symbol of local index `j`.
    fn symbol(&self, j: usize) -> u32 {
        let mut j = j as u32;
        for (w, &word) in self.map.iter().enumerate() {
            let k = word.count_ones();
            if j < k {
                let mut x = word;
                for _ in 0..j {
                    x &= x - 1;
                }
                return w as u32 * 64 + x.trailing_zeros();
            }
            j -= k;
        }
        0
    }

    /// Ones of the internal nodes before node `k` (relative to the block).
    #[inline]
    fn ones_before(&self, k: u64) -> u64 {
        if k == 0 {
            0
        } else {
            u24_at(self.ones, k as usize - 1)
        }
    }
}

/// Where a walk down a block's tree stands.
struct Walk {
    lv: Level,
    /// Offset of the node in its depth, its size and its index.
    off: u64,
    size: u64,
    node: u64,
}

impl<'a> Boosted<'a> {
    /// `None` when the parts do not fit a sequence of `n` symbols over `sigma`.
    pub fn new(
        n: u64,
        sigma: usize,
        block_log: u32,
        supers: &'a [u64],
        blocks: &'a [u64],
        headers: &'a [u8],
        bits: Rrr<'a, true>,
    ) -> Option<Boosted<'a>> {
        if !(1..=MAX_SIGMA).contains(&sigma) || !(6..=18).contains(&block_log) {
            return None;
        }
        let nsup = num_supers(n, block_log);
        let nblocks = n.div_ceil(1 << block_log);
        if supers.len() as u64 != (nsup + 1) * sigma as u64 * 2
            || blocks.len() as u64 != nblocks * BLOCK_WORDS as u64
        {
            return None;
        }
        let mut map_mask = [0u64; 4];
        for (w, m) in map_mask.iter_mut().enumerate() {
            let below = sigma.saturating_sub(64 * w).min(64);
            *m = if below == 64 { !0 } else { (1u64 << below) - 1 };
        }
        Some(Boosted {
            n,
            sigma,
            block_log,
            supers,
            blocks,
            headers,
            bits,
            map_mask,
        })
    }

    #[inline]
    fn super_entry(&self, sb: u64, c: u32) -> (u64, u64) {
        let at = (sb as usize * self.sigma + c as usize) * 2;
        match self.supers.get(at..at + 2) {
            Some(e) => (e[0], e[1]),
            None => (0, 0),
        }
    }

    #[inline]
    fn block_record(&self, b: u64) -> (u64, u64, usize) {
        let at = b as usize * BLOCK_WORDS;
        match self.blocks.get(at..at + BLOCK_WORDS) {
            Some(r) => (r[0], r[1], r[2] as usize),
            None => (0, 0, usize::MAX),
        }
    }

    fn header(&self, at: usize) -> Option<Header<'a>> {
        let h = self.headers.get(at..)?;
        // The fields a rank reads are spread over the header's first few hundred bytes: ask
        // for all its lines at once rather than missing on one after another.
        for line in (64..HEADER_PREFETCH.min(h.len())).step_by(64) {
            crate::prefetch::prefetch_read(h.as_ptr().wrapping_add(line));
        }
        let fixed = h.get(..FIXED_HEADER)?;
        let mut map = [0u64; 4];
        for (w, m) in map.iter_mut().enumerate() {
            *m = u64::from_le_bytes(fixed[8 * w..8 * w + 8].try_into().ok()?) & self.map_mask[w];
        }
        let sigma = fixed[32] as usize + 1;
        let height = fixed[33] as usize;
        let mut at = FIXED_HEADER;
        let mut take = |len: usize| -> Option<&'a [u8]> {
            let s = h.get(at..at + len)?;
            at += len;
            Some(s)
        };
        Some(Header {
            map,
            sigma,
            leaves: take(height)?,
            occ: take(3 * height)?,
            ranks: take(3 * sigma)?,
            canon: take(sigma)?,
            ones: take(3 * sigma.saturating_sub(1))?,
        })
    }

    /// Occurrences of `c` before block `b` (which does not hold it, or does).
    #[inline]
    fn rank_before_block(&self, c: u32, b: u64) -> (u64, Option<(Header<'a>, usize)>) {
        let sb = b / BLOCKS_PER_SUPER;
        // The block record does not depend on the superblock entry: fetch both at once.
        self.prefetch_record(b);
        let (base, mask) = self.super_entry(sb, c);
        let bit = b % BLOCKS_PER_SUPER;
        let later = mask >> bit;
        if later == 0 {
            // Absent from the rest of the superblock: the next superblock's rank.
            return (self.super_entry(sb + 1, c).0, None);
        }
        let holder = b + later.trailing_zeros() as u64;
        let Some(h) = self.header(self.block_record(holder).2) else {
            return (base, None);
        };
        let Some(j) = h.local(c) else {
            return (base, None);
        };
        let r = base.wrapping_add(u24_at(h.ranks, j));
        if holder == b {
            (r, Some((h, j)))
        } else {
            (r, None)
        }
    }

    /// The root-to-leaf walk of local symbol `j` in block `b` for positions `i ≤ i2` of the
    /// block: the occurrences of the symbol before each.
    #[inline]
    fn walk_rank(&self, b: u64, h: &Header, j: usize, mut i: u64, mut i2: u64) -> (u64, u64) {
        if h.sigma == 1 {
            return (i, i2);
        }
        let (bits_start, ones_start, _) = self.block_record(b);
        let (code, len) = canonical_code(h.leaves, h.canon.get(j).copied().unwrap_or(0) as u64);
        let bsize = self.block_len(b);
        let mut w = Walk {
            lv: Level::root(bsize),
            off: 0,
            size: bsize,
            node: 0,
        };
        for d in 0..len {
            let bit = (code >> (len - 1 - d)) & 1;
            let at = bits_start.wrapping_add(w.lv.start).wrapping_add(w.off);
            let before = ones_start.wrapping_add(h.ones_before(w.node));
            let node_ones = u24_at(h.ones, w.node as usize).wrapping_sub(h.ones_before(w.node));
            let (r, r2) = if i == i2 {
                let r = self.bits.rank1(at.wrapping_add(i));
                (r, r)
            } else {
                self.bits
                    .rank1_pair(at.wrapping_add(i), at.wrapping_add(i2))
            };
            let (r, r2) = (r.wrapping_sub(before), r2.wrapping_sub(before));
            let occ = u24_at(h.occ, d as usize);
            let leaves = h.leaves.get(d as usize).copied().unwrap_or(0) as u64;
            if bit == 1 {
                (i, i2) = (r, r2);
                w.off = w
                    .off
                    .wrapping_add(w.size.wrapping_sub(node_ones))
                    .wrapping_sub(occ);
                w.size = node_ones;
            } else {
                (i, i2) = (i.wrapping_sub(r), i2.wrapping_sub(r2));
                w.off = w.off.wrapping_sub(occ);
                w.size = w.size.wrapping_sub(node_ones);
            }
            w.lv = w.lv.next(leaves, occ);
            w.node = w.lv.node(d + 1, code >> (len - 1 - d));
        }
        (i, i2)
    }

    #[inline]
    fn block_len(&self, b: u64) -> u64 {
        let bsize = 1u64 << self.block_log;
        self.n.saturating_sub(b * bsize).min(bsize)
    }

    /// Occurrences of `c` in `[0, i)`.
    #[inline]
    pub fn rank(&self, c: u32, i: u64) -> u64 {
        self.rank_pair(c, i, i).0
    }

    /// Occurrences of `c` in `[0, i)` and `[0, j)`, `i ≤ j`: one walk when both fall in a block.
    #[inline]
    pub fn rank_pair(&self, c: u32, i: u64, j: u64) -> (u64, u64) {
        if c as usize >= self.sigma {
            return (0, 0);
        }
        let (i, j) = (i.min(self.n), j.min(self.n));
        let (bi, bj) = (i >> self.block_log, j >> self.block_log);
        let mask = (1u64 << self.block_log) - 1;
        if bi == bj && i <= j {
            if i == self.n {
                let r = self.super_entry(num_supers(self.n, self.block_log), c).0;
                return (r, r);
            }
            let (r0, here) = self.rank_before_block(c, bi);
            return match here {
                Some((h, l)) => {
                    let (a, b) = self.walk_rank(bi, &h, l, i & mask, j & mask);
                    (r0.wrapping_add(a), r0.wrapping_add(b))
                }
                None => (r0, r0),
            };
        }
        // Two blocks (the wide ranges of a search's first steps): start fetching the second
        // walk's superblock entry and block record before the first walk.
        if j < self.n {
            let at = ((bj / BLOCKS_PER_SUPER) as usize * self.sigma + c as usize) * 2;
            if at < self.supers.len() {
                crate::prefetch::prefetch_read(self.supers.as_ptr().wrapping_add(at));
            }
            self.prefetch_record(bj);
        }
        (self.rank_one(c, i), self.rank_one(c, j))
    }

    #[inline]
    fn prefetch_record(&self, b: u64) {
        let rec = b as usize * BLOCK_WORDS;
        if rec < self.blocks.len() {
            crate::prefetch::prefetch_read(self.blocks.as_ptr().wrapping_add(rec));
        }
    }

    #[inline]
    fn rank_one(&self, c: u32, i: u64) -> u64 {
        if i >= self.n {
            return self.super_entry(num_supers(self.n, self.block_log), c).0;
        }
        let b = i >> self.block_log;
        let (r0, here) = self.rank_before_block(c, b);
        match here {
            Some((h, l)) => {
                let m = i & ((1u64 << self.block_log) - 1);
                r0.wrapping_add(self.walk_rank(b, &h, l, m, m).0)
            }
            None => r0,
        }
    }

    /// The symbol at `i < n` and its occurrences in `[0, i)`.
    #[inline]
    pub fn access_rank(&self, i: u64) -> (u32, u64) {
        let i = i.min(self.n.saturating_sub(1));
        let b = i >> self.block_log;
        let (bits_start, ones_start, at) = self.block_record(b);
        let Some(h) = self.header(at) else {
            return (0, 0);
        };
        let mut i = i & ((1u64 << self.block_log) - 1);
        let bsize = self.block_len(b);
        let mut w = Walk {
            lv: Level::root(bsize),
            off: 0,
            size: bsize,
            node: 0,
        };
        let mut p = 0u64;
        let mut d = 0u32;
        // Leaves before the current depth (canonical indices of shorter codes).
        let mut shorter = 0u64;
        let height = h.leaves.len() as u32;
        let t = loop {
            if h.sigma == 1 || d >= height.min(63) {
                break 0;
            }
            let pos = bits_start
                .wrapping_add(w.lv.start)
                .wrapping_add(w.off)
                .wrapping_add(i);
            let before = ones_start.wrapping_add(h.ones_before(w.node));
            let node_ones = u24_at(h.ones, w.node as usize).wrapping_sub(h.ones_before(w.node));
            let (bit, r) = self.bits.access_rank1(pos);
            let r = r.wrapping_sub(before);
            let occ = u24_at(h.occ, d as usize);
            let leaves = h.leaves.get(d as usize).copied().unwrap_or(0) as u64;
            if bit {
                i = r;
                w.off = w
                    .off
                    .wrapping_add(w.size.wrapping_sub(node_ones))
                    .wrapping_sub(occ);
                w.size = node_ones;
            } else {
                i = i.wrapping_sub(r);
                w.off = w.off.wrapping_sub(occ);
                w.size = w.size.wrapping_sub(node_ones);
            }
            p = (p << 1) | bit as u64;
            let next = w.lv.next(leaves, occ);
            d += 1;
            // Nodes at depth d: `leaves` leaves, then `next.internal` internal nodes, ending
            // at prefix 2^d - 1.
            let first_internal = (1u64 << d).wrapping_sub(next.internal);
            if p < first_internal {
                break shorter + p.wrapping_sub(first_internal.wrapping_sub(leaves));
            }
            shorter += leaves;
            w.lv = next;
            w.node = next.node(d, p);
        };
        // The local symbol of canonical index t (a short scan: no inverse table stored).
        let j = h.canon.iter().position(|&x| x as u64 == t).unwrap_or(0);
        let c = h.symbol(j);
        let (base, _) = self.super_entry(b / BLOCKS_PER_SUPER, c);
        (c, base.wrapping_add(u24_at(h.ranks, j)).wrapping_add(i))
    }

    /// Symbols of block `b`'s header, or of the whole alphabet when `lo..hi` spans blocks.
    fn candidates(&self, lo: u64, hi: u64) -> Vec<u32> {
        if lo >> self.block_log == (hi - 1) >> self.block_log {
            if let Some(h) = self.header(self.block_record(lo >> self.block_log).2) {
                return (0..h.sigma).map(|j| h.symbol(j)).collect();
            }
        }
        (0..self.sigma as u32).collect()
    }

    /// Every symbol occurring in `[lo, hi)` with its count, ascending.
    pub fn distinct(&self, lo: u64, hi: u64, out: &mut Vec<(u32, u64)>) {
        let hi = hi.min(self.n);
        if lo >= hi {
            return;
        }
        if hi - lo <= 16 {
            let mut seen: Vec<(u32, u64)> = Vec::new();
            for i in lo..hi {
                let c = self.access_rank(i).0;
                match seen.iter_mut().find(|e| e.0 == c) {
                    Some(e) => e.1 += 1,
                    None => seen.push((c, 1)),
                }
            }
            seen.sort_unstable();
            out.extend(seen);
            return;
        }
        for c in self.candidates(lo, hi) {
            let (a, b) = self.rank_pair(c, lo, hi);
            if b > a {
                out.push((c, b - a));
            }
        }
    }

    /// The smallest (or, with `largest`, the largest) symbol occurring in `[lo, hi)`.
    pub fn range_extreme(&self, lo: u64, hi: u64, largest: bool) -> Option<u32> {
        let hi = hi.min(self.n);
        if lo >= hi {
            return None;
        }
        let mut cands = self.candidates(lo, hi);
        if largest {
            cands.reverse();
        }
        cands.into_iter().find(|&c| {
            let (a, b) = self.rank_pair(c, lo, hi);
            b > a
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(seq: &[u32], sigma: usize, block_log: u32) -> Result<(), TestCaseError> {
        let p = BoostedParts::build(seq.len() as u64, sigma, block_log, |i| seq[i as usize]);
        let rrr = Rrr::new_packed(p.rrr.len, &p.rrr.records, &p.rrr.offsets).unwrap();
        let b = Boosted::new(
            seq.len() as u64,
            sigma,
            block_log,
            &p.supers,
            &p.blocks,
            &p.headers,
            rrr,
        )
        .unwrap();
        let mut before = vec![0u64; sigma];
        let mut prefix = vec![before.clone()];
        for (i, &s) in seq.iter().enumerate() {
            prop_assert_eq!(
                b.access_rank(i as u64),
                (s, before[s as usize]),
                "access {}",
                i
            );
            before[s as usize] += 1;
            prefix.push(before.clone());
        }
        let n = seq.len();
        let step = (n / 97).max(1);
        for i in (0..=n).step_by(step).chain([n]) {
            for c in 0..sigma as u32 {
                prop_assert_eq!(
                    b.rank(c, i as u64),
                    prefix[i][c as usize],
                    "rank {} {}",
                    c,
                    i
                );
            }
            for j in [i, i + 1, i + 7, i + (1 << block_log), n]
                .into_iter()
                .filter(|&j| j <= n)
            {
                for c in 0..sigma as u32 {
                    prop_assert_eq!(
                        b.rank_pair(c, i as u64, j as u64),
                        (prefix[i][c as usize], prefix[j][c as usize])
                    );
                }
                let want: Vec<(u32, u64)> = (0..sigma as u32)
                    .map(|c| (c, prefix[j][c as usize] - prefix[i][c as usize]))
                    .filter(|e| e.1 > 0)
                    .collect();
                let mut got = Vec::new();
                b.distinct(i as u64, j as u64, &mut got);
                got.sort_unstable();
                prop_assert_eq!(&got, &want);
                prop_assert_eq!(
                    b.range_extreme(i as u64, j as u64, false),
                    want.first().map(|e| e.0)
                );
                prop_assert_eq!(
                    b.range_extreme(i as u64, j as u64, true),
                    want.last().map(|e| e.0)
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        // Up to 12,000 symbols: several superblocks (64 blocks of 2^6..2^8), encoded in parallel.
        #[test]
        fn rank_access_match_a_scan(
            seq in proptest::collection::vec(0u32..256, 1..12000),
            sigma_cap in prop_oneof![Just(2u32), Just(5), Just(40), Just(256)],
            runs in 0usize..4,
            block_log in 6u32..9,
        ) {
            // Small alphabets, skewed ones (long codes) and runs of one symbol.
            let seq: Vec<u32> = seq
                .iter()
                .enumerate()
                .map(|(i, &s)| {
                    let s = s % sigma_cap;
                    match runs {
                        1 => if (i / 300) % 2 == 0 { 0 } else { s },
                        2 => if s > sigma_cap / 2 { s } else { (s * s) % 3 },
                        _ => s,
                    }
                })
                .collect();
            let sigma = *seq.iter().max().unwrap() as usize + 1;
            check(&seq, sigma, block_log)?;
        }
    }

    #[test]
    fn block_boundary_lengths_and_one_symbol() {
        for n in [1usize, 63, 64, 65, 64 * 64, 64 * 64 + 1, 64 * 65 - 1] {
            let seq: Vec<u32> = (0..n).map(|i| ((i * 7919) % 13 % 3) as u32).collect();
            check(&seq, 3, 6).unwrap();
            check(&vec![0; n], 1, 6).unwrap();
            // A symbol only in the last block, and absent from whole superblocks.
            let mut seq = vec![1u32; n];
            seq[n - 1] = 2;
            check(&seq, 3, 6).unwrap();
        }
        // Every byte, Fibonacci-skewed counts (long codes).
        let mut seq = Vec::new();
        let (mut a, mut b) = (1usize, 1usize);
        for s in 0..20u32 {
            seq.extend(std::iter::repeat(s).take(a));
            (a, b) = (b, a + b);
        }
        seq.extend(20..256u32);
        check(&seq, 256, 10).unwrap();
    }
}
