//! Best-first construction of a draft tree from any source of continuation counts (the corpus
//! index or the request's own text), scored as SuffixDecoding does: a node's score is the
//! product of `count(child) / count(parent)` along its path, the chance the model accepts it
//! if the source's frequencies were the model's.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One continuation of a node: its token, how often it follows, and the node it leads to.
#[derive(Debug, Clone)]
pub struct Child<N> {
    pub token: u32,
    pub count: u64,
    pub node: N,
}

/// Where continuation counts come from.
pub trait Source {
    type Node: Clone;
    /// The node's number of continuations (the denominator of its children's probabilities)
    /// and its children, most frequent first (ties: smaller id). Every child with at least
    /// `min_frac` of the total must be there; rarer ones may be.
    fn expand(&mut self, node: &Self::Node, min_frac: f64)
        -> Result<(u64, Vec<Child<Self::Node>>)>;
}

/// Which index a draft came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DraftSource {
    /// Nothing to draft from.
    None,
    /// The corpus index.
    Corpus,
    /// The request's own prompt and output.
    Context,
}

/// Draft tokens as a tree: node `i` continues node `parents[i]` (-1: the context). Nodes are
/// in the order they were chosen (best first), so a parent always comes before its children,
/// and with `branching = 1` the nodes are one chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftTree {
    pub token_ids: Vec<u32>,
    pub parents: Vec<i32>,
    /// How often each node's path follows the matched suffix in its source.
    pub counts: Vec<u64>,
    /// Each node's score: the product of its path's continuation probabilities.
    pub probs: Vec<f64>,
    /// Length of the matched suffix the draft continues.
    pub match_len: usize,
    pub source: DraftSource,
}

impl DraftTree {
    pub fn empty() -> DraftTree {
        DraftTree {
            token_ids: Vec::new(),
            parents: Vec::new(),
            counts: Vec::new(),
            probs: Vec::new(),
            match_len: 0,
            source: DraftSource::None,
        }
    }

    /// The expected number of accepted tokens under the source's frequencies.
    pub fn score(&self) -> f64 {
        self.probs.iter().sum()
    }

    /// How many leading tokens of `next` the tree holds as one path from the context.
    pub fn accepted(&self, next: &[u32]) -> usize {
        let mut at = -1i32;
        let mut n = 0;
        for &t in next {
            let hit = (0..self.token_ids.len())
                .find(|&i| self.parents[i] == at && self.token_ids[i] == t);
            match hit {
                Some(i) => {
                    at = i as i32;
                    n += 1;
                }
                None => break,
            }
        }
        n
    }
}

/// Limits of one tree.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// At most this many nodes.
    pub budget: usize,
    /// At most this many children per node (1: a single draft).
    pub branching: usize,
    /// Nodes scoring below this are not drafted.
    pub min_prob: f64,
    /// Nodes deeper than this (tokens from the context) are not drafted.
    pub max_depth: usize,
}

struct Candidate<N> {
    prob: f64,
    seq: u64,
    depth: usize,
    parent: i32,
    token: u32,
    count: u64,
    node: N,
}

impl<N> PartialEq for Candidate<N> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<N> Eq for Candidate<N> {}
impl<N> PartialOrd for Candidate<N> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<N> Ord for Candidate<N> {
    /// Highest score first; ties to the candidate seen first.
    fn cmp(&self, o: &Self) -> Ordering {
        self.prob
            .total_cmp(&o.prob)
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

/// Grows the tree from `root` (the matched suffix, `match_len` tokens), always adding the
/// best-scoring candidate next, and expanding only nodes that were added: one `expand` per
/// node, so a chain of `k` tokens costs `k + 1` expansions.
pub fn grow<S: Source>(
    src: &mut S,
    root: S::Node,
    match_len: usize,
    source: DraftSource,
    shape: Shape,
) -> Result<DraftTree> {
    let mut tree = DraftTree {
        match_len,
        source,
        ..DraftTree::empty()
    };
    if shape.budget == 0 {
        return Ok(tree);
    }
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    let mut offer = |src: &mut S,
                     heap: &mut BinaryHeap<Candidate<S::Node>>,
                     node: &S::Node,
                     prob: f64,
                     parent: i32,
                     depth: usize|
     -> Result<()> {
        if depth >= shape.max_depth {
            return Ok(());
        }
        let (total, kids) = src.expand(node, shape.min_prob / prob)?;
        if total == 0 {
            return Ok(());
        }
        for k in kids.into_iter().take(shape.branching.max(1)) {
            let p = prob * (k.count as f64 / total as f64);
            if p >= shape.min_prob && k.count > 0 {
                heap.push(Candidate {
                    prob: p,
                    seq,
                    depth: depth + 1,
                    parent,
                    token: k.token,
                    count: k.count,
                    node: k.node,
                });
                seq += 1;
            }
        }
        Ok(())
    };
    offer(src, &mut heap, &root, 1.0, -1, 0)?;
    while tree.token_ids.len() < shape.budget {
        let Some(c) = heap.pop() else { break };
        let id = tree.token_ids.len() as i32;
        tree.token_ids.push(c.token);
        tree.parents.push(c.parent);
        tree.counts.push(c.count);
        tree.probs.push(c.prob);
        if tree.token_ids.len() < shape.budget {
            offer(src, &mut heap, &c.node, c.prob, id, c.depth)?;
        }
    }
    Ok(tree)
}
