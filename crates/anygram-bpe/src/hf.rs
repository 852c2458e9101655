//! Loading a Hugging Face `tokenizer.json` onto the fast path.
//!
//! Covered, and checked field by field so that anything else is refused rather than
//! approximated:
//! - `model`: `BPE` with `vocab` and `merges` (`"a b"` strings or `["a", "b"]` pairs), no
//!   `dropout`, `byte_fallback` false, empty `continuing_subword_prefix`/`end_of_word_suffix`,
//!   any `ignore_merges`; `unk_token`/`fuse_unk` are irrelevant when every byte has a token (the
//!   unknown token can never be produced); a vocabulary lacking some bytes is accepted only
//!   without `unk_token`, and those bytes are then dropped before merging, as HF does;
//! - `normalizer`: none (or an empty `Sequence`);
//! - `pre_tokenizer`: `ByteLevel` (any `add_prefix_space`, `use_regex`, `trim_offsets`), alone or
//!   as the single member of a `Sequence`; or a `Sequence` of `Digits` with `individual_digits`
//!   true and then `ByteLevel` with `use_regex` true and `add_prefix_space` false (SmolLM,
//!   StarCoder). `Digits` with `individual_digits` false (digit runs kept together) and the
//!   other `ByteLevel` settings after `Digits` (HF prefixes a space to *every* piece then) are
//!   refused;
//! - `decoder`: `ByteLevel` or none;
//! - `truncation`/`padding`: none (they would change the ids of `encode`);
//! - `post_processor`: anything, since `add_special_tokens=False` never runs it;
//! - `added_tokens`: any, with `single_word`/`lstrip`/`rstrip`/`normalized`; their ids are
//!   re-derived the way `tokenizers` does on load (it ignores the stored ids).

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use crate::added::{AddedToken, AddedVocab};
use crate::bpe::{Merges, MISSING};
use crate::bytelevel::CharToByte;
use crate::pretok::Gpt2Splitter;
use crate::{next_uid, BpeError, BpeTokenizer, PreTokenizer};

fn unsupported(msg: impl Into<String>) -> BpeError {
    BpeError::Unsupported(msg.into())
}

fn invalid(msg: impl Into<String>) -> BpeError {
    BpeError::Invalid(msg.into())
}

fn is_null(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

fn type_of(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or("<no type>")
}

fn bool_field(obj: &Value, key: &str, default: bool) -> Result<bool, BpeError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid(format!("`{key}` must be a boolean, got {other}"))),
    }
}

/// The pre-tokenizer settings the fast path replicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PreTokSpec {
    /// `ByteLevel.add_prefix_space`.
    add_prefix_space: bool,
    /// `ByteLevel.use_regex`.
    use_regex: bool,
    /// A `Digits { individual_digits: true }` before the `ByteLevel`.
    digits: bool,
}

fn byte_level(pt: &Value) -> Result<PreTokSpec, BpeError> {
    match type_of(pt) {
        "ByteLevel" => Ok(PreTokSpec {
            add_prefix_space: bool_field(pt, "add_prefix_space", true)?,
            use_regex: bool_field(pt, "use_regex", true)?,
            digits: false,
        }),
        "Sequence" => match pt.get("pretokenizers").and_then(Value::as_array) {
            Some(list) if list.len() == 1 && type_of(&list[0]) == "ByteLevel" => {
                byte_level(&list[0])
            }
            Some(list)
                if list.len() == 2
                    && type_of(&list[0]) == "Digits"
                    && type_of(&list[1]) == "ByteLevel" =>
            {
                if !bool_field(&list[0], "individual_digits", false)? {
                    return Err(unsupported(
                        "pre_tokenizer Digits with individual_digits false",
                    ));
                }
                let spec = byte_level(&list[1])?;
                // After Digits, HF's ByteLevel prefixes a space to every piece, not only to the
                // text's start; `use_regex: false` would keep each stretch whole. Neither is a
                // published setup, so neither is replicated.
                if spec.add_prefix_space || !spec.use_regex {
                    return Err(unsupported(
                        "pre_tokenizer Digits followed by ByteLevel other than \
                         add_prefix_space=false, use_regex=true",
                    ));
                }
                Ok(PreTokSpec {
                    digits: true,
                    ..spec
                })
            }
            _ => Err(unsupported(
                "pre_tokenizer Sequence other than ByteLevel alone or Digits then ByteLevel",
            )),
        },
        other => Err(unsupported(format!("pre_tokenizer type {other}"))),
    }
}

