//! The FM-index kind checked against brute force and against the suffix-array kind on random
//! and adversarial corpora (tiny alphabets, one-symbol runs, empty documents, the widths' edge
//! ids), every token width, several sample rates: counts, located positions, extraction,
//! next-token counts and bounds, and extension by a token or a document end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use anygram_core::fm::{build, FmIndex, FmParams};
use anygram_core::merge::DOC_END;
use anygram_core::token::Token;
use anygram_core::OpenOptions;
use proptest::prelude::*;

/// Documents over a few small ids and the width's edge ids (0 and `vocab - 1`).
fn corpus(vocab: u32) -> impl Strategy<Value = Vec<Vec<u32>>> {
    let tok = prop_oneof![6 => 0..3u32.min(vocab), 1 => Just(vocab - 1), 1 => 0..vocab];
    let doc = prop_oneof![
        4 => proptest::collection::vec(tok, 0..40),
        // One-symbol runs.
        1 => (0..3u32.min(vocab), 0..60usize).prop_map(|(t, n)| vec![t; n]),
        1 => Just(Vec::new()),
    ];
    proptest::collection::vec(doc, 1..8)
}

fn stream<T: Token>(docs: &[Vec<u32>]) -> Vec<T> {
    let mut s = vec![T::SEPARATOR];
    for d in docs {
        s.extend(d.iter().map(|&t| T::from_u32(t)));
        s.push(T::SEPARATOR);
    }
    s
}

/// Start positions in the stream of `q` (real tokens), by scanning.
fn brute_starts<T: Token>(s: &[T], q: &[T]) -> Vec<u64> {
    (1..s.len())
        .filter(|&p| s.get(p..p + q.len()) == Some(q))
        .map(|p| p as u64)
        .collect()
}

fn label<T: Token>(t: T) -> u32 {
    if t == T::SEPARATOR {
        DOC_END
    } else {
        t.to_u32()
    }
}

/// Patterns: every short n-gram of the corpus, document tails, absent ones.
fn patterns(docs: &[Vec<u32>], vocab: u32) -> Vec<Vec<u32>> {
    let mut qs = vec![
        vec![0],
        vec![vocab - 1],
        vec![0; 9],
        vec![vocab - 1, 0, vocab - 1],
    ];
    for d in docs {
        for start in 0..d.len() {
            for len in [1usize, 2, 3, 7] {
                if let Some(g) = d.get(start..start + len) {
                    qs.push(g.to_vec());
                }
            }
        }
    }
    qs.sort();
    qs.dedup();
    qs
}

fn build_fm<T: Token>(dir: &std::path::Path, s: &[T], vocab: u64, p: FmParams) -> FmIndex<T> {
    let mut times = Default::default();
    let m = build::write(dir, s.to_vec(), vocab, p, 1, &mut times).unwrap();
    let opts = OpenOptions {
        verify_checksums: true,
        ..Default::default()
    };
    FmIndex::open(dir, &m, opts).unwrap()
}

