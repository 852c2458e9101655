//! What an index asks of one shard, and what the shard answers: plain serializable data, so the
//! same request can be answered by a shard in this thread, on the thread pool, in another
//! process or on another machine ([`crate::executor`]). [`answer`] is the one place that maps a
//! request onto the per-shard function of its query family.

use serde::{Deserialize, Serialize};

use crate::cnf::{shard_cnf, ShardCnfRequest};
use crate::creativity::creativity_part;
use crate::deadline::Deadline;
use crate::docs::{doc_by_local_ix, doc_by_ptr, spans_in, ShardDoc};
use crate::draft::{draft_next, DraftNextPart};
use crate::error::{AnygramError, Result};
use crate::lm::{longest_suffix, next_counts, prob_part, score_part, MatchState};
use crate::merge::{CreativityPart, NextCountsPart, ProbPart, ShardCnf, ShardScore, SuffixPart};
use crate::query::Segment;
use crate::shard_index::ShardIndex;
use crate::token::Token;

/// One shard's part of a query. Token ids are u32 whatever the stored width; the index has
/// checked them against its vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ShardRequest {
    /// The range of an n-gram.
    Find { ids: Vec<u32> },
    /// The ranges of many n-grams.
    FindMany { queries: Vec<Vec<u32>> },
    /// `prob`: the prompt's count and how often `cont` (a real token) and/or a document end
    /// (`doc_end`) follows it.
    Prob {
        prompt: Vec<u32>,
        cont: Option<u32>,
        doc_end: bool,
    },
    /// `prob` for a prompt of `m` tokens already found (its range `seg`).
    ProbIn {
        seg: Segment,
        m: usize,
        cont: Option<u32>,
        doc_end: bool,
    },
    /// Next-token counts of a prompt of `m` tokens with range `seg` (`unit` 1: exact).
    NextCounts { seg: Segment, m: usize, unit: u64 },
    /// The longest suffix of a prompt occurring in the shard.
    LongestSuffix { ids: Vec<u32> },
    /// `score`'s per-position facts (`eos`: the eos id if it is a real token).
    Score { ids: Vec<u32>, eos: Option<u32> },
    /// The creativity walk, with each longest prefix's range.
    Creativity { ids: Vec<u32> },
    /// Start positions of the first `limit` occurrences of a range of a pattern of `m`
    /// tokens, in rank order.
    Locate { seg: Segment, m: usize, limit: u64 },
    /// The document holding a stream position, windowed around it.
    DocByPtr { ptr: u64, max_disp_len: u64 },
    /// The first `max_disp_len` tokens of a shard-local document.
    DocByIx { doc: u64, max_disp_len: u64 },
    /// A CNF query's hits in the shard.
    Cnf(ShardCnfRequest),
    /// Every match of every clause's terms starting in `[from, to)` of the stream.
    Spans {
        from: u64,
        to: u64,
        clauses: Vec<Vec<Vec<u32>>>,
    },
    /// A [`MatchState`] after appending `text.last()` (`text`: at least its last
    /// `state.len + 1` tokens).
    Advance { state: MatchState, text: Vec<u32> },
    /// The [`MatchState`] at the end of a text.
    Match { ids: Vec<u32> },
    /// Draft continuations of a pattern of `m` tokens with range `seg`: the tokens following
    /// at least `min_count` of its occurrences (`u64::MAX`: none) and those of `also`
    /// ([`crate::draft::draft_next`]).
    DraftNext {
        seg: Segment,
        m: usize,
        min_count: u64,
        also: Vec<u32>,
    },
    /// Local numbers of the documents whose metadata has `value` at the key path `path`.
    DocsWhere { path: Vec<String>, value: String },
    /// Local numbers of the documents containing an n-gram.
    DocsContaining { ids: Vec<u32> },
}

/// A shard's answer, one variant per shape of partial result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ShardResponse {
    Segment(Segment),
    Segments(Vec<Segment>),
    Prob(ProbPart),
    NextCounts(NextCountsPart),
    Suffix(SuffixPart),
    Score(Vec<ShardScore>),
    Creativity(CreativityPart),
    Ptrs(Vec<u64>),
    Doc(ShardDoc),
    Cnf(ShardCnf),
    Spans(Vec<(u64, u64, usize)>),
    State(MatchState),
    DraftNext(Vec<DraftNextPart>),
    Docs(Vec<u64>),
}

/// Narrows ids to the shard's token width. The index checked them against its vocabulary; this
/// only refuses what the width cannot hold (a request that did not come from a matching index).
pub fn narrow_ids<T: Token>(ids: &[u32]) -> Result<Vec<T>> {
    ids.iter()
        .map(|&id| {
            let t = T::from_u32(id);
            if t.to_u32() == id && t != T::SEPARATOR {
                Ok(t)
            } else {
                Err(AnygramError::TokenOutOfRange {
                    token: id as u64,
                    vocab: T::SEPARATOR.to_u32() as u64,
                })
            }
        })
        .collect()
}

fn narrow_one<T: Token>(id: Option<u32>) -> Result<Option<T>> {
    id.map(|i| narrow_ids::<T>(&[i]).map(|v| v[0])).transpose()
}

