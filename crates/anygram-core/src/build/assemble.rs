//! The last step of a planned build: the parts (each an index built from one slice of the
//! plan, by any process on any machine) become one index. Their shard directories are moved in,
//! numbered in plan order, and one manifest listing them all is written last, so the output
//! opens only once every part is in; an interrupted run is simply run again (a shard already
//! moved is found where it went), and the parts are removed only after the manifest.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{AnygramError, IoContext, Result};
use crate::format::{sync_dir, Manifest, BUILD_MARKER};
use crate::index::Index;

/// Joins the finished indexes `parts` (in plan order) into the index `out`, with `build` as
/// its build facts; returns its manifest.
pub fn assemble(out: &Path, parts: &[PathBuf], build: serde_json::Value) -> Result<Manifest> {
    if parts.is_empty() {
        return Err(AnygramError::InvalidArgument(
            "a build plan has no parts".into(),
        ));
    }
    // Same width, vocabulary and tokenizer, no shard twice: as for opening them together.
    let sources = Index::read_sources(parts)?;
    fs::create_dir_all(out).at(out)?;
    let mut shards = Vec::new();
    for (part, m) in &sources {
        for sm in &m.shards {
            let name = format!("shard-{:05}", shards.len());
            let (from, to) = (part.join(&sm.dir), out.join(&name));
            if from.exists() {
                if to.exists() {
                    // Left by something else than this plan's earlier run: ours replaces it.
                    fs::remove_dir_all(&to).at(&to)?;
                }
                fs::rename(&from, &to).at(&to)?;
            } else if !to.is_dir() {
                return Err(AnygramError::corrupt(
                    part,
                    format!(
                        "shard {} is neither in the part nor in {}",
                        sm.dir,
                        out.display()
                    ),
                ));
            }
            let mut sm = sm.clone();
            sm.dir = name;
            shards.push(sm);
        }
    }
    sync_dir(out)?;
    let mut manifest = sources[0].1.clone();
    manifest.num_tokens = sources.iter().map(|(_, m)| m.num_tokens).sum();
    manifest.num_docs = sources.iter().map(|(_, m)| m.num_docs).sum();
    manifest.shards = shards;
    manifest.build = build;
    manifest.write(out)?;
    for part in parts {
        fs::remove_dir_all(part).at(part)?;
    }
    let marker = out.join(BUILD_MARKER);
    if marker.exists() {
        fs::remove_file(&marker).at(&marker)?;
    }
    Ok(manifest)
}
