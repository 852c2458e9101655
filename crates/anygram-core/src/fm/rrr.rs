//! An RRR-compressed bit vector (Raman, Raman, Rao 2002) with 63-bit blocks: each block is
//! stored as its class (number of ones, 6 bits) and its offset (the block's index among all
//! blocks of that class, `ceil(log2 C(63, class))` bits), so mostly-0 or mostly-1 stretches cost
//! little. Over the nodes of a Huffman-shaped wavelet tree this makes the BWT's size track its
//! higher-order entropy (Mäkinen & Navarro's implicit compression boosting).
//!
//! Blocks are grouped by `SUPER` = 64 into 64-byte records — the rank before the group, where
//! its offsets start, and its 64 classes — so a rank reads one record (one cache line when the
//! mapping is aligned) and one spot of the offset stream: it sums the classes and offset widths
//! of the blocks before its own in the record, then decodes that block. 63-bit blocks keep
//! every binomial coefficient in a u64.
//!
//! The packed records (`Rrr<'_, true>`, the boosted layout's) hold both samples in 38 bits,
//! as 19-bit offsets from 64-bit bases stored every `GROUP` = 64 records after the records, and
//! 79 classes in the other 474 bits: 0.81 bytes of record per block instead of 1.0 (the
//! samples take 38 of a record's 512 bits instead of 128).

/// Bits per block.
pub const BLOCK: u64 = 63;
/// Blocks per record.
pub const SUPER: u64 = 64;
/// Bits of a stored class (0..=63).
const CLASS_BITS: u64 = 6;
/// u64 words per record: rank, offset position, 64 classes of 6 bits.
pub const RECORD_WORDS: usize = 8;
/// Blocks per packed record: 79 classes of 6 bits after the two samples (38 + 474 ≤ 512).
pub const SUPER_PACKED: u64 = 79;
/// Bits of each of a packed record's two samples (rank and offset position, relative to its
/// group's bases).
const DELTA_BITS: u32 = 19;
/// Packed records per group: a group's bits (64 · 79 · 63 < 2^19) keep both samples' offsets
/// from the group's bases in `DELTA_BITS` (offsets take at most 60 bits per 63-bit block).
/// Tests use 4, so that small vectors span several groups.
const GROUP: u64 = if cfg!(test) { 4 } else { 64 };
const DELTA_MASK: u64 = (1 << DELTA_BITS) - 1;
const _: () = assert!(GROUP * SUPER_PACKED * BLOCK < 1 << DELTA_BITS);
const _: () =
    assert!(2 * DELTA_BITS as u64 + SUPER_PACKED * CLASS_BITS <= 64 * RECORD_WORDS as u64);

/// Blocks per record, and the bit of the record where the classes start, of each format.
const fn layout(packed: bool) -> (u64, u64) {
    if packed {
        (SUPER_PACKED, 2 * DELTA_BITS as u64)
    } else {
        (SUPER, 128)
    }
}

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
#[cfg(test)]
fn decode(offset: u64, k: usize) -> u64 {
    decode_from(offset, k, 0)
}

