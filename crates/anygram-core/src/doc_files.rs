//! The document files every index kind keeps next to its text index: `docs.bin` (where each
//! document starts in the stream) and each document's metadata — `meta.jsonl` and `meta.idx`
//! (plain JSON and its offsets), or `meta.blocks` (the same compressed in blocks,
//! `meta_blocks.rs`; FM shards from format 4) — opened and checked once here for the
//! suffix-array and the FM-index kinds alike.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::error::{AnygramError, Result};
use crate::fold::Patches;
use crate::format::{self, ShardManifest};
use crate::shard::{open_listed, stream_len, OpenOptions};
use crate::storage::FileBytes;

/// A shard's document offsets and metadata, and the original bytes of a case-folded text.
pub struct DocFiles {
    dir: PathBuf,
    docs: FileBytes,
    meta: Meta,
    case: Option<Patches>,
}

/// The metadata files of a shard, in either form.
enum Meta {
    /// `meta.jsonl` and its offsets `meta.idx`.
    Plain { meta: FileBytes, index: FileBytes },
    /// `meta.blocks`.
    Blocks(FileBytes),
}

/// Whether a shard's files (as its manifest lists them) hold the metadata in blocks.
pub fn has_meta_blocks<V>(files: &std::collections::BTreeMap<String, V>) -> bool {
    files.contains_key(format::META_BLOCKS_FILE)
}

fn u64s(bytes: &FileBytes) -> Option<&[u64]> {
    bytemuck::try_cast_slice(bytes.as_bytes()).ok()
}

impl DocFiles {
    /// Opens the files `m` lists in `dir` and checks them against its counts: linear in
    /// documents, never in tokens.
    pub fn open(dir: &Path, m: &ShardManifest, opts: OpenOptions) -> Result<DocFiles> {
        let open = |name: &str| match m.files.get(name) {
            Some(entry) => open_listed(dir, name, entry, opts),
            None => Err(AnygramError::corrupt(
                dir,
                format!("the manifest lists no {name}"),
            )),
        };
        let files = DocFiles {
            dir: dir.to_path_buf(),
            docs: open(format::DOCS_FILE)?,
            meta: if has_meta_blocks(&m.files) {
                Meta::Blocks(open(format::META_BLOCKS_FILE)?)
            } else {
                Meta::Plain {
                    meta: open(format::META_FILE)?,
                    index: open(format::META_INDEX_FILE)?,
                }
            },
            case: match m.files.get(format::CASE_FILE) {
                Some(entry) => Some(Patches::open(
                    open_listed(dir, format::CASE_FILE, entry, opts)?,
                    stream_len(m.num_tokens, m.num_docs),
                    &dir.join(format::CASE_FILE),
                )?),
                None => None,
            },
        };
        files.check(m.num_docs, stream_len(m.num_tokens, m.num_docs))?;
        Ok(files)
    }

    fn check(&self, d: u64, len: u64) -> Result<()> {
        let bad = |file: &str, detail: &str| AnygramError::corrupt(self.dir.join(file), detail);
        if d == 0 {
            return Err(bad(format::DOCS_FILE, "shard has no documents"));
        }
        let docs = u64s(&self.docs)
            .filter(|s| s.len() as u64 == d + 1)
            .ok_or_else(|| bad(format::DOCS_FILE, "size does not match the document count"))?;
        if docs[0] != 0 || docs[d as usize] != len - 1 || docs.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad(
                format::DOCS_FILE,
                "document offsets are not increasing",
            ));
        }
        match &self.meta {
            Meta::Plain { meta, index } => {
                let meta_index =
                    u64s(index)
                        .filter(|m| m.len() as u64 == d + 1)
                        .ok_or_else(|| {
                            bad(
                                format::META_INDEX_FILE,
                                "size does not match the document count",
                            )
                        })?;
                if meta_index[0] != 0
                    || meta_index[d as usize] != meta.len() as u64
                    || meta_index.windows(2).any(|w| w[0] > w[1])
                {
                    return Err(bad(
                        format::META_INDEX_FILE,
                        "metadata offsets are not increasing",
                    ));
                }
            }
            Meta::Blocks(file) => crate::meta_blocks::check(file.as_bytes(), d)
                .map_err(|detail| bad(format::META_BLOCKS_FILE, detail))?,
        }
        Ok(())
    }

    /// Position of the separator before each document, plus the closing separator.
    #[inline]
    pub fn doc_starts(&self) -> &[u64] {
        u64s(&self.docs).unwrap_or(&[])
    }

    /// The metadata JSON of a document (shard-local index): borrowed from `meta.jsonl`, or
    /// decoded from its block of `meta.blocks`.
    pub fn metadata(&self, doc: u64) -> Result<Cow<'_, str>> {
        let (meta, index) = match &self.meta {
            Meta::Plain { meta, index } => (meta, index),
            Meta::Blocks(file) => {
                return crate::meta_blocks::metadata(
                    file.as_bytes(),
                    doc,
                    &self.dir.join(format::META_BLOCKS_FILE),
                )
            }
        };
        let idx = u64s(index).unwrap_or(&[]);
        let (start, end) = match (idx.get(doc as usize), idx.get(doc as usize + 1)) {
            (Some(&s), Some(&e)) => (s as usize, e as usize),
            _ => {
                return Err(AnygramError::InvalidQuery(format!(
                    "no document {doc} in shard"
                )))
            }
        };
        let bytes = meta.as_bytes().get(start..end).unwrap_or(&[]);
        std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|_| {
            AnygramError::corrupt(self.dir.join(format::META_FILE), "metadata is not UTF-8")
        })
    }

    /// Stream tokens `[from, ..)` as written: `ids` (the indexed stream) with the bytes case
    /// folding changed put back (`fold.rs`); unchanged when the text was not folded.
    pub fn restore_case<T: crate::token::Token>(&self, from: u64, ids: &mut [T]) {
        if let Some(p) = &self.case {
            p.restore(from, ids);
        }
    }

    /// Whether the indexed text was case-folded (documents then differ from it).
    pub fn folded(&self) -> bool {
        self.case.is_some()
    }

    /// Bytes of the files.
    pub fn size_bytes(&self) -> u64 {
        let case = self.case.as_ref().map_or(0, Patches::size_bytes);
        let meta = match &self.meta {
            Meta::Plain { meta, index } => meta.len() + index.len(),
            Meta::Blocks(file) => file.len(),
        };
        (self.docs.len() + meta) as u64 + case
    }
}
