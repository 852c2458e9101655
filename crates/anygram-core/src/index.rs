//! An opened index: the shards of one or more index directories, queried together. Token ids
//! come in and go out as u32 whatever the stored width; every query takes `&self` and the type is
//! `Send + Sync`, so any number of threads may query at once.
//!
//! The index knows its shards from their manifests and reaches them only through its
//! [`Executor`]: shards opened here ([`LocalExecutor`], the default) or anywhere else.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::deadline::Deadline;
use crate::docs::{DocResult, ShardDoc};
use crate::error::{AnygramError, Result};
use crate::executor::{no_shard, Executor, Fanout, LocalExecutor, ShardSet};
use crate::fm::{FmManifest, FmShard};
use crate::format::{IndexKind, Manifest};
use crate::merge::{merge_counts, merge_find, FindResult};
use crate::query::Segment;
use crate::request::{ShardRequest, ShardResponse};
use crate::shard::{OpenOptions, Shard};
use crate::shard_index::AnyShard;
use crate::token::{Token, TokenWidth};

/// What the index knows of one shard without opening it (from its manifest).
#[derive(Debug, Clone)]
pub struct ShardInfo {
    pub dir: PathBuf,
    pub num_tokens: u64,
    pub num_docs: u64,
    pub size_bytes: u64,
    /// Global number of the shard's first document slot (a slot whose document was taken
    /// down keeps its number: see `gaps`).
    pub doc_base: u64,
    /// Global numbers of taken-down documents among the shard's slots, ascending: the
    /// shard's local document `j` is the `j`-th slot from `doc_base` not in `gaps`.
    pub gaps: Vec<u64>,
    /// Position of the shard's stream in the stream of one shard holding every document (the
    /// shards' streams joined, each shared boundary separator once): a pointer's identity that
    /// no sharding changes.
    pub stream_base: u64,
}

pub struct Index {
    /// Each opened directory with its manifest, in the order given.
    pub sources: Vec<(PathBuf, Manifest)>,
    shards: Vec<ShardInfo>,
    executor: Arc<dyn Executor>,
    vocab_size: u64,
    token_width: TokenWidth,
    num_tokens: u64,
    num_docs: u64,
    /// Global document numbers given out (live or taken down): `0..doc_slots`.
    doc_slots: u64,
}

