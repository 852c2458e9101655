//! Building one shard's FM-index from its token stream: reverse the stream, have libsais turn
//! it into its BWT in place, with the rows of every `sa_sample`-th position (its auxiliary
//! indices: the text-order samples, `samples.rs`), then encode the BWT's rank structure
//! (`ranks.rs`). The suffix array is never held, so the peak is the stream
//! plus libsais' 4 (8 past 2^31 symbols) bytes per symbol of working space.
//!
//! libsais has no BWT mode for integer alphabets, and its auxiliary indices need a power-of-two
//! rate: u32 ids and other rates sort the suffix array (as the suffix-array kind) and read the
//! same samples and the BWT off it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;

use super::ranks;
use super::samples::SamplesWriter;
#[cfg(test)]
use super::FM_FILES;
use super::{FmManifest, FmParams, BWT_FILE, SAMPLES_FILE};
use crate::build::shard_writer::PhaseTimes;
use crate::error::{AnygramError, Result};
use crate::format;
use crate::packed;
use crate::suffix_array::{self, SuffixArray};
use crate::token::{Token, TokenWidth};

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

/// The finished BWT, as the construction left it.
enum FinishedBwt<T> {
    /// The BWT's symbols, and the dense id of every symbol value.
    Symbols(Vec<T>, Vec<u32>),
    /// Dense ids in the suffix array's buffer.
    Ids32(Vec<i32>),
    Ids64(Vec<i64>),
}

/// Writes the FM files of one shard whose stream is `stream` (`SEP doc0 SEP ... SEP`) into
/// `dir`, which must exist. The stream is taken by value, reversed, and becomes the BWT.
pub fn write<T: Token>(
    dir: &Path,
    stream: Vec<T>,
    vocab_size: u64,
    params: FmParams,
    workers: usize,
    times: &mut PhaseTimes,
) -> Result<FmManifest> {
    write_by(dir, stream, vocab_size, params, workers, times, true)
}

/// [`write`], with libsais' BWT mode only if `bwt_mode` (tests compare both constructions).
fn write_by<T: Token>(
    dir: &Path,
    mut stream: Vec<T>,
    vocab_size: u64,
    params: FmParams,
    workers: usize,
    times: &mut PhaseTimes,
    bwt_mode: bool,
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

    let s = params.sa_sample;
    let in_place = bwt_mode && T::WIDTH != TokenWidth::U32 && s >= 2 && s.is_power_of_two();
    let samples_writer = SamplesWriter::new(n, s, params.isa_sample);
    let (primary, samples, bwt) = if in_place {
        let clock = Instant::now();
        let (primary, aux) = match T::WIDTH {
            TokenWidth::U8 => {
                bwt_in_place(bytemuck::cast_slice_mut::<T, u8>(&mut stream), s, workers)?
            }
            _ => bwt_in_place(bytemuck::cast_slice_mut::<T, u16>(&mut stream), s, workers)?,
        };
        times.add("bwt_sort", clock.elapsed().as_secs_f64());
        let clock = Instant::now();
        let samples = samples_writer.from_positions(aux.iter().copied())?;
        drop(aux);
        times.add("fm_samples", clock.elapsed().as_secs_f64());
        let sep = alphabet.id(T::SEPARATOR.to_u32()).unwrap_or(0);
        let table: Vec<u32> = (0..=T::SEPARATOR.to_u32())
            .map(|v| alphabet.id(v).unwrap_or(sep))
            .collect();
        (primary, samples, FinishedBwt::Symbols(stream, table))
    } else {
        let clock = Instant::now();
        let mut sa = suffix_array::build(&stream, vocab_size, n, workers)?;
        times.add("suffix_sort", clock.elapsed().as_secs_f64());
        let clock = Instant::now();
        if sa.len() as u64 != n {
            return Err(AnygramError::InvalidArgument(
                "suffix array length differs from the stream".into(),
            ));
        }
        let (primary, samples) = match &sa {
            SuffixArray::I32(v) => sa_samples(v, samples_writer)?,
            SuffixArray::I64(v) => sa_samples(v, samples_writer)?,
        };
        match &mut sa {
            SuffixArray::I32(v) => bwt_from_sa(v, &stream, &alphabet),
            SuffixArray::I64(v) => bwt_from_sa(v, &stream, &alphabet),
        }
        drop(stream);
        times.add("fm_bwt", clock.elapsed().as_secs_f64());
        let bwt = match sa {
            SuffixArray::I32(v) => FinishedBwt::Ids32(v),
            SuffixArray::I64(v) => FinishedBwt::Ids64(v),
        };
        (primary, samples, bwt)
    };
    let mut files = BTreeMap::new();
    let mut put = |name: &str, bytes: &[u8]| -> Result<()> {
        files.insert(
            name.to_string(),
            format::write_file_entry(&dir.join(name), bytes)?,
        );
        Ok(())
    };
    put(SAMPLES_FILE, &samples)?;
    drop(samples);

    let clock = Instant::now();
    // One call per buffer type, so the symbol lookup is inlined into the encoder's loop.
    let (a, bl) = (&alphabet, ranks::BLOCK_LOG);
    let bwt = match bwt {
        FinishedBwt::Symbols(v, table) => {
            ranks::encode(n, primary, &a.symbols, &a.counts, bl, |r| {
                table[v[r as usize].to_u32() as usize]
            })
        }
        FinishedBwt::Ids32(v) => ranks::encode(n, primary, &a.symbols, &a.counts, bl, |r| {
            v[r as usize] as u32
        }),
        FinishedBwt::Ids64(v) => ranks::encode(n, primary, &a.symbols, &a.counts, bl, |r| {
            v[r as usize] as u32
        }),
    }?;
    times.add("fm_wavelet", clock.elapsed().as_secs_f64());

    let clock = Instant::now();
    put(BWT_FILE, &bwt)?;
    times.add("write", clock.elapsed().as_secs_f64());
    Ok(FmManifest {
        stream_len: n,
        sa_sample: params.sa_sample,
        isa_sample: params.isa_sample,
        sample_bits: packed::bits_for(n - 1),
        files,
    })
}

