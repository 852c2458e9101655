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

#[cfg(test)]
mod tests {
    use super::*;

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
