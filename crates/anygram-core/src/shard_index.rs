//! The seam between index kinds and queries: what one shard of any kind can answer.
//!
//! Every query family (`count`, the language-model queries, `score`, creativity, attribution,
//! boolean search, documents) is written once, generic over [`ShardIndex`], in its own module
//! as "answer on one shard" functions; the per-shard answers are merged by the pure functions
//! of [`crate::merge`]. A new index kind implements this trait and adds one variant to
//! [`AnyShard`]; nothing in the query families changes.
//!
//! **Ranks.** A shard orders the occurrences of every pattern as a contiguous range of ranks
//! (a [`Segment`]): the suffix-array order for the SA kind. Ranks are meaningful only to the
//! shard that gave them. `find(&[])` is the range of all `num_tokens` real-token suffixes.

use std::borrow::Cow;
use std::path::Path;

use crate::error::Result;
use crate::fm::FmShard;
use crate::query::Segment;
use crate::shard::Shard;
use crate::token::Token;

/// What one shard of any index kind answers. All ids are real tokens (`< vocab`) unless the
/// method says a separator (the width's [`Token::SEPARATOR`], a document end) is allowed.
pub trait ShardIndex: Send + Sync {
    type Tok: Token;

    /// Real tokens in the shard (the separators not counted).
    fn num_tokens(&self) -> u64;
    /// Documents in the shard.
    fn num_docs(&self) -> u64;
    /// The stream `SEP doc0 SEP doc1 ... SEP`: real tokens, one separator per document, and a
    /// closing one. Positions ("pointers") index it.
    fn stream_len(&self) -> u64 {
        crate::shard::stream_len(self.num_tokens(), self.num_docs())
    }

    /// The rank range of the occurrences of `q`.
    fn find(&self, q: &[Self::Tok]) -> Segment;

    /// The range of `P·t`, given the range `seg` of a pattern `P` of `m` tokens; `t` may be the
    /// separator (occurrences of `P` that end their document). `extend(find(&[]), 0, t)` is
    /// `find(&[t])`.
    fn extend(&self, seg: Segment, m: usize, t: Self::Tok) -> Segment;

    /// [`Self::extend`] when the caller has read `bounds = next_bounds(seg, m)`: a kind whose
    /// ranges are sorted by next token uses them to skip searches.
    fn extend_within(
        &self,
        seg: Segment,
        m: usize,
        t: Self::Tok,
        bounds: (Self::Tok, Self::Tok),
    ) -> Segment {
        if t < bounds.0 || t > bounds.1 {
            Segment::empty_at(seg.lo)
        } else {
            self.extend(seg, m, t)
        }
    }

    /// The smallest and largest token following an occurrence in `seg` (the separator for an
    /// occurrence that ends its document; it is the largest symbol). `None` when `seg` is empty.
    fn next_bounds(&self, seg: Segment, m: usize) -> Option<(Self::Tok, Self::Tok)>;

    /// Whether [`Self::next_bounds`] costs about two token reads (a kind whose ranges are
    /// sorted by next token reads their ends), so that a caller may read it on every step;
    /// `false` where it costs searches (the FM kind ranks candidate symbols), and callers
    /// read it only when nothing cheaper answers.
    fn cheap_next_bounds(&self) -> bool {
        true
    }

    /// Exact count of every token following an occurrence in `seg` (a pattern of `m > 0`
    /// tokens), sorted by id, document ends labelled [`crate::merge::DOC_END`] (last).
    fn next_token_counts(&self, seg: Segment, m: usize) -> Vec<(u32, u64)>;

    /// Every real token following at least `min_count` (>= 1) occurrences in `seg` (a pattern
    /// of `m > 0` tokens), in id order, with the range of the pattern extended by it.
    /// Speculative drafts (`draft/`) want only the likely next tokens: a kind whose ranges are
    /// sorted by next token finds them by probing every `min_count`-th rank, which costs
    /// `O(count / min_count)` searches however many rare tokens there are.
    fn frequent_next(&self, seg: Segment, m: usize, min_count: u64) -> Vec<(Self::Tok, Segment)> {
        self.next_token_counts(seg, m)
            .into_iter()
            .filter(|&(id, c)| c >= min_count.max(1) && id != crate::merge::DOC_END)
            .map(|(id, _)| Self::Tok::from_u32(id))
            .map(|t| (t, self.extend(seg, m, t)))
            .collect()
    }

    /// infini-gram's sampled next-token counts with sampling unit `unit` (see `lm.rs`), and
    /// whether they are estimates. A kind that cannot sample cheaply answers exactly (`false`).
    fn next_token_counts_sampled(
        &self,
        seg: Segment,
        m: usize,
        unit: u64,
    ) -> (Vec<(u32, u64)>, bool) {
        let _ = unit;
        (self.next_token_counts(seg, m), false)
    }

    /// Count of every real token (the empty prompt's continuations), sorted by id, absent ones
    /// left out.
    fn unigram_counts(&self) -> Vec<(u32, u64)>;

    /// Stream position where the occurrence of rank `rank` of a pattern of `m` tokens starts
    /// (`None` past the last rank). A kind whose ranks mark where occurrences end (an FM-index
    /// over the reversed stream) needs `m`; the SA kind ignores it.
    fn locate(&self, rank: u64, m: usize) -> Option<u64>;

    /// The start positions of every occurrence in `seg` (a pattern of `m` tokens), appended to
    /// `out` in rank order.
    fn locate_range(&self, seg: Segment, m: usize, out: &mut Vec<u64>) {
        out.extend((seg.lo..seg.hi).filter_map(|r| self.locate(r, m)));
    }

    /// The whole stream, when the kind stores it as is (lets scans read it in place).
    fn stream(&self) -> Option<&[Self::Tok]>;