/// libsais' BWT of `text` (the reversed stream) in place, in this index's row convention, with
/// the row of every `s`-th position. libsais' BWT leaves out the end-of-text row's `$`: its
/// first symbol is the end-of-text row's (`R[n - 1]`, the separator), then come the rows in
/// order without the one of `R[0..]` (`primary`). Moving that first symbol to `primary` makes
/// it the stand-in separator this index keeps there.
fn bwt_in_place<I>(text: &mut [I], s: u64, workers: usize) -> Result<(u64, Vec<u64>)>
where
    I: libsais::SmallAlphabet,
{
    use libsais::bwt::AuxIndicesSamplingRate;
    use libsais::BwtConstruction;
    let threads = suffix_array::threads(workers);
    // aux[k] - 1 is the row of position k·s (aux[0] - 1 = primary).
    let aux: Vec<u64> = if i32::try_from(text.len()).is_ok() {
        let c = BwtConstruction::replace_text(&mut *text)
            .with_owned_temporary_array_buffer32()
            .multi_threaded(threads)
            .with_aux_indices(AuxIndicesSamplingRate::from(s as i32));
        let (_, aux, _) = c.run().map_err(suffix_array::sais_err)?.into_parts();
        aux.iter().map(|&a| (a as u64).wrapping_sub(1)).collect()
    } else {
        let c = BwtConstruction::replace_text(&mut *text)
            .with_owned_temporary_array_buffer64()
            .multi_threaded(threads)
            .with_aux_indices(AuxIndicesSamplingRate::from(s as i64));
        let (_, aux, _) = c.run().map_err(suffix_array::sais_err)?.into_parts();
        aux.iter().map(|&a| (a as u64).wrapping_sub(1)).collect()
    };
    // Out-of-range rows (never from libsais) are refused here and by the samples' writer.
    let primary = aux.first().copied().unwrap_or(u64::MAX);
    let head = text
        .get_mut(..=primary as usize)
        .ok_or_else(|| AnygramError::InvalidArgument("libsais gave no primary index".into()))?;
    head.rotate_left(1);
    Ok((primary, aux))
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

/// The row of the whole reversed stream (`primary`) and the samples, read off the suffix array.
fn sa_samples<E: SaEntry>(sa: &[E], w: SamplesWriter) -> Result<(u64, Vec<u8>)> {
    let primary = sa.par_iter().position_any(|e| e.get() == 0).unwrap_or(0) as u64;
    Ok((primary, w.from_rows(sa.iter().map(|e| e.get()))?))
}

/// Replaces every suffix-array entry by the dense id of the BWT symbol of its row (the
/// separator's for the row without one).
fn bwt_from_sa<E: SaEntry, T: Token>(sa: &mut [E], reversed: &[T], alphabet: &Alphabet) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// libsais' BWT mode and the suffix-array route write the same bytes.
    #[test]
    fn bwt_mode_writes_what_the_suffix_array_route_writes() {
        let mut stream: Vec<u8> = vec![u8::SEPARATOR];
        for d in 0..300u32 {
            stream.extend(
                (0..(d * 37) % 61).map(|i| [b'a', b'b', b'c', 0, 0xFE][((i * d) % 5) as usize]),
            );
            stream.push(u8::SEPARATOR);
        }
        let wide: Vec<u16> = stream
            .iter()
            .map(|&b| {
                if b == 0xFF {
                    u16::SEPARATOR
                } else {
                    b as u16 * 257
                }
            })
            .collect();
        for (s, t) in [(2u64, 1u64), (4, 3), (32, 64)] {
            let p = FmParams {
                sa_sample: s,
                isa_sample: t,
            };
            let files = |bwt_mode: bool, wide_ids: bool| {
                let dir = tempfile::tempdir().unwrap();
                let mut times = PhaseTimes::default();
                if wide_ids {
                    write_by(dir.path(), wide.clone(), 65535, p, 1, &mut times, bwt_mode).unwrap();
                } else {
                    write_by(dir.path(), stream.clone(), 255, p, 1, &mut times, bwt_mode).unwrap();
                }
                FM_FILES.map(|f| std::fs::read(dir.path().join(f)).unwrap())
            };
            assert!(files(true, false) == files(false, false), "u8 at {s}/{t}");
            assert!(files(true, true) == files(false, true), "u16 at {s}/{t}");
        }
    }
}
