//! The FM-index kind: one shard's token stream kept only as a compressed, searchable BWT.
//!
//! **Reversed stream.** The index is built over the stream read backwards, `R = reverse(S)`. A
//! backward-search step on `R` puts a symbol in front of the pattern in `R`, which is appending
//! it in `S`: patterns grow to the right, one LF step per token (`find`, `extend`), as the
//! ∞-gram and the next-token queries need. A row of the BWT is a suffix `R[i..]`, i.e. the part
//! of `S` that ends at `n - i`; its BWT symbol `R[i - 1] = S[n - i]` is the token that follows
//! there. So the next tokens of a pattern's occurrences are the BWT symbols of its range
//! (range counting on the wavelet tree), locating a row gives where the occurrence *ends*, and
//! LF steps walk `S` forwards (extraction).
//!
//! **Rows.** Rows are the `n` suffixes of `R` in libsais' order (an implicit end-of-text smaller
//! than every symbol, the separator the largest symbol). The row of `R[0..]` has no preceding
//! symbol (`primary`): its BWT slot stores the separator, and every rank of the separator is
//! corrected for it. The end-of-text row itself (`R[n..]`, whose BWT symbol would be `S[0]`, the
//! leading separator) is not a row, so a step by the separator starts one row further.
//!
//! **Files** (per shard): `fm.bwt` (alphabet, symbol counts and the BWT's rank structure:
//! fixed-block boosted wavelet trees or one global tree over an RRR vector, `ranks.rs`) and
//! `fm.samples` (every `sa_sample`-th position of `R` sampled in text order: `samples.rs`).
//! Shards of format 2 have `fm.sa` (bit-packed suffix-array samples at every `sa_sample`-th
//! row) and `fm.isa` (rows of every `isa_sample`-th position) instead; both are read. All are
//! mapped; only the alphabet tables and the global tree's node table (linear in the alphabet)
//! are built in memory at open.

pub mod boosted;
pub mod build;
mod elias_fano;
pub mod ranks;
pub mod rrr;
pub mod samples;
pub mod sections;
pub mod shard;
pub mod wavelet;

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{AnygramError, Result};
use crate::format::FileEntry;
use crate::packed::{self, PackedSlice};
use crate::query::Segment;
use crate::shard::{open_listed, OpenOptions};
use crate::storage::FileBytes;
use crate::token::Token;
use boosted::Boosted;
use build::Alphabet;
use ranks::{Layout, Ranks, SEC_BLOCKS, SEC_COUNTS, SEC_HEADER, SEC_HEADERS, SEC_LENGTHS};
use ranks::{SEC_OFFSETS, SEC_RECORDS, SEC_SUPERS, SEC_SYMBOLS};
use rrr::Rrr;
use samples::TextSamples;
pub use shard::FmShard;

pub const BWT_FILE: &str = "fm.bwt";
pub const SAMPLES_FILE: &str = "fm.samples";
/// The files a build writes.
pub const FM_FILES: [&str; 2] = [BWT_FILE, SAMPLES_FILE];
/// Row-order samples of format 2 shards, read but no longer written.
pub const SA_FILE: &str = "fm.sa";
pub const ISA_FILE: &str = "fm.isa";

/// Whether a shard listing `files` has the row-order samples of format 2 (`fm.sa`, `fm.isa`)
/// rather than `fm.samples`.
pub fn has_row_samples<V>(files: &BTreeMap<String, V>) -> bool {
    !files.contains_key(SAMPLES_FILE) && files.contains_key(SA_FILE) && files.contains_key(ISA_FILE)
}

/// Sampling rates. `sa_sample`: every `sa_sample`-th position of the text is sampled, so a
/// locate takes at most `sa_sample - 1` LF steps and an extraction starts at most that many
/// before its range. `isa_sample`: a shortcut every `isa_sample` steps of the samples'
/// permutation (`samples.rs`), so finding where an extraction starts reads about
/// `2 · isa_sample` samples. Larger is smaller and slower. (Format 2 shards: rows sampled every
/// `sa_sample` rows, and the rows of every `isa_sample`-th position stored.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FmParams {
    pub sa_sample: u64,
    pub isa_sample: u64,
}

impl Default for FmParams {
    fn default() -> Self {
        FmParams {
            sa_sample: 32,
            isa_sample: 64,
        }
    }
}

