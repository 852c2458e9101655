//! The FM-index shard against the suffix-array shard of the same documents, through the
//! `ShardIndex` seam only (both wrapped in `AnyShard`): counts, extension by every next token,
//! a document end and an absent token, next-token bounds and counts, the sets of located
//! start positions (ranks differ between kinds), extraction, documents; then the per-shard
//! query families and `request::answer` on both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use anygram_core::cnf::{CnfScope, KeepRule, Locate, ShardCnfRequest};
use anygram_core::creativity::creativity_part;
use anygram_core::fm::{build, FmParams, FmShard};
use anygram_core::format::Manifest;
use anygram_core::lm::{longest_suffix, next_counts, score_part};
use anygram_core::merge::DOC_END;
use anygram_core::request::{answer, ShardRequest, ShardResponse};
use anygram_core::shard::Shard;
use anygram_core::token::Token;
use anygram_core::{AnyShard, Deadline, OpenOptions, Segment, ShardIndex};
use proptest::prelude::*;

/// Builds `docs` as one SA shard at `dir`, then the FM files of the same stream next to it.
fn open_both<T: Token>(dir: &Path, docs: &[Vec<u32>], vocab: u64, p: FmParams) -> [AnyShard<T>; 2] {
    crate::common::build(dir, docs, vocab, None);
    let m = Manifest::read(dir).unwrap();
    assert_eq!(m.shards.len(), 1);
    let sm = &m.shards[0];
    let opts = OpenOptions {
        verify_checksums: true,
        ..Default::default()
    };
    let sa = Shard::<T>::open(dir, sm, m.vocab_size, opts).unwrap();
    let mut times = Default::default();
    let fm_m = build::write(
        &dir.join(&sm.dir),
        sa.tokens().to_vec(),
        vocab,
        p,
        1,
        &mut times,
    )
    .unwrap();
    let fm = FmShard::open(dir, sm, &fm_m, opts).unwrap();
    [AnyShard::Sa(sa), AnyShard::Fm(fm)]
}

fn located<S: ShardIndex>(s: &S, seg: Segment, m: usize) -> Vec<u64> {
    let mut out = Vec::new();
    s.locate_range(seg, m, &mut out);
    let mut one: Vec<u64> = (seg.lo..seg.hi).map(|r| s.locate(r, m).unwrap()).collect();
    out.sort_unstable();
    one.sort_unstable();
    assert_eq!(out, one, "locate_range and locate disagree");
    out
}

fn to_tok<T: Token>(l: u32) -> T {
    if l == DOC_END {
        T::SEPARATOR
    } else {
        T::from_u32(l)
    }
}

