//! Which shards a compaction merges: size tiers, as log-structured stores keep them.
//!
//! Adds make small shards at the end of the index; querying costs a search per shard, so their
//! number must stay bounded. A compaction merges neighbouring shards (so document numbers stay
//! in order), always the pair with the fewest tokens together, until the target count is
//! reached or no pair fits the memory budget: small recent shards merge first, into ever
//! larger ones, and a big old shard is rewritten only when the count cannot be met otherwise.

use std::ops::Range;

use crate::format::Manifest;

/// Stream length of a shard (tokens, one separator per document and the closing one).
fn stream(num_tokens: u64, num_docs: u64) -> u64 {
    num_tokens + num_docs + 1
}

/// The tier of a shard of `tokens` tokens in an index whose largest shard holds `largest`:
/// 0 for shards at least a quarter of the largest, 1 for a sixteenth, and so on.
pub fn tier(tokens: u64, largest: u64) -> u32 {
    let mut t = 0;
    let mut size = tokens.max(1);
    while size.saturating_mul(4) <= largest {
        size = size.saturating_mul(4);
        t += 1;
    }
    t
}

/// Runs of neighbouring shards to merge, covering every shard in order (a run of one is left
/// as it is). `max_shards`: the target count (default: as few as shards of at most
/// `max_stream` stream tokens allow).
pub fn merge_plan(m: &Manifest, max_shards: Option<usize>, max_stream: u64) -> Vec<Range<usize>> {
    let lens: Vec<u64> = m
        .shards
        .iter()
        .map(|s| stream(s.num_tokens, s.num_docs))
        .collect();
    let total: u64 = lens.iter().sum();
    let target = max_shards
        .unwrap_or_else(|| total.div_ceil(max_stream.max(1)) as usize)
        .max(1);
    let mut groups: Vec<(Range<usize>, u64)> = lens
        .iter()
        .enumerate()
        .map(|(i, &l)| (i..i + 1, l))
        .collect();
    while groups.len() > target {
        // Two streams joined share one separator.
        let best = (0..groups.len() - 1)
            .map(|j| (j, groups[j].1 + groups[j + 1].1 - 1))
            .filter(|&(_, l)| l <= max_stream)
            .min_by_key(|&(_, l)| l);
        let Some((j, l)) = best else { break };
        let (right, _) = groups.remove(j + 1);
        groups[j].0.end = right.end;
        groups[j].1 = l;
    }
    groups.into_iter().map(|(r, _)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ShardManifest;

    fn manifest(tokens: &[u64]) -> Manifest {
        let shards = tokens
            .iter()
            .enumerate()
            .map(|(i, &t)| ShardManifest {
                dir: format!("s{i}"),
                num_tokens: t,
                num_docs: 1,
                sa_bits: 8,
                prefix_len: 2,
                files: Default::default(),
                doc_base: None,
            })
            .collect();
        serde_json::from_value::<Manifest>(serde_json::json!({
            "format": "anygram-index", "format_version": 1, "created_by": "t",
            "token_width": "u8", "vocab_size": 255, "tokenizer": null,
            "num_tokens": tokens.iter().sum::<u64>(), "num_docs": tokens.len(), "shards": []
        }))
        .map(|mut m| {
            m.shards = shards;
            m
        })
        .unwrap()
    }

    #[test]
    fn small_neighbours_merge_first_and_the_budget_holds() {
        let m = manifest(&[1000, 10, 10, 10, 10]);
        // stream lengths 1002, 12, 12, 12, 12
        assert_eq!(merge_plan(&m, Some(2), 10_000), vec![0..1, 1..5]);
        assert_eq!(merge_plan(&m, Some(1), 10_000), vec![0..5]);
        // The big shard cannot take more: stop at what fits.
        assert_eq!(merge_plan(&m, Some(1), 1010), vec![0..1, 1..5]);
        // Default target: as few as the budget allows.
        assert_eq!(merge_plan(&m, None, 2000), vec![0..5]);
        assert_eq!(tier(1000, 1000), 0);
        assert_eq!(tier(10, 1000), 3);
    }
}
