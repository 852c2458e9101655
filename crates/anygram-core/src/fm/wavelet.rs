//! A Huffman-shaped wavelet tree: rank, access and range counting over a sequence of symbols
//! `0..sigma` (dense ids of the shard's alphabet). Each symbol's root-to-leaf path is its
//! canonical Huffman code, so a symbol costs its code length in bits and a rank walks as many
//! nodes: about the sequence's zero-order entropy, and far fewer levels than a balanced tree for
//! skewed text. All nodes' bits are concatenated in one RRR vector (`rrr.rs`), which on a BWT
//! brings the size down towards the higher-order entropy.
//!
//! Only code lengths and symbol counts are stored; the tree (node offsets, canonical codes) is
//! rebuilt from them at open, in memory linear in the alphabet.

use super::rrr::{BitBuf, Rrr};

const LEAF: u32 = 1 << 31;
const UNSET: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Node {
    /// First bit of the node in the concatenated vector.
    start: u64,
    /// Ones of the concatenated vector before `start`.
    ones_before: u64,
    /// Child per bit: a node index, or `LEAF | symbol`.
    child: [u32; 2],
}

/// The tree's shape: codes and node layout, derived from code lengths and symbol counts.
pub struct Shape {
    /// Per symbol: its code, most significant bit first, in the low `len` bits.
    codes: Vec<(u64, u8)>,
    nodes: Vec<Node>,
    /// Per node: the smallest and the largest symbol below it (prunes range min / max).
    spans: Vec<(u32, u32)>,
    total_bits: u64,
}

/// Huffman code lengths for symbol counts (all > 0). One symbol gets length 0.
pub fn huffman_lengths(counts: &[u64]) -> Vec<u8> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let n = counts.len();
    if n <= 1 {
        return vec![0; n];
    }
    // Nodes 0..n are leaves; merged nodes follow. parent[i] links each node to its parent.
    let mut parent = vec![usize::MAX; 2 * n - 1];
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| Reverse((c, i)))
        .collect();
    let mut next = n;
    while heap.len() > 1 {
        let (Some(Reverse((ca, a))), Some(Reverse((cb, b)))) = (heap.pop(), heap.pop()) else {
            break;
        };
        parent[a] = next;
        parent[b] = next;
        heap.push(Reverse((ca + cb, next)));
        next += 1;
    }
    // Depths: parents have larger indices, so one pass from the root down.
    let mut depth = vec![0u8; 2 * n - 1];
    for i in (0..2 * n - 2).rev() {
        depth[i] = depth[parent[i]].saturating_add(1);
    }
    depth.truncate(n);
    depth
}

