//! An opened index: the shards of one or more index directories, queried together. Token ids
//! come in and go out as u32 whatever the stored width; every query takes `&self` and the type is
//! `Send + Sync`, so any number of threads may query at once.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::docs::DocResult;
use crate::error::{AnygramError, Result};
use crate::format::Manifest;
use crate::merge::{merge_counts, merge_find, FindResult};
use crate::query::Segment;
use crate::shard::{OpenOptions, Shard};
use crate::token::{checked_tokens, Token, TokenWidth};

/// Shards of one width. The width is fixed per index, so dispatch happens once per query.
pub enum ShardSet {
    U8(Vec<Shard<u8>>),
    U16(Vec<Shard<u16>>),
    U32(Vec<Shard<u32>>),
}

macro_rules! with_shards {
    ($set:expr, $shards:ident => $body:expr) => {
        match $set {
            ShardSet::U8($shards) => $body,
            ShardSet::U16($shards) => $body,
            ShardSet::U32($shards) => $body,
        }
    };
}

/// Shards beyond which per-shard searches fan out over the thread pool; below it, thread
/// hand-off costs more than the searches.
const PARALLEL_SHARDS: usize = 4;

pub struct Index {
    /// Each opened directory with its manifest, in the order given.
    pub sources: Vec<(PathBuf, Manifest)>,
    shards: ShardSet,
    /// Global number of the first document of each shard.
    doc_bases: Vec<u64>,
    vocab_size: u64,
    token_width: TokenWidth,
    num_tokens: u64,
    num_docs: u64,
}

impl Index {
    /// Opens one or more index directories as one index. They must share token width,
    /// vocabulary and tokenizer.
    pub fn open(paths: &[PathBuf], opts: OpenOptions) -> Result<Index> {
        if paths.is_empty() {
            return Err(AnygramError::InvalidArgument(
                "no index directory given".into(),
            ));
        }
        let mut sources = Vec::with_capacity(paths.len());
        for p in paths {
            sources.push((p.clone(), Manifest::read(p)?));
        }
        let first = &sources[0].1;
        for (p, m) in &sources[1..] {
            if m.token_width != first.token_width
                || m.vocab_size != first.vocab_size
                || m.tokenizer != first.tokenizer
            {
                return Err(AnygramError::Mismatch(format!(
                    "{} and {} were built with different tokenizers or token widths",
                    paths[0].display(),
                    p.display()
                )));
            }
        }
        let (token_width, vocab_size) = (first.token_width, first.vocab_size);
        let shards = match token_width {
            TokenWidth::U8 => ShardSet::U8(open_all(&sources, vocab_size, opts)?),
            TokenWidth::U16 => ShardSet::U16(open_all(&sources, vocab_size, opts)?),
            TokenWidth::U32 => ShardSet::U32(open_all(&sources, vocab_size, opts)?),
        };
        let mut doc_bases = Vec::new();
        let mut base = 0;
        with_shards!(&shards, s => for shard in s {
            doc_bases.push(base);
            base += shard.num_docs();
        });
        let num_tokens = sources.iter().map(|(_, m)| m.num_tokens).sum();
        Ok(Index {
            sources,
            shards,
            doc_bases,
            vocab_size,
            token_width,
            num_tokens,
            num_docs: base,
        })
    }

    /// The shards, typed by width (for query modules such as `lm`).
    pub(crate) fn shard_set(&self) -> &ShardSet {
        &self.shards
    }

    pub fn vocab_size(&self) -> u64 {
        self.vocab_size
    }

    pub fn token_width(&self) -> TokenWidth {
        self.token_width
    }

    pub fn num_tokens(&self) -> u64 {
        self.num_tokens
    }

    pub fn num_docs(&self) -> u64 {
        self.num_docs
    }

    pub fn num_shards(&self) -> usize {
        self.doc_bases.len()
    }

    /// The tokenizer description stored at build time.
    pub fn tokenizer(&self) -> &serde_json::Value {
        &self.sources[0].1.tokenizer
    }

    /// Per shard: directory, real tokens, documents, bytes on disk.
    pub fn shard_stats(&self) -> Vec<(PathBuf, u64, u64, u64)> {
        with_shards!(&self.shards, s => s
            .iter()
            .map(|x| (x.dir().to_path_buf(), x.num_tokens(), x.num_docs(), x.size_bytes()))
            .collect())
    }

    pub fn size_bytes(&self) -> u64 {
        self.shard_stats().iter().map(|s| s.3).sum()
    }

    /// Checks that every id is a real token of the vocabulary and narrows it to the width.
    fn to_tokens<T: Token>(&self, ids: &[u32]) -> Result<Vec<T>> {
        checked_tokens(ids, self.vocab_size)
    }

