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
//! **Sampling.** Unless `exact`, when the anchor (the rarest clause) occurs more than
//! `max_clause_freq` times in the whole index, each of its occurrences is kept with probability
//! `rate = max_clause_freq / count`, decided by a seeded hash of the occurrence's identity: its
//! term and its position in the stream of one shard holding every document (in document
//! scope, the document's global number). Nothing in that decision depends on how the corpus
//! was cut into shards, so one shard, seven, or shards on seven machines give the same answer.
//! Every other clause is located exactly. Each anchor occurrence (document, in document scope)
//! yields at most one hit, so the count is estimated without bias from the kept ones
//! ([`merge_cnf`]: a ratio estimator), never above the anchor's count, with a 95% interval
//! (`cnt_interval`). infini-gram instead subsamples every frequent clause per shard
//! and multiplies the ratios, which can exceed any possible count. One clause in window scope
//! is counted exactly without sampling by `count_cnf`: the sum of its terms' counts.
//!
//! **Cost.** The anchor's occurrences are the only positions always read (sequentially: one
//! range per term). A further clause is located either by reading and sorting its
//! occurrences (`Sorted`, cost in its count) or by scanning the stream around each window for
//! its terms (`Scan`, cost in windows × `2D` × terms, independent of the clause's count);
//! `Auto` picks the cheaper by estimate. Both give identical answers (the oracle tests force
//! each).

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::deadline::Deadline;
use crate::docs::DocResult;
use crate::error::{AnygramError, Result};
use crate::index::Index;
use crate::merge::{merge_cnf, CnfResult, CnfSampling, ShardCnf};
use crate::query::Segment;
use crate::request::{narrow_ids, ShardRequest, ShardResponse};
use crate::shard_index::ShardIndex;

/// Default seed of the anchor's sampling.
pub const SAMPLING_SEED: u64 = 19_260_817;

/// What one hit of a CNF query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CnfScope {
    /// Every clause within `max_diff_tokens` of the window matched so far (infini-gram).
    #[default]
    Window,
    /// Every clause anywhere in the same document.
    Document,
}

/// How clauses after the anchor are located (answers are identical; only cost differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Locate {
    #[default]
    Auto,
    /// Scan the tokens around each window.
    Scan,
    /// Read and sort the clause's occurrences.
    Sorted,
}

/// Options of `count_cnf` / `find_cnf` / `search_docs_cnf`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct CnfOptions {
    /// Anchor occurrences above which the anchor is sampled (unless `exact`). Positive.
    pub max_clause_freq: u64,
    /// How far (in tokens, between match starts) a clause may be from the window. Positive.
    pub max_diff_tokens: u64,
    /// Never sample.
    pub exact: bool,
    pub scope: CnfScope,
    pub locate: Locate,
    /// Seed of the sampling.
    pub seed: u64,
}

impl Default for CnfOptions {
    fn default() -> Self {
        CnfOptions {
            max_clause_freq: 50_000,
            max_diff_tokens: 100,
            exact: false,
            scope: CnfScope::Window,
            locate: Locate::Auto,
            seed: SAMPLING_SEED,
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
        mix64(self.0)
    }

    /// Uniform in `[0, n)` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// SplitMix64's finalizer: a bijective mix of 64 bits.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Which sampling units a shard keeps: those whose seeded hash is below `threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepRule {
    pub seed: u64,
    pub threshold: u64,
}

impl KeepRule {
    fn for_rate(seed: u64, rate: f64) -> KeepRule {
        KeepRule {
            seed,
            threshold: (rate.clamp(0.0, 1.0) * 18_446_744_073_709_551_616.0) as u64,
        }
    }

