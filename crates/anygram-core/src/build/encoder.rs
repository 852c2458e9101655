//! Text → token ids for the builder. The byte-level encoder is built in; richer tokenizers
//! (BPE from a `tokenizer.json`, tiktoken files) plug in through the same trait.

/// Turns text into token ids `< vocab_size()`. Shared between threads during a build.
pub trait TextEncoder: Send + Sync {
    fn vocab_size(&self) -> u64;
    /// Appends the ids of `text` to `out`.
    fn encode_into(&self, text: &str, out: &mut Vec<u32>);
    /// True when the ids are exactly the UTF-8 bytes of the text (lets the builder copy).
    fn is_utf8_bytes(&self) -> bool {
        false
    }
}

/// One token per UTF-8 byte. UTF-8 never contains the byte 0xFF, so the vocabulary is
/// `0..255` and 0xFF is free to be the separator of a u8 index.
pub struct ByteEncoder;

/// Vocabulary of the byte-level tokenizer.
pub const BYTE_VOCAB: u64 = 255;

impl TextEncoder for ByteEncoder {
    fn vocab_size(&self) -> u64 {
        BYTE_VOCAB
    }

    fn encode_into(&self, text: &str, out: &mut Vec<u32>) {
        out.extend(text.bytes().map(u32::from));
    }

    fn is_utf8_bytes(&self) -> bool {
        true
    }
}
