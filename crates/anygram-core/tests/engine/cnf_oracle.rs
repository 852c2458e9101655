//! `count_cnf` / `find_cnf` (exact mode, both scopes, both ways of locating clauses) and
//! `creativity` checked against brute force on random corpora: tiny alphabets (many repeats,
//! many near matches), every token width, one shard and several. Also: `approx` is set exactly
//! when some clause was subsampled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anygram_core::cnf::{CnfOptions, CnfScope, Locate};
use anygram_core::Index;
use proptest::prelude::*;

use crate::common::{brute_count, build, open};

type Cnf = Vec<Vec<Vec<u32>>>;

fn corpus(vocab: u32) -> impl Strategy<Value = Vec<Vec<u32>>> {
    let small = 3.min(vocab);
    let tok = prop_oneof![4 => 0..small, 1 => 0..vocab];
    proptest::collection::vec(proptest::collection::vec(tok, 0..40), 1..10)
}

/// Offsets in `doc` where some term of `clause` starts, once per (term, offset).
fn starts(doc: &[u32], clause: &[Vec<u32>]) -> Vec<u64> {
    let mut out = Vec::new();
    for t in clause {
        for (i, w) in doc.windows(t.len()).enumerate() {
            if w == t.as_slice() {
                out.push(i as u64);
            }
        }
    }
    out.sort_unstable();
    out
}

/// Documents of each shard, in order (from the index's own shard sizes).
fn layout(index: &Index, n_docs: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut next = 0;
    for (_, _, docs, _) in index.shard_stats() {
        out.push((next..next + docs as usize).collect());
        next += docs as usize;
    }
    assert_eq!(next, n_docs);
    out
}

/// The CNF semantics of `cnf.rs`, written directly on the documents.
fn brute_cnf(
    docs: &[Vec<u32>],
    layout: &[Vec<usize>],
    cnf: &Cnf,
    d: u64,
    scope: CnfScope,
) -> (u64, Vec<Vec<u64>>) {
    let totals: Vec<u64> = cnf
        .iter()
        .map(|clause| clause.iter().map(|t| brute_count(docs, t)).sum())
        .collect();
    if totals.contains(&0) {
        return (0, vec![vec![]; layout.len()]);
    }
    let mut order: Vec<usize> = (0..cnf.len()).collect();
    order.sort_by_key(|&c| totals[c]);
    let mut ptrs_by_shard = Vec::new();
    for shard_docs in layout {
        let mut ptrs = Vec::new();
        let mut base = 1u64; // the stream starts with a separator
        for &di in shard_docs {
            let doc = &docs[di];
            let m: Vec<Vec<u64>> = cnf.iter().map(|c| starts(doc, c)).collect();
            let anchor = &m[order[0]];
            match scope {
                CnfScope::Window => {
                    for &p in anchor {
                        let (mut l, mut r) = (p, p);
                        let mut alive = true;
                        for &c in &order[1..] {
                            let left = m[c].iter().rev().find(|&&x| x < r).filter(|&&x| x + d >= l);
                            let right = m[c].iter().find(|&&x| x >= l).filter(|&&x| x <= r + d);
                            match (left, right) {
                                (None, None) => {
                                    alive = false;
                                    break;
                                }
                                (a, b) => {
                                    if let Some(&a) = a {
                                        l = l.min(a);
                                    }
                                    if let Some(&b) = b {
                                        r = r.max(b);
                                    }
                                }
                            }
                        }
                        if alive {
                            ptrs.push(base + l);
                        }
                    }
                }
                CnfScope::Document => {
                    if !anchor.is_empty() && m.iter().all(|x| !x.is_empty()) {
                        ptrs.push(base + anchor[0]);
                    }
                }
            }
            base += doc.len() as u64 + 1;
        }
        ptrs_by_shard.push(ptrs);
    }
    let cnt = ptrs_by_shard.iter().map(|p| p.len() as u64).sum();
    (cnt, ptrs_by_shard)
}

fn brute_creativity(docs: &[Vec<u32>], q: &[u32]) -> Vec<usize> {
    (0..q.len())
        .map(|l| {
            let len = (0..=q.len() - l)
                .rev()
                .find(|&n| n == 0 || brute_count(docs, &q[l..l + n]) > 0)
                .unwrap();
            l + len
        })
        .collect()
}

