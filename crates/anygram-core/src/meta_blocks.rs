//! `meta.blocks`: the documents' metadata compressed in independently decodable blocks (the FM
//! kind's replacement for `meta.jsonl` + `meta.idx`, whose 8-byte offsets and plain JSON were
//! about 0.8% of the text on the shared corpus; see `benchmarks/RESULTS.md`, "Issue 12 — the
//! size target").
//!
//! Layout (little-endian u64 words, then bytes):
//! - header `[MAGIC, docs, docs_per_block, blocks]`;
//! - `blocks + 1` byte offsets of the frames in the file (the first right after the table, the
//!   last the file's length);
//! - one zstd frame per block of `docs_per_block` documents (the last may hold fewer), whose
//!   content is the block's documents' metadata lengths as LEB128 varints, then their bytes.
//!
//! A document's metadata reads one frame, streamed up to the document's end (a block of 64 is
//! ~7.5 KB of JSON on the shared corpus, decoded in microseconds), so memory never follows a
//! corrupt length or frame header further than the frame really decodes. Every inconsistency is
//! a `CorruptIndex` naming the file, never a panic.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use crate::error::{AnygramError, Result};

/// "anygmeta" as a little-endian word: the file's first word.
const MAGIC: u64 = u64::from_le_bytes(*b"anygmeta");
/// Header words.
const HEADER: usize = 4;
/// Documents per block: 64 (~7.5 KB of JSON per block on the shared corpus) compress to 16%
/// of `meta.jsonl` at level 19; 128 would save 1% more of it for twice the decode per read.
pub const DOCS_PER_BLOCK: u64 = 64;
/// zstd level: the metadata is small next to the text (0.1–0.2 s for the shared corpus).
const LEVEL: i32 = 19;

/// Encodes the metadata `meta` of `index.len() - 1` documents (document `d`'s bytes are
/// `meta[index[d]..index[d + 1]]`).
pub fn encode(meta: &[u8], index: &[u64]) -> Result<Vec<u8>> {
    let docs = index.len().saturating_sub(1) as u64;
    let blocks = docs.div_ceil(DOCS_PER_BLOCK);
    let mut out: Vec<u64> = vec![MAGIC, docs, DOCS_PER_BLOCK, blocks];
    out.resize(HEADER + blocks as usize + 1, 0);
    let mut bytes: Vec<u8> = bytemuck::cast_slice(&out).to_vec();
    let mut offsets = Vec::with_capacity(blocks as usize + 1);
    let mut raw = Vec::new();
    let mut z = zstd::bulk::Compressor::new(LEVEL).map_err(zstd_error)?;
    for b in 0..blocks {
        let (lo, hi) = (
            (b * DOCS_PER_BLOCK) as usize,
            ((b + 1) * DOCS_PER_BLOCK).min(docs) as usize,
        );
        raw.clear();
        for d in lo..hi {
            put_varint(&mut raw, index[d + 1] - index[d]);
        }
        raw.extend_from_slice(&meta[index[lo] as usize..index[hi] as usize]);
        offsets.push(bytes.len() as u64);
        bytes.extend_from_slice(&z.compress(&raw).map_err(zstd_error)?);
    }
    offsets.push(bytes.len() as u64);
    let table = bytemuck::cast_slice::<u64, u8>(&offsets);
    bytes[HEADER * 8..HEADER * 8 + table.len()].copy_from_slice(table);
    Ok(bytes)
}

fn zstd_error(e: std::io::Error) -> AnygramError {
    AnygramError::InvalidArgument(format!("compressing the metadata: {e}"))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A varint from `r`; `None` at the end of the data or past 64 bits.
fn read_varint(r: &mut impl Read) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8];
        r.read_exact(&mut b).ok()?;
        v |= u64::from(b[0] & 0x7F).checked_shl(shift)?;
        if b[0] & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The table of a `meta.blocks` file, checked against the document count: the frames'
/// offsets (linear in blocks).
pub fn check(bytes: &[u8], docs: u64) -> std::result::Result<(), &'static str> {
    let words = words(bytes).ok_or("truncated or misaligned header")?;
    let &[magic, d, per, blocks] = words.get(..HEADER).ok_or("truncated header")? else {
        return Err("truncated header");
    };
    if magic != MAGIC {
        return Err("not a metadata blocks file");
    }
    if d != docs || per == 0 || blocks != docs.div_ceil(per) {
        return Err("document or block count does not match the manifest");
    }
    let offsets = words
        .get(HEADER..HEADER + blocks as usize + 1)
        .ok_or("truncated block table")?;
    let table_end = ((HEADER as u64 + blocks + 1) * 8, bytes.len() as u64);
    if offsets.first() != Some(&table_end.0)
        || offsets.last() != Some(&table_end.1)
        || offsets.windows(2).any(|w| w[0] >= w[1])
    {
        return Err("block offsets are not increasing to the end of the file (truncated?)");
    }
    Ok(())
}

