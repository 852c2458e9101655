//! Pure functions that merge per-shard partial results into one answer, and the partial
//! results themselves: plain data with serde, so the same function merges answers from local
//! threads, from other processes or from remote actors, and every place gives identical answers.

use serde::{Deserialize, Serialize};

use crate::query::Segment;

/// The answer to `find`: the total count and each shard's suffix-array range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindResult {
    pub cnt: u64,
    pub segment_by_shard: Vec<Segment>,
}

/// Concatenates per-shard ranges (in shard order) and sums their counts.
pub fn merge_find(parts: impl IntoIterator<Item = Segment>) -> FindResult {
    let segment_by_shard: Vec<Segment> = parts.into_iter().collect();
    FindResult {
        cnt: segment_by_shard.iter().map(Segment::count).sum(),
        segment_by_shard,
    }
}

/// Sums per-shard counts.
pub fn merge_counts(parts: impl IntoIterator<Item = u64>) -> u64 {
    parts.into_iter().sum()
}

/// Per-shard label of a continuation at a document end (the next stored token is the
/// separator). Never a real id: vocabularies stop below `i32::MAX`. The final answer reports it
/// under the index's eos id ([`label_doc_end`]).
pub const DOC_END: u32 = u32::MAX;

/// `prob = cont_cnt / prompt_cnt`, or -1.0 when the prompt does not occur (infini-gram's value).
pub fn ratio(cont_cnt: u64, prompt_cnt: u64) -> f64 {
    if prompt_cnt == 0 {
        -1.0
    } else {
        cont_cnt as f64 / prompt_cnt as f64
    }
}

/// One shard's part of `prob`: how often the prompt occurs there, how often `cont` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProbPart {
    pub prompt_cnt: u64,
    pub cont_cnt: u64,
}

/// The answer to `prob`: how often the prompt occurs, how often `cont` follows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProbResult {
    pub prompt_cnt: u64,
    pub cont_cnt: u64,
    pub prob: f64,
}

/// Sums per-shard counts.
pub fn merge_prob(parts: impl IntoIterator<Item = ProbPart>) -> ProbResult {
    let (prompt_cnt, cont_cnt) = parts
        .into_iter()
        .fold((0, 0), |(p, c), s| (p + s.prompt_cnt, c + s.cont_cnt));
    ProbResult {
        prompt_cnt,
        cont_cnt,
        prob: ratio(cont_cnt, prompt_cnt),
    }
}

/// The answer to `ntd`: next-token counts sorted by id (document ends already relabelled as the
/// eos id). `prompt_cnt` is their sum, as in infini-gram (with sampling, the weights sum to the
/// prompt's exact count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NtdResult {
    pub prompt_cnt: u64,
    pub counts: Vec<(u32, u64)>,
    pub approx: bool,
}

impl NtdResult {
    /// Probability of a continuation counted `cont_cnt` times.
    pub fn prob(&self, cont_cnt: u64) -> f64 {
        ratio(cont_cnt, self.prompt_cnt)
    }
}

/// Sums per-shard next-token counts (each sorted by id) into one list sorted by id.
pub fn merge_next_token_counts(
    parts: impl IntoIterator<Item = Vec<(u32, u64)>>,
) -> Vec<(u32, u64)> {
    let mut all: Vec<(u32, u64)> = parts.into_iter().flatten().collect();
    all.sort_unstable_by_key(|&(id, _)| id);
    let mut out: Vec<(u32, u64)> = Vec::with_capacity(all.len());
    for (id, c) in all {
        match out.last_mut() {
            Some((last, n)) if *last == id => *n += c,
            _ => out.push((id, c)),
        }
    }
    out
}

/// Reports document ends ([`DOC_END`]) under `eos`, adding them to a real token of that id if
/// the corpus has one. Input and output are sorted by id.
pub fn label_doc_end(mut counts: Vec<(u32, u64)>, eos: u32) -> Vec<(u32, u64)> {
    if eos == DOC_END {
        return counts;
    }
    let ends = match counts.last() {
        Some(&(DOC_END, n)) => {
            counts.pop();
            n
        }
        _ => return counts,
    };
    match counts.binary_search_by_key(&eos, |&(id, _)| id) {
        Ok(i) => counts[i].1 += ends,
        Err(i) => counts.insert(i, (eos, ends)),
    }
    counts
}

/// One shard's next-token counts (sorted by id, document ends as [`DOC_END`]) and whether they
/// were sampled.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NextCountsPart {
    pub counts: Vec<(u32, u64)>,
    pub sampled: bool,
}

/// Merges per-shard next-token counts into the answer to `ntd`.
pub fn merge_ntd(parts: impl IntoIterator<Item = NextCountsPart>, eos: u32) -> NtdResult {
    let mut approx = false;
    let counts = merge_next_token_counts(parts.into_iter().map(|p| {
        approx |= p.sampled;
        p.counts
    }));
    let counts = label_doc_end(counts, eos);
    NtdResult {
        prompt_cnt: counts.iter().map(|&(_, c)| c).sum(),
        counts,
        approx,
    }
}

