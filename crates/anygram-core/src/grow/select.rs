//! Choosing documents to take down: by metadata field, or by an n-gram they contain. Each
//! shard answers with its local document numbers (requests, so any executor serves them); the
//! index turns them into global numbers.

use crate::deadline::Deadline;
use crate::error::Result;
use crate::index::Index;
use crate::query::Segment;
use crate::request::{ShardRequest, ShardResponse};
use crate::shard_index::ShardIndex;

/// The value at `path` (object keys) of a document's metadata line, as text: a JSON string as
/// itself, anything else as its JSON.
fn field<'a>(meta: &'a serde_json::Value, path: &[String]) -> Option<&'a serde_json::Value> {
    path.iter().try_fold(meta, |v, k| v.get(k))
}

fn matches(v: &serde_json::Value, value: &str) -> bool {
    match v {
        serde_json::Value::String(s) => s == value,
        other => serde_json::to_string(other).is_ok_and(|t| t == value),
    }
}

/// Shard-local numbers of the documents whose metadata has `value` at `path`.
pub fn docs_where<S: ShardIndex>(s: &S, path: &[String], value: &str) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for d in 0..s.num_docs() {
        let meta: serde_json::Value = serde_json::from_str(&s.metadata(d)?).unwrap_or_default();
        if field(&meta, path).is_some_and(|v| matches(v, value)) {
            out.push(d);
        }
    }
    Ok(out)
}

/// Shard-local numbers of the documents containing the n-gram `q` (not empty), ascending.
pub fn docs_containing<S: ShardIndex>(s: &S, q: &[S::Tok]) -> Vec<u64> {
    let seg: Segment = s.find(q);
    let mut ptrs = Vec::with_capacity(seg.count() as usize);
    s.locate_range(seg, q.len(), &mut ptrs);
    let starts = s.doc_starts();
    let mut docs: Vec<u64> = ptrs
        .into_iter()
        .map(|p| starts.partition_point(|&b| b < p) as u64 - 1)
        .collect();
    docs.sort_unstable();
    docs.dedup();
    docs
}

impl Index {
    /// Global numbers of the documents whose metadata line has `value` at the key path
    /// `path` (e.g. `["metadata", "url"]`), ascending.
    pub fn docs_where(&self, path: &[String], value: &str) -> Result<Vec<u64>> {
        let req = ShardRequest::DocsWhere {
            path: path.to_vec(),
            value: value.to_string(),
        };
        self.globalize_docs(self.run_all(&req, Deadline::NONE, ShardResponse::into_docs)?)
    }

    /// Global numbers of the documents containing the n-gram `ids`, ascending.
    pub fn docs_containing(&self, ids: &[u32]) -> Result<Vec<u64>> {
        self.check_ids(ids)?;
        if ids.is_empty() {
            return Err(crate::AnygramError::InvalidQuery(
                "an empty query matches every document".into(),
            ));
        }
        let req = ShardRequest::DocsContaining { ids: ids.to_vec() };
        self.globalize_docs(self.run_all(&req, Deadline::NONE, ShardResponse::into_docs)?)
    }

    fn globalize_docs(&self, per_shard: Vec<Vec<u64>>) -> Result<Vec<u64>> {
        Ok(per_shard
            .into_iter()
            .enumerate()
            .flat_map(|(s, docs)| docs.into_iter().map(move |d| self.global_doc(s, d)))
            .collect())
    }
}