/// The u64 words of the file's start (the header and table), as many as are whole.
fn words(bytes: &[u8]) -> Option<&[u64]> {
    bytemuck::try_cast_slice(bytes.get(..bytes.len() / 8 * 8)?).ok()
}

/// Document `doc`'s metadata from a file that passed [`check`]; `path` names it in errors.
pub fn metadata(bytes: &[u8], doc: u64, path: &Path) -> Result<Cow<'static, str>> {
    let bad = |detail: &str| AnygramError::corrupt(path, detail);
    let words = words(bytes).unwrap_or(&[]);
    let (docs, per) = match words.get(1..3) {
        Some(&[d, p]) if p > 0 => (d, p),
        _ => return Err(bad("bad header")),
    };
    if doc >= docs {
        return Err(AnygramError::InvalidQuery(format!(
            "no document {doc} in shard"
        )));
    }
    let b = (doc / per) as usize;
    let frame = match words.get(HEADER + b..HEADER + b + 2) {
        Some(&[lo, hi]) if lo < hi => bytes.get(lo as usize..hi as usize),
        _ => None,
    }
    .ok_or_else(|| bad("bad block offsets"))?;
    let mut z = zstd::stream::read::Decoder::with_buffer(frame)
        .map_err(|_| bad("cannot start decoding a metadata block"))?
        .single_frame();
    let in_block = (docs - doc / per * per).min(per);
    let j = doc % per;
    let (mut skip, mut len) = (0u64, 0u64);
    for i in 0..in_block {
        let l = read_varint(&mut z).ok_or_else(|| bad("corrupt metadata block"))?;
        if i < j {
            skip = skip.saturating_add(l);
        } else if i == j {
            len = l;
        }
    }
    let skipped = std::io::copy(&mut (&mut z).take(skip), &mut std::io::sink())
        .map_err(|_| bad("corrupt metadata block"))?;
    let mut out = Vec::new();
    (&mut z)
        .take(len)
        .read_to_end(&mut out)
        .map_err(|_| bad("corrupt metadata block"))?;
    if skipped != skip || out.len() as u64 != len {
        return Err(bad("metadata block is shorter than its lengths"));
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| bad("metadata is not UTF-8"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample(docs: usize) -> (Vec<u8>, Vec<u64>) {
        let mut meta = Vec::new();
        let mut index = vec![0u64];
        for d in 0..docs {
            // Empty, short and long (multi-byte varint) entries.
            let m = match d % 5 {
                0 => String::new(),
                1 => "x".repeat(300 + d),
                _ => format!("{{\"path\":\"f{}.jsonl\",\"linenum\":{d},\"é\":1}}", d % 3),
            };
            meta.extend_from_slice(m.as_bytes());
            index.push(meta.len() as u64);
        }
        (meta, index)
    }

    #[test]
    fn every_document_reads_back() {
        let p = Path::new("meta.blocks");
        for docs in [1usize, 63, 64, 65, 200] {
            let (meta, index) = sample(docs);
            let file = encode(&meta, &index).unwrap();
            check(&file, docs as u64).unwrap();
            for d in 0..docs {
                let want = std::str::from_utf8(&meta[index[d] as usize..index[d + 1] as usize]);
                assert_eq!(metadata(&file, d as u64, p).unwrap(), want.unwrap());
            }
            assert!(matches!(
                metadata(&file, docs as u64, p),
                Err(AnygramError::InvalidQuery(_))
            ));
            assert!(check(&file, docs as u64 + 1).is_err());
        }
    }

    #[test]
    fn truncated_and_flipped_files_are_errors() {
        let p = Path::new("meta.blocks");
        let (meta, index) = sample(150);
        let file = encode(&meta, &index).unwrap();
        for cut in [1usize, 7, 8, 40, file.len() / 2, file.len() - 1] {
            assert!(check(&file[..file.len() - cut], 150).is_err(), "cut {cut}");
        }
        for at in 0..file.len() {
            let mut bad = file.clone();
            bad[at] ^= 0x41;
            if check(&bad, 150).is_err() {
                continue;
            }
            for d in 0..150 {
                match metadata(&bad, d, p) {
                    Ok(_) | Err(AnygramError::CorruptIndex { .. }) => {}
                    Err(e) => panic!("flip at {at}, document {d}: {e}"),
                }
            }
        }
    }
}
