//! Token ranges to byte ranges of a document's UTF-8 text.
//!
//! The byte-level tokenizer's tokens are the text's bytes; a byte-level BPE token stands for a
//! fixed byte string, and a document's tokens spell its text exactly, so a token offset maps to
//! the sum of the byte lengths before it. A range may start or end inside a multi-byte
//! character (bytes and byte-level BPE tokens split characters): it is widened to whole
//! characters, so the text left is valid UTF-8 and every duplicated byte is removed.

use crate::token::Token;

/// How a token id spells bytes.
pub enum TokenBytes {
    /// Each token is one byte of the text (the byte-level tokenizer).
    Identity,
    /// Token id → its bytes (byte-level BPE, tiktoken).
    Table(Vec<Box<[u8]>>),
}

impl TokenBytes {
    /// The table of a byte-level BPE tokenizer.
    pub fn of_bpe(bpe: &anygram_bpe::BpeTokenizer) -> TokenBytes {
        let n = bpe.vocab_size() as u32;
        TokenBytes::Table(
            (0..n)
                .map(|id| bpe.token_bytes(id).unwrap_or_default().into())
                .collect(),
        )
    }

    /// The document's text bytes.
    pub fn spell<T: Token>(&self, doc: &[T]) -> Vec<u8> {
        match self {
            TokenBytes::Identity => doc.iter().map(|t| t.to_u32() as u8).collect(),
            TokenBytes::Table(table) => {
                let mut out = Vec::with_capacity(doc.len() * 4);
                for t in doc {
                    if let Some(b) = table.get(t.to_usize()) {
                        out.extend_from_slice(b);
                    }
                }
                out
            }
        }
    }

    /// The byte ranges (whole characters, merged) of the token `ranges` of `doc`, and the
    /// document's length in bytes.
    pub fn byte_ranges<T: Token>(
        &self,
        doc: &[T],
        ranges: &[(u64, u64)],
    ) -> (Vec<(u64, u64)>, u64) {
        let text = self.spell(doc);
        let offset: Box<dyn Fn(u64) -> u64> = match self {
            TokenBytes::Identity => Box::new(|i| i),
            TokenBytes::Table(table) => {
                let mut starts = Vec::with_capacity(doc.len() + 1);
                let mut at = 0u64;
                starts.push(0);
                for t in doc {
                    at += table.get(t.to_usize()).map_or(0, |b| b.len() as u64);
                    starts.push(at);
                }
                Box::new(move |i| starts[i as usize])
            }
        };
        let cont = |i: u64| (i as usize) < text.len() && text[i as usize] & 0xC0 == 0x80;
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for &(a, b) in ranges {
            let (mut a, mut b) = (offset(a), offset(b));
            while a > 0 && cont(a) {
                a -= 1;
            }
            while cont(b) {
                b += 1;
            }
            if a == b {
                continue;
            }
            match out.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        (out, text.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_widen_to_whole_characters_and_merge() {
        let text = "aé€b".as_bytes(); // a, é (2 bytes), € (3 bytes), b
        let (r, n) = TokenBytes::Identity.byte_ranges(text, &[(2, 4), (4, 5)]);
        assert_eq!((r, n), (vec![(1, 6)], 7));
        let table = TokenBytes::Table(vec![b"ab".as_slice().into(), "é".as_bytes().into()]);
        let doc: &[u16] = &[0, 1, 0];
        assert_eq!(table.byte_ranges(doc, &[(1, 2)]), (vec![(2, 4)], 6));
    }
}
