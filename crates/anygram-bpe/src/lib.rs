//! A fast, exact byte-level BPE encoder for anygram's index builder.
//!
//! The index builder tokenizes whole corpora, and the Hugging Face `tokenizers` library does
//! only a couple of MB/s per core there. This crate produces exactly the same ids for the
//! tokenizers that matter (byte-level BPE, as trained by `tokenizers`' `BpeTrainer` with a
//! `ByteLevel` pre-tokenizer, and tiktoken vocabularies) and refuses, with
//! [`BpeError::Unsupported`], any `tokenizer.json` feature it does not replicate, so the caller
//! can fall back to the reference library instead of silently getting different ids.
//!
//! The pipeline for one text:
//!
//! 1. **Added tokens** (`added_tokens` of `tokenizer.json`, e.g. `<|endoftext|>`) are split out
//!    first, exactly like HF's `AddedVocabulary` (see `added.rs`).
//! 2. **Pre-tokenization** cuts the rest into pieces with the GPT-2 regex, replayed by a
//!    hand-written scanner (`pretok.rs`), optionally after isolating every digit (HF's
//!    `Digits { individual_digits: true }`, as in SmolLM and StarCoder); tiktoken patterns run on `fancy-regex`, the engine
//!    tiktoken itself uses.
//! 3. **BPE** merges each piece's raw bytes by merge rank (`bpe.rs`). Vocabulary and merges are
//!    translated from GPT-2's printable-character spelling to raw bytes once at load time, so
//!    the hot path never maps bytes to characters. A per-thread piece → ids cache makes a
//!    repeated piece cost one hash lookup.

mod added;
mod bpe;
mod bytelevel;
mod hf;
mod pretok;
mod tiktoken;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::added::{AddedVocab, Segment};
use crate::bpe::{Merges, PieceCache};
use crate::pretok::Gpt2Splitter;

/// Why a tokenizer could not be loaded or ids could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum BpeError {
    /// Reading a tokenizer file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The tokenizer uses a feature the fast path does not replicate exactly; fall back to the
    /// `tokenizers` library for it. The message names the feature.
    #[error("unsupported by anygram-bpe: {0}")]
    Unsupported(String),
    /// The input is malformed (bad JSON, inconsistent vocabulary, unknown token id, ...).
    #[error("invalid input: {0}")]
    Invalid(String),
}

/// Which published tiktoken split pattern goes with a `.tiktoken` rank file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TiktokenPattern {
    /// `cl100k_base` (GPT-3.5/4).
    Cl100k,
    /// `o200k_base` (GPT-4o), with its case-sensitive letter classes.
    O200k,
    /// `r50k_base` / `p50k_base` / `gpt2`: the GPT-2 pattern.
    R50k,
}

/// How the text between added tokens is cut into pieces.
enum PreTokenizer {
    /// HF `ByteLevel` with `use_regex: true`; with `digits`, preceded by HF
    /// `Digits { individual_digits: true }` in a `Sequence` (then `add_prefix_space` is false).
    Gpt2 {
        add_prefix_space: bool,
        digits: bool,
        splitter: Gpt2Splitter,
    },
    /// HF `ByteLevel` with `use_regex: false`: the segment is one piece.
    Whole { add_prefix_space: bool },
    /// A tiktoken pattern, on the same regex engine tiktoken uses.
    Regex(fancy_regex::Regex),
}

/// A loaded byte-level BPE tokenizer.
///
/// Immutable after loading, so it is `Send + Sync` and one instance serves all threads; the
/// piece caches live in thread-locals keyed by [`BpeTokenizer`]'s private id rather than in the
/// struct, so `encode` takes `&self` without any lock.
pub struct BpeTokenizer {
    uid: u64,
    merges: Merges,
    pretok: PreTokenizer,
    added: AddedVocab,
    /// Raw bytes per id; `None` for ids no token has.
    tokens: Vec<Option<Box<[u8]>>>,
}

impl std::fmt::Debug for BpeTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BpeTokenizer")
            .field("vocab_size", &self.vocab_size())
            .finish_non_exhaustive()
    }
}

