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

/// The FM kind's metadata in blocks (`meta.blocks`, format 4): every document's metadata reads
/// back as the SA kind's plain `meta.jsonl` gives it; a truncated file is refused at open
/// (`CorruptIndex`, by the manifest's size and by the block table when the manifest agrees);
/// flipped bytes give an error or some metadata, never a panic, and checksums catch them.
#[test]
fn fm_metadata_blocks_read_back_and_fail_typed() {
    use anygram_core::format::{self, IndexKind, IndexOptions, Manifest};
    use anygram_core::AnygramError;
    let docs: Vec<Vec<u32>> = (0..150)
        .map(|i| (0..(i % 13)).map(|j| ((i + j) % 5) as u32).collect())
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let sa = crate::common::build(&tmp.path().join("sa"), &docs, 7, None);
    let fm_dir = crate::common::build_kind(
        &tmp.path().join("fm"),
        &docs,
        7,
        None,
        IndexOptions::of_kind(IndexKind::Fm),
    );
    let m = Manifest::read(&fm_dir).unwrap();
    assert_eq!(m.format_version, 4);
    let files = &m.shards[0].files;
    assert!(files.contains_key(format::META_BLOCKS_FILE));
    assert!(!files.contains_key(format::META_FILE) && !files.contains_key(format::META_INDEX_FILE));
    let sa = Index::open(std::slice::from_ref(&sa), OpenOptions::default()).unwrap();
    let want: Vec<String> = (0..docs.len() as u64)
        .map(|d| sa.get_doc_by_ix(d, 0).unwrap().metadata)
        .collect();
    let read_all = |opts: OpenOptions| -> anygram_core::Result<Vec<String>> {
        let fm = Index::open(std::slice::from_ref(&fm_dir), opts)?;
        (0..docs.len() as u64)
            .map(|d| fm.get_doc_by_ix(d, 0).map(|r| r.metadata))
            .collect()
    };
    assert_eq!(read_all(OpenOptions::default()).unwrap(), want);
    let path = fm_dir.join("shard-00000").join(format::META_BLOCKS_FILE);
    let good = std::fs::read(&path).unwrap();
    let manifest = fm_dir.join(format::MANIFEST);
    let good_manifest = std::fs::read_to_string(&manifest).unwrap();
    for cut in [1usize, 8, good.len() / 2, good.len() - 8] {
        std::fs::write(&path, &good[..good.len() - cut]).unwrap();
        assert!(matches!(
            read_all(OpenOptions::default()),
            Err(AnygramError::CorruptIndex { .. })
        ));
        // The manifest agreeing on the new size: the block table sees it.
        let mut m2 = m.clone();
        m2.shards[0]
            .files
            .get_mut(format::META_BLOCKS_FILE)
            .unwrap()
            .size = (good.len() - cut) as u64;
        m2.write(&fm_dir).unwrap();
        match read_all(OpenOptions::default()) {
            Err(AnygramError::CorruptIndex { path, .. }) => {
                assert!(
                    path.ends_with(format::META_BLOCKS_FILE),
                    "cut {cut}: {path:?}"
                )
            }
            other => panic!("cut {cut}: {other:?}"),
        }
        std::fs::write(&manifest, &good_manifest).unwrap();
    }
    for at in (0..good.len()).step_by(7) {
        let mut bad = good.clone();
        bad[at] ^= 0x24;
        std::fs::write(&path, &bad).unwrap();
        match read_all(OpenOptions::default()) {
            Ok(_) | Err(AnygramError::CorruptIndex { .. }) => {}
            Err(e) => panic!("flipped at {at}: {e}"),
        }
        let verify = OpenOptions {
            verify_checksums: true,
            ..Default::default()
        };
        assert!(matches!(
            read_all(verify),
            Err(AnygramError::CorruptIndex { .. })
        ));
    }
    std::fs::write(&path, &good).unwrap();
    assert_eq!(read_all(OpenOptions::default()).unwrap(), want);
}
