//! Sampling from the ∞-gram model, one token per step, in the engine.
//!
//! Each shard keeps the [`MatchState`] of the text so far (the longest suffix it holds and that
//! suffix's range), as `score` does: appending the sampled token is one extension, and a fresh
//! search only when it fails, instead of a back-off search of the whole context per step. A step
//! is two rounds: the next-token counts of the shards holding the index's longest suffix
//! (merged as `infgram_ntd`), then every shard's state advanced by the sampled token.
//!
//! [`Sampler`] is the one sampler of the package: the ∞-gram path here and the neural-mixture
//! path in Python (`anygram.lm`) both draw with it, so the tie rule (most frequent first, ties
//! to the smallest id) and the random stream exist once.

use serde::{Deserialize, Serialize};

use crate::cnf::SplitMix;
use crate::deadline::Deadline;
use crate::error::{AnygramError, Result};
use crate::index::Index;
use crate::lm::{prompt_count, MatchState};
use crate::merge::merge_ntd;
use crate::request::{ShardRequest, ShardResponse};

/// Draws a token from weights (counts or probabilities), seeded.
#[derive(Debug, Clone)]
pub struct Sampler {
    rng: SplitMix,
}

impl Sampler {
    pub fn new(seed: u64) -> Sampler {
        Sampler {
            rng: SplitMix::new(seed),
        }
    }

    /// A uniform draw in `[0, 1)` (53 random bits).
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One of `items` (id, weight): the ones with positive weight, most weight first (ties to
    /// the smaller id), cut to the first `top_k`, each weight raised to `1 / temperature`;
    /// `temperature == 0` takes the first. `None` when no weight is positive.
    pub fn sample(
        &mut self,
        items: &[(u32, f64)],
        temperature: f64,
        top_k: Option<usize>,
    ) -> Result<Option<u32>> {
        if !(temperature >= 0.0 && temperature.is_finite()) {
            return Err(AnygramError::InvalidArgument(format!(
                "temperature must be finite and >= 0, not {temperature}"
            )));
        }
        let mut ranked: Vec<(u32, f64)> = items
            .iter()
            .copied()
            .filter(|&(_, w)| w > 0.0 && w.is_finite())
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if let Some(k) = top_k {
            ranked.truncate(k.max(1));
        }
        let Some(&(first, top)) = ranked.first() else {
            return Ok(None);
        };
        if temperature == 0.0 {
            return Ok(Some(first));
        }
        let (top_ln, inv_t) = (top.ln(), 1.0 / temperature);
        let weights: Vec<f64> = ranked
            .iter()
            .map(|&(_, w)| ((w.ln() - top_ln) * inv_t).exp())
            .collect();
        let x = self.unit() * weights.iter().sum::<f64>();
        let mut acc = 0.0;
        for (&(id, _), w) in ranked.iter().zip(&weights) {
            acc += w;
            if x < acc {
                return Ok(Some(id));
            }
        }
        Ok(ranked.last().map(|&(id, _)| id))
    }
}

/// Options of [`Index::generate`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    pub temperature: f64,
    pub top_k: Option<usize>,
    pub seed: u64,
    /// Document ends are drawn as this id; drawing it stops generation.
    pub eos: u32,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stop {
    /// A document end (the eos id) was drawn, or nothing can follow.
    Eos,
    /// `max_new_tokens` were generated.
    Length,
    /// The deadline passed between tokens.
    Deadline,
}

/// The answer to `generate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    pub token_ids: Vec<u32>,
    /// The ∞-gram suffix length behind each new token.
    pub suffix_len: Vec<usize>,
    pub stop: Stop,
}

impl Index {
    /// Samples a continuation of `prompt` from the ∞-gram model: each token from the exact
    /// `infgram_ntd` of everything so far, counts raised to `1 / temperature`, cut to `top_k`.
    /// Stops at `max_new_tokens`, at a drawn eos, or (between tokens) at `deadline`.
    pub fn generate(
        &self,
        prompt: &[u32],
        opts: GenerateOptions,
        deadline: Deadline,
    ) -> Result<Generated> {
        self.check_ids(prompt)?;
        let mut text: Vec<u32> = prompt.to_vec();
        let mut out = Generated {
            token_ids: Vec::new(),
            suffix_len: Vec::new(),
            stop: Stop::Length,
        };
        let mut states: Vec<MatchState> = match self.run_all(
            &ShardRequest::Match { ids: text.clone() },
            deadline,
            ShardResponse::into_state,
        ) {
            Err(AnygramError::Cancelled(_)) => {
                out.stop = Stop::Deadline;
                return Ok(out);
            }
            other => other?,
        };
        match self.generate_steps(&mut states, &mut text, opts, deadline, &mut out) {
            // Out of time inside a step: what was generated so far stands.
            Err(AnygramError::Cancelled(_)) => out.stop = Stop::Deadline,
            other => other?,
        }
        Ok(out)
    }

