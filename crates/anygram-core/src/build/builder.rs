//! The index builder: prepares the output directory, cuts the document stream into shards that
//! fit the memory budget, builds each shard's index of the chosen kind (the next shard fills
//! while the previous one is built), and commits the index by writing the manifest last.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use rayon::prelude::*;

use super::encoder::TextEncoder;
use super::shard_writer::{PhaseTimes, ShardBuffer};
use super::source::Document;
use crate::error::{AnygramError, IoContext, Result};
use crate::format::{self, IndexKind, IndexOptions, Manifest, ShardManifest};
use crate::token::TokenWidth;

/// Build settings.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Bytes the build may use; decides the shard size.
    pub mem_budget: u64,
    /// Threads for suffix-array construction and tokenization.
    pub workers: usize,
    /// Caps the tokens per shard below what the budget allows (tests use it to force shards).
    pub max_shard_tokens: Option<u64>,
    /// Replace an existing index at the output path.
    pub overwrite: bool,
    /// Identifies the build (inputs, tokenizer, options). A build killed half-way and run again
    /// with the same key keeps the shards it had finished and skips their documents.
    pub resume_key: Option<String>,
    /// The index's kind, its parameters and case folding (recorded in the manifest).
    pub index: IndexOptions,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            mem_budget: 8 << 30,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            max_shard_tokens: None,
            overwrite: false,
            resume_key: None,
            index: IndexOptions::default(),
        }
    }
}

/// Build memory per token of a shard's stream at the peak of its construction, in 64ths of a
/// byte (libsais' auxiliary indices cost `4 / sa_sample` bytes a token), and what it grows by
/// above 2^31 tokens (i64 entries).
/// - SA kind: the stream (`w` bytes a token; u32 ids are also copied as i32 symbols for
///   libsais) and its i32 suffix array, then a packed copy of it.
/// - FM kind in libsais' BWT mode (u8/u16 streams, `sa_sample` a power of two ≥ 2,
///   `fm/build.rs`): the stream, which becomes the BWT in place, libsais' 4-byte work array and
///   the auxiliary indices; the samples and the rank structure are built afterwards next to the
///   BWT alone, in less (at most about two bytes a token).
/// - FM kind otherwise: the stream (and the i32 copy of u32 ids) and its suffix array, which is
///   overwritten with BWT symbols while the rank structure's bits (at most a byte a token on u8
///   streams, two on wider ones) fill next to it.
fn bytes_per_token_64(index: &IndexOptions, width: TokenWidth) -> (u64, u64) {
    let w = width.bytes() as u64;
    match index.kind {
        IndexKind::Sa => (64 * (w + 8), 64 * 8),
        IndexKind::Fm => {
            let s = index.fm.unwrap_or_default().sa_sample;
            if width != TokenWidth::U32 && s >= 2 && s.is_power_of_two() {
                let aux = (4 * 64u64).div_ceil(s);
                (64 * (w + 4) + aux, 64 * 4 + aux)
            } else {
                let copy = if width == TokenWidth::U32 { 4 } else { 0 };
                (64 * (w.max(2) + copy + 4 + 1), 64 * 4)
            }
        }
    }
}

enum AnyBuffer {
    U8(ShardBuffer<u8>),
    U16(ShardBuffer<u16>),
    U32(ShardBuffer<u32>),
}

macro_rules! with_buffer {
    ($b:expr, $buf:ident => $body:expr) => {
        match $b {
            AnyBuffer::U8($buf) => $body,
            AnyBuffer::U16($buf) => $body,
            AnyBuffer::U32($buf) => $body,
        }
    };
}

impl AnyBuffer {
    fn new(width: TokenWidth) -> Self {
        match width {
            TokenWidth::U8 => AnyBuffer::U8(ShardBuffer::new()),
            TokenWidth::U16 => AnyBuffer::U16(ShardBuffer::new()),
            TokenWidth::U32 => AnyBuffer::U32(ShardBuffer::new()),
        }
    }

    fn stream_len(&self) -> u64 {
        with_buffer!(self, b => b.stream_len())
    }

    fn num_docs(&self) -> u64 {
        with_buffer!(self, b => b.num_docs())
    }
}