fn check_pipeline(root: &Value) -> Result<PreTokSpec, BpeError> {
    for key in ["truncation", "padding"] {
        if !is_null(root.get(key)) {
            return Err(unsupported(format!("`{key}` is set")));
        }
    }
    if let Some(n) = root.get("normalizer").filter(|v| !v.is_null()) {
        let empty_seq = type_of(n) == "Sequence"
            && n.get("normalizers")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty);
        if !empty_seq {
            return Err(unsupported(format!("normalizer {}", type_of(n))));
        }
    }
    if let Some(d) = root.get("decoder").filter(|v| !v.is_null()) {
        if type_of(d) != "ByteLevel" {
            return Err(unsupported(format!("decoder {}", type_of(d))));
        }
    }
    match root.get("pre_tokenizer").filter(|v| !v.is_null()) {
        Some(pt) => byte_level(pt),
        None => Err(unsupported("no pre_tokenizer (not byte-level)")),
    }
}

fn check_model(model: &Value) -> Result<bool, BpeError> {
    match model.get("type").and_then(Value::as_str) {
        Some("BPE") => {}
        None if model.get("merges").is_some() => {}
        Some(other) => return Err(unsupported(format!("model type {other}"))),
        None => return Err(unsupported("model without type or merges")),
    }
    if !is_null(model.get("dropout")) {
        return Err(unsupported("BPE dropout"));
    }
    if bool_field(model, "byte_fallback", false)? {
        return Err(unsupported("BPE byte_fallback"));
    }
    for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
        match model.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(_) => return Err(unsupported(format!("BPE {key}"))),
        }
    }
    bool_field(model, "ignore_merges", false)
}

/// `(a, b)` of one merge in either serialization.
fn merge_pair(v: &Value, rank: usize) -> Result<(&str, &str), BpeError> {
    let bad = || invalid(format!("merge #{rank} is malformed: {v}"));
    match v {
        Value::String(s) => {
            let mut parts = s.split(' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(a), Some(b), None) => Ok((a, b)),
                _ => Err(bad()),
            }
        }
        Value::Array(pair) => match pair.as_slice() {
            [Value::String(a), Value::String(b)] => Ok((a, b)),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

fn added_tokens(
    root: &Value,
    vocab: &Map<String, Value>,
    model_size: usize,
) -> Result<Vec<AddedToken>, BpeError> {
    let Some(list) = root.get("added_tokens").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| invalid("`added_tokens` must be an array"))?;
    let mut out: Vec<AddedToken> = Vec::new();
    let mut max_id: Option<u32> = None;
    for t in list {
        let content = t
            .get("content")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("added token without content: {t}")))?;
        let special = bool_field(t, "special", false)?;
        let mut tok = AddedToken {
            id: 0,
            content: content.to_owned(),
            single_word: bool_field(t, "single_word", false)?,
            lstrip: bool_field(t, "lstrip", false)?,
            rstrip: bool_field(t, "rstrip", false)?,
            normalized: bool_field(t, "normalized", !special)?,
        };
        if content.is_empty() {
            continue;
        }
        if out.iter().any(|o| o.content == tok.content) {
            return Err(unsupported(format!("added token {content:?} listed twice")));
        }
        // `tokenizers` ignores the stored id and re-derives it on load: a token already in the
        // model vocabulary takes that id, any other the next id after the model's and the
        // added tokens so far. Do the same, so ids match the library whatever the file says.
        let id = match vocab.get(content).and_then(Value::as_u64) {
            Some(v) => v as u32,
            None => match max_id {
                Some(m) if m >= model_size as u32 || model_size == 0 => m + 1,
                _ => model_size as u32,
            },
        };
        max_id = Some(max_id.map_or(id, |m| m.max(id)));
        tok.id = id;
        out.push(tok);
    }
    Ok(out)
}

