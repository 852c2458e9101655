//! Dedup and decontamination against a brute-force oracle: every window of `k` tokens (inside
//! one document) that occurs elsewhere is removed (`None`) or removed unless it is the first
//! occurrence in corpus order (`First`); decontamination removes the windows that occur in the
//! evaluation documents. Corpora are random and adversarial (long runs, copied documents,
//! documents that continue where another ends, so that repeats straddle document ends and must
//! not count), built at several shard counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use anygram_core::dedup::{dedup_dirs, DedupOptions, Keep};
use anygram_core::OpenOptions;
use proptest::prelude::*;

use crate::common::build;

/// The windows `[p, p + k)` of each document marked by `marked(doc, p)`, merged per document.
fn union(
    docs: &[Vec<u32>],
    k: usize,
    marked: impl Fn(usize, usize) -> bool,
) -> Vec<(u64, Vec<(u64, u64)>)> {
    let mut out = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for p in 0..(doc.len() + 1).saturating_sub(k) {
            if !marked(d, p) {
                continue;
            }
            let (a, b) = (p as u64, (p + k) as u64);
            match ranges.last_mut() {
                Some(last) if a <= last.1 => last.1 = b,
                _ => ranges.push((a, b)),
            }
        }
        if !ranges.is_empty() {
            out.push((d as u64, ranges));
        }
    }
    out
}

/// Every window's occurrences, in corpus order.
fn occurrences(docs: &[Vec<u32>], k: usize) -> HashMap<&[u32], Vec<(usize, usize)>> {
    let mut seen: HashMap<&[u32], Vec<(usize, usize)>> = HashMap::new();
    for (d, doc) in docs.iter().enumerate() {
        for (p, w) in doc.windows(k).enumerate() {
            seen.entry(w).or_default().push((d, p));
        }
    }
    seen
}

fn oracle(docs: &[Vec<u32>], k: usize, keep: Keep) -> Vec<(u64, Vec<(u64, u64)>)> {
    let seen = occurrences(docs, k);
    union(docs, k, |d, p| {
        let occ = &seen[&docs[d][p..p + k]];
        match keep {
            Keep::None => occ.len() > 1,
            Keep::First => occ[0] != (d, p),
        }
    })
}

fn oracle_against(docs: &[Vec<u32>], eval: &[Vec<u32>], k: usize) -> Vec<(u64, Vec<(u64, u64)>)> {
    let seen = occurrences(eval, k);
    union(docs, k, |d, p| seen.contains_key(&docs[d][p..p + k]))
}

fn run(
    dirs: &[PathBuf],
    against: Option<&[PathBuf]>,
    k: u64,
    keep: Keep,
) -> Vec<(u64, Vec<(u64, u64)>)> {
    let opts = DedupOptions {
        min_len: k,
        keep,
        workers: 1,
        ..DedupOptions::default()
    };
    let r = dedup_dirs(dirs, against, &opts, None, OpenOptions::default()).unwrap();
    r.docs.into_iter().map(|d| (d.doc, d.ranges)).collect()
}

/// Random documents over a few ids, with copies of earlier documents, long runs, and
/// documents made of one document's end and the next one's start.
fn adversarial(vocab: u32) -> impl Strategy<Value = Vec<Vec<u32>>> {
    let small = 3.min(vocab);
    let tok = prop_oneof![4 => 0..small, 1 => 0..vocab];
    let doc = prop_oneof![
        4 => proptest::collection::vec(tok, 0..30),
        1 => (0..small, 1usize..40).prop_map(|(t, n)| vec![t; n]),
    ];
    (
        proptest::collection::vec(doc, 1..10),
        proptest::collection::vec((any::<usize>(), any::<usize>(), 0usize..3), 0..5),
    )
        .prop_map(|(mut docs, extra)| {
            for (i, j, how) in extra {
                let a = docs[i % docs.len()].clone();
                let b = docs[j % docs.len()].clone();
                let made = match how {
                    0 => a,                                               // a copy
                    1 => [&a[a.len() / 2..], &b[..b.len() / 2]].concat(), // straddles a's end
                    _ => [a.clone(), a].concat(),                         // repeated inside
                };
                docs.push(made);
            }
            docs
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn dedup_matches_the_oracle_at_every_layout(
        docs in prop_oneof![adversarial(4), adversarial(300), adversarial(70_000)],
        k in 1u64..7,
    ) {
        let vocab = docs.iter().flatten().copied().max().unwrap_or(0).max(3) as u64 + 1;
        let vocab = [255u64, 65_535, 1 << 20].into_iter().find(|&v| v >= vocab).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let total = docs.iter().map(|d| d.len() as u64).sum::<u64>();
        // A shard holds the longest document and at least one token (the builder's minimum).
        let longest = docs.iter().map(|d| d.len() as u64).max().unwrap_or(0).max(1);
        let want = [Keep::First, Keep::None].map(|keep| oracle(&docs, k as usize, keep));
        for (i, cap) in [None, Some(longest.max(total / 3) + 1), Some(longest + 1)].into_iter().enumerate() {
            let dir = build(&tmp.path().join(i.to_string()), &docs, vocab, cap);
            for (keep, want) in [Keep::First, Keep::None].into_iter().zip(&want) {
                let got = run(std::slice::from_ref(&dir), None, k, keep);
                prop_assert_eq!(&got, want, "keep {:?} cap {:?}", keep, cap);
            }
        }
    }

    #[test]
    fn decontamination_matches_the_oracle(
        docs in adversarial(4),
        eval in adversarial(4),
        k in 1u64..7,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let want = oracle_against(&docs, &eval, k as usize);
        let longest = |d: &[Vec<u32>]| d.iter().map(|d| d.len() as u64).max().unwrap_or(0).max(1);
        let eval_dir = build(&tmp.path().join("eval"), &eval, 255, Some(longest(&eval) + 1));
        for (i, cap) in [None, Some(longest(&docs) + 1)].into_iter().enumerate() {
            let dir = build(&tmp.path().join(format!("c{i}")), &docs, 255, cap);
            let got = run(&[dir], Some(std::slice::from_ref(&eval_dir)), k, Keep::First);
            prop_assert_eq!(&got, &want, "cap {:?}", cap);
        }
    }
}

#[test]
fn a_copied_document_is_removed_whole_and_its_first_copy_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let a: Vec<u32> = (0..60).collect();
    let docs = vec![a.clone(), vec![1, 2, 3], a.clone()];
    for cap in [None, Some(61)] {
        let dir = build(&tmp.path().join(format!("{cap:?}")), &docs, 255, cap);
        assert_eq!(
            run(std::slice::from_ref(&dir), None, 10, Keep::First),
            [(2, vec![(0, 60)])]
        );
        assert_eq!(
            run(&[dir], None, 10, Keep::None),
            [(0, vec![(0, 60)]), (2, vec![(0, 60)])]
        );
    }
}

#[test]
fn empty_documents_and_an_empty_evaluation_set_remove_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = vec![vec![], vec![1, 2, 3, 1, 2, 3], vec![]];
    let dir = build(&tmp.path().join("c"), &docs, 255, Some(7));
    let eval = build(&tmp.path().join("e"), &[vec![], vec![]], 255, Some(2));
    assert!(run(std::slice::from_ref(&dir), Some(&[eval]), 1, Keep::First).is_empty());
    assert_eq!(run(&[dir], None, 3, Keep::First), [(1, vec![(3, 6)])]);
}