    /// Stream tokens `[from, to)` (clipped to the stream).
    fn extract(&self, from: u64, to: u64) -> Cow<'_, [Self::Tok]>;

    /// Stream tokens `[from, to)` as the documents were written: [`Self::extract`] unless the
    /// indexed text was case-folded (`fold.rs`; folding keeps positions, so windows agree).
    fn extract_original(&self, from: u64, to: u64) -> Cow<'_, [Self::Tok]> {
        self.extract(from, to)
    }

    /// Position of the separator before each document, plus the closing separator.
    fn doc_starts(&self) -> &[u64];

    /// The metadata JSON of a shard-local document.
    fn metadata(&self, doc: u64) -> Result<Cow<'_, str>>;

    /// The shard's directory.
    fn dir(&self) -> &Path;

    /// Bytes of every file of the shard.
    fn size_bytes(&self) -> u64;

    /// Relative cost of one token of [`Self::extract`] against reading the stored stream (1):
    /// query plans weigh scanning text against locating occurrences with it.
    fn extract_cost(&self) -> u64 {
        1
    }
}

/// The per-shard label of a stored next token: document ends (the separator) as
/// [`crate::merge::DOC_END`], real tokens as their id.
#[inline]
pub fn label<T: Token>(t: T) -> u32 {
    if t == T::SEPARATOR {
        crate::merge::DOC_END
    } else {
        t.to_u32()
    }
}

/// One opened shard of any kind. Enum dispatch: one predictable branch per primitive, no
/// allocation, and the query families stay monomorphic per token width.
/// Unboxed although the kinds differ in size: an index holds one per shard, and a box would add
/// a pointer chase to every primitive.
#[allow(clippy::large_enum_variant)]
pub enum AnyShard<T: Token> {
    /// Suffix array over the stored token stream (`shard.rs`, `sa_shard.rs`).
    Sa(Shard<T>),
    /// FM-index over the reversed stream, the text kept only inside it (`fm/shard.rs`).
    Fm(FmShard<T>),
}

macro_rules! each_kind {
    ($self:expr, $s:ident => $body:expr) => {
        match $self {
            AnyShard::Sa($s) => $body,
            AnyShard::Fm($s) => $body,
        }
    };
}

impl<T: Token> ShardIndex for AnyShard<T> {
    type Tok = T;

    #[inline]
    fn num_tokens(&self) -> u64 {
        each_kind!(self, s => s.num_tokens())
    }
    #[inline]
    fn num_docs(&self) -> u64 {
        each_kind!(self, s => s.num_docs())
    }
    #[inline]
    fn stream_len(&self) -> u64 {
        each_kind!(self, s => ShardIndex::stream_len(s))
    }
    #[inline]
    fn find(&self, q: &[T]) -> Segment {
        each_kind!(self, s => ShardIndex::find(s, q))
    }
    #[inline]
    fn extend(&self, seg: Segment, m: usize, t: T) -> Segment {
        each_kind!(self, s => s.extend(seg, m, t))
    }
    #[inline]
    fn extend_within(&self, seg: Segment, m: usize, t: T, bounds: (T, T)) -> Segment {
        each_kind!(self, s => s.extend_within(seg, m, t, bounds))
    }
    #[inline]
    fn next_bounds(&self, seg: Segment, m: usize) -> Option<(T, T)> {
        each_kind!(self, s => s.next_bounds(seg, m))
    }
    #[inline]
    fn cheap_next_bounds(&self) -> bool {
        each_kind!(self, s => s.cheap_next_bounds())
    }
    fn next_token_counts(&self, seg: Segment, m: usize) -> Vec<(u32, u64)> {
        each_kind!(self, s => s.next_token_counts(seg, m))
    }
    fn frequent_next(&self, seg: Segment, m: usize, min_count: u64) -> Vec<(T, Segment)> {
        each_kind!(self, s => s.frequent_next(seg, m, min_count))
    }
    fn next_token_counts_sampled(
        &self,
        seg: Segment,
        m: usize,
        unit: u64,
    ) -> (Vec<(u32, u64)>, bool) {
        each_kind!(self, s => s.next_token_counts_sampled(seg, m, unit))
    }
    fn unigram_counts(&self) -> Vec<(u32, u64)> {
        each_kind!(self, s => s.unigram_counts())
    }
    #[inline]
    fn locate(&self, rank: u64, m: usize) -> Option<u64> {
        each_kind!(self, s => s.locate(rank, m))
    }
    fn locate_range(&self, seg: Segment, m: usize, out: &mut Vec<u64>) {
        each_kind!(self, s => s.locate_range(seg, m, out))
    }
    #[inline]
    fn stream(&self) -> Option<&[T]> {
        each_kind!(self, s => s.stream())
    }
    fn extract(&self, from: u64, to: u64) -> Cow<'_, [T]> {
        each_kind!(self, s => s.extract(from, to))
    }
    fn extract_original(&self, from: u64, to: u64) -> Cow<'_, [T]> {
        each_kind!(self, s => s.extract_original(from, to))
    }
    #[inline]
    fn doc_starts(&self) -> &[u64] {
        each_kind!(self, s => ShardIndex::doc_starts(s))
    }
    fn metadata(&self, doc: u64) -> Result<Cow<'_, str>> {
        each_kind!(self, s => ShardIndex::metadata(s, doc))
    }
    fn dir(&self) -> &Path {
        each_kind!(self, s => ShardIndex::dir(s))
    }
    fn size_bytes(&self) -> u64 {
        each_kind!(self, s => ShardIndex::size_bytes(s))
    }
    fn extract_cost(&self) -> u64 {
        each_kind!(self, s => s.extract_cost())
    }
}
