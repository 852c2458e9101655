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

/// Byte-level BPE (a `tokenizer.json` or a tiktoken file), encoded exactly like the reference
/// libraries but several times faster: pre-tokenized words are cached, so repeated words cost
/// one hash lookup.
impl TextEncoder for anygram_bpe::BpeTokenizer {
    fn vocab_size(&self) -> u64 {
        anygram_bpe::BpeTokenizer::vocab_size(self) as u64
    }

    fn encode_into(&self, text: &str, out: &mut Vec<u32>) {
        anygram_bpe::BpeTokenizer::encode_into(self, text, out)
    }
}

/// Loads an engine-side tokenizer: `kind` is `"hf-bpe"` (a `tokenizer.json`) or
/// `"tiktoken-cl100k"` / `"tiktoken-o200k"` / `"tiktoken-r50k"` (a tiktoken rank file).
pub fn load_bpe(kind: &str, path: &std::path::Path) -> crate::Result<anygram_bpe::BpeTokenizer> {
    use anygram_bpe::{BpeTokenizer, TiktokenPattern};
    let loaded = match kind {
        "hf-bpe" => BpeTokenizer::from_tokenizer_json_file(path),
        "tiktoken-cl100k" => BpeTokenizer::from_tiktoken_file(path, TiktokenPattern::Cl100k),
        "tiktoken-o200k" => BpeTokenizer::from_tiktoken_file(path, TiktokenPattern::O200k),
        "tiktoken-r50k" => BpeTokenizer::from_tiktoken_file(path, TiktokenPattern::R50k),
        other => {
            return Err(crate::AnygramError::Tokenizer(format!(
                "unknown engine tokenizer kind {other:?}"
            )))
        }
    };
    loaded.map_err(|e| match e {
        anygram_bpe::BpeError::Unsupported(what) => crate::AnygramError::Unsupported(what),
        other => crate::AnygramError::Tokenizer(format!("{}: {other}", path.display())),
    })
}