fn check<T: Token>(docs: &[Vec<u32>], vocab: u32, p: FmParams) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let s: Vec<T> = stream(docs);
    let fm = build_fm(tmp.path(), &s, vocab as u64, p);
    let n = s.len() as u64;
    let num_docs = docs.len() as u64;
    prop_assert_eq!(fm.stream_len(), n);
    prop_assert_eq!(fm.num_docs(), num_docs);
    prop_assert_eq!(fm.num_tokens(), n - num_docs - 1);

    // The suffix-array kind on the same documents, one shard.
    let sa_dir = tmp.path().join("sa");
    crate::common::build(&sa_dir, docs, vocab as u64, None);
    let sa = crate::common::open(&sa_dir, false);

    // The empty pattern: the real tokens, continuing with themselves.
    let empty = fm.find(&[]);
    prop_assert_eq!(empty.count(), fm.num_tokens());
    let mut unigrams: BTreeMap<u32, u64> = BTreeMap::new();
    for &t in s.iter().filter(|&&t| t != T::SEPARATOR) {
        *unigrams.entry(t.to_u32()).or_default() += 1;
    }
    let uni: Vec<(u32, u64)> = unigrams.clone().into_iter().collect();
    prop_assert_eq!(fm.next_token_counts(empty, 0), uni.clone());
    prop_assert_eq!(
        fm.next_bounds(empty, 0),
        uni.first()
            .map(|f| (T::from_u32(f.0), T::from_u32(uni.last().unwrap().0)))
    );
    for &(t, c) in &uni {
        prop_assert_eq!(fm.extend(empty, 0, T::from_u32(t)).count(), c);
    }
    prop_assert_eq!(fm.extend(empty, 0, T::SEPARATOR).count(), 0);

    for q32 in patterns(docs, vocab) {
        let q: Vec<T> = q32.iter().map(|&t| T::from_u32(t)).collect();
        let m = q.len();
        let starts = brute_starts(&s, &q);
        let seg = fm.find(&q);
        prop_assert_eq!(seg.count(), starts.len() as u64, "count of {:?}", q32);

        // Located positions: the brute-force ones, and the suffix-array kind's.
        let mut located: Vec<u64> = (seg.lo..seg.hi).map(|r| fm.locate(r, m).unwrap()).collect();
        located.sort_unstable();
        prop_assert_eq!(&located, &starts, "positions of {:?}", q32);
        let found = sa.find(&q32).unwrap();
        prop_assert_eq!(found.cnt, seg.count());
        let mut sa_pos: Vec<u64> = found
            .segment_by_shard
            .iter()
            .enumerate()
            .flat_map(|(sh, g)| (g.lo..g.hi).map(move |r| (sh, r)))
            .map(|(sh, r)| sa.pointer(sh, r, 0).unwrap())
            .collect();
        sa_pos.sort_unstable();
        prop_assert_eq!(&sa_pos, &starts);

        // Next tokens and bounds.
        let mut next: BTreeMap<u32, u64> = BTreeMap::new();
        for &p in &starts {
            *next.entry(label(s[p as usize + m])).or_default() += 1;
        }
        let next: Vec<(u32, u64)> = next.into_iter().collect();
        prop_assert_eq!(
            fm.next_token_counts(seg, m),
            next.clone(),
            "next of {:?}",
            q32
        );
        let to_tok = |l: u32| {
            if l == DOC_END {
                T::SEPARATOR
            } else {
                T::from_u32(l)
            }
        };
        prop_assert_eq!(
            fm.next_bounds(seg, m),
            next.first()
                .map(|f| (to_tok(f.0), to_tok(next.last().unwrap().0)))
        );

        // Extension by every next token, an absent one and the document end: the same
        // occurrences as the longer pattern.
        let mut ts: Vec<T> = next.iter().map(|e| to_tok(e.0)).collect();
        ts.push(T::SEPARATOR);
        ts.push(T::from_u32(vocab - 1));
        for t in ts {
            let ext = fm.extend(seg, m, t);
            let mut longer = q.clone();
            longer.push(t);
            let want = brute_starts(&s, &longer);
            prop_assert_eq!(
                ext.count(),
                want.len() as u64,
                "extend {:?} by {:?}",
                q32,
                t
            );
            let mut got: Vec<u64> = (ext.lo..ext.hi)
                .map(|r| fm.locate(r, m + 1).unwrap())
                .collect();
            got.sort_unstable();
            prop_assert_eq!(got, want);
        }
    }

    // Extraction: every window of a few lengths, and past the end.
    for from in 0..n {
        for len in [0u64, 1, 2, 5, 70] {
            let to = from + len;
            let want = &s[from as usize..(to.min(n)) as usize];
            prop_assert_eq!(&fm.extract(from, to)[..], want, "extract {}..{}", from, to);
        }
    }
    prop_assert!(fm.locate_end(n).is_none());
    Ok(())
}

