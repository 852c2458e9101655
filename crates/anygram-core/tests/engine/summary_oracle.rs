//! `next_token_summaries` against exact `infgram_ntd` at every position, on random corpora,
//! every token width, one shard and several.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anygram_core::lm::NtdOptions;
use proptest::prelude::*;

use crate::common::{build, open};

fn corpus(vocab: u32) -> impl Strategy<Value = Vec<Vec<u32>>> {
    let small = 3.min(vocab);
    let tok = prop_oneof![4 => 0..small, 1 => 0..vocab];
    proptest::collection::vec(proptest::collection::vec(tok, 0..30), 1..10)
}

fn text(vocab: u32) -> impl Strategy<Value = Vec<u32>> {
    let small = 3.min(vocab);
    proptest::collection::vec(prop_oneof![4 => 0..small, 1 => 0..vocab], 0..25)
}

fn check(docs: &[Vec<u32>], vocab: u32, shard_cap: Option<u64>, ids: &[u32]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), docs, vocab as u64, shard_cap);
    let index = open(&dir, false);
    let exact = NtdOptions {
        max_support: 1,
        exact: true,
    };
    for eos in [index.token_width().separator(), 0] {
        let got = index.next_token_summaries(ids, eos).unwrap();
        assert_eq!(got.len(), ids.len());
        for (i, g) in got.iter().enumerate() {
            let want = index.infgram_ntd(&ids[..i], exact, eos).unwrap();
            assert_eq!(g.suffix_len, want.suffix_len);
            assert_eq!(g.prompt_cnt, want.ntd.prompt_cnt);
            assert_eq!(g.distinct, want.ntd.counts.len() as u64);
            let top = want.ntd.counts.iter().map(|&(_, c)| c).max().unwrap();
            let mode = want.ntd.counts.iter().find(|&&(_, c)| c == top).unwrap();
            assert_eq!((g.mode, g.mode_cnt), *mode, "position {i} of {ids:?}");
            let half = index
                .prob(&ids[i - want.suffix_len / 2..i], ids[i], eos)
                .unwrap();
            assert_eq!(
                (g.half_prompt_cnt, g.half_cont_cnt),
                (half.prompt_cnt, half.cont_cnt)
            );
        }
    }
}

/// Once found by proptest (a run of one token, an empty text), kept as a fixed case.
#[test]
fn regression_one_token_run_empty_text() {
    let docs = vec![vec![0u32; 20]];
    check(&docs, 4, None, &[]);
    check(&docs, 300, Some(40), &[]);
    check(&docs, 70_000, Some(35), &[]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, .. ProptestConfig::default() })]
    #[test]
    fn u8_summaries(docs in corpus(4), ids in text(4)) {
        check(&docs, 4, None, &ids);
    }

    #[test]
    fn u16_summaries_several_shards(docs in corpus(300), ids in text(300)) {
        check(&docs, 300, Some(40), &ids);
    }

    #[test]
    fn u32_summaries_several_shards(docs in corpus(70_000), ids in text(70_000)) {
        check(&docs, 70_000, Some(35), &ids);
    }
}
