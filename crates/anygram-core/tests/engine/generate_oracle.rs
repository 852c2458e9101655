//! `generate` (incremental matching state per shard) against the definition: at every step, a
//! draw from the exact `infgram_ntd` of the whole text so far, with the same sampler.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anygram_core::generate::{GenerateOptions, Sampler, Stop};
use anygram_core::lm::NtdOptions;
use anygram_core::{Deadline, Index};
use proptest::prelude::*;

use crate::common::{build, corpus, open};

/// The definition, one back-off search of the whole context per step.
fn reference(index: &Index, prompt: &[u32], opts: GenerateOptions) -> (Vec<u32>, Vec<usize>, Stop) {
    let mut sampler = Sampler::new(opts.seed);
    let mut text = prompt.to_vec();
    let (mut out, mut lens) = (Vec::new(), Vec::new());
    for _ in 0..opts.max_new_tokens {
        let r = index
            .infgram_ntd(&text, NtdOptions::EXACT, opts.eos)
            .unwrap();
        let items: Vec<(u32, f64)> = r.ntd.counts.iter().map(|&(t, c)| (t, c as f64)).collect();
        match sampler
            .sample(&items, opts.temperature, opts.top_k)
            .unwrap()
        {
            Some(t) if t != opts.eos => {
                out.push(t);
                lens.push(r.suffix_len);
                text.push(t);
            }
            _ => return (out, lens, Stop::Eos),
        }
    }
    (out, lens, Stop::Length)
}

fn check(docs: &[Vec<u32>], vocab: u32, cap: Option<u64>, seed: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let index = open(&build(tmp.path(), docs, vocab as u64, cap), false);
    let prompts: Vec<Vec<u32>> = docs
        .iter()
        .map(|d| d[..d.len().min(3)].to_vec())
        .chain([vec![], vec![vocab - 1, vocab - 1]])
        .collect();
    for prompt in prompts {
        for (temperature, top_k) in [(0.0, None), (1.0, None), (0.7, Some(2))] {
            let opts = GenerateOptions {
                max_new_tokens: 25,
                temperature,
                top_k,
                seed,
                eos: vocab,
            };
            let got = index.generate(&prompt, opts, Deadline::NONE).unwrap();
            let (want, lens, stop) = reference(&index, &prompt, opts);
            assert_eq!(got.token_ids, want, "{prompt:?} T={temperature}");
            assert_eq!(got.suffix_len, lens);
            assert_eq!(got.stop, stop);
        }
    }
    // A deadline already passed stops before the first token.
    let opts = GenerateOptions {
        max_new_tokens: 5,
        temperature: 1.0,
        top_k: None,
        seed,
        eos: vocab,
    };
    let stopped = index
        .generate(&[], opts, Deadline::after_secs(Some(0.0)))
        .map(|g| g.stop);
    assert!(matches!(stopped, Ok(Stop::Deadline) | Err(_)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn u8_generate_is_the_definition(docs in corpus(4), seed in any::<u64>()) {
        check(&docs, 4, None, seed);
    }

    #[test]
    fn u16_generate_several_shards(docs in corpus(300), seed in any::<u64>()) {
        check(&docs, 300, Some(45), seed);
    }

    #[test]
    fn u8_generate_several_shards(docs in corpus(6), seed in any::<u64>()) {
        check(&docs, 6, Some(41), seed);
    }
}
