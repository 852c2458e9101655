//! An Elias–Fano set of increasing integers read in place from a mapped file: `rank` (how many
//! members are below `x`, and whether `x` is one) and `select` (the `j`-th member).
//!
//! Own layout rather than a crate's (`vers-vecs`' `SparseRSVec`, `sucds`' `SArray`): those are
//! deserialized into RAM and trust their bytes, where an FM shard's files are mapped and a
//! corrupt one must give wrong answers or `None`, never a panic. Every read here is checked.
//!
//! Members `x < universe`, `count` of them: the low `l = floor(log2(universe / count))` bits of
//! each are bit-packed; the high parts are unary in `upper` (member `j` sets bit
//! `(x >> l) + j`). Every `sample`-th one and zero of `upper` has its position stored (a power
//! of two, fixed per set by its file), so a select scans at most about `2 · sample / 64` words
//! with popcounts. About `2 + l` bits per member, plus `128 / sample` for the samples.

use crate::packed::{self, PackedSlice};

/// Every `SAMPLE`-th one (zero) of the upper bits has its position sampled, in the sets this
/// version writes: 1024 instead of format 3's 256 cuts the samples from 0.5 to 0.125 bits per
/// member (−146 KB of `fm.samples` on the shared corpus) for a longer popcount scan per rank.
pub const SAMPLE: u64 = 1024;
/// The sample rate of format 3's sets (whose `fm.samples` header does not name one).
pub const SAMPLE_V3: u64 = 256;

/// Whether `sample` is a rate a stored set may have.
pub fn valid_sample(sample: u64) -> bool {
    sample.is_power_of_two() && (64..=1 << 16).contains(&sample)
}

/// Low bits per member.
pub fn low_bits(universe: u64, count: u64) -> u32 {
    if count == 0 || universe <= count {
        0
    } else {
        (universe / count).ilog2().min(packed::MAX_BITS)
    }
}

/// Words of the upper bits.
fn upper_words(universe: u64, count: u64) -> u64 {
    (count + (universe >> low_bits(universe, count)) + 1).div_ceil(64)
}

/// The stored parts of a set; see the module comment. `lows` is empty when `l == 0`.
pub struct EfParts {
    pub lows: Vec<u8>,
    pub upper: Vec<u64>,
    pub ones: Vec<u64>,
    pub zeros: Vec<u64>,
}

/// Builds a set from its members, pushed in increasing order.
pub struct EfBuilder {
    universe: u64,
    count: u64,
    l: u32,
    pushed: u64,
    last: Option<u64>,
    lows: Vec<u64>,
    upper: Vec<u64>,
    sample: u64,
}

impl EfBuilder {
    /// A set of `count` members below `universe`, sampled every `sample` (`valid_sample`).
    pub fn new(universe: u64, count: u64, sample: u64) -> EfBuilder {
        let l = low_bits(universe, count);
        EfBuilder {
            sample,
            universe,
            count,
            l,
            pushed: 0,
            last: None,
            lows: Vec::with_capacity(if l == 0 { 0 } else { count as usize }),
            upper: vec![0; upper_words(universe, count) as usize],
        }
    }

    /// Adds `x`, larger than every member so far and `< universe`; at most `count` of them.
    pub fn push(&mut self, x: u64) {
        assert!(
            x < self.universe && self.pushed < self.count && self.last.map_or(true, |p| p < x),
            "Elias-Fano members must increase below the universe"
        );
        let pos = (x >> self.l) + self.pushed;
        self.upper[(pos / 64) as usize] |= 1 << (pos % 64);
        if self.l > 0 {
            self.lows.push(x & ((1 << self.l) - 1));
        }
        self.pushed += 1;
        self.last = Some(x);
    }

    pub fn finish(self) -> EfParts {
        assert_eq!(
            self.pushed, self.count,
            "fewer Elias-Fano members than announced"
        );
        let (mut ones, mut zeros) = (Vec::new(), Vec::new());
        let (mut n1, mut n0) = (0u64, 0u64);
        let bits = self.count + (self.universe >> self.l) + 1;
        for pos in 0..bits {
            let set = self.upper[(pos / 64) as usize] >> (pos % 64) & 1 == 1;
            let (n, samples) = if set {
                (&mut n1, &mut ones)
            } else {
                (&mut n0, &mut zeros)
            };
            if *n % self.sample == 0 {
                samples.push(pos);
            }
            *n += 1;
        }
        let lows = if self.l == 0 {
            Vec::new()
        } else {
            packed::pack(&self.lows, self.l, |v| v)
        };
        EfParts {
            lows,
            upper: self.upper,
            ones,
            zeros,
        }
    }
}

/// A set read in place. Built by [`EliasFano::new`], which checks every part's size.
#[derive(Clone, Copy)]
pub struct EliasFano<'a> {
    count: u64,
    l: u32,
    lows: Option<PackedSlice<'a>>,
    upper: &'a [u64],
    ones: &'a [u64],
    zeros: &'a [u64],
    sample: u64,
}

