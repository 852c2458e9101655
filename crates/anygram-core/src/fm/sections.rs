//! A file of several arrays ("sections"): a header naming each section's byte range, every
//! section starting on a 64-byte boundary, so that a mapped file can be viewed as u64s in place
//! and cache-line-sized records stay within one line.
//! Reading checks every range against the file, so a truncated or corrupt file is an error at
//! open, never an out-of-bounds access later.

use std::ops::Range;

const MAGIC: u64 = u64::from_le_bytes(*b"AGFMSEC1");
const ALIGN: usize = 64;

/// Lays out sections into one byte buffer.
#[derive(Default)]
pub struct SectionWriter {
    parts: Vec<Vec<u8>>,
}

impl SectionWriter {
    pub fn push(&mut self, bytes: Vec<u8>) {
        self.parts.push(bytes);
    }

    pub fn push_u64s(&mut self, values: &[u64]) {
        self.push(bytemuck::cast_slice(values).to_vec());
    }

    /// Header (magic, count, then `(offset, len)` per section), then the sections, each starting
    /// at a multiple of `ALIGN` bytes; the file ends where the last section does.
    pub fn finish(self) -> Vec<u8> {
        let header = (16 + 16 * self.parts.len()).next_multiple_of(ALIGN);
        let mut out = Vec::with_capacity(
            header
                + self
                    .parts
                    .iter()
                    .map(|p| p.len().next_multiple_of(ALIGN))
                    .sum::<usize>(),
        );
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&(self.parts.len() as u64).to_le_bytes());
        let mut offset = header;
        for p in &self.parts {
            out.extend_from_slice(&(offset as u64).to_le_bytes());
            out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            offset += p.len().next_multiple_of(ALIGN);
        }
        out.resize(header, 0);
        for (i, p) in self.parts.iter().enumerate() {
            out.extend_from_slice(p);
            if i + 1 < self.parts.len() {
                out.resize(out.len().next_multiple_of(ALIGN), 0);
            }
        }
        out
    }
}

/// The byte ranges of a file's sections; `None` when the header does not describe `expect`
/// aligned, non-overlapping sections of which the last ends the file.
pub fn read_sections(bytes: &[u8], expect: usize) -> Option<Vec<Range<usize>>> {
    let word = |i: usize| -> Option<u64> {
        let b = bytes.get(8 * i..8 * i + 8)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    };
    if word(0)? != MAGIC || word(1)? != expect as u64 {
        return None;
    }
    let mut prev_end = 16 + 16 * expect;
    let mut ranges = Vec::with_capacity(expect);
    for i in 0..expect {
        let start = usize::try_from(word(2 + 2 * i)?).ok()?;
        let len = usize::try_from(word(3 + 2 * i)?).ok()?;
        let end = start.checked_add(len)?;
        if start % 8 != 0 || start < prev_end || end > bytes.len() {
            return None;
        }
        prev_end = end;
        ranges.push(start..end);
    }
    (prev_end == bytes.len()).then_some(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_and_truncation_is_caught() {
        let mut w = SectionWriter::default();
        w.push(vec![1, 2, 3]);
        w.push_u64s(&[7, 8]);
        w.push(Vec::new());
        let bytes = w.finish();
        let r = read_sections(&bytes, 3).unwrap();
        assert_eq!(&bytes[r[0].clone()], &[1, 2, 3]);
        assert_eq!(
            &bytes[r[1].clone()],
            bytemuck::cast_slice::<u64, u8>(&[7, 8])
        );
        assert!(r[2].is_empty());
        assert!(read_sections(&bytes, 2).is_none());
        assert!(read_sections(&bytes[..bytes.len() - 1], 3).is_none());
        let mut bad = bytes.clone();
        bad[0] ^= 1;
        assert!(read_sections(&bad, 3).is_none());
    }
}
