//! The FM-index side of `benchmarks/bench_fm.py` (not part of the library): builds an FM-index
//! of a byte text file (documents separated by 0xFF) and times queries read from a file, with
//! the same query files and output format as the SDSL program the script compiles.
//!
//!     fm_bench build TEXT DIR SA_SAMPLE ISA_SAMPLE WORKERS   -> JSON: seconds, phases, sizes
//!     fm_bench count DIR QUERIES                              -> JSON: ns per query, counts
//!     fm_bench extract DIR RANGES                             -> JSON: ns per range, checksum
//!     fm_bench locate DIR QUERIES MAX                         -> JSON: ns per query, checksum
//!
//! QUERIES: u32 length + bytes per pattern. RANGES: u64 position + u64 length per range, in
//! text coordinates (the stream's leading separator not counted, as SDSL's text has none).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use anygram_core::fm::{build, FmIndex, FmManifest, FmParams};
use anygram_core::OpenOptions;

fn patterns(path: &str) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= b.len() {
        let n = u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as usize;
        out.push(b[i + 4..i + 4 + n].to_vec());
        i += 4 + n;
    }
    out
}

fn open(dir: &str) -> FmIndex<u8> {
    let m: FmManifest =
        serde_json::from_slice(&std::fs::read(Path::new(dir).join("fm.json")).unwrap()).unwrap();
    FmIndex::open(
        Path::new(dir),
        &m,
        OpenOptions {
            load_to_ram: true,
            ..Default::default()
        },
    )
    .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args[1].as_str() {
        "build" => {
            let text = std::fs::read(&args[2]).unwrap();
            let mut stream = Vec::with_capacity(text.len() + 2);
            stream.push(0xFFu8);
            stream.extend_from_slice(&text);
            if stream.last() != Some(&0xFF) {
                stream.push(0xFF);
            }
            drop(text);
            let dir = Path::new(&args[3]);
            std::fs::create_dir_all(dir).unwrap();
            let params = FmParams {
                sa_sample: args[4].parse().unwrap(),
                isa_sample: args[5].parse().unwrap(),
            };
            let mut times = Default::default();
            let clock = Instant::now();
            let m = build::write(
                dir,
                stream,
                255,
                params,
                args[6].parse().unwrap(),
                &mut times,
            )
            .unwrap();
            let seconds = clock.elapsed().as_secs_f64();
            std::fs::write(dir.join("fm.json"), serde_json::to_vec(&m).unwrap()).unwrap();
            let fm = open(&args[3]);
            let sizes: serde_json::Map<String, serde_json::Value> = fm
                .size_breakdown()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect();
            let out = serde_json::json!({"seconds": seconds, "phases": times.0, "bytes": fm.size_bytes(), "components": sizes});
            println!("{out}");
        }
        "count" => {
            let fm = open(&args[2]);
            let qs = patterns(&args[3]);
            let mut ns = Vec::with_capacity(qs.len());
            let mut counts = Vec::with_capacity(qs.len());
            for q in &qs {
                let clock = Instant::now();
                let c = fm.find(q).count();
                ns.push(clock.elapsed().as_nanos() as u64);
                counts.push(c);
            }
            println!("{}", serde_json::json!({"ns": ns, "counts": counts}));
        }
        "extract" => {
            let fm = open(&args[2]);
            let b = std::fs::read(&args[3]).unwrap();
            let mut ns = Vec::new();
            let mut checksum = 0u64;
            for r in b.chunks_exact(16) {
                let pos = u64::from_le_bytes(r[..8].try_into().unwrap()) + 1;
                let len = u64::from_le_bytes(r[8..].try_into().unwrap());
                let clock = Instant::now();
                let t = fm.extract(pos, pos + len);
                ns.push(clock.elapsed().as_nanos() as u64);
                checksum = t
                    .iter()
                    .fold(checksum, |a, &x| a.wrapping_mul(31).wrapping_add(x as u64));
            }
            println!("{}", serde_json::json!({"ns": ns, "checksum": checksum}));
        }
        "locate" => {
            let fm = open(&args[2]);
            let qs = patterns(&args[3]);
            let max: u64 = args[4].parse().unwrap();
            let mut ns = Vec::new();
            let mut checksum = 0u64;
            for q in &qs {
                let clock = Instant::now();
                let seg = fm.find(q);
                let mut sum = 0u64;
                for r in seg.lo..seg.hi.min(seg.lo + max) {
                    // Text coordinates: the stream's leading separator is not in SDSL's text.
                    sum = sum.wrapping_add(fm.locate(r, q.len()).unwrap() - 1);
                }
                ns.push(clock.elapsed().as_nanos() as u64);
                checksum = checksum.wrapping_add(sum);
            }
            println!("{}", serde_json::json!({"ns": ns, "checksum": checksum}));
        }
        other => panic!("unknown command {other}"),
    }
}
