//! `score` checked against `infgram_prob` at every position (itself checked against brute force
//! in `lm_oracle.rs`) on random corpora: tiny alphabets (long matches that break and resume),
//! every token width, one shard and several, texts drawn from the corpus and random.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anygram_core::lm::NtdOptions;
use anygram_core::Index;
use proptest::prelude::*;

use crate::common::{build, open};

fn corpus(vocab: u32) -> impl Strategy<Value = Vec<Vec<u32>>> {
    let small = 3.min(vocab);
    let tok = prop_oneof![4 => 0..small, 1 => 0..vocab];
    proptest::collection::vec(proptest::collection::vec(tok, 0..30), 1..10)
}

/// A text: random tokens with runs copied from the corpus, so matches grow long and break.
fn text(vocab: u32) -> impl Strategy<Value = Vec<(u32, usize, usize)>> {
    proptest::collection::vec((0..vocab, 0usize..10, 0usize..12), 0..12)
}

fn expand(docs: &[Vec<u32>], pieces: &[(u32, usize, usize)]) -> Vec<u32> {
    let mut out = Vec::new();
    for &(tok, doc, len) in pieces {
        out.push(tok);
        if let Some(d) = docs.get(doc % docs.len()) {
            let start = d.len().saturating_sub(len) / 2;
            out.extend(d.iter().skip(start).take(len));
        }
    }
    out
}

fn check_text(index: &Index, ids: &[u32], eos: u32) {
    let got = index.score(ids, eos).unwrap();
    assert_eq!(got.len(), ids.len());
    for (i, g) in got.iter().enumerate() {
        let want = index.infgram_prob(&ids[..i], ids[i], eos).unwrap();
        let got = (g.prob, g.prompt_cnt, g.cont_cnt, g.suffix_len);
        let want_tuple = (want.prob, want.prompt_cnt, want.cont_cnt, want.suffix_len);
        assert_eq!(got, want_tuple, "position {i} of {ids:?}, eos {eos}");
        // Sparse exactly when the exact back-off distribution has one entry.
        let exact = NtdOptions {
            max_support: 1,
            exact: true,
        };
        let ntd = index.infgram_ntd(&ids[..i], exact, eos).unwrap().ntd;
        let sole = match ntd.counts.as_slice() {
            [(t, _)] => Some(*t),
            _ => None,
        };
        assert_eq!(g.sole_next, sole, "sparse at {i} of {ids:?}, eos {eos}");
    }
}

fn check(docs: &[Vec<u32>], vocab: u32, shard_cap: Option<u64>, pieces: &[(u32, usize, usize)]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), docs, vocab as u64, shard_cap);
    let index = open(&dir, false);
    let sep = index.token_width().separator();
    let mut texts = vec![expand(docs, pieces), vec![], vec![vocab - 1; 5]];
    texts.extend(docs.iter().take(3).cloned());
    for ids in &texts {
        // Document ends under the separator value, and under a real token id (counts add up).
        for eos in [sep, 0] {
            check_text(&index, ids, eos);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn u8_score_matches_infgram_prob(docs in corpus(4), t in text(4)) {
        check(&docs, 4, None, &t);
    }

    #[test]
    fn u8_byte_vocab_score_several_shards(docs in corpus(200), t in text(200)) {
        check(&docs, 200, Some(40), &t);
    }

    #[test]
    fn u16_score_several_shards(docs in corpus(300), t in text(300)) {
        check(&docs, 300, Some(50), &t);
    }

    #[test]
    fn u32_score_several_shards(docs in corpus(70_000), t in text(70_000)) {
        check(&docs, 70_000, Some(35), &t);
    }
}

#[test]
fn out_of_range_token_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), &[vec![0, 1, 2]], 4, None);
    let index = open(&dir, false);
    assert!(index.score(&[0, 9], 255).is_err());
    assert!(index.score(&[], 255).unwrap().is_empty());
}

/// Every text of up to 5 tokens over a 4-token vocabulary, on a corpus where contexts are
/// followed by one token (sparse), by several, by a document end, or by an eos token: each
/// way the narrowing can be answered by the range's first and last next tokens alone (the
/// token below, equal to or above them) and each way it has to search.
#[test]
fn every_short_text_matches_infgram_prob() {
    let docs = vec![
        vec![0, 1, 2, 3],
        vec![0, 1, 2, 0],
        vec![0, 1, 3],
        vec![1, 1, 1, 0, 2],
        vec![2, 0],
        vec![3, 3, 1, 2],
    ];
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), &docs, 4, None);
    let index = open(&dir, false);
    let sep = index.token_width().separator();
    let mut text = Vec::new();
    for n in 0..=5u32 {
        for code in 0..4u32.pow(n) {
            text.clear();
            text.extend((0..n).map(|j| code / 4u32.pow(j) % 4));
            for eos in [sep, 0] {
                check_text(&index, &text, eos);
            }
        }
    }
}

/// The empty context is sparse when every token is the eos one: its tokens and the document
/// ends are then one entry (found by the proptest above; `score` used to say not sparse).
#[test]
fn empty_context_of_an_all_eos_corpus_is_sparse() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), &[vec![0], vec![0, 0]], 4, None);
    let index = open(&dir, false);
    let sep = index.token_width().separator();
    for eos in [sep, 0] {
        check_text(&index, &[0, 1, 0], eos);
    }
    assert_eq!(index.score(&[1], 0).unwrap()[0].sole_next, Some(0));
}
