//! Reading documents from files: JSONL (plain, .gz, .zst) with one JSON object per line, and
//! plain text files holding one document each. Parquet is read by the Python front (pyarrow)
//! and handed over as batches of documents.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::error::{AnygramError, IoContext, Result};

/// A document ready for tokenization: its text and its metadata line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub text: String,
    /// `{"path": ..., "linenum": ..., "metadata": {...}}` as infini-gram writes it.
    pub meta: String,
}

/// What to do with a malformed document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Stop the build with an error naming file and line.
    Fail,
    /// Report it, skip it, and go on.
    Skip,
}

/// How documents are laid out in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Jsonl,
    Text,
}

/// Which fields of a JSON document become what.
#[derive(Debug, Clone)]
pub struct FieldOptions {
    pub text_field: String,
    /// Keep only these fields as metadata; `None` keeps every field but the text.
    pub metadata_fields: Option<Vec<String>>,
}

impl Default for FieldOptions {
    fn default() -> Self {
        FieldOptions {
            text_field: "text".into(),
            metadata_fields: None,
        }
    }
}

struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A part of a file: bytes `[start, end)`, cut at line starts, whose first line is line
/// `first_line` (0-based) of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
    pub first_line: u64,
}

/// Streams the documents of one file in batches.
pub struct DocumentReader {
    path: PathBuf,
    /// The name recorded in each document's metadata (relative to the input root).
    display_path: String,
    kind: FileKind,
    fields: FieldOptions,
    on_error: OnError,
    lines: Box<dyn BufRead + Send>,
    line_no: u64,
    /// Longest line (JSONL) or file (text) read, decompressed; longer is a malformed
    /// document, so that no input, not even `/dev/zero` behind a `.jsonl` name or a single
    /// 100 GB line, grows the build past its memory budget.
    max_line_bytes: usize,
    done: bool,
    file_bytes_read: Arc<AtomicU64>,
    /// Malformed documents skipped so far, with their location and reason (first 100).
    pub skipped: u64,
    pub skipped_examples: Vec<String>,
}

impl DocumentReader {
    pub fn open(
        path: &Path,
        display_path: &str,
        kind: FileKind,
        fields: FieldOptions,
        on_error: OnError,
    ) -> Result<DocumentReader> {
        // `-` is standard input, the one input that need not be a regular file.
        let file: Box<dyn Read + Send> = if path == Path::new(STDIN) {
            Box::new(std::io::stdin())
        } else {
            Box::new(open_regular(path)?)
        };
        Self::from_reader(path, display_path, kind, fields, on_error, file)
    }

    /// Reads only `range` of an uncompressed JSONL file (what one shard of a build plan takes),
    /// its documents numbered by their line in the whole file.
    pub fn open_range(
        path: &Path,
        display_path: &str,
        fields: FieldOptions,
        on_error: OnError,
        range: ByteRange,
    ) -> Result<DocumentReader> {
        let name = path.to_string_lossy().to_lowercase();
        if [".gz", ".zst", ".zstd"].iter().any(|s| name.ends_with(s)) || range.end < range.start {
            return Err(AnygramError::InvalidArgument(format!(
                "{}: only a part of an uncompressed JSONL file can be read, not bytes {}..{}",
                path.display(),
                range.start,
                range.end
            )));
        }
        let mut file = open_regular(path)?;
        file.seek(SeekFrom::Start(range.start)).at(path)?;
        let part = Box::new(file.take(range.end - range.start));
        let mut reader =
            Self::from_reader(path, display_path, FileKind::Jsonl, fields, on_error, part)?;
        reader.line_no = range.first_line;
        Ok(reader)
    }

