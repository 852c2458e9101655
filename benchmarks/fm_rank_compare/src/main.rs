//! Size, build time and rank latency of candidate rank structures over the BWT of a byte text
//! (documents separated by 0xFF, as `bench_fm.py` writes it):
//!
//!     fm-rank-compare TEXT [QUERIES]
//!
//! The BWT is that of the reversed text, as the FM-index kind builds it. Queries are
//! `rank(c, i)` at random `i` with `c = BWT[j]` at another random `j` (symbols drawn as the
//! text draws them), answered by every structure with the same answer (checked).
use std::time::Instant;

use anygram_core::fm::rrr::{Rrr, RrrParts};
use anygram_core::fm::wavelet::{huffman_lengths, Shape};
use qwt::mem_dbg::{MemSize, SizeFlags};
use qwt::RankUnsigned;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read(&args[1]).unwrap();
    let queries: usize = args.get(2).map(|q| q.parse().unwrap()).unwrap_or(1_000_000);
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
    drop(sa);
    drop(rev);
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