/// Answers one request on one shard.
pub fn answer<S: ShardIndex>(
    s: &S,
    req: &ShardRequest,
    deadline: Deadline,
) -> Result<ShardResponse> {
    deadline.check()?;
    Ok(match req {
        ShardRequest::Find { ids } => ShardResponse::Segment(s.find(&narrow_ids(ids)?)),
        ShardRequest::FindMany { queries } => {
            let mut ticker = deadline.ticker();
            let mut out = Vec::with_capacity(queries.len());
            for q in queries {
                ticker.tick()?;
                out.push(s.find(&narrow_ids(q)?));
            }
            ShardResponse::Segments(out)
        }
        ShardRequest::Prob {
            prompt,
            cont,
            doc_end,
        } => {
            let q = narrow_ids(prompt)?;
            let seg = s.find(&q);
            ShardResponse::Prob(prob_part(s, seg, q.len(), narrow_one(*cont)?, *doc_end))
        }
        ShardRequest::ProbIn {
            seg,
            m,
            cont,
            doc_end,
        } => ShardResponse::Prob(prob_part(s, *seg, *m, narrow_one(*cont)?, *doc_end)),
        ShardRequest::NextCounts { seg, m, unit } => {
            ShardResponse::NextCounts(next_counts(s, *seg, *m, *unit))
        }
        ShardRequest::LongestSuffix { ids } => {
            ShardResponse::Suffix(longest_suffix(s, &narrow_ids(ids)?))
        }
        ShardRequest::Score { ids, eos } => ShardResponse::Score(score_part(
            s,
            &narrow_ids(ids)?,
            narrow_one(*eos)?,
            &mut deadline.ticker(),
        )?),
        ShardRequest::Creativity { ids } => ShardResponse::Creativity(creativity_part(
            s,
            &narrow_ids(ids)?,
            &mut deadline.ticker(),
        )?),
        ShardRequest::Locate { seg, m, limit } => {
            let hi = seg.hi.min(seg.lo.saturating_add(*limit));
            let mut out = Vec::new();
            s.locate_range(Segment { lo: seg.lo, hi }, *m, &mut out);
            ShardResponse::Ptrs(out)
        }
        ShardRequest::DocByPtr { ptr, max_disp_len } => {
            ShardResponse::Doc(doc_by_ptr(s, *ptr, *max_disp_len)?)
        }
        ShardRequest::DocByIx { doc, max_disp_len } => {
            ShardResponse::Doc(doc_by_local_ix(s, *doc, *max_disp_len)?)
        }
        ShardRequest::Cnf(r) => ShardResponse::Cnf(shard_cnf(s, r, deadline)?),
        ShardRequest::Spans { from, to, clauses } => {
            let clauses = clauses
                .iter()
                .map(|c| c.iter().map(|t| narrow_ids(t)).collect())
                .collect::<Result<Vec<Vec<Vec<S::Tok>>>>>()?;
            ShardResponse::Spans(spans_in(s, *from, *to, &clauses))
        }
        ShardRequest::Advance { state, text } => {
            let text = narrow_ids(text)?;
            if text.len() <= state.len {
                return Err(AnygramError::InvalidQuery(format!(
                    "advancing a match of {} tokens needs at least {} tokens of text",
                    state.len,
                    state.len + 1
                )));
            }
            ShardResponse::State(state.push(s, &text))
        }
        ShardRequest::Match { ids } => {
            let text = narrow_ids(ids)?;
            let mut ticker = deadline.ticker();
            let mut state = MatchState::start(s);
            for i in 0..text.len() {
                ticker.tick()?;
                state = state.push(s, &text[..=i]);
            }
            ShardResponse::State(state)
        }
        ShardRequest::DraftNext {
            seg,
            m,
            min_count,
            also,
        } => ShardResponse::DraftNext(draft_next(s, *seg, *m, *min_count, &narrow_ids(also)?)),
        ShardRequest::DocsWhere { path, value } => {
            ShardResponse::Docs(crate::grow::select::docs_where(s, path, value)?)
        }
        ShardRequest::DocsContaining { ids } => {
            ShardResponse::Docs(crate::grow::select::docs_containing(s, &narrow_ids(ids)?))
        }
    })
}

macro_rules! into_variant {
    ($($name:ident => $variant:ident : $ty:ty),* $(,)?) => {
        impl ShardResponse {
            $(
                #[doc = concat!("The answer as `", stringify!($variant), "`, or an error if the shard answered another shape.")]
                pub fn $name(self) -> Result<$ty> {
                    match self {
                        ShardResponse::$variant(v) => Ok(v),
                        other => Err(wrong_shape(stringify!($variant), &other)),
                    }
                }
            )*
        }
    };
}

into_variant! {
    into_segment => Segment: Segment,
    into_segments => Segments: Vec<Segment>,
    into_prob => Prob: ProbPart,
    into_next_counts => NextCounts: NextCountsPart,
    into_suffix => Suffix: SuffixPart,
    into_score => Score: Vec<ShardScore>,
    into_creativity => Creativity: CreativityPart,
    into_ptrs => Ptrs: Vec<u64>,
    into_doc => Doc: ShardDoc,
    into_cnf => Cnf: ShardCnf,
    into_spans => Spans: Vec<(u64, u64, usize)>,
    into_state => State: MatchState,
    into_draft_next => DraftNext: Vec<DraftNextPart>,
    into_docs => Docs: Vec<u64>,
}

fn wrong_shape(want: &str, got: &ShardResponse) -> AnygramError {
    let got = format!("{got:?}");
    let got = got.split(['(', ' ']).next().unwrap_or("?");
    AnygramError::Internal(format!(
        "a shard answered {got} where {want} was asked (mismatched executor?)"
    ))
}
