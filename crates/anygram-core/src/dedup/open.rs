//! Dedup and decontamination of index directories: opens the shards, runs the passes of
//! [`super`] on the token width the index has, and maps the ranges to bytes of the text.

use std::path::PathBuf;

use rayon::prelude::*;

use super::{decontaminate, dedup, DedupOptions, DedupResult, TokenBytes};
use crate::error::{AnygramError, Result};
use crate::executor::ShardSet;
use crate::index::{same_tokenizer, Index};
use crate::shard::OpenOptions;
use crate::shard_index::ShardIndex;

/// Deduplicates the corpus indexed at `corpus` (one or more directories, in order), or with
/// `against`, removes what occurs in those indexes (same tokenizer) instead. With `bytes`, the
/// ranges and lengths are bytes of each document's text; else tokens.
pub fn dedup_dirs(
    corpus: &[PathBuf],
    against: Option<&[PathBuf]>,
    opts: &DedupOptions,
    bytes: Option<&TokenBytes>,
    open: OpenOptions,
) -> Result<DedupResult> {
    let (sources, local) = Index::open_shards(corpus, None, open)?;
    let set = local.into_shards();
    let vocab = sources[0].1.vocab_size;
    let Some(against) = against else {
        return match set {
            ShardSet::U8(s) => in_bytes(&s, dedup(&s, vocab, opts)?, bytes),
            ShardSet::U16(s) => in_bytes(&s, dedup(&s, vocab, opts)?, bytes),
            ShardSet::U32(s) => in_bytes(&s, dedup(&s, vocab, opts)?, bytes),
        };
    };
    let (eval_sources, eval_local) = Index::open_shards(against, None, open)?;
    let eval_set = eval_local.into_shards();
    let (c, e) = (&sources[0], &eval_sources[0]);
    if c.1.vocab_size != e.1.vocab_size || !same_tokenizer(&c.1.tokenizer, &e.1.tokenizer) {
        return Err(AnygramError::Mismatch(format!(
            "{} and {} were built with different tokenizers: decontamination compares tokens, \
             so both need the same one",
            c.0.display(),
            e.0.display()
        )));
    }
    match (set, eval_set) {
        (ShardSet::U8(s), ShardSet::U8(a)) => in_bytes(&s, decontaminate(&s, &a, opts)?, bytes),
        (ShardSet::U16(s), ShardSet::U16(a)) => in_bytes(&s, decontaminate(&s, &a, opts)?, bytes),
        (ShardSet::U32(s), ShardSet::U32(a)) => in_bytes(&s, decontaminate(&s, &a, opts)?, bytes),
        _ => Err(AnygramError::Mismatch(
            "the corpus and the evaluation index have different token widths".into(),
        )),
    }
}

/// `result` with its token ranges turned into byte ranges of the documents' text.
fn in_bytes<S: ShardIndex>(
    shards: &[S],
    mut result: DedupResult,
    bytes: Option<&TokenBytes>,
) -> Result<DedupResult> {
    let Some(bytes) = bytes else {
        return Ok(result);
    };
    let clock = std::time::Instant::now();
    // Each shard's first global document number.
    let bases: Vec<u64> = shards
        .iter()
        .scan(0u64, |acc, s| {
            let base = *acc;
            *acc += s.num_docs();
            Some(base)
        })
        .collect();
    result.docs.par_iter_mut().try_for_each(|d| {
        let s = bases.partition_point(|&b| b <= d.doc) - 1;
        let starts = shards[s].doc_starts();
        let local = (d.doc - bases[s]) as usize;
        let (a, b) = (starts[local] + 1, starts[local + 1]);
        let tokens = shards[s].extract(a, b);
        if tokens.len() as u64 != d.len {
            return Err(AnygramError::Internal(format!(
                "document {} has {} tokens, dedup saw {}",
                d.doc,
                tokens.len(),
                d.len
            )));
        }
        let (ranges, len) = bytes.byte_ranges(&tokens, &d.ranges);
        d.ranges = ranges;
        d.len = len;
        Ok(())
    })?;
    result
        .seconds
        .push(("to_bytes", clock.elapsed().as_secs_f64()));
    Ok(result)
}
