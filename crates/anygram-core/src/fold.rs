//! Case folding of `--fold-case` indexes (byte-level): the indexed text is folded, the original
//! kept as patches, so documents come back as written.
//!
//! **The fold.** Unicode simple case folding (`CaseFolding.txt`, statuses C and S: one character
//! to one character, ICU4X's `simple_fold`), applied to each character whose folded form has
//! the same UTF-8 length. The few characters whose simple fold changes the length (e.g. the
//! Kelvin sign U+212A → `k`, `ẞ` U+1E9E → `ß`, `Ω` U+2126 → `ω`, `ı`-less forms, ...) are left as
//! they are. So the folded text has exactly the original's byte length: every position, pointer,
//! document offset and window is the same in both, and a query is folded the same way.
//!
//! **Patches** (`case.bin`, per shard): the original byte at every position where it differs
//! from the folded one, grouped by blocks of [`BLOCK`] positions: a header (`u64` blocks), the
//! index of each block's first patch (`u64`, one per block plus the end), then one 3-byte record
//! per patch (offset in its block, `u16` little-endian; the original byte). Restoring a window
//! reads only its blocks' patches.

use icu_casemap::CaseMapper;

use crate::error::{AnygramError, Result};
use crate::storage::FileBytes;

/// Positions per patch block.
pub const BLOCK: u64 = 4096;
/// Bytes per patch record.
const RECORD: usize = 3;

/// The simple case fold of `c` when it keeps `c`'s UTF-8 length, else `c`.
#[inline]
pub fn fold_char(c: char) -> char {
    let f = CaseMapper::new().simple_fold(c);
    if f.len_utf8() == c.len_utf8() {
        f
    } else {
        c
    }
}

/// `text` folded, appended to `out` (exactly `text.len()` bytes).
pub fn fold_into(text: &str, out: &mut Vec<u8>) {
    if text.is_ascii() {
        out.extend(text.bytes().map(|b| b.to_ascii_lowercase()));
        return;
    }
    let mut buf = [0u8; 4];
    for c in text.chars() {
        out.extend_from_slice(fold_char(c).encode_utf8(&mut buf).as_bytes());
    }
}