    /// Per-shard ranges of an n-gram.
    pub fn find_segments(&self, ids: &[u32]) -> Result<Vec<Segment>> {
        with_shards!(&self.shards, s => {
            let q = self.to_tokens(ids)?;
            Ok(if s.len() >= PARALLEL_SHARDS {
                s.par_iter().map(|shard| shard.find(&q)).collect()
            } else {
                s.iter().map(|shard| shard.find(&q)).collect()
            })
        })
    }

    /// Occurrences of an n-gram in the whole index (the empty n-gram occurs once per token).
    pub fn count(&self, ids: &[u32]) -> Result<u64> {
        Ok(merge_counts(
            self.find_segments(ids)?.iter().map(Segment::count),
        ))
    }

    /// Count and per-shard suffix-array ranges of an n-gram.
    pub fn find(&self, ids: &[u32]) -> Result<FindResult> {
        Ok(merge_find(self.find_segments(ids)?))
    }

    fn check_shard(&self, s: usize) -> Result<()> {
        if s >= self.num_shards() {
            return Err(AnygramError::InvalidQuery(format!(
                "shard {s} does not exist (the index has {})",
                self.num_shards()
            )));
        }
        Ok(())
    }

    /// Token position in shard `s` of the suffix of rank `rank`.
    pub fn pointer(&self, s: usize, rank: u64) -> Result<u64> {
        self.check_shard(s)?;
        with_shards!(&self.shards, sh => sh[s].pointer(rank).ok_or_else(|| {
            AnygramError::InvalidQuery(format!(
                "rank {rank} is outside shard {s} ({} suffixes)",
                sh[s].num_tokens()
            ))
        }))
    }

    /// The document holding the suffix of rank `rank` of shard `s`, windowed around it.
    pub fn get_doc_by_rank(&self, s: usize, rank: u64, max_disp_len: u64) -> Result<DocResult> {
        let ptr = self.pointer(s, rank)?;
        self.get_doc_by_ptr(s, ptr, max_disp_len)
    }

    /// The document holding token position `ptr` of shard `s`, windowed around it.
    pub fn get_doc_by_ptr(&self, s: usize, ptr: u64, max_disp_len: u64) -> Result<DocResult> {
        self.check_shard(s)?;
        let base = self.doc_bases[s];
        with_shards!(&self.shards, sh => sh[s].doc_by_ptr(ptr, max_disp_len, base, s))
    }

    /// The first `max_disp_len` tokens of the document with global number `doc_ix`.
    pub fn get_doc_by_ix(&self, doc_ix: u64, max_disp_len: u64) -> Result<DocResult> {
        if doc_ix >= self.num_docs {
            return Err(AnygramError::InvalidQuery(format!(
                "document {doc_ix} does not exist (the index has {})",
                self.num_docs
            )));
        }
        let s = self.doc_bases.partition_point(|&b| b <= doc_ix) - 1;
        let base = self.doc_bases[s];
        with_shards!(&self.shards, sh => sh[s].doc_by_local_ix(doc_ix - base, max_disp_len, base, s))
    }

    /// Many documents by rank, looked up in parallel.
    pub fn get_docs_by_ranks(
        &self,
        requests: &[(usize, u64)],
        max_disp_len: u64,
    ) -> Result<Vec<DocResult>> {
        requests
            .par_iter()
            .map(|&(s, r)| self.get_doc_by_rank(s, r, max_disp_len))
            .collect()
    }

    /// Many documents by pointer, looked up in parallel.
    pub fn get_docs_by_ptrs(
        &self,
        requests: &[(usize, u64)],
        max_disp_len: u64,
    ) -> Result<Vec<DocResult>> {
        requests
            .par_iter()
            .map(|&(s, p)| self.get_doc_by_ptr(s, p, max_disp_len))
            .collect()
    }

    /// Many documents by global number, looked up in parallel.
    pub fn get_docs_by_ixs(&self, doc_ixs: &[u64], max_disp_len: u64) -> Result<Vec<DocResult>> {
        doc_ixs
            .par_iter()
            .map(|&d| self.get_doc_by_ix(d, max_disp_len))
            .collect()
    }

    /// Directories this index was opened from.
    pub fn paths(&self) -> Vec<&Path> {
        self.sources.iter().map(|(p, _)| p.as_path()).collect()
    }
}

fn open_all<T: Token>(
    sources: &[(PathBuf, Manifest)],
    vocab_size: u64,
    opts: OpenOptions,
) -> Result<Vec<Shard<T>>> {
    let mut shards = Vec::new();
    for (dir, m) in sources {
        for sm in &m.shards {
            shards.push(Shard::open(dir, sm, vocab_size, opts)?);
        }
    }
    if shards.is_empty() {
        return Err(AnygramError::corrupt(&sources[0].0, "index has no shards"));
    }
    Ok(shards)
}