/// The bits at positions `≥ stop` of the block of class `k` with this offset (lower positions
/// are left undecoded, in any state). The decode runs from the highest position down, one
/// dependent step per position, so stopping at the position a rank needs halves its cost on
/// average. A corrupt offset gives some block, never a panic; at most `k` bits are set.
#[inline]
fn decode_from(mut offset: u64, mut k: usize, stop: u64) -> u64 {
    if k >= BLOCK as usize {
        return (1u64 << BLOCK) - 1;
    }
    let mut block = 0u64;
    let mut p = BLOCK as usize;
    let stop = stop as usize;
    while k > 0 && p > stop {
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
    /// `RECORD_WORDS` words per group of `SUPER` blocks, plus a closing record.
    pub records: Vec<u64>,
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

    /// Writes the low `w` (≤ 63) bits of `v` at bit `pos` of a zeroed region.
    pub fn put(&mut self, pos: u64, v: u64, w: u32) {
        let i = (pos / 64) as usize;
        let sh = (pos % 64) as u32;
        self.words[i] |= v << sh;
        if sh + w > 64 {
            self.words[i + 1] |= v >> (64 - sh);
        }
    }

    /// The bits as `crate::packed` lays out `len` values of `bits` bits (LSB first, 8 bytes
    /// of padding).
    pub fn into_packed(self, len: u64, bits: u32) -> Vec<u8> {
        let mut bytes: Vec<u8> = bytemuck::cast_slice(&self.words).to_vec();
        bytes.resize(crate::packed::packed_len(len, bits) as usize, 0);
        bytes
    }

    /// Appends the bits of `other`.
    pub fn append(&mut self, other: &BitBuf) {
        let full = (other.len / 64) as usize;
        for &w in &other.words[..full] {
            self.push(w, 64);
        }
        let rest = (other.len % 64) as u32;
        if rest > 0 {
            self.push(other.words[full] & ((1u64 << rest) - 1), rest);
        }
    }

    /// Appends the low `w` bits of `v`.
    pub fn push(&mut self, v: u64, w: u32) {
        if w == 0 {
            return;
        }
        let sh = (self.len % 64) as u32;
        if sh == 0 {
            self.words.push(v);
        } else {
            if let Some(last) = self.words.last_mut() {
                *last |= v << sh;
            }
            if sh + w > 64 {
                self.words.push(v >> (64 - sh));
            }
        }
        self.len += w as u64;
    }
}

/// Records of a vector of `len` bits (the last one may cover no block).
pub fn num_records(len: u64) -> u64 {
    len.div_ceil(BLOCK) / SUPER + 1
}

/// Records and groups of a packed vector of `len` bits.
fn packed_counts(len: u64) -> (u64, u64) {
    let records = len.div_ceil(BLOCK) / SUPER_PACKED + 1;
    (records, records.div_ceil(GROUP))
}

impl RrrParts {
    pub fn build(bits: &BitBuf) -> RrrParts {
        Self::build_as(bits, false)
    }

    /// With packed records (their groups' bases after them, in `records`).
    pub fn build_packed(bits: &BitBuf) -> RrrParts {
        Self::build_as(bits, true)
    }

    fn build_as(bits: &BitBuf, packed: bool) -> RrrParts {
        let (sup, cw) = layout(packed);
        let num_blocks = bits.len.div_ceil(BLOCK);
        let nrec = num_blocks / sup + 1;
        let mut records = vec![0u64; nrec as usize * RECORD_WORDS];
        let mut bases = Vec::new();
        let mut offsets = BitBuf {
            words: Vec::with_capacity((bits.len / 128) as usize),
            len: 0,
        };
        let mut rank = 0u64;
        for b in 0..=num_blocks {
            let r = b / sup;
            let rec = &mut records[r as usize * RECORD_WORDS..][..RECORD_WORDS];
            if b % sup == 0 {
                if !packed {
                    rec[0] = rank;
                    rec[1] = offsets.len;
                } else {
                    if r % GROUP == 0 {
                        bases.extend_from_slice(&[rank, offsets.len]);
                    }
                    let (br, bp) = (bases[bases.len() - 2], bases[bases.len() - 1]);
                    rec[0] = (rank - br) | (offsets.len - bp) << DELTA_BITS;
                }
            }
            if b == num_blocks {
                break;
            }
            let block = bits.block(b);
            let k = block.count_ones() as u64;
            let at = cw + (b % sup) * CLASS_BITS;
            rec[(at / 64) as usize] |= k << (at % 64);
            if at % 64 + CLASS_BITS > 64 {
                rec[1 + (at / 64) as usize] |= k >> (64 - at % 64);
            }
            rank += k;
            offsets.push(encode(block), WIDTH[k as usize] as u32);
        }
        offsets.words.push(0);
        records.extend_from_slice(&bases);
        RrrParts {
            len: bits.len,
            records,
            offsets: offsets.words,
        }
    }
}

/// A read-only RRR vector over stored parts; `PACKED` selects the record format.
#[derive(Clone, Copy)]
pub struct Rrr<'a, const PACKED: bool = false> {
    len: u64,
    records: &'a [u64],
    /// Per group of packed records: rank and offset position before it.
    bases: &'a [u64],
    offsets: &'a [u64],
}

impl<'a> Rrr<'a> {
    /// `None` when the records are too few for `len` bits.
    pub fn new(len: u64, records: &'a [u64], offsets: &'a [u64]) -> Option<Rrr<'a>> {
        Rrr::from_parts(len, records, offsets)
    }
}

impl<'a> Rrr<'a, true> {
    /// With packed records (`RrrParts::build_packed`); `None` when they do not fit `len` bits.
    pub fn new_packed(len: u64, records: &'a [u64], offsets: &'a [u64]) -> Option<Self> {
        Rrr::from_parts(len, records, offsets)
    }
}

/// Where a rank stands after walking a record up to a block.
#[derive(Clone, Copy)]
struct Walk {
    blk: u64,
    rank: u64,
    pos: u64,
}

impl<'a, const PACKED: bool> Rrr<'a, PACKED> {
    const SUPER: u64 = layout(PACKED).0;

