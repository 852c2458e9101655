//! Criterion micro-benchmarks of `count` on a synthetic corpus (Zipf-like words, u16 ids). The
//! end-to-end comparison with infini-gram lives in `benchmarks/` at the repository root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anygram_core::build::{BuildOptions, IndexBuilder};
use anygram_core::{Index, OpenOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn corpus(tokens: usize, vocab: u32) -> Vec<Vec<u32>> {
    // A xorshift generator and a skewed distribution: repeats at every length, like text.
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut docs = Vec::new();
    let mut left = tokens;
    while left > 0 {
        let len = (next() % 2000) as usize + 1;
        let doc: Vec<u32> = (0..len.min(left))
            .map(|_| {
                let r = (next() % 1_000_000) as f64 / 1_000_000.0;
                ((r * r * r) * vocab as f64) as u32 % vocab
            })
            .collect();
        left -= doc.len();
        docs.push(doc);
    }
    docs
}

fn bench_count(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let docs = corpus(2_000_000, 32_000);
    let opts = BuildOptions {
        mem_budget: 1 << 30,
        workers: 2,
        max_shard_tokens: None,
        overwrite: true,
        resume_key: None,
        ..Default::default()
    };
    let mut b = IndexBuilder::create(dir.path(), 32_000, serde_json::json!({}), &opts).unwrap();
    for d in &docs {
        b.add_token_document(d, "{}").unwrap();
    }
    b.finish(serde_json::Value::Null).unwrap();
    let index = Index::open(&[dir.path().to_path_buf()], OpenOptions::default()).unwrap();
    let mut group = c.benchmark_group("count");
    for n in [1usize, 2, 4, 8, 16, 32] {
        let queries: Vec<&[u32]> = docs
            .iter()
            .filter(|d| d.len() > n)
            .take(256)
            .map(|d| &d[d.len() / 2 - n / 2..d.len() / 2 - n / 2 + n])
            .collect();
        group.bench_with_input(BenchmarkId::from_parameter(n), &queries, |bench, qs| {
            let mut i = 0;
            bench.iter(|| {
                i = (i + 1) % qs.len();
                index.count(qs[i]).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_count);
criterion_main!(benches);