pub(crate) fn load(json: &str) -> Result<BpeTokenizer, BpeError> {
    let root: Value =
        serde_json::from_str(json).map_err(|e| invalid(format!("tokenizer.json: {e}")))?;
    let model = root
        .get("model")
        .ok_or_else(|| invalid("tokenizer.json has no `model`"))?;
    let spec = check_pipeline(&root)?;
    let ignore_merges = check_model(model)?;
    let vocab = model
        .get("vocab")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("BPE model without `vocab` object"))?;
    let merges_json = model
        .get("merges")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("BPE model without `merges` array"))?;

    let c2b = CharToByte::new();
    let mut str_ids: FxHashMap<&str, u32> = FxHashMap::default();
    let mut byte_vocab: FxHashMap<Box<[u8]>, u32> = FxHashMap::default();
    let mut tokens: Vec<Option<Box<[u8]>>> = Vec::new();
    for (tok, id) in vocab {
        let id = id
            .as_u64()
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| invalid(format!("vocab id of {tok:?} is not a u32")))?;
        str_ids.insert(tok.as_str(), id);
        // Like HF's ByteLevel decoder: a string outside the byte alphabet decodes as its
        // UTF-8; such a token can never come out of byte-level BPE, only be decoded.
        let bytes = match c2b.decode(tok) {
            Some(b) => {
                byte_vocab.insert(b.clone().into(), id);
                b
            }
            None => tok.as_bytes().to_vec(),
        };
        let slot = id as usize;
        if tokens.len() <= slot {
            tokens.resize(slot + 1, None);
        }
        if tokens[slot].is_some() {
            return Err(unsupported(format!("vocab id {id} is used twice")));
        }
        tokens[slot] = Some(bytes.into());
    }
    let model_size = vocab.len();

    // A byte without a token is dropped by HF's BPE when there is no `unk_token` (the
    // `bpe.rs` `missing` path replays that); with one, it would become the unknown token.
    let mut byte_ids = [MISSING; 256];
    for (b, slot) in byte_ids.iter_mut().enumerate() {
        if let Some(&id) = byte_vocab.get(&[b as u8][..]) {
            *slot = id;
        } else if !is_null(model.get("unk_token")) {
            return Err(unsupported(format!(
                "vocab has no token for byte 0x{b:02x} and an unk_token is set"
            )));
        }
    }
    let missing = byte_ids.contains(&MISSING);

    let mut pairs: FxHashMap<u64, u64> = FxHashMap::default();
    pairs.reserve(merges_json.len());
    let mut joined = String::new();
    for (rank, m) in merges_json.iter().enumerate() {
        let (a, b) = merge_pair(m, rank)?;
        let id_of = |s: &str| {
            str_ids
                .get(s)
                .copied()
                .ok_or_else(|| invalid(format!("merge #{rank} uses {s:?}, not in vocab")))
        };
        joined.clear();
        joined.push_str(a);
        joined.push_str(b);
        let (ia, ib, im) = (id_of(a)?, id_of(b)?, id_of(&joined)?);
        // Later duplicates overwrite earlier ones, as HF's map collection does.
        pairs.insert(
            (u64::from(ia) << 32) | u64::from(ib),
            ((rank as u64) << 32) | u64::from(im),
        );
    }

    let added = added_tokens(&root, vocab, model_size)?;
    for t in &added {
        let slot = t.id as usize;
        if tokens.len() <= slot {
            tokens.resize(slot + 1, None);
        }
        tokens[slot] = Some(t.content.as_bytes().into());
    }

    let pretok = if spec.use_regex {
        PreTokenizer::Gpt2 {
            add_prefix_space: spec.add_prefix_space,
            digits: spec.digits,
            splitter: Gpt2Splitter::new(),
        }
    } else {
        PreTokenizer::Whole {
            add_prefix_space: spec.add_prefix_space,
        }
    };
    Ok(BpeTokenizer {
        uid: next_uid(),
        merges: Merges {
            byte_ids,
            pairs,
            whole: ignore_merges.then_some(byte_vocab),
            missing,
        },
        pretok,
        added: AddedVocab::new(&added)?,
        tokens,
    })
}