    /// `None` when the records are too few for `len` bits.
    fn from_parts(len: u64, records: &'a [u64], offsets: &'a [u64]) -> Option<Rrr<'a, PACKED>> {
        let (nrec, groups) = if PACKED {
            packed_counts(len)
        } else {
            (num_records(len), 0)
        };
        let at = usize::try_from(nrec.checked_mul(RECORD_WORDS as u64)?).ok()?;
        if (records.len() as u64) != at as u64 + 2 * groups {
            return None;
        }
        Some(Rrr {
            len,
            records: &records[..at],
            bases: &records[at..],
            offsets,
        })
    }

    #[inline]
    fn record(&self, blk: u64) -> &[u64] {
        let at = (blk / Self::SUPER) as usize * RECORD_WORDS;
        self.records
            .get(at..at + RECORD_WORDS)
            .unwrap_or(&[0; RECORD_WORDS])
    }

    /// Start of the record of block `blk`.
    #[inline]
    fn start(&self, blk: u64) -> Walk {
        let rec = self.record(blk);
        let first = blk / Self::SUPER * Self::SUPER;
        if PACKED {
            let g = (blk / Self::SUPER / GROUP) as usize * 2;
            let (br, bp) = match self.bases.get(g..g + 2) {
                Some(b) => (b[0], b[1]),
                None => (0, 0),
            };
            Walk {
                blk: first,
                rank: br.wrapping_add(rec[0] & DELTA_MASK),
                pos: bp.wrapping_add((rec[0] >> DELTA_BITS) & DELTA_MASK),
            }
        } else {
            Walk {
                blk: first,
                rank: rec[0],
                pos: rec[1],
            }
        }
    }

    /// Advances `w` to block `blk` of the same record.
    #[inline]
    fn advance(&self, mut w: Walk, blk: u64) -> Walk {
        let rec = self.record(w.blk);
        while w.blk < blk {
            let k = class::<PACKED>(rec, w.blk);
            w.rank = w.rank.wrapping_add(k as u64);
            w.pos = w.pos.wrapping_add(WIDTH[k] as u64);
            w.blk += 1;
        }
        w
    }

    /// The walk standing at block `blk`: summed forwards from its record's start, or, past the
    /// record's middle, backwards from the next record's start (half the classes on average).
    #[inline]
    fn seek(&self, blk: u64) -> Walk {
        let w = self.start(blk);
        let next = w.blk + Self::SUPER;
        let next_at = (next / Self::SUPER) as usize * RECORD_WORDS;
        if blk - w.blk <= Self::SUPER / 2 || next_at >= self.records.len() {
            return self.advance(w, blk);
        }
        let rec = self.record(blk);
        let mut v = self.start(next);
        while v.blk > blk {
            v.blk -= 1;
            let k = class::<PACKED>(rec, v.blk);
            v.rank = v.rank.wrapping_sub(k as u64);
            v.pos = v.pos.wrapping_sub(WIDTH[k] as u64);
        }
        v
    }

    #[inline]
    fn prefetch_record(&self, blk: u64) {
        let at = (blk / Self::SUPER) as usize * RECORD_WORDS;
        if at < self.records.len() {
            crate::prefetch::prefetch_read(self.records.as_ptr().wrapping_add(at));
        }
    }

    #[inline]
    fn prefetch_offset(&self, pos: u64) {
        let at = (pos / 64) as usize;
        if at < self.offsets.len() {
            crate::prefetch::prefetch_read(self.offsets.as_ptr().wrapping_add(at));
        }
    }

    /// The class of the block `w` stands at, and its bits at positions `≥ stop`.
    #[inline]
    fn bits_from(&self, w: Walk, stop: u64) -> (u64, u64) {
        let k = class::<PACKED>(self.record(w.blk), w.blk);
        let bits = decode_from(read_bits(self.offsets, w.pos, WIDTH[k] as u32), k, stop);
        (k as u64, bits)
    }

    /// Ones in `[0, i)`, `i ≤ len` (larger `i`, only seen on a corrupt index, count as `len`).
    #[inline]
    pub fn rank1(&self, i: u64) -> u64 {
        let i = i.min(self.len);
        let w = self.seek(i / BLOCK);
        ones_before(w, self.bits_at_if(w, i % BLOCK), i % BLOCK)
    }

    /// `bits_from(w, rem)`, or nothing to decode at a block's start.
    #[inline]
    fn bits_at_if(&self, w: Walk, rem: u64) -> (u64, u64) {
        if rem == 0 {
            (0, 0)
        } else {
            self.bits_from(w, rem)
        }
    }

    /// `(rank1(i), rank1(j))` for `i ≤ j`, sharing the record walk and the block decode when
    /// both fall in the same record or block (a narrow range of a backward search).
    #[inline]
    pub fn rank1_pair(&self, i: u64, j: u64) -> (u64, u64) {
        let (i, j) = (i.min(self.len), j.min(self.len));
        let (bi, bj) = (i / BLOCK, j / BLOCK);
        if j < i {
            return (self.rank1(i), self.rank1(j));
        }
        let wi;
        let wj;
        if bi / Self::SUPER == bj / Self::SUPER {
            wi = self.seek(bi);
            wj = self.advance(wi, bj);
        } else {
            // Two records: fetch the second one and both offset spots early, so that the four
            // cache misses overlap instead of following one another.
            self.prefetch_record(bj);
            wi = self.seek(bi);
            self.prefetch_offset(wi.pos);
            wj = self.seek(bj);
            self.prefetch_offset(wj.pos);
        }
        let (ri, rj) = (i % BLOCK, j % BLOCK);
        let bits_i = self.bits_at_if(wi, ri);
        let bits_j = if bi == bj && ri != 0 {
            bits_i
        } else {
            self.bits_at_if(wj, rj)
        };
        (ones_before(wi, bits_i, ri), ones_before(wj, bits_j, rj))
    }

    /// The bit at `i < len` and the ones before it, with one block decode (`i` is clamped, as
    /// in `rank1`).
    #[inline]
    pub fn access_rank1(&self, i: u64) -> (bool, u64) {
        let i = i.min(self.len.saturating_sub(1));
        let w = self.seek(i / BLOCK);
        let rem = i % BLOCK;
        let kb = self.bits_from(w, rem);
        ((kb.1 >> rem) & 1 == 1, ones_before(w, kb, rem))
    }
}

