//! Accumulates documents of one shard in memory, then writes the shard's files: for the SA
//! kind the token stream, suffix array (libsais), bit-packed pointers and prefix table; for the
//! FM kind the FM-index files (`fm/build.rs`); for both, document and metadata offsets.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Instant;

use crate::error::{IoContext, Result};
use crate::fm::FmParams;
use crate::fold::PatchWriter;
use crate::format::{self, FileEntry, IndexKind, IndexOptions, ShardManifest};
use crate::packed;
use crate::shard::{prefix_len_for, prefix_table_len};
use crate::suffix_array;
use crate::token::Token;

/// Seconds spent per build phase (summed over shards).
#[derive(Debug, Clone, Default)]
pub struct PhaseTimes(pub BTreeMap<String, f64>);

impl PhaseTimes {
    pub fn add(&mut self, phase: &str, seconds: f64) {
        *self.0.entry(phase.to_string()).or_insert(0.0) += seconds;
    }

    pub fn merge(&mut self, other: &PhaseTimes) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }
}

/// One shard's documents, in the layout of its files.
pub struct ShardBuffer<T: Token> {
    /// `SEP doc0 SEP doc1 ... SEP`: the closing separator is always present.
    pub(crate) stream: Vec<T>,
    doc_starts: Vec<u64>,
    meta: Vec<u8>,
    meta_index: Vec<u64>,
    /// The original bytes where case folding changed them (`fold_case` indexes only).
    case: Option<PatchWriter>,
}

impl<T: Token> Default for ShardBuffer<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Token> ShardBuffer<T> {
    pub fn new() -> Self {
        ShardBuffer {
            stream: vec![T::SEPARATOR],
            doc_starts: vec![0],
            meta: Vec::new(),
            meta_index: vec![0],
            case: None,
        }
    }

    /// Appends `text` case-folded (`fold.rs`; same byte length), remembering its original bytes.
    pub(crate) fn push_folded(&mut self, text: &str) {
        let at = self.stream.len();
        let mut folded = Vec::with_capacity(text.len());
        crate::fold::fold_into(text, &mut folded);
        self.case.get_or_insert_with(PatchWriter::default).diff(
            at as u64,
            text.as_bytes(),
            &folded,
        );
        self.stream
            .extend(folded.into_iter().map(|b| T::from_u32(b as u32)));
    }

    pub fn num_docs(&self) -> u64 {
        self.doc_starts.len() as u64 - 1
    }

    /// Stream length, separators included.
    pub fn stream_len(&self) -> u64 {
        self.stream.len() as u64
    }

    pub fn num_tokens(&self) -> u64 {
        self.stream_len() - self.num_docs() - 1
    }

    /// Appends a document whose tokens were pushed onto `stream` since the last call.
    pub(crate) fn close_document(&mut self, meta: &[u8]) {
        self.stream.push(T::SEPARATOR);
        self.doc_starts.push(self.stream.len() as u64 - 1);
        self.meta.extend_from_slice(meta);
        self.meta_index.push(self.meta.len() as u64);
    }

    /// Appends a whole document given as (already checked) u32 ids.
    pub(crate) fn push_document(&mut self, ids: &[u32], meta: &[u8]) {
        self.stream.extend(ids.iter().map(|&t| T::from_u32(t)));
        self.close_document(meta);
    }

    /// Builds the index of the shard's kind and writes every file of the shard into `dir`.
    pub fn write(
        self,
        dir: &Path,
        shard_name: &str,
        vocab_size: u64,
        workers: usize,
        index: &IndexOptions,
    ) -> Result<(ShardManifest, PhaseTimes)> {
        fs::create_dir_all(dir).at(dir)?;
        let mut this = self;
        let case = index.fold_case.then(|| {
            let patches = this.case.take().unwrap_or_default();
            patches.finish(this.stream_len())
        });
        let (mut manifest, times) = match index.kind {
            IndexKind::Sa => this.write_sa(dir, shard_name, vocab_size, workers)?,
            IndexKind::Fm => {
                this.write_fm(dir, shard_name, vocab_size, workers, index.fm_params()?)?
            }
        };
        if let Some(bytes) = case {
            let path = dir.join(format::CASE_FILE);
            let entry = format::write_file_entry(&path, &bytes)?;
            manifest.files.insert(format::CASE_FILE.to_string(), entry);
        }
        Ok((manifest, times))
    }

