//! A living index: documents added, taken down, shards compacted, without a rebuild.
//!
//! **Generations.** Every change writes new files only (new shard directories, never a changed
//! one), then commits a new `manifest.json` with the next `generation` number, atomically
//! (temporary file, fsync, rename, fsync of the directory). A copy of each committed manifest
//! is kept in `generations/` (written before the switch): it is the index's log (`anygram log`)
//! and tells the garbage collector which files the previous generation needs. A reader holds
//! the shards it opened (mapped files survive their unlinking on POSIX systems), so it keeps a
//! consistent snapshot until it moves on (`Index.refresh()`).
//!
//! **Which files go.** After each commit, shard directories named by neither the current
//! generation nor the [`KEEP_GENERATIONS`]` - 1` before it are removed: a reader that read the
//! previous manifest just before the switch still finds every file it lists (an opener that
//! loses a race with two commits retries: the Python front compares the manifest before and
//! after opening).
//!
//! **Writers** take an exclusive `flock` on `LOCK` for the whole change, so changes apply one
//! after the other; readers never lock.
//!
//! **Document numbers** are stable: a number is never reused or shifted. Added documents get
//! numbers after every number given out (`next_doc_ix`), a taken-down document's number stays a
//! gap (`takedown`), and compaction merges only neighbouring shards, whose numbers follow each
//! other.
//!
//! **Takedown is physical**: the shards holding the documents are rewritten without them
//! ([`rewrite::rewrite`], the same routine that merges shards in a compaction), so every
//! query of every kind and executor answers exactly as a fresh build of the remaining
//! documents would, at no query cost; a takedown costs a rebuild of the shards it touches.

pub mod plan;
pub mod rewrite;
pub mod select;

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{AnygramError, IoContext, Result};
use crate::format::{self, Manifest, ShardManifest};

/// Copies of every committed manifest, `NNNNNNNN.json` by generation.
pub const GENERATIONS_DIR: &str = "generations";
/// Where an add builds its documents before its shards join the index.
pub const INCOMING_DIR: &str = "incoming";
/// Held (flock) by the one process changing the index.
pub const LOCK_FILE: &str = "LOCK";
/// Generations whose files are kept: the current one and the one before it.
pub const KEEP_GENERATIONS: u64 = 2;

/// The one process changing an index: holds its lock until dropped.
pub struct Writer {
    dir: PathBuf,
    _lock: File,
}

