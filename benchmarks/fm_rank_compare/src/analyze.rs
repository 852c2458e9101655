//! Entropy landscape of block-local Huffman trees over the BWT (chooses the boosted layout's
//! block size): per block size, the local trees' plain bits, their RRR-63 size, and the
//! distinct symbols per block (each costs a header entry).
use anygram_core::fm::rrr::{BitBuf, RrrParts};
use anygram_core::fm::wavelet::{huffman_lengths, Shape};

pub fn run(bwt: &[u8]) {
    let n = bwt.len() as f64;
    println!("| block | plain bits/sym | RRR-63 bits/sym | distinct per block | σ_b·32/B |");
    println!("|---|---|---|---|---|");
    for k in [14u32, 16] {
        let b = 1usize << k;
        let mut all = BitBuf { words: Vec::new(), len: 0 };
        let mut plain = 0u64;
        let mut distinct = 0u64;
        for block in bwt.chunks(b) {
            let mut counts = [0u64; 256];
            for &x in block {
                counts[x as usize] += 1;
            }
            let present: Vec<usize> = (0..256).filter(|&s| counts[s] > 0).collect();
            distinct += present.len() as u64;
            let mut local = [0u32; 256];
            for (i, &s) in present.iter().enumerate() {
                local[s] = i as u32;
            }
            let c: Vec<u64> = present.iter().map(|&s| counts[s]).collect();
            let shape = Shape::new(&huffman_lengths(&c), &c).unwrap();
            let bits = shape.fill(block.len() as u64, |i| local[block[i as usize] as usize]);
            plain += bits.len;
            let mut at = 0;
            while at < bits.len {
                let w = (bits.len - at).min(32) as u32;
                let i = (at / 64) as usize;
                let v = (bits.words[i] >> (at % 64)) | if at % 64 + w as u64 > 64 { bits.words[i + 1] << (64 - at % 64) } else { 0 };
                all.push(v & ((1u64 << w) - 1), w);
                at += w as u64;
            }
        }
        all.words.push(0);
        // Class histogram of the 63-bit blocks: what an entropy-coded class would cost.
        let mut hist = [0u64; 64];
        let nb = all.len.div_ceil(63);
        for blk in 0..nb {
            let at = blk * 63;
            let i = (at / 64) as usize;
            let sh = at % 64;
            let mut v = all.words[i] >> sh;
            if sh + 63 > 64 {
                v |= all.words.get(i + 1).copied().unwrap_or(0) << (64 - sh);
            }
            hist[(v & ((1u64 << 63) - 1)).count_ones() as usize] += 1;
        }
        let h: f64 = hist
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f64 / nb as f64;
                -p * p.log2()
            })
            .sum();
        println!(
            "  2^{k}: {nb} blocks, class entropy {h:.2} bits (6 stored): {:.0} bytes vs {:.0}; share of class 0 / 63: {:.3} / {:.3}",
            h * nb as f64 / 8.0,
            6.0 * nb as f64 / 8.0,
            hist[0] as f64 / nb as f64,
            hist[63] as f64 / nb as f64
        );
        let r = RrrParts::build(&all);
        let rrr = (r.records.len() + r.offsets.len()) as f64 * 64.0;
        let blocks = bwt.len().div_ceil(b) as f64;
        println!(
            "| 2^{k} | {:.3} | {:.3} | {:.1} | {:.3} |",
            plain as f64 / n,
            rrr / n,
            distinct as f64 / blocks,
            distinct as f64 * 32.0 / n
        );
    }
}
