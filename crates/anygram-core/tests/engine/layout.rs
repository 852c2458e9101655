//! Answers never depend on how the corpus was cut into shards: the same documents built at
//! several shard budgets give the same answer to every query family, sampled boolean queries
//! included (pointers compared by their position in the one-shard stream, which no layout
//! changes). This is merge(split(corpus)) = answer(whole corpus) for every family's merge.
//! Nor on the index kind: each layout is also built as an FM-index (at several sampling
//! rates), whose answers must be the suffix array's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anygram_core::attribution::AttributeOptions;
use anygram_core::cnf::{CnfOptions, CnfScope, Page};
use anygram_core::contamination::WindowUnit;
use anygram_core::lm::NtdOptions;
use anygram_core::Index;
use proptest::prelude::*;

use crate::common::{build, build_kind, corpus, open};
use anygram_core::fm::FmParams;
use anygram_core::format::{IndexKind, IndexOptions};

/// The FM kind at sampling rates that make locating and extracting walk (none, a little, the
/// defaults).
fn fm(sa_sample: u64, isa_sample: u64) -> IndexOptions {
    IndexOptions {
        kind: IndexKind::Fm,
        fm: Some(FmParams {
            sa_sample,
            isa_sample,
        }),
        fold_case: false,
    }
}

/// A shown document: its number, window and spans.
type Shown = (u64, Vec<u32>, Vec<(u64, u64, usize)>);

/// A pointer of shard `s` as its position in the stream of one shard holding every document.
fn global(index: &Index, s: usize, ptr: u64) -> u64 {
    index.shards()[s].stream_base + ptr
}

/// Every answer of one index to the probe queries, with layout-specific numbers (shard,
/// rank, shard-local pointer) replaced by layout-free ones.
fn answers(index: &Index, docs: &[Vec<u32>], vocab: u32, seed: u64) -> Vec<String> {
    let mut out = Vec::new();
    let eos = vocab; // never a real token: document ends reported apart
    let probes: Vec<Vec<u32>> = docs
        .iter()
        .flat_map(|d| {
            (0..d.len())
                .step_by(3)
                .map(move |i| d[i..d.len().min(i + 1 + i % 4)].to_vec())
        })
        .chain([vec![], vec![0], vec![0, 0], vec![vocab - 1, 0, 1]])
        .take(60)
        .collect();
    let text: Vec<u32> = docs.iter().flatten().copied().take(80).collect();
    for q in &probes {
        out.push(format!("count {q:?} {}", index.count(q).unwrap()));
        out.push(format!("find {q:?} {}", index.find(q).unwrap().cnt));
        for cont in [0, 1, vocab - 1, eos] {
            out.push(format!(
                "prob {q:?} {cont} {:?}",
                index.prob(q, cont, eos).unwrap()
            ));
            out.push(format!(
                "infgram_prob {q:?} {cont} {:?}",
                index.infgram_prob(q, cont, eos).unwrap()
            ));
        }
        out.push(format!(
            "ntd {q:?} {:?}",
            index.ntd(q, NtdOptions::EXACT, eos).unwrap()
        ));
        out.push(format!(
            "infgram_ntd {q:?} {:?}",
            index.infgram_ntd(q, NtdOptions::EXACT, eos).unwrap()
        ));
        // Below max_support the default is exact, so layout-free too.
        let prompt_cnt = index.ntd(q, NtdOptions::EXACT, eos).unwrap().prompt_cnt;
        let default = NtdOptions {
            max_support: prompt_cnt.max(1),
            exact: false,
        };
        out.push(format!(
            "ntd-default {q:?} {:?}",
            index.ntd(q, default, eos).unwrap()
        ));
    }
    out.push(format!("score {:?}", index.score(&text, eos).unwrap()));
    out.push(format!("creativity {:?}", index.creativity(&text).unwrap()));
    for temperature in [0.0, 1.0] {
        let opts = anygram_core::generate::GenerateOptions {
            max_new_tokens: 20,
            temperature,
            top_k: None,
            seed,
            eos,
        };
        let g = index.generate(
            &text[..text.len().min(5)],
            opts,
            anygram_core::Deadline::NONE,
        );
        out.push(format!("generate {:?}", g.unwrap()));
    }
    out.push(format!(
        "summaries {:?}",
        index.next_token_summaries(&text, eos).unwrap()
    ));
    out.push(format!(
        "coverage {:?}",
        index
            .coverage_many(std::slice::from_ref(&text), 3, 1, WindowUnit::Tokens)
            .unwrap()
    ));
    for min_len in [1usize, 3] {
        let opts = AttributeOptions {
            min_len,
            max_docs: usize::MAX,
            ..AttributeOptions::default()
        };
        for span in index.attribute(&text, &opts).unwrap() {
            let mut where_: Vec<u64> = span
                .docs
                .iter()
                .map(|&(s, p)| global(index, s, p))
                .collect();
            where_.sort_unstable();
            out.push(format!(
                "attribute {} {} {} {} {where_:?}",
                span.l, span.r, span.count, span.unigram_logprob_sum
            ));
        }
    }
    for d in 0..index.num_docs() {
        let doc = index.get_doc_by_ix(d, 1000).unwrap();
        out.push(format!("doc {d} {:?} {}", doc.token_ids, doc.metadata));
    }
    // Boolean queries, sampled and exact, in both scopes.
    let terms: Vec<Vec<u32>> = vec![vec![0], vec![1], vec![0, 1], vec![2], vec![vocab - 1]];
    let cnfs: Vec<Vec<Vec<Vec<u32>>>> = vec![
        vec![vec![terms[0].clone()], vec![terms[1].clone()]],
        vec![
            vec![terms[0].clone(), terms[3].clone()],
            vec![terms[2].clone()],
        ],
        vec![
            vec![terms[1].clone()],
            vec![terms[0].clone()],
            vec![terms[4].clone()],
        ],
    ];
    for cnf in &cnfs {
        for scope in [CnfScope::Window, CnfScope::Document] {
            for (cap, exact) in [(1u64, false), (3, false), (2, true), (1 << 40, false)] {
                let opts = CnfOptions {
                    max_clause_freq: cap,
                    max_diff_tokens: 3,
                    exact,
                    scope,
                    seed,
                    ..CnfOptions::default()
                };
                let r = index.find_cnf(cnf, opts).unwrap();
                let mut hits: Vec<u64> = r
                    .ptrs_by_shard
                    .iter()
                    .enumerate()
                    .flat_map(|(s, p)| p.iter().map(move |&x| global(index, s, x)))
                    .collect();
                hits.sort_unstable();
                out.push(format!(
                    "cnf {cnf:?} {scope:?} {cap} {exact} {} {} {:?} {hits:?}",
                    r.cnt, r.approx, r.cnt_interval
                ));
                let c = index.count_cnf(cnf, opts).unwrap();
                out.push(format!(
                    "count_cnf {} {} {:?}",
                    c.cnt, c.approx, c.cnt_interval
                ));
                let page = Page {
                    offset: 0,
                    limit: 1000,
                    seed: None,
                    max_disp_len: 7,
                };
                let docs = index.search_docs_cnf(cnf, opts, page).unwrap();
                let mut shown: Vec<Shown> = docs
                    .docs
                    .iter()
                    .map(|d| (d.doc.doc_ix, d.doc.token_ids.clone(), d.spans.clone()))
                    .collect();
                shown.sort();
                out.push(format!("search_docs {} {shown:?}", docs.total));
            }
        }
    }
    out
}