    /// Is the unit `(a, b)` kept? (`a`, `b`: the unit's layout-free identity.)
    #[inline]
    fn keeps(&self, a: u64, b: u64) -> bool {
        let h = mix64(self.seed ^ mix64(a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b));
        h < self.threshold
    }
}

/// One shard's part of a CNF query. Ranges and positions are the shard's own; `stream_base`
/// and `doc_base` place it in the whole index (for the sampling identities).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardCnfRequest {
    /// `clauses[c][t]`: the token ids of term `t` of clause `c`.
    pub clauses: Vec<Vec<Vec<u32>>>,
    /// This shard's range of every term, in the same shape.
    pub segs: Vec<Vec<Segment>>,
    /// Clause indexes, rarest in the whole index first.
    pub order: Vec<usize>,
    /// Set when the anchor is sampled.
    pub keep: Option<KeepRule>,
    pub stream_base: u64,
    pub doc_base: u64,
    pub max_diff_tokens: u64,
    pub scope: CnfScope,
    pub locate: Locate,
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

/// A clause's occurrences near a window, by one of the two strategies.
enum Locator<'a, S: ShardIndex> {
    Sorted(Vec<u64>),
    Scan(&'a S, &'a [Vec<S::Tok>], u64),
}

impl<S: ShardIndex> Locator<'_, S> {
    /// The first (`last`: the last) match start of the clause's terms in `[lo, hi)`, scanning
    /// from that end and stopping at the first match: the text is read once, nothing is
    /// collected.
    fn scan(
        s: &S,
        terms: &[Vec<S::Tok>],
        longest: u64,
        lo: u64,
        hi: u64,
        last: bool,
    ) -> Option<u64> {
        let text = s.extract(lo, hi.saturating_add(longest));
        let at = |i: &usize| {
            terms
                .iter()
                .any(|t| text.get(*i..*i + t.len()) == Some(t.as_slice()))
        };
        let mut starts = 0..hi.saturating_sub(lo) as usize;
        let found = if last {
            starts.rev().find(at)
        } else {
            starts.find(at)
        };
        found.map(|i| lo + i as u64)
    }

    /// Last match start in `[lo, r)`.
    fn left(&self, lo: u64, r: u64) -> Option<u64> {
        match self {
            Locator::Sorted(p) => {
                let i = p.partition_point(|&x| x < r);
                (i > 0 && p[i - 1] >= lo).then(|| p[i - 1])
            }
            Locator::Scan(s, terms, longest) => Self::scan(s, terms, *longest, lo, r, true),
        }
    }

    /// First match start in `[l, hi]`.
    fn right(&self, l: u64, hi: u64) -> Option<u64> {
        match self {
            Locator::Sorted(p) => {
                let i = p.partition_point(|&x| x < l);
                p.get(i).copied().filter(|&x| x <= hi)
            }
            Locator::Scan(s, terms, longest) => {
                Self::scan(s, terms, *longest, l, hi.saturating_add(1), false)
            }
        }
    }

    /// Any match start in `[lo, hi)`.
    fn any_in(&self, lo: u64, hi: u64) -> bool {
        match self {
            Locator::Sorted(p) => {
                let i = p.partition_point(|&x| x < lo);
                p.get(i).is_some_and(|&x| x < hi)
            }
            Locator::Scan(s, terms, longest) => {
                Self::scan(s, terms, *longest, lo, hi, false).is_some()
            }
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

/// Every occurrence of a clause (its terms and their ranges), sorted by position.
fn sorted_ptrs<S: ShardIndex>(s: &S, terms: &[Vec<S::Tok>], segs: &[Segment]) -> Vec<u64> {
    let mut ptrs = Vec::with_capacity(segs.iter().map(Segment::count).sum::<u64>() as usize);
    for (term, &seg) in terms.iter().zip(segs) {
        s.locate_range(seg, term.len(), &mut ptrs);
    }
    ptrs.sort_unstable();
    ptrs
}

/// The CNF query in one shard.
pub fn shard_cnf<S: ShardIndex>(
    s: &S,
    req: &ShardCnfRequest,
    deadline: Deadline,
) -> Result<ShardCnf> {
    let clauses = req
        .clauses
        .iter()
        .map(|c| c.iter().map(|t| narrow_ids(t)).collect())
        .collect::<Result<Vec<Vec<Vec<S::Tok>>>>>()?;
    if req.segs.len() != clauses.len()
        || req.order.len() != clauses.len()
        || req.order.iter().any(|&c| c >= clauses.len())
        || req
            .segs
            .iter()
            .zip(&clauses)
            .any(|(g, c)| g.len() != c.len())
    {
        return Err(AnygramError::Internal(
            "a CNF request's ranges or order do not match its clauses".into(),
        ));
    }
    let mut ticker = deadline.ticker();
    let starts = s.doc_starts();
    let doc_of = |p: u64| starts.partition_point(|&x| x <= p).saturating_sub(1);
    let doc_bounds = |d: usize| -> (u64, u64) {
        let ds = starts.get(d).map_or(0, |&x| x + 1);
        let de = starts.get(d + 1).copied().unwrap_or(s.stream_len());
        (ds, de)
    };

    // The anchor's occurrences (kept ones only, when sampled).
    let a = req.order[0];
    let mut anchor: Vec<u64> = Vec::new();
    let mut kept_units = 0u64;
    for (t, &seg) in req.segs[a].iter().enumerate() {
        let mut ptrs = Vec::new();
        s.locate_range(seg, clauses[a][t].len(), &mut ptrs);
        ticker.tick()?;
        match (req.keep, req.scope) {
            (Some(k), CnfScope::Window) => {
                ptrs.retain(|&p| k.keeps(t as u64, req.stream_base + p));
                kept_units += ptrs.len() as u64;
            }
            (Some(k), CnfScope::Document) => {
                ptrs.retain(|&p| k.keeps(u64::MAX, req.doc_base + doc_of(p) as u64));
            }
            (None, _) => {}
        }
        anchor.extend(ptrs);
    }
    anchor.sort_unstable();

    let d = req.max_diff_tokens;
    let locator = |c: usize, scan_cost: u64| -> Locator<'_, S> {
        let count: u64 = req.segs[c].iter().map(Segment::count).sum();
        let scan = match req.locate {
            Locate::Scan => true,
            Locate::Sorted => false,
            Locate::Auto => {
                scan_cost.saturating_mul(s.extract_cost())
                    <= count.saturating_mul(SORTED_COST_PER_OCCURRENCE)
            }
        };
        if scan {
            let longest = clauses[c].iter().map(Vec::len).max().unwrap_or(0) as u64;
            Locator::Scan(s, &clauses[c], longest)
        } else {
            Locator::Sorted(sorted_ptrs(s, &clauses[c], &req.segs[c]))
        }
    };

    let ptrs = match req.scope {
        CnfScope::Window => {
            let mut windows: Vec<Window> = anchor
                .iter()
                .map(|&p| {
                    let (ds, de) = doc_bounds(doc_of(p));
                    Window { l: p, r: p, ds, de }
                })
                .collect();
            for (step, &c) in req.order.iter().enumerate().skip(1) {
                if windows.is_empty() {
                    break;
                }
                let width = (2 * d + 1).saturating_mul(step as u64);
                let cost = (windows.len() as u64)
                    .saturating_mul(width)
                    .saturating_mul(clauses[c].len() as u64);
                let loc = locator(c, cost);
                let mut failed = None;
                windows.retain_mut(|w| {
                    if failed.is_some() {
                        return false;
                    }
                    if let Err(e) = ticker.tick() {
                        failed = Some(e);
                        return false;
                    }
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
                if let Some(e) = failed {
                    return Err(e);
                }
            }
            windows.iter().map(|w| w.l).collect()
        }
        CnfScope::Document => {
            // One candidate per document holding the anchor: its first occurrence there.
            let mut docs: Vec<(u64, u64, u64)> = Vec::new();
            for &p in &anchor {
                let (ds, de) = doc_bounds(doc_of(p));
                if docs.last().map_or(true, |&(_, _, last_ds)| last_ds != ds) {
                    docs.push((p, de, ds));
                }
            }
            // The ratio estimator's sample size: every kept document of the shard, whether
            // it holds the anchor or not (one hash per document).
            if let Some(k) = req.keep {
                kept_units = (0..s.num_docs())
                    .filter(|&d| k.keeps(u64::MAX, req.doc_base + d))
                    .count() as u64;
            }
            for &c in req.order.iter().skip(1) {
                if docs.is_empty() {
                    break;
                }
                ticker.tick()?;
                let span: u64 = docs.iter().map(|&(_, de, ds)| de - ds).sum();
                let loc = locator(c, span.saturating_mul(clauses[c].len() as u64));
                docs.retain(|&(_, de, ds)| loc.any_in(ds, de));
            }
            docs.iter().map(|&(p, _, _)| p).collect()
        }
    };
    Ok(ShardCnf { ptrs, kept_units })
}

/// Clause indexes ordered by total count, rarest first; ties keep the query's order.
pub fn clause_order(counts: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&c| counts[c]);
    order
}

/// A matching document window with every match of every clause inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CnfDoc {
    pub doc: DocResult,
    /// `(start, end, clause)`: token offsets in `doc.token_ids`, sorted by start then clause.
    /// A match running past the window's end is cut at it.
    pub spans: Vec<(u64, u64, usize)>,
}

/// The answer to `search_docs_cnf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CnfDocsResult {
    /// The count, as `count_cnf` gives it (estimated when `approx`).
    pub cnt: u64,
    pub approx: bool,
    /// `count_cnf`'s 95% interval.
    pub cnt_interval: (u64, u64),
    /// Hits that can be paged through (equal to `cnt` unless `approx`).
    pub total: u64,
    /// Each returned document's hit number in index order (shard, then position).
    pub idxs: Vec<u64>,
    pub docs: Vec<CnfDoc>,
}

