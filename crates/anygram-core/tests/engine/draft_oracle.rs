//! Drafts against their definition, by brute force: the longest suffix of the context that
//! occurs in the corpus (or twice in the context), its continuations counted by scanning, and
//! the tree holding the best-scoring nodes (score: the product of `count(child) /
//! count(parent)` along the path; each node's children limited to its `branching` most
//! frequent). Also: the same corpus in several shards drafts the same tree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anygram_core::draft::{DraftOptions, DraftSource, DraftTree, Drafter};
use proptest::prelude::*;

use crate::common::{brute_count, build, corpus, open};

fn occurrences(text: &[u32], pat: &[u32]) -> u64 {
    text.windows(pat.len()).filter(|w| *w == pat).count() as u64
}

/// Every node a tree may hold, with its score: children among their parent's `branching` most
/// frequent (ties to the smaller id), scoring at least `min_prob`.
fn eligible(
    count: &dyn Fn(&[u32]) -> u64,
    total: &dyn Fn(&[u32]) -> u64,
    pat: &mut Vec<u32>,
    prob: f64,
    (vocab, branching, min_prob): (u32, usize, f64),
    out: &mut Vec<(Vec<u32>, u64, f64)>,
) {
    let tot = total(pat);
    if tot == 0 {
        return;
    }
    let mut kids: Vec<(u64, u32)> = (0..vocab)
        .map(|t| {
            pat.push(t);
            let c = count(pat);
            pat.pop();
            (c, t)
        })
        .filter(|&(c, _)| c > 0)
        .collect();
    kids.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(c, t) in kids.iter().take(branching) {
        let p = prob * (c as f64 / tot as f64);
        if p >= min_prob {
            pat.push(t);
            out.push((pat.clone(), c, p));
            eligible(count, total, pat, p, (vocab, branching, min_prob), out);
            pat.pop();
        }
    }
}

/// The path of node `i` (tokens from the context on).
fn path(tree: &DraftTree, mut i: usize) -> Vec<u32> {
    let mut p = vec![tree.token_ids[i]];
    while tree.parents[i] >= 0 {
        i = tree.parents[i] as usize;
        p.push(tree.token_ids[i]);
    }
    p.reverse();
    p
}

/// The scores the best `budget` eligible nodes have, best first.
fn best_scores(all: &[(Vec<u32>, u64, f64)], budget: usize) -> Vec<f64> {
    let mut s: Vec<f64> = all.iter().map(|e| e.2).collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s.truncate(budget);
    s
}

struct Expect {
    match_len: usize,
    nodes: Vec<(Vec<u32>, u64, f64)>,
}

fn corpus_expect(docs: &[Vec<u32>], ctx: &[u32], vocab: u32, o: &DraftOptions, b: usize) -> Expect {
    let m = (0..=ctx.len())
        .rev()
        // The empty suffix always matches, even in a corpus of empty documents.
        .find(|&k| k == 0 || brute_count(docs, &ctx[ctx.len() - k..]) > 0)
        .unwrap_or(0);
    let mut nodes = Vec::new();
    if m >= o.min_match && m > 0 {
        let count = |p: &[u32]| brute_count(docs, p);
        let mut pat = ctx[ctx.len() - m..].to_vec();
        eligible(
            &count,
            &count,
            &mut pat,
            1.0,
            (vocab, b, o.min_prob),
            &mut nodes,
        );
        for n in &mut nodes {
            n.0.drain(..m);
        }
    }
    Expect {
        match_len: m,
        nodes,
    }
}

fn context_expect(ctx: &[u32], vocab: u32, o: &DraftOptions, b: usize) -> Expect {
    let m = (1..=ctx.len())
        .rev()
        .find(|&k| occurrences(ctx, &ctx[ctx.len() - k..]) >= 2)
        .unwrap_or(0);
    let mut nodes = Vec::new();
    if m >= o.min_match {
        let count = |p: &[u32]| occurrences(ctx, p);
        // An occurrence at the very end has no continuation yet.
        let total = |p: &[u32]| occurrences(ctx, p) - u64::from(ctx.ends_with(p));
        let mut pat = ctx[ctx.len() - m..].to_vec();
        eligible(
            &count,
            &total,
            &mut pat,
            1.0,
            (vocab, b, o.min_prob),
            &mut nodes,
        );
        for n in &mut nodes {
            n.0.drain(..m);
        }
    }
    Expect {
        match_len: m,
        nodes,
    }
}