    fn from_reader(
        path: &Path,
        display_path: &str,
        kind: FileKind,
        fields: FieldOptions,
        on_error: OnError,
        file: Box<dyn Read + Send>,
    ) -> Result<DocumentReader> {
        let count = Arc::new(AtomicU64::new(0));
        let counted = CountingReader {
            inner: file,
            count: count.clone(),
        };
        let name = path.to_string_lossy().to_lowercase();
        let raw: Box<dyn Read + Send> = if name.ends_with(".gz") {
            Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
                1 << 20,
                counted,
            )))
        } else if name.ends_with(".zst") || name.ends_with(".zstd") {
            Box::new(zstd::stream::read::Decoder::new(counted).at(path)?)
        } else {
            Box::new(counted)
        };
        Ok(DocumentReader {
            path: path.to_path_buf(),
            display_path: display_path.to_string(),
            kind,
            fields,
            on_error,
            lines: Box::new(BufReader::with_capacity(1 << 20, raw)),
            line_no: 0,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            done: false,
            file_bytes_read: count,
            skipped: 0,
            skipped_examples: Vec::new(),
        })
    }

    /// Caps a line (a text file: the whole file) at `n` bytes; the build passes its memory
    /// budget.
    pub fn with_max_line_bytes(mut self, n: usize) -> Self {
        self.max_line_bytes = n.max(1);
        self
    }

    /// Bytes of the file (compressed, if it is) read so far: progress against its size.
    pub fn file_bytes_read(&self) -> u64 {
        self.file_bytes_read.load(Ordering::Relaxed)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads documents until about `max_bytes` of text; an empty batch means the file is done.
    pub fn next_batch(&mut self, max_bytes: usize) -> Result<Vec<Document>> {
        if self.done {
            return Ok(Vec::new());
        }
        match self.kind {
            FileKind::Text => {
                self.done = true;
                let mut bytes = Vec::new();
                let cap = self.max_line_bytes as u64;
                (&mut self.lines)
                    .take(cap.saturating_add(1))
                    .read_to_end(&mut bytes)
                    .at(&self.path)?;
                if bytes.len() as u64 > cap {
                    let detail = format!("a text file longer than {cap} bytes (the memory budget)");
                    self.malformed(0, detail)?;
                    return Ok(Vec::new());
                }
                match String::from_utf8(bytes) {
                    Ok(text) => Ok(vec![Document {
                        text,
                        meta: metadata_line(&self.display_path, 0, &Map::new()),
                    }]),
                    Err(e) => {
                        self.malformed(0, format!("not valid UTF-8 ({})", e.utf8_error()))?;
                        Ok(Vec::new())
                    }
                }
            }
            FileKind::Jsonl => self.next_jsonl_batch(max_bytes),
        }
    }

    fn next_jsonl_batch(&mut self, max_bytes: usize) -> Result<Vec<Document>> {
        // Read raw lines serially, then parse them in parallel: JSON decoding is the cost.
        let mut lines: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut bytes = 0usize;
        let mut too_long = Vec::new();
        while bytes < max_bytes {
            let mut line = Vec::new();
            let cap = self.max_line_bytes as u64;
            let n = (&mut self.lines)
                .take(cap.saturating_add(1))
                .read_until(b'\n', &mut line)
                .at(&self.path)?;
            if n == 0 {
                self.done = true;
                break;
            }
            let line_no = self.line_no;
            self.line_no += 1;
            if n as u64 > cap && line.last() != Some(&b'\n') {
                // Over the cap: drop what was read, skip to the line's end without keeping it.
                drop(line);
                bytes += skip_line(&mut self.lines).at(&self.path)?;
                too_long.push(line_no);
                continue;
            }
            bytes += n;
            lines.push((line_no, line));
        }
        for no in too_long {
            let cap = self.max_line_bytes;
            self.malformed(
                no,
                format!("line longer than {cap} bytes (the memory budget)"),
            )?;
        }
        let fields = &self.fields;
        let display = &self.display_path;
        let parsed: Vec<(u64, Result<Option<Document>, String>)> = lines
            .into_par_iter()
            .map(|(no, line)| (no, parse_json_line(&line, no, display, fields)))
            .collect();
        let mut docs = Vec::with_capacity(parsed.len());
        for (no, r) in parsed {
            match r {
                Ok(Some(d)) => docs.push(d),
                Ok(None) => {}
                Err(reason) => self.malformed(no, reason)?,
            }
        }
        if docs.is_empty() && !self.done {
            // Every line of the batch was skipped: keep reading rather than signal the end.
            return self.next_jsonl_batch(max_bytes);
        }
        Ok(docs)
    }

    fn malformed(&mut self, line_no: u64, reason: String) -> Result<()> {
        let location = format!("{}:{}", self.path.display(), line_no + 1);
        match self.on_error {
            OnError::Fail => Err(AnygramError::InvalidInput {
                location,
                detail: reason,
            }),
            OnError::Skip => {
                self.skipped += 1;
                if self.skipped_examples.len() < 100 {
                    self.skipped_examples.push(format!("{location}: {reason}"));
                }
                Ok(())
            }
        }
    }
}

/// The input path that means standard input.
pub const STDIN: &str = "-";

/// Lines and text files longer than this are refused unless the caller sets its own cap (the
/// build passes its memory budget): the build's default budget.
pub const DEFAULT_MAX_LINE_BYTES: usize = 8 << 30;

/// Opens an input for reading, refusing anything but a regular file: a FIFO would block the
/// open (and the build) until a writer came, and a device such as `/dev/zero` never ends.
/// Checked with `stat` before opening, since opening is what blocks on a FIFO.
fn open_regular(path: &Path) -> Result<File> {
    let meta = std::fs::metadata(path).at(path)?;
    if !meta.is_file() {
        return Err(AnygramError::InvalidInput {
            location: path.display().to_string(),
            detail: "not a regular file (a FIFO, device, socket or directory); inputs must be \
                     regular files"
                .into(),
        });
    }
    File::open(path).at(path)
}