impl FmParams {
    pub fn check(&self) -> Result<()> {
        for (name, v) in [
            ("sa_sample", self.sa_sample),
            ("isa_sample", self.isa_sample),
        ] {
            if !(1..=1 << 20).contains(&v) {
                return Err(AnygramError::InvalidArgument(format!(
                    "{name} must be between 1 and 2^20, not {v}"
                )));
            }
        }
        Ok(())
    }
}

/// What the manifest records of one shard's FM files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FmManifest {
    /// Length of the stream, separators included.
    pub stream_len: u64,
    pub sa_sample: u64,
    pub isa_sample: u64,
    /// Bits per sample (`ceil(log2 stream_len)`).
    pub sample_bits: u32,
    pub files: BTreeMap<String, FileEntry>,
}

impl FmManifest {
    /// What an index manifest records of an FM shard (`m`, whose `sa_bits` is the sample
    /// width) and of the index's sampling rates (`params`).
    pub fn of_shard(m: &crate::format::ShardManifest, params: FmParams) -> FmManifest {
        FmManifest {
            stream_len: crate::shard::stream_len(m.num_tokens, m.num_docs),
            sa_sample: params.sa_sample,
            isa_sample: params.isa_sample,
            sample_bits: m.sa_bits,
            files: m
                .files
                .iter()
                .filter(|(name, _)| {
                    FM_FILES.contains(&name.as_str())
                        || [SA_FILE, ISA_FILE].contains(&name.as_str())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// Where a shard's locate and extract samples are.
enum SampleFiles {
    /// `fm.samples` and its sections: text-order samples (`samples.rs`).
    Text {
        file: FileBytes,
        sections: Vec<Range<usize>>,
    },
    /// Format 2: `fm.sa` (every `sa_sample`-th row) and `fm.isa` (every `isa_sample`-th
    /// position).
    Rows { sa: FileBytes, isa: FileBytes },
}

/// One shard's FM-index, opened. Read-only, so `Send + Sync`.
pub struct FmIndex<T: Token> {
    dir: PathBuf,
    bwt: FileBytes,
    samples: SampleFiles,
    sections: Vec<Range<usize>>,
    n: u64,
    primary: u64,
    rrr_len: u64,
    layout: Layout,
    alphabet: Alphabet,
    /// Per dense symbol: occurrences of smaller symbols.
    smaller: Vec<u64>,
    /// Dense id of the separator (the largest symbol, so the last).
    sep: u32,
    params: FmParams,
    sample_bits: u32,
    _token: PhantomData<T>,
}

impl<T: Token> FmIndex<T> {
    /// Opens the FM files of the shard directory `dir` and checks them against `m` and each
    /// other (linear in the alphabet, never in tokens).
    pub fn open(dir: &Path, m: &FmManifest, opts: OpenOptions) -> Result<FmIndex<T>> {
        let entry = |name: &str| {
            m.files
                .get(name)
                .ok_or_else(|| AnygramError::corrupt(dir, format!("the manifest lists no {name}")))
        };
        let bwt = open_listed(dir, BWT_FILE, entry(BWT_FILE)?, opts)?;
        let samples = if has_row_samples(&m.files) {
            SampleFiles::Rows {
                sa: open_listed(dir, SA_FILE, entry(SA_FILE)?, opts)?,
                isa: open_listed(dir, ISA_FILE, entry(ISA_FILE)?, opts)?,
            }
        } else {
            let file = open_listed(dir, SAMPLES_FILE, entry(SAMPLES_FILE)?, opts)?;
            let sections =
                sections::read_sections(file.as_bytes(), samples::SECTIONS).ok_or_else(|| {
                    AnygramError::corrupt(dir.join(SAMPLES_FILE), "bad section table")
                })?;
            SampleFiles::Text { file, sections }
        };
        let bad = |file: &str, detail: &str| AnygramError::corrupt(dir.join(file), detail);
        let bytes = bwt.as_bytes();
        let mut sections = sections::read_sections(bytes, ranks::SECTIONS)
            .or_else(|| sections::read_sections(bytes, ranks::SECTIONS_V1))
            .ok_or_else(|| bad(BWT_FILE, "bad section table"))?;
        // The first format's sections are the new format's first six.
        sections.resize(ranks::SECTIONS, 0..0);
        let u64s = |s: usize| -> Result<&[u64]> {
            bytemuck::try_cast_slice(&bytes[sections[s].clone()])
                .map_err(|_| bad(BWT_FILE, "misaligned section"))
        };
        let header = u64s(SEC_HEADER)?;
        let &[n, primary, rrr_len, ref rest @ ..] = header else {
            return Err(bad(BWT_FILE, "bad header"));
        };
        if n != m.stream_len || n < 2 || primary >= n {
            return Err(bad(BWT_FILE, "stream length or primary row out of range"));
        }
        let symbols: Vec<u32> =
            bytemuck::try_cast_slice::<u8, u32>(&bytes[sections[SEC_SYMBOLS].clone()])
                .map_err(|_| bad(BWT_FILE, "misaligned alphabet"))?
                .to_vec();
        let counts = u64s(SEC_COUNTS)?.to_vec();
        let lengths = &bytes[sections[SEC_LENGTHS].clone()];
        if symbols.is_empty()
            || symbols.last() != Some(&T::SEPARATOR.to_u32())
            || symbols.windows(2).any(|w| w[0] >= w[1])
            || counts.len() != symbols.len()
            || counts.contains(&0)
            || counts.iter().try_fold(0u64, |a, &c| a.checked_add(c)) != Some(n)
            || !matches!(counts.last(), Some(&c) if c >= 2)
        {
            return Err(bad(BWT_FILE, "alphabet or symbol counts are inconsistent"));
        }
        let layout =
            ranks::layout(rest, lengths, &counts, rrr_len).map_err(|d| bad(BWT_FILE, &d))?;
        let mut smaller = Vec::with_capacity(counts.len());
        let mut acc = 0u64;
        for &c in &counts {
            smaller.push(acc);
            acc += c;
        }
        let sample_bits = packed::bits_for(n - 1);
        let samples_file = match samples {
            SampleFiles::Text { .. } => SAMPLES_FILE,
            SampleFiles::Rows { .. } => SA_FILE,
        };
        if m.sample_bits != sample_bits {
            return Err(bad(samples_file, "bad sample width"));
        }
        let params = FmParams {
            sa_sample: m.sa_sample,
            isa_sample: m.isa_sample,
        };
        params
            .check()
            .map_err(|_| bad(samples_file, "bad sampling rates"))?;
        let fm = FmIndex {
            dir: dir.to_path_buf(),
            sep: (symbols.len() - 1) as u32,
            alphabet: Alphabet::from_counts((symbols, counts)),
            bwt,
            samples,
            sections,
            n,
            primary,
            rrr_len,
            layout,
            smaller,
            params,
            sample_bits,
            _token: PhantomData,
        };
        if fm.ranks().is_none() {
            return Err(bad(BWT_FILE, "rank structure is truncated"));
        }
        match &fm.samples {
            SampleFiles::Text { .. } => {
                if fm.text_samples().is_none() {
                    return Err(bad(
                        SAMPLES_FILE,
                        "samples do not match the stream length and sampling rates",
                    ));
                }
            }
            SampleFiles::Rows { .. } => {
                if fm.sa_samples().is_none() {
                    return Err(bad(SA_FILE, "size does not match the stream length"));
                }
                if fm.isa_samples().is_none() {
                    return Err(bad(ISA_FILE, "size does not match the stream length"));
                }
            }
        }
        Ok(fm)
    }

    fn section(&self, s: usize) -> &[u8] {
        self.bwt
            .as_bytes()
            .get(self.sections[s].clone())
            .unwrap_or(&[])
    }

    fn ranks(&self) -> Option<Ranks<'_>> {
        let records = bytemuck::try_cast_slice(self.section(SEC_RECORDS)).ok()?;
        let offsets = bytemuck::try_cast_slice(self.section(SEC_OFFSETS)).ok()?;
        Some(match &self.layout {
            Layout::Tree(shape) => Ranks::Tree(shape, Rrr::new(self.rrr_len, records, offsets)?),
            &Layout::Boosted { block_log } => Ranks::Boosted(Boosted::new(
                self.n,
                self.alphabet.symbols.len(),
                block_log,
                bytemuck::try_cast_slice(self.section(SEC_SUPERS)).ok()?,
                bytemuck::try_cast_slice(self.section(SEC_BLOCKS)).ok()?,
                self.section(SEC_HEADERS),
                Rrr::new_packed(self.rrr_len, records, offsets)?,
            )?),
        })
    }

    fn text_samples(&self) -> Option<TextSamples<'_>> {
        let SampleFiles::Text { file, sections } = &self.samples else {
            return None;
        };
        let p = self.params;
        TextSamples::view(file.as_bytes(), sections, self.n, p.sa_sample, p.isa_sample)
    }

    fn sa_samples(&self) -> Option<PackedSlice<'_>> {
        let SampleFiles::Rows { sa, .. } = &self.samples else {
            return None;
        };
        let len = self.n.div_ceil(self.params.sa_sample);
        PackedSlice::new(sa.as_bytes(), self.sample_bits, len)
            .filter(|_| sa.len() as u64 == packed::packed_len(len, self.sample_bits))
    }

    fn isa_samples(&self) -> Option<PackedSlice<'_>> {
        let SampleFiles::Rows { isa, .. } = &self.samples else {
            return None;
        };
        let len = self.n.div_ceil(self.params.isa_sample);
        PackedSlice::new(isa.as_bytes(), self.sample_bits, len)
            .filter(|_| isa.len() as u64 == packed::packed_len(len, self.sample_bits))
    }

    /// Length of the stream (separators included).
    pub fn stream_len(&self) -> u64 {
        self.n
    }

    /// Real tokens.
    pub fn num_tokens(&self) -> u64 {
        self.n - self.separators()
    }

    /// Documents: every separator but the leading one ends one.
    pub fn num_docs(&self) -> u64 {
        self.separators() - 1
    }

    fn separators(&self) -> u64 {
        self.alphabet.counts[self.sep as usize]
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn params(&self) -> FmParams {
        self.params
    }

    /// `r`, the stored occurrences of dense symbol `d` in rows `[0, i)`, without the separator
    /// that stands in the end-of-text row.
    #[inline]
    fn uncount_primary(&self, d: u32, r: u64, i: u64) -> u64 {
        r - (d == self.sep && self.primary < i && r > 0) as u64
    }

    /// First row of the suffixes that start with `d`, as counted by the LF mapping: the
    /// end-of-text row that is not stored would be the first separator-preceded one.
    #[inline]
    fn base(&self, d: u32) -> u64 {
        self.smaller[d as usize] + (d == self.sep) as u64
    }

    /// The rows of `d·P` given the rows `[lo, hi)` of `P` (as patterns of `R`).
    #[inline]
    fn step(&self, bits: &Ranks, d: u32, lo: u64, hi: u64) -> Segment {
        let base = self.base(d);
        let (rlo, rhi) = bits.rank_pair(d, lo, hi);
        Segment {
            lo: base.wrapping_add(self.uncount_primary(d, rlo, lo)),
            hi: base.wrapping_add(self.uncount_primary(d, rhi, hi)),
        }
    }

    /// The row of `R[i - 1..]` given the row `r` of `R[i..]` (`None` for `R[0..]`), and the
    /// symbol `R[i - 1]`.
    #[inline]
    fn lf(&self, bits: &Ranks, r: u64) -> Option<(u32, u64)> {
        if r == self.primary || r >= self.n {
            return None;
        }
        let (d, rank) = bits.access_rank(r);
        Some((
            d,
            self.base(d).wrapping_add(self.uncount_primary(d, rank, r)),
        ))
    }

    fn symbol(&self, d: u32) -> T {
        T::from_u32(self.alphabet.symbols.get(d as usize).copied().unwrap_or(0))
    }

    /// The rows of the occurrences of `q` (real tokens). The empty pattern gives the rows of
    /// the `num_tokens` suffixes of `R` that start with a real token.
    pub fn find(&self, q: &[T]) -> Segment {
        if q.is_empty() {
            return Segment {
                lo: 0,
                hi: self.num_tokens(),
            };
        }
        let Some(bits) = self.ranks() else {
            return Segment::default();
        };
        // The first token's rows come from the symbol counts (the rows of a real symbol `d`
        // are `[smaller[d], smaller[d] + count[d])`); each further token is one step.
        let first = |t: T| {
            let d = self.alphabet.id(t.to_u32()).filter(|&d| d != self.sep)?;
            let lo = self.smaller[d as usize];
            Some(Segment {
                lo,
                hi: lo + self.alphabet.counts[d as usize],
            })
        };
        let Some(mut seg) = first(q[0]) else {
            return Segment { lo: 0, hi: 0 };
        };
        for &t in &q[1..] {
            let Some(d) = self.alphabet.id(t.to_u32()) else {
                return Segment { lo: 0, hi: 0 };
            };
            seg = self.step(&bits, d, seg.lo, seg.hi);
            if seg.is_empty() {
                return Segment {
                    lo: seg.lo,
                    hi: seg.lo,
                };
            }
        }
        seg
    }

    /// The rows of `P·t` given the rows `seg` of a pattern `P` of `m` tokens (`t` may be the
    /// separator: occurrences that end their document). With `m == 0`, `find(&[t])`.
    pub fn extend(&self, seg: Segment, m: usize, t: T) -> Segment {
        if m == 0 {
            return if t == T::SEPARATOR {
                Segment { lo: 0, hi: 0 }
            } else {
                self.find(&[t])
            };
        }
        let (Some(bits), Some(d)) = (self.ranks(), self.alphabet.id(t.to_u32())) else {
            return Segment {
                lo: seg.lo,
                hi: seg.lo,
            };
        };
        if seg.is_empty() {
            return seg;
        }
        let out = self.step(&bits, d, seg.lo, seg.hi.min(self.n));
        if out.is_empty() {
            Segment {
                lo: out.lo,
                hi: out.lo,
            }
        } else {
            out
        }
    }

    /// The next-token symbols of rows `seg` with their counts (dense ids, unordered).
    fn next_symbols(&self, seg: Segment) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let Some(bits) = self.ranks() else {
            return out;
        };
        let hi = seg.hi.min(self.n);
        bits.distinct(seg.lo, hi, &mut out);
        if (seg.lo..hi).contains(&self.primary) {
            // The end-of-text row has no next token.
            for e in out.iter_mut().filter(|e| e.0 == self.sep) {
                e.1 -= 1;
            }
            out.retain(|e| e.1 > 0);
        }
        out
    }

    /// Smallest and largest token after the occurrences in `seg` (a pattern of `m` tokens),
    /// the separator (document end) being the largest.
    pub fn next_bounds(&self, seg: Segment, m: usize) -> Option<(T, T)> {
        if m == 0 {
            // The empty pattern's rows start with real tokens (see `find`).
            let real = &self.alphabet.symbols[..self.sep as usize];
            return Some((T::from_u32(*real.first()?), T::from_u32(*real.last()?)));
        }
        let hi = seg.hi.min(self.n);
        if (seg.lo..hi).contains(&self.primary) {
            // Only ranges of patterns that end with a document end hold the end-of-text row,
            // whose stand-in separator must not count: the slower exact path.
            let syms = self.next_symbols(seg);
            let lo = syms.iter().map(|e| e.0).min()?;
            let hi = syms.iter().map(|e| e.0).max()?;
            return Some((self.symbol(lo), self.symbol(hi)));
        }
        let bits = self.ranks()?;
        let lo = bits.range_extreme(seg.lo, hi, false)?;
        let hi = bits.range_extreme(seg.lo, hi, true)?;
        Some((self.symbol(lo), self.symbol(hi)))
    }

    /// Exact counts of the token after each occurrence in `seg` (a pattern of `m > 0` tokens),
    /// sorted by id; document ends as `crate::merge::DOC_END`, last. For `m == 0`, the counts
    /// of every real token.
    pub fn next_token_counts(&self, seg: Segment, m: usize) -> Vec<(u32, u64)> {
        if m == 0 {
            return self.unigram_counts();
        }
        let mut out: Vec<(u32, u64)> = self
            .next_symbols(seg)
            .into_iter()
            .map(|(d, c)| {
                let label = if d == self.sep {
                    crate::merge::DOC_END
                } else {
                    self.alphabet.symbols[d as usize]
                };
                (label, c)
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Count of every real token, sorted by id.
    pub fn unigram_counts(&self) -> Vec<(u32, u64)> {
        let a = &self.alphabet;
        (0..self.sep as usize)
            .map(|d| (a.symbols[d], a.counts[d]))
            .collect()
    }

    /// Where in the stream the occurrence of row `rank` ends (one past its last token).
    pub fn locate_end(&self, rank: u64) -> Option<u64> {
        if rank >= self.n {
            return None;
        }
        let bits = self.ranks()?;
        // The position of a row, if sampled, and how many LF steps at most reach one (more
        // only on a corrupt index: ranks are computed with wrapping arithmetic, so there they
        // are garbage, never a panic).
        let text = self.text_samples();
        let rows = self.sa_samples();
        let s = self.params.sa_sample;
        let bound = match (&text, &rows) {
            (Some(_), _) => s,
            (None, Some(_)) => self.n,
            (None, None) => return None,
        };
        let sampled = |r: u64| match (&text, &rows) {
            (Some(t), _) => t.position(r),
            (None, Some(p)) => (r % s == 0).then(|| p.get(r / s)),
            (None, None) => None,
        };
        let mut r = rank;
        for steps in 0..=bound {
            if r >= self.n {
                return None;
            }
            let i = if r == self.primary {
                Some(0)
            } else {
                sampled(r)
            };
            if let Some(i) = i {
                return self.n.checked_sub(i.checked_add(steps)?);
            }
            r = self.lf(&bits, r)?.1;
        }
        None
    }

    /// Where in the stream the occurrence of row `rank` of a pattern of `m` tokens starts.
    pub fn locate(&self, rank: u64, m: usize) -> Option<u64> {
        self.locate_end(rank)?.checked_sub(m as u64)
    }

    /// The stream's tokens `[from, to)` (clipped to the stream), walked forwards from the
    /// nearest inverse sample at or after `from`.
    pub fn extract(&self, from: u64, to: u64) -> Vec<T> {
        let to = to.min(self.n);
        let mut out = Vec::with_capacity(to.saturating_sub(from) as usize);
        let mut from = from;
        if from >= to {
            return out;
        }
        if from == 0 {
            out.push(T::SEPARATOR);
            from = 1;
        }
        let Some(bits) = self.ranks() else {
            return out;
        };
        // Row of R[n - from..]: from the next sampled position of R, walking LF down to it.
        let target = self.n - from;
        let sampled: Option<(u64, u64)> = match (self.text_samples(), self.isa_samples()) {
            (Some(samples), _) => {
                let s = self.params.sa_sample;
                let k = target.div_ceil(s);
                match k * s < self.n {
                    true => match samples.row_of_sample(k) {
                        Some(row) => Some((k * s, row)),
                        None => return out,
                    },
                    false => None,
                }
            }
            (None, Some(isa)) => {
                let t = self.params.isa_sample;
                let j = target.div_ceil(t);
                (j * t < self.n).then(|| (j * t, isa.get(j)))
            }
            (None, None) => return out,
        };
        let (mut pos, mut row) = if let Some(start) = sampled {
            start
        } else {
            // R[n - 1..] is the lone separator, the first separator row.
            (self.n - 1, self.smaller[self.sep as usize])
        };
        while pos > target {
            match self.lf(&bits, row) {
                Some((_, r)) => row = r,
                None => return out,
            }
            pos -= 1;
        }
        for _ in from..to {
            match self.lf(&bits, row) {
                Some((d, r)) => {
                    out.push(self.symbol(d));
                    row = r;
                }
                None => break,
            }
        }
        out
    }

    /// Bytes per component, for size reports.
    pub fn size_breakdown(&self) -> Vec<(&'static str, u64)> {
        let sec = |s: usize| self.sections[s].len() as u64;
        let bwt_total = self.bwt.len() as u64;
        let parts = [
            ("bwt_rrr_records", sec(SEC_RECORDS)),
            ("bwt_rrr_offsets", sec(SEC_OFFSETS)),
            ("bwt_block_headers", sec(SEC_HEADERS) + sec(SEC_BLOCKS)),
            ("bwt_superblocks", sec(SEC_SUPERS)),
        ];
        let in_parts: u64 = parts.iter().map(|p| p.1).sum();
        let mut out = parts.to_vec();
        out.push(("bwt_tables", bwt_total - in_parts));
        match &self.samples {
            SampleFiles::Text { file, sections } => {
                let parts = TextSamples::breakdown(sections);
                let in_parts: u64 = parts.iter().map(|p| p.1).sum();
                out.extend(parts);
                out.push(("samples_tables", file.len() as u64 - in_parts));
            }
            SampleFiles::Rows { sa, isa } => {
                out.push(("sa_samples", sa.len() as u64));
                out.push(("isa_samples", isa.len() as u64));
            }
        }
        out
    }

    /// Bytes of the FM files.
    pub fn size_bytes(&self) -> u64 {
        let samples = match &self.samples {
            SampleFiles::Text { file, .. } => file.len(),
            SampleFiles::Rows { sa, isa } => sa.len() + isa.len(),
        };
        (self.bwt.len() + samples) as u64
    }
}
