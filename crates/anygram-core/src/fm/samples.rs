//! Locate and extract samples in text order (`fm.samples`).
//!
//! Every `s`-th position of `R` (`s = sa_sample`, positions `k·s`, `k < m = ceil(n / s)`) is
//! sampled. The rows of those suffixes are *marked* (an Elias–Fano set over the `n` rows), and
//! the marked rows' positions are stored in row order as `k` (`ceil(log2 m)` bits each: the
//! samples array `π`, a permutation of `0..m`).
//! - Locate walks LF from a row until a marked row, at most `s - 1` steps (a position
//!   `p` reaches `s·floor(p / s)`), then reads its `k`.
//! - Extraction needs the row of a sampled position `k·s`: the `j` with `π(j) = k`, i.e. the
//!   inverse permutation, then the `j`-th marked row. The inverse is not stored: `π`'s cycles
//!   carry a shortcut every `t = isa_sample` steps pointing `t` steps back (Munro, Raman,
//!   Raman, Rao, "Succinct representations of permutations"), so `π⁻¹(k)` reads at most
//!   about `2t` entries of `π` (cheap reads, against an LF step's rank in the wavelet tree).
//!
//! libsais' BWT mode hands out exactly the rows of positions `k·s` (its auxiliary indices), so
//! the build never holds the suffix array for these (see `build.rs`).
//!
//! Sections: header `[n, s, t, m, shortcuts, ef_sample]` (format 3's has no `ef_sample`: its
//! Elias–Fano sets are sampled every 256, `elias_fano::SAMPLE_V3`); the marked rows (Elias–Fano: lows, upper, one
//! samples, zero samples); `π` (packed); the shortcut positions (Elias–Fano over `0..m`, same
//! four parts); the shortcut targets (packed, in the order of their positions).

use std::ops::Range;

use super::elias_fano::{self, EfBuilder, EfParts, EliasFano};
use super::sections::SectionWriter;
use crate::error::{AnygramError, Result};
use crate::packed::{self, PackedSlice};

pub const SECTIONS: usize = 11;
const SEC_HEADER: usize = 0;
const SEC_MARKS: usize = 1;
const SEC_VALUES: usize = 5;
const SEC_SHORTCUTS: usize = 6;
const SEC_BACK: usize = 10;

/// A zeroed bit buffer receiving fixed-width values at any index, laid out as `crate::packed`.
struct PackedBuf {
    words: Vec<u64>,
    bits: u32,
    len: u64,
}

impl PackedBuf {
    fn zeros(len: u64, bits: u32) -> PackedBuf {
        PackedBuf {
            words: vec![0; (len * bits as u64).div_ceil(64) as usize + 1],
            bits,
            len,
        }
    }

    fn put(&mut self, i: u64, v: u64) {
        let pos = i * self.bits as u64;
        let (w, sh) = ((pos / 64) as usize, (pos % 64) as u32);
        self.words[w] |= v << sh;
        if sh + self.bits > 64 {
            self.words[w + 1] |= v >> (64 - sh);
        }
    }

    fn into_packed(self) -> Vec<u8> {
        let mut bytes: Vec<u8> = bytemuck::cast_slice(&self.words).to_vec();
        bytes.resize(packed::packed_len(self.len, self.bits) as usize, 0);
        bytes
    }
}

/// Number of sampled positions of a stream of `n` symbols at rate `s`.
pub fn sample_count(n: u64, s: u64) -> u64 {
    n.div_ceil(s)
}

/// Collects the marked rows and their `k`, in row order or by `k`, and lays out the file.
pub struct SamplesWriter {
    n: u64,
    s: u64,
    t: u64,
    m: u64,
    values: PackedBuf,
    /// Sample rate of the Elias–Fano sets; `None` writes format 3's (256, unnamed header).
    ef_sample: Option<u64>,
}

impl SamplesWriter {
    pub fn new(n: u64, s: u64, t: u64) -> SamplesWriter {
        let m = sample_count(n, s);
        SamplesWriter {
            n,
            s,
            t,
            m,
            values: PackedBuf::zeros(m, packed::bits_for(m.saturating_sub(1))),
            ef_sample: Some(elias_fano::SAMPLE),
        }
    }