/// Patterns: the corpus's short n-grams, and ones that do not occur.
fn patterns(docs: &[Vec<u32>], vocab: u32) -> Vec<Vec<u32>> {
    let mut qs = vec![
        vec![0],
        vec![vocab - 1],
        vec![0; 9],
        vec![vocab - 1, 1 % vocab, 0],
    ];
    for d in docs {
        for start in 0..d.len() {
            for len in [1usize, 2, 3, 6] {
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

/// One pattern's answers on both kinds: count, located starts, next tokens, extensions.
fn same_pattern<T: Token>(
    [sa, fm]: &[AnyShard<T>; 2],
    sa_seg: Segment,
    fm_seg: Segment,
    m: usize,
    absent: T,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(sa_seg.count(), fm_seg.count(), "count, m = {}", m);
    prop_assert_eq!(located(sa, sa_seg, m), located(fm, fm_seg, m));
    let bounds = sa.next_bounds(sa_seg, m);
    prop_assert_eq!(bounds, fm.next_bounds(fm_seg, m));
    let next = sa.next_token_counts(sa_seg, m);
    prop_assert_eq!(&next, &fm.next_token_counts(fm_seg, m));
    prop_assert_eq!(
        sa.next_token_counts_sampled(sa_seg, m, 1).0,
        fm.next_token_counts_sampled(fm_seg, m, 1).0
    );
    let mut ts: Vec<T> = next.iter().map(|e| to_tok(e.0)).collect();
    ts.extend([T::SEPARATOR, absent, T::from_u32(0)]);
    for t in ts {
        let a = sa.extend(sa_seg, m, t);
        let b = fm.extend(fm_seg, m, t);
        prop_assert_eq!(a.count(), b.count(), "extend by {:?}, m = {}", t, m);
        if let Some(bd) = bounds {
            prop_assert_eq!(sa.extend_within(sa_seg, m, t, bd).count(), a.count());
            prop_assert_eq!(fm.extend_within(fm_seg, m, t, bd).count(), b.count());
        }
        // A located extension by the separator is where a document's last tokens start.
        prop_assert_eq!(located(sa, a, m + 1), located(fm, b, m + 1));
    }
    Ok(())
}

fn check<T: Token>(docs: &[Vec<u32>], vocab: u32, p: FmParams) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let both = open_both::<T>(tmp.path(), docs, vocab as u64, p);
    let [sa, fm] = &both;
    prop_assert!(sa.stream().is_some());
    prop_assert!(fm.stream().is_none());
    prop_assert_eq!(sa.num_tokens(), fm.num_tokens());
    prop_assert_eq!(sa.num_docs(), fm.num_docs());
    prop_assert_eq!(sa.stream_len(), fm.stream_len());
    prop_assert!(fm.extract_cost() >= 1);
    let uni = sa.unigram_counts();
    prop_assert_eq!(&uni, &fm.unigram_counts());
    let absent = (0..vocab)
        .find(|t| uni.binary_search_by_key(t, |e| e.0).is_err())
        .map_or(T::from_u32(vocab - 1), T::from_u32);

    // The empty pattern.
    let (e_sa, e_fm) = (sa.find(&[]), fm.find(&[]));
    prop_assert_eq!(e_sa.count(), sa.num_tokens());
    same_pattern(&both, e_sa, e_fm, 0, absent)?;
    for &(t, c) in &uni {
        prop_assert_eq!(fm.extend(e_fm, 0, T::from_u32(t)).count(), c);
    }

    for q32 in patterns(docs, vocab) {
        let q: Vec<T> = q32.iter().map(|&t| T::from_u32(t)).collect();
        same_pattern(&both, sa.find(&q), fm.find(&q), q.len(), absent)?;
    }

    // Extraction windows, past the end too.
    let n = sa.stream_len();
    for from in 0..=n {
        for len in [0u64, 1, 2, 7, 40] {
            prop_assert_eq!(
                sa.extract(from, from + len),
                fm.extract(from, from + len),
                "extract {}..+{}",
                from,
                len
            );
        }
    }
    prop_assert_eq!(sa.doc_starts(), fm.doc_starts());
    for d in 0..=sa.num_docs() {
        match (sa.metadata(d), fm.metadata(d)) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "metadata {}: {:?} vs {:?}", d, a, b),
        }
    }
    same_families(&both, docs, vocab)
}

/// Texts to walk: documents, a document followed by another, a mix with absent tokens.
fn texts(docs: &[Vec<u32>], vocab: u32) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = docs.iter().take(4).cloned().collect();
    if docs.len() > 1 {
        out.push([docs[0].clone(), docs[1].clone()].concat());
    }
    out.push(vec![0, 1 % vocab, vocab - 1, 0, 0, 2 % vocab, 0]);
    out.retain(|t| !t.is_empty());
    out
}

/// The per-shard query families and `request::answer`: counts and positions agree, ranges
/// are each kind's own.
fn same_families<T: Token>(
    both: &[AnyShard<T>; 2],
    docs: &[Vec<u32>],
    vocab: u32,
) -> Result<(), TestCaseError> {
    let [sa, fm] = both;
    let nd = Deadline::NONE;
    for ids in texts(docs, vocab) {
        let q: Vec<T> = ids.iter().map(|&t| T::from_u32(t)).collect();
        for eos in [None, Some(q[0])] {
            let a = score_part(sa, &q, eos, &mut nd.ticker()).unwrap();
            let b = score_part(fm, &q, eos, &mut nd.ticker()).unwrap();
            prop_assert_eq!(a, b, "score {:?}", ids);
        }
        let (a, b) = (
            creativity_part(sa, &q, &mut nd.ticker()).unwrap(),
            creativity_part(fm, &q, &mut nd.ticker()).unwrap(),
        );
        prop_assert_eq!(&a.rs, &b.rs, "creativity {:?}", ids);
        for (l, (x, y)) in a.segs.iter().zip(&b.segs).enumerate() {
            let m = a.rs[l] - l;
            prop_assert_eq!(located(sa, *x, m), located(fm, *y, m));
        }
        for end in 0..=q.len() {
            let (a, b) = (longest_suffix(sa, &q[..end]), longest_suffix(fm, &q[..end]));
            prop_assert_eq!((a.len, a.prompt_cnt), (b.len, b.prompt_cnt));
            prop_assert_eq!(located(sa, a.seg, a.len), located(fm, b.seg, b.len));
            prop_assert_eq!(
                next_counts(sa, a.seg, a.len, 1),
                next_counts(fm, b.seg, b.len, 1)
            );
        }

        // Requests whose answers hold no ranges compare whole; others by count and positions.
        let plain = [
            ShardRequest::Prob {
                prompt: ids[..ids.len() - 1].to_vec(),
                cont: Some(ids[ids.len() - 1]),
                doc_end: true,
            },
            ShardRequest::Score {
                ids: ids.clone(),
                eos: None,
            },
            ShardRequest::DocByPtr {
                ptr: (ids.len() as u64 * 7) % sa.stream_len(),
                max_disp_len: 5,
            },
            ShardRequest::DocByIx {
                doc: 0,
                max_disp_len: 1000,
            },
        ];
        for req in &plain {
            // A pointer at a separator is an error on both.
            prop_assert_eq!(
                answer(sa, req, nd).ok(),
                answer(fm, req, nd).ok(),
                "{:?}",
                req
            );
        }
        let req = ShardRequest::Find { ids: ids.clone() };
        let (x, y) = (
            answer(sa, &req, nd).unwrap().into_segment().unwrap(),
            answer(fm, &req, nd).unwrap().into_segment().unwrap(),
        );
        let locate = |s: &AnyShard<T>, seg| {
            let req = ShardRequest::Locate {
                seg,
                m: ids.len(),
                limit: u64::MAX,
            };
            let mut p = answer(s, &req, nd).unwrap().into_ptrs().unwrap();
            p.sort_unstable();
            p
        };
        prop_assert_eq!(locate(sa, x), locate(fm, y));
        let req = ShardRequest::Match { ids: ids.clone() };
        let (x, y) = (
            answer(sa, &req, nd).unwrap().into_state().unwrap(),
            answer(fm, &req, nd).unwrap().into_state().unwrap(),
        );
        prop_assert_eq!(x.len, y.len);
        prop_assert_eq!(located(sa, x.seg, x.len), located(fm, y.seg, y.len));
        let matched = |r: ShardResponse| r.into_doc().unwrap();
        for ptr in located(sa, x.seg, x.len).into_iter().take(3) {
            let req = ShardRequest::DocByPtr {
                ptr,
                max_disp_len: 20,
            };
            prop_assert_eq!(
                matched(answer(sa, &req, nd).unwrap()),
                matched(answer(fm, &req, nd).unwrap())
            );
        }
        same_cnf(both, &ids)?;
    }
    Ok(())
}

