//! Token widths. A shard stores its token stream as u8, u16 or u32 little-endian integers; the
//! largest value of the width is the document separator, so no real token can ever equal it and
//! no match can cross a document boundary.

use serde::{Deserialize, Serialize};

use crate::error::{AnygramError, Result};

/// The integer type of a stored token.
pub trait Token:
    Copy + Ord + Eq + std::hash::Hash + bytemuck::Pod + Send + Sync + std::fmt::Debug + 'static
{
    const WIDTH: TokenWidth;
    /// Never a real token: the all-ones value of the width.
    const SEPARATOR: Self;
    fn from_u32(v: u32) -> Self;
    fn to_u32(self) -> u32;
    #[inline]
    fn to_usize(self) -> usize {
        self.to_u32() as usize
    }
}

macro_rules! impl_token {
    ($t:ty, $w:expr) => {
        impl Token for $t {
            const WIDTH: TokenWidth = $w;
            const SEPARATOR: Self = <$t>::MAX;
            #[inline]
            fn from_u32(v: u32) -> Self {
                v as $t
            }
            #[inline]
            fn to_u32(self) -> u32 {
                self as u32
            }
        }
    };
}
impl_token!(u8, TokenWidth::U8);
impl_token!(u16, TokenWidth::U16);
impl_token!(u32, TokenWidth::U32);

/// Bytes per stored token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenWidth {
    U8,
    U16,
    U32,
}

/// Largest vocabulary a u32 index accepts: the suffix-array builder works on i32 symbols and
/// needs one more symbol for the separator.
pub const MAX_U32_VOCAB: u64 = (i32::MAX as u64) - 1;

impl TokenWidth {
    pub fn bytes(self) -> usize {
        match self {
            TokenWidth::U8 => 1,
            TokenWidth::U16 => 2,
            TokenWidth::U32 => 4,
        }
    }

    /// The largest vocabulary the width can hold next to its separator.
    pub fn max_vocab(self) -> u64 {
        match self {
            TokenWidth::U8 => u8::MAX as u64,
            TokenWidth::U16 => u16::MAX as u64,
            TokenWidth::U32 => MAX_U32_VOCAB,
        }
    }

    /// The separator value as a u32.
    pub fn separator(self) -> u32 {
        match self {
            TokenWidth::U8 => u8::MAX as u32,
            TokenWidth::U16 => u16::MAX as u32,
            TokenWidth::U32 => u32::MAX,
        }
    }

    /// The narrowest width whose ids `0..vocab_size` all differ from its separator.
    pub fn for_vocab(vocab_size: u64) -> Result<TokenWidth> {
        [TokenWidth::U8, TokenWidth::U16, TokenWidth::U32]
            .into_iter()
            .find(|w| vocab_size <= w.max_vocab())
            .ok_or_else(|| {
                AnygramError::InvalidArgument(format!(
                    "vocabulary of {vocab_size} tokens is larger than the {MAX_U32_VOCAB} anygram supports"
                ))
            })
    }

    pub fn name(self) -> &'static str {
        match self {
            TokenWidth::U8 => "u8",
            TokenWidth::U16 => "u16",
            TokenWidth::U32 => "u32",
        }
    }
}

/// Checks that every id is a real token of a vocabulary of `vocab` ids and narrows it to `T`:
/// the one gate every query's ids pass through.
pub fn checked_tokens<T: Token>(ids: &[u32], vocab: u64) -> Result<Vec<T>> {
    ids.iter()
        .map(|&id| {
            if (id as u64) < vocab {
                Ok(T::from_u32(id))
            } else {
                Err(AnygramError::TokenOutOfRange {
                    token: id as u64,
                    vocab,
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_for_vocab_leaves_room_for_the_separator() {
        assert_eq!(TokenWidth::for_vocab(255).unwrap(), TokenWidth::U8);
        assert_eq!(TokenWidth::for_vocab(256).unwrap(), TokenWidth::U16);
        assert_eq!(TokenWidth::for_vocab(65535).unwrap(), TokenWidth::U16);
        assert_eq!(TokenWidth::for_vocab(65536).unwrap(), TokenWidth::U32);
        assert!(TokenWidth::for_vocab(u64::MAX).is_err());
    }
}