/// Class of block `blk` in its record.
#[inline]
fn class<const PACKED: bool>(rec: &[u64], blk: u64) -> usize {
    let (sup, first) = layout(PACKED);
    (read_bits(rec, first + (blk % sup) * CLASS_BITS, CLASS_BITS as u32) & 63) as usize
}

/// The rank before offset `rem` of the block `w` stands at, given its class and its bits at
/// positions `≥ rem` (or above): the class less the ones at and above `rem`.
#[inline]
fn ones_before(w: Walk, (k, bits): (u64, u64), rem: u64) -> u64 {
    w.rank
        .wrapping_add(k)
        .wrapping_sub((bits >> rem).count_ones() as u64)
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
            for stop in 0..BLOCK {
                assert_eq!(decode_from(off, k, stop) >> stop, block >> stop);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn rank_and_access_match_a_plain_vector(bits in proptest::collection::vec(prop_oneof![3 => Just(false), 1 => Just(true)], 0..25000), runs in any::<bool>()) {
            // Long runs of ones as well as scattered ones.
            let bits: Vec<bool> = if runs { bits.iter().enumerate().map(|(i, b)| *b || (i / 200) % 2 == 1).collect() } else { bits };
            let mut buf = BitBuf::zeros(bits.len() as u64);
            for (i, &b) in bits.iter().enumerate() {
                if b { buf.set(i as u64) }
            }
            let p = RrrParts::build(&buf);
            let r = Rrr::new(p.len, &p.records, &p.offsets).unwrap();
            // Packed records, in groups of 4 in tests (several groups per vector).
            let pp = RrrParts::build_packed(&buf);
            let rp = Rrr::new_packed(pp.len, &pp.records, &pp.offsets).unwrap();
            for i in (0..=bits.len()).step_by(3) {
                prop_assert_eq!(rp.rank1(i as u64), r.rank1(i as u64));
                if i < bits.len() {
                    prop_assert_eq!(rp.access_rank1(i as u64), r.access_rank1(i as u64));
                }
                for j in [i, i + 1, i + 70, i + 4000, bits.len()] {
                    if j <= bits.len() {
                        prop_assert_eq!(rp.rank1_pair(i as u64, j as u64), r.rank1_pair(i as u64, j as u64));
                    }
                }
            }
            let mut ones = vec![0u64];
            for (i, &b) in bits.iter().enumerate() {
                prop_assert_eq!(r.rank1(i as u64), ones[i]);
                prop_assert_eq!(r.access_rank1(i as u64), (b, ones[i]));
                ones.push(ones[i] + b as u64);
            }
            prop_assert_eq!(r.rank1(bits.len() as u64), ones[bits.len()]);
            for i in (0..=bits.len()).step_by(13) {
                for j in (i..=bits.len()).step_by(29) {
                    prop_assert_eq!(r.rank1_pair(i as u64, j as u64), (ones[i], ones[j]));
                }
                let j = (i + 5).min(bits.len());
                prop_assert_eq!(r.rank1_pair(i as u64, j as u64), (ones[i], ones[j]));
            }
        }
    }
}