/// Counters a progress display may read from another thread while the builder works.
#[derive(Debug, Default)]
pub struct BuildProgress {
    /// Shards whose documents are complete (being sorted or written, or done).
    pub shards_sealed: AtomicU64,
    /// Shards fully written.
    pub shards_written: AtomicU64,
    /// Set from another thread (Ctrl-C): the builder stops at its next check and never writes
    /// the manifest, so the directory is left as a resumable interrupted build.
    pub cancelled: AtomicBool,
}

impl BuildProgress {
    fn check_cancelled(&self) -> Result<()> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(AnygramError::InvalidArgument(
                "the build was interrupted (re-run it to resume)".into(),
            ));
        }
        Ok(())
    }
}

/// Builds one index directory. Dropping it without `finish` leaves a directory that never opens
/// as an index; building into it again cleans it.
pub struct IndexBuilder {
    out: PathBuf,
    vocab_size: u64,
    width: TokenWidth,
    workers: usize,
    /// Longest token stream (separators included) one shard may hold.
    max_stream: u64,
    buffer: AnyBuffer,
    shards: Vec<ShardManifest>,
    pending: Option<JoinHandle<Result<(ShardManifest, PhaseTimes)>>>,
    times: PhaseTimes,
    progress: Arc<BuildProgress>,
    tokenizer: serde_json::Value,
    docs_added: u64,
    tokens_added: u64,
    /// Documents of resumed shards still to be skipped as they arrive again.
    skip_docs: u64,
    resumed_shards: usize,
    resume_key: Option<String>,
    index: IndexOptions,
}

impl IndexBuilder {
    /// Prepares `out` for a build: creates it, or cleans the remains of a killed build, or
    /// (with `overwrite`) retires a finished index. Refuses to touch a non-empty directory that
    /// is not an anygram index.
    pub fn create(
        out: &Path,
        vocab_size: u64,
        tokenizer: serde_json::Value,
        opts: &BuildOptions,
    ) -> Result<IndexBuilder> {
        let width = TokenWidth::for_vocab(vocab_size)?;
        if vocab_size == 0 {
            return Err(AnygramError::InvalidArgument("vocabulary is empty".into()));
        }
        opts.index.check()?;
        let resumed = prepare_output(
            out,
            opts.overwrite,
            opts.resume_key.as_deref(),
            opts.index.kind,
        )?;
        let skip_docs = resumed.iter().map(|s| s.num_docs).sum();
        let mut max_stream = max_shard_stream(&opts.index, width, opts.mem_budget, opts.workers);
        if let Some(cap) = opts.max_shard_tokens {
            max_stream = max_stream.min(cap.saturating_add(1));
        }
        if max_stream < 3 {
            return Err(AnygramError::InvalidArgument(format!(
                "memory budget of {} bytes is too small for any shard",
                opts.mem_budget
            )));
        }
        Ok(IndexBuilder {
            out: out.to_path_buf(),
            vocab_size,
            width,
            workers: opts.workers.max(1),
            max_stream,
            buffer: AnyBuffer::new(width),
            progress: Arc::new(BuildProgress {
                shards_sealed: AtomicU64::new(resumed.len() as u64),
                shards_written: AtomicU64::new(resumed.len() as u64),
                cancelled: AtomicBool::new(false),
            }),
            resumed_shards: resumed.len(),
            shards: resumed,
            skip_docs,
            resume_key: opts.resume_key.clone(),
            index: IndexOptions {
                fm: (opts.index.kind == IndexKind::Fm).then_some(opts.index.fm_params()?),
                ..opts.index
            },
            pending: None,
            times: PhaseTimes::default(),
            tokenizer,
            docs_added: 0,
            tokens_added: 0,
        })
    }

    /// Live counters for progress displays.
    pub fn progress(&self) -> Arc<BuildProgress> {
        self.progress.clone()
    }

    pub fn token_width(&self) -> TokenWidth {
        self.width
    }

    pub fn vocab_size(&self) -> u64 {
        self.vocab_size
    }

    pub fn out_dir(&self) -> &Path {
        &self.out
    }

    pub fn docs_added(&self) -> u64 {
        self.docs_added
    }

    pub fn tokens_added(&self) -> u64 {
        self.tokens_added
    }