impl Shape {
    /// `None` unless the lengths form a complete prefix code of at most 63 bits per symbol.
    pub fn new(lengths: &[u8], counts: &[u64]) -> Option<Shape> {
        let sigma = lengths.len();
        if sigma == 0 || sigma != counts.len() || sigma >= LEAF as usize {
            return None;
        }
        let max_len = *lengths.iter().max()? as u32;
        if max_len > 63 {
            return None;
        }
        let kraft: u128 = lengths.iter().map(|&l| 1u128 << (max_len - l as u32)).sum();
        if kraft != 1u128 << max_len {
            return None;
        }
        let mut order: Vec<u32> = (0..sigma as u32).collect();
        order.sort_by_key(|&s| (lengths[s as usize], s));
        let mut codes = vec![(0u64, 0u8); sigma];
        let mut code = 0u64;
        let mut prev_len = lengths[order[0] as usize];
        for (j, &s) in order.iter().enumerate() {
            let l = lengths[s as usize];
            if j > 0 {
                code = (code + 1) << (l - prev_len);
            }
            codes[s as usize] = (code, l);
            prev_len = l;
        }
        // Bits and ones per node, then their running sums.
        let mut nodes: Vec<Node> = Vec::with_capacity(sigma.saturating_sub(1));
        let mut bits = Vec::with_capacity(sigma);
        let mut ones = Vec::with_capacity(sigma);
        if sigma > 1 {
            nodes.push(Node {
                start: 0,
                ones_before: 0,
                child: [UNSET; 2],
            });
            bits.push(0u64);
            ones.push(0u64);
        }
        for &s in &order {
            let (c, l) = codes[s as usize];
            let count = counts[s as usize];
            let mut node = 0usize;
            for d in 0..l {
                let bit = ((c >> (l - 1 - d)) & 1) as usize;
                bits[node] = bits[node].checked_add(count)?;
                if bit == 1 {
                    ones[node] += count;
                }
                let child = nodes[node].child[bit];
                if d + 1 == l {
                    if child != UNSET {
                        return None;
                    }
                    nodes[node].child[bit] = LEAF | s;
                } else if child == UNSET {
                    nodes[node].child[bit] = nodes.len() as u32;
                    node = nodes.len();
                    nodes.push(Node {
                        start: 0,
                        ones_before: 0,
                        child: [UNSET; 2],
                    });
                    bits.push(0);
                    ones.push(0);
                } else if child & LEAF != 0 {
                    return None;
                } else {
                    node = child as usize;
                }
            }
        }
        let mut start = 0u64;
        let mut ones_before = 0u64;
        for (i, node) in nodes.iter_mut().enumerate() {
            if node.child.contains(&UNSET) {
                return None;
            }
            node.start = start;
            node.ones_before = ones_before;
            start = start.checked_add(bits[i])?;
            ones_before += ones[i];
        }
        // Children come after their parent, so one backward pass fills the spans.
        let mut spans = vec![(0u32, 0u32); nodes.len()];
        for i in (0..nodes.len()).rev() {
            let span = |c: u32| {
                if c & LEAF != 0 {
                    (c & !LEAF, c & !LEAF)
                } else {
                    spans[c as usize]
                }
            };
            let (a, b) = (span(nodes[i].child[0]), span(nodes[i].child[1]));
            spans[i] = (a.0.min(b.0), a.1.max(b.1));
        }
        Some(Shape {
            codes,
            nodes,
            spans,
            total_bits: start,
        })
    }

    /// Bits of all nodes together.
    pub fn total_bits(&self) -> u64 {
        self.total_bits
    }

    /// The concatenated node bits of a sequence of `n` symbols (`symbol(i)` for `i < n`, each
    /// `< sigma`), each symbol's code bits appended to the nodes on its path.
    pub fn fill(&self, n: u64, symbol: impl Fn(u64) -> u32) -> BitBuf {
        let mut buf = BitBuf::zeros(self.total_bits);
        let mut cursor: Vec<u64> = self.nodes.iter().map(|n| n.start).collect();
        for i in 0..n {
            let (c, l) = self.codes[symbol(i) as usize];
            let mut node = 0usize;
            for d in 0..l {
                let bit = ((c >> (l - 1 - d)) & 1) as usize;
                if bit == 1 {
                    buf.set(cursor[node]);
                }
                cursor[node] += 1;
                node = (self.nodes[node].child[bit] & !LEAF) as usize;
            }
        }
        buf
    }

    /// Ones of node `node` before its position `i`.
    #[inline]
    fn node_rank1(&self, bits: &Rrr, node: &Node, i: u64) -> u64 {
        bits.rank1(node.start.wrapping_add(i))
            .wrapping_sub(node.ones_before)
    }

    /// Occurrences of symbol `s` in `[0, i)`.
    #[inline]
    pub fn rank(&self, bits: &Rrr, s: u32, mut i: u64) -> u64 {
        let Some(&(c, l)) = self.codes.get(s as usize) else {
            return 0;
        };
        let mut node = 0usize;
        for d in 0..l {
            let Some(n) = self.nodes.get(node) else {
                return 0;
            };
            let bit = ((c >> (l - 1 - d)) & 1) as usize;
            let r1 = self.node_rank1(bits, n, i);
            i = if bit == 1 { r1 } else { i.wrapping_sub(r1) };
            node = (n.child[bit] & !LEAF) as usize;
        }
        i
    }

