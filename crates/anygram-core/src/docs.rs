//! Documents: from a pointer (token position) or a document number to the document's tokens,
//! metadata and the window shown around a match.

use serde::Serialize;

use crate::error::{AnygramError, Result};
use crate::shard::Shard;
use crate::token::Token;

/// A document, or a window of it, as returned to users. Field names follow infini-gram's
/// `DocResult`; `shard`, `doc_start_ptr` and `disp_offset` are anygram additions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

impl<T: Token> Shard<T> {
    /// Shard-local number of the document holding stream position `ptr` (a separator belongs to
    /// the document after it).
    pub fn doc_of_ptr(&self, ptr: u64) -> Result<u64> {
        if ptr >= self.stream_len() - 1 {
            return Err(AnygramError::InvalidQuery(format!(
                "pointer {ptr} is outside shard (stream length {})",
                self.stream_len()
            )));
        }
        let starts = self.doc_starts();
        Ok(starts.partition_point(|&s| s <= ptr) as u64 - 1)
    }

    /// Token range `[start, end)` of a shard-local document in the stream.
    pub fn doc_span(&self, doc: u64) -> Result<(u64, u64)> {
        let starts = self.doc_starts();
        match (starts.get(doc as usize), starts.get(doc as usize + 1)) {
            (Some(&s), Some(&e)) => Ok((s + 1, e)),
            _ => Err(AnygramError::InvalidQuery(format!(
                "document {doc} is outside shard ({} documents)",
                self.num_docs
            ))),
        }
    }

    /// The document holding `ptr`, shown as up to `max_disp_len` tokens: half before the
    /// pointer and half from it, clipped to the document.
    pub fn doc_by_ptr(
        &self,
        ptr: u64,
        max_disp_len: u64,
        doc_base: u64,
        shard: usize,
    ) -> Result<DocResult> {
        let doc = self.doc_of_ptr(ptr)?;
        let (start, end) = self.doc_span(doc)?;
        let ptr = ptr.max(start);
        let before = max_disp_len / 2;
        let disp_start = ptr.saturating_sub(before).max(start);
        let disp_end = ptr.saturating_add(max_disp_len - before).min(end);
        self.doc_result(
            doc,
            start,
            end,
            disp_start,
            disp_end.max(disp_start),
            ptr - disp_start,
            doc_base,
            shard,
        )
    }

    /// The first `max_disp_len` tokens of a shard-local document.
    pub fn doc_by_local_ix(
        &self,
        doc: u64,
        max_disp_len: u64,
        doc_base: u64,
        shard: usize,
    ) -> Result<DocResult> {
        let (start, end) = self.doc_span(doc)?;
        let disp_end = start.saturating_add((end - start).min(max_disp_len));
        self.doc_result(doc, start, end, start, disp_end, 0, doc_base, shard)
    }

    #[allow(clippy::too_many_arguments)]
    fn doc_result(
        &self,
        doc: u64,
        start: u64,
        end: u64,
        disp_start: u64,
        disp_end: u64,
        needle_offset: u64,
        doc_base: u64,
        shard: usize,
    ) -> Result<DocResult> {
        let token_ids = self
            .tokens()
            .get(disp_start as usize..disp_end as usize)
            .unwrap_or(&[])
            .iter()
            .map(|t| t.to_u32())
            .collect::<Vec<u32>>();
        Ok(DocResult {
            doc_ix: doc_base + doc,
            doc_len: end - start,
            disp_len: token_ids.len() as u64,
            needle_offset,
            metadata: self.metadata(doc)?.to_string(),
            token_ids,
            shard,
            doc_start_ptr: start,
            disp_offset: disp_start - start,
        })
    }
}
