//! The sampled boolean count is an unbiased estimate of the exact count, never above what is
//! provably possible, and its 95% interval covers the exact count about 95% of the time: many
//! seeds of the sampling on random corpora, against the exact answer.
//!
//! `cargo test -p anygram-core --test cnf_estimator -- --nocapture` prints the error table
//! that `benchmarks/RESULTS.md` quotes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)]

use anygram_core::cnf::{CnfOptions, CnfScope};

use crate::common::{build, open};

/// A corpus where token 1 is frequent and 2, 3 are sprinkled: "1 AND 2" has many anchors
/// (token 2, whose count exceeds the cap) and a hit rate that is neither 0 nor 1.
fn corpus(seed: u64, docs: usize) -> Vec<Vec<u32>> {
    let mut x = seed | 1;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    (0..docs)
        .map(|_| {
            (0..20 + next(60))
                .map(|_| match next(10) {
                    0..=3 => 1,
                    4..=5 => 2,
                    6 => 3,
                    _ => 4 + next(20) as u32,
                })
                .collect()
        })
        .collect()
}

#[test]
fn sampled_counts_are_unbiased_bounded_and_covered() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for (case, (cnf, scope, cap)) in [
        (vec![vec![vec![2]], vec![vec![1]]], CnfScope::Window, 300u64),
        (vec![vec![vec![2]], vec![vec![3]]], CnfScope::Window, 300),
        (
            vec![vec![vec![2, 1]], vec![vec![3]], vec![vec![1]]],
            CnfScope::Window,
            150,
        ),
        (vec![vec![vec![2]], vec![vec![3]]], CnfScope::Document, 400),
    ]
    .into_iter()
    .enumerate()
    {
        let docs = corpus(case as u64 + 1, 250);
        let dir = tmp.path().join(format!("c{case}"));
        let index = open(&build(&dir, &docs, 30, Some(2000)), false);
        let exact_opts = CnfOptions {
            exact: true,
            max_diff_tokens: 3,
            scope,
            ..CnfOptions::default()
        };
        let exact = index.count_cnf(&cnf, exact_opts).unwrap().cnt as f64;
        let anchor: u64 = cnf
            .iter()
            .map(|c| c.iter().map(|t| index.count(t).unwrap()).sum::<u64>())
            .min()
            .unwrap();
        let seeds = 400u64;
        let (mut sum, mut sq, mut covered) = (0.0, 0.0, 0u64);
        for seed in 0..seeds {
            let opts = CnfOptions {
                max_clause_freq: cap,
                exact: false,
                seed,
                ..exact_opts
            };
            let r = index.count_cnf(&cnf, opts).unwrap();
            assert!(
                r.approx,
                "the anchor ({anchor}) must exceed the cap ({cap})"
            );
            let (lo, hi) = r.cnt_interval;
            assert!(
                lo <= r.cnt && r.cnt <= hi && hi <= anchor,
                "{r:?} anchor {anchor}"
            );
            let est = r.cnt as f64;
            sum += est;
            sq += (est - exact).powi(2);
            covered += u64::from(lo as f64 <= exact && exact <= hi as f64);
        }
        let mean = sum / seeds as f64;
        let rmse = (sq / seeds as f64).sqrt();
        let bias = (mean - exact) / exact.max(1.0);
        let coverage = covered as f64 / seeds as f64;
        rows.push(format!(
            "| {case} | {scope:?} | {} | {anchor} | {cap} | {exact} | {mean:.1} | {:+.2}% | {:.1}% | {:.1}% |",
            cnf.len(),
            bias * 100.0,
            rmse / exact.max(1.0) * 100.0,
            coverage * 100.0
        ));
        // Unbiased: the mean of 400 independent estimates lies within 4 standard errors.
        let se = rmse / (seeds as f64).sqrt();
        assert!(
            (mean - exact).abs() <= 4.0 * se + 0.5,
            "case {case}: mean {mean} vs exact {exact} (se {se})"
        );
        assert!(
            coverage >= 0.85,
            "case {case}: 95% interval covers {coverage}"
        );
    }
    println!("| case | scope | clauses | anchor count | cap | exact | mean estimate | bias | RMSE | 95% interval coverage |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!("{r}");
    }
}