    /// Occurrences of symbol `s` in `[0, i)` and in `[0, j)`, `i ≤ j`: one walk down the tree,
    /// each node's two ranks sharing their RRR record when close.
    #[inline]
    pub fn rank_pair(&self, bits: &Rrr, s: u32, mut i: u64, mut j: u64) -> (u64, u64) {
        let Some(&(c, l)) = self.codes.get(s as usize) else {
            return (0, 0);
        };
        let mut node = 0usize;
        for d in 0..l {
            let Some(n) = self.nodes.get(node) else {
                return (0, 0);
            };
            let bit = ((c >> (l - 1 - d)) & 1) as usize;
            let (ri, rj) = bits.rank1_pair(n.start.wrapping_add(i), n.start.wrapping_add(j));
            let (ri, rj) = (
                ri.wrapping_sub(n.ones_before),
                rj.wrapping_sub(n.ones_before),
            );
            if bit == 1 {
                (i, j) = (ri, rj);
            } else {
                (i, j) = (i.wrapping_sub(ri), j.wrapping_sub(rj));
            }
            node = (n.child[bit] & !LEAF) as usize;
        }
        (i, j)
    }

    /// The symbol at `i` and its occurrences in `[0, i)`.
    #[inline]
    pub fn access_rank(&self, bits: &Rrr, mut i: u64) -> (u32, u64) {
        let mut node = 0usize;
        // Codes have at most 63 bits: the bound only matters on a corrupt index.
        for _ in 0..64 {
            let Some(n) = self.nodes.get(node) else {
                return (0, i);
            };
            let (bit, r1) = bits.access_rank1(n.start.wrapping_add(i));
            let r1 = r1.wrapping_sub(n.ones_before);
            i = if bit { r1 } else { i.wrapping_sub(r1) };
            let child = n.child[bit as usize];
            if child & LEAF != 0 {
                return (child & !LEAF, i);
            }
            node = child as usize;
        }
        (0, i)
    }

    /// The smallest (or, with `largest`, the largest) symbol occurring in `[lo, hi)`: a
    /// depth-first search that visits the more promising child first and skips every subtree
    /// whose symbols cannot beat the best found.
    pub fn range_extreme(&self, bits: &Rrr, lo: u64, hi: u64, largest: bool) -> Option<u32> {
        if lo >= hi {
            return None;
        }
        if self.nodes.is_empty() {
            return Some(0);
        }
        let beats = |s: u32, best: Option<u32>| match best {
            None => true,
            Some(b) => (largest && s > b) || (!largest && s < b),
        };
        // The bound a subtree can reach: its largest symbol when maximizing, else its smallest.
        let reach = |c: u32| -> u32 {
            if c & LEAF != 0 {
                c & !LEAF
            } else {
                let (a, b) = self.spans.get(c as usize).copied().unwrap_or((0, 0));
                if largest {
                    b
                } else {
                    a
                }
            }
        };
        let mut best = None;
        let mut stack = vec![(0u32, lo, hi)];
        while let Some((c, a, b)) = stack.pop() {
            if !beats(reach(c), best) {
                continue;
            }
            if c & LEAF != 0 {
                best = Some(c & !LEAF);
                continue;
            }
            let Some(n) = self.nodes.get(c as usize) else {
                continue;
            };
            let (ra, rb) = bits.rank1_pair(n.start.wrapping_add(a), n.start.wrapping_add(b));
            let (ra, rb) = (
                ra.wrapping_sub(n.ones_before),
                rb.wrapping_sub(n.ones_before),
            );
            let mut kids = [
                (n.child[0], a.wrapping_sub(ra), b.wrapping_sub(rb)),
                (n.child[1], ra, rb),
            ];
            // Push the less promising child first, so the other is searched first.
            if beats(reach(kids[0].0), Some(reach(kids[1].0))) {
                kids.swap(0, 1);
            }
            for k in kids {
                if k.2 > k.1 {
                    stack.push(k);
                }
            }
        }
        best
    }