    /// The FM kind: the document files, then the FM-index of the stream, which takes the
    /// stream (and frees it) so the build's peak is the stream plus its suffix array.
    fn write_fm(
        self,
        dir: &Path,
        shard_name: &str,
        vocab_size: u64,
        workers: usize,
        params: FmParams,
    ) -> Result<(ShardManifest, PhaseTimes)> {
        let mut times = PhaseTimes::default();
        let (num_tokens, num_docs) = (self.num_tokens(), self.num_docs());
        let clock = Instant::now();
        let mut files = std::collections::BTreeMap::new();
        // The metadata in compressed blocks (`meta_blocks.rs`): the FM kind is the small one.
        let meta = crate::meta_blocks::encode(&self.meta, &self.meta_index)?;
        for (name, bytes) in [
            (format::DOCS_FILE, bytemuck::cast_slice(&self.doc_starts)),
            (format::META_BLOCKS_FILE, &meta[..]),
        ] {
            files.insert(
                name.to_string(),
                format::write_file_entry(&dir.join(name), bytes)?,
            );
        }
        times.add("write", clock.elapsed().as_secs_f64());
        let fm =
            crate::fm::build::write(dir, self.stream, vocab_size, params, workers, &mut times)?;
        files.extend(fm.files);
        format::sync_dir(dir)?;
        let manifest = ShardManifest {
            dir: shard_name.to_string(),
            num_tokens,
            num_docs,
            sa_bits: fm.sample_bits,
            prefix_len: 0,
            files,
            doc_base: None,
        };
        Ok((manifest, times))
    }

    /// The SA kind: the token, document and metadata files are written on a second thread
    /// while the suffixes sort.
    fn write_sa(
        self,
        dir: &Path,
        shard_name: &str,
        vocab_size: u64,
        workers: usize,
    ) -> Result<(ShardManifest, PhaseTimes)> {
        let mut times = PhaseTimes::default();
        let num_tokens = self.num_tokens();
        let num_docs = self.num_docs();
        let len = self.stream_len();
        let put = |name: &str, bytes: &[u8]| -> Result<(String, FileEntry)> {
            Ok((
                name.to_string(),
                format::write_file_entry(&dir.join(name), bytes)?,
            ))
        };

        let clock = Instant::now();
        let prefix_len = prefix_len_for(vocab_size);
        let prefix = prefix_table(&self.stream, vocab_size, prefix_len);
        times.add("prefix_table", clock.elapsed().as_secs_f64());

        let sa_bits = packed::bits_for(len - 1);
        let stream = &self.stream;
        let (side_files, sa) = std::thread::scope(|scope| {
            let side = scope.spawn(|| -> Result<(Vec<(String, FileEntry)>, f64)> {
                let clock = Instant::now();
                let files = vec![
                    put(format::TOKENS_FILE, bytemuck::cast_slice(stream))?,
                    put(format::DOCS_FILE, bytemuck::cast_slice(&self.doc_starts))?,
                    put(format::META_FILE, &self.meta)?,
                    put(
                        format::META_INDEX_FILE,
                        bytemuck::cast_slice(&self.meta_index),
                    )?,
                    put(format::PREFIX_FILE, bytemuck::cast_slice(&prefix))?,
                ];
                Ok((files, clock.elapsed().as_secs_f64()))
            });
            let clock = Instant::now();
            let sa = suffix_array::build(stream, vocab_size, num_tokens, workers);
            let sort_seconds = clock.elapsed().as_secs_f64();
            let side = side.join().unwrap_or_else(|_| {
                Err(crate::AnygramError::InvalidArgument(
                    "file writer thread panicked".into(),
                ))
            });
            (side, sa.map(|sa| (sa, sort_seconds)))
        });
        let (mut files, side_seconds) = side_files?;
        let (sa, sort_seconds) = sa?;
        times.add("suffix_sort", sort_seconds);
        times.add("write_overlapped", side_seconds);
        drop(self.stream);

        let clock = Instant::now();
        let packed_sa = sa.pack(sa_bits);
        drop(sa);
        times.add("pack", clock.elapsed().as_secs_f64());
        let clock = Instant::now();
        files.push(put(format::SA_FILE, &packed_sa)?);
        format::sync_dir(dir)?;
        times.add("write", clock.elapsed().as_secs_f64());
        let manifest = ShardManifest {
            dir: shard_name.to_string(),
            num_tokens,
            num_docs,
            sa_bits,
            prefix_len,
            files: files.into_iter().collect(),
            doc_base: None,
        };
        Ok((manifest, times))
    }
}

/// Cumulative counts of the suffixes by their first `prefix_len` symbols (separator = last
/// symbol): entry `p` is the suffix-array rank where prefix `p` begins.
fn prefix_table<T: Token>(stream: &[T], vocab_size: u64, prefix_len: u32) -> Vec<u64> {
    let alphabet = vocab_size + 1;
    let symbol = |t: T| -> usize {
        if t == T::SEPARATOR {
            vocab_size as usize
        } else {
            t.to_usize()
        }
    };
    let mut counts = vec![0u64; prefix_table_len(alphabet, prefix_len) as usize];
    if prefix_len == 1 {
        for &t in stream {
            if t != T::SEPARATOR {
                counts[t.to_usize() + 1] += 1;
            }
        }
    } else {
        for w in stream.windows(2) {
            if w[0] != T::SEPARATOR {
                counts[w[0].to_usize() * alphabet as usize + symbol(w[1]) + 1] += 1;
            }
        }
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    counts
}
