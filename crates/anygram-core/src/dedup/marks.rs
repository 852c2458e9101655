//! The positions found to start a duplicate window, as a bit set that several threads fill at
//! once, and the per-document ranges they add up to.

use std::sync::atomic::{AtomicU64, Ordering};

/// One bit per stream position: set when the `min_len`-token window starting there is to be
/// removed. Shared by the threads that mark (`fetch_or`), read once they are done.
pub struct Marks {
    words: Vec<AtomicU64>,
}

impl Marks {
    pub fn new(len: u64) -> Marks {
        Marks {
            words: (0..len.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    #[inline]
    pub fn set(&self, pos: u64) {
        self.words[(pos / 64) as usize].fetch_or(1 << (pos % 64), Ordering::Relaxed);
    }

    #[inline]
    pub fn get(&self, pos: u64) -> bool {
        self.words[(pos / 64) as usize].load(Ordering::Relaxed) >> (pos % 64) & 1 == 1
    }

    /// The marked positions in `[from, to)`, ascending.
    pub fn iter_range(&self, from: u64, to: u64) -> impl Iterator<Item = u64> + '_ {
        let (first, last) = ((from / 64) as usize, to.div_ceil(64) as usize);
        (first..last.min(self.words.len())).flat_map(move |w| {
            let mut bits = self.words[w].load(Ordering::Relaxed);
            std::iter::from_fn(move || {
                while bits != 0 {
                    let b = bits.trailing_zeros() as u64;
                    bits &= bits - 1;
                    let pos = w as u64 * 64 + b;
                    if pos >= from && pos < to {
                        return Some(pos);
                    }
                }
                None
            })
        })
    }
}

/// The union of the windows `[p, p + len)` of the marked starts `p` of one document whose
/// tokens are the stream's `[start, end)`, as sorted, disjoint, non-touching ranges relative to
/// the document's start.
pub fn merged_windows(marks: &Marks, start: u64, end: u64, len: u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for p in marks.iter_range(start, end) {
        let (a, b) = (p - start, (p + len).min(end) - start);
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_merge_when_they_overlap_or_touch() {
        let m = Marks::new(200);
        for p in [3, 5, 70, 72, 130, 190] {
            m.set(p);
        }
        assert!(m.get(70) && !m.get(71));
        assert_eq!(
            merged_windows(&m, 0, 200, 4),
            [(3, 9), (70, 76), (130, 134), (190, 194)]
        );
        assert_eq!(merged_windows(&m, 1, 75, 2), [(2, 6), (69, 73)]);
    }
}
