//! Building one shard's FM-index from its token stream: reverse the stream, sort its suffixes
//! (libsais, as the suffix-array kind), read the BWT and the samples off the suffix array in one
//! pass, then encode the BWT's rank structure (`ranks.rs`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;

use super::ranks;
use super::rrr::BitBuf;
use super::{FmManifest, FmParams, BWT_FILE, ISA_FILE, SA_FILE};
use crate::build::shard_writer::PhaseTimes;
use crate::error::{AnygramError, Result};
use crate::format;
use crate::packed;
use crate::suffix_array::{self, SuffixArray};
use crate::token::Token;

/// Dense ids of the symbols of a stream, in numeric order (the separator, the width's largest
/// value, last).
pub(super) struct Alphabet {
    /// The symbols, ascending.
    pub symbols: Vec<u32>,
    /// Occurrences of each.
    pub counts: Vec<u64>,
    /// Symbol value to dense id (`u32::MAX` for absent symbols), for narrow widths and small
    /// vocabularies; else `sparse`.
    dense: Vec<u32>,
    sparse: HashMap<u32, u32>,
}

/// Widest dense symbol table: 16 MB.
const DENSE_TABLE_MAX: u64 = 1 << 22;

impl Alphabet {
    pub fn of<T: Token>(stream: &[T], vocab_size: u64) -> Alphabet {
        // Symbol value -> count, as a table over `0..=vocab` (separator at `vocab`) when small.
        let table_len = vocab_size + 1;
        let counts: BTreeMap<u32, u64> = if table_len <= DENSE_TABLE_MAX {
            let table = stream
                .par_chunks(1 << 20)
                .map(|chunk| {
                    let mut t = vec![0u64; table_len as usize];
                    for &x in chunk {
                        let i = if x == T::SEPARATOR {
                            vocab_size
                        } else {
                            x.to_u32() as u64
                        };
                        t[i.min(vocab_size) as usize] += 1;
                    }
                    t
                })
                .reduce(
                    || vec![0u64; table_len as usize],
                    |mut a, b| {
                        a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                        a
                    },
                );
            table
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(i, &c)| {
                    let sym = if i as u64 == vocab_size {
                        T::SEPARATOR.to_u32()
                    } else {
                        i as u32
                    };
                    (sym, c)
                })
                .collect()
        } else {
            let mut m = BTreeMap::new();
            for &x in stream {
                *m.entry(x.to_u32()).or_insert(0u64) += 1;
            }
            m
        };
        Alphabet::from_counts(counts.into_iter().unzip())
    }

    pub fn from_counts((symbols, counts): (Vec<u32>, Vec<u64>)) -> Alphabet {
        let max = symbols.last().copied().unwrap_or(0) as u64;
        let (dense, sparse) = if max < DENSE_TABLE_MAX {
            let mut d = vec![u32::MAX; max as usize + 1];
            for (i, &s) in symbols.iter().enumerate() {
                d[s as usize] = i as u32;
            }
            (d, HashMap::new())
        } else {
            let m = symbols
                .iter()
                .enumerate()
                .map(|(i, &s)| (s, i as u32))
                .collect();
            (Vec::new(), m)
        };
        Alphabet {
            symbols,
            counts,
            dense,
            sparse,
        }
    }

    /// The dense id of a symbol, `None` if it does not occur.
    #[inline]
    pub fn id(&self, symbol: u32) -> Option<u32> {
        if self.sparse.is_empty() {
            match self.dense.get(symbol as usize) {
                Some(&i) if i != u32::MAX => Some(i),
                _ => None,
            }
        } else {
            self.sparse.get(&symbol).copied()
        }
    }
}

