//! The per-request index: an online suffix automaton of the prompt and the tokens generated so
//! far, so a draft can also come from the request's own text (code and answers repeat their
//! prompt), updated in amortised constant time per appended token.
//!
//! Each state is a class of substrings sharing their end positions; `cnt` is how many end
//! positions that is, kept exact online: a new token ends one more occurrence of every suffix
//! of the text, i.e. of every state on the new state's suffix-link path. That walk is as long as
//! the text's longest repeated suffix has distinct end-position classes (a few on prose, about
//! `n / period` on a looping output), not `n`.

use std::collections::HashMap;

use super::tree::{Child, Source};
use crate::error::Result;

const NONE: u32 = u32::MAX;

/// A state of the automaton and the length of the matched string it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalNode {
    state: u32,
}

/// Suffix automaton over token ids.
#[derive(Debug, Clone)]
pub struct SuffixAutomaton {
    len: Vec<u32>,
    link: Vec<u32>,
    cnt: Vec<u64>,
    /// Tokens with a transition out of each state, in the order they were added.
    out: Vec<Vec<u32>>,
    next: HashMap<(u32, u32), u32>,
    last: u32,
    text_len: usize,
}

impl Default for SuffixAutomaton {
    fn default() -> Self {
        Self::new()
    }
}

impl SuffixAutomaton {
    pub fn new() -> SuffixAutomaton {
        SuffixAutomaton {
            len: vec![0],
            link: vec![NONE],
            cnt: vec![0],
            out: vec![Vec::new()],
            next: HashMap::new(),
            last: 0,
            text_len: 0,
        }
    }

    /// Tokens appended so far.
    pub fn text_len(&self) -> usize {
        self.text_len
    }

    fn add_state(&mut self, len: u32, link: u32, cnt: u64, out: Vec<u32>) -> u32 {
        self.len.push(len);
        self.link.push(link);
        self.cnt.push(cnt);
        self.out.push(out);
        (self.len.len() - 1) as u32
    }

    fn go(&self, s: u32, t: u32) -> Option<u32> {
        self.next.get(&(s, t)).copied()
    }

    /// Appends one token (the classic online construction, plus the occurrence counts).
    pub fn push(&mut self, t: u32) {
        let cur = self.add_state(self.len[self.last as usize] + 1, 0, 0, Vec::new());
        let mut p = self.last;
        while p != NONE && self.go(p, t).is_none() {
            self.next.insert((p, t), cur);
            self.out[p as usize].push(t);
            p = self.link[p as usize];
        }
        if p != NONE {
            let q = self.go(p, t).unwrap_or(0);
            if self.len[p as usize] + 1 == self.len[q as usize] {
                self.link[cur as usize] = q;
            } else {
                let (qu, out) = (q as usize, self.out[q as usize].clone());
                let clone =
                    self.add_state(self.len[p as usize] + 1, self.link[qu], self.cnt[qu], out);
                for &u in &self.out[qu] {
                    if let Some(to) = self.go(q, u) {
                        self.next.insert((clone, u), to);
                    }
                }
                while p != NONE && self.go(p, t) == Some(q) {
                    self.next.insert((p, t), clone);
                    p = self.link[p as usize];
                }
                self.link[qu] = clone;
                self.link[cur as usize] = clone;
            }
        }
        self.last = cur;
        self.text_len += 1;
        let mut v = cur;
        while v != 0 && v != NONE {
            self.cnt[v as usize] += 1;
            v = self.link[v as usize];
        }
    }

    /// The longest suffix of the text that also ends earlier in it: its length and its node
    /// (`None` when no token of the end repeats).
    pub fn longest_repeat(&self) -> Option<(usize, LocalNode)> {
        let s = self.link[self.last as usize];
        (s != NONE && s != 0).then(|| (self.len[s as usize] as usize, LocalNode { state: s }))
    }

    /// How often the string of `node` extended by `t` occurs.
    #[cfg(test)]
    pub fn count_after(&self, node: LocalNode, t: u32) -> u64 {
        self.go(node.state, t).map_or(0, |s| self.cnt[s as usize])
    }
}

impl Source for &SuffixAutomaton {
    type Node = LocalNode;

    /// Every continuation of the node's string: an occurrence at the text's end has none yet,
    /// so the node's total is the sum of its continuations' counts.
    fn expand(&mut self, node: &LocalNode, _min_frac: f64) -> Result<(u64, Vec<Child<LocalNode>>)> {
        let mut kids: Vec<Child<LocalNode>> = self.out[node.state as usize]
            .iter()
            .filter_map(|&t| {
                self.go(node.state, t).map(|s| Child {
                    token: t,
                    count: self.cnt[s as usize],
                    node: LocalNode { state: s },
                })
            })
            .collect();
        let total = kids.iter().map(|k| k.count).sum();
        kids.sort_by(|a, b| b.count.cmp(&a.count).then(a.token.cmp(&b.token)));
        Ok((total, kids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occurrences(text: &[u32], pat: &[u32]) -> u64 {
        text.windows(pat.len()).filter(|w| *w == pat).count() as u64
    }

    #[test]
    fn counts_match_brute_force() {
        let text: Vec<u32> = [1, 2, 1, 2, 3, 1, 2, 1, 2, 1, 1, 1, 2, 3]
            .into_iter()
            .collect();
        let mut sam = SuffixAutomaton::new();
        for (i, &t) in text.iter().enumerate() {
            sam.push(t);
            let seen = &text[..=i];
            // The longest suffix occurring at least twice.
            let want = (1..=seen.len())
                .rev()
                .find(|&k| occurrences(seen, &seen[seen.len() - k..]) >= 2)
                .unwrap_or(0);
            let got = sam.longest_repeat();
            assert_eq!(got.map_or(0, |g| g.0), want, "prefix {seen:?}");
            if let Some((k, node)) = got {
                for t in 0..5 {
                    let mut pat = seen[seen.len() - k..].to_vec();
                    pat.push(t);
                    assert_eq!(sam.count_after(node, t), occurrences(seen, &pat));
                }
            }
        }
    }
}