    /// Writes format 3's layout (a five-word header, sets sampled every 256): old files in
    /// tests.
    #[cfg(test)]
    fn format_3(mut self) -> SamplesWriter {
        self.ef_sample = None;
        self
    }

    fn ef_sample(&self) -> u64 {
        self.ef_sample.unwrap_or(elias_fano::SAMPLE_V3)
    }

    /// From the suffix array read in row order: `sa(r)` is the position of row `r`.
    pub fn from_rows(mut self, sa: impl Iterator<Item = u64>) -> Result<Vec<u8>> {
        let mut marks = EfBuilder::new(self.n, self.m, self.ef_sample());
        let mut j = 0u64;
        for (r, i) in sa.enumerate() {
            if i % self.s == 0 {
                if j >= self.m {
                    return Err(internal("more sampled rows than positions"));
                }
                marks.push(r as u64);
                self.values.put(j, i / self.s);
                j += 1;
            }
        }
        if j != self.m {
            return Err(internal("fewer sampled rows than positions"));
        }
        self.finish(marks.finish())
    }

    /// From the row of every sampled position, by `k` (libsais' auxiliary indices).
    pub fn from_positions(mut self, rows: impl Iterator<Item = u64> + Clone) -> Result<Vec<u8>> {
        // Mark the rows, count marks per 512 rows, then every `k` goes to its row's rank.
        let mut bits = vec![0u64; self.n.div_ceil(64) as usize];
        for r in rows.clone() {
            let w = bits
                .get_mut((r / 64) as usize)
                .ok_or_else(|| internal("sampled row out of range"))?;
            *w |= 1 << (r % 64);
        }
        let mut before = Vec::with_capacity(bits.len().div_ceil(8));
        let mut acc = 0u64;
        for block in bits.chunks(8) {
            before.push(acc);
            acc += block.iter().map(|w| w.count_ones() as u64).sum::<u64>();
        }
        if acc != self.m {
            return Err(internal("sampled rows are not distinct"));
        }
        for (k, r) in rows.enumerate() {
            let (w, b) = ((r / 64) as usize, r % 64);
            let in_block: u64 = bits[w & !7..w].iter().map(|x| x.count_ones() as u64).sum();
            let j = before[w / 8] + in_block + (bits[w] & ((1u64 << b) - 1)).count_ones() as u64;
            self.values.put(j, k as u64);
        }
        drop(before);
        let mut marks = EfBuilder::new(self.n, self.m, self.ef_sample());
        for (w, &word) in bits.iter().enumerate() {
            let mut x = word;
            while x != 0 {
                marks.push(w as u64 * 64 + x.trailing_zeros() as u64);
                x &= x - 1;
            }
        }
        drop(bits);
        self.finish(marks.finish())
    }

    fn finish(self, marks: EfParts) -> Result<Vec<u8>> {
        let (m, t, ef_sample) = (self.m, self.t, self.ef_sample());
        let values = self.values.into_packed();
        let bits = packed::bits_for(m.saturating_sub(1));
        let pi = PackedSlice::new(&values, bits, m).ok_or_else(|| internal("samples"))?;
        // Walk every cycle of π once; on cycles longer than t, every t-th element gets a
        // pointer to the previous such element (the first to the last).
        let mut visited = vec![0u64; m.div_ceil(64) as usize];
        let mut shortcuts: Vec<(u64, u64)> = Vec::new();
        let mut on_cycle: Vec<u64> = Vec::new();
        for start in 0..m {
            if visited[(start / 64) as usize] >> (start % 64) & 1 == 1 {
                continue;
            }
            on_cycle.clear();
            let (mut e, mut len) = (start, 0u64);
            loop {
                let slot = visited
                    .get_mut((e / 64) as usize)
                    .ok_or_else(|| internal("samples are not a permutation"))?;
                *slot |= 1 << (e % 64);
                if len % t == 0 {
                    on_cycle.push(e);
                }
                e = pi.get(e);
                len += 1;
                if e == start {
                    break;
                }
                if len > m {
                    return Err(internal("samples are not a permutation"));
                }
            }
            if len > t {
                let last = on_cycle.len() - 1;
                shortcuts.push((on_cycle[0], on_cycle[last]));
                shortcuts.extend(on_cycle.windows(2).map(|w| (w[1], w[0])));
            }
        }
        drop(visited);
        shortcuts.sort_unstable();
        let mut at = EfBuilder::new(m, shortcuts.len() as u64, ef_sample);
        let mut back = PackedBuf::zeros(shortcuts.len() as u64, bits);
        for (i, &(e, b)) in shortcuts.iter().enumerate() {
            at.push(e);
            back.put(i as u64, b);
        }
        let mut w = SectionWriter::default();
        let mut header = vec![self.n, self.s, t, m, shortcuts.len() as u64];
        header.extend(self.ef_sample);
        w.push_u64s(&header);
        push_ef(&mut w, marks);
        w.push(values);
        push_ef(&mut w, at.finish());
        w.push(back.into_packed());
        Ok(w.finish())
    }
}