fn next_uid() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn read_file(path: &Path) -> Result<String, BpeError> {
    std::fs::read_to_string(path).map_err(|source| BpeError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl BpeTokenizer {
    /// Load a Hugging Face `tokenizer.json`; [`BpeError::Unsupported`] names the first feature
    /// outside the fast path (see the crate docs and `hf.rs` for the exact list).
    pub fn from_tokenizer_json_str(json: &str) -> Result<Self, BpeError> {
        hf::load(json)
    }

    /// [`Self::from_tokenizer_json_str`] on a file.
    pub fn from_tokenizer_json_file(path: &Path) -> Result<Self, BpeError> {
        Self::from_tokenizer_json_str(&read_file(path)?)
    }

    /// Load a tiktoken rank file (`base64(token) rank` per line); ids are the ranks. Special
    /// tokens are not part of such files, so none are recognised in the text (like tiktoken's
    /// `encode_ordinary`).
    pub fn from_tiktoken_file(path: &Path, pattern: TiktokenPattern) -> Result<Self, BpeError> {
        tiktoken::load(&read_file(path)?, pattern)
    }

    /// Token ids of `text`, as HF `encode(text, add_special_tokens=False).ids` (added and special
    /// tokens written literally in the text are still recognised, as HF does).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        self.encode_into(text, &mut out);
        out
    }

    /// Like [`Self::encode`], but appends to `out` so the index builder can reuse its buffers.
    pub fn encode_into(&self, text: &str, out: &mut Vec<u32>) {
        bpe::with_cache(self.uid, |cache| {
            if self.added.is_empty() {
                self.encode_segment(text, cache, out);
            } else {
                self.added.split(text, &mut |seg| match seg {
                    Segment::Token(id) => out.push(id),
                    Segment::Text(s) => self.encode_segment(s, cache, out),
                });
            }
        });
    }

    /// [`Self::encode`] over many texts on the rayon thread pool.
    pub fn encode_batch(&self, texts: &[&str]) -> Vec<Vec<u32>> {
        texts.par_iter().map(|t| self.encode(t)).collect()
    }

    /// The raw bytes the ids stand for, concatenated (what HF's `ByteLevel` decoder yields
    /// before UTF-8 decoding). Added tokens give their content's UTF-8 bytes, so that
    /// `decode_bytes(encode(s)) == s.as_bytes()` holds whenever the vocabulary has a token for
    /// every byte (bytes without one are dropped by `encode`, as HF does).
    pub fn decode_bytes(&self, ids: &[u32]) -> Result<Vec<u8>, BpeError> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            let bytes = self
                .token_bytes(id)
                .ok_or_else(|| BpeError::Invalid(format!("unknown token id {id}")))?;
            out.extend_from_slice(bytes);
        }
        Ok(out)
    }

    /// One more than the largest id, added and special tokens included: the size an id array
    /// indexed by token must have (ids need not be dense).
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// Raw bytes of one token, or `None` for an id no token has.
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        self.tokens.get(id as usize)?.as_deref()
    }

    /// Pre-tokenize one non-empty segment (text between added tokens) and BPE its pieces.
    fn encode_segment(&self, text: &str, cache: &mut PieceCache, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        let merges = &self.merges;
        match &self.pretok {
            PreTokenizer::Gpt2 {
                digits: true,
                splitter,
                ..
            } => splitter.split_digits(text, |p| cache.encode(merges, p, out)),
            PreTokenizer::Gpt2 {
                add_prefix_space,
                digits: false,
                splitter,
            } => {
                if *add_prefix_space && !text.starts_with(' ') {
                    let prefixed = format!(" {text}");
                    splitter.split(&prefixed, |p| cache.encode(merges, p, out));
                } else {
                    splitter.split(text, |p| cache.encode(merges, p, out));
                }
            }
            PreTokenizer::Whole { add_prefix_space } => {
                if *add_prefix_space && !text.starts_with(' ') {
                    cache.encode(merges, format!(" {text}").as_bytes(), out);
                } else {
                    cache.encode(merges, text.as_bytes(), out);
                }
            }
            PreTokenizer::Regex(re) => {
                // Like tiktoken, only matched text is encoded (the published patterns match
                // every character, so nothing is lost).
                let mut last = 0;
                for m in re.find_iter(text) {
                    match m {
                        Ok(m) => {
                            cache.encode(merges, m.as_str().as_bytes(), out);
                            last = m.end();
                        }
                        // Backtracking limit hit, where tiktoken would panic: keep the ids
                        // complete by encoding the rest as one piece.
                        Err(_) => {
                            cache.encode(merges, &text.as_bytes()[last..], out);
                            break;
                        }
                    }
                }
            }
        }
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<BpeTokenizer>();
}