impl Writer {
    /// Waits for the index's lock (another change in progress finishes first).
    pub fn lock(dir: &Path) -> Result<Writer> {
        Manifest::read(dir)?; // only an index can change
        let path = dir.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .at(&path)?;
        lock_exclusive(&file, &path)?;
        Ok(Writer {
            dir: dir.to_path_buf(),
            _lock: file,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest of the current generation, every shard's `doc_base` written out (a
    /// build leaves them implicit, counted from the shards before, which would change when a
    /// shard before leaves).
    pub fn current(&self) -> Result<Manifest> {
        let mut m = Manifest::read(&self.dir)?;
        let (bases, end) = m.doc_bases();
        for (s, b) in m.shards.iter_mut().zip(bases) {
            s.doc_base = Some(b);
        }
        m.next_doc_ix = Some(end);
        Ok(m)
    }

    /// The name of the `k`-th new shard directory of generation `g` (never reused: generations
    /// only grow, and a name left by a crashed attempt at `g` is no generation's).
    pub fn shard_name(g: u64, k: usize) -> String {
        format!("shard-g{g:06}-{k:05}")
    }

    /// Commits `next` as the generation after `prev`: totals and numbering filled in, `event`
    /// (what changed) recorded with the time, the log copy written, then the manifest. Removes
    /// the files no kept generation needs.
    pub fn commit(&self, prev: &Manifest, mut next: Manifest, event: Event) -> Result<Manifest> {
        if next.shards.is_empty() {
            return Err(AnygramError::InvalidArgument(
                "the change would leave the index without documents".into(),
            ));
        }
        if history_path(&self.dir, prev.generation).exists() {
            // The log already holds the previous generation.
        } else {
            let mut first = prev.clone();
            if first.event.is_null() {
                first.event = serde_json::json!({"op": "build"});
            }
            write_history(&self.dir, &first)?;
        }
        let (bases, end) = next.doc_bases();
        for (s, b) in next.shards.iter_mut().zip(bases) {
            s.doc_base = Some(b);
        }
        next.shards[0].doc_base = Some(0);
        next.next_doc_ix = Some(end);
        next.num_tokens = next.shards.iter().map(|s| s.num_tokens).sum();
        next.num_docs = next.shards.iter().map(|s| s.num_docs).sum();
        next.generation = prev.generation + 1;
        let mut record = serde_json::to_value(&event)
            .map_err(|e| AnygramError::Internal(format!("event: {e}")))?;
        if let serde_json::Value::Object(o) = &mut record {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            o.insert("time".into(), serde_json::json!(now));
        }
        next.event = record;
        next.format_version = next.version_needed();
        write_history(&self.dir, &next)?;
        next.write(&self.dir)?;
        self.collect_garbage(&next)?;
        Ok(next)
    }

    /// Removes the shard directories (and half-written ones) that neither the current
    /// generation nor the one before it names.
    fn collect_garbage(&self, current: &Manifest) -> Result<()> {
        let mut keep: HashSet<String> = names(current);
        let oldest = current.generation.saturating_sub(KEEP_GENERATIONS - 1);
        for g in oldest..current.generation {
            if let Ok(m) = read_history(&self.dir, g) {
                keep.extend(names(&m));
            }
        }
        for entry in fs::read_dir(&self.dir).at(&self.dir)? {
            let path = entry.at(&self.dir)?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.starts_with("shard-") && path.is_dir() && !keep.contains(name) {
                fs::remove_dir_all(&path).at(&path)?;
            }
        }
        format::sync_dir(&self.dir)
    }
}

fn names(m: &Manifest) -> HashSet<String> {
    m.shards
        .iter()
        .map(|s| {
            s.dir
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

#[cfg(unix)]
fn lock_exclusive(file: &File, path: &Path) -> Result<()> {
    use std::os::unix::io::AsRawFd;
    loop {
        // SAFETY: flock on a descriptor this function borrows; released when the file closes
        // (also when the process dies, so a killed writer never leaves the index locked).
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(AnygramError::io(path, e));
        }
    }
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File, _path: &Path) -> Result<()> {
    Ok(())
}

/// What produced a generation, as the log shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Event {
    /// "add", "takedown" or "compact".
    pub op: String,
    /// Documents added or taken down (global numbers; for an add, the range given out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub docs: Vec<u64>,
    /// Shard directories that left and joined the index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards_removed: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards_added: Vec<String>,
    /// Free-form facts from the caller (inputs, reason, timings, the add's key).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub info: serde_json::Value,
}

fn history_path(dir: &Path, g: u64) -> PathBuf {
    dir.join(GENERATIONS_DIR).join(format!("{g:08}.json"))
}

fn write_history(dir: &Path, m: &Manifest) -> Result<()> {
    let gens = dir.join(GENERATIONS_DIR);
    fs::create_dir_all(&gens).at(&gens)?;
    let text = serde_json::to_string_pretty(m)
        .map_err(|e| AnygramError::Internal(format!("manifest: {e}")))?;
    format::write_atomic(&history_path(dir, m.generation), text.as_bytes())
}

fn read_history(dir: &Path, g: u64) -> Result<Manifest> {
    let path = history_path(dir, g);
    let text = fs::read_to_string(&path).at(&path)?;
    serde_json::from_str(&text).map_err(|e| AnygramError::corrupt(&path, e.to_string()))
}

/// One line of the log: a generation and what produced it.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub generation: u64,
    pub event: serde_json::Value,
    pub num_docs: u64,
    pub num_tokens: u64,
    pub num_shards: usize,
    pub taken_down: usize,
}

/// Every generation of the index up to the current one, oldest first (a generation whose
/// copy is missing, e.g. the build of an index never changed, is left out).
pub fn log(dir: &Path) -> Result<Vec<LogEntry>> {
    let current = Manifest::read(dir)?;
    let mut out = Vec::new();
    for g in 0..current.generation {
        if let Ok(m) = read_history(dir, g) {
            out.push(entry(&m));
        }
    }
    let mut last = entry(&current);
    if last.event.is_null() {
        last.event = serde_json::json!({"op": "build"});
    }
    out.push(last);
    Ok(out)
}

fn entry(m: &Manifest) -> LogEntry {
    LogEntry {
        generation: m.generation,
        event: m.event.clone(),
        num_docs: m.num_docs,
        num_tokens: m.num_tokens,
        num_shards: m.shards.len(),
        taken_down: m.takedown.len(),
    }
}

// ------------------------------------------------------------------------------ add

/// Adds the shards of the index built at `built` (same tokenizer, width and vocabulary; its
/// directory is emptied of them) to the index at `dir`, its documents numbered after every
/// number given out. Returns the new generation's manifest.
pub fn adopt(dir: &Path, built: &Path, info: serde_json::Value) -> Result<Manifest> {
    let w = Writer::lock(dir)?;
    let prev = w.current()?;
    let add = Manifest::read(built)?;
    if add.token_width != prev.token_width
        || add.vocab_size != prev.vocab_size
        || !crate::index::same_tokenizer(&add.tokenizer, &prev.tokenizer)
        || add.index != prev.index
    {
        return Err(AnygramError::Mismatch(format!(
            "{} was built with another tokenizer, token width or kind than {}",
            built.display(),
            dir.display()
        )));
    }
    for s in &add.shards {
        let p = built.join(&s.dir);
        if !p.is_dir() {
            return Err(AnygramError::corrupt(
                p,
                "shard of the added build is missing",
            ));
        }
    }
    let g = prev.generation + 1;
    let (_, mut next_doc) = prev.doc_bases();
    let first_doc = next_doc;
    let mut next = prev.clone();
    let mut added = Vec::new();
    for (k, s) in add.shards.iter().enumerate() {
        let name = Writer::shard_name(g, k);
        let target = dir.join(&name);
        if target.exists() {
            fs::remove_dir_all(&target).at(&target)?; // left by a crashed attempt at g
        }
        let from = built.join(&s.dir);
        fs::rename(&from, &target).at(&from)?;
        next.shards.push(ShardManifest {
            dir: name.clone(),
            doc_base: Some(next_doc),
            ..s.clone()
        });
        next_doc += s.num_docs;
        added.push(name);
    }
    format::sync_dir(dir)?;
    next.next_doc_ix = Some(next_doc);
    let event = Event {
        op: "add".into(),
        docs: vec![first_doc, next_doc],
        shards_added: added,
        info,
        ..Event::default()
    };
    w.commit(&prev, next, event)
}

// ------------------------------------------------------------------------- takedown

/// What a takedown did.
#[derive(Debug, Clone, Serialize)]
pub struct TakedownReport {
    /// Documents taken down now.
    pub removed: Vec<u64>,
    /// Documents that were already taken down (nothing to do for them).
    pub already: Vec<u64>,
    /// The generation the index is at afterwards.
    pub generation: u64,
}

/// Takes down the documents numbered `ids`: the shards holding them are rewritten without
/// them, and the new generation is committed (after fsync) before this returns. A number never
/// given out is an error (nothing changes); an already taken-down one is reported, not an
/// error.
pub fn takedown(
    dir: &Path,
    ids: &[u64],
    info: serde_json::Value,
    workers: usize,
) -> Result<TakedownReport> {
    let w = Writer::lock(dir)?;
    let prev = w.current()?;
    let (bases, end) = prev.doc_bases();
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let unknown: Vec<u64> = ids.iter().copied().filter(|&d| d >= end).collect();
    if !unknown.is_empty() {
        return Err(AnygramError::InvalidArgument(format!(
            "no document numbered {} (the index numbers its documents 0..{end}): nothing was \
             taken down",
            list(&unknown)
        )));
    }
    let (already, fresh): (Vec<u64>, Vec<u64>) = ids
        .into_iter()
        .partition(|d| prev.takedown.binary_search(d).is_ok());
    if fresh.is_empty() {
        return Ok(TakedownReport {
            removed: fresh,
            already,
            generation: prev.generation,
        });
    }
    // Shard-local numbers to drop, per shard.
    let mut drops: Vec<Vec<u64>> = vec![Vec::new(); prev.shards.len()];
    for &d in &fresh {
        let s = bases.partition_point(|&b| b <= d) - 1;
        let gaps_before = prev.takedown.partition_point(|&t| t < d)
            - prev.takedown.partition_point(|&t| t < bases[s]);
        drops[s].push(d - bases[s] - gaps_before as u64);
    }
    let g = prev.generation + 1;
    let mut next = prev.clone();
    next.shards.clear();
    let (mut removed_dirs, mut added_dirs) = (Vec::new(), Vec::new());
    for (i, s) in prev.shards.iter().enumerate() {
        if drops[i].is_empty() {
            next.shards.push(s.clone());
            continue;
        }
        removed_dirs.push(s.dir.clone());
        let name = Writer::shard_name(g, i);
        let key = format!("takedown {} {:?}", s.dir, drops[i]);
        if let Some(new) = rewrite::rewrite(dir, &prev, &[i], &drops[i..=i], &name, &key, workers)?
        {
            added_dirs.push(name);
            next.shards.push(ShardManifest {
                doc_base: Some(bases[i]),
                ..new
            });
        }
    }
    let mut all = prev.takedown.clone();
    all.extend_from_slice(&fresh);
    all.sort_unstable();
    next.takedown = all;
    next.next_doc_ix = Some(end);
    let event = Event {
        op: "takedown".into(),
        docs: fresh.clone(),
        shards_removed: removed_dirs,
        shards_added: added_dirs,
        info,
    };
    let m = w.commit(&prev, next, event)?;
    Ok(TakedownReport {
        removed: fresh,
        already,
        generation: m.generation,
    })
}

fn list(ids: &[u64]) -> String {
    let shown: Vec<String> = ids.iter().take(10).map(u64::to_string).collect();
    let more = if ids.len() > 10 {
        format!(" and {} more", ids.len() - 10)
    } else {
        String::new()
    };
    format!("{}{more}", shown.join(", "))
}

// -------------------------------------------------------------------------- compact

/// Merges neighbouring shards (smallest pairs first) until at most `max_shards` remain
/// (default: as few as a build with this memory budget would make), no merged shard larger
/// than the budget allows. Resumable: a killed compaction run again with the same options
/// keeps the merged shards it had finished. Returns the manifest afterwards (unchanged when
/// there was nothing to merge).
pub fn compact(
    dir: &Path,
    max_shards: Option<usize>,
    mem_budget: u64,
    workers: usize,
    info: serde_json::Value,
) -> Result<Manifest> {
    let w = Writer::lock(dir)?;
    let prev = w.current()?;
    let max_stream = crate::build::builder::max_shard_stream(
        &prev.index,
        prev.token_width,
        mem_budget,
        workers.max(1),
    );
    let groups = plan::merge_plan(&prev, max_shards, max_stream);
    if groups.iter().all(|g| g.len() == 1) {
        return Ok(prev);
    }
    let (bases, _) = prev.doc_bases();
    let g = prev.generation + 1;
    let mut next = prev.clone();
    next.shards.clear();
    let (mut removed_dirs, mut added_dirs) = (Vec::new(), Vec::new());
    for (k, group) in groups.iter().enumerate() {
        if group.len() == 1 {
            next.shards.push(prev.shards[group.start].clone());
            continue;
        }
        let sources: Vec<usize> = group.clone().collect();
        let name = Writer::shard_name(g, k);
        let dirs: Vec<&str> = sources
            .iter()
            .map(|&i| prev.shards[i].dir.as_str())
            .collect();
        let key = format!("compact {dirs:?}");
        let none = vec![Vec::new(); sources.len()];
        let merged = rewrite::rewrite(dir, &prev, &sources, &none, &name, &key, workers)?
            .ok_or_else(|| AnygramError::Internal("merged shards hold no documents".into()))?;
        removed_dirs.extend(dirs.iter().map(|d| d.to_string()));
        added_dirs.push(name);
        next.shards.push(ShardManifest {
            doc_base: Some(bases[group.start]),
            ..merged
        });
    }
    let event = Event {
        op: "compact".into(),
        shards_removed: removed_dirs,
        shards_added: added_dirs,
        info,
        ..Event::default()
    };
    w.commit(&prev, next, event)
}
