//! Rank-based BPE merging of one pre-tokenized piece, plus the per-thread piece cache.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

/// Merge table over raw-byte token ids.
pub(crate) struct Merges {
    /// `byte_ids[b]` is the id of the single-byte token `b`, or [`MISSING`] if the vocabulary
    /// has none (then `missing` is set).
    pub(crate) byte_ids: [u32; 256],
    /// Some byte has no token. HF's BPE without `unk_token` then drops that byte's character
    /// before merging, so its neighbours become adjacent and may merge (SmolLM2's vocabulary
    /// lacks 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D and bytes UTF-8 never or rarely uses).
    pub(crate) missing: bool,
    /// `(left << 32 | right)` → `(rank << 32 | merged)`; lower rank merges first.
    pub(crate) pairs: FxHashMap<u64, u64>,
    /// When set, a piece that is itself a token is emitted as that token without merging
    /// (HF `ignore_merges`, and tiktoken's unconditional shortcut).
    pub(crate) whole: Option<FxHashMap<Box<[u8]>, u32>>,
}

const NONE: u32 = u32::MAX;
/// [`Merges::byte_ids`] entry of a byte without a token.
pub(crate) const MISSING: u32 = u32::MAX;

/// Pieces with up to this many bytes use the quadratic scan; it beats the heap on short input.
const SHORT: usize = 48;

impl Merges {
    #[inline]
    fn pair(&self, a: u32, b: u32) -> Option<(u32, u32)> {
        self.pairs
            .get(&((u64::from(a) << 32) | u64::from(b)))
            .map(|v| ((v >> 32) as u32, *v as u32))
    }

    /// Append the ids of `piece` to `out`, without the cache.
    pub(crate) fn encode_piece(&self, piece: &[u8], out: &mut Vec<u32>) {
        if piece.is_empty() {
            return;
        }
        if let Some(whole) = &self.whole {
            if let Some(&id) = whole.get(piece) {
                out.push(id);
                return;
            }
        }
        if self.missing && piece.iter().any(|&b| self.byte_ids[b as usize] == MISSING) {
            // Like HF's `merge_word`: the whole-token shortcut above sees the full piece, the
            // merging only the bytes that have tokens.
            let kept: Vec<u8> = piece
                .iter()
                .copied()
                .filter(|&b| self.byte_ids[b as usize] != MISSING)
                .collect();
            self.merge_bytes(&kept, out);
        } else {
            self.merge_bytes(piece, out);
        }
    }

    /// Merge `piece`, every byte of which has a token.
    fn merge_bytes(&self, piece: &[u8], out: &mut Vec<u32>) {
        match piece.len() {
            0 => {}
            1 => out.push(self.byte_ids[piece[0] as usize]),
            n if n <= SHORT => self.merge_short(piece, out),
            _ => self.merge_heap(piece, out),
        }
    }

    /// Repeatedly merge the leftmost lowest-rank pair; `ranks[i]` caches the pair at `i`.
    fn merge_short(&self, piece: &[u8], out: &mut Vec<u32>) {
        let mut ids: Vec<u32> = piece.iter().map(|&b| self.byte_ids[b as usize]).collect();
        let mut ranks: Vec<(u32, u32)> = ids
            .windows(2)
            .map(|w| self.pair(w[0], w[1]).unwrap_or((NONE, NONE)))
            .collect();
        loop {
            let mut best = NONE;
            let mut at = 0;
            for (i, &(r, _)) in ranks.iter().enumerate() {
                if r < best {
                    best = r;
                    at = i;
                }
            }
            if best == NONE {
                break;
            }
            ids[at] = ranks[at].1;
            ids.remove(at + 1);
            ranks.remove(at);
            if at + 1 < ids.len() {
                ranks[at] = self.pair(ids[at], ids[at + 1]).unwrap_or((NONE, NONE));
            }
            if at > 0 {
                ranks[at - 1] = self.pair(ids[at - 1], ids[at]).unwrap_or((NONE, NONE));
            }
        }
        out.extend_from_slice(&ids);
    }

