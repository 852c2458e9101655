//! tiktoken rank files: ids must equal tiktoken's `encode_ordinary` for each published
//! pattern (tests/data/golden_tiktoken.json, made by tests/data/make_golden.py).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use anygram_bpe::{BpeError, BpeTokenizer, TiktokenPattern};
use serde_json::Value;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn matches_tiktoken() {
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(data("golden_tiktoken.json")).unwrap())
            .unwrap();
    let texts = golden["texts"].as_array().unwrap();
    for (name, pattern) in [
        ("r50k", TiktokenPattern::R50k),
        ("cl100k", TiktokenPattern::Cl100k),
        ("o200k", TiktokenPattern::O200k),
    ] {
        let tok = BpeTokenizer::from_tiktoken_file(&data("tok1000.tiktoken"), pattern).unwrap();
        let all = golden["patterns"][name].as_array().unwrap();
        for (text, want) in texts.iter().zip(all) {
            let text = text.as_str().unwrap();
            let want: Vec<u32> = want
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            assert_eq!(tok.encode(text), want, "{name}: {text:?}");
            assert_eq!(tok.decode_bytes(&want).unwrap(), text.as_bytes());
        }
    }
}

#[test]
fn rejects_bad_files() {
    let dir = std::env::temp_dir().join(format!("anygram-bpe-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.tiktoken");
    std::fs::write(&bad, "not-base64!! x\n").unwrap();
    let r = BpeTokenizer::from_tiktoken_file(&bad, TiktokenPattern::Cl100k);
    assert!(matches!(r, Err(BpeError::Invalid(_))), "{r:?}");
    // Only byte "a": every other byte lacks a token.
    std::fs::write(&bad, "YQ== 0\n").unwrap();
    let r = BpeTokenizer::from_tiktoken_file(&bad, TiktokenPattern::Cl100k);
    assert!(matches!(r, Err(BpeError::Unsupported(_))), "{r:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
