//! Ids must equal those of the Python `tokenizers` library (tests/data/golden.json, made by
//! tests/data/make_golden.py) for every variant of the small test tokenizer, and the variants
//! the fast path does not cover must be refused as `Unsupported`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use anygram_bpe::{BpeError, BpeTokenizer};
use serde_json::Value;

const TOKENIZER: &str = include_str!("data/tok1000.json");
const GOLDEN: &str = include_str!("data/golden.json");

/// Replays make_golden.py's `apply`: JSON-pointer sets (appending at list end) plus
/// `merges_as_strings`.
fn apply(base: &Value, edits: &[Value]) -> Value {
    let mut tok = base.clone();
    for edit in edits {
        let (ptr, value) = (edit[0].as_str().unwrap(), edit[1].clone());
        if ptr == "merges_as_strings" {
            let merges = tok["model"]["merges"].as_array_mut().unwrap();
            for m in merges.iter_mut() {
                let s = format!("{} {}", m[0].as_str().unwrap(), m[1].as_str().unwrap());
                *m = Value::String(s);
            }
            continue;
        }
        let (parent, last) = ptr.rsplit_once('/').unwrap();
        let node = tok.pointer_mut(parent).unwrap();
        match node {
            Value::Array(list) => {
                let i: usize = last.parse().unwrap();
                if i == list.len() {
                    list.push(value);
                } else {
                    list[i] = value;
                }
            }
            Value::Object(map) => {
                map.insert(last.to_owned(), value);
            }
            _ => panic!("cannot edit {ptr}"),
        }
    }
    tok
}

#[test]
fn matches_tokenizers_library() {
    let base: Value = serde_json::from_str(TOKENIZER).unwrap();
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let texts: Vec<&str> = golden["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let mut checked = 0;
    for variant in golden["variants"].as_array().unwrap() {
        let name = variant["name"].as_str().unwrap();
        let json = apply(&base, variant["edits"].as_array().unwrap()).to_string();
        let loaded = BpeTokenizer::from_tokenizer_json_str(&json);
        if !variant["supported"].as_bool().unwrap() {
            assert!(
                matches!(loaded, Err(BpeError::Unsupported(_))),
                "{name}: expected Unsupported, got {loaded:?}"
            );
            continue;
        }
        let tok = loaded.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            tok.vocab_size() as u64,
            variant["vocab_size"].as_u64().unwrap(),
            "{name}"
        );
        let want_all = variant["ids"].as_array().unwrap();
        for (text, want) in texts.iter().zip(want_all) {
            let want: Vec<u32> = want
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            assert_eq!(tok.encode(text), want, "{name}: {text:?}");
            // encode_into appends.
            let mut buf = vec![7];
            tok.encode_into(text, &mut buf);
            assert_eq!(buf[1..], want[..], "{name}: {text:?}");
            checked += 1;
        }
        let batch = tok.encode_batch(&texts);
        for (text, (got, want)) in texts.iter().zip(batch.iter().zip(want_all)) {
            let want: Vec<u64> = want
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            let got: Vec<u64> = got.iter().map(|&i| u64::from(i)).collect();
            assert_eq!(got, want, "{name}: batch {text:?}");
        }
    }
    assert!(checked > 100);
}

#[test]
fn decode_bytes_and_token_bytes() {
    let tok = BpeTokenizer::from_tokenizer_json_str(TOKENIZER).unwrap();
    let text = "x<|endoftext|> héllo\n\tworld 😀";
    let ids = tok.encode(text);
    assert_eq!(tok.decode_bytes(&ids).unwrap(), text.as_bytes());
    assert_eq!(tok.token_bytes(0), Some(&b"<|endoftext|>"[..]));
    assert_eq!(tok.vocab_size(), 1000);
    assert!(tok.token_bytes(1000).is_none());
    assert!(matches!(
        tok.decode_bytes(&[1, 1_000_000]),
        Err(BpeError::Invalid(_))
    ));
}

#[test]
fn errors_name_the_problem() {
    assert!(matches!(
        BpeTokenizer::from_tokenizer_json_str("{not json"),
        Err(BpeError::Invalid(_))
    ));
    let missing =
        BpeTokenizer::from_tokenizer_json_file(std::path::Path::new("/nonexistent/t.json"));
    assert!(matches!(missing, Err(BpeError::Io { .. })));
    let mut unigram: Value = serde_json::from_str(TOKENIZER).unwrap();
    unigram["model"]["type"] = Value::String("Unigram".into());
    match BpeTokenizer::from_tokenizer_json_str(&unigram.to_string()) {
        Err(BpeError::Unsupported(msg)) => assert!(msg.contains("Unigram"), "{msg}"),
        other => panic!("{other:?}"),
    }
}
