//! Boolean search: CNF queries (an AND of clauses, each an OR of n-gram terms) with
//! infini-gram's semantics, an exact mode, and a document-level AND.
//!
//! **Semantics (scope `Window`, infini-gram's).** Clauses are ordered by their count in the
//! whole index, rarest first (ties keep the query's order). Every occurrence `p` of the rarest
//! clause (the anchor) starts a window `[l, r] = [p, p]` of match starts. Each further clause,
//! in that order, must occur near the window: its nearest match starting before `r` (`left`,
//! which is inside the window if any match is) counts if it starts at least `l - D`, its first
//! match starting at or after `l` (`right`) counts if it starts at most `r + D`
//! (`D = max_diff_tokens`). Both count: the window becomes `[min(l, left), max(r, right)]`;
//! one: the window grows to that side; none: the occurrence is dropped. These are infini-gram
//! 2.6's rules, with one fix: candidates are taken inside the anchor's document only.
//! infini-gram takes the nearest match anywhere in the shard and afterwards drops windows that
//! cross a document separator, so a match in the previous document can hide a valid one in the
//! same document, and the answer depends on how documents were cut into shards; here it never
//! does. A hit is a surviving window, reported by its start `l`; the count is their number.
//!
//! **Scope `Document`.** Every clause must occur somewhere in the same document; a hit is a
//! document (reported by the first occurrence of the anchor clause in it), the count is the
//! number of documents.
//!
//! **Sampling.** Unless `exact`, a clause occurring more than `ceil(max_clause_freq / shards)`
//! times in a shard is subsampled there as infini-gram does: each term keeps a random
//! contiguous sub-range of its suffix-array range, `ceil(len · cap / count)` long (fixed seed,
//! so answers repeat). The shard's hits are scaled by the product of its clauses'
//! `count / kept` ratios and `approx` is set — exactly when some clause was subsampled
//! (infini-gram truncates the ratio to an integer and reports `approx = false` when it rounds
//! to 1). One clause in window scope is counted exactly without sampling by `count_cnf`: its
//! count is the sum of its terms' counts.
//!
//! **Cost.** The anchor's occurrences are the only suffix-array entries always read. A further
//! clause is located either by reading and sorting its occurrences (`Sorted`, cost in its
//! count) or by scanning the token stream around each window for its terms (`Scan`, cost in
//! windows × `2D` × terms, independent of the clause's count); `Auto` picks the cheaper by
//! estimate. Both give identical answers (the oracle tests force each).

use std::collections::HashMap;

use rayon::prelude::*;

use crate::docs::DocResult;
use crate::error::{AnygramError, Result};
use crate::index::{Index, ShardSet};
use crate::merge::{merge_cnf, CnfResult, ShardCnf};
use crate::query::Segment;
use crate::shard::Shard;
use crate::token::{checked_tokens, Token};

/// Shards beyond which per-shard work fans out over the thread pool (as for `find`).
const PARALLEL_SHARDS: usize = 4;

/// Seed of the subsampling (infini-gram's fixed seed; the generator differs).
pub const SAMPLING_SEED: u64 = 19_260_817;

/// What one hit of a CNF query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CnfScope {
    /// Every clause within `max_diff_tokens` of the window matched so far (infini-gram).
    #[default]
    Window,
    /// Every clause anywhere in the same document.
    Document,
}

/// How clauses after the anchor are located (answers are identical; only cost differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locate {
    #[default]
    Auto,
    /// Scan the tokens around each window.
    Scan,
    /// Read and sort the clause's occurrences.
    Sorted,
}

/// Options of `count_cnf` / `find_cnf` / `search_docs_cnf`.
#[derive(Debug, Clone, Copy)]
pub struct CnfOptions {
    /// Per-index cap above which a clause is subsampled (unless `exact`). Positive.
    pub max_clause_freq: u64,
    /// How far (in tokens, between match starts) a clause may be from the window. Positive.
    pub max_diff_tokens: u64,
    /// Never subsample.
    pub exact: bool,
    pub scope: CnfScope,
    pub locate: Locate,
}

