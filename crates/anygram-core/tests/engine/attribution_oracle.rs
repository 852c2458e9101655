//! `attribute` checked against a brute-force transcription of infini-gram's definition on
//! random corpora: every token width, one shard and several, with and without delimiters and
//! a word-start mask, several `min_len` / `max_cnt`. Every returned occurrence is checked to
//! hold the span.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anygram_core::attribution::{AttributeOptions, ABSENT_LOGPROB};
use anygram_core::Index;
use proptest::prelude::*;

use crate::common::{brute_count, build, open};

fn corpus(vocab: u32) -> impl Strategy<Value = Vec<Vec<u32>>> {
    let small = 3.min(vocab);
    let tok = prop_oneof![4 => 0..small, 1 => 0..vocab];
    proptest::collection::vec(proptest::collection::vec(tok, 0..40), 1..10)
}

/// infini-gram 2.6's `compute_interesting_spans`, one full scan per candidate: (l, r, count).
fn brute(docs: &[Vec<u32>], q: &[u32], o: &AttributeOptions) -> Vec<(usize, usize, u64)> {
    let n = q.len();
    let mut out = Vec::new();
    let mut last_r = 0;
    for l in 0..n {
        if let Some(ws) = &o.word_starts {
            if !ws[l] {
                continue;
            }
        }
        let mut len = (0..=n - l)
            .rev()
            .find(|&k| k == 0 || brute_count(docs, &q[l..l + k]) > 0)
            .unwrap();
        for pos in 0..len.saturating_sub(1) {
            if o.delim_ids.contains(&q[l + pos]) {
                len = pos + 1;
                break;
            }
        }
        if let Some(ws) = &o.word_starts {
            while len > 0 && !(l + len == n || ws[l + len]) {
                len -= 1;
            }
        }
        if len < o.min_len.max(1) {
            continue;
        }
        let cnt = brute_count(docs, &q[l..l + len]);
        if cnt > o.max_cnt || l + len <= last_r {
            continue;
        }
        last_r = l + len;
        out.push((l, l + len, cnt));
    }
    out
}

fn check(docs: &[Vec<u32>], vocab: u32, shard: Option<u64>, seed: u64) {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path(), docs, vocab as u64, shard);
    let index: Index = open(tmp.path(), seed % 2 == 0);
    let total: u64 = docs.iter().map(|d| d.len() as u64).sum();
    let mut inputs: Vec<Vec<u32>> = Vec::new();
    for (i, d) in docs.iter().enumerate().take(3) {
        let mut q = d.clone();
        q.extend(docs[(i + 1) % docs.len()].iter().take(7));
        q.push(vocab - 1);
        q.extend(d.iter().rev().take(5));
        inputs.push(q);
    }
    inputs.push((0..30).map(|i| (i * 7 + seed as u32) % vocab).collect());
    for q in inputs {
        let masks = [
            None,
            Some(
                q.iter()
                    .enumerate()
                    .map(|(i, &t)| i == 0 || t % 2 == 0)
                    .collect::<Vec<_>>(),
            ),
        ];
        for (k, ws) in masks.into_iter().enumerate() {
            let o = AttributeOptions {
                min_len: 1 + (seed as usize + k) % 3,
                max_cnt: if seed % 3 == 0 { 2 } else { u64::MAX },
                delim_ids: if (seed >> 2) % 2 == 0 {
                    vec![]
                } else {
                    vec![1 % vocab]
                },
                word_starts: ws,
                max_docs: 3,
            };
            let got = index.attribute(&q, &o).unwrap();
            let want = brute(docs, &q, &o);
            let got3: Vec<_> = got.iter().map(|s| (s.l, s.r, s.count)).collect();
            assert_eq!(got3, want, "{q:?} {o:?}");
            for s in &got {
                assert_eq!(s.docs.len() as u64, s.count.min(3));
                let len = (s.r - s.l) as u64;
                for &(sh, ptr) in &s.docs {
                    let d = index.get_doc_by_ptr(sh, ptr, 2 * len + 2).unwrap();
                    let off = d.needle_offset as usize;
                    assert_eq!(&d.token_ids[off..off + len as usize], &q[s.l..s.r]);
                }
                let want_lp: f64 = q[s.l..s.r]
                    .iter()
                    .map(|&t| {
                        let c = brute_count(docs, &[t]);
                        if c == 0 {
                            ABSENT_LOGPROB
                        } else {
                            (c as f64 / total as f64).ln()
                        }
                    })
                    .sum();
                assert!((s.unigram_logprob_sum - want_lp).abs() < 1e-6);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn u8_attribute_matches_brute_force(docs in corpus(4), seed in any::<u64>()) {
        check(&docs, 4, None, seed);
    }

    #[test]
    fn u8_attribute_several_shards(docs in corpus(200), seed in any::<u64>()) {
        check(&docs, 200, Some(40), seed);
    }

    #[test]
    fn u16_attribute_several_shards(docs in corpus(300), seed in any::<u64>()) {
        check(&docs, 300, Some(50), seed);
    }

    #[test]
    fn u32_attribute_several_shards(docs in corpus(70_000), seed in any::<u64>()) {
        check(&docs, 70_000, Some(45), seed);
    }
}

#[test]
fn mask_of_wrong_length_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path(), &[vec![1, 2, 3]], 10, None);
    let index = open(tmp.path(), false);
    let o = AttributeOptions {
        word_starts: Some(vec![true]),
        ..AttributeOptions::default()
    };
    assert!(index.attribute(&[1, 2], &o).is_err());
}