    /// Same result as [`Self::merge_short`] in O(n log n): a heap of candidate merges keyed by
    /// (rank, position) over a linked list of symbols; stale candidates are skipped on pop.
    fn merge_heap(&self, piece: &[u8], out: &mut Vec<u32>) {
        let n = piece.len();
        let mut ids: Vec<u32> = piece.iter().map(|&b| self.byte_ids[b as usize]).collect();
        let mut prev: Vec<u32> = (0..n as u32).map(|i| i.wrapping_sub(1)).collect();
        let mut next: Vec<u32> = (1..=n as u32).collect();
        next[n - 1] = NONE;
        prev[0] = NONE;
        let mut alive = vec![true; n];
        let mut heap: BinaryHeap<Reverse<(u32, u32, u32)>> = BinaryHeap::with_capacity(n);
        for i in 0..n - 1 {
            if let Some((r, m)) = self.pair(ids[i], ids[i + 1]) {
                heap.push(Reverse((r, i as u32, m)));
            }
        }
        while let Some(Reverse((r, pos, m))) = heap.pop() {
            let p = pos as usize;
            if !alive[p] || next[p] == NONE {
                continue;
            }
            let q = next[p] as usize;
            if self.pair(ids[p], ids[q]) != Some((r, m)) {
                continue;
            }
            ids[p] = m;
            alive[q] = false;
            next[p] = next[q];
            if next[q] != NONE {
                prev[next[q] as usize] = pos;
            }
            if prev[p] != NONE {
                let l = prev[p] as usize;
                if let Some((r2, m2)) = self.pair(ids[l], m) {
                    heap.push(Reverse((r2, l as u32, m2)));
                }
            }
            if next[p] != NONE {
                if let Some((r2, m2)) = self.pair(m, ids[next[p] as usize]) {
                    heap.push(Reverse((r2, pos, m2)));
                }
            }
        }
        let mut i = 0u32;
        while i != NONE {
            out.push(ids[i as usize]);
            i = next[i as usize];
        }
    }

    #[cfg(test)]
    pub(crate) fn encode_both(&self, piece: &[u8]) -> (Vec<u32>, Vec<u32>) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        self.merge_short(piece, &mut a);
        self.merge_heap(piece, &mut b);
        (a, b)
    }
}

/// Pieces longer than this are not cached: they are rare and would bloat the cache.
const MAX_CACHED_PIECE: usize = 256;
/// Entries per thread and tokenizer before the cache is cleared (~20 MB at worst).
const MAX_CACHE_ENTRIES: usize = 1 << 18;
/// Tokenizers per thread whose caches are kept.
const MAX_CACHES_PER_THREAD: usize = 4;

/// Piece → ids, private to one thread and one tokenizer.
#[derive(Default)]
pub(crate) struct PieceCache {
    map: FxHashMap<Box<[u8]>, Box<[u32]>>,
}

impl PieceCache {
    /// Append the ids of `piece` to `out`, consulting and filling the cache.
    #[inline]
    pub(crate) fn encode(&mut self, merges: &Merges, piece: &[u8], out: &mut Vec<u32>) {
        if piece.len() == 1 {
            let id = merges.byte_ids[piece[0] as usize];
            if id != MISSING {
                out.push(id);
            }
            return;
        }
        if piece.len() > MAX_CACHED_PIECE {
            merges.encode_piece(piece, out);
            return;
        }
        if let Some(ids) = self.map.get(piece) {
            out.extend_from_slice(ids);
            return;
        }
        let start = out.len();
        merges.encode_piece(piece, out);
        if self.map.len() >= MAX_CACHE_ENTRIES {
            self.map.clear();
        }
        self.map.insert(piece.into(), out[start..].into());
    }
}

thread_local! {
    /// Caches live per thread so `encode(&self)` needs no lock and `BpeTokenizer` stays
    /// `Sync`; they are keyed by the tokenizer's unique id so two tokenizers never mix.
    static CACHES: RefCell<Vec<(u64, PieceCache)>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's cache for tokenizer `uid`.
pub(crate) fn with_cache<R>(uid: u64, f: impl FnOnce(&mut PieceCache) -> R) -> R {
    CACHES.with(|caches| {
        let Ok(mut caches) = caches.try_borrow_mut() else {
            // Re-entered from inside `f` (not done by this crate); use a throwaway cache.
            return f(&mut PieceCache::default());
        };
        let pos = match caches.iter().position(|(u, _)| *u == uid) {
            Some(pos) => pos,
            None => {
                if caches.len() >= MAX_CACHES_PER_THREAD {
                    caches.remove(0);
                }
                caches.push((uid, PieceCache::default()));
                caches.len() - 1
            }
        };
        f(&mut caches[pos].1)
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::BpeTokenizer;

    proptest! {
        /// The heap merge used for long pieces gives exactly the quadratic scan's result.
        #[test]
        fn heap_equals_scan(s in "([a-e ]|ab|abc|  |de|'s|\\n|é){1,120}") {
            let tok = BpeTokenizer::from_tokenizer_json_str(include_str!("../tests/data/tok1000.json")).unwrap();
            let (scan, heap) = tok.merges.encode_both(s.as_bytes());
            prop_assert_eq!(scan, heap);
        }
    }
}