/// The tree is a tree of eligible nodes with their counts and scores, and holds the best ones.
fn check_tree(tree: &DraftTree, want: &Expect, budget: usize, branching: usize) {
    assert_eq!(tree.match_len, want.match_len);
    let n = tree.token_ids.len();
    for i in 0..n {
        assert!(tree.parents[i] < i as i32);
        let kids = (0..n)
            .filter(|&j| tree.parents[j] == tree.parents[i])
            .count();
        assert!(kids <= branching);
        let p = path(tree, i);
        let e = want
            .nodes
            .iter()
            .find(|e| e.0 == p)
            .unwrap_or_else(|| panic!("node {p:?} is not eligible: {tree:?}"));
        assert_eq!((tree.counts[i], tree.probs[i]), (e.1, e.2), "node {p:?}");
    }
    let mut got = tree.probs.clone();
    got.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(got, best_scores(&want.nodes, budget), "{tree:?}");
}

fn check(
    docs: &[Vec<u32>],
    vocab: u32,
    steps: &[Vec<u32>],
    o: DraftOptions,
    budget: usize,
    b: usize,
) {
    let tmp = tempfile::tempdir().unwrap();
    let one = open(
        &build(&tmp.path().join("one"), docs, vocab as u64, None),
        false,
    );
    let many = open(
        &build(&tmp.path().join("many"), docs, vocab as u64, Some(45)),
        false,
    );
    let (mut d1, mut d2) = (Drafter::new(o).unwrap(), Drafter::new(o).unwrap());
    for ctx in steps {
        let t1 = d1.draft(&one, ctx, b).unwrap();
        let t2 = d2.draft(&many, ctx, b).unwrap();
        assert_eq!(t1, t2, "layout changed the draft of {ctx:?}");
        let corpus = corpus_expect(docs, ctx, vocab, &o, b);
        let local = if o.use_context {
            context_expect(ctx, vocab, &o, b)
        } else {
            Expect {
                match_len: 0,
                nodes: Vec::new(),
            }
        };
        let score = |e: &Expect| best_scores(&e.nodes, budget).iter().sum::<f64>();
        let (want, other) = match t1.source {
            DraftSource::Corpus => (&corpus, &local),
            DraftSource::Context => (&local, &corpus),
            DraftSource::None => {
                assert!(score(&corpus) == 0.0 && score(&local) == 0.0, "{ctx:?}");
                continue;
            }
        };
        check_tree(&t1, want, budget, b);
        // The better-scoring source wins (sums compared with a rounding margin).
        assert!(
            score(other) <= score(want) + 1e-9,
            "the other source drafts better: {ctx:?}"
        );
    }
}

/// Contexts a request goes through: a prompt growing a few tokens at a time, then another.
fn contexts(vocab: u32) -> impl Strategy<Value = Vec<Vec<u32>>> {
    let tok = prop_oneof![4 => 0..3.min(vocab), 1 => 0..vocab];
    (
        proptest::collection::vec(tok.clone(), 1..30),
        proptest::collection::vec(tok, 1..20),
        proptest::collection::vec(1usize..4, 1..8),
    )
        .prop_map(|(a, b, steps)| {
            let mut out = Vec::new();
            let mut n = 1;
            for s in steps {
                n = (n + s).min(a.len());
                out.push(a[..n].to_vec());
            }
            out.push(b);
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn drafts_match_the_definition(
        docs in corpus(5),
        steps in contexts(5),
        budget in 1usize..12,
        branching in 1usize..4,
        min_prob in prop_oneof![Just(0.05), Just(0.2), Just(0.5), Just(1.0)],
        use_context in any::<bool>(),
    ) {
        let o = DraftOptions {
            max_tokens: budget,
            tokens_per_match: 1e9, // the budget is max_tokens whatever the match
            min_match: 1,
            min_prob,
            use_context,
            calibrate: false, // the definition has no measured acceptance
        };
        check(&docs, 5, &steps, o, budget, branching);
    }
}
