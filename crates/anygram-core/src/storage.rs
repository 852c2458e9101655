//! Read-only bytes of one index file, memory-mapped (the default: opening is instant and the
//! page cache is shared between processes) or read into RAM (no page faults on first use).

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use crate::error::{IoContext, Result};

/// The bytes of one file. RAM copies live in a `Vec<u64>` so that every file is 8-byte aligned,
/// as a mapping is, and can be viewed as a slice of u16/u32/u64 without copying.
pub enum FileBytes {
    Mapped(Mmap),
    Ram { words: Vec<u64>, len: usize },
    Empty,
}

impl FileBytes {
    /// `populate` maps with the page tables filled in up front (reading what is not cached), so
    /// that no query pays a page fault later: slower to open, steadier tail latency.
    pub fn open(path: &Path, load_to_ram: bool, populate: bool) -> Result<FileBytes> {
        let file = File::open(path).at(path)?;
        let len = file.metadata().at(path)?.len() as usize;
        if len == 0 {
            return Ok(FileBytes::Empty);
        }
        if load_to_ram {
            use std::io::Read;
            let mut words = vec![0u64; len.div_ceil(8)];
            let buf: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
            (&file).read_exact(&mut buf[..len]).at(path)?;
            Ok(FileBytes::Ram { words, len })
        } else {
            // SAFETY: index files are immutable once their manifest is written; a reader that
            // shares a directory with a writer replacing files is outside what anygram supports
            // (builds write new files under temporary names and never modify finished ones).
            let mut options = memmap2::MmapOptions::new();
            if populate {
                options.populate();
            }
            let map = unsafe { options.map(&file) }.at(path)?;
            #[cfg(unix)]
            {
                // Queries jump around the suffix array: read-ahead would only evict useful pages.
                let _ = map.advise(memmap2::Advice::Random);
            }
            Ok(FileBytes::Mapped(map))
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Ram { words, len } => &bytemuck::cast_slice(words)[..*len],
            FileBytes::Empty => &[],
        }
    }

    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