    /// Longest document (in tokens) a shard can hold under this budget.
    pub fn max_doc_tokens(&self) -> u64 {
        self.max_stream - 2
    }

    /// Makes room for a document of `n` tokens: seals the current shard if it would overflow.
    fn reserve(&mut self, n: u64, meta: &str) -> Result<()> {
        if n > self.max_doc_tokens() {
            return Err(AnygramError::InvalidInput {
                location: describe(meta),
                detail: format!(
                    "document of {n} tokens is larger than a shard can hold ({} tokens under this \
                     memory budget and token width): raise --mem-budget or split the document",
                    self.max_doc_tokens()
                ),
            });
        }
        if self.buffer.num_docs() > 0 && self.buffer.stream_len() + n + 1 > self.max_stream {
            self.seal_shard()?;
        }
        Ok(())
    }

    /// Skips the next document if a resumed shard already holds it.
    fn skip_resumed(&mut self) -> bool {
        if self.skip_docs > 0 {
            self.skip_docs -= 1;
            self.docs_added += 1;
            return true;
        }
        false
    }

    /// Shards kept from an earlier, killed run of the same build.
    pub fn resumed_shards(&self) -> usize {
        self.resumed_shards
    }

    /// Adds a document given as token ids.
    pub fn add_token_document(&mut self, ids: &[u32], meta: &str) -> Result<()> {
        self.progress.check_cancelled()?;
        if self.index.fold_case {
            return Err(fold_needs_bytes());
        }
        if self.skip_resumed() {
            return Ok(());
        }
        if let Some(&bad) = ids.iter().find(|&&t| t as u64 >= self.vocab_size) {
            return Err(AnygramError::InvalidInput {
                location: describe(meta),
                detail: AnygramError::TokenOutOfRange {
                    token: bad as u64,
                    vocab: self.vocab_size,
                }
                .to_string(),
            });
        }
        self.reserve(ids.len() as u64, meta)?;
        with_buffer!(&mut self.buffer, b => b.push_document(ids, meta.as_bytes()));
        self.docs_added += 1;
        self.tokens_added += ids.len() as u64;
        Ok(())
    }

    /// Tokenizes documents (in parallel) and adds them in order.
    pub fn add_documents(&mut self, docs: &[Document], encoder: &dyn TextEncoder) -> Result<()> {
        self.progress.check_cancelled()?;
        if encoder.vocab_size() != self.vocab_size {
            return Err(AnygramError::InvalidArgument(format!(
                "tokenizer vocabulary {} differs from the index's {}",
                encoder.vocab_size(),
                self.vocab_size
            )));
        }
        let clock = std::time::Instant::now();
        let skip = (self.skip_docs.min(docs.len() as u64)) as usize;
        self.skip_docs -= skip as u64;
        self.docs_added += skip as u64;
        let docs = &docs[skip..];
        if self.index.fold_case && !(encoder.is_utf8_bytes() && self.width == TokenWidth::U8) {
            return Err(fold_needs_bytes());
        }
        if encoder.is_utf8_bytes() && self.width == TokenWidth::U8 {
            let fold = self.index.fold_case;
            for d in docs {
                self.reserve(d.text.len() as u64, &d.meta)?;
                if let AnyBuffer::U8(b) = &mut self.buffer {
                    if fold {
                        b.push_folded(&d.text);
                    } else {
                        b.stream.extend_from_slice(d.text.as_bytes());
                    }
                    b.close_document(d.meta.as_bytes());
                }
                self.docs_added += 1;
                self.tokens_added += d.text.len() as u64;
            }
            self.times.add("tokenize", clock.elapsed().as_secs_f64());
            return Ok(());
        }
        let encoded: Vec<Vec<u32>> = docs
            .par_iter()
            .map(|d| {
                let mut ids = Vec::with_capacity(d.text.len() / 3);
                encoder.encode_into(&d.text, &mut ids);
                ids
            })
            .collect();
        for (d, ids) in docs.iter().zip(&encoded) {
            self.add_token_document(ids, &d.meta)?;
        }
        self.times.add("tokenize", clock.elapsed().as_secs_f64());
        Ok(())
    }

