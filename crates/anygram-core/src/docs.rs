//! Documents: from a pointer (token position) or a document number to the document's tokens,
//! metadata and the window shown around a match. Written once over [`ShardIndex`]: the
//! document offsets and metadata are the same files for every kind, the tokens come from the
//! kind's `extract`.

use serde::{Deserialize, Serialize};

use crate::error::{AnygramError, Result};
use crate::shard_index::ShardIndex;
use crate::token::Token;

/// A document, or a window of it, as returned to users. Field names follow infini-gram's
/// `DocResult`; `shard`, `doc_start_ptr` and `disp_offset` are anygram additions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocResult {
    /// Global document number (over all shards, in index order).
    pub doc_ix: u64,
    /// Tokens in the whole document.
    pub doc_len: u64,
    /// Tokens in the displayed window (`token_ids.len()`).
    pub disp_len: u64,
    /// Where the match starts inside the window (0 for whole-document lookups).
    pub needle_offset: u64,
    /// The document's metadata line (JSON).
    pub metadata: String,
    pub token_ids: Vec<u32>,
    pub shard: usize,
    /// Token position of the document's first token in its shard's stream.
    pub doc_start_ptr: u64,
    /// Where the window starts inside the document.
    pub disp_offset: u64,
}

/// A shard's answer to a document lookup: [`DocResult`] with the shard-local document number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardDoc {
    pub local_doc: u64,
    pub doc_len: u64,
    pub needle_offset: u64,
    pub metadata: String,
    pub token_ids: Vec<u32>,
    pub doc_start_ptr: u64,
    pub disp_offset: u64,
}

impl ShardDoc {
    /// The index's answer: global document number `doc_base + local_doc`, shard `shard`.
    pub fn into_result(self, shard: usize, doc_base: u64) -> DocResult {
        DocResult {
            doc_ix: doc_base + self.local_doc,
            doc_len: self.doc_len,
            disp_len: self.token_ids.len() as u64,
            needle_offset: self.needle_offset,
            metadata: self.metadata,
            token_ids: self.token_ids,
            shard,
            doc_start_ptr: self.doc_start_ptr,
            disp_offset: self.disp_offset,
        }
    }
}

/// Shard-local number of the document holding stream position `ptr` (a separator belongs to
/// the document after it).
pub fn doc_of_ptr<S: ShardIndex>(s: &S, ptr: u64) -> Result<u64> {
    if ptr >= s.stream_len().saturating_sub(1) {
        return Err(AnygramError::InvalidQuery(format!(
            "pointer {ptr} is outside shard (stream length {})",
            s.stream_len()
        )));
    }
    Ok(s.doc_starts()
        .partition_point(|&x| x <= ptr)
        .saturating_sub(1) as u64)
}

/// Token range `[start, end)` of a shard-local document in the stream.
pub fn doc_span<S: ShardIndex>(s: &S, doc: u64) -> Result<(u64, u64)> {
    let starts = s.doc_starts();
    match (starts.get(doc as usize), starts.get(doc as usize + 1)) {
        (Some(&a), Some(&b)) => Ok((a + 1, b)),
        _ => Err(AnygramError::InvalidQuery(format!(
            "document {doc} is outside shard ({} documents)",
            s.num_docs()
        ))),
    }
}

/// The document holding `ptr`, shown as up to `max_disp_len` tokens: half before the pointer
/// and half from it, clipped to the document.
pub fn doc_by_ptr<S: ShardIndex>(s: &S, ptr: u64, max_disp_len: u64) -> Result<ShardDoc> {
    let doc = doc_of_ptr(s, ptr)?;
    let (start, end) = doc_span(s, doc)?;
    let ptr = ptr.max(start);
    let before = max_disp_len / 2;
    let disp_start = ptr.saturating_sub(before).max(start);
    let disp_end = ptr.saturating_add(max_disp_len - before).min(end);
    let window = Window {
        doc,
        start,
        end,
        disp_start,
        disp_end: disp_end.max(disp_start),
        needle_offset: ptr - disp_start,
    };
    window.read(s)
}

/// The first `max_disp_len` tokens of a shard-local document.
pub fn doc_by_local_ix<S: ShardIndex>(s: &S, doc: u64, max_disp_len: u64) -> Result<ShardDoc> {
    let (start, end) = doc_span(s, doc)?;
    let window = Window {
        doc,
        start,
        end,
        disp_start: start,
        disp_end: start.saturating_add((end - start).min(max_disp_len)),
        needle_offset: 0,
    };
    window.read(s)
}

/// A window `[disp_start, disp_end)` of the document `[start, end)` of a shard.
struct Window {
    doc: u64,
    start: u64,
    end: u64,
    disp_start: u64,
    disp_end: u64,
    needle_offset: u64,
}

impl Window {
    fn read<S: ShardIndex>(self, s: &S) -> Result<ShardDoc> {
        let token_ids = s
            .extract_original(self.disp_start, self.disp_end)
            .iter()
            .map(|t| t.to_u32())
            .collect();
        Ok(ShardDoc {
            local_doc: self.doc,
            doc_len: self.end - self.start,
            needle_offset: self.needle_offset,
            metadata: s.metadata(self.doc)?.into_owned(),
            token_ids,
            doc_start_ptr: self.start,
            disp_offset: self.disp_start - self.start,
        })
    }
}

/// Every match of every clause's terms starting in `[from, to)` of the stream, as offsets from
/// `from`, cut at `to`, sorted by start then clause.
pub fn spans_in<S: ShardIndex>(
    s: &S,
    from: u64,
    to: u64,
    clauses: &[Vec<Vec<S::Tok>>],
) -> Vec<(u64, u64, usize)> {
    let longest = clauses.iter().flatten().map(Vec::len).max().unwrap_or(0) as u64;
    let text = s.extract(from, to.saturating_add(longest));
    let mut spans = Vec::new();
    for m in 0..to.saturating_sub(from) {
        for (c, terms) in clauses.iter().enumerate() {
            for t in terms {
                let at = m as usize;
                if text.get(at..at + t.len()) == Some(t.as_slice()) {
                    spans.push((m, (m + t.len() as u64).min(to - from), c));
                }
            }
        }
    }
    spans
}
