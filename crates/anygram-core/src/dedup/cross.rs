//! Windows of one shard that occur in another index's shard: matching statistics through the
//! [`ShardIndex`] seam, so any index kind (and any shard of the corpus or of an evaluation set)
//! can be asked.
//!
//! For each end `e` of a document, [`MatchState`] keeps the longest suffix of `doc[..e]` that
//! occurs in the other shard (one `extend` per token, a short back-off search when it fails:
//! `n` extensions and at most `2n` searches per document). The window `doc[e - k..e]` occurs
//! there exactly when that suffix is at least `k` long. The walk restarts at every document, so
//! no match runs through a document end.

use super::marks::Marks;
use crate::lm::MatchState;
use crate::shard_index::ShardIndex;

/// Marks `base + e - k` for every end `e` of `doc` (the stream's tokens from `base`) whose
/// `k`-token window occurs in `other`.
pub fn mark_occurring<S: ShardIndex>(
    other: &S,
    doc: &[S::Tok],
    base: u64,
    k: usize,
    marks: &Marks,
) {
    if doc.len() < k || k == 0 {
        return;
    }
    let mut state = MatchState::start(other);
    for e in 1..=doc.len() {
        state = state.push(other, &doc[..e]);
        if state.len >= k {
            marks.set(base + (e - k) as u64);
        }
    }
}