/// `text` folded.
pub fn fold(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    fold_into(text, &mut out);
    // Folding maps characters to characters of the same length: still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Patches being collected, in stream order, in the layout of `case.bin`.
#[derive(Default)]
pub struct PatchWriter {
    /// Index of each started block's first patch.
    starts: Vec<u64>,
    records: Vec<u8>,
}

impl PatchWriter {
    /// Records that the original byte at stream position `pos` is `byte` (positions ascending).
    #[inline]
    pub fn push(&mut self, pos: u64, byte: u8) {
        let block = (pos / BLOCK) as usize;
        let count = (self.records.len() / RECORD) as u64;
        while self.starts.len() <= block {
            self.starts.push(count);
        }
        let off = (pos % BLOCK) as u16;
        self.records.extend_from_slice(&off.to_le_bytes());
        self.records.push(byte);
    }

    /// Patches of `original` against `folded`, both starting at stream position `at`.
    pub fn diff(&mut self, at: u64, original: &[u8], folded: &[u8]) {
        for (i, (&a, &b)) in original.iter().zip(folded).enumerate() {
            if a != b {
                self.push(at + i as u64, a);
            }
        }
    }

    /// Bytes of memory held.
    pub fn bytes(&self) -> usize {
        self.records.len() + self.starts.len() * 8
    }

    /// The file's bytes for a stream of `stream_len` positions.
    pub fn finish(mut self, stream_len: u64) -> Vec<u8> {
        let blocks = stream_len.div_ceil(BLOCK) as usize;
        let count = (self.records.len() / RECORD) as u64;
        self.starts.resize(blocks + 1, count);
        let mut out = Vec::with_capacity(8 * (blocks + 2) + self.records.len());
        out.extend_from_slice(&(blocks as u64).to_le_bytes());
        for s in &self.starts {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out.extend_from_slice(&self.records);
        out
    }
}

/// An opened `case.bin`.
pub struct Patches {
    file: FileBytes,
    blocks: usize,
}

impl Patches {
    /// Checks the file against a stream of `stream_len` positions (linear in its blocks, one
    /// per [`BLOCK`] positions).
    pub fn open(file: FileBytes, stream_len: u64, path: &std::path::Path) -> Result<Patches> {
        let bad = |d: &str| AnygramError::corrupt(path, d);
        let bytes = file.as_bytes();
        let blocks = stream_len.div_ceil(BLOCK) as usize;
        let head = 8 * (blocks + 2);
        if bytes.len() < head
            || u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default()) != blocks as u64
        {
            return Err(bad("case patches do not match the stream length"));
        }
        let p = Patches { file, blocks };
        let starts: Vec<u64> = (0..=blocks).map(|b| p.start(b)).collect();
        let records = (p.file.len() - head) / RECORD;
        if (p.file.len() - head) % RECORD != 0
            || starts[0] != 0
            || starts[blocks] != records as u64
            || starts.windows(2).any(|w| w[0] > w[1])
        {
            return Err(bad("case patch index is inconsistent"));
        }
        Ok(p)
    }

    fn start(&self, block: usize) -> u64 {
        let at = 8 * (block + 1);
        self.file
            .as_bytes()
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    }

    /// Puts the original bytes back into `ids`, the folded stream from position `from`.
    pub fn restore<T: crate::token::Token>(&self, from: u64, ids: &mut [T]) {
        let to = from + ids.len() as u64;
        let records = &self.file.as_bytes()[8 * (self.blocks + 2)..];
        let (first, last) = ((from / BLOCK) as usize, to.div_ceil(BLOCK) as usize);
        for block in first..last.min(self.blocks) {
            let base = block as u64 * BLOCK;
            for r in self.start(block)..self.start(block + 1) {
                let Some(rec) = records.get(r as usize * RECORD..(r as usize + 1) * RECORD) else {
                    return;
                };
                let pos = base + u16::from_le_bytes([rec[0], rec[1]]) as u64;
                if (from..to).contains(&pos) {
                    ids[(pos - from) as usize] = T::from_u32(rec[2] as u32);
                }
            }
        }
    }

    pub fn size_bytes(&self) -> u64 {
        self.file.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_lengths_and_folds_simply() {
        for (a, b) in [
            ("Hello WORLD", "hello world"),
            ("ΣΑΣ ς", "σασ σ"),
            ("Ćwierć İstanbul", "ćwierć İstanbul"), // İ folds only in full/Turkic folding
            ("straße STRASSE", "straße strasse"),
            ("\u{212A}elvin \u{1E9E}", "\u{212A}elvin \u{1E9E}"), // length would change: kept
            ("\u{10400}", "\u{10428}"),                           // Deseret, 4 bytes each
        ] {
            assert_eq!(fold(a), b);
            assert_eq!(fold(a).len(), a.len());
        }
    }

    #[test]
    fn patches_restore_every_window() {
        let original: Vec<u8> = "ÄbC dEF ".repeat(2000).into_bytes();
        let mut folded = Vec::new();
        fold_into(std::str::from_utf8(&original).unwrap(), &mut folded);
        let mut w = PatchWriter::default();
        w.diff(0, &original, &folded);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.bin");
        std::fs::write(&path, w.finish(original.len() as u64)).unwrap();
        let file = FileBytes::open(&path, false, false).unwrap();
        let p = Patches::open(file, original.len() as u64, &path).unwrap();
        for (from, to) in [
            (0usize, 10usize),
            (4090, 4200),
            (0, original.len()),
            (9000, 9001),
        ] {
            let mut window = folded[from..to].to_vec();
            p.restore(from as u64, &mut window);
            assert_eq!(window, &original[from..to]);
        }
    }
}