fn params() -> impl Strategy<Value = FmParams> {
    (
        prop_oneof![Just(1u64), Just(2), Just(5), Just(32)],
        prop_oneof![Just(1u64), Just(3), Just(64)],
    )
        .prop_map(|(sa_sample, isa_sample)| FmParams {
            sa_sample,
            isa_sample,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn bytes_agree_with_brute_force_and_the_sa_kind(docs in corpus(255), p in params()) {
        check::<u8>(&docs, 255, p)?;
    }

    #[test]
    fn u16_ids_agree(docs in corpus(65535), p in params()) {
        check::<u16>(&docs, 65535, p)?;
    }

    #[test]
    fn u32_ids_agree(docs in corpus(100_000), p in params()) {
        check::<u32>(&docs, 100_000, p)?;
    }
}

#[test]
fn only_empty_documents() {
    let docs = vec![vec![], vec![], vec![]];
    check::<u8>(&docs, 255, FmParams::default()).unwrap();
    check::<u32>(
        &docs,
        10,
        FmParams {
            sa_sample: 1,
            isa_sample: 1,
        },
    )
    .unwrap();
}

#[test]
fn wide_alphabet_keeps_the_global_tree() {
    // 300 distinct ids: more than the boosted layout's 256 symbols.
    let docs: Vec<Vec<u32>> = (0..30u32)
        .map(|i| (0..40).map(|j| (i * 41 + j * 7) % 300).collect())
        .collect();
    check::<u16>(
        &docs,
        1000,
        FmParams {
            sa_sample: 3,
            isa_sample: 5,
        },
    )
    .unwrap();
}

#[test]
fn one_long_run() {
    let docs = vec![vec![7; 3000], vec![7; 10]];
    check::<u16>(&docs, 300, FmParams::default()).unwrap();
}

/// Truncated, bit-flipped and wrong-width FM files: open reports `CorruptIndex` (or succeeds
/// on a flip it cannot see without checksums) and no query on what opened panics.
#[test]
fn corrupt_files_are_errors_never_panics() {
    use anygram_core::fm::FM_FILES;
    use anygram_core::AnygramError;
    let docs: Vec<Vec<u32>> = (0..20u32)
        .map(|i| (0..(i * 7) % 50).map(|j| (i * j) % 5).collect())
        .collect();
    let s: Vec<u8> = stream(&docs);
    let tmp = tempfile::tempdir().unwrap();
    let mut times = Default::default();
    let p = FmParams {
        sa_sample: 4,
        isa_sample: 8,
    };
    let m = build::write(tmp.path(), s.clone(), 255, p, 1, &mut times).unwrap();
    let opts = OpenOptions::default();
    let exercise = |fm: &FmIndex<u8>| {
        for q in [&[0u8][..], &[1, 2], &[0, 0, 0], &[4, 3, 2, 1]] {
            let seg = fm.find(q);
            for r in seg.lo..seg.hi.min(seg.lo.saturating_add(20)) {
                let _ = fm.locate(r, q.len());
            }
            let _ = fm.next_token_counts(seg, q.len());
            let _ = fm.next_bounds(seg, q.len());
            let _ = fm.extend(seg, q.len(), u8::SEPARATOR);
        }
        let _ = fm.extract(0, 200);
    };
    for name in FM_FILES {
        let path = tmp.path().join(name);
        let good = std::fs::read(&path).unwrap();
        // Truncated, with the manifest agreeing on the new size: the structure check sees it.
        for cut in [1usize, 8, good.len() / 2, good.len()] {
            let mut m2 = m.clone();
            std::fs::write(&path, &good[..good.len() - cut]).unwrap();
            m2.files.get_mut(name).unwrap().size = (good.len() - cut) as u64;
            match FmIndex::<u8>::open(tmp.path(), &m2, opts) {
                Err(AnygramError::CorruptIndex { .. }) => {}
                Err(e) => panic!("{name} cut by {cut}: {e}"),
                Ok(_) => panic!("{name} cut by {cut} opened"),
            }
            // And the manifest's size alone catches it too.
            assert!(matches!(
                FmIndex::<u8>::open(tmp.path(), &m, opts),
                Err(AnygramError::CorruptIndex { .. })
            ));
        }
        // Every byte flipped in turn (a stride of them for the big file).
        let stride = (good.len() / 300).max(1);
        for at in (0..good.len()).step_by(stride) {
            let mut bad = good.clone();
            bad[at] ^= 0xA5;
            std::fs::write(&path, &bad).unwrap();
            match FmIndex::<u8>::open(tmp.path(), &m, opts) {
                Ok(fm) => exercise(&fm),
                Err(AnygramError::CorruptIndex { .. }) => {}
                Err(e) => panic!("{name} flipped at {at}: {e}"),
            }
            let verify = OpenOptions {
                verify_checksums: true,
                ..Default::default()
            };
            assert!(matches!(
                FmIndex::<u8>::open(tmp.path(), &m, verify),
                Err(AnygramError::CorruptIndex { .. })
            ));
        }
        // Every byte of each small section of fm.bwt (headers, tables, the boosted layout's
        // superblocks, block records and block headers), and the ends of the large ones.
        if name == anygram_core::fm::BWT_FILE {
            let sections =
                anygram_core::fm::sections::read_sections(&good, anygram_core::fm::ranks::SECTIONS)
                    .unwrap();
            for r in sections {
                let picks: Vec<usize> = if r.len() <= 600 {
                    r.clone().collect()
                } else {
                    r.clone().take(64).chain(r.clone().rev().take(64)).collect()
                };
                for at in picks {
                    let mut bad = good.clone();
                    bad[at] ^= 0x5A;
                    std::fs::write(&path, &bad).unwrap();
                    match FmIndex::<u8>::open(tmp.path(), &m, opts) {
                        Ok(fm) => exercise(&fm),
                        Err(AnygramError::CorruptIndex { .. }) => {}
                        Err(e) => panic!("{name} flipped at {at}: {e}"),
                    }
                }
            }
        }
        std::fs::write(&path, &good).unwrap();
    }
    // A u8 index opened as u16: the separator differs, so the alphabet check refuses it.
    assert!(matches!(
        FmIndex::<u16>::open(tmp.path(), &m, opts),
        Err(AnygramError::CorruptIndex { .. })
    ));
    exercise(&FmIndex::<u8>::open(tmp.path(), &m, opts).unwrap());
}

/// An `fm.bwt` of another rank-structure layout (an earlier boosted layout, whose RRR records
/// this version no longer reads) is refused with a `CorruptIndex` that names the layout and
/// says to rebuild, not read as if it were the current one.
#[test]
fn earlier_layouts_are_typed_errors() {
    use anygram_core::fm::{ranks, sections, BWT_FILE};
    use anygram_core::AnygramError;
    let docs: Vec<Vec<u32>> = (0..30u32)
        .map(|i| (0..(i * 11) % 70).map(|j| (i + j) % 6).collect())
        .collect();
    let s: Vec<u8> = stream(&docs);
    let tmp = tempfile::tempdir().unwrap();
    let m = build::write(
        tmp.path(),
        s,
        255,
        FmParams::default(),
        1,
        &mut Default::default(),
    )
    .unwrap();
    let path = tmp.path().join(BWT_FILE);
    let good = std::fs::read(&path).unwrap();
    let header =
        sections::read_sections(&good, ranks::SECTIONS).unwrap()[ranks::SEC_HEADER].clone();
    for (layout, named) in [
        (1u64, true),
        (2, true),
        (3, true),
        (9, true),
        (1 << 40, false),
    ] {
        let mut bad = good.clone();
        bad[header.start + 24..header.start + 32].copy_from_slice(&layout.to_le_bytes());
        std::fs::write(&path, &bad).unwrap();
        match FmIndex::<u8>::open(tmp.path(), &m, OpenOptions::default()) {
            Err(AnygramError::CorruptIndex { detail, .. }) => {
                assert_eq!(detail.contains("rebuild"), named, "{layout}: {detail}");
            }
            Err(e) => panic!("layout {layout}: {e}"),
            Ok(_) => panic!("layout {layout} opened"),
        }
    }
    std::fs::write(&path, &good).unwrap();
    assert!(FmIndex::<u8>::open(tmp.path(), &m, OpenOptions::default()).is_ok());
}