/// One shard's longest occurring suffix of a prompt: its length, range and occurrences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SuffixPart {
    pub len: usize,
    pub seg: Segment,
    pub prompt_cnt: u64,
}

/// Merges each shard's longest occurring suffix of a prompt into the index's: the longest of
/// them, with the range of that suffix in every shard (empty in the shards whose own longest
/// suffix is shorter: the suffix does not occur there).
pub fn merge_longest_suffix(parts: impl IntoIterator<Item = SuffixPart>) -> (usize, Vec<Segment>) {
    let parts: Vec<SuffixPart> = parts.into_iter().collect();
    let best = parts.iter().map(|p| p.len).max().unwrap_or(0);
    let segments = parts
        .into_iter()
        .map(|p| {
            if p.len == best {
                p.seg
            } else {
                Segment::empty_at(p.seg.lo)
            }
        })
        .collect();
    (best, segments)
}

/// The answer to `infgram_prob`: `prob` of the longest suffix of the prompt that occurs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InfgramProbResult {
    pub prompt_cnt: u64,
    pub cont_cnt: u64,
    pub prob: f64,
    pub suffix_len: usize,
}

/// The answer to `infgram_ntd`: `ntd` of the longest suffix of the prompt that occurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfgramNtdResult {
    pub ntd: NtdResult,
    pub suffix_len: usize,
}

/// One shard's facts for one position of a scored text: the length of the longest suffix of
/// the preceding tokens held by the shard, that suffix's count and how often the token follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardScore {
    pub suffix_len: usize,
    pub prompt_cnt: u64,
    pub cont_cnt: u64,
    /// The one token that follows every occurrence of the suffix here (document ends as
    /// [`DOC_END`]), if there is only one: the infini-gram paper's "sparse" estimate.
    pub sole_next: Option<u32>,
}

/// `infgram_prob` of one position of a scored text, plus whether the estimate is sparse.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoredToken {
    pub prob: f64,
    pub prompt_cnt: u64,
    pub cont_cnt: u64,
    pub suffix_len: usize,
    /// `Some(id)` when every occurrence of the suffix continues with the same token `id`
    /// (document ends reported as the eos id): the estimate is sparse, `infgram_ntd` has one
    /// entry.
    pub sole_next: Option<u32>,
}

/// Merges the shards' per-position facts into `infgram_prob` answers: per position the
/// longest suffix of any shard, counted in the shards holding it (the others' own longest is
/// shorter, so that suffix does not occur there), as [`merge_longest_suffix`] does.
/// The estimate is sparse when every shard holding the suffix has the same sole next token
/// (document ends labelled [`DOC_END`] there, reported as `eos`).
pub fn merge_score(parts: &[Vec<ShardScore>], eos: u32) -> Vec<ScoredToken> {
    let n = parts.iter().map(Vec::len).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            let at = || parts.iter().filter_map(move |p| p.get(i));
            let m = at().map(|s| s.suffix_len).max().unwrap_or(0);
            let holding = || at().filter(move |s| s.suffix_len == m && s.prompt_cnt > 0);
            let r = merge_prob(holding().map(|s| ProbPart {
                prompt_cnt: s.prompt_cnt,
                cont_cnt: s.cont_cnt,
            }));
            let mut soles = holding().map(|s| s.sole_next);
            let first = soles.next().flatten();
            let sole_next = first.filter(|&t| soles.all(|s| s == Some(t))).map(|t| {
                if t == DOC_END {
                    eos
                } else {
                    t
                }
            });
            ScoredToken {
                prob: r.prob,
                prompt_cnt: r.prompt_cnt,
                cont_cnt: r.cont_cnt,
                suffix_len: m,
                sole_next,
            }
        })
        .collect()
}

/// One shard's creativity walk: for each start `l`, `rs[l] = l +` the longest prefix of
/// `input[l..]` occurring in the shard, and that prefix's range there.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreativityPart {
    pub rs: Vec<usize>,
    pub segs: Vec<Segment>,
}

/// Merges per-shard creativity walks: for each start, the furthest end any shard reaches.
pub fn merge_creativity<'a>(parts: impl IntoIterator<Item = &'a CreativityPart>) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for p in parts {
        if out.is_empty() {
            out.clone_from(&p.rs);
        } else {
            for (o, &r) in out.iter_mut().zip(&p.rs) {
                *o = (*o).max(r);
            }
        }
    }
    out
}

/// One shard's part of a CNF query: its hits (ascending stream positions) and, when the
/// anchor clause was sampled, how many of its sampling units (anchor occurrences, or
/// documents holding one) the shard kept.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ShardCnf {
    pub ptrs: Vec<u64>,
    pub kept_units: u64,
}

/// How a CNF query's anchor clause was sampled, decided once over the whole index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CnfSampling {
    /// The sampling units in the whole index, each yielding at most one hit: the anchor's
    /// occurrences (each term's, counted apart), or in document scope the documents.
    pub units: u64,
    /// Each unit is kept with this probability (seeded hash of its layout-free identity).
    pub rate: f64,
    /// Hard upper bound of the count (the anchor's occurrences, or documents holding it).
    pub bound: u64,
}