    fn wait_pending(&mut self) -> Result<()> {
        if let Some(handle) = self.pending.take() {
            let shard = handle.join().map_err(|_| {
                AnygramError::InvalidArgument("shard construction thread panicked".into())
            })??;
            self.times.merge(&shard.1);
            self.shards.push(shard.0);
        }
        Ok(())
    }

    /// Hands the current buffer to a background thread that builds and writes it.
    fn seal_shard(&mut self) -> Result<()> {
        self.wait_pending()?;
        let buffer = std::mem::replace(&mut self.buffer, AnyBuffer::new(self.width));
        let name = format!("shard-{:05}", self.shards.len());
        let dir = self.out.join(&name);
        let (vocab, workers) = (self.vocab_size, self.workers);
        let resume_key = self.resume_key.clone();
        let index = self.index;
        let progress = self.progress.clone();
        progress.shards_sealed.fetch_add(1, Ordering::Relaxed);
        self.pending = Some(std::thread::spawn(move || {
            let written = with_buffer!(buffer, b => b.write(&dir, &name, vocab, workers, &index))?;
            if let Some(key) = resume_key {
                write_shard_record(&dir, &key, &written.0)?;
            }
            progress.shards_written.fetch_add(1, Ordering::Relaxed);
            Ok(written)
        }));
        Ok(())
    }

    /// Writes the last shard and the manifest. After this returns, the index is complete.
    pub fn finish(mut self, mut build_info: serde_json::Value) -> Result<Manifest> {
        if self.buffer.num_docs() > 0 {
            self.seal_shard()?;
        }
        self.wait_pending()?;
        // The last moment to stop: after this the manifest makes the index complete.
        self.progress.check_cancelled()?;
        if self.shards.is_empty() {
            return Err(AnygramError::InvalidInput {
                location: self.out.display().to_string(),
                detail: "the corpus has no documents: nothing to index".into(),
            });
        }
        if let serde_json::Value::Object(info) = &mut build_info {
            let phases: serde_json::Map<String, serde_json::Value> = self
                .times
                .0
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!((v * 1000.0).round() / 1000.0)))
                .collect();
            info.insert(
                "engine_phase_seconds".into(),
                serde_json::Value::Object(phases),
            );
            info.insert(
                "resumed_shards".into(),
                serde_json::json!(self.resumed_shards),
            );
        }
        let mut manifest = Manifest {
            format: format::FORMAT_NAME.into(),
            format_version: format::FORMAT_VERSION,
            created_by: format!("anygram {}", env!("CARGO_PKG_VERSION")),
            token_width: self.width,
            vocab_size: self.vocab_size,
            tokenizer: self.tokenizer.clone(),
            num_tokens: self.shards.iter().map(|s| s.num_tokens).sum(),
            num_docs: self.shards.iter().map(|s| s.num_docs).sum(),
            shards: std::mem::take(&mut self.shards),
            build: build_info,
            index: self.index,
            generation: 0,
            next_doc_ix: None,
            takedown: Vec::new(),
            event: serde_json::Value::Null,
        };
        manifest.format_version = manifest.version_needed();
        manifest.write(&self.out)?;
        for shard in &manifest.shards {
            let record = self.out.join(&shard.dir).join(SHARD_RECORD);
            if record.exists() {
                fs::remove_file(&record).at(&record)?;
            }
        }
        let marker = self.out.join(format::BUILD_MARKER);
        fs::remove_file(&marker).at(&marker)?;
        Ok(manifest)
    }
}

/// The longest token stream (separators included) one shard may hold when a build (or a
/// compaction) may use `mem_budget` bytes with `workers` threads.
pub fn max_shard_stream(
    index: &IndexOptions,
    width: TokenWidth,
    mem_budget: u64,
    workers: usize,
) -> u64 {
    let (per_token, large_extra) = bytes_per_token_64(index, width);
    // While one shard is built the next one fills: give each half of the budget.
    let shard_budget = if workers > 1 {
        mem_budget / 2
    } else {
        mem_budget
    };
    let budget_64 = shard_budget.saturating_mul(64);
    let max_stream = budget_64 / per_token;
    if max_stream > i32::MAX as u64 {
        (budget_64 / (per_token + large_extra)).max(i32::MAX as u64)
    } else {
        max_stream
    }
}

