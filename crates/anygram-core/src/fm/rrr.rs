//! An RRR-compressed bit vector (Raman, Raman, Rao 2002) with 63-bit blocks: each block is
//! stored as its class (number of ones, 6 bits) and its offset (the block's index among all
//! blocks of that class, `ceil(log2 C(63, class))` bits), so mostly-0 or mostly-1 stretches cost
//! little. Over the nodes of a Huffman-shaped wavelet tree this makes the BWT's size track its
//! higher-order entropy (Mäkinen & Navarro's implicit compression boosting).
//!
//! Every `SUPER` blocks a sample stores the rank before it and where its offsets start; a rank
//! sums the classes and offset widths of at most `SUPER - 1` blocks after the sample, then
//! decodes one block. 63-bit blocks keep every binomial coefficient in a u64.

use crate::packed::{self, PackedSlice};

/// Bits per block.
pub const BLOCK: u64 = 63;
/// Blocks per rank sample.
pub const SUPER: u64 = 32;
/// Bits of a stored class (0..=63).
pub const CLASS_BITS: u32 = 6;

/// `BINOM[n][k]` = C(n, k) for n, k ≤ 63.
static BINOM: [[u64; 64]; 64] = binomials();

const fn binomials() -> [[u64; 64]; 64] {
    let mut t = [[0u64; 64]; 64];
    let mut n = 0;
    while n < 64 {
        t[n][0] = 1;
        let mut k = 1;
        while k <= n {
            t[n][k] = t[n - 1][k - 1] + if k < n { t[n - 1][k] } else { 0 };
            k += 1;
        }
        n += 1;
    }
    t
}

/// Offset bits of a block of each class.
static WIDTH: [u8; 64] = widths();

const fn widths() -> [u8; 64] {
    let mut w = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        let c = BINOM[63][k];
        // ceil(log2 c): bits to write any value in 0..c.
        w[k] = if c <= 1 {
            0
        } else {
            (64 - (c - 1).leading_zeros()) as u8
        };
        k += 1;
    }
    w
}

/// The rank of a 63-bit block among the blocks with as many ones (combinatorial number system).
fn encode(block: u64) -> u64 {
    let mut rest = block;
    let mut offset = 0;
    let mut j = 1;
    while rest != 0 {
        let p = rest.trailing_zeros() as usize;
        offset += BINOM[p][j];
        j += 1;
        rest &= rest - 1;
    }
    offset
}

/// The block of class `k` with this offset. A corrupt offset gives some block, never a panic.
#[inline]
fn decode(mut offset: u64, mut k: usize) -> u64 {
    if k >= BLOCK as usize {
        return (1u64 << BLOCK) - 1;
    }
    let mut block = 0u64;
    let mut p = BLOCK as usize;
    while k > 0 && p > 0 {
        p -= 1;
        if p + 1 == k {
            // Every remaining position is a one.
            block |= (1u64 << k) - 1;
            break;
        }
        let c = BINOM[p][k];
        if offset >= c {
            block |= 1u64 << p;
            offset -= c;
            k -= 1;
        }
    }
    block
}

/// Reads `w` (≤ 63) bits at bit `pos` of a little-endian word stream; 0 past the end.
#[inline]
fn read_bits(words: &[u64], pos: u64, w: u32) -> u64 {
    if w == 0 {
        return 0;
    }
    let i = (pos / 64) as usize;
    let sh = (pos % 64) as u32;
    let lo = words.get(i).copied().unwrap_or(0) >> sh;
    let v = if sh + w > 64 {
        lo | (words.get(i + 1).copied().unwrap_or(0) << (64 - sh))
    } else {
        lo
    };
    v & ((1u64 << w) - 1)
}

