//! Pure functions that merge per-shard partial results into one answer. Local fan-out (one
//! process, many shards) and any later distributed fan-out call the same functions, so both give
//! identical answers.

use serde::Serialize;

use crate::query::Segment;

/// The answer to `find`: the total count and each shard's suffix-array range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The answer to `prob`: how often the prompt occurs, how often `cont` follows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProbResult {
    pub prompt_cnt: u64,
    pub cont_cnt: u64,
    pub prob: f64,
}

/// Sums per-shard `(prompt_cnt, cont_cnt)` pairs.
pub fn merge_prob(parts: impl IntoIterator<Item = (u64, u64)>) -> ProbResult {
    let (prompt_cnt, cont_cnt) = parts
        .into_iter()
        .fold((0, 0), |(p, c), (sp, sc)| (p + sp, c + sc));
    ProbResult {
        prompt_cnt,
        cont_cnt,
        prob: ratio(cont_cnt, prompt_cnt),
    }
}

/// The answer to `ntd`: next-token counts sorted by id (document ends already relabelled as the
/// eos id). `prompt_cnt` is their sum, as in infini-gram (with sampling, the weights sum to the
/// prompt's exact count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// Merges per-shard next-token counts into the answer to `ntd`.
pub fn merge_ntd(
    parts: impl IntoIterator<Item = Vec<(u32, u64)>>,
    eos: u32,
    approx: bool,
) -> NtdResult {
    let counts = label_doc_end(merge_next_token_counts(parts), eos);
    NtdResult {
        prompt_cnt: counts.iter().map(|&(_, c)| c).sum(),
        counts,
        approx,
    }
}

/// Merges each shard's longest occurring suffix of a prompt `(length, range)` into the index's:
/// the longest of them, with the range of that suffix in every shard (empty in the shards whose
/// own longest suffix is shorter: the suffix does not occur there).
pub fn merge_longest_suffix(
    parts: impl IntoIterator<Item = (usize, Segment)>,
) -> (usize, Vec<Segment>) {
    let parts: Vec<(usize, Segment)> = parts.into_iter().collect();
    let best = parts.iter().map(|&(len, _)| len).max().unwrap_or(0);
    let segments = parts
        .into_iter()
        .map(|(len, seg)| {
            if len == best {
                seg
            } else {
                Segment {
                    lo: seg.lo,
                    hi: seg.lo,
                }
            }
        })
        .collect();
    (best, segments)
}

/// The answer to `infgram_prob`: `prob` of the longest suffix of the prompt that occurs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct InfgramProbResult {
    pub prompt_cnt: u64,
    pub cont_cnt: u64,
    pub prob: f64,
    pub suffix_len: usize,
}

/// The answer to `infgram_ntd`: `ntd` of the longest suffix of the prompt that occurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InfgramNtdResult {
    pub ntd: NtdResult,
    pub suffix_len: usize,
}

/// One shard's part of a CNF query: its hits (ascending stream positions) and how they scale
/// (the product of its subsampled clauses' `count / kept` ratios; 1 when none was).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardCnf {
    pub ptrs: Vec<u64>,
    pub factor: f64,
    pub sampled: bool,
}

impl Default for ShardCnf {
    fn default() -> Self {
        ShardCnf {
            ptrs: Vec::new(),
            factor: 1.0,
            sampled: false,
        }
    }
}

/// The answer to `find_cnf`: the count (each shard's hits times its factor, truncated, as in
/// infini-gram), whether any shard sampled, and every shard's hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CnfResult {
    pub cnt: u64,
    pub approx: bool,
    pub ptrs_by_shard: Vec<Vec<u64>>,
}

/// Merges per-shard CNF parts (in shard order).
pub fn merge_cnf(parts: impl IntoIterator<Item = ShardCnf>) -> CnfResult {
    let (mut cnt, mut approx, mut ptrs_by_shard) = (0u64, false, Vec::new());
    for p in parts {
        cnt += if p.sampled {
            (p.ptrs.len() as f64 * p.factor) as u64
        } else {
            p.ptrs.len() as u64
        };
        approx |= p.sampled;
        ptrs_by_shard.push(p.ptrs);
    }
    CnfResult {
        cnt,
        approx,
        ptrs_by_shard,
    }
}

/// Merges per-shard `creativity` answers: for each start, the furthest end any shard reaches.
pub fn merge_creativity(parts: impl IntoIterator<Item = Vec<usize>>) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for p in parts {
        if out.is_empty() {
            out = p;
        } else {
            for (o, r) in out.iter_mut().zip(p) {
                *o = (*o).max(r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prob_is_minus_one_without_prompt() {
        assert_eq!(merge_prob([(0, 0), (0, 0)]).prob, -1.0);
        let r = merge_prob([(3, 1), (1, 1)]);
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
        let r = merge_ntd([vec![(2, 1), (DOC_END, 1)], vec![]], 9, false);
        assert_eq!(r.prompt_cnt, 2);
        assert_eq!(r.counts, vec![(2, 1), (9, 1)]);
    }

    #[test]
    fn longest_suffix_keeps_the_longest_shards_ranges() {
        let seg = |lo, hi| Segment { lo, hi };
        let (len, segs) = merge_longest_suffix([(2, seg(4, 6)), (3, seg(1, 2)), (3, seg(7, 9))]);
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