fn push_ef(w: &mut SectionWriter, p: EfParts) {
    w.push(p.lows);
    w.push_u64s(&p.upper);
    w.push_u64s(&p.ones);
    w.push_u64s(&p.zeros);
}

fn internal(what: &str) -> AnygramError {
    AnygramError::InvalidArgument(format!("building the FM samples: {what}"))
}

/// The samples of one shard, viewed in place.
pub struct TextSamples<'a> {
    s: u64,
    t: u64,
    m: u64,
    marks: EliasFano<'a>,
    values: PackedSlice<'a>,
    shortcuts: EliasFano<'a>,
    back: PackedSlice<'a>,
}

impl<'a> TextSamples<'a> {
    /// `None` unless `bytes` (split into `sections`) holds the samples of a stream of `n`
    /// symbols at rates `s` and `t`, every part of the right size.
    pub fn view(
        bytes: &'a [u8],
        sections: &[Range<usize>],
        n: u64,
        s: u64,
        t: u64,
    ) -> Option<TextSamples<'a>> {
        let sec = |i: usize| bytes.get(sections.get(i)?.clone());
        let u64s = |i: usize| -> Option<&'a [u64]> {
            bytemuck::try_cast_slice(bytes.get(sections.get(i)?.clone())?).ok()
        };
        let (hn, hs, ht, m, count, sample) = match *u64s(SEC_HEADER)? {
            [hn, hs, ht, m, count] => (hn, hs, ht, m, count, elias_fano::SAMPLE_V3),
            [hn, hs, ht, m, count, sample] => (hn, hs, ht, m, count, sample),
            _ => return None,
        };
        if (hn, hs, ht) != (n, s, t) || m != sample_count(n, s) || count > m {
            return None;
        }
        let ef = |first: usize, universe: u64, count: u64| {
            EliasFano::new(
                universe,
                count,
                sample,
                sec(first)?,
                u64s(first + 1)?,
                u64s(first + 2)?,
                u64s(first + 3)?,
            )
        };
        let bits = packed::bits_for(m.saturating_sub(1));
        let packed = |i: usize, len: u64| {
            let b = sec(i)?;
            PackedSlice::new(b, bits, len)
                .filter(|_| b.len() as u64 == packed::packed_len(len, bits))
        };
        Some(TextSamples {
            s,
            t,
            m,
            marks: ef(SEC_MARKS, n, m)?,
            values: packed(SEC_VALUES, m)?,
            shortcuts: ef(SEC_SHORTCUTS, m, count)?,
            back: packed(SEC_BACK, count)?,
        })
    }

    /// The position of `R` whose suffix is row `row`, if that row is marked.
    #[inline]
    pub fn position(&self, row: u64) -> Option<u64> {
        match self.marks.rank(row)? {
            (j, true) => self.values.get(j).checked_mul(self.s),
            _ => None,
        }
    }

    /// The row of the suffix at position `k·s` of `R` (`k < m`).
    pub fn row_of_sample(&self, k: u64) -> Option<u64> {
        self.marks.select(self.inverse(k)?)
    }

    /// `j` with `π(j) = k`: walk forwards from `k` until an element whose successor is `k`,
    /// taking one shortcut back on the way.
    fn inverse(&self, k: u64) -> Option<u64> {
        if k >= self.m {
            return None;
        }
        let (mut x, mut jumped) = (k, false);
        // At most t - 1 steps to a shortcut, then t - 1 from its target (or a cycle of ≤ t):
        // more means a corrupt file.
        for _ in 0..2 * self.t + 2 {
            let next = self.values.get(x);
            if next == k {
                return Some(x);
            }
            x = match self.shortcuts.rank(x)? {
                (i, true) if !jumped => {
                    jumped = true;
                    self.back.get(i)
                }
                _ => next,
            };
            if x >= self.m {
                return None;
            }
        }
        None
    }

    /// Bytes per part, for size reports.
    pub fn breakdown(sections: &[Range<usize>]) -> Vec<(&'static str, u64)> {
        let len = |r: Range<usize>| {
            sections
                .get(r)
                .map_or(0, |s| s.iter().map(|x| x.len() as u64).sum())
        };
        vec![
            ("samples_marks", len(SEC_MARKS..SEC_VALUES)),
            ("samples_values", len(SEC_VALUES..SEC_VALUES + 1)),
            ("samples_inverse", len(SEC_SHORTCUTS..SEC_BACK + 1)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::super::sections::read_sections;
    use super::*;
    use proptest::prelude::*;

    fn check(sa: &[u64], s: u64, t: u64) -> std::result::Result<(), TestCaseError> {
        let n = sa.len() as u64;
        let by_rows = SamplesWriter::new(n, s, t)
            .from_rows(sa.iter().copied())
            .unwrap();
        let mut isa = vec![0u64; sa.len()];
        for (r, &i) in sa.iter().enumerate() {
            isa[i as usize] = r as u64;
        }
        let rows = (0..n).step_by(s as usize).map(|i| isa[i as usize]);
        let by_positions = SamplesWriter::new(n, s, t).from_positions(rows).unwrap();
        prop_assert_eq!(&by_rows, &by_positions);
        // Format 3's files (sets sampled every 256, unnamed) read the same.
        let old = SamplesWriter::new(n, s, t)
            .format_3()
            .from_rows(sa.iter().copied())
            .unwrap();
        let old_sections = read_sections(&old, SECTIONS).unwrap();
        let o = TextSamples::view(&old, &old_sections, n, s, t).unwrap();
        let sections = read_sections(&by_rows, SECTIONS).unwrap();
        let v = TextSamples::view(&by_rows, &sections, n, s, t).unwrap();
        for (r, &i) in sa.iter().enumerate() {
            let want = (i % s == 0).then_some(i);
            prop_assert_eq!(v.position(r as u64), want);
            prop_assert_eq!(o.position(r as u64), want);
        }
        for k in 0..sample_count(n, s) {
            prop_assert_eq!(v.row_of_sample(k), Some(isa[(k * s) as usize]));
            prop_assert_eq!(o.row_of_sample(k), Some(isa[(k * s) as usize]));
        }
        prop_assert!(v.row_of_sample(sample_count(n, s)).is_none());
        prop_assert!(TextSamples::view(&by_rows, &sections, n, s, t + 1).is_none());
        prop_assert!(TextSamples::view(&by_rows, &sections, n + 1, s, t).is_none());
        Ok(())
    }

    proptest! {
        #[test]
        fn positions_and_rows_of_any_permutation(
            keys in proptest::collection::vec(any::<u32>(), 1..600),
            s in prop_oneof![Just(1u64), Just(2), Just(3), Just(8), Just(32)],
            t in prop_oneof![Just(1u64), Just(2), Just(5), Just(64)],
        ) {
            // A random permutation as the suffix array.
            let mut sa: Vec<u64> = (0..keys.len() as u64).collect();
            sa.sort_by_key(|&i| (keys[i as usize], i));
            check(&sa, s, t)?;
        }
    }

    #[test]
    fn one_long_cycle() {
        // π is one cycle of length m: shortcuts on it are the only way back.
        let n = 40000u64;
        let sa: Vec<u64> = (0..n).map(|r| (r * 7 + 3) % n).collect();
        check(&sa, 4, 3).unwrap();
        check(&sa, 1, 16).unwrap();
    }
}