/// Which hits a page shows: `limit` from `offset`, in index order or in a random order fixed by
/// `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
    pub seed: Option<u64>,
    /// Tokens shown around each hit.
    pub max_disp_len: u64,
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

impl Index {
    /// The hits of a CNF query per shard (window starts, or one pointer per document), with
    /// the count and whether it is estimated.
    pub fn find_cnf(&self, cnf: &[Vec<Vec<u32>>], opts: CnfOptions) -> Result<CnfResult> {
        self.find_cnf_until(cnf, opts, Deadline::NONE)
    }

    /// [`Index::find_cnf`], stopped with [`AnygramError::Cancelled`] past `deadline`.
    pub fn find_cnf_until(
        &self,
        cnf: &[Vec<Vec<u32>>],
        opts: CnfOptions,
        deadline: Deadline,
    ) -> Result<CnfResult> {
        check(cnf, &opts)?;
        for t in cnf.iter().flatten() {
            self.check_ids(t)?;
        }
        // Round 1: every term's range in every shard.
        let queries: Vec<Vec<u32>> = cnf.iter().flatten().cloned().collect();
        let flat = self.run_all(
            &ShardRequest::FindMany { queries },
            deadline,
            ShardResponse::into_segments,
        )?;
        let per_shard: Vec<Vec<Vec<Segment>>> = flat
            .into_iter()
            .map(|segs| {
                let mut it = segs.into_iter();
                cnf.iter()
                    .map(|c| it.by_ref().take(c.len()).collect())
                    .collect()
            })
            .collect();
        let totals: Vec<u64> = (0..cnf.len())
            .map(|c| {
                per_shard
                    .iter()
                    .flat_map(|s| &s[c])
                    .map(Segment::count)
                    .sum()
            })
            .collect();
        if totals.contains(&0) {
            return Ok(merge_cnf(
                self.shards().iter().map(|_| ShardCnf::default()),
                None,
            ));
        }
        // The sampling decision, once over the whole index.
        let order = clause_order(&totals);
        let anchor_count = totals[order[0]];
        let sampling = (!opts.exact && anchor_count > opts.max_clause_freq).then(|| CnfSampling {
            units: match opts.scope {
                CnfScope::Window => anchor_count,
                CnfScope::Document => self.num_docs(),
            },
            rate: opts.max_clause_freq as f64 / anchor_count as f64,
            bound: match opts.scope {
                CnfScope::Window => anchor_count,
                CnfScope::Document => anchor_count.min(self.num_docs()),
            },
        });
        let keep = sampling.map(|s| KeepRule::for_rate(opts.seed, s.rate));
        // Round 2: each shard's hits.
        let reqs = per_shard
            .into_iter()
            .zip(self.shards())
            .map(|(segs, info)| {
                Some(ShardRequest::Cnf(ShardCnfRequest {
                    clauses: cnf.to_vec(),
                    segs,
                    order: order.clone(),
                    keep,
                    stream_base: info.stream_base,
                    doc_base: info.doc_base,
                    max_diff_tokens: opts.max_diff_tokens,
                    scope: opts.scope,
                    locate: opts.locate,
                }))
            })
            .collect();
        let parts = self.run_each(reqs, deadline, ShardResponse::into_cnf)?;
        Ok(merge_cnf(
            parts.into_iter().map(Option::unwrap_or_default),
            sampling,
        ))
    }