fn fold_needs_bytes() -> AnygramError {
    AnygramError::InvalidArgument(
        "case folding (--fold-case) needs the byte-level tokenizer (bytes): folding keeps byte \
         positions, which a subword tokenizer's do not"
            .into(),
    )
}

/// A short description of where a document came from, from its metadata line.
fn describe(meta: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(meta) {
        Ok(v) => match (
            v.get("path").and_then(|p| p.as_str()),
            v.get("linenum").and_then(|l| l.as_u64()),
        ) {
            (Some(p), Some(l)) => format!("{p}:{}", l + 1),
            (Some(p), None) => p.to_string(),
            _ => "document".into(),
        },
        Err(_) => "document".into(),
    }
}

/// Written into a finished shard's directory during a resumable build: the build's key and the
/// shard's manifest entry. Removed once the index is committed.
const SHARD_RECORD: &str = "shard.json";

fn write_shard_record(dir: &Path, key: &str, shard: &ShardManifest) -> Result<()> {
    let record = serde_json::json!({"resume_key": key, "shard": shard});
    format::write_atomic(&dir.join(SHARD_RECORD), record.to_string().as_bytes())
}

/// A finished shard left by an earlier run of the same build, if `dir` holds one whose files
/// all have the sizes its record says.
fn read_shard_record(dir: &Path, key: &str, kind: IndexKind) -> Option<ShardManifest> {
    let text = fs::read_to_string(dir.join(SHARD_RECORD)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    if value.get("resume_key")?.as_str()? != key {
        return None;
    }
    let shard: ShardManifest = serde_json::from_value(value.get("shard")?.clone()).ok()?;
    // Every file of the kind is listed, and every listed file (case.bin too) is there whole.
    let complete = kind
        .shard_files()
        .iter()
        .all(|f| shard.files.contains_key(*f))
        && shard
            .files
            .iter()
            .all(|(f, e)| fs::metadata(dir.join(f)).map(|m| m.len()).ok() == Some(e.size));
    complete.then_some(shard)
}

/// Readies `out` for a build and returns the shards an interrupted run of the same build
/// (same `resume_key`) finished, in order; everything else in the directory is removed.
fn prepare_output(
    out: &Path,
    overwrite: bool,
    resume_key: Option<&str>,
    kind: IndexKind,
) -> Result<Vec<ShardManifest>> {
    let manifest = out.join(format::MANIFEST);
    let marker = out.join(format::BUILD_MARKER);
    if manifest.exists() {
        if !overwrite {
            return Err(AnygramError::AlreadyExists {
                path: out.to_path_buf(),
            });
        }
        // Retire the manifest first: from here on the old index no longer opens.
        fs::write(&marker, b"").at(&marker)?;
        fs::remove_file(&manifest).at(&manifest)?;
    }
    let mut kept = Vec::new();
    if out.exists() {
        let mut entries = fs::read_dir(out).at(out)?.peekable();
        if entries.peek().is_some() && !marker.exists() {
            return Err(AnygramError::InvalidArgument(format!(
                "{} is not empty and holds no anygram index: refusing to write into it",
                out.display()
            )));
        }
        // The marker holds the key of the build that wrote the directory.
        let previous_key = fs::read_to_string(&marker).unwrap_or_default();
        if let Some(key) = resume_key.filter(|k| !k.is_empty() && *k == previous_key) {
            while let Some(shard) =
                read_shard_record(&out.join(format!("shard-{:05}", kept.len())), key, kind)
            {
                kept.push(shard);
            }
        }
        let keep: Vec<PathBuf> = kept.iter().map(|s| out.join(&s.dir)).collect();
        for entry in fs::read_dir(out).at(out)? {
            let path = entry.at(out)?.path();
            if path == marker || keep.contains(&path) {
                continue;
            }
            if path.is_dir() {
                fs::remove_dir_all(&path).at(&path)?;
            } else {
                fs::remove_file(&path).at(&path)?;
            }
        }
    }
    fs::create_dir_all(out).at(out)?;
    fs::write(&marker, resume_key.unwrap_or_default().as_bytes()).at(&marker)?;
    format::sync_dir(out)?;
    Ok(kept)
}
