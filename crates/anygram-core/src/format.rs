//! The on-disk format: file names, the manifest, and crash-safe writing.
//!
//! An index directory is valid exactly when `manifest.json` exists and agrees with the files.
//! Every file is written under a `.tmp` name, synced, and renamed; the manifest comes last,
//! itself through a temporary file and an atomic rename, so a build killed at any instant leaves
//! either no manifest (the directory does not open) or a complete index.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{AnygramError, IoContext, Result};
use crate::fm::{self, FmParams};
use crate::token::TokenWidth;

/// The newest format this build writes and reads. Bump on any incompatible change and keep a
/// tiny index of every older version under `tests/data/compat/`. Version 2: an index whose
/// kind is not the suffix array (`kind`), whose text was case-folded (`fold_case`), or with
/// documents taken down (`takedown`: global document numbers with gaps), which a version 1
/// reader would misread; any other index is still written as version 1. Version 3: FM shards
/// whose samples are in text order (`fm.samples` instead of `fm.sa` and `fm.isa`). Version 4:
/// shards whose metadata is compressed in blocks (`meta.blocks` instead of `meta.jsonl` and
/// `meta.idx`; FM shards).
pub const FORMAT_VERSION: u32 = 4;
/// The oldest format this build reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;
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
/// The metadata compressed in blocks (`meta_blocks.rs`), instead of `meta.jsonl` and
/// `meta.idx`: FM shards from format version 4.
pub const META_BLOCKS_FILE: &str = "meta.blocks";
/// The original bytes where case folding changed them (`fold_case` indexes, either kind).
pub const CASE_FILE: &str = "case.bin";
pub const SHARD_FILES: [&str; 6] = [
    TOKENS_FILE,
    SA_FILE,
    DOCS_FILE,
    PREFIX_FILE,
    META_FILE,
    META_INDEX_FILE,
];
/// Per-shard files of the FM-index kind: no token stream, no suffix array, no prefix table, and
/// the metadata in blocks. (Format 2 shards have `fm.sa` and `fm.isa` instead of `fm.samples`:
/// `fm::has_row_samples`; shards of formats 2 and 3 have `meta.jsonl` and `meta.idx` instead of
/// `meta.blocks`: `doc_files::has_meta_blocks`.)
pub const FM_SHARD_FILES: [&str; 4] = [fm::BWT_FILE, fm::SAMPLES_FILE, DOCS_FILE, META_BLOCKS_FILE];

/// The structure that answers queries on a shard's text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexKind {
    /// Suffix array over the stored token stream: the fastest.
    #[default]
    Sa,
    /// FM-index over the reversed stream, the text kept only inside it: the smallest.
    Fm,
}

impl IndexKind {
    pub fn name(self) -> &'static str {
        match self {
            IndexKind::Sa => "sa",
            IndexKind::Fm => "fm",
        }
    }

    /// The files every shard of this kind has.
    pub fn shard_files(self) -> &'static [&'static str] {
        match self {
            IndexKind::Sa => &SHARD_FILES,
            IndexKind::Fm => &FM_SHARD_FILES,
        }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

/// What an index is, beyond its tokenizer: its kind, the kind's parameters, and how its text
/// was normalized. One object, so a build plan (local or distributed) carries it whole; the
/// manifest records it (fields `kind`, `fm`, `fold_case`; absent in older manifests: `sa`,
/// unfolded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexOptions {
    #[serde(default)]
    pub kind: IndexKind,
    /// Sampling rates of the FM kind (present exactly when `kind` is `fm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fm: Option<FmParams>,
    /// The indexed text is Unicode simple case folded; queries are folded the same way.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fold_case: bool,
}

impl IndexOptions {
    /// Options of `kind` with its default parameters.
    pub fn of_kind(kind: IndexKind) -> IndexOptions {
        IndexOptions {
            kind,
            fm: (kind == IndexKind::Fm).then(FmParams::default),
            fold_case: false,
        }
    }

    /// The FM parameters, checked (defaults when the kind is `fm` and none were given).
    pub fn fm_params(&self) -> Result<FmParams> {
        let p = self.fm.unwrap_or_default();
        p.check()?;
        Ok(p)
    }