/// A boolean query's hits and the spans of its terms: positions only, so whole answers agree,
/// whichever way the plan locates the later clauses.
fn same_cnf<T: Token>(both: &[AnyShard<T>; 2], ids: &[u32]) -> Result<(), TestCaseError> {
    let [sa, fm] = both;
    let nd = Deadline::NONE;
    let term = |a: usize, len: usize| ids[a.min(ids.len() - 1)..(a + len).min(ids.len())].to_vec();
    let clauses = vec![vec![term(0, 2)], vec![term(1, 1), term(2, 2), vec![0]]];
    let req = |s: &AnyShard<T>, scope, locate, keep| {
        let segs = clauses
            .iter()
            .map(|c| {
                c.iter()
                    .map(|t| s.find(&t.iter().map(|&x| T::from_u32(x)).collect::<Vec<T>>()))
                    .collect()
            })
            .collect();
        ShardRequest::Cnf(ShardCnfRequest {
            clauses: clauses.clone(),
            segs,
            order: vec![0, 1],
            keep,
            stream_base: 0,
            doc_base: 0,
            max_diff_tokens: 5,
            scope,
            locate,
        })
    };
    for scope in [CnfScope::Window, CnfScope::Document] {
        for locate in [Locate::Auto, Locate::Scan, Locate::Sorted] {
            for keep in [
                None,
                Some(KeepRule {
                    seed: 7,
                    threshold: u64::MAX / 2,
                }),
            ] {
                let a = answer(sa, &req(sa, scope, locate, keep), nd).unwrap();
                let b = answer(fm, &req(fm, scope, locate, keep), nd).unwrap();
                prop_assert_eq!(a, b, "cnf {:?} {:?} {:?}", scope, locate, keep);
            }
        }
    }
    let spans = ShardRequest::Spans {
        from: 0,
        to: sa.stream_len(),
        clauses,
    };
    prop_assert_eq!(
        answer(sa, &spans, nd).unwrap(),
        answer(fm, &spans, nd).unwrap()
    );
    Ok(())
}

fn params() -> impl Strategy<Value = FmParams> {
    (
        prop_oneof![Just(1u64), Just(3), Just(32)],
        prop_oneof![Just(1u64), Just(4), Just(64)],
    )
        .prop_map(|(sa_sample, isa_sample)| FmParams {
            sa_sample,
            isa_sample,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn u8_fm_shard_answers_as_the_sa_shard(docs in crate::common::corpus(255), p in params()) {
        check::<u8>(&docs, 255, p)?;
    }

    #[test]
    fn u16_fm_shard_answers_as_the_sa_shard(docs in crate::common::corpus(65535), p in params()) {
        check::<u16>(&docs, 65535, p)?;
    }

    #[test]
    fn u32_fm_shard_answers_as_the_sa_shard(docs in crate::common::corpus(100_000), p in params()) {
        check::<u32>(&docs, 100_000, p)?;
    }
}

#[test]
fn empty_documents_and_one_long_run() {
    let p = FmParams {
        sa_sample: 2,
        isa_sample: 3,
    };
    check::<u8>(&[vec![], vec![], vec![]], 255, p).unwrap();
    check::<u16>(
        &[vec![7; 500], vec![], vec![7; 3]],
        300,
        FmParams::default(),
    )
    .unwrap();
}