fn check(docs: &[Vec<u32>], vocab: u32, caps: &[u64], seed: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let whole = open(
        &build(&tmp.path().join("whole"), docs, vocab as u64, None),
        false,
    );
    assert_eq!(whole.num_shards(), 1);
    let want = answers(&whole, docs, vocab, seed);
    // The FM kind at the defaults in one shard, and at a rate drawn by the case in the first
    // sharded layout (every layout twice would double the test's time).
    let rates = [fm(1, 1), fm(3, 5), fm(2, 7)];
    let drawn = rates[(seed % rates.len() as u64) as usize];
    let layouts = [(None, fm(32, 64)), (Some(caps[0]), drawn)]
        .into_iter()
        .chain(caps.iter().map(|&cap| (Some(cap), IndexOptions::default())));
    for (n, (cap, kind)) in layouts.enumerate() {
        let dir = tmp.path().join(format!("layout{n}"));
        let index = open(&build_kind(&dir, docs, vocab as u64, cap, kind), n % 2 == 0);
        let got = answers(&index, docs, vocab, seed);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                g,
                w,
                "{} shards (cap {cap:?}), {kind:?}",
                index.num_shards()
            );
        }
        assert_eq!(got.len(), want.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn u8_answers_at_every_layout(docs in corpus(5), seed in any::<u64>()) {
        check(&docs, 5, &[41, 60, 90], seed);
    }

    #[test]
    fn u16_answers_at_every_layout(docs in corpus(300), seed in any::<u64>()) {
        check(&docs, 300, &[42, 75], seed);
    }

    #[test]
    fn u32_answers_at_every_layout(docs in corpus(70_000), seed in any::<u64>()) {
        check(&docs, 70_000, &[45], seed);
    }
}
