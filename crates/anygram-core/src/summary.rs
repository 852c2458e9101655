//! The shape of the ∞-gram next-token distribution at every position of a text: how many
//! distinct tokens follow the longest matching suffix of the context, and the most frequent
//! one. Mixing weights use it to tell a peaked ∞-gram estimate from a flat one. Also the
//! estimate of the text's own token from the suffix of half that length: more occurrences, a
//! smoother second ∞-gram component for the mixture.
//!
//! Each position is `infgram_ntd(ids[..i])` computed exactly, with the back-off length taken
//! from [`Index::score`]'s single pass rather than searched again; positions are independent,
//! so they run on the thread pool. Cost per position: `O(distinct · log run)` reads (see
//! `lm.rs`), larger than `score`'s, so it is a separate call.

use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use crate::deadline::Deadline;
use crate::error::Result;
use crate::index::Index;
use crate::lm::NtdOptions;

/// One position's next-token distribution, summarized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextTokenSummary {
    /// Length of the longest suffix of the context that occurs (as in `score`).
    pub suffix_len: usize,
    /// Its occurrences (document ends included), the distribution's total.
    pub prompt_cnt: u64,
    /// Distinct next tokens (document ends count as the eos id).
    pub distinct: u64,
    /// The most frequent next token (ties to the smallest id).
    pub mode: u32,
    /// Its count.
    pub mode_cnt: u64,
    /// `prob(ids[i - suffix_len / 2..i], ids[i])`: occurrences of that shorter suffix and how
    /// often the token follows it (document ends included as for `prob`).
    pub half_prompt_cnt: u64,
    pub half_cont_cnt: u64,
}

impl Index {
    /// [`NextTokenSummary`] of `infgram_ntd(ids[..i])` for every position `i` of `ids`.
    pub fn next_token_summaries(&self, ids: &[u32], eos: u32) -> Result<Vec<NextTokenSummary>> {
        self.next_token_summaries_until(ids, eos, Deadline::NONE)
    }

    /// [`Index::next_token_summaries`], stopped with `Cancelled` past `deadline`.
    pub fn next_token_summaries_until(
        &self,
        ids: &[u32],
        eos: u32,
        deadline: Deadline,
    ) -> Result<Vec<NextTokenSummary>> {
        let scored = self.score_until(ids, eos, deadline)?;
        let exact = NtdOptions::EXACT;
        scored
            .par_iter()
            .enumerate()
            .map(|(i, s)| {
                deadline.check()?;
                let r = self.ntd(&ids[i - s.suffix_len..i], exact, eos)?;
                let half = self.prob(&ids[i - s.suffix_len / 2..i], ids[i], eos)?;
                let (mode, mode_cnt) = r
                    .counts
                    .iter()
                    .copied()
                    .min_by_key(|&(id, c)| (std::cmp::Reverse(c), id))
                    .unwrap_or((eos, 0));
                Ok(NextTokenSummary {
                    suffix_len: s.suffix_len,
                    prompt_cnt: r.prompt_cnt,
                    distinct: r.counts.len() as u64,
                    mode,
                    mode_cnt,
                    half_prompt_cnt: half.prompt_cnt,
                    half_cont_cnt: half.cont_cnt,
                })
            })
            .collect()
    }
}