/// Terms: pieces of the documents (so matches exist) and random ids (so some do not).
fn term_pool(docs: &[Vec<u32>], vocab: u32) -> Vec<Vec<u32>> {
    let mut pool = vec![
        vec![0],
        vec![1 % vocab],
        vec![vocab - 1],
        vec![0, 1 % vocab],
    ];
    for d in docs {
        for (i, len) in [(0usize, 1usize), (1, 2), (3, 1), (5, 3), (2, 2)] {
            if i + len <= d.len() {
                pool.push(d[i..i + len].to_vec());
            }
        }
    }
    pool
}

fn queries(docs: &[Vec<u32>], vocab: u32, seed: u64) -> Vec<Cnf> {
    let pool = term_pool(docs, vocab);
    let mut x = seed | 1;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    (0..40)
        .map(|_| {
            let clauses = 1 + next(3);
            (0..clauses)
                .map(|_| {
                    (0..1 + next(3))
                        .map(|_| pool[next(pool.len())].clone())
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn pair(r: anygram_core::merge::CnfResult) -> (u64, bool) {
    (r.cnt, r.approx)
}

fn check(docs: &[Vec<u32>], vocab: u32, shard_cap: Option<u64>, seed: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let index = open(&build(tmp.path(), docs, vocab as u64, shard_cap), false);
    let lay = layout(&index, docs.len());
    for cnf in queries(docs, vocab, seed) {
        for d in [1u64, 2, 5, 100] {
            for scope in [CnfScope::Window, CnfScope::Document] {
                let (want_cnt, want_ptrs) = brute_cnf(docs, &lay, &cnf, d, scope);
                for locate in [Locate::Auto, Locate::Scan, Locate::Sorted] {
                    let opts = CnfOptions {
                        max_clause_freq: 1,
                        max_diff_tokens: d,
                        exact: true,
                        scope,
                        locate,
                        ..CnfOptions::default()
                    };
                    let got = index.find_cnf(&cnf, opts).unwrap();
                    assert_eq!(
                        got.ptrs_by_shard, want_ptrs,
                        "{cnf:?} d={d} {scope:?} {locate:?}"
                    );
                    assert_eq!(got.cnt, want_cnt);
                    assert!(!got.approx);
                    assert_eq!(
                        pair(index.count_cnf(&cnf, opts).unwrap()),
                        (want_cnt, false)
                    );
                }
                // Sampling: approx exactly when the rarest clause (the anchor) occurs more than
                // `cap` times in the whole index; the hits are then a subset of the exact ones,
                // and the estimate lies between them and the anchor's count.
                for cap in [1u64, 3, 1 << 40] {
                    let opts = CnfOptions {
                        max_clause_freq: cap,
                        max_diff_tokens: d,
                        exact: false,
                        scope,
                        locate: Locate::Auto,
                        seed,
                    };
                    let got = index.find_cnf(&cnf, opts).unwrap();
                    let totals: Vec<u64> = cnf
                        .iter()
                        .map(|c| c.iter().map(|t| brute_count(docs, t)).sum::<u64>())
                        .collect();
                    let anchor = totals.iter().copied().min().unwrap_or(0);
                    let sampled = anchor > 0 && anchor > cap;
                    assert_eq!(got.approx, sampled, "{cnf:?} cap={cap}");
                    if sampled {
                        for (g, w) in got.ptrs_by_shard.iter().zip(&want_ptrs) {
                            assert!(
                                g.iter().all(|p| w.contains(p)),
                                "{cnf:?}: {g:?} not in {w:?}"
                            );
                        }
                        let hits: u64 = got.ptrs_by_shard.iter().map(|p| p.len() as u64).sum();
                        let (lo, hi) = got.cnt_interval;
                        assert!(hits <= lo && lo <= got.cnt && got.cnt <= hi && hi <= anchor);
                    } else {
                        assert_eq!(got.ptrs_by_shard, want_ptrs);
                        assert_eq!(got.cnt, want_cnt);
                        assert_eq!(got.cnt_interval, (want_cnt, want_cnt));
                    }
                    let one_clause_window = cnf.len() == 1 && scope == CnfScope::Window;
                    let (n, approx) = pair(index.count_cnf(&cnf, opts).unwrap());
                    if one_clause_window {
                        assert_eq!(
                            (n, approx),
                            (want_cnt, false),
                            "one clause is counted exactly"
                        );
                    } else {
                        assert_eq!((n, approx), (got.cnt, got.approx));
                    }
                }
            }
        }
    }
    // Creativity of documents, of pieces glued across documents, and of random inputs.
    let mut inputs: Vec<Vec<u32>> = docs.iter().take(3).cloned().collect();
    let glued: Vec<u32> = docs
        .iter()
        .flat_map(|d| d.iter().take(5).copied())
        .collect();
    inputs.push(glued);
    inputs.push(vec![]);
    inputs.push((0..30).map(|i| (i * 7 + seed as u32) % vocab).collect());
    for q in inputs {
        assert_eq!(
            index.creativity(&q).unwrap(),
            brute_creativity(docs, &q),
            "{q:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn u8_cnf_matches_brute_force(docs in corpus(4), seed in any::<u64>()) {
        check(&docs, 4, None, seed);
    }

    #[test]
    fn u8_cnf_several_shards(docs in corpus(200), seed in any::<u64>()) {
        check(&docs, 200, Some(40), seed);
    }

    #[test]
    fn u16_cnf_several_shards(docs in corpus(300), seed in any::<u64>()) {
        check(&docs, 300, Some(50), seed);
    }

    #[test]
    fn u32_cnf_several_shards(docs in corpus(70_000), seed in any::<u64>()) {
        check(&docs, 70_000, Some(45), seed);
    }
}

/// The semantics on a hand-made case: "a AND b" within 2 tokens, and a match in the previous
/// document that infini-gram would take as the nearest (and then drop the window).
#[test]
fn window_semantics_by_hand() {
    // doc0: b . . . ; doc1: . a . b
    let docs = vec![vec![2, 9, 9, 2], vec![9, 1, 9, 2]];
    let tmp = tempfile::tempdir().unwrap();
    let index = open(&build(tmp.path(), &docs, 10, None), false);
    let cnf: Cnf = vec![vec![vec![1]], vec![vec![2]]];
    let opts = CnfOptions {
        max_diff_tokens: 2,
        exact: true,
        ..CnfOptions::default()
    };
    let r = index.find_cnf(&cnf, opts).unwrap();
    // `a` (rarest) at stream position 7; the nearest `b` before it is doc0's last token
    // (position 4, 3 away and in another document): not a candidate. `b` at 9 is 2 after.
    assert_eq!(r.ptrs_by_shard, vec![vec![7]]);
    let narrow = CnfOptions {
        max_diff_tokens: 1,
        ..opts
    };
    assert_eq!(pair(index.count_cnf(&cnf, narrow).unwrap()), (0, false));
    let doc_scope = CnfOptions {
        scope: CnfScope::Document,
        max_diff_tokens: 1,
        ..opts
    };
    assert_eq!(pair(index.count_cnf(&cnf, doc_scope).unwrap()), (1, false));
    // A clause that never occurs: nothing, exactly.
    let none: Cnf = vec![vec![vec![1]], vec![vec![3]]];
    assert_eq!(pair(index.count_cnf(&none, opts).unwrap()), (0, false));
}

#[test]
fn bad_cnf_is_a_query_error() {
    let tmp = tempfile::tempdir().unwrap();
    let index = open(&build(tmp.path(), &[vec![1, 2]], 10, None), false);
    let o = CnfOptions::default();
    assert!(index.find_cnf(&[], o).is_err());
    assert!(index.find_cnf(&[vec![]], o).is_err());
    assert!(index.find_cnf(&[vec![vec![]]], o).is_err());
    assert!(index.find_cnf(&[vec![vec![10]]], o).is_err());
    let zero = CnfOptions {
        max_diff_tokens: 0,
        ..o
    };
    assert!(index.find_cnf(&[vec![vec![1]]], zero).is_err());
}