/// Consumes the rest of a line (through its newline) without keeping it; returns the bytes
/// skipped.
fn skip_line(r: &mut dyn BufRead) -> std::io::Result<usize> {
    let mut skipped = 0;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(skipped);
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                r.consume(i + 1);
                return Ok(skipped + i + 1);
            }
            None => {
                let n = buf.len();
                r.consume(n);
                skipped += n;
            }
        }
    }
}

/// Parses one JSONL line; `Ok(None)` for a blank line.
fn parse_json_line(
    line: &[u8],
    line_no: u64,
    display: &str,
    fields: &FieldOptions,
) -> Result<Option<Document>, String> {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let text = std::str::from_utf8(trimmed).map_err(|e| format!("not valid UTF-8 ({e})"))?;
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(mut obj) = value else {
        return Err("a JSONL line must be a JSON object".into());
    };
    let text = match obj.remove(&fields.text_field) {
        Some(Value::String(s)) => s,
        Some(_) => return Err(format!("field {:?} is not a string", fields.text_field)),
        None => return Err(format!("no field {:?}", fields.text_field)),
    };
    let meta = match &fields.metadata_fields {
        None => obj,
        Some(keep) => keep
            .iter()
            .filter_map(|k| obj.remove(k).map(|v| (k.clone(), v)))
            .collect(),
    };
    Ok(Some(Document {
        text,
        meta: metadata_line(display, line_no, &meta),
    }))
}

/// The metadata line stored for a document (infini-gram's layout).
pub fn metadata_line(path: &str, line_no: u64, meta: &Map<String, Value>) -> String {
    let mut m = Map::new();
    m.insert("path".into(), Value::String(path.to_string()));
    m.insert("linenum".into(), Value::from(line_no));
    m.insert("metadata".into(), Value::Object(meta.clone()));
    Value::Object(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(path: &Path, kind: FileKind, on_error: OnError) -> Result<DocumentReader> {
        DocumentReader::open(path, "x", kind, FieldOptions::default(), on_error)
    }

    fn texts(r: &mut DocumentReader) -> Result<Vec<String>> {
        let mut out = Vec::new();
        loop {
            let batch = r.next_batch(1 << 20)?;
            if batch.is_empty() {
                return Ok(out);
            }
            out.extend(batch.into_iter().map(|d| d.text));
        }
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("in.jsonl");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.map(|s| s.success()).unwrap_or(false) {
            let err = reader(&fifo, FileKind::Jsonl, OnError::Fail).err().unwrap();
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
        for dev in ["/dev/zero", "/dev/null"] {
            if Path::new(dev).exists() {
                let err = reader(Path::new(dev), FileKind::Text, OnError::Skip)
                    .err()
                    .unwrap();
                assert!(matches!(err, AnygramError::InvalidInput { .. }), "{err}");
                assert!(err.to_string().contains(dev), "{err}");
            }
        }
        let err = reader(dir.path(), FileKind::Text, OnError::Fail)
            .err()
            .unwrap();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn a_line_past_the_cap_is_a_malformed_document_named_by_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let long = format!("{{\"text\": \"{}\"}}\n", "a".repeat(5000));
        let body = format!("{{\"text\": \"one\"}}\n{long}{{\"text\": \"three\"}}\n{long}");
        std::fs::write(&path, body).unwrap();
        let mut r = reader(&path, FileKind::Jsonl, OnError::Fail)
            .unwrap()
            .with_max_line_bytes(1000);
        let err = texts(&mut r).err().unwrap();
        assert!(matches!(err, AnygramError::InvalidInput { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("c.jsonl:2") && msg.contains("longer than 1000 bytes"),
            "{msg}"
        );
        let mut r = reader(&path, FileKind::Jsonl, OnError::Skip)
            .unwrap()
            .with_max_line_bytes(1000);
        assert_eq!(texts(&mut r).unwrap(), ["one", "three"]);
        assert_eq!(r.skipped, 2);
        // A line exactly at the cap (newline included) is kept.
        let mut r = reader(&path, FileKind::Jsonl, OnError::Fail)
            .unwrap()
            .with_max_line_bytes(long.len());
        assert_eq!(texts(&mut r).unwrap().len(), 4);
    }

    #[test]
    fn a_text_file_past_the_cap_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        std::fs::write(&path, "b".repeat(3000)).unwrap();
        let mut r = reader(&path, FileKind::Text, OnError::Fail)
            .unwrap()
            .with_max_line_bytes(2999);
        assert!(texts(&mut r).unwrap_err().to_string().contains("big.txt:1"));
        let mut r = reader(&path, FileKind::Text, OnError::Fail)
            .unwrap()
            .with_max_line_bytes(3000);
        assert_eq!(texts(&mut r).unwrap()[0].len(), 3000);
    }
}