impl<'a> EliasFano<'a> {
    /// `None` when a part's size does not match a set of `count` members below `universe`
    /// sampled every `sample`, or `sample` is not a valid rate.
    pub fn new(
        universe: u64,
        count: u64,
        sample: u64,
        lows: &'a [u8],
        upper: &'a [u64],
        ones: &'a [u64],
        zeros: &'a [u64],
    ) -> Option<EliasFano<'a>> {
        if !valid_sample(sample) {
            return None;
        }
        let l = low_bits(universe, count);
        let lows = match l {
            0 => lows.is_empty().then_some(None)?,
            _ => Some(
                PackedSlice::new(lows, l, count)
                    .filter(|_| lows.len() as u64 == packed::packed_len(count, l))?,
            ),
        };
        let zeros_total = (universe >> l) + 1;
        let ok = upper.len() as u64 == upper_words(universe, count)
            && ones.len() as u64 == count.div_ceil(sample)
            && zeros.len() as u64 == zeros_total.div_ceil(sample);
        ok.then_some(EliasFano {
            sample,
            count,
            l,
            lows,
            upper,
            ones,
            zeros,
        })
    }

    fn low(&self, j: u64) -> u64 {
        self.lows.map_or(0, |p| p.get(j))
    }

    /// Position in `upper` of its `k`-th set bit (`ones == true`) or clear bit.
    fn select_bit(&self, k: u64, ones: bool) -> Option<u64> {
        let samples = if ones { self.ones } else { self.zeros };
        let start = *samples.get((k / self.sample) as usize)?;
        let mut left = k % self.sample;
        let mut w = (start / 64) as usize;
        let word = |w: usize| self.upper.get(w).map(|&x| if ones { x } else { !x });
        // The sampled bit itself is the 0-th to find; bits before it in its word are masked off.
        let mut bits = word(w)? & (u64::MAX << (start % 64));
        loop {
            let c = bits.count_ones() as u64;
            if left < c {
                for _ in 0..left {
                    bits &= bits - 1;
                }
                return Some(w as u64 * 64 + bits.trailing_zeros() as u64);
            }
            left -= c;
            w += 1;
            bits = word(w)?;
        }
    }

    /// The `j`-th member (`j < len`).
    pub fn select(&self, j: u64) -> Option<u64> {
        if j >= self.count {
            return None;
        }
        let high = self.select_bit(j, true)?.checked_sub(j)?;
        Some(high << self.l | self.low(j))
    }

    /// How many members are below `x`, and whether `x` is one.
    pub fn rank(&self, x: u64) -> Option<(u64, bool)> {
        let high = x >> self.l;
        let low = x & ((1u64 << self.l) - 1);
        // First bit of bucket `high` in `upper`: one past its `high - 1`-th zero.
        let mut pos = match high {
            0 => 0,
            h => self.select_bit(h - 1, false)? + 1,
        };
        let mut j = pos.checked_sub(high)?;
        // The bucket's members, in increasing order of their low bits.
        while j < self.count && self.upper.get((pos / 64) as usize)? >> (pos % 64) & 1 == 1 {
            let l = self.low(j);
            if l >= low {
                return Some((j, l == low));
            }
            j += 1;
            pos += 1;
        }
        Some((j.min(self.count), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn view(universe: u64, parts: &EfParts, count: u64, sample: u64) -> EliasFano<'_> {
        EliasFano::new(
            universe,
            count,
            sample,
            &parts.lows,
            &parts.upper,
            &parts.ones,
            &parts.zeros,
        )
        .unwrap()
    }

    proptest! {
        #[test]
        fn rank_and_select_match_a_sorted_list(
            universe in 1u64..5000,
            picks in proptest::collection::vec(any::<u64>(), 0..1200),
            sample in prop_oneof![Just(64u64), Just(SAMPLE_V3), Just(SAMPLE)],
        ) {
            let mut members: Vec<u64> = picks.iter().map(|p| p % universe).collect();
            members.sort_unstable();
            members.dedup();
            let n = members.len() as u64;
            let mut b = EfBuilder::new(universe, n, sample);
            for &x in &members {
                b.push(x);
            }
            let parts = b.finish();
            let ef = view(universe, &parts, n, sample);
            for (j, &x) in members.iter().enumerate() {
                prop_assert_eq!(ef.select(j as u64), Some(x));
            }
            prop_assert_eq!(ef.select(n), None);
            for x in 0..universe {
                let below = members.partition_point(|&m| m < x) as u64;
                let is = members.binary_search(&x).is_ok();
                prop_assert_eq!(ef.rank(x), Some((below, is)));
            }
        }
    }

    #[test]
    fn dense_runs_and_wrong_sizes() {
        // Every value: l = 0, one bucket per member.
        let mut b = EfBuilder::new(1000, 1000, 64);
        (0..1000).for_each(|x| b.push(x));
        let p = b.finish();
        let ef = view(1000, &p, 1000, 64);
        assert_eq!(ef.rank(999), Some((999, true)));
        assert_eq!(ef.select(500), Some(500));
        assert!(EliasFano::new(1000, 700, 64, &p.lows, &p.upper, &p.ones, &p.zeros).is_none());
        assert!(
            EliasFano::new(1000, 1000, 64, &p.lows, &p.upper[1..], &p.ones, &p.zeros).is_none()
        );
        // Another sample rate than the parts were built with, or an invalid one.
        assert!(EliasFano::new(1000, 1000, 128, &p.lows, &p.upper, &p.ones, &p.zeros).is_none());
        assert!(EliasFano::new(1000, 1000, 100, &p.lows, &p.upper, &p.ones, &p.zeros).is_none());
    }
}
