//! `creativity`: for every start `l` of an input, `rs[l] = l +` the length of the longest
//! prefix of `input[l..]` that occurs in the index (infini-gram's definition).
//!
//! **Cost.** The ends are monotone: if `input[l..r]` occurs, so does `input[l+1..r]`, so
//! `rs[l+1] >= rs[l]`. Each shard walks `l` forwards keeping `r` and the range of
//! `input[l..r]`; extending by one token is one [`ShardIndex::extend`], moving to `l + 1` one
//! fresh search for `input[l+1..r]`. In all, `n` searches plus at most `2n` one-token
//! extensions, where infini-gram runs a full search of the whole remaining input per position
//! (one thread each). Shards are merged by [`merge_creativity`] (per start, the furthest end).

use crate::deadline::{Deadline, Ticker};
use crate::error::Result;
use crate::index::Index;
use crate::merge::{merge_creativity, CreativityPart};
use crate::request::{ShardRequest, ShardResponse};
use crate::shard_index::ShardIndex;

/// `rs[l]` for one shard, with the range of `q[l..rs[l]]` there.
pub fn creativity_part<S: ShardIndex>(
    s: &S,
    q: &[S::Tok],
    ticker: &mut Ticker,
) -> Result<CreativityPart> {
    let n = q.len();
    let mut rs = Vec::with_capacity(n);
    let mut segs = Vec::with_capacity(n);
    let mut r = 0usize;
    for l in 0..n {
        ticker.tick()?;
        let mut seg = if r <= l {
            r = l;
            s.find(&[])
        } else {
            s.find(&q[l..r])
        };
        while r < n {
            let next = if r == l {
                s.find(&q[l..=l])
            } else {
                s.extend(seg, r - l, q[r])
            };
            if next.is_empty() {
                break;
            }
            seg = next;
            r += 1;
        }
        rs.push(r);
        segs.push(seg);
    }
    Ok(CreativityPart { rs, segs })
}

impl Index {
    /// Every shard's creativity walk of `ids`.
    pub(crate) fn creativity_parts(
        &self,
        ids: &[u32],
        deadline: Deadline,
    ) -> Result<Vec<CreativityPart>> {
        self.check_ids(ids)?;
        let req = ShardRequest::Creativity { ids: ids.to_vec() };
        self.run_all(&req, deadline, ShardResponse::into_creativity)
    }

    /// For each start `l`, `l +` the length of the longest prefix of `ids[l..]` occurring in
    /// the index.
    pub fn creativity(&self, ids: &[u32]) -> Result<Vec<usize>> {
        self.creativity_until(ids, Deadline::NONE)
    }

    /// [`Index::creativity`], stopped with `Cancelled` past `deadline`.
    pub fn creativity_until(&self, ids: &[u32], deadline: Deadline) -> Result<Vec<usize>> {
        Ok(merge_creativity(&self.creativity_parts(ids, deadline)?))
    }
}