/// The stored parts of an RRR vector.
pub struct RrrParts {
    pub len: u64,
    /// One class per block, `CLASS_BITS` bits each (packed).
    pub classes: Vec<u8>,
    /// Rank before each sample, `rank_bits` each (packed).
    pub ranks: Vec<u8>,
    pub rank_bits: u32,
    /// Offset-stream position of each sample, `ptr_bits` each (packed).
    pub ptrs: Vec<u8>,
    pub ptr_bits: u32,
    /// The offsets, concatenated.
    pub offsets: Vec<u64>,
}

/// A plain bit vector being filled (LSB-first in u64 words).
pub struct BitBuf {
    pub words: Vec<u64>,
    pub len: u64,
}

impl BitBuf {
    pub fn zeros(len: u64) -> BitBuf {
        BitBuf {
            words: vec![0; len.div_ceil(64) as usize + 1],
            len,
        }
    }

    #[inline]
    pub fn set(&mut self, i: u64) {
        self.words[(i / 64) as usize] |= 1u64 << (i % 64);
    }

    fn block(&self, b: u64) -> u64 {
        read_bits(&self.words, b * BLOCK, BLOCK as u32)
    }
}

impl RrrParts {
    pub fn build(bits: &BitBuf) -> RrrParts {
        let num_blocks = bits.len.div_ceil(BLOCK);
        let mut classes = Vec::with_capacity(num_blocks as usize);
        let mut ranks = Vec::with_capacity((num_blocks / SUPER + 1) as usize);
        let mut ptrs = Vec::with_capacity(ranks.capacity());
        let mut offsets = BitBuf {
            words: Vec::with_capacity((bits.len / 128) as usize),
            len: 0,
        };
        let mut rank = 0u64;
        for b in 0..num_blocks {
            if b % SUPER == 0 {
                ranks.push(rank);
                ptrs.push(offsets.len);
            }
            let block = bits.block(b);
            let k = block.count_ones() as usize;
            classes.push(k as u8);
            rank += k as u64;
            push_bits(&mut offsets, encode(block), WIDTH[k] as u32);
        }
        if num_blocks % SUPER == 0 {
            ranks.push(rank);
            ptrs.push(offsets.len);
        }
        let rank_bits = packed::bits_for(rank);
        let ptr_bits = packed::bits_for(offsets.len);
        offsets.words.push(0);
        RrrParts {
            len: bits.len,
            classes: packed::pack(&classes, CLASS_BITS, |c| c as u64),
            ranks: packed::pack(&ranks, rank_bits, |r| r),
            rank_bits,
            ptrs: packed::pack(&ptrs, ptr_bits, |p| p),
            ptr_bits,
            offsets: offsets.words,
        }
    }

    /// Rank samples of a vector of `len` bits.
    pub fn num_samples(len: u64) -> u64 {
        len.div_ceil(BLOCK) / SUPER + 1
    }
}

fn push_bits(buf: &mut BitBuf, v: u64, w: u32) {
    if w == 0 {
        return;
    }
    let sh = (buf.len % 64) as u32;
    if sh == 0 {
        buf.words.push(v);
    } else {
        if let Some(last) = buf.words.last_mut() {
            *last |= v << sh;
        }
        if sh + w > 64 {
            buf.words.push(v >> (64 - sh));
        }
    }
    buf.len += w as u64;
}

/// A read-only RRR vector over stored parts.
#[derive(Clone, Copy)]
pub struct Rrr<'a> {
    len: u64,
    classes: PackedSlice<'a>,
    ranks: PackedSlice<'a>,
    ptrs: PackedSlice<'a>,
    offsets: &'a [u64],
}

