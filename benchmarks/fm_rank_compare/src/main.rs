//! Size, build time and rank latency of candidate rank structures over the BWT of a byte text
//! (documents separated by 0xFF, as `bench_fm.py` writes it):
//!
//!     fm-rank-compare TEXT [QUERIES]
//!
//! The BWT is that of the reversed text, as the FM-index kind builds it. Queries are
//! `rank(c, i)` at random `i` with `c = BWT[j]` at another random `j` (symbols drawn as the
//! text draws them), answered by every structure with the same answer (checked).
use std::time::Instant;

mod analyze;

use anygram_core::fm::boosted::{Boosted, BoostedParts};
use anygram_core::fm::rrr::{Rrr, RrrParts};
use anygram_core::fm::wavelet::{huffman_lengths, Shape};
use qwt::mem_dbg::{MemSize, SizeFlags};
use qwt::RankUnsigned;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read(&args[1]).unwrap();
    let queries: usize = args.get(2).map(|q| q.parse().unwrap()).unwrap_or(1_000_000);
    // A cached BWT (FM_BWT_CACHE) saves the suffix sort between runs.
    let cache = std::env::var("FM_BWT_CACHE").ok();
    let bwt = match cache.as_ref().and_then(|c| std::fs::read(c).ok()) {
        Some(b) if b.len() == text.len() + 1 => b,
        _ => {
            let b = bwt_of(&text);
            if let Some(c) = &cache {
                std::fs::write(c, &b).unwrap();
            }
            b
        }
    };
    drop(text);
    if args.get(3).map(String::as_str) == Some("analyze") {
        analyze::run(&bwt);
        return;
    }
    rest(bwt, queries);
}

/// The BWT of the reversed text with a leading separator, as the FM kind builds it.
fn bwt_of(text: &[u8]) -> Vec<u8> {
    let mut rev: Vec<u8> = vec![0xFF];
    rev.extend(text.iter().rev());
    let n = rev.len();
    let sa = anygram_core::suffix_array::build(&rev, 255, n as u64, 2).unwrap();
    let bwt: Vec<u8> = match &sa {
        anygram_core::suffix_array::SuffixArray::I32(v) => v
            .iter()
            .map(|&i| if i == 0 { 0xFF } else { rev[i as usize - 1] })
            .collect(),
        anygram_core::suffix_array::SuffixArray::I64(v) => v
            .iter()
            .map(|&i| if i == 0 { 0xFF } else { rev[i as usize - 1] })
            .collect(),
    };
    bwt
}

