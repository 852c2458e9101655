//! Garbage inside index files (sizes intact, checksums not verified) never panics a query, in
//! debug builds too (overflow checks on).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::build;
use anygram_core::{Index, OpenOptions};

#[test]
fn random_pointers_and_tokens_never_panic() {
    let docs: Vec<Vec<u32>> = (0..30)
        .map(|i| (0..40).map(|j| (i * j % 7) as u32).collect())
        .collect();
    for (file, vocab) in [
        ("sa.bin", 7u64),
        ("tokens.bin", 7),
        ("sa.bin", 300),
        ("tokens.bin", 300),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = build(tmp.path(), &docs, vocab, None);
        let path = dir.join("shard-00000").join(file);
        let mut bytes = std::fs::read(&path).unwrap();
        let mut x: u64 = 12345;
        let n = bytes.len().saturating_sub(4);
        for b in bytes.iter_mut().skip(2).take(n) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        std::fs::write(&path, &bytes).unwrap();
        let index = match Index::open(std::slice::from_ref(&dir), OpenOptions::default()) {
            Ok(i) => i,
            Err(_) => continue, // structural checks caught it: fine too
        };
        for q in [vec![], vec![1], vec![1, 2], vec![3, 4, 5, 6], vec![6; 30]] {
            let _ = index.count(&q);
            if let Ok(found) = index.find(&q) {
                for (s, seg) in found.segment_by_shard.iter().enumerate() {
                    for r in seg.lo..seg.hi.min(seg.lo + 20) {
                        let _ = index.get_doc_by_rank(s, r, 0, 1 << 62);
                    }
                }
            }
        }
        assert!(Index::open(
            &[dir],
            OpenOptions {
                load_to_ram: false,
                verify_checksums: true,
                populate: false,
            }
        )
        .is_err());
    }
}
