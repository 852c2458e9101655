//! `prob`, `ntd`, `infgram_prob` and `infgram_ntd` checked against brute force on random corpora:
//! tiny alphabets (deep repeats, many document ends), every token width, one shard and several.
//! Probabilities are compared exactly, as the counts they are fractions of.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use anygram_core::lm::{NtdOptions, DOC_END};
use anygram_core::Index;
use proptest::prelude::*;

use crate::common::{build, open};

fn corpus(vocab: u32) -> impl Strategy<Value = Vec<Vec<u32>>> {
    let small = 3.min(vocab);
    let tok = prop_oneof![4 => 0..small, 1 => 0..vocab];
    proptest::collection::vec(proptest::collection::vec(tok, 0..30), 1..10)
}

/// Next-token counts of `q` by scanning: every start inside a document (the empty prompt also
/// at the document's end), continuing with the next token or `eos` at the document's end.
fn brute_ntd(docs: &[Vec<u32>], q: &[u32], eos: u32) -> BTreeMap<u32, u64> {
    let mut out = BTreeMap::new();
    for d in docs {
        for start in 0..=d.len() {
            if start + q.len() > d.len() || d[start..start + q.len()] != *q {
                continue;
            }
            let next = d.get(start + q.len()).copied().unwrap_or(eos);
            *out.entry(next).or_default() += 1;
        }
    }
    out
}

fn brute_longest_suffix(docs: &[Vec<u32>], q: &[u32]) -> usize {
    (0..=q.len())
        .rev()
        .find(|&l| !brute_ntd(docs, &q[q.len() - l..], 0).is_empty())
        .unwrap_or(0)
}

fn prompts(docs: &[Vec<u32>], vocab: u32) -> Vec<Vec<u32>> {
    let mut qs = vec![vec![], vec![0], vec![vocab - 1], vec![vocab - 1; 7]];
    for d in docs {
        for start in 0..d.len() {
            for len in [1usize, 2, 3, 6] {
                if start + len <= d.len() {
                    qs.push(d[start..start + len].to_vec());
                }
            }
        }
        // The end of a document, and a prompt that runs past its end into the next one.
        if let Some(tail) = d.get(d.len().saturating_sub(4)..) {
            qs.push(tail.to_vec());
            let mut longer = tail.to_vec();
            longer.extend([0, 1, 0]);
            qs.push(longer);
        }
    }
    qs.truncate(250);
    qs
}

fn check_prompt(index: &Index, docs: &[Vec<u32>], vocab: u32, q: &[u32], eos: u32) {
    let want = brute_ntd(docs, q, eos);
    let prompt_cnt: u64 = want.values().sum();
    let exact = NtdOptions {
        max_support: 1,
        exact: true,
    };
    let got = index.ntd(q, exact, eos).unwrap();
    assert_eq!(got.prompt_cnt, prompt_cnt, "prompt {q:?}");
    assert_eq!(
        got.counts,
        want.clone().into_iter().collect::<Vec<_>>(),
        "prompt {q:?}"
    );
    assert!(!got.approx);
    // Below max_support the default path is exact too.
    let default = NtdOptions {
        max_support: prompt_cnt.max(1),
        exact: false,
    };
    assert_eq!(index.ntd(q, default, eos).unwrap(), got);
    // Sampled: the weights still sum to the count, only continuations that exist appear.
    let sampled = index
        .ntd(
            q,
            NtdOptions {
                max_support: 2,
                exact: false,
            },
            eos,
        )
        .unwrap();
    assert_eq!(sampled.prompt_cnt, prompt_cnt);
    // The empty prompt's distribution is a table lookup: never sampled.
    assert_eq!(sampled.approx, prompt_cnt > 2 && !q.is_empty());
    if q.is_empty() {
        assert_eq!(sampled, got);
    }
    for (id, _) in &sampled.counts {
        assert!(want.contains_key(id), "sampled {id} never follows {q:?}");
    }

    // prob of every continuation seen, plus some never seen.
    let mut conts: Vec<u32> = want.keys().copied().collect();
    conts.extend([0, vocab - 1, eos]);
    for c in conts {
        let p = index.prob(q, c, eos).unwrap();
        let cont_cnt = want.get(&c).copied().unwrap_or(0);
        assert_eq!(
            (p.prompt_cnt, p.cont_cnt),
            (prompt_cnt, cont_cnt),
            "prompt {q:?} cont {c}"
        );
        if prompt_cnt == 0 {
            assert_eq!(p.prob, -1.0);
        } else {
            assert_eq!(p.prob, cont_cnt as f64 / prompt_cnt as f64);
        }
    }

    // The ∞-gram forms back off to the longest suffix that occurs.
    let l = brute_longest_suffix(docs, q);
    let suffix = &q[q.len() - l..];
    let want_suffix = brute_ntd(docs, suffix, eos);
    let inf = index.infgram_ntd(q, exact, eos).unwrap();
    assert_eq!(inf.suffix_len, l, "prompt {q:?}");
    assert_eq!(
        inf.ntd.counts,
        want_suffix.clone().into_iter().collect::<Vec<_>>()
    );
    let c = want_suffix.keys().next().copied().unwrap_or(0);
    let p = index.infgram_prob(q, c, eos).unwrap();
    assert_eq!(p.suffix_len, l);
    assert_eq!(p.prompt_cnt, want_suffix.values().sum::<u64>());
    assert_eq!(p.cont_cnt, want_suffix.get(&c).copied().unwrap_or(0));
}

