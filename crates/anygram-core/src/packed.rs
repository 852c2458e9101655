//! Fixed-width bit-packed unsigned integers: the suffix array stores each pointer in exactly as
//! many bits as the shard's length needs (25 bits for 31M tokens instead of 32), which is most of
//! why an anygram index is smaller than infini-gram's byte-aligned pointers.

/// Bits needed to store every value in `0..=max_value` (at least 1).
pub fn bits_for(max_value: u64) -> u32 {
    (64 - max_value.leading_zeros()).max(1)
}

/// Widest value supported: a read is one unaligned u64 load plus a shift of up to 7 bits.
pub const MAX_BITS: u32 = 56;

/// Bytes of a packed array of `len` values of `bits` bits, including the 8 bytes of padding that
/// let every read be a single unaligned u64 load.
pub fn packed_len(len: u64, bits: u32) -> u64 {
    (len * bits as u64).div_ceil(8) + 8
}

/// Values per parallel chunk: a multiple of 8, so every chunk starts on a byte boundary.
const PAR_CHUNK: usize = 1 << 20;

/// Packs `values` (converted by `to_u64`) into little-endian bit order, on all threads.
pub fn pack<V: Copy + Sync>(values: &[V], bits: u32, to_u64: impl Fn(V) -> u64 + Sync) -> Vec<u8> {
    use rayon::prelude::*;
    debug_assert!((1..=MAX_BITS).contains(&bits));
    let mut out = vec![0u8; packed_len(values.len() as u64, bits) as usize];
    let chunk_bytes = PAR_CHUNK * bits as usize / 8;
    out.par_chunks_mut(chunk_bytes)
        .zip(values.par_chunks(PAR_CHUNK))
        .for_each(|(dst, src)| pack_chunk(dst, src.iter().map(|&v| to_u64(v)), bits));
    out
}

/// Packs values into `dst` from its first bit; `dst` must hold them.
fn pack_chunk(dst: &mut [u8], values: impl Iterator<Item = u64>, bits: u32) {
    let mut acc: u64 = 0;
    let mut acc_bits: u32 = 0;
    let mut pos = 0usize;
    for v in values {
        acc |= v << acc_bits;
        acc_bits += bits;
        // acc_bits < 8 before the value went in, and a value has at most 56 bits, so no bit of
        // it was shifted out.
        while acc_bits >= 8 {
            dst[pos] = acc as u8;
            pos += 1;
            acc >>= 8;
            acc_bits -= 8;
        }
    }
    if acc_bits > 0 {
        dst[pos] = acc as u8;
    }
}

/// A read-only view of a packed array.
#[derive(Clone, Copy)]
pub struct PackedSlice<'a> {
    bytes: &'a [u8],
    bits: u32,
    mask: u64,
    len: u64,
}

impl PackedSlice<'static> {
    /// An array of no values.
    pub const EMPTY: PackedSlice<'static> = PackedSlice {
        bytes: &[0u8; 8],
        bits: 1,
        mask: 1,
        len: 0,
    };
}

impl<'a> PackedSlice<'a> {
    /// `None` when `bytes` is too short for `len` values (a truncated file).
    pub fn new(bytes: &'a [u8], bits: u32, len: u64) -> Option<Self> {
        if !(1..=MAX_BITS).contains(&bits) || (bytes.len() as u64) < packed_len(len, bits) {
            return None;
        }
        Some(PackedSlice {
            bytes,
            bits,
            mask: (1u64 << bits) - 1,
            len,
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value at `i`; `i` must be `< len` (checked by slicing, never undefined).
    #[inline(always)]
    pub fn get(&self, i: u64) -> u64 {
        let bit = i * self.bits as u64;
        let byte = (bit >> 3) as usize;
        let word = match self.bytes.get(byte..byte + 8) {
            Some(w) => u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]),
            None => return u64::MAX,
        };
        (word >> (bit & 7)) & self.mask
    }

    /// Hints the CPU to fetch the cache line holding entry `i`.
    #[inline(always)]
    pub fn prefetch(&self, i: u64) {
        let byte = ((i * self.bits as u64) >> 3) as usize;
        if byte < self.bytes.len() {
            crate::prefetch::prefetch_read(self.bytes.as_ptr().wrapping_add(byte));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pack_then_read_gives_the_values_back(bits in 1u32..=MAX_BITS, seed in proptest::collection::vec(any::<u64>(), 0..300)) {
            let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            let values: Vec<u64> = seed.iter().map(|v| v & mask).collect();
            let bytes = pack(&values, bits, |v| v);
            let view = PackedSlice::new(&bytes, bits, values.len() as u64).unwrap();
            for (i, v) in values.iter().enumerate() {
                prop_assert_eq!(view.get(i as u64), *v);
            }
        }
    }

    #[test]
    fn packing_across_parallel_chunks_reads_back() {
        for bits in [1u32, 7, 8, 25, 33, 56] {
            let mask = (1u64 << bits) - 1;
            let values: Vec<u64> = (0..(3 * PAR_CHUNK as u64 + 77))
                .map(|i| i.wrapping_mul(2654435761) & mask)
                .collect();
            let bytes = pack(&values, bits, |v| v);
            let view = PackedSlice::new(&bytes, bits, values.len() as u64).unwrap();
            for (i, v) in values.iter().enumerate().step_by(997) {
                assert_eq!(view.get(i as u64), *v, "bits {bits} index {i}");
            }
        }
    }

    #[test]
    fn bits_for_small_values() {
        assert_eq!(bits_for(0), 1);
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(2), 2);
        assert_eq!(bits_for(255), 8);
        assert_eq!(bits_for(256), 9);
    }

    #[test]
    fn truncated_bytes_are_rejected() {
        let bytes = pack(&[1u64, 2, 3], 5, |v| v);
        assert!(PackedSlice::new(&bytes[..bytes.len() - 1], 5, 3).is_none());
    }
}
