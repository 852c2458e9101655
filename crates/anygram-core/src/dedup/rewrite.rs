//! Writing a deduplicated JSONL file: every line as it was, except the text field of the
//! documents with something to remove. The other fields keep their order and their exact
//! bytes (each value is copied as raw JSON), so only the text changes.
//!
//! Lines are read and classified as the build reads them ([`crate::build::DocumentReader`]):
//! blank lines are no documents (kept as they are), malformed lines stop the rewrite or, with
//! `OnError::Skip`, are left out as the build left them out. The `n`-th document of the file
//! is document `first_doc + n` of the index the ranges come from; its text must have the
//! length the index has, or the index is not an index of this input.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::DocDups;
use crate::build::OnError;
use crate::error::{AnygramError, IoContext, Result};

/// What a rewrite did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewriteStats {
    /// Documents read (the index's numbering advances by this much).
    pub docs: u64,
    /// Documents whose text lost something.
    pub docs_changed: u64,
    /// Documents left out because nothing of their text was left (with `drop_empty`).
    pub docs_dropped: u64,
    /// Bytes of text read, and removed.
    pub text_bytes: u64,
    pub bytes_removed: u64,
    /// Malformed lines left out (`OnError::Skip`), with the first few.
    pub skipped: u64,
    pub skipped_examples: Vec<String>,
}

/// A JSON object's fields in their order, values as raw JSON.
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(
                self,
                mut m: M,
            ) -> std::result::Result<Self::Value, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A line's fields and its text field's position and value, or why it is not a document.
fn parse<'a>(
    line: &'a str,
    text_field: &str,
) -> std::result::Result<(Fields<'a>, usize, String), String> {
    let fields: Fields = serde_json::from_str(line).map_err(|e| {
        if line.trim_start().starts_with('{') {
            format!("not valid JSON: {e}")
        } else {
            "a JSONL line must be a JSON object".into()
        }
    })?;
    // As a JSON map keeps the last of repeated keys, the build read the last one.
    let Some(at) = fields.0.iter().rposition(|(k, _)| k == text_field) else {
        return Err(format!("no field {text_field:?}"));
    };
    let text: String = serde_json::from_str(fields.0[at].1.get())
        .map_err(|_| format!("field {text_field:?} is not a string"))?;
    Ok((fields, at, text))
}

/// `text` without the byte `ranges` (sorted, disjoint, on character boundaries).
pub fn remove_ranges(text: &str, ranges: &[(u64, u64)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0usize;
    for &(a, b) in ranges {
        let (a, b) = (a as usize, b as usize);
        out.push_str(text.get(at..a).unwrap_or_default());
        at = b;
    }
    out.push_str(text.get(at.min(text.len())..).unwrap_or_default());
    out
}

fn open_input(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).at(path)?;
    let name = path.to_string_lossy().to_lowercase();
    let raw: Box<dyn Read> = if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 20,
            file,
        )))
    } else if name.ends_with(".zst") || name.ends_with(".zstd") {
        Box::new(zstd::stream::read::Decoder::new(file).at(path)?)
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, raw)))
}