    /// The count of a CNF query, whether it is estimated, and its 95% interval. One clause in
    /// window scope is the sum of its terms' counts: exact, with no sampling and no pointer
    /// read.
    pub fn count_cnf(&self, cnf: &[Vec<Vec<u32>>], opts: CnfOptions) -> Result<CnfResult> {
        self.count_cnf_until(cnf, opts, Deadline::NONE)
    }

    /// [`Index::count_cnf`], stopped with [`AnygramError::Cancelled`] past `deadline`.
    pub fn count_cnf_until(
        &self,
        cnf: &[Vec<Vec<u32>>],
        opts: CnfOptions,
        deadline: Deadline,
    ) -> Result<CnfResult> {
        check(cnf, &opts)?;
        if cnf.len() == 1 && opts.scope == CnfScope::Window {
            let mut n = 0;
            for term in &cnf[0] {
                n += self.count(term)?;
            }
            return Ok(CnfResult {
                cnt: n,
                approx: false,
                cnt_interval: (n, n),
                ptrs_by_shard: Vec::new(),
            });
        }
        let mut r = self.find_cnf_until(cnf, opts, deadline)?;
        r.ptrs_by_shard = Vec::new();
        Ok(r)
    }

    /// One page of the hits of a CNF query as document windows of up to `max_disp_len`
    /// tokens around each hit, with every clause match in the window.
    pub fn search_docs_cnf(
        &self,
        cnf: &[Vec<Vec<u32>>],
        opts: CnfOptions,
        page: Page,
    ) -> Result<CnfDocsResult> {
        self.search_docs_cnf_until(cnf, opts, page, Deadline::NONE)
    }