    /// Every symbol occurring in `[lo, hi)` with its count, in no particular order.
    pub fn distinct(&self, bits: &Rrr, lo: u64, hi: u64, out: &mut Vec<(u32, u64)>) {
        if lo >= hi {
            return;
        }
        if self.nodes.is_empty() {
            out.push((0, hi - lo));
            return;
        }
        let mut stack = vec![(0u32, lo, hi)];
        while let Some((node, a, b)) = stack.pop() {
            if node & LEAF != 0 {
                out.push((node & !LEAF, b - a));
                continue;
            }
            let Some(n) = self.nodes.get(node as usize) else {
                continue;
            };
            let ra = self.node_rank1(bits, n, a);
            let rb = self.node_rank1(bits, n, b);
            // Zeros go left, ones right; each node is visited at most once.
            let (za, zb) = (a.wrapping_sub(ra), b.wrapping_sub(rb));
            if zb > za {
                stack.push((n.child[0], za, zb));
            }
            if rb > ra {
                stack.push((n.child[1], ra, rb));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rrr::RrrParts;
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn rank_access_distinct_match_a_scan(seq in proptest::collection::vec(0u32..12, 1..600), skew in 0u32..4) {
            // Skewed alphabets give long codes.
            let seq: Vec<u32> = seq.iter().map(|&s| if s < skew * 3 { 0 } else { s }).collect();
            let sigma = *seq.iter().max().unwrap() as usize + 1;
            let mut counts = vec![0u64; sigma];
            for &s in &seq { counts[s as usize] += 1; }
            // Absent symbols are not part of an alphabet: give them one phantom occurrence at
            // the end of the sequence.
            let mut seq = seq;
            for (s, c) in counts.iter_mut().enumerate() {
                if *c == 0 { *c = 1; seq.push(s as u32); }
            }
            let shape = Shape::new(&huffman_lengths(&counts), &counts).unwrap();
            let bits = shape.fill(seq.len() as u64, |i| seq[i as usize]);
            let p = RrrParts::build(&bits);
            let r = Rrr::new(p.len, &p.records, &p.offsets).unwrap();
            let mut before = vec![0u64; sigma];
            for i in 0..=seq.len() {
                for s in 0..sigma as u32 {
                    prop_assert_eq!(shape.rank(&r, s, i as u64), before[s as usize]);
                }
                if i % 11 == 0 {
                    let mut after = before.clone();
                    for j in i..=seq.len() {
                        for s in (0..sigma as u32).filter(|_| j % 7 == 0 || j == seq.len()) {
                            prop_assert_eq!(shape.rank_pair(&r, s, i as u64, j as u64), (before[s as usize], after[s as usize]));
                        }
                        if j < seq.len() { after[seq[j] as usize] += 1; }
                    }
                }
                if i < seq.len() {
                    let s = seq[i];
                    prop_assert_eq!(shape.access_rank(&r, i as u64), (s, before[s as usize]));
                    before[s as usize] += 1;
                }
            }
            for lo in (0..seq.len()).step_by(7) {
                for hi in (lo..=seq.len()).step_by(5) {
                    let mut got = Vec::new();
                    shape.distinct(&r, lo as u64, hi as u64, &mut got);
                    got.sort();
                    let mut want = vec![0u64; sigma];
                    for &s in &seq[lo..hi] { want[s as usize] += 1; }
                    let want: Vec<(u32, u64)> = want.iter().enumerate().filter(|(_, &c)| c > 0).map(|(s, &c)| (s as u32, c)).collect();
                    prop_assert_eq!(shape.range_extreme(&r, lo as u64, hi as u64, false), want.first().map(|e| e.0));
                    prop_assert_eq!(shape.range_extreme(&r, lo as u64, hi as u64, true), want.last().map(|e| e.0));
                    prop_assert_eq!(got, want);
                }
            }
        }
    }

    #[test]
    fn incomplete_or_overlong_codes_are_refused() {
        assert!(Shape::new(&[1, 2], &[1, 1]).is_none());
        assert!(Shape::new(&[1, 1, 1], &[1, 1, 1]).is_none());
        assert!(Shape::new(&[64, 64], &[1, 1]).is_none());
        assert!(Shape::new(&[0], &[5]).is_some());
        assert!(Shape::new(&[], &[]).is_none());
    }
}