impl Default for CnfOptions {
    fn default() -> Self {
        CnfOptions {
            max_clause_freq: 50_000,
            max_diff_tokens: 100,
            exact: false,
            scope: CnfScope::Window,
            locate: Locate::Auto,
        }
    }
}

/// SplitMix64: small, fast, and the same on every platform (answers must repeat).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

fn check(cnf: &[Vec<Vec<u32>>], opts: &CnfOptions) -> Result<()> {
    let bad = |m: &str| Err(AnygramError::InvalidQuery(m.into()));
    if opts.max_clause_freq == 0 {
        return bad("max_clause_freq must be a positive integer");
    }
    if opts.max_diff_tokens == 0 {
        return bad("max_diff_tokens must be a positive integer");
    }
    if cnf.is_empty() {
        return bad("a CNF query needs at least one clause");
    }
    for (c, clause) in cnf.iter().enumerate() {
        if clause.is_empty() {
            return Err(AnygramError::InvalidQuery(format!(
                "clause {c} has no terms"
            )));
        }
        if let Some(t) = clause.iter().position(Vec::is_empty) {
            return Err(AnygramError::InvalidQuery(format!(
                "term {t} of clause {c} is empty"
            )));
        }
    }
    Ok(())
}

/// Does `term` occur at stream position `m`?
#[inline]
fn matches_at<T: Token>(tokens: &[T], m: u64, term: &[T]) -> bool {
    let m = m as usize;
    tokens.get(m..m.saturating_add(term.len())) == Some(term)
}

fn any_term_at<T: Token>(tokens: &[T], m: u64, terms: &[Vec<T>]) -> bool {
    terms.iter().any(|t| matches_at(tokens, m, t))
}

/// Subsamples one clause's term ranges to about `cap` entries (infini-gram's scheme).
/// Returns the kept ranges and the number kept.
fn subsample(segs: &[Segment], count: u64, cap: u64, rng: &mut SplitMix) -> (Vec<Segment>, u64) {
    let mut kept = 0;
    let out = segs
        .iter()
        .map(|s| {
            let len = s.count();
            let new_len = ((len as u128 * cap as u128).div_ceil(count as u128)) as u64;
            let lo = s.lo + rng.below(len - new_len + 1);
            kept += new_len;
            Segment {
                lo,
                hi: lo + new_len,
            }
        })
        .collect();
    (out, kept)
}

/// One clause in one shard: its terms and (possibly subsampled) ranges.
struct ShardClause<T> {
    terms: Vec<Vec<T>>,
    segs: Vec<Segment>,
    kept: u64,
    sampled: bool,
}

impl<T: Token> ShardClause<T> {
    fn sorted_ptrs(&self, shard: &Shard<T>) -> Vec<u64> {
        let sa = shard.sa();
        let mut ptrs = Vec::with_capacity(self.kept as usize);
        for s in &self.segs {
            ptrs.extend((s.lo..s.hi).map(|r| sa.get(r)));
        }
        ptrs.sort_unstable();
        ptrs
    }
}

/// A clause's occurrences near a window, by one of the two strategies.
enum Locator<'a, T> {
    Sorted(Vec<u64>),
    Scan(&'a [T], &'a [Vec<T>]),
}

