//! Encode JSONL documents (field `text`) with anygram-bpe, for parity checks and speed runs.
//!
//! ```text
//! anygram-bpe-encode (--tokenizer tokenizer.json | --tiktoken FILE --pattern cl100k|o200k|r50k)
//!                    [--threads N] [--format bin|text] [--output PATH] [FILE.jsonl ...]
//! ```
//!
//! Reads every document first (stdin when no file is given), then times only the encoding,
//! so the figure on stderr (one JSON object) is the tokenizer's speed, not JSON parsing or I/O.
//! `--threads 1` encodes on the calling thread; more uses `encode_batch` on a rayon pool of
//! that size. Output per document: `bin` is a little-endian u32 count followed by the u32 ids;
//! `text` is one line of space-separated ids.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anygram_bpe::{BpeTokenizer, TiktokenPattern};

struct Args {
    tokenizer: Option<PathBuf>,
    tiktoken: Option<PathBuf>,
    pattern: TiktokenPattern,
    threads: usize,
    text_format: bool,
    output: Option<PathBuf>,
    inputs: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        tokenizer: None,
        tiktoken: None,
        pattern: TiktokenPattern::Cl100k,
        threads: 1,
        text_format: false,
        output: None,
        inputs: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--tokenizer" => args.tokenizer = Some(value()?.into()),
            "--tiktoken" => args.tiktoken = Some(value()?.into()),
            "--pattern" => {
                args.pattern = match value()?.as_str() {
                    "cl100k" => TiktokenPattern::Cl100k,
                    "o200k" => TiktokenPattern::O200k,
                    "r50k" => TiktokenPattern::R50k,
                    other => return Err(format!("unknown pattern {other}")),
                }
            }
            "--threads" => {
                args.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?;
            }
            "--format" => {
                args.text_format = match value()?.as_str() {
                    "text" => true,
                    "bin" => false,
                    other => return Err(format!("unknown format {other}")),
                }
            }
            "--output" => args.output = Some(value()?.into()),
            "-h" | "--help" => return Err(String::new()),
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ => args.inputs.push(a.into()),
        }
    }
    if args.tokenizer.is_some() == args.tiktoken.is_some() {
        return Err("give exactly one of --tokenizer and --tiktoken".into());
    }
    Ok(args)
}

fn read_docs(reader: impl Read, docs: &mut Vec<String>) -> Result<(), String> {
    for line in BufReader::new(reader).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
        match v.get("text").and_then(|t| t.as_str()) {
            Some(t) => docs.push(t.to_owned()),
            None => return Err(format!("line without string field \"text\": {line:.80}")),
        }
    }
    Ok(())
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let tok = match (&args.tokenizer, &args.tiktoken) {
        (Some(p), _) => BpeTokenizer::from_tokenizer_json_file(p),
        (_, Some(p)) => BpeTokenizer::from_tiktoken_file(p, args.pattern),
        _ => unreachable!("checked in parse_args"),
    }
    .map_err(|e| e.to_string())?;

    let mut docs = Vec::new();
    if args.inputs.is_empty() {
        read_docs(std::io::stdin().lock(), &mut docs)?;
    }
    for p in &args.inputs {
        let f = std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
        read_docs(f, &mut docs)?;
    }
    let bytes: usize = docs.iter().map(String::len).sum();

    let start = Instant::now();
    let ids: Vec<Vec<u32>> = if args.threads <= 1 {
        docs.iter().map(|d| tok.encode(d)).collect()
    } else {
        let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build()
            .map_err(|e| e.to_string())?
            .install(|| tok.encode_batch(&refs))
    };
    let secs = start.elapsed().as_secs_f64();
    let tokens: usize = ids.iter().map(Vec::len).sum();

    let sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::new(sink);
    let io = |e: std::io::Error| e.to_string();
    for doc in &ids {
        if args.text_format {
            let line: Vec<String> = doc.iter().map(u32::to_string).collect();
            writeln!(w, "{}", line.join(" ")).map_err(io)?;
        } else {
            w.write_all(&(doc.len() as u32).to_le_bytes()).map_err(io)?;
            for id in doc {
                w.write_all(&id.to_le_bytes()).map_err(io)?;
            }
        }
    }
    w.flush().map_err(io)?;
    eprintln!(
        "{{\"docs\": {}, \"bytes\": {bytes}, \"tokens\": {tokens}, \"threads\": {}, \
         \"encode_seconds\": {secs:.4}, \"mb_per_s\": {:.2}}}",
        docs.len(),
        args.threads,
        bytes as f64 / 1e6 / secs
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("anygram-bpe-encode: {e}");
            }
            eprintln!(
                "usage: anygram-bpe-encode (--tokenizer tokenizer.json | --tiktoken FILE \
                 --pattern cl100k|o200k|r50k) [--threads N] [--format bin|text] \
                 [--output PATH] [FILE.jsonl ...]"
            );
            ExitCode::FAILURE
        }
    }
}
