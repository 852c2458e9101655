//! The FM-index kind's answers to [`ShardIndex`]: one shard directory's [`FmIndex`] (the text,
//! searchable and extractable) and its [`DocFiles`] (document offsets and metadata).
//!
//! Ranks are the FM's rows, which mark where occurrences *end* (the index is over the reversed
//! stream, see `fm/mod.rs`); `locate(rank, m)` subtracts the pattern length. The empty pattern's
//! rows `[0, num_tokens)` are exactly the rows of the single real tokens, so an "occurrence of
//! the empty pattern" is located at the real token it stands before, as in the SA kind.

use std::borrow::Cow;
use std::path::Path;

use super::{FmIndex, FmManifest};
use crate::doc_files::DocFiles;
use crate::error::{AnygramError, Result};
use crate::format::ShardManifest;
use crate::query::Segment;
use crate::shard::OpenOptions;
use crate::shard_index::ShardIndex;
use crate::token::Token;

/// One LF step (a wavelet-tree access and rank over RRR blocks) in reads of a stored token:
/// extracting 1,000 bytes walks 1,000 steps in ~0.8 ms where a scan of a stored stream reads
/// them in ~1 µs (`benchmarks/RESULTS.md`, issue 12), taken low since a scan also compares.
const LF_STEP_COST: u64 = 256;

/// What the SA kind's plan charges per located occurrence, in the same unit
/// (`cnf.rs`'s `SORTED_COST_PER_OCCURRENCE`).
const SA_LOCATE_COST: u64 = 24;

/// One shard of the FM-index kind, opened. Read-only, so `Send + Sync`.
pub struct FmShard<T: Token> {
    fm: FmIndex<T>,
    docs: DocFiles,
}

impl<T: Token> FmShard<T> {
    /// Opens the shard `m` of the index at `index_dir`: its FM files (`fm`, their manifest
    /// entry) and its document files, checked against each other.
    pub fn open(
        index_dir: &Path,
        m: &ShardManifest,
        fm: &FmManifest,
        opts: OpenOptions,
    ) -> Result<FmShard<T>> {
        let dir = index_dir.join(&m.dir);
        let index = FmIndex::open(&dir, fm, opts)?;
        let docs = DocFiles::open(&dir, m, opts)?;
        if index.num_tokens() != m.num_tokens || index.num_docs() != m.num_docs {
            return Err(AnygramError::corrupt(
                &dir,
                format!(
                    "the FM-index holds {} tokens in {} documents, the manifest says {} in {}",
                    index.num_tokens(),
                    index.num_docs(),
                    m.num_tokens,
                    m.num_docs
                ),
            ));
        }
        Ok(FmShard { fm: index, docs })
    }

    /// The FM-index itself (sizes per component, sampling rates).
    pub fn index(&self) -> &FmIndex<T> {
        &self.fm
    }
}

impl<T: Token> ShardIndex for FmShard<T> {
    type Tok = T;

    #[inline]
    fn num_tokens(&self) -> u64 {
        self.fm.num_tokens()
    }

    #[inline]
    fn num_docs(&self) -> u64 {
        self.fm.num_docs()
    }

    #[inline]
    fn stream_len(&self) -> u64 {
        self.fm.stream_len()
    }

    #[inline]
    fn find(&self, q: &[T]) -> Segment {
        self.fm.find(q)
    }

    /// With `m == 0`, `find(&[t])` whatever `seg` (the empty pattern's range cannot be stepped
    /// from in the FM).
    #[inline]
    fn extend(&self, seg: Segment, m: usize, t: T) -> Segment {
        self.fm.extend(seg, m, t)
    }

    /// With `m == 0`, the smallest and largest real token.
    #[inline]
    fn next_bounds(&self, seg: Segment, m: usize) -> Option<(T, T)> {
        if seg.is_empty() {
            return None;
        }
        self.fm.next_bounds(seg, m)
    }

    /// Bounds rank candidate symbols until one occurs in the range.
    fn cheap_next_bounds(&self) -> bool {
        false
    }

    fn next_token_counts(&self, seg: Segment, m: usize) -> Vec<(u32, u64)> {
        if seg.is_empty() {
            return Vec::new();
        }
        self.fm.next_token_counts(seg, m)
    }

    /// From the symbol counts.
    fn unigram_counts(&self) -> Vec<(u32, u64)> {
        self.fm.unigram_counts()
    }

    /// `None` past the last row. With `m == 0` (a row of `find(&[])`, i.e. of one real
    /// token), the position of that token.
    #[inline]
    fn locate(&self, rank: u64, m: usize) -> Option<u64> {
        self.fm.locate(rank, m.max(1))
    }

    #[inline]
    fn stream(&self) -> Option<&[T]> {
        None
    }

    fn extract(&self, from: u64, to: u64) -> Cow<'_, [T]> {
        Cow::Owned(self.fm.extract(from, to))
    }

    fn extract_original(&self, from: u64, to: u64) -> Cow<'_, [T]> {
        let mut ids = self.fm.extract(from, to);
        self.docs.restore_case(from, &mut ids);
        Cow::Owned(ids)
    }

    #[inline]
    fn doc_starts(&self) -> &[u64] {
        self.docs.doc_starts()
    }

    fn metadata(&self, doc: u64) -> Result<Cow<'_, str>> {
        self.docs.metadata(doc)
    }

    fn dir(&self) -> &Path {
        self.fm.dir()
    }

    fn size_bytes(&self) -> u64 {
        self.fm.size_bytes() + self.docs.size_bytes()
    }

    /// Plans compare a scan's tokens times this with located occurrences times the SA kind's
    /// locate cost. Here both sides walk LF steps: a token of extract is one step, locating an
    /// occurrence about `sa_sample - 1` (rows are sampled every `sa_sample`-th), so the weight
    /// is the step's cost over what locating costs here, in the SA kind's units: the SA's
    /// stored-token read at `sa_sample == 1`, about 1 (scanning and locating equally slower) at
    /// the default 32.
    fn extract_cost(&self) -> u64 {
        let steps = self.fm.params().sa_sample.saturating_sub(1);
        let locate = SA_LOCATE_COST.saturating_add(LF_STEP_COST.saturating_mul(steps));
        (SA_LOCATE_COST * LF_STEP_COST).div_ceil(locate).max(1)
    }
}