impl<T: Token> Locator<'_, T> {
    /// Last match start in `[lo, r)`.
    fn left(&self, lo: u64, r: u64) -> Option<u64> {
        match self {
            Locator::Sorted(p) => {
                let i = p.partition_point(|&x| x < r);
                (i > 0 && p[i - 1] >= lo).then(|| p[i - 1])
            }
            Locator::Scan(tokens, terms) => (lo..r).rev().find(|&m| any_term_at(tokens, m, terms)),
        }
    }

    /// First match start in `[l, hi]`.
    fn right(&self, l: u64, hi: u64) -> Option<u64> {
        match self {
            Locator::Sorted(p) => {
                let i = p.partition_point(|&x| x < l);
                p.get(i).copied().filter(|&x| x <= hi)
            }
            Locator::Scan(tokens, terms) => (l..=hi).find(|&m| any_term_at(tokens, m, terms)),
        }
    }

    /// Any match start in `[lo, hi)`.
    fn any_in(&self, lo: u64, hi: u64) -> bool {
        match self {
            Locator::Sorted(p) => {
                let i = p.partition_point(|&x| x < lo);
                p.get(i).is_some_and(|&x| x < hi)
            }
            Locator::Scan(tokens, terms) => (lo..hi).any(|m| any_term_at(tokens, m, terms)),
        }
    }
}

/// A live window: match starts `[l, r]` inside the document `[ds, de)`.
#[derive(Clone, Copy)]
struct Window {
    l: u64,
    r: u64,
    ds: u64,
    de: u64,
}

/// Relative cost of reading and sorting one occurrence against comparing one stream position
/// (measured on the 32k BPE benchmark index: a suffix-array read plus its share of the sort).
const SORTED_COST_PER_OCCURRENCE: u64 = 24;

/// How to locate clause `c`, given the estimated cost of scanning for it (in stream positions
/// compared). A subsampled clause is located among its kept occurrences only.
fn locator<'a, T: Token>(
    shard: &'a Shard<T>,
    c: &'a ShardClause<T>,
    scan_cost: u64,
    locate: Locate,
) -> Locator<'a, T> {
    let scan = match locate {
        Locate::Scan => true,
        Locate::Sorted => false,
        Locate::Auto => scan_cost <= c.kept.saturating_mul(SORTED_COST_PER_OCCURRENCE),
    };
    if scan && !c.sampled {
        Locator::Scan(shard.tokens(), &c.terms)
    } else {
        Locator::Sorted(c.sorted_ptrs(shard))
    }
}