impl<'a> Rrr<'a> {
    /// `None` when the arrays are too short for `len` bits.
    pub fn new(
        len: u64,
        classes: &'a [u8],
        ranks: &'a [u8],
        rank_bits: u32,
        ptrs: &'a [u8],
        ptr_bits: u32,
        offsets: &'a [u64],
    ) -> Option<Rrr<'a>> {
        let samples = RrrParts::num_samples(len);
        Some(Rrr {
            len,
            classes: PackedSlice::new(classes, CLASS_BITS, len.div_ceil(BLOCK))?,
            ranks: PackedSlice::new(ranks, rank_bits, samples)?,
            ptrs: PackedSlice::new(ptrs, ptr_bits, samples)?,
            offsets,
        })
    }

    /// Walks from the sample before block `blk` to it: (ones before the block, its offset
    /// position).
    #[inline]
    fn walk_to_block(&self, blk: u64) -> (u64, u64) {
        let sb = blk / SUPER;
        let mut rank = self.ranks.get(sb);
        let mut pos = self.ptrs.get(sb);
        for b in sb * SUPER..blk {
            let k = (self.classes.get(b) & 63) as usize;
            rank = rank.wrapping_add(k as u64);
            pos = pos.wrapping_add(WIDTH[k] as u64);
        }
        (rank, pos)
    }

    #[inline]
    fn block_bits(&self, blk: u64, pos: u64) -> u64 {
        let k = (self.classes.get(blk) & 63) as usize;
        decode(read_bits(self.offsets, pos, WIDTH[k] as u32), k)
    }

    /// Ones in `[0, i)`, `i ≤ len` (larger `i`, only seen on a corrupt index, count as `len`).
    #[inline]
    pub fn rank1(&self, i: u64) -> u64 {
        let i = i.min(self.len);
        let blk = i / BLOCK;
        let rem = i % BLOCK;
        let (rank, pos) = self.walk_to_block(blk);
        if rem == 0 {
            return rank;
        }
        let bits = self.block_bits(blk, pos);
        rank.wrapping_add((bits & ((1u64 << rem) - 1)).count_ones() as u64)
    }

    /// The bit at `i < len` and the ones before it, with one block decode (`i` is clamped, as
    /// in `rank1`).
    #[inline]
    pub fn access_rank1(&self, i: u64) -> (bool, u64) {
        let i = i.min(self.len.saturating_sub(1));
        let blk = i / BLOCK;
        let rem = i % BLOCK;
        let (rank, pos) = self.walk_to_block(blk);
        let bits = self.block_bits(blk, pos);
        let before = (bits & ((1u64 << rem) - 1)).count_ones() as u64;
        ((bits >> rem) & 1 == 1, rank.wrapping_add(before))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_block_of_a_class_round_trips() {
        for block in [
            0u64,
            1,
            1 << 62,
            (1 << 63) - 1,
            0x5555_5555_5555_5555 >> 1,
            12345,
        ] {
            let k = block.count_ones() as usize;
            let off = encode(block);
            assert!(off < BINOM[63][k] || (k == 63 && off == 0));
            assert!(WIDTH[k] == 0 || off < (1u64 << WIDTH[k]));
            assert_eq!(decode(off, k), block, "block {block:#x}");
        }
    }

    proptest! {
        #[test]
        fn rank_and_access_match_a_plain_vector(bits in proptest::collection::vec(prop_oneof![3 => Just(false), 1 => Just(true)], 0..3000), runs in any::<bool>()) {
            // Long runs of ones as well as scattered ones.
            let bits: Vec<bool> = if runs { bits.iter().enumerate().map(|(i, b)| *b || (i / 200) % 2 == 1).collect() } else { bits };
            let mut buf = BitBuf::zeros(bits.len() as u64);
            for (i, &b) in bits.iter().enumerate() {
                if b { buf.set(i as u64) }
            }
            let p = RrrParts::build(&buf);
            let r = Rrr::new(p.len, &p.classes, &p.ranks, p.rank_bits, &p.ptrs, p.ptr_bits, &p.offsets).unwrap();
            let mut ones = 0u64;
            for (i, &b) in bits.iter().enumerate() {
                prop_assert_eq!(r.rank1(i as u64), ones);
                prop_assert_eq!(r.access_rank1(i as u64), (b, ones));
                ones += b as u64;
            }
            prop_assert_eq!(r.rank1(bits.len() as u64), ones);
        }
    }
}