    fn generate_steps(
        &self,
        states: &mut Vec<MatchState>,
        text: &mut Vec<u32>,
        opts: GenerateOptions,
        deadline: Deadline,
        out: &mut Generated,
    ) -> Result<()> {
        let mut sampler = Sampler::new(opts.seed);
        for _ in 0..opts.max_new_tokens {
            if deadline.check().is_err() {
                out.stop = Stop::Deadline;
                break;
            }
            // The index's longest suffix, counted in the shards that hold it.
            let m = states.iter().map(|s| s.len).max().unwrap_or(0);
            let reqs = states
                .iter()
                .zip(self.shard_docs())
                .map(|(st, d)| {
                    (st.len == m && prompt_count(st.seg, m, d) > 0).then_some(
                        ShardRequest::NextCounts {
                            seg: st.seg,
                            m,
                            unit: 1,
                        },
                    )
                })
                .collect();
            let parts = self.run_each(reqs, deadline, ShardResponse::into_next_counts)?;
            let ntd = merge_ntd(parts.into_iter().flatten(), opts.eos);
            let items: Vec<(u32, f64)> = ntd.counts.iter().map(|&(id, c)| (id, c as f64)).collect();
            let tok = match sampler.sample(&items, opts.temperature, opts.top_k)? {
                Some(t) if t != opts.eos => t,
                _ => {
                    out.stop = Stop::Eos;
                    break;
                }
            };
            out.token_ids.push(tok);
            out.suffix_len.push(m);
            text.push(tok);
            if out.token_ids.len() == opts.max_new_tokens {
                break;
            }
            // Every shard's state advanced by the token (each needs its last len + 1 tokens).
            let reqs = states
                .iter()
                .map(|st| {
                    Some(ShardRequest::Advance {
                        state: *st,
                        text: text[text.len() - (st.len + 1)..].to_vec(),
                    })
                })
                .collect();
            *states = self
                .run_each(reqs, deadline, ShardResponse::into_state)?
                .into_iter()
                .map(|s| s.ok_or_else(|| AnygramError::Internal("a shard lost its state".into())))
                .collect::<Result<_>>()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn greedy_takes_the_most_frequent_then_the_smallest_id() {
        let mut s = Sampler::new(1);
        let items = [(5, 2.0), (3, 2.0), (9, 1.0)];
        assert_eq!(s.sample(&items, 0.0, None).unwrap(), Some(3));
        assert_eq!(s.sample(&[(1, 0.0)], 1.0, None).unwrap(), None);
        assert!(s.sample(&items, f64::NAN, None).is_err());
        assert!(s.sample(&items, -1.0, None).is_err());
    }

    #[test]
    fn draws_follow_the_weights() {
        let mut s = Sampler::new(7);
        let items = [(0, 3.0), (1, 1.0)];
        let n = 20_000;
        let zeros = (0..n)
            .filter(|_| s.sample(&items, 1.0, None).unwrap() == Some(0))
            .count();
        assert!((zeros as f64 / n as f64 - 0.75).abs() < 0.02);
        // top_k = 1 is greedy; a low temperature sharpens.
        assert!((0..100).all(|_| s.sample(&items, 1.0, Some(1)).unwrap() == Some(0)));
        let sharp = (0..n)
            .filter(|_| s.sample(&items, 0.25, None).unwrap() == Some(0))
            .count();
        assert!(sharp as f64 / n as f64 > 0.97);
    }

    #[test]
    fn same_seed_same_draws() {
        let items = [(0, 1.0), (1, 1.0), (2, 1.0)];
        let draw = |seed| {
            let mut s = Sampler::new(seed);
            (0..50)
                .map(|_| s.sample(&items, 1.0, None).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }
}
