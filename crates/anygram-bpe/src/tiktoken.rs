//! Loading tiktoken rank files.
//!
//! tiktoken merges the adjacent pair whose *concatenation* has the lowest rank, and emits a
//! piece that is itself a token directly. Both map onto [`Merges`]: every way of splitting a
//! token into two tokens is a merge whose rank is the token's rank (ties between splits of the
//! same token resolve leftmost, as in tiktoken's scan), and `whole` is the direct lookup.

use base64::Engine as _;
use rustc_hash::FxHashMap;

use crate::added::AddedVocab;
use crate::bpe::Merges;
use crate::{next_uid, BpeError, BpeTokenizer, PreTokenizer, TiktokenPattern};

/// The split patterns exactly as published in `tiktoken_ext/openai_public.py`.
fn pattern_str(p: TiktokenPattern) -> String {
    match p {
        TiktokenPattern::R50k => {
            r"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"
                .to_owned()
        }
        TiktokenPattern::Cl100k => concat!(
            r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|",
            r" ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"
        )
        .to_owned(),
        TiktokenPattern::O200k => [
            r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            r"\p{N}{1,3}",
            r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
            r"\s*[\r\n]+",
            r"\s+(?!\S)",
            r"\s+",
        ]
        .join("|"),
    }
}

pub(crate) fn load(text: &str, pattern: TiktokenPattern) -> Result<BpeTokenizer, BpeError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut ranks: FxHashMap<Box<[u8]>, u32> = FxHashMap::default();
    let mut tokens: Vec<Option<Box<[u8]>>> = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || BpeError::Invalid(format!("tiktoken line {}: {line:?}", lineno + 1));
        let mut parts = line.split_whitespace();
        let (Some(tok), Some(rank), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let bytes: Box<[u8]> = b64.decode(tok).map_err(|_| bad())?.into();
        let rank: u32 = rank.parse().map_err(|_| bad())?;
        let slot = rank as usize;
        if tokens.len() <= slot {
            tokens.resize(slot + 1, None);
        }
        if tokens[slot].is_some() {
            return Err(BpeError::Invalid(format!(
                "tiktoken rank {rank} is used twice"
            )));
        }
        tokens[slot] = Some(bytes.clone());
        ranks.insert(bytes, rank);
    }

    let mut byte_ids = [0u32; 256];
    for (b, slot) in byte_ids.iter_mut().enumerate() {
        *slot = *ranks.get(&[b as u8][..]).ok_or_else(|| {
            BpeError::Unsupported(format!("tiktoken file has no token for byte 0x{b:02x}"))
        })?;
    }
    let mut pairs: FxHashMap<u64, u64> = FxHashMap::default();
    for (tok, &rank) in &ranks {
        for k in 1..tok.len() {
            if let (Some(&a), Some(&b)) = (ranks.get(&tok[..k]), ranks.get(&tok[k..])) {
                pairs.insert(
                    (u64::from(a) << 32) | u64::from(b),
                    (u64::from(rank) << 32) | u64::from(rank),
                );
            }
        }
    }
    let re = fancy_regex::Regex::new(&pattern_str(pattern))
        .map_err(|e| BpeError::Invalid(format!("tiktoken pattern: {e}")))?;
    Ok(BpeTokenizer {
        uid: next_uid(),
        merges: Merges {
            byte_ids,
            pairs,
            whole: Some(ranks),
            missing: false,
        },
        pretok: PreTokenizer::Regex(re),
        added: AddedVocab::new(&[])?,
        tokens,
    })
}