fn check(docs: &[Vec<u32>], vocab: u32, shard_cap: Option<u64>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path(), docs, vocab as u64, shard_cap);
    let index = open(&dir, false);
    let sep = index.token_width().separator();
    assert_eq!(index.default_eos_token_id(), sep);
    for q in prompts(docs, vocab) {
        // Document ends under the separator value, under an unused id, and under a real token
        // id (its counts then add up, as in infini-gram).
        for eos in [sep, vocab + 1, 0] {
            check_prompt(&index, docs, vocab, &q, eos);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn u8_lm_matches_brute_force(docs in corpus(4)) {
        check(&docs, 4, None);
    }

    #[test]
    fn u8_byte_vocab_lm_several_shards(docs in corpus(200)) {
        check(&docs, 200, Some(40));
    }

    #[test]
    fn u16_lm_matches_brute_force(docs in corpus(300)) {
        check(&docs, 300, Some(50));
    }

    #[test]
    fn u32_lm_several_shards(docs in corpus(70_000)) {
        check(&docs, 70_000, Some(35));
    }
}

/// infini-gram's defect: a prompt that ends the last document and also occurs before another
/// document's end got `P(eos) = 1`. Here the true distribution comes back.
#[test]
fn prompt_at_the_end_of_the_last_document() {
    let docs = vec![
        vec![1, 2, 3],
        vec![5, 2, 3, 4],
        vec![2, 3, 6],
        vec![7, 2, 3],
    ];
    let tmp = tempfile::tempdir().unwrap();
    let index = open(&build(tmp.path(), &docs, 8, None), false);
    let r = index.ntd(&[2, 3], NtdOptions::default(), 0).unwrap();
    assert_eq!(r.prompt_cnt, 4);
    assert_eq!(r.counts, vec![(0, 2), (4, 1), (6, 1)]);
    let r = index.infgram_ntd(&[9 % 8, 7, 2, 3], NtdOptions::default(), 0);
    assert_eq!(r.unwrap().suffix_len, 3);
}

/// A frequent token with a huge max_support: exact, no crash, no thread per split.
#[test]
fn huge_max_support_on_a_frequent_token() {
    let docs: Vec<Vec<u32>> = (0..200)
        .map(|i| {
            (0..500)
                .map(|j| ((i * 7 + j * 13) % 11) as u32 % 3)
                .collect()
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let index = open(&build(tmp.path(), &docs, 3, None), false);
    let opts = NtdOptions {
        max_support: u64::MAX,
        exact: false,
    };
    let r = index.ntd(&[0], opts, DOC_END).unwrap();
    assert!(!r.approx);
    assert_eq!(r.prompt_cnt, index.count(&[0]).unwrap());
    let sampled = index.ntd(&[0], NtdOptions::default(), DOC_END).unwrap();
    assert!(sampled.approx);
    assert_eq!(sampled.prompt_cnt, r.prompt_cnt);
}

#[test]
fn invalid_arguments_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let index = open(&build(tmp.path(), &[vec![0, 1, 2]], 3, None), false);
    let zero = NtdOptions {
        max_support: 0,
        exact: false,
    };
    assert!(index.ntd(&[0], zero, 255).is_err());
    assert!(index.prob(&[3], 0, 255).is_err());
    assert!(index.prob(&[0], 3, 255).is_err());
    // The eos id itself is a valid continuation even outside the vocabulary.
    let p = index.prob(&[2], 255, 255).unwrap();
    assert_eq!((p.prompt_cnt, p.cont_cnt, p.prob), (1, 1, 1.0));
}