/// The answer to `find_cnf`: the count (exact, or estimated from the sampled hits), whether it
/// is estimated with its 95% interval, and every shard's hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CnfResult {
    pub cnt: u64,
    pub approx: bool,
    /// `(low, high)`, a 95% confidence interval of the exact count when `approx`, clamped to
    /// what is provably possible (at least the hits found, at most the anchor's occurrences);
    /// `(cnt, cnt)` when exact.
    pub cnt_interval: (u64, u64),
    pub ptrs_by_shard: Vec<Vec<u64>>,
}

/// z of a two-sided 95% normal interval.
const Z95: f64 = 1.959_964;

/// Merges per-shard CNF parts (in shard order). Without sampling the count is the number of
/// hits. With it, every unit (anchor occurrence, or document) yields at most one hit and the kept
/// units are a uniform random subset of known size `K` of all `C`, so `hits · C / K` is
/// unbiased (given `K`, the ratio estimator of simple random sampling) and never above `C`. It
/// is clamped to `[hits, bound]`, and so is its 95% interval (Wilson's, on the hit rate of the
/// sample with the finite-population correction).
pub fn merge_cnf(
    parts: impl IntoIterator<Item = ShardCnf>,
    sampling: Option<CnfSampling>,
) -> CnfResult {
    let (mut hits, mut kept) = (0u64, 0u64);
    let mut ptrs_by_shard = Vec::new();
    for p in parts {
        hits += p.ptrs.len() as u64;
        kept += p.kept_units;
        ptrs_by_shard.push(p.ptrs);
    }
    let Some(s) = sampling else {
        return CnfResult {
            cnt: hits,
            approx: false,
            cnt_interval: (hits, hits),
            ptrs_by_shard,
        };
    };
    let h = hits as f64;
    let c = s.units as f64;
    let (est, low, high) = if kept == 0 {
        (0.0, 0.0, c)
    } else {
        // Wilson's interval for the hit rate (sound near 0 and 1, where hits are all or none
        // of the sample), on the effective sample size of sampling without replacement.
        let k = kept as f64;
        let p = (h / k).min(1.0);
        let fpc = (1.0 - k / c).max(0.0);
        let n = if fpc > 0.0 { k / fpc } else { f64::INFINITY };
        let z2 = Z95 * Z95;
        let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
        let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
        (c * p, c * (centre - half), c * (centre + half))
    };
    let clamp = |x: f64| (x.round().max(h) as u64).clamp(hits, s.bound.max(hits));
    CnfResult {
        cnt: clamp(est),
        approx: true,
        cnt_interval: (clamp(low.min(est)), clamp(high.max(est))),
        ptrs_by_shard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prob_is_minus_one_without_prompt() {
        let part = |prompt_cnt, cont_cnt| ProbPart {
            prompt_cnt,
            cont_cnt,
        };
        assert_eq!(merge_prob([part(0, 0), part(0, 0)]).prob, -1.0);
        let r = merge_prob([part(3, 1), part(1, 1)]);
        assert_eq!((r.prompt_cnt, r.cont_cnt, r.prob), (4, 2, 0.5));
    }

    #[test]
    fn next_token_counts_sum_by_id_and_relabel_document_ends() {
        let merged =
            merge_next_token_counts([vec![(1, 2), (5, 1), (DOC_END, 3)], vec![(0, 1), (5, 4)]]);
        assert_eq!(merged, vec![(0, 1), (1, 2), (5, 5), (DOC_END, 3)]);
        assert_eq!(
            label_doc_end(merged.clone(), 3),
            vec![(0, 1), (1, 2), (3, 3), (5, 5)]
        );
        // eos equal to a real token id: the counts add up.
        assert_eq!(
            label_doc_end(merged.clone(), 1),
            vec![(0, 1), (1, 5), (5, 5)]
        );
        assert_eq!(label_doc_end(merged.clone(), DOC_END), merged);
        let part = |counts| NextCountsPart {
            counts,
            sampled: false,
        };
        let r = merge_ntd([part(vec![(2, 1), (DOC_END, 1)]), part(vec![])], 9);
        assert!(!r.approx);
        assert_eq!(r.prompt_cnt, 2);
        assert_eq!(r.counts, vec![(2, 1), (9, 1)]);
    }

    #[test]
    fn longest_suffix_keeps_the_longest_shards_ranges() {
        let seg = |lo, hi| Segment { lo, hi };
        let part = |len, seg: Segment| SuffixPart {
            len,
            seg,
            prompt_cnt: seg.count(),
        };
        let (len, segs) =
            merge_longest_suffix([part(2, seg(4, 6)), part(3, seg(1, 2)), part(3, seg(7, 9))]);
        assert_eq!(len, 3);
        assert_eq!(segs, vec![seg(4, 4), seg(1, 2), seg(7, 9)]);
    }

    #[test]
    fn find_results_sum_their_segments() {
        let r = merge_find([
            Segment { lo: 3, hi: 5 },
            Segment { lo: 0, hi: 0 },
            Segment { lo: 7, hi: 10 },
        ]);
        assert_eq!(r.cnt, 5);
        assert_eq!(r.segment_by_shard.len(), 3);
    }
}
