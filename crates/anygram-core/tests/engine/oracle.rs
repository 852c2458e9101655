//! Counts, ranges, suffix order and documents checked against brute force on random corpora:
//! tiny alphabets (deep repeats), empty and one-token documents, every token width, one shard
//! and several.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use crate::common::{brute_count, build, open};

/// A corpus over `vocab` ids, biased towards the first few so that long repeats occur.
fn corpus(vocab: u32) -> impl Strategy<Value = Vec<Vec<u32>>> {
    let small = 3.min(vocab);
    let tok = prop_oneof![4 => 0..small, 1 => 0..vocab];
    proptest::collection::vec(proptest::collection::vec(tok, 0..40), 1..12)
}

fn queries(docs: &[Vec<u32>], vocab: u32, extra: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let mut qs: Vec<Vec<u32>> = extra.to_vec();
    for d in docs {
        for start in 0..d.len() {
            for len in [1usize, 2, 3, 5, 9] {
                if start + len <= d.len() {
                    qs.push(d[start..start + len].to_vec());
                }
            }
        }
        // Spanning a document boundary: must never be found unless it occurs inside one.
        if let (Some(&last), Some(first)) = (d.last(), docs.first().and_then(|f| f.first())) {
            qs.push(vec![last, *first]);
        }
    }
    qs.push(vec![]);
    qs.push(vec![vocab - 1; 50]);
    qs.truncate(400);
    qs
}

fn check(docs: &[Vec<u32>], vocab: u32, extra: Vec<Vec<u32>>, shard_cap: Option<u64>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), docs, vocab as u64, shard_cap);
    for load in [false, true] {
        let index = open(&dir, load);
        assert_eq!(index.num_docs(), docs.len() as u64);
        for q in queries(docs, vocab, &extra) {
            let want = brute_count(docs, &q);
            let found = index.find(&q).unwrap();
            assert_eq!(found.cnt, want, "query {q:?}");
            assert_eq!(index.count(&q).unwrap(), want);
            // Every rank in a segment starts with the query; its neighbours do not.
            for (s, seg) in found.segment_by_shard.iter().enumerate() {
                for rank in seg.lo..seg.hi {
                    let doc = index.get_doc_by_rank(s, rank, q.len(), 1_000_000).unwrap();
                    let at = doc.needle_offset as usize;
                    assert_eq!(&doc.token_ids[at..at + q.len()], &q[..]);
                }
            }
        }
        for (i, d) in docs.iter().enumerate() {
            let got = index.get_doc_by_ix(i as u64, 1_000_000).unwrap();
            assert_eq!(&got.token_ids, d);
            assert_eq!(got.doc_len, d.len() as u64);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn u8_index_matches_brute_force(docs in corpus(4)) {
        check(&docs, 4, vec![], None);
    }

    #[test]
    fn u8_byte_vocab_matches_brute_force(docs in corpus(255)) {
        check(&docs, 255, vec![vec![254, 254]], Some(45));
    }

    #[test]
    fn u16_index_matches_brute_force(docs in corpus(300)) {
        check(&docs, 300, vec![vec![299]], None);
    }

    #[test]
    fn u16_several_shards_match_brute_force(docs in corpus(5000)) {
        check(&docs, 5000, vec![], Some(50));
    }

    #[test]
    fn u32_index_matches_brute_force(docs in corpus(70_000)) {
        check(&docs, 70_000, vec![vec![69_999, 0]], Some(60));
    }
}

/// Once found by proptest (a long run of one token: every suffix shares a long prefix with its
/// neighbours), kept as a fixed case for every width and layout.
#[test]
fn regression_one_token_run() {
    let docs = vec![vec![0u32; 30]];
    check(&docs, 4, vec![], None);
    check(&docs, 255, vec![vec![254, 254]], Some(45));
    check(&docs, 300, vec![vec![299]], None);
    check(&docs, 5000, vec![], Some(50));
    check(&docs, 70_000, vec![vec![69_999, 0]], Some(60));
}

/// The suffix array is exactly the sorted order of every real-token suffix.
#[test]
fn suffix_array_is_sorted_like_brute_force() {
    let docs: Vec<Vec<u32>> = vec![vec![1, 0, 1, 0, 1], vec![], vec![0], vec![1, 1, 0, 1, 0, 2]];
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), &docs, 3, None);
    let index = open(&dir, false);
    // The stream as stored: SEP doc SEP doc ... SEP, with SEP larger than every token.
    let sep = u32::MAX;
    let mut stream = vec![sep];
    for d in &docs {
        stream.extend(d);
        stream.push(sep);
    }
    let mut want: Vec<usize> = (0..stream.len()).filter(|&p| stream[p] != sep).collect();
    want.sort_by(|&a, &b| stream[a..].cmp(&stream[b..]));
    let got: Vec<usize> = (0..want.len() as u64)
        .map(|r| index.pointer(0, r, 0).unwrap() as usize)
        .collect();
    assert_eq!(got, want);
}

#[test]
fn out_of_vocabulary_ids_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), &[vec![0, 1, 2]], 3, None);
    let index = open(&dir, false);
    let err = index.count(&[3]).unwrap_err();
    assert!(matches!(
        err,
        anygram_core::AnygramError::TokenOutOfRange { token: 3, vocab: 3 }
    ));
}

#[test]
fn a_document_larger_than_a_shard_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = anygram_core::build::BuildOptions {
        mem_budget: 1 << 30,
        workers: 1,
        max_shard_tokens: Some(10),
        overwrite: false,
        resume_key: None,
        ..Default::default()
    };
    let mut b =
        anygram_core::build::IndexBuilder::create(tmp.path(), 5, serde_json::json!({}), &opts)
            .unwrap();
    let err = b
        .add_token_document(
            &[1; 20],
            r#"{"path":"big.jsonl","linenum":6,"metadata":{}}"#,
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("big.jsonl:7") && msg.contains("larger than a shard"),
        "{msg}"
    );
}

#[test]
fn several_shards_split_and_sum() {
    let docs: Vec<Vec<u32>> = (0..20).map(|i| vec![1, 2, (i % 3) as u32, 1, 2]).collect();
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), &docs, 3, Some(12));
    let index = open(&dir, false);
    assert!(index.num_shards() >= 9, "{} shards", index.num_shards());
    assert_eq!(index.count(&[1, 2]).unwrap(), 40);
    assert_eq!(
        index.find(&[1, 2]).unwrap().segment_by_shard.len(),
        index.num_shards()
    );
}
