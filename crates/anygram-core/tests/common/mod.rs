//! Shared helpers for the integration tests: building small indexes and brute-force oracles.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use anygram_core::build::{BuildOptions, IndexBuilder};
use anygram_core::format::IndexOptions;
use anygram_core::{Index, OpenOptions};

/// Builds an index of token documents at `dir`.
pub fn build(dir: &Path, docs: &[Vec<u32>], vocab: u64, max_shard_tokens: Option<u64>) -> PathBuf {
    build_kind(dir, docs, vocab, max_shard_tokens, IndexOptions::default())
}

/// Builds an index of token documents at `dir`, of the kind `index` says.
pub fn build_kind(
    dir: &Path,
    docs: &[Vec<u32>],
    vocab: u64,
    max_shard_tokens: Option<u64>,
    index: IndexOptions,
) -> PathBuf {
    let opts = BuildOptions {
        index,
        mem_budget: 1 << 30,
        workers: 1,
        max_shard_tokens,
        overwrite: true,
        resume_key: None,
    };
    let mut b =
        IndexBuilder::create(dir, vocab, serde_json::json!({"kind": "test"}), &opts).unwrap();
    for (i, d) in docs.iter().enumerate() {
        let meta = format!(r#"{{"path":"t","linenum":{i},"metadata":{{}}}}"#);
        b.add_token_document(d, &meta).unwrap();
    }
    b.finish(serde_json::Value::Null).unwrap();
    dir.to_path_buf()
}

pub fn open(dir: &Path, load_to_ram: bool) -> Index {
    Index::open(
        &[dir.to_path_buf()],
        OpenOptions {
            load_to_ram,
            verify_checksums: true,
            populate: false,
        },
    )
    .unwrap()
}

/// Occurrences of `q` inside documents, by scanning.
pub fn brute_count(docs: &[Vec<u32>], q: &[u32]) -> u64 {
    if q.is_empty() {
        return docs.iter().map(|d| d.len() as u64).sum();
    }
    docs.iter()
        .map(|d| d.windows(q.len()).filter(|w| *w == q).count() as u64)
        .sum()
}

/// A corpus over `vocab` ids, biased towards the first few so that long repeats occur, with
/// empty and one-token documents.
pub fn corpus(vocab: u32) -> impl proptest::strategy::Strategy<Value = Vec<Vec<u32>>> {
    use proptest::prelude::*;
    let small = 3.min(vocab);
    let tok = prop_oneof![4 => 0..small, 1 => 0..vocab];
    proptest::collection::vec(proptest::collection::vec(tok, 0..40), 1..12)
}
