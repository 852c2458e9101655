//! Suffix-array construction with libsais (through the `libsais` crate).
//!
//! The separator is the largest symbol, so every suffix that starts with a separator sorts after
//! all suffixes that start with a real token: dropping them is truncating the array to the number
//! of real tokens. Tokens compare by numeric value (libsais' order for u8/u16 input), which is
//! also the order the query code compares in.

use libsais::suffix_array::AlphabetSize;
use libsais::{SuffixArrayConstruction, ThreadCount};

use crate::error::{AnygramError, Result};
use crate::token::{Token, TokenWidth};

/// A suffix array in the narrowest integer type libsais can build it in.
pub enum SuffixArray {
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl SuffixArray {
    pub fn len(&self) -> usize {
        match self {
            SuffixArray::I32(v) => v.len(),
            SuffixArray::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the first `n` entries (the suffixes that start with a real token).
    pub fn truncate(&mut self, n: usize) {
        match self {
            SuffixArray::I32(v) => v.truncate(n),
            SuffixArray::I64(v) => v.truncate(n),
        }
    }

    /// The entries bit-packed into `bits` bits each, on all threads.
    pub fn pack(&self, bits: u32) -> Vec<u8> {
        match self {
            SuffixArray::I32(v) => crate::packed::pack(v, bits, |x| x as u64),
            SuffixArray::I64(v) => crate::packed::pack(v, bits, |x| x as u64),
        }
    }
}

pub(crate) fn threads(workers: usize) -> ThreadCount {
    ThreadCount::fixed(workers.clamp(1, u16::MAX as usize) as u16)
}

pub(crate) fn sais_err(e: libsais::LibsaisError) -> AnygramError {
    AnygramError::InvalidArgument(format!("suffix array construction failed: {e:?}"))
}

/// libsais on a u8 or u16 text, with 64-bit output when the text is too long for 32 bits.
fn sort_small<I>(text: &[I], large: bool, workers: usize) -> Result<SuffixArray>
where
    I: libsais::SmallAlphabet,
    i32: libsais::IsValidOutputFor<I>,
    i64: libsais::IsValidOutputFor<I>,
{
    let c = SuffixArrayConstruction::for_text(text);
    Ok(if large {
        let run = c.in_owned_buffer64().multi_threaded(threads(workers)).run();
        SuffixArray::I64(run.map_err(sais_err)?.into_vec())
    } else {
        let run = c.in_owned_buffer32().multi_threaded(threads(workers)).run();
        SuffixArray::I32(run.map_err(sais_err)?.into_vec())
    })
}

/// Builds the suffix array of a separator-delimited stream whose real tokens are `< vocab_size`,
/// and keeps only the suffixes that start with a real token (`num_tokens` of them).
/// The text of libsais' integer variant, whose symbols are in [0, k): ids as they are, the
/// separator as `sep` (the vocabulary size), which keeps it the largest symbol.
pub(crate) fn integer_text<T: Token, I>(stream: &[T], sep: u32, to: impl Fn(u32) -> I) -> Vec<I> {
    stream
        .iter()
        .map(|&t| to(if t == T::SEPARATOR { sep } else { t.to_u32() }))
        .collect()
}

pub fn build<T: Token>(
    stream: &[T],
    vocab_size: u64,
    num_tokens: u64,
    workers: usize,
) -> Result<SuffixArray> {
    let large = stream.len() > i32::MAX as usize;
    let mut sa = match T::WIDTH {
        TokenWidth::U8 => sort_small(bytemuck::cast_slice::<T, u8>(stream), large, workers)?,
        TokenWidth::U16 => sort_small(bytemuck::cast_slice::<T, u16>(stream), large, workers)?,
        TokenWidth::U32 => {
            // libsais' integer variant takes symbols in [0, k): the separator becomes k - 1,
            // which keeps it the largest symbol.
            let sep = vocab_size;
            if large {
                let mut text = integer_text(stream, sep as u32, i64::from);
                let mut c = SuffixArrayConstruction::for_text_mut(&mut text)
                    .in_owned_buffer64()
                    .multi_threaded(threads(workers));
                // SAFETY: every symbol is in [0, vocab_size]: ids were checked < vocab_size.
                unsafe { c = c.with_alphabet_size(AlphabetSize::new(sep as i64 + 1)) };
                SuffixArray::I64(c.run().map_err(sais_err)?.into_vec())
            } else {
                let mut text = integer_text(stream, sep as u32, |v| v as i32);
                let mut c = SuffixArrayConstruction::for_text_mut(&mut text)
                    .in_owned_buffer32()
                    .multi_threaded(threads(workers));
                // SAFETY: as above; vocab_size < i32::MAX is enforced by TokenWidth::max_vocab.
                unsafe { c = c.with_alphabet_size(AlphabetSize::new(sep as i32 + 1)) };
                SuffixArray::I32(c.run().map_err(sais_err)?.into_vec())
            }
        }
    };
    sa.truncate(num_tokens as usize);
    Ok(sa)
}
