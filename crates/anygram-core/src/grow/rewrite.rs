//! One new shard from the documents of existing ones: a takedown rewrites a shard without some
//! documents, a compaction merges neighbours. The documents (tokens and metadata) are read back
//! through [`ShardIndex`] (`extract`, `metadata`), so any kind can be rewritten, and written by
//! the build's own shard writer, so the new shard is exactly what a build of those documents
//! makes.

use std::fs;
use std::path::Path;

use crate::build::shard_writer::ShardBuffer;
use crate::error::{AnygramError, IoContext, Result};
use crate::format::{self, Manifest, ShardManifest};
use crate::index::open_shard;
use crate::shard::OpenOptions;
use crate::shard_index::ShardIndex;
use crate::token::{Token, TokenWidth};

/// Inside a rewritten shard: the key of the change that wrote it and its manifest entry, so a
/// killed compaction run again keeps it.
const RECORD: &str = "rewrite.json";

/// Writes `dir/name`: the documents of the shards `sources` of `m` (in order) except the
/// shard-local numbers in `drop[k]` (ascending) of `sources[k]`. `None` if no document is left.
/// A finished shard already at `dir/name` with the same `key` (a killed attempt) is kept.
pub fn rewrite(
    dir: &Path,
    m: &Manifest,
    sources: &[usize],
    drop: &[Vec<u64>],
    name: &str,
    key: &str,
    workers: usize,
) -> Result<Option<ShardManifest>> {
    let target = dir.join(name);
    if let Some(done) = finished(&target, key) {
        return Ok(Some(done));
    }
    if target.exists() {
        fs::remove_dir_all(&target).at(&target)?;
    }
    let tmp = dir.join(format!("{name}.tmp"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).at(&tmp)?;
    }
    let written = match m.token_width {
        TokenWidth::U8 => write_as::<u8>(dir, m, sources, drop, &tmp, name, workers)?,
        TokenWidth::U16 => write_as::<u16>(dir, m, sources, drop, &tmp, name, workers)?,
        TokenWidth::U32 => write_as::<u32>(dir, m, sources, drop, &tmp, name, workers)?,
    };
    let Some(shard) = written else {
        return Ok(None);
    };
    let record = serde_json::json!({"key": key, "shard": shard});
    format::write_atomic(&tmp.join(RECORD), record.to_string().as_bytes())?;
    fs::rename(&tmp, &target).at(&target)?;
    format::sync_dir(dir)?;
    Ok(Some(shard))
}

fn write_as<T: Token>(
    dir: &Path,
    m: &Manifest,
    sources: &[usize],
    drop: &[Vec<u64>],
    out: &Path,
    name: &str,
    workers: usize,
) -> Result<Option<ShardManifest>> {
    let mut buf = ShardBuffer::<T>::new();
    // Read checked: a rewrite must not carry a damaged file's bytes into a new checksum.
    let opts = OpenOptions {
        verify_checksums: true,
        ..OpenOptions::default()
    };
    for (k, &i) in sources.iter().enumerate() {
        let sm = m
            .shards
            .get(i)
            .ok_or_else(|| AnygramError::Internal(format!("no shard {i} to rewrite")))?;
        let shard = open_shard::<T>(dir, m, sm, m.vocab_size, opts)?;
        let starts = shard.doc_starts();
        let gone = drop.get(k).map_or(&[][..], Vec::as_slice);
        for j in 0..shard.num_docs() {
            if gone.binary_search(&j).is_ok() {
                continue;
            }
            let j = j as usize;
            if m.index.fold_case {
                // The document as written, folded again: the new shard keeps its case patches.
                let original = shard.extract_original(starts[j] + 1, starts[j + 1]);
                let bytes: Vec<u8> = original.iter().map(|t| t.to_u32() as u8).collect();
                let text = std::str::from_utf8(&bytes).map_err(|_| {
                    AnygramError::corrupt(dir, "a case-folded index's document is not UTF-8")
                })?;
                buf.push_folded(text);
            } else {
                let tokens = shard.extract(starts[j] + 1, starts[j + 1]);
                buf.stream.extend_from_slice(&tokens);
            }
            buf.close_document(shard.metadata(j as u64)?.as_bytes());
        }
    }
    if buf.num_docs() == 0 {
        return Ok(None);
    }
    let (shard, _) = buf.write(out, name, m.vocab_size, workers.max(1), &m.index)?;
    Ok(Some(shard))
}

/// The shard at `target` if a rewrite with `key` finished it (its record and every file of
/// the recorded sizes present).
fn finished(target: &Path, key: &str) -> Option<ShardManifest> {
    let text = fs::read_to_string(target.join(RECORD)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    if v.get("key")?.as_str()? != key {
        return None;
    }
    let shard: ShardManifest = serde_json::from_value(v.get("shard")?.clone()).ok()?;
    let complete = shard
        .files
        .iter()
        .all(|(f, e)| fs::metadata(target.join(f)).map(|md| md.len()).ok() == Some(e.size));
    complete.then_some(shard)
}
