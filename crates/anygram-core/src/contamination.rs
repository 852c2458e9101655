//! Benchmark contamination: the share of an item's windows (runs of `window` characters or
//! tokens) that occur verbatim in the index.
//!
//! **Cost.** One creativity walk per item (about one suffix-array search per position, see
//! [`crate::creativity`]) answers every window at once: the window `[a, b)` occurs iff the
//! longest prefix occurring from `a` reaches `b`, i.e. `rs[a] >= b`. No window is searched on
//! its own. Items are spread over the thread pool.

use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use crate::deadline::Deadline;
use crate::error::{AnygramError, Result};
use crate::index::Index;

/// How a window is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowUnit {
    /// Tokens.
    Tokens,
    /// UTF-8 characters of a byte-level input (a window never splits a character).
    Utf8Chars,
}

/// Windows of one item and how many occur in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// Windows checked (an item shorter than the window is one window: the whole item).
    pub windows: usize,
    /// Windows that occur.
    pub found: usize,
    /// Longest run of the item occurring in the index, in tokens.
    pub longest: usize,
}

impl Index {
    /// Window coverage of one item.
    pub fn coverage(
        &self,
        ids: &[u32],
        window: usize,
        stride: usize,
        unit: WindowUnit,
    ) -> Result<Coverage> {
        self.coverage_until(ids, window, stride, unit, Deadline::NONE)
    }

    fn coverage_until(
        &self,
        ids: &[u32],
        window: usize,
        stride: usize,
        unit: WindowUnit,
        deadline: Deadline,
    ) -> Result<Coverage> {
        if window == 0 || stride == 0 {
            return Err(AnygramError::InvalidQuery(
                "window and stride must be positive".into(),
            ));
        }
        if ids.is_empty() {
            return Ok(Coverage::default());
        }
        let rs = self.creativity_until(ids, deadline)?;
        let n = ids.len();
        // Unit boundaries as token positions, ending with n.
        let bounds: Vec<usize> = match unit {
            WindowUnit::Tokens => (0..=n).collect(),
            WindowUnit::Utf8Chars => ids
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b & 0xC0 != 0x80)
                .map(|(i, _)| i)
                .chain(std::iter::once(n))
                .collect(),
        };
        let units = bounds.len() - 1;
        let longest = rs
            .iter()
            .enumerate()
            .map(|(l, &r)| r - l)
            .max()
            .unwrap_or(0);
        if units <= window {
            let found = usize::from(rs[bounds[0]] >= n);
            return Ok(Coverage {
                windows: 1,
                found,
                longest,
            });
        }
        let mut windows = 0;
        let mut found = 0;
        let mut j = 0;
        while j + window <= units {
            windows += 1;
            found += usize::from(rs[bounds[j]] >= bounds[j + window]);
            j += stride;
        }
        Ok(Coverage {
            windows,
            found,
            longest,
        })
    }

    /// [`Index::coverage`] of many items, in parallel.
    pub fn coverage_many(
        &self,
        items: &[Vec<u32>],
        window: usize,
        stride: usize,
        unit: WindowUnit,
    ) -> Result<Vec<Coverage>> {
        self.coverage_many_until(items, window, stride, unit, Deadline::NONE)
    }

    /// [`Index::coverage_many`], stopped with `Cancelled` past `deadline`.
    pub fn coverage_many_until(
        &self,
        items: &[Vec<u32>],
        window: usize,
        stride: usize,
        unit: WindowUnit,
        deadline: Deadline,
    ) -> Result<Vec<Coverage>> {
        items
            .par_iter()
            .map(|ids| self.coverage_until(ids, window, stride, unit, deadline))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn windows_against_brute_force() {
        let tmp = tempfile::tempdir().unwrap();
        let mut b = crate::build::IndexBuilder::create(
            tmp.path(),
            255,
            serde_json::json!({"kind": "test"}),
            &crate::build::BuildOptions {
                mem_budget: 1 << 28,
                workers: 1,
                max_shard_tokens: None,
                overwrite: true,
                resume_key: None,
                ..Default::default()
            },
        )
        .unwrap();
        let docs = ["abcdefgh", "xyzabcq", "h\u{e9}llo w\u{f6}rld"];
        for (i, d) in docs.iter().enumerate() {
            let ids: Vec<u32> = d.bytes().map(u32::from).collect();
            let meta = format!(r#"{{"path":"t","linenum":{i},"metadata":{{}}}}"#);
            b.add_token_document(&ids, &meta).unwrap();
        }
        b.finish(serde_json::Value::Null).unwrap();
        let index = Index::open(&[tmp.path().to_path_buf()], Default::default()).unwrap();
        let occurs = |s: &str| docs.iter().any(|d| d.contains(s));
        for q in [
            "abcdefq",
            "zzabcdez",
            "ab",
            "h\u{e9}llo w\u{f6}",
            "w\u{f6}rld!!",
        ] {
            let ids: Vec<u32> = q.bytes().map(u32::from).collect();
            let chars: Vec<char> = q.chars().collect();
            for (w, stride) in [(1, 1), (3, 1), (3, 2), (5, 1), (50, 1)] {
                let got = index
                    .coverage(&ids, w, stride, WindowUnit::Utf8Chars)
                    .unwrap();
                let (mut windows, mut found) = (0, 0);
                if chars.len() <= w {
                    windows = 1;
                    found = usize::from(occurs(q));
                } else {
                    let mut j = 0;
                    while j + w <= chars.len() {
                        windows += 1;
                        found += usize::from(occurs(&chars[j..j + w].iter().collect::<String>()));
                        j += stride;
                    }
                }
                assert_eq!(
                    (got.windows, got.found),
                    (windows, found),
                    "{q} {w} {stride}"
                );
                let tok = index.coverage(&ids, w, stride, WindowUnit::Tokens).unwrap();
                assert!(tok.windows >= 1);
            }
        }
        assert_eq!(
            index.coverage(&[], 5, 1, WindowUnit::Tokens).unwrap(),
            Coverage::default()
        );
        assert!(index.coverage(&[1], 0, 1, WindowUnit::Tokens).is_err());
    }
}