/// Writes the FM files of one shard whose stream is `stream` (`SEP doc0 SEP ... SEP`) into
/// `dir`, which must exist. The stream is taken by value and reversed in place; the samples are
/// written as soon as they are read, and the suffix array's buffer then receives the BWT, so
/// the peak is the stream plus its suffix array.
pub fn write<T: Token>(
    dir: &Path,
    mut stream: Vec<T>,
    vocab_size: u64,
    params: FmParams,
    workers: usize,
    times: &mut PhaseTimes,
) -> Result<FmManifest> {
    params.check()?;
    let n = stream.len() as u64;
    if n < 2 || stream[0] != T::SEPARATOR || stream[stream.len() - 1] != T::SEPARATOR {
        return Err(AnygramError::InvalidArgument(
            "an FM-index needs a stream that starts and ends with a separator".into(),
        ));
    }

    let clock = Instant::now();
    let alphabet = Alphabet::of(&stream, vocab_size);
    stream.reverse();
    times.add("fm_alphabet", clock.elapsed().as_secs_f64());

    let clock = Instant::now();
    let mut sa = suffix_array::build(&stream, vocab_size, n, workers)?;
    times.add("suffix_sort", clock.elapsed().as_secs_f64());

    let clock = Instant::now();
    if sa.len() as u64 != n {
        return Err(AnygramError::InvalidArgument(
            "suffix array length differs from the stream".into(),
        ));
    }
    let sample_bits = packed::bits_for(n - 1);
    let (primary, sa_samples, isa_samples) = match &sa {
        SuffixArray::I32(v) => samples(v, params, sample_bits),
        SuffixArray::I64(v) => samples(v, params, sample_bits),
    };
    // Written now, so that they are not held with the stream and the suffix array.
    let mut files = BTreeMap::new();
    let mut put = |name: &str, bytes: &[u8]| -> Result<()> {
        files.insert(
            name.to_string(),
            format::write_file_entry(&dir.join(name), bytes)?,
        );
        Ok(())
    };
    put(SA_FILE, &sa_samples)?;
    put(ISA_FILE, &isa_samples)?;
    drop((sa_samples, isa_samples));
    match &mut sa {
        SuffixArray::I32(v) => bwt_in_place(v, &stream, &alphabet),
        SuffixArray::I64(v) => bwt_in_place(v, &stream, &alphabet),
    }
    drop(stream);
    times.add("fm_bwt", clock.elapsed().as_secs_f64());

    let clock = Instant::now();
    let bwt = match &sa {
        SuffixArray::I32(v) => ranks::encode(
            n,
            primary,
            &alphabet.symbols,
            &alphabet.counts,
            ranks::BLOCK_LOG,
            |r| v[r as usize] as u32,
        ),
        SuffixArray::I64(v) => ranks::encode(
            n,
            primary,
            &alphabet.symbols,
            &alphabet.counts,
            ranks::BLOCK_LOG,
            |r| v[r as usize] as u32,
        ),
    }?;
    drop(sa);
    times.add("fm_wavelet", clock.elapsed().as_secs_f64());

    let clock = Instant::now();
    put(BWT_FILE, &bwt)?;
    times.add("write", clock.elapsed().as_secs_f64());
    Ok(FmManifest {
        stream_len: n,
        sa_sample: params.sa_sample,
        isa_sample: params.isa_sample,
        sample_bits,
        files,
    })
}

/// Suffix-array entries as i32 or i64.
trait SaEntry: Copy + Send + Sync {
    fn get(self) -> u64;
    fn put(v: u32) -> Self;
}

impl SaEntry for i32 {
    fn get(self) -> u64 {
        self as u64
    }
    fn put(v: u32) -> Self {
        v as i32
    }
}

impl SaEntry for i64 {
    fn get(self) -> u64 {
        self as u64
    }
    fn put(v: u32) -> Self {
        v as i64
    }
}

/// The row of the whole reversed stream (`primary`), the suffix-array samples at every
/// `sa_sample`-th row and the rows of every `isa_sample`-th position, bit-packed as they are
/// read (they live next to the stream and its suffix array: the build's peak).
fn samples<E: SaEntry>(sa: &[E], params: FmParams, bits: u32) -> (u64, Vec<u8>, Vec<u8>) {
    let n = sa.len() as u64;
    let (s, t) = (params.sa_sample, params.isa_sample);
    let (sa_len, isa_len) = (n.div_ceil(s), n.div_ceil(t));
    let mut sa_bits = BitBuf {
        words: Vec::with_capacity((sa_len * bits as u64 / 64 + 1) as usize),
        len: 0,
    };
    let mut isa_bits = BitBuf::zeros(isa_len * bits as u64);
    let mut primary = 0;
    // Sampled positions by shift and mask when the rate is a power of two (the defaults): a
    // 64-bit division per entry would be most of this pass.
    let t_shift = t.is_power_of_two().then(|| t.trailing_zeros());
    let mut next_row = 0u64;
    for (r, e) in sa.iter().enumerate() {
        let (r, i) = (r as u64, e.get());
        if r == next_row {
            sa_bits.push(i, bits);
            next_row += s;
        }
        let j = match t_shift {
            Some(k) => (i & (t - 1) == 0).then_some(i >> k),
            None => (i % t == 0).then(|| i / t),
        };
        if let Some(j) = j {
            isa_bits.put(j * bits as u64, r, bits);
        }
        if i == 0 {
            primary = r;
        }
    }
    (
        primary,
        sa_bits.into_packed(sa_len, bits),
        isa_bits.into_packed(isa_len, bits),
    )
}

/// Replaces every suffix-array entry by the dense id of the BWT symbol of its row (the
/// separator's for the row without one).
fn bwt_in_place<E: SaEntry, T: Token>(sa: &mut [E], reversed: &[T], alphabet: &Alphabet) {
    let sep = alphabet.id(T::SEPARATOR.to_u32()).unwrap_or(0);
    sa.par_iter_mut().for_each(|e| {
        let d = match e.get() {
            0 => sep,
            i => alphabet
                .id(reversed[i as usize - 1].to_u32())
                .unwrap_or(sep),
        };
        *e = E::put(d);
    });
}