fn rest(bwt: Vec<u8>, queries: usize) {
    let n = bwt.len();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let qs: Vec<(u8, usize)> = (0..queries)
        .map(|_| (bwt[rnd() as usize % n], rnd() as usize % n))
        .collect();
    println!("BWT of {n} bytes, {queries} rank queries");
    println!("| structure | bytes | bits/symbol | build s | rank ns (mean) |");
    println!("|---|---|---|---|---|");
    let report = |name: &str, bytes: usize, build: f64, ns: f64| {
        println!(
            "| {name} | {bytes} | {:.3} | {build:.2} | {ns:.0} |",
            bytes as f64 * 8.0 / n as f64
        );
    };
    let mut want = Vec::with_capacity(queries);

    // anygram: Huffman-shaped wavelet tree, one RRR-63 vector.
    let clock = Instant::now();
    let mut counts = vec![0u64; 256];
    for &b in &bwt {
        counts[b as usize] += 1;
    }
    let symbols: Vec<usize> = (0..256).filter(|&s| counts[s] > 0).collect();
    let mut dense = [0u32; 256];
    for (i, &s) in symbols.iter().enumerate() {
        dense[s] = i as u32;
    }
    let dcounts: Vec<u64> = symbols.iter().map(|&s| counts[s]).collect();
    let lengths = huffman_lengths(&dcounts);
    let shape = Shape::new(&lengths, &dcounts).unwrap();
    let bits = shape.fill(n as u64, |i| dense[bwt[i as usize] as usize]);
    let parts = RrrParts::build(&bits);
    drop(bits);
    let build = clock.elapsed().as_secs_f64();
    let rrr = Rrr::new(parts.len, &parts.records, &parts.offsets).unwrap();
    let bytes = (parts.records.len() + parts.offsets.len()) * 8;
    let clock = Instant::now();
    for &(c, i) in &qs {
        want.push(shape.rank(&rrr, dense[c as usize], i as u64) as usize);
    }
    report(
        "anygram Huffman WT + RRR-63",
        bytes,
        build,
        clock.elapsed().as_nanos() as f64 / queries as f64,
    );

    // Pairs `(c, i, i + δ)`, δ < 64: the narrow ranges of a backward search's steps.
    let pairs: Vec<(u32, u64, u64)> = qs
        .iter()
        .enumerate()
        .map(|(k, &(c, i))| {
            let j = (i + (k * 2654435761) % 64).min(n);
            (dense[c as usize], i as u64, j as u64)
        })
        .collect();
    let clock = Instant::now();
    let want_pairs: Vec<(u64, u64)> = pairs
        .iter()
        .map(|&(c, i, j)| shape.rank_pair(&rrr, c, i, j))
        .collect();
    println!(
        "| (global tree: rank_pair at δ < 64, ns) | | | | {:.0} |",
        clock.elapsed().as_nanos() as f64 / queries as f64
    );

    // anygram: fixed-block boosting, one local Huffman tree per block, RRR-63 bits.
    for block_log in [12u32, 14, 15, 16, 17, 18] {
        let clock = Instant::now();
        let p = BoostedParts::build(n as u64, symbols.len(), block_log, |i| {
            dense[bwt[i as usize] as usize]
        });
        let build = clock.elapsed().as_secs_f64();
        let bits = Rrr::new_packed(p.rrr.len, &p.rrr.records, &p.rrr.offsets).unwrap();
        let b = Boosted::new(
            n as u64,
            symbols.len(),
            block_log,
            &p.supers,
            &p.blocks,
            &p.headers,
            bits,
        )
        .unwrap();
        let bytes = (p.rrr.records.len() + p.rrr.offsets.len() + p.supers.len() + p.blocks.len())
            * 8
            + p.headers.len();
        let clock = Instant::now();
        for (k, &(c, i)) in qs.iter().enumerate() {
            assert_eq!(b.rank(dense[c as usize], i as u64), want[k] as u64);
        }
        let ns = clock.elapsed().as_nanos() as f64 / queries as f64;
        report(
            &format!(
                "anygram boosted, blocks of 2^{block_log} (headers {} B, RRR {} B)",
                p.headers.len() + p.blocks.len() * 8 + p.supers.len() * 8,
                (p.rrr.records.len() + p.rrr.offsets.len()) * 8
            ),
            bytes,
            build,
            ns,
        );
        let clock = Instant::now();
        for (k, &(c, i, j)) in pairs.iter().enumerate() {
            assert_eq!(b.rank_pair(c, i, j), want_pairs[k]);
        }
        println!(
            "| (boosted 2^{block_log}: rank_pair at δ < 64, ns) | | | | {:.0} |",
            clock.elapsed().as_nanos() as f64 / queries as f64
        );
        let clock = Instant::now();
        let mut sum = 0u64;
        for &(_, i) in &qs {
            sum += b.access_rank(i as u64).1;
        }
        let want_sum: u64 = qs.iter().map(|&(_, i)| shape.access_rank(&rrr, i as u64).1).sum();
        assert_eq!(sum, want_sum);
        println!(
            "| (boosted 2^{block_log}: access ns) | | | | {:.0} |",
            clock.elapsed().as_nanos() as f64 / queries as f64
        );
    }
    if std::env::var("FM_SKIP_CRATES").is_ok() {
        return;
    }

    // Times the same queries on a structure and checks its answers.
    let check =
        |name: &str, bytes: usize, build: f64, rank: &dyn Fn(u8, usize) -> Option<usize>| {
            let clock = Instant::now();
            for (k, &(c, i)) in qs.iter().enumerate() {
                assert_eq!(rank(c, i), Some(want[k]), "{name}");
            }
            report(
                name,
                bytes,
                build,
                clock.elapsed().as_nanos() as f64 / queries as f64,
            );
        };

    // qwt: Huffman-shaped and plain quad wavelet trees.
    let clock = Instant::now();
    let hqwt = qwt::HQWT256::<u8>::from(bwt.clone());
    let build = clock.elapsed().as_secs_f64();
    let size = hqwt.mem_size(SizeFlags::default());
    check("qwt HQWT256 (Huffman, plain)", size, build, &|c, i| {
        hqwt.rank(c, i)
    });
    drop(hqwt);
    let clock = Instant::now();
    let q = qwt::QWT256::<u8>::from(bwt.clone());
    let build = clock.elapsed().as_secs_f64();
    check(
        "qwt QWT256 (balanced, plain)",
        q.mem_size(SizeFlags::default()),
        build,
        &|c, i| q.rank(c, i),
    );
    drop(q);

    // vers-vecs: wavelet matrix over 8-bit symbols.
    let clock = Instant::now();
    let seq: Vec<u64> = bwt.iter().map(|&b| b as u64).collect();
    let wm = vers_vecs::WaveletMatrix::from_slice(&seq, 8);
    drop(seq);
    let build = clock.elapsed().as_secs_f64();
    check(
        "vers-vecs WaveletMatrix (plain)",
        wm.heap_size(),
        build,
        &|c, i| wm.rank_u64(i, c as u64),
    );
}