/// The CNF query in one shard. `order` lists clause indexes rarest first.
fn shard_cnf<T: Token>(
    shard: &Shard<T>,
    shard_ix: usize,
    clauses: &[Vec<Vec<T>>],
    segs: &[Vec<Segment>],
    order: &[usize],
    cap: u64,
    opts: &CnfOptions,
) -> ShardCnf {
    let mut sampled = false;
    let mut factor = 1.0f64;
    let shard_clauses: Vec<ShardClause<T>> = clauses
        .iter()
        .zip(segs)
        .enumerate()
        .map(|(c, (terms, segs))| {
            let count: u64 = segs.iter().map(Segment::count).sum();
            let (segs, kept, sampled_here) = if !opts.exact && count > cap {
                let seed = SAMPLING_SEED ^ ((shard_ix as u64) << 32) ^ c as u64;
                let (s, kept) = subsample(segs, count, cap, &mut SplitMix::new(seed));
                sampled = true;
                factor *= count as f64 / kept as f64;
                (s, kept, true)
            } else {
                (segs.clone(), count, false)
            };
            ShardClause {
                terms: terms.clone(),
                segs,
                kept,
                sampled: sampled_here,
            }
        })
        .collect();

    let anchor = &shard_clauses[order[0]];
    let anchor_ptrs = anchor.sorted_ptrs(shard);
    let starts = shard.doc_starts();
    let doc_bounds = |p: u64| -> (u64, u64) {
        let d = starts.partition_point(|&s| s <= p);
        let ds = d
            .checked_sub(1)
            .and_then(|i| starts.get(i))
            .map_or(0, |&s| s + 1);
        let de = starts.get(d).copied().unwrap_or(shard.stream_len());
        (ds, de)
    };
    let d = opts.max_diff_tokens;

    let locator = |c, cost| locator(shard, c, cost, opts.locate);

    let ptrs = match opts.scope {
        CnfScope::Window => {
            let mut windows: Vec<Window> = anchor_ptrs
                .iter()
                .map(|&p| {
                    let (ds, de) = doc_bounds(p);
                    Window { l: p, r: p, ds, de }
                })
                .collect();
            for (step, &c) in order.iter().enumerate().skip(1) {
                if windows.is_empty() {
                    break;
                }
                let cl = &shard_clauses[c];
                let width = (2 * d + 1).saturating_mul(step as u64);
                let cost = (windows.len() as u64)
                    .saturating_mul(width)
                    .saturating_mul(cl.terms.len() as u64);
                let loc = locator(cl, cost);
                windows.retain_mut(|w| {
                    let left = loc.left(w.ds.max(w.l.saturating_sub(d)), w.r);
                    let right = loc.right(w.l, w.r.saturating_add(d).min(w.de.saturating_sub(1)));
                    match (left, right) {
                        (None, None) => return false,
                        (Some(a), Some(b)) => {
                            w.l = w.l.min(a);
                            w.r = w.r.max(b);
                        }
                        (Some(a), None) => w.l = w.l.min(a),
                        (None, Some(b)) => w.r = w.r.max(b),
                    }
                    true
                });
            }
            windows.iter().map(|w| w.l).collect()
        }
        CnfScope::Document => {
            // One candidate per document holding the anchor: its first occurrence there.
            let mut docs: Vec<(u64, u64, u64)> = Vec::new();
            for &p in &anchor_ptrs {
                let (ds, de) = doc_bounds(p);
                if docs.last().map_or(true, |&(_, _, last_ds)| last_ds != ds) {
                    docs.push((p, de, ds));
                }
            }
            for &c in order.iter().skip(1) {
                if docs.is_empty() {
                    break;
                }
                let cl = &shard_clauses[c];
                let span: u64 = docs.iter().map(|&(_, de, ds)| de - ds).sum();
                let loc = locator(cl, span.saturating_mul(cl.terms.len() as u64));
                docs.retain(|&(_, de, ds)| loc.any_in(ds, de));
            }
            docs.iter().map(|&(p, _, _)| p).collect()
        }
    };
    ShardCnf {
        ptrs,
        factor,
        sampled,
    }
}

fn map_shards<T: Token, R: Send>(
    shards: &[Shard<T>],
    f: impl Fn(usize, &Shard<T>) -> R + Sync + Send,
) -> Vec<R> {
    if shards.len() >= PARALLEL_SHARDS {
        shards
            .par_iter()
            .enumerate()
            .map(|(i, s)| f(i, s))
            .collect()
    } else {
        shards.iter().enumerate().map(|(i, s)| f(i, s)).collect()
    }
}

/// Clause indexes ordered by total count, rarest first; ties keep the query's order.
pub fn clause_order(counts: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&c| counts[c]);
    order
}

/// A matching document window with every match of every clause inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CnfDoc {
    pub doc: DocResult,
    /// `(start, end, clause)`: token offsets in `doc.token_ids`, sorted by start then clause.
    /// A match running past the window's end is cut at it.
    pub spans: Vec<(u64, u64, usize)>,
}

/// The answer to `search_docs_cnf`.
#[derive(Debug, Clone, PartialEq)]
pub struct CnfDocsResult {
    /// The count, as `count_cnf` gives it (scaled when `approx`).
    pub cnt: u64,
    pub approx: bool,
    /// Hits that can be paged through (equal to `cnt` unless `approx`).
    pub total: u64,
    /// Each returned document's hit number in index order (shard, then position).
    pub idxs: Vec<u64>,
    pub docs: Vec<CnfDoc>,
}