    /// Refuses parameters that do not belong to the kind or are out of range.
    pub fn check(&self) -> Result<()> {
        match (self.kind, self.fm) {
            (IndexKind::Sa, Some(_)) => Err(AnygramError::InvalidArgument(
                "sampling rates (sa_sample, isa_sample) belong to the fm kind, not sa".into(),
            )),
            (IndexKind::Fm, Some(p)) => p.check(),
            _ => Ok(()),
        }
    }

    /// The oldest format version that reads an index with these options right.
    pub fn version_needed(&self) -> u32 {
        if self.kind != IndexKind::Sa || self.fold_case {
            2
        } else {
            OLDEST_FORMAT_VERSION
        }
    }
}

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
    /// Bits per suffix-array pointer (the FM kind: per sample of `fm.sa` and `fm.isa`).
    pub sa_bits: u32,
    /// Tokens covered by the prefix table (1 or 2; 0 for the FM kind, which has none).
    pub prefix_len: u32,
    pub files: std::collections::BTreeMap<String, FileEntry>,
    /// Global number of the shard's first document slot, when the index has grown or shrunk
    /// (`grow.rs`); absent: the documents of the shards before it, as a build numbers them.
    /// The shard's slots run to the next shard's `doc_base` (or the manifest's
    /// `next_doc_ix`); the slots of taken-down documents among them are in `takedown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_base: Option<u64>,
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
    /// Kind, its parameters, case folding (`kind`, `fm`, `fold_case` at the top level).
    #[serde(flatten)]
    pub index: IndexOptions,
    /// Incremented by every change of a live index (add, takedown, compact); 0 for a build.
    #[serde(default)]
    pub generation: u64,
    /// The first global document number never given out yet (absent: `num_docs`): numbers
    /// are never reused, so a document keeps its number through adds, takedowns and
    /// compactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_doc_ix: Option<u64>,
    /// Global numbers of the documents taken down, ascending. Their tokens are gone from the
    /// shards (rewritten without them); the numbers stay so no other document's changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub takedown: Vec<u64>,
    /// What produced this generation (`grow.rs`: operation, time, documents, shards).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub event: serde_json::Value,
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
            Some(v) if (OLDEST_FORMAT_VERSION as u64..=FORMAT_VERSION as u64).contains(&v) => {}
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
        self.index
            .check()
            .map_err(|e| AnygramError::corrupt(path, format!("manifest: {e}")))?;
        if self.index.kind == IndexKind::Fm && self.index.fm.is_none() {
            return Err(AnygramError::corrupt(
                path,
                "an fm index's manifest has no sampling rates (\"fm\")",
            ));
        }
        if self.format_version < self.index.version_needed() {
            return Err(AnygramError::corrupt(
                path,
                format!(
                    "a {} index{} needs format version {}, the manifest says {}",
                    self.index.kind.name(),
                    if self.index.fold_case {
                        " of case-folded text"
                    } else {
                        ""
                    },
                    self.index.version_needed(),
                    self.format_version
                ),
            ));
        }
        if self.format_version < self.shards_version_needed() {
            return Err(AnygramError::corrupt(
                path,
                format!(
                    "shards with fm.samples need format version 3, with meta.blocks 4; \
                     the manifest says {}",
                    self.format_version
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
        self.check_doc_numbers(path)?;
        for s in &self.shards {
            if s.dir.contains("..") || Path::new(&s.dir).is_absolute() {
                return Err(AnygramError::corrupt(
                    path,
                    format!("bad shard dir {:?}", s.dir),
                ));
            }
            let case = self.index.fold_case.then_some(CASE_FILE);
            let row_samples = self.index.kind == IndexKind::Fm && fm::has_row_samples(&s.files);
            // The plain metadata files stand in for `meta.blocks` in shards written before it.
            let plain_meta =
                self.index.kind == IndexKind::Fm && !crate::doc_files::has_meta_blocks(&s.files);
            let mut files: Vec<&str> = self
                .index
                .kind
                .shard_files()
                .iter()
                .copied()
                .chain(case)
                .filter(|&f| !(row_samples && f == fm::SAMPLES_FILE))
                .filter(|&f| !(plain_meta && f == META_BLOCKS_FILE))
                .collect();
            if plain_meta {
                files.extend([META_FILE, META_INDEX_FILE]);
            }
            for f in files {
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

    /// The first global document number of every shard (explicit, or counted as a build
    /// numbers them), and the end of the numbers given out.
    pub fn doc_bases(&self) -> (Vec<u64>, u64) {
        let mut bases = Vec::with_capacity(self.shards.len());
        let mut next = 0u64;
        for s in &self.shards {
            let base = s.doc_base.unwrap_or(next);
            bases.push(base);
            next = base + s.num_docs;
        }
        (bases, self.next_doc_ix.unwrap_or(next).max(next))
    }

    /// Document numbers are consistent: shard `i` numbers the slots from its `doc_base` up to
    /// the next shard's (the first from 0), which hold its documents and the taken-down
    /// numbers among them, nothing else.
    fn check_doc_numbers(&self, path: &Path) -> Result<()> {
        let bad = |detail: String| Err(AnygramError::corrupt(path, detail));
        if self.takedown.windows(2).any(|w| w[0] >= w[1]) {
            return bad("takedown numbers are not strictly ascending".into());
        }
        let (bases, end) = self.doc_bases();
        if bases.first().is_some_and(|&b| b != 0) {
            return bad("the first shard does not number from document 0".into());
        }
        for (i, s) in self.shards.iter().enumerate() {
            let (lo, hi) = (bases[i], bases.get(i + 1).copied().unwrap_or(end));
            let gone = self.takedown.partition_point(|&d| d < hi)
                - self.takedown.partition_point(|&d| d < lo);
            if hi.checked_sub(lo) != Some(s.num_docs + gone as u64) {
                return bad(format!(
                    "shard {} holds {} documents but numbers {lo}..{hi} with {gone} taken down",
                    s.dir, s.num_docs
                ));
            }
        }
        if self.takedown.last().is_some_and(|&d| d >= end) {
            return bad("a taken-down number was never given out".into());
        }
        Ok(())
    }

    /// The oldest format version that reads this manifest right: its kind's
    /// ([`IndexOptions::version_needed`]), and 2 once documents were taken down (a version 1
    /// reader would number the documents after a gap wrongly).
    pub fn version_needed(&self) -> u32 {
        let takedown = if self.takedown.is_empty() {
            OLDEST_FORMAT_VERSION
        } else {
            2
        };
        self.index
            .version_needed()
            .max(takedown)
            .max(self.shards_version_needed())
    }

    /// 4 when a shard has its metadata in blocks (`meta.blocks`), which a version 3 reader
    /// would not find; 3 when an FM shard has text-order samples (`fm.samples`), which a
    /// version 2 reader would not find.
    fn shards_version_needed(&self) -> u32 {
        let has = |name: &str| self.shards.iter().any(|s| s.files.contains_key(name));
        if has(META_BLOCKS_FILE) {
            4
        } else if self.index.kind == IndexKind::Fm && has(fm::SAMPLES_FILE) {
            3
        } else {
            OLDEST_FORMAT_VERSION
        }
    }

    /// Writes the manifest atomically: temporary file, fsync, rename, fsync of the directory.
    /// Its version is the oldest that reads it right, so older releases keep opening what they
    /// can read and refuse the rest as a newer format.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let mut this = self.clone();
        this.format_version = self.version_needed();
        let text = serde_json::to_string_pretty(&this)
            .map_err(|e| AnygramError::InvalidArgument(format!("manifest: {e}")))?;
        write_atomic(&dir.join(MANIFEST), text.as_bytes())
    }
}

/// What makes two paths the same file or directory: device and inode on Unix (so `dir`,
/// `dir/`, `./dir` and a symlink to it are one), the canonical path elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileIdentity(#[cfg(unix)] (u64, u64), #[cfg(not(unix))] PathBuf);

impl FileIdentity {
    pub fn of(path: &Path) -> Result<FileIdentity> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = fs::metadata(path).at(path)?;
            Ok(FileIdentity((m.dev(), m.ino())))
        }
        #[cfg(not(unix))]
        {
            Ok(FileIdentity(fs::canonicalize(path).at(path)?))
        }
    }
}

/// Refuses index directories opened together that hold the same shard twice: the same
/// directory given twice under any spelling (`[dir, dir + "/"]`), a manifest listing one shard
/// twice (`shard-00000` and `./shard-00000`), or two indexes sharing a shard through a link.
/// Each would count that shard's tokens twice. Shards are compared by identity
/// ([`FileIdentity`]), never by how their paths are written; a shard directory that does not
/// exist is left for `Shard::open` to report.
pub fn check_distinct_sources(sources: &[(PathBuf, Manifest)]) -> Result<()> {
    let mut dirs: std::collections::HashMap<FileIdentity, &Path> = Default::default();
    for (dir, _) in sources {
        if let Some(first) = dirs.insert(FileIdentity::of(dir)?, dir) {
            return Err(AnygramError::InvalidArgument(format!(
                "{} and {} are the same index directory: opening it twice would count every \
                 token twice",
                first.display(),
                dir.display()
            )));
        }
    }
    let mut shards: std::collections::HashMap<FileIdentity, PathBuf> = Default::default();
    for (dir, manifest) in sources {
        for s in &manifest.shards {
            let path = dir.join(&s.dir);
            let Ok(id) = FileIdentity::of(&path) else {
                continue;
            };
            if let Some(first) = shards.insert(id, path.clone()) {
                let detail = format!(
                    "shards {} and {} are the same directory: its tokens would count twice",
                    first.display(),
                    path.display()
                );
                return Err(if first.starts_with(dir) {
                    AnygramError::corrupt(dir.join(MANIFEST), detail)
                } else {
                    AnygramError::InvalidArgument(detail)
                });
            }
        }
    }
    Ok(())
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

pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(shards: &[&str]) -> Manifest {
        Manifest {
            format: FORMAT_NAME.into(),
            format_version: FORMAT_VERSION,
            created_by: "test".into(),
            token_width: TokenWidth::U8,
            vocab_size: 255,
            tokenizer: serde_json::json!({"kind": "bytes"}),
            num_tokens: 0,
            num_docs: 0,
            shards: shards
                .iter()
                .map(|d| ShardManifest {
                    dir: d.to_string(),
                    num_tokens: 0,
                    num_docs: 0,
                    sa_bits: 1,
                    prefix_len: 2,
                    files: Default::default(),
                    doc_base: None,
                })
                .collect(),
            build: serde_json::Value::Null,
            index: Default::default(),
            generation: 0,
            next_doc_ix: None,
            takedown: Vec::new(),
            event: serde_json::Value::Null,
        }
    }

    #[test]
    fn the_same_shard_twice_is_refused_whatever_its_spelling() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        for d in [&a, &b] {
            fs::create_dir_all(d.join("shard-00000")).unwrap();
            fs::create_dir_all(d.join("shard-00001")).unwrap();
        }
        let two = manifest(&["shard-00000", "shard-00001"]);
        let ok = [(a.clone(), two.clone()), (b.clone(), two.clone())];
        check_distinct_sources(&ok).unwrap();

        // One directory under two spellings.
        let slash = PathBuf::from(format!("{}/", a.display()));
        let dot = a.join(".");
        for other in [slash, dot] {
            let err = check_distinct_sources(&[(a.clone(), two.clone()), (other, two.clone())])
                .unwrap_err();
            assert!(matches!(err, AnygramError::InvalidArgument(_)), "{err}");
            assert!(err.to_string().contains("same index directory"), "{err}");
        }

        // A manifest listing one shard twice.
        let dup = manifest(&["shard-00000", "./shard-00000"]);
        let err = check_distinct_sources(&[(a.clone(), dup)]).unwrap_err();
        assert!(matches!(err, AnygramError::CorruptIndex { .. }), "{err}");

        // Two indexes sharing a shard through a symlink.
        #[cfg(unix)]
        {
            let c = tmp.path().join("c");
            fs::create_dir_all(&c).unwrap();
            std::os::unix::fs::symlink(a.join("shard-00001"), c.join("shard-00000")).unwrap();
            let one = manifest(&["shard-00000"]);
            let err = check_distinct_sources(&[(a.clone(), two.clone()), (c, one)]).unwrap_err();
            assert!(matches!(err, AnygramError::InvalidArgument(_)), "{err}");
        }

        // A missing shard directory is Shard::open's to report.
        let missing = manifest(&["shard-00009"]);
        check_distinct_sources(&[(a, missing)]).unwrap();
    }
}
