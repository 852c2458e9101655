//! The on-disk format: file names, the manifest, and crash-safe writing.
//!
//! An index directory is valid exactly when `manifest.json` exists and agrees with the files.
//! Every file is written under a `.tmp` name, synced, and renamed; the manifest comes last,
//! itself through a temporary file and an atomic rename, so a build killed at any instant leaves
//! either no manifest (the directory does not open) or a complete index.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{AnygramError, IoContext, Result};
use crate::token::TokenWidth;

/// The format this build writes and reads. Bump on any incompatible change and keep a tiny
/// index of every older version under `tests/data/compat/`.
pub const FORMAT_VERSION: u32 = 1;
pub const FORMAT_NAME: &str = "anygram-index";
pub const MANIFEST: &str = "manifest.json";
/// Left in the output directory while a build runs; a directory holding it but no manifest is
/// the remains of a killed build.
pub const BUILD_MARKER: &str = "BUILDING";

/// Per-shard files. See ARCHITECTURE.md for their layout.
pub const TOKENS_FILE: &str = "tokens.bin";
pub const SA_FILE: &str = "sa.bin";
pub const DOCS_FILE: &str = "docs.bin";
pub const PREFIX_FILE: &str = "prefix.bin";
pub const META_FILE: &str = "meta.jsonl";
pub const META_INDEX_FILE: &str = "meta.idx";
pub const SHARD_FILES: [&str; 6] = [
    TOKENS_FILE,
    SA_FILE,
    DOCS_FILE,
    PREFIX_FILE,
    META_FILE,
    META_INDEX_FILE,
];

/// Size and checksum of one written file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub size: u64,
    /// xxh3-64 of the contents, lowercase hex.
    pub xxh3: String,
}

/// One shard as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardManifest {
    /// Directory of the shard, relative to the index directory.
    pub dir: String,
    /// Real tokens (suffix-array entries), separators excluded.
    pub num_tokens: u64,
    pub num_docs: u64,
    /// Bits per suffix-array pointer.
    pub sa_bits: u32,
    /// Tokens covered by the prefix table (1 or 2).
    pub prefix_len: u32,
    pub files: std::collections::BTreeMap<String, FileEntry>,
}

/// `manifest.json`: everything needed to open and trust an index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub created_by: String,
    pub token_width: TokenWidth,
    /// Token ids are `0..vocab_size`; the separator is the width's all-ones value.
    pub vocab_size: u64,
    /// Opaque to the engine: how to turn text into ids (kind, file, checksum, ...). Written and
    /// read by the Python front.
    pub tokenizer: serde_json::Value,
    pub num_tokens: u64,
    pub num_docs: u64,
    pub shards: Vec<ShardManifest>,
    /// Free-form facts about the build (inputs, options, timings).
    #[serde(default)]
    pub build: serde_json::Value,
}

impl Manifest {
    /// Reads and checks `dir/manifest.json` (not the files it lists: see `Shard::open`).
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        if !path.exists() {
            let detail = if dir.join(BUILD_MARKER).exists() {
                "a build into this directory did not finish (re-run it)".to_string()
            } else if !dir.exists() {
                "directory does not exist".to_string()
            } else {
                format!("{MANIFEST} is missing")
            };
            return Err(AnygramError::IndexNotFound {
                path: dir.to_path_buf(),
                detail,
            });
        }
        let text = fs::read_to_string(&path).at(&path)?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            AnygramError::corrupt(&path, format!("manifest is not valid JSON: {e}"))
        })?;
        // Check the version before the schema, so a newer format is reported as such even if
        // its fields changed.
        if value.get("format").and_then(|v| v.as_str()) != Some(FORMAT_NAME) {
            return Err(AnygramError::corrupt(
                &path,
                format!("not an anygram manifest (\"format\" must be \"{FORMAT_NAME}\")"),
            ));
        }
        match value.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == FORMAT_VERSION as u64 => {}
            Some(v) => {
                return Err(AnygramError::IncompatibleFormat {
                    found: v.min(u32::MAX as u64) as u32,
                    supported: FORMAT_VERSION,
                })
            }
            None => {
                return Err(AnygramError::corrupt(
                    &path,
                    "manifest has no format_version",
                ))
            }
        }
        let manifest: Manifest = serde_json::from_value(value)
            .map_err(|e| AnygramError::corrupt(&path, format!("manifest: {e}")))?;
        manifest.check(&path)?;
        Ok(manifest)
    }

    fn check(&self, path: &Path) -> Result<()> {
        if self.vocab_size == 0 || self.vocab_size > self.token_width.max_vocab() {
            return Err(AnygramError::corrupt(
                path,
                format!(
                    "vocab_size {} does not fit token width {}",
                    self.vocab_size,
                    self.token_width.name()
                ),
            ));
        }
        let tokens: u64 = self.shards.iter().map(|s| s.num_tokens).sum();
        let docs: u64 = self.shards.iter().map(|s| s.num_docs).sum();
        if tokens != self.num_tokens || docs != self.num_docs {
            return Err(AnygramError::corrupt(
                path,
                "shard totals disagree with the manifest totals",
            ));
        }
        for s in &self.shards {
            if s.dir.contains("..") || Path::new(&s.dir).is_absolute() {
                return Err(AnygramError::corrupt(
                    path,
                    format!("bad shard dir {:?}", s.dir),
                ));
            }
            for f in SHARD_FILES {
                if !s.files.contains_key(f) {
                    return Err(AnygramError::corrupt(
                        path,
                        format!("shard {} lists no {f}", s.dir),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Writes the manifest atomically: temporary file, fsync, rename, fsync of the directory.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| AnygramError::InvalidArgument(format!("manifest: {e}")))?;
        write_atomic(&dir.join(MANIFEST), text.as_bytes())
    }
}

/// The temporary name a file is written under before its rename.
pub fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` through a temporary file and a rename, and returns its entry.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_name(path);
    {
        let file = File::create(&tmp).at(&tmp)?;
        let mut w = BufWriter::new(file);
        w.write_all(bytes).at(&tmp)?;
        let file = w
            .into_inner()
            .map_err(|e| AnygramError::io(&tmp, e.into_error()))?;
        file.sync_all().at(&tmp)?;
    }
    fs::rename(&tmp, path).at(path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Writes a file and returns its manifest entry (size and checksum of what was written).
pub fn write_file_entry(path: &Path, bytes: &[u8]) -> Result<FileEntry> {
    write_atomic(path, bytes)?;
    Ok(FileEntry {
        size: bytes.len() as u64,
        xxh3: checksum(bytes),
    })
}

pub fn checksum(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

/// Streams a file through xxh3 (for `verify`), without mapping it whole.
pub fn checksum_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).at(path)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).at(path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:016x}", hasher.digest()))
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
    }
    Ok(())
}