/// Hit numbers of one page: `offset..offset + limit` of index order, or of a random order
/// fixed by `seed` (a Fisher–Yates shuffle run only as far as the page needs: `O(offset +
/// limit)` whatever `total`). Pages of the same seed never overlap.
pub fn select_hits(total: u64, offset: u64, limit: u64, seed: Option<u64>) -> Vec<u64> {
    let end = offset.saturating_add(limit).min(total);
    if offset >= end {
        return Vec::new();
    }
    let Some(seed) = seed else {
        return (offset..end).collect();
    };
    let mut rng = SplitMix::new(seed);
    let mut swapped: HashMap<u64, u64> = HashMap::new();
    let mut out = Vec::with_capacity((end - offset) as usize);
    for i in 0..end {
        let j = i + rng.below(total - i);
        let vi = swapped.get(&i).copied().unwrap_or(i);
        let vj = swapped.get(&j).copied().unwrap_or(j);
        swapped.insert(j, vi);
        if i >= offset {
            out.push(vj);
        }
    }
    out
}

/// Every match of every clause's terms starting in `[from, to)` of the stream, as offsets from
/// `from`, cut at `to`.
fn spans_in<T: Token>(
    tokens: &[T],
    from: u64,
    to: u64,
    clauses: &[Vec<Vec<T>>],
) -> Vec<(u64, u64, usize)> {
    let mut spans = Vec::new();
    for m in from..to {
        for (c, terms) in clauses.iter().enumerate() {
            for t in terms {
                if matches_at(tokens, m, t) {
                    spans.push((m - from, (m + t.len() as u64).min(to) - from, c));
                }
            }
        }
    }
    spans
}

impl Index {
    fn spans_for(
        &self,
        s: usize,
        from: u64,
        to: u64,
        cnf: &[Vec<Vec<u32>>],
    ) -> Result<Vec<(u64, u64, usize)>> {
        Ok(match self.shard_set() {
            ShardSet::U8(sh) => spans_in(sh[s].tokens(), from, to, &self.cnf_tokens(cnf)?),
            ShardSet::U16(sh) => spans_in(sh[s].tokens(), from, to, &self.cnf_tokens(cnf)?),
            ShardSet::U32(sh) => spans_in(sh[s].tokens(), from, to, &self.cnf_tokens(cnf)?),
        })
    }

    /// Per-shard ranges of every term of every clause.
    fn clause_segments<T: Token>(
        &self,
        shards: &[Shard<T>],
        clauses: &[Vec<Vec<T>>],
    ) -> Vec<Vec<Vec<Segment>>> {
        map_shards(shards, |_, sh| {
            clauses
                .iter()
                .map(|terms| terms.iter().map(|t| sh.find(t)).collect())
                .collect()
        })
    }

    /// The hits of a CNF query per shard (window starts, or one pointer per document), with
    /// the count and whether it is estimated.
    pub fn find_cnf(&self, cnf: &[Vec<Vec<u32>>], opts: CnfOptions) -> Result<CnfResult> {
        check(cnf, &opts)?;
        match self.shard_set() {
            ShardSet::U8(s) => self.find_cnf_on(s, cnf, &opts),
            ShardSet::U16(s) => self.find_cnf_on(s, cnf, &opts),
            ShardSet::U32(s) => self.find_cnf_on(s, cnf, &opts),
        }
    }

    fn find_cnf_on<T: Token>(
        &self,
        shards: &[Shard<T>],
        cnf: &[Vec<Vec<u32>>],
        opts: &CnfOptions,
    ) -> Result<CnfResult> {
        let clauses = self.cnf_tokens::<T>(cnf)?;
        let segs = self.clause_segments(shards, &clauses);
        let totals: Vec<u64> = (0..clauses.len())
            .map(|c| segs.iter().flat_map(|s| &s[c]).map(Segment::count).sum())
            .collect();
        if totals.contains(&0) {
            return Ok(merge_cnf(shards.iter().map(|_| ShardCnf::default())));
        }
        let order = clause_order(&totals);
        let cap = opts.max_clause_freq.div_ceil(shards.len() as u64);
        let parts = map_shards(shards, |i, sh| {
            shard_cnf(sh, i, &clauses, &segs[i], &order, cap, opts)
        });
        Ok(merge_cnf(parts))
    }