/// A writer compressing as `path`'s name says (`.gz`, `.zst`), finished by [`Output::finish`].
enum Output {
    Plain(BufWriter<File>),
    Gz(flate2::write::GzEncoder<BufWriter<File>>),
    Zst(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Output {
    fn create(path: &Path, like: &Path) -> Result<Output> {
        let file = BufWriter::with_capacity(1 << 20, File::create(path).at(path)?);
        let name = like.to_string_lossy().to_lowercase();
        Ok(if name.ends_with(".gz") {
            Output::Gz(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::default(),
            ))
        } else if name.ends_with(".zst") || name.ends_with(".zstd") {
            Output::Zst(zstd::stream::write::Encoder::new(file, 3).at(path)?)
        } else {
            Output::Plain(file)
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Plain(w) => w.write_all(bytes),
            Output::Gz(w) => w.write_all(bytes),
            Output::Zst(w) => w.write_all(bytes),
        }
    }

    /// Flushes everything and syncs the file to disk.
    fn finish(self) -> std::io::Result<()> {
        let file = match self {
            Output::Plain(w) => w.into_inner().map_err(|e| e.into_error())?,
            Output::Gz(w) => w.finish()?.into_inner().map_err(|e| e.into_error())?,
            Output::Zst(w) => w.finish()?.into_inner().map_err(|e| e.into_error())?,
        };
        file.sync_all()
    }
}

/// How to rewrite one JSONL file.
pub struct RewriteJob<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub text_field: &'a str,
    /// Index number of the file's first document.
    pub first_doc: u64,
    /// Ranges of every document with something to remove, sorted by document (any superset
    /// of this file's documents).
    pub docs: &'a [DocDups],
    pub drop_empty: bool,
    pub on_error: OnError,
    /// Lines longer than this are malformed (the build's memory budget).
    pub max_line_bytes: u64,
}

/// Rewrites `job.input` into `job.output` (compressed as the input's name says).
pub fn rewrite_jsonl(job: &RewriteJob<'_>) -> Result<RewriteStats> {
    let mut input = open_input(job.input)?;
    let mut out = Output::create(job.output, job.input)?;
    let mut stats = RewriteStats::default();
    let mut next = job.docs.partition_point(|d| d.doc < job.first_doc);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    let werr = |e: std::io::Error| AnygramError::io(job.output, e);
    loop {
        line.clear();
        let n = (&mut input)
            .take(job.max_line_bytes.saturating_add(1))
            .read_until(b'\n', &mut line)
            .at(job.input)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let problem = if n as u64 > job.max_line_bytes && line.last() != Some(&b'\n') {
            skip_rest(&mut input).at(job.input)?;
            Some(format!(
                "line longer than {} bytes (the memory budget)",
                job.max_line_bytes
            ))
        } else {
            None
        };
        let parsed = match (problem, std::str::from_utf8(&line)) {
            (Some(p), _) => Err(p),
            (None, Err(e)) => Err(format!("not valid UTF-8 ({e})")),
            (None, Ok(s)) if s.trim().is_empty() => {
                out.write_all(&line).map_err(werr)?;
                continue;
            }
            (None, Ok(s)) => parse(s.trim(), job.text_field),
        };
        let (fields, at, text) = match parsed {
            Ok(p) => p,
            Err(reason) => {
                let location = format!("{}:{line_no}", job.input.display());
                if job.on_error == OnError::Fail {
                    return Err(AnygramError::InvalidInput {
                        location,
                        detail: reason,
                    });
                }
                stats.skipped += 1;
                if stats.skipped_examples.len() < 100 {
                    stats.skipped_examples.push(format!("{location}: {reason}"));
                }
                continue;
            }
        };
        let doc = job.first_doc + stats.docs;
        stats.docs += 1;
        stats.text_bytes += text.len() as u64;
        let dups = job.docs.get(next).filter(|d| d.doc == doc);
        let Some(dups) = dups else {
            out.write_all(&line).map_err(werr)?;
            if line.last() != Some(&b'\n') {
                out.write_all(b"\n").map_err(werr)?;
            }
            continue;
        };
        next += 1;
        if dups.len != text.len() as u64 {
            return Err(AnygramError::InvalidInput {
                location: format!("{}:{line_no}", job.input.display()),
                detail: format!(
                    "the text has {} bytes where the index's document {doc} has {}: the index \
                     was not built from these inputs with this tokenizer",
                    text.len(),
                    dups.len
                ),
            });
        }
        let kept = remove_ranges(&text, &dups.ranges);
        stats.docs_changed += 1;
        stats.bytes_removed += (text.len() - kept.len()) as u64;
        if kept.is_empty() && job.drop_empty {
            stats.docs_dropped += 1;
            continue;
        }
        let mut rewritten = String::with_capacity(line.len());
        rewritten.push('{');
        for (i, (k, v)) in fields.0.iter().enumerate() {
            if i > 0 {
                rewritten.push(',');
            }
            rewritten.push_str(&serde_json::to_string(k.as_ref()).unwrap_or_default());
            rewritten.push(':');
            if i == at {
                rewritten.push_str(&serde_json::to_string(&kept).unwrap_or_default());
            } else {
                rewritten.push_str(v.get());
            }
        }
        rewritten.push_str("}\n");
        out.write_all(rewritten.as_bytes()).map_err(werr)?;
    }
    out.finish().map_err(werr)?;
    Ok(stats)
}

fn skip_rest(r: &mut dyn BufRead) -> std::io::Result<()> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                r.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_text_changes_and_other_fields_keep_their_order_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        let body = concat!(
            "{\"z\": 1.50, \"text\": \"hello world\", \"a\": [1, {\"b\": null}]}\n",
            "\n",
            "{\"text\": \"kept as is\",   \"id\": 2}\n",
            "{\"text\": \"gone\"}\n",
            "not json\n",
            "{\"id\": 4, \"text\": \"h\\u00e9llo\"}",
        );
        std::fs::write(&input, body).unwrap();
        let output = dir.path().join("out.jsonl");
        let docs = [
            DocDups {
                doc: 10,
                len: 11,
                ranges: vec![(0, 6)],
            },
            DocDups {
                doc: 12,
                len: 4,
                ranges: vec![(0, 4)],
            },
            DocDups {
                doc: 13,
                len: 6,
                ranges: vec![(1, 3)],
            },
        ];
        let job = RewriteJob {
            input: &input,
            output: &output,
            text_field: "text",
            first_doc: 10,
            docs: &docs,
            drop_empty: true,
            on_error: OnError::Skip,
            max_line_bytes: 1 << 20,
        };
        let stats = rewrite_jsonl(&job).unwrap();
        let got = std::fs::read_to_string(&output).unwrap();
        assert_eq!(
            got,
            concat!(
                "{\"z\":1.50,\"text\":\"world\",\"a\":[1, {\"b\": null}]}\n",
                "\n",
                "{\"text\": \"kept as is\",   \"id\": 2}\n",
                "{\"id\":4,\"text\":\"hllo\"}\n",
            )
        );
        assert_eq!(
            (stats.docs, stats.docs_changed, stats.docs_dropped),
            (4, 3, 1)
        );
        assert_eq!((stats.bytes_removed, stats.skipped), (6 + 4 + 2, 1));
        let err = rewrite_jsonl(&RewriteJob {
            on_error: OnError::Fail,
            ..job
        })
        .unwrap_err();
        assert!(err.to_string().contains("in.jsonl:5"), "{err}");
    }
}