/// Does the tokenizer description `a` tokenize as `b` does? Compares what defines the
/// tokenization (kind, checksum, vocabulary size, pattern, eos, ...), never where the file was
/// loaded from or which engine applied it: two copies of one tokenizer.json must open together.
pub fn same_tokenizer(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    const LOCATIONS: [&str; 4] = ["file", "source", "path", "engine"];
    let strip = |v: &serde_json::Value| match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.iter()
                .filter(|(k, _)| !LOCATIONS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    strip(a) == strip(b)
}

impl Index {
    /// Opens one or more index directories as one index, its shards answered in this
    /// process. They must share token width, vocabulary and tokenizer.
    pub fn open(paths: &[PathBuf], opts: OpenOptions) -> Result<Index> {
        let (sources, local) = Index::open_shards(paths, None, opts)?;
        Index::with_executor(sources, Arc::new(local))
    }

    /// The manifests of `paths`, checked to open together (distinct, same tokenizer and width):
    /// what [`Index::with_executor`] takes.
    pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Manifest)>> {
        let sources = read_manifests(paths)?;
        crate::format::check_distinct_sources(&sources)?;
        check_compatible(&sources)?;
        Ok(sources)
    }

    /// The manifests of `paths` and the shards numbered `which` (in manifest order across
    /// `paths`; `None`: all) opened here: what a shard server in another process holds, answering
    /// by shard number `which[i]` as local shard `i`.
    pub fn open_shards(
        paths: &[PathBuf],
        which: Option<&[usize]>,
        opts: OpenOptions,
    ) -> Result<(Vec<(PathBuf, Manifest)>, LocalExecutor)> {
        let sources = Index::read_sources(paths)?;
        let total: usize = sources.iter().map(|(_, m)| m.shards.len()).sum();
        let all: Vec<usize> = (0..total).collect();
        let which = which.unwrap_or(&all);
        if let Some(&s) = which.iter().find(|&&s| s >= total) {
            return Err(no_shard(s, total));
        }
        let (width, vocab) = (sources[0].1.token_width, sources[0].1.vocab_size);
        let shards = match width {
            TokenWidth::U8 => ShardSet::U8(open_all(&sources, which, vocab, opts)?),
            TokenWidth::U16 => ShardSet::U16(open_all(&sources, which, vocab, opts)?),
            TokenWidth::U32 => ShardSet::U32(open_all(&sources, which, vocab, opts)?),
        };
        Ok((sources, LocalExecutor::new(shards)))
    }

    /// An index over `sources` (directories and their manifests, checked to belong together
    /// as by [`Index::open`]) whose shards `executor` answers, in manifest order.
    pub fn with_executor(
        sources: Vec<(PathBuf, Manifest)>,
        executor: Arc<dyn Executor>,
    ) -> Result<Index> {
        check_compatible(&sources)?;
        let mut shards = Vec::new();
        // Several directories number their documents one after the other.
        let (mut source_base, mut stream_base) = (0u64, 0u64);
        for (dir, m) in &sources {
            let (bases, end) = m.doc_bases();
            for (i, sm) in m.shards.iter().enumerate() {
                let hi = bases.get(i + 1).copied().unwrap_or(end);
                let gaps = m.takedown[m.takedown.partition_point(|&d| d < bases[i])
                    ..m.takedown.partition_point(|&d| d < hi)]
                    .iter()
                    .map(|&d| source_base + d)
                    .collect();
                shards.push(ShardInfo {
                    dir: dir.join(&sm.dir),
                    num_tokens: sm.num_tokens,
                    num_docs: sm.num_docs,
                    size_bytes: sm.files.values().map(|f| f.size).sum(),
                    doc_base: source_base + bases[i],
                    gaps,
                    stream_base,
                });
                stream_base += sm.num_tokens + sm.num_docs;
            }
            source_base += end;
        }
        if shards.is_empty() {
            return Err(AnygramError::corrupt(&sources[0].0, "index has no shards"));
        }
        if executor.num_shards() != shards.len() {
            return Err(AnygramError::InvalidArgument(format!(
                "the executor serves {} shards, the manifests list {}",
                executor.num_shards(),
                shards.len()
            )));
        }
        let first = &sources[0].1;
        Ok(Index {
            vocab_size: first.vocab_size,
            token_width: first.token_width,
            num_tokens: sources.iter().map(|(_, m)| m.num_tokens).sum(),
            num_docs: shards.iter().map(|s| s.num_docs).sum(),
            doc_slots: source_base,
            sources,
            shards,
            executor,
        })
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

    /// Live documents.
    pub fn num_docs(&self) -> u64 {
        self.num_docs
    }

    /// Document numbers given out, taken-down ones included: every live document's number
    /// is below it.
    pub fn doc_slots(&self) -> u64 {
        self.doc_slots
    }

    /// The generation of each opened directory (0 for an index never changed since its build).
    pub fn generations(&self) -> Vec<u64> {
        self.sources.iter().map(|(_, m)| m.generation).collect()
    }

    pub fn num_shards(&self) -> usize {
        self.shards.len()
    }

    /// Every shard as the manifests describe it.
    pub fn shards(&self) -> &[ShardInfo] {
        &self.shards
    }

    /// The tokenizer description stored at build time.
    pub fn tokenizer(&self) -> &serde_json::Value {
        &self.sources[0].1.tokenizer
    }

    /// Per shard: directory, real tokens, documents, bytes on disk.
    pub fn shard_stats(&self) -> Vec<(PathBuf, u64, u64, u64)> {
        self.shards
            .iter()
            .map(|s| (s.dir.clone(), s.num_tokens, s.num_docs, s.size_bytes))
            .collect()
    }

    pub fn size_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.size_bytes).sum()
    }

    /// Directories this index was opened from.
    pub fn paths(&self) -> Vec<&Path> {
        self.sources.iter().map(|(p, _)| p.as_path()).collect()
    }

    // ----------------------------------------------------------- rounds over the shards

    /// Refuses an id outside the vocabulary: the one gate every query's ids pass.
    pub(crate) fn check_ids(&self, ids: &[u32]) -> Result<()> {
        match ids.iter().find(|&&id| id as u64 >= self.vocab_size) {
            Some(&id) => Err(AnygramError::TokenOutOfRange {
                token: id as u64,
                vocab: self.vocab_size,
            }),
            None => Ok(()),
        }
    }

    /// Documents per shard, in shard order.
    pub(crate) fn shard_docs(&self) -> impl Iterator<Item = u64> + '_ {
        self.shards.iter().map(|s| s.num_docs)
    }

    /// The same request to every shard; every answer, unwrapped by `take`.
    pub(crate) fn run_all<R>(
        &self,
        req: &ShardRequest,
        deadline: Deadline,
        take: impl Fn(ShardResponse) -> Result<R>,
    ) -> Result<Vec<R>> {
        self.executor
            .run(Fanout::All(req), deadline)?
            .into_iter()
            .map(|a| a.ok_or_else(missing_answer).and_then(&take))
            .collect()
    }

    /// `reqs[i]` to shard `i`; the answers (`None` where nothing was asked).
    pub(crate) fn run_each<R>(
        &self,
        reqs: Vec<Option<ShardRequest>>,
        deadline: Deadline,
        take: impl Fn(ShardResponse) -> Result<R>,
    ) -> Result<Vec<Option<R>>> {
        self.executor
            .run(Fanout::Each(&reqs), deadline)?
            .into_iter()
            .map(|a| a.map(&take).transpose())
            .collect()
    }

    /// One request to shard `s`.
    pub(crate) fn run_one<R>(
        &self,
        s: usize,
        req: &ShardRequest,
        deadline: Deadline,
        take: impl Fn(ShardResponse) -> Result<R>,
    ) -> Result<R> {
        if s >= self.shards.len() {
            return Err(no_shard(s, self.shards.len()));
        }
        self.executor
            .run(Fanout::One(s, req), deadline)?
            .into_iter()
            .nth(s)
            .flatten()
            .ok_or_else(missing_answer)
            .and_then(take)
    }

    // ----------------------------------------------------------------- n-grams, documents

    /// Per-shard ranges of an n-gram.
    pub fn find_segments(&self, ids: &[u32]) -> Result<Vec<Segment>> {
        self.check_ids(ids)?;
        let req = ShardRequest::Find { ids: ids.to_vec() };
        self.run_all(&req, Deadline::NONE, ShardResponse::into_segment)
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

    /// Token position in shard `s` of the occurrence of rank `rank` of a pattern of
    /// `needle_len` tokens (the SA kind needs no length; the FM kind's ranks mark where
    /// occurrences end, so it does, as infini-gram mini's `get_doc_by_rank` does).
    pub fn pointer(&self, s: usize, rank: u64, needle_len: usize) -> Result<u64> {
        let n = self.shards.get(s).map_or(0, |x| x.num_tokens);
        let req = ShardRequest::Locate {
            seg: Segment {
                lo: rank,
                hi: rank.saturating_add(1).min(n),
            },
            m: needle_len,
            limit: 1,
        };
        let ptrs = self.run_one(s, &req, Deadline::NONE, ShardResponse::into_ptrs)?;
        ptrs.first().copied().ok_or_else(|| {
            AnygramError::InvalidQuery(format!("rank {rank} is outside shard {s} ({n} suffixes)"))
        })
    }

    /// The global number of shard `s`'s local document `local`.
    pub fn global_doc(&self, s: usize, local: u64) -> u64 {
        let info = &self.shards[s];
        let mut doc_ix = info.doc_base + local;
        // Each taken-down slot at or before the number moves it one further.
        for &g in &info.gaps {
            if g <= doc_ix {
                doc_ix += 1;
            } else {
                break;
            }
        }
        doc_ix
    }

    /// A shard's document answer as the index reports it: global numbering, shard named.
    fn globalize(&self, s: usize, d: ShardDoc) -> DocResult {
        let base = self.global_doc(s, d.local_doc) - d.local_doc;
        d.into_result(s, base)
    }

    /// The document holding the occurrence of rank `rank` of shard `s` (of a pattern of
    /// `needle_len` tokens, see [`Index::pointer`]), windowed around it.
    pub fn get_doc_by_rank(
        &self,
        s: usize,
        rank: u64,
        needle_len: usize,
        max_disp_len: u64,
    ) -> Result<DocResult> {
        let ptr = self.pointer(s, rank, needle_len)?;
        self.get_doc_by_ptr(s, ptr, max_disp_len)
    }

    /// The document holding token position `ptr` of shard `s`, windowed around it.
    pub fn get_doc_by_ptr(&self, s: usize, ptr: u64, max_disp_len: u64) -> Result<DocResult> {
        let req = ShardRequest::DocByPtr { ptr, max_disp_len };
        let d = self.run_one(s, &req, Deadline::NONE, ShardResponse::into_doc)?;
        Ok(self.globalize(s, d))
    }

    /// The first `max_disp_len` tokens of the document with global number `doc_ix`.
    pub fn get_doc_by_ix(&self, doc_ix: u64, max_disp_len: u64) -> Result<DocResult> {
        let (s, doc) = self.locate_doc(doc_ix)?;
        let req = ShardRequest::DocByIx { doc, max_disp_len };
        let d = self.run_one(s, &req, Deadline::NONE, ShardResponse::into_doc)?;
        Ok(self.globalize(s, d))
    }

    /// The shard and shard-local number of the live document numbered `doc_ix`.
    pub fn locate_doc(&self, doc_ix: u64) -> Result<(usize, u64)> {
        if doc_ix >= self.doc_slots {
            return Err(AnygramError::InvalidQuery(format!(
                "document {doc_ix} does not exist (the index numbers its documents 0..{})",
                self.doc_slots
            )));
        }
        let s = self.shards.partition_point(|x| x.doc_base <= doc_ix).max(1) - 1;
        let info = &self.shards[s];
        if info.gaps.binary_search(&doc_ix).is_ok() {
            return Err(AnygramError::InvalidQuery(format!(
                "document {doc_ix} was taken down"
            )));
        }
        let before = info.gaps.partition_point(|&g| g < doc_ix) as u64;
        Ok((s, doc_ix - info.doc_base - before))
    }

    /// Many documents by rank, looked up in parallel.
    pub fn get_docs_by_ranks(
        &self,
        requests: &[(usize, u64)],
        needle_len: usize,
        max_disp_len: u64,
    ) -> Result<Vec<DocResult>> {
        requests
            .par_iter()
            .map(|&(s, r)| self.get_doc_by_rank(s, r, needle_len, max_disp_len))
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
}

fn missing_answer() -> AnygramError {
    AnygramError::Internal("a shard that was asked gave no answer".into())
}

fn read_manifests(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Manifest)>> {
    if paths.is_empty() {
        return Err(AnygramError::InvalidArgument(
            "no index directory given".into(),
        ));
    }
    let mut sources = Vec::with_capacity(paths.len());
    for p in paths {
        sources.push((p.clone(), Manifest::read(p)?));
    }
    Ok(sources)
}

fn check_compatible(sources: &[(PathBuf, Manifest)]) -> Result<()> {
    let Some((first_dir, first)) = sources.first() else {
        return Err(AnygramError::InvalidArgument(
            "no index directory given".into(),
        ));
    };
    for (p, m) in &sources[1..] {
        // Kinds may mix (each shard answers through the seam); a query is folded or not for
        // the whole index, so folding may not.
        if m.index.fold_case != first.index.fold_case {
            return Err(AnygramError::Mismatch(format!(
                "{} and {} differ in case folding (--fold-case): a query cannot be read the \
                 same way by both",
                first_dir.display(),
                p.display()
            )));
        }
        if m.token_width != first.token_width
            || m.vocab_size != first.vocab_size
            || !same_tokenizer(&m.tokenizer, &first.tokenizer)
        {
            return Err(AnygramError::Mismatch(format!(
                "{} and {} were built with different tokenizers or token widths",
                first_dir.display(),
                p.display()
            )));
        }
    }
    Ok(())
}

/// Opens the shards numbered `which` (manifest order across `sources`), in that order.
fn open_all<T: Token>(
    sources: &[(PathBuf, Manifest)],
    which: &[usize],
    vocab_size: u64,
    opts: OpenOptions,
) -> Result<Vec<AnyShard<T>>> {
    let listed: Vec<_> = sources
        .iter()
        .flat_map(|(dir, m)| m.shards.iter().map(move |sm| (dir, m, sm)))
        .collect();
    let mut shards = Vec::with_capacity(which.len());
    for &s in which {
        let (dir, m, sm) = listed[s];
        shards.push(open_shard(dir, m, sm, vocab_size, opts)?);
    }
    Ok(shards)
}

/// Opens shard `sm` of the index directory `dir` (manifest `m`), of the index's kind.
pub fn open_shard<T: Token>(
    dir: &Path,
    m: &Manifest,
    sm: &crate::format::ShardManifest,
    vocab_size: u64,
    opts: OpenOptions,
) -> Result<AnyShard<T>> {
    Ok(match m.index.kind {
        IndexKind::Sa => AnyShard::Sa(Shard::open(dir, sm, vocab_size, opts)?),
        IndexKind::Fm => {
            let fm = FmManifest::of_shard(sm, m.index.fm_params()?);
            AnyShard::Fm(FmShard::open(dir, sm, &fm, opts)?)
        }
    })
}