    fn cnf_tokens<T: Token>(&self, cnf: &[Vec<Vec<u32>>]) -> Result<Vec<Vec<Vec<T>>>> {
        cnf.iter()
            .map(|clause| {
                clause
                    .iter()
                    .map(|t| checked_tokens(t, self.vocab_size()))
                    .collect()
            })
            .collect()
    }

    /// The count of a CNF query and whether it is estimated. One clause in window scope is
    /// the sum of its terms' counts: exact, with no sampling and no pointer read.
    pub fn count_cnf(&self, cnf: &[Vec<Vec<u32>>], opts: CnfOptions) -> Result<(u64, bool)> {
        check(cnf, &opts)?;
        if cnf.len() == 1 && opts.scope == CnfScope::Window {
            let mut n = 0;
            for term in &cnf[0] {
                n += self.count(term)?;
            }
            return Ok((n, false));
        }
        let r = self.find_cnf(cnf, opts)?;
        Ok((r.cnt, r.approx))
    }

    /// One page of the hits of a CNF query as document windows of up to `max_disp_len`
    /// tokens around each hit, with every clause match in the window: `limit` hits from
    /// `offset` in index order, or in a random order fixed by `seed`.
    pub fn search_docs_cnf(
        &self,
        cnf: &[Vec<Vec<u32>>],
        opts: CnfOptions,
        offset: u64,
        limit: u64,
        seed: Option<u64>,
        max_disp_len: u64,
    ) -> Result<CnfDocsResult> {
        let found = self.find_cnf(cnf, opts)?;
        let total: u64 = found.ptrs_by_shard.iter().map(|p| p.len() as u64).sum();
        let idxs = select_hits(total, offset, limit, seed);
        let mut bases = Vec::with_capacity(found.ptrs_by_shard.len());
        let mut acc = 0u64;
        for p in &found.ptrs_by_shard {
            bases.push(acc);
            acc += p.len() as u64;
        }
        let docs = idxs
            .par_iter()
            .map(|&i| {
                let s = bases.partition_point(|&b| b <= i) - 1;
                let ptr = found.ptrs_by_shard[s][(i - bases[s]) as usize];
                let doc = self.get_doc_by_ptr(s, ptr, max_disp_len)?;
                let from = doc.doc_start_ptr + doc.disp_offset;
                let to = from + doc.disp_len;
                let spans = self.spans_for(s, from, to, cnf)?;
                Ok(CnfDoc { doc, spans })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CnfDocsResult {
            cnt: found.cnt,
            approx: found.approx,
            total,
            idxs,
            docs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_pages_are_a_permutation() {
        let all: Vec<u64> = (0..4)
            .flat_map(|p| select_hits(10, p * 3, 3, Some(7)))
            .collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(
            select_hits(10, 0, 3, Some(7)),
            select_hits(10, 0, 3, Some(7))
        );
        assert_ne!(
            select_hits(10, 0, 10, Some(7)),
            select_hits(10, 0, 10, Some(8))
        );
        assert_eq!(select_hits(5, 3, 10, None), vec![3, 4]);
        assert!(select_hits(5, 7, 10, Some(1)).is_empty());
    }

    #[test]
    fn subsampling_keeps_ranges_inside() {
        let segs = [Segment { lo: 10, hi: 110 }, Segment { lo: 500, hi: 520 }];
        let (out, kept) = subsample(&segs, 120, 30, &mut SplitMix::new(1));
        assert_eq!(kept, 25 + 5);
        for (a, b) in segs.iter().zip(&out) {
            assert!(a.lo <= b.lo && b.hi <= a.hi);
        }
    }

    #[test]
    fn order_is_stable() {
        assert_eq!(clause_order(&[5, 2, 5, 2]), vec![1, 3, 0, 2]);
    }
}
