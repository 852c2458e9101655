//! Added (and special) tokens, split out of the text before pre-tokenization.
//!
//! This mirrors `AddedVocabulary::extract_and_normalize` of Hugging Face `tokenizers`: first
//! the non-normalized tokens are found in the raw text, then the normalized ones in the pieces
//! between (there is no normalizer on the fast path, so "normalizing" is the identity, but the
//! two passes still matter: a match of the first pass hides overlapping ones of the second).
//! Each pass is a leftmost-longest Aho-Corasick scan with HF's `single_word`, `lstrip` and
//! `rstrip` adjustments. Special tokens are matched too: `encode(add_special_tokens=False)`
//! only turns off the post-processor, not this split.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use crate::BpeError;

/// One entry of `added_tokens` in `tokenizer.json`.
#[derive(Clone, Debug)]
pub(crate) struct AddedToken {
    pub(crate) id: u32,
    pub(crate) content: String,
    pub(crate) single_word: bool,
    pub(crate) lstrip: bool,
    pub(crate) rstrip: bool,
    pub(crate) normalized: bool,
}

/// A piece of the input: either an added token or text for the pre-tokenizer.
pub(crate) enum Segment<'t> {
    Token(u32),
    Text(&'t str),
}

struct Pass {
    automaton: AhoCorasick,
    /// Per pattern: the token's id and options.
    tokens: Vec<AddedToken>,
}

pub(crate) struct AddedVocab {
    /// Non-normalized tokens, then normalized ones; absent passes are skipped.
    passes: Vec<Pass>,
    word_start: Regex,
    word_end: Regex,
}

impl AddedVocab {
    pub(crate) fn new(tokens: &[AddedToken]) -> Result<Self, BpeError> {
        let mut passes = Vec::new();
        for normalized in [false, true] {
            let set: Vec<AddedToken> = tokens
                .iter()
                .filter(|t| t.normalized == normalized && !t.content.is_empty())
                .cloned()
                .collect();
            if set.is_empty() {
                continue;
            }
            let automaton = AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(set.iter().map(|t| t.content.as_str()))
                .map_err(|e| BpeError::Invalid(format!("added tokens: {e}")))?;
            passes.push(Pass {
                automaton,
                tokens: set,
            });
        }
        let re = |p: &str| Regex::new(p).map_err(|e| BpeError::Invalid(format!("regex: {e}")));
        Ok(AddedVocab {
            passes,
            word_start: re(r"^\w")?,
            word_end: re(r"\w$")?,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.passes.is_empty()
    }

    /// Call `f` with the segments of `text` in order. Empty text segments are dropped, as HF
    /// drops empty splits before pre-tokenizing.
    pub(crate) fn split<'t>(&self, text: &'t str, f: &mut impl FnMut(Segment<'t>)) {
        self.split_pass(0, text, f);
    }

    fn split_pass<'t>(&self, pass: usize, text: &'t str, f: &mut impl FnMut(Segment<'t>)) {
        if text.is_empty() {
            return;
        }
        let Some(p) = self.passes.get(pass) else {
            f(Segment::Text(text));
            return;
        };
        let mut start_offset = 0;
        for m in p.automaton.find_iter(text) {
            let (mut start, mut stop) = (m.start(), m.end());
            let tok = &p.tokens[m.pattern().as_usize()];
            if tok.single_word {
                // `\w$` / `^\w` only look at one character: pass just that one.
                let before = text[..start].chars().next_back().map_or(0, char::len_utf8);
                let after = text[stop..].chars().next().map_or(0, char::len_utf8);
                let start_space =
                    start == 0 || !self.word_end.is_match(&text[start - before..start]);
                let stop_space =
                    stop == text.len() || !self.word_start.is_match(&text[stop..stop + after]);
                if !start_space || !stop_space {
                    continue;
                }
            }
            if tok.lstrip {
                let trimmed = text[..start].trim_end_matches(char::is_whitespace).len();
                start = trimmed.max(start_offset);
            }
            if tok.rstrip {
                stop +=
                    text[stop..].len() - text[stop..].trim_start_matches(char::is_whitespace).len();
            }
            if start_offset < start {
                self.split_pass(pass + 1, &text[start_offset..start], f);
            }
            f(Segment::Token(tok.id));
            start_offset = stop;
        }
        if start_offset < text.len() {
            self.split_pass(pass + 1, &text[start_offset..], f);
        }
    }
}