    /// [`Index::search_docs_cnf`], stopped with [`AnygramError::Cancelled`] past `deadline`.
    pub fn search_docs_cnf_until(
        &self,
        cnf: &[Vec<Vec<u32>>],
        opts: CnfOptions,
        page: Page,
        deadline: Deadline,
    ) -> Result<CnfDocsResult> {
        let found = self.find_cnf_until(cnf, opts, deadline)?;
        let total: u64 = found.ptrs_by_shard.iter().map(|p| p.len() as u64).sum();
        let idxs = select_hits(total, page.offset, page.limit, page.seed);
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
                let doc = self.get_doc_by_ptr(s, ptr, page.max_disp_len)?;
                let from = doc.doc_start_ptr + doc.disp_offset;
                let req = ShardRequest::Spans {
                    from,
                    to: from + doc.disp_len,
                    clauses: cnf.to_vec(),
                };
                let spans = self.run_one(s, &req, deadline, ShardResponse::into_spans)?;
                Ok(CnfDoc { doc, spans })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CnfDocsResult {
            cnt: found.cnt,
            approx: found.approx,
            cnt_interval: found.cnt_interval,
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
    fn keep_rule_keeps_about_its_rate() {
        for rate in [0.0, 0.01, 0.3, 1.0] {
            let k = KeepRule::for_rate(5, rate);
            let kept = (0..100_000u64).filter(|&p| k.keeps(0, p)).count() as f64;
            assert!(
                (kept / 100_000.0 - rate).abs() < 0.01,
                "rate {rate}: {kept}"
            );
        }
    }

    #[test]
    fn order_is_stable() {
        assert_eq!(clause_order(&[5, 2, 5, 2]), vec![1, 3, 0, 2]);
    }
}
