//! The GPT-2 pre-tokenizer as a hand-written scanner.
//!
//! Hugging Face's `ByteLevel` pre-tokenizer splits text with the Oniguruma regex
//!
//! ```text
//! 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//! ```
//!
//! A backtracking regex with a look-ahead costs far more than the BPE merges themselves once
//! words are cached, so this module replays the regex's leftmost-first semantics directly:
//!
//! 1. at an ASCII apostrophe, one of the seven contractions (case-sensitive) wins;
//! 2. an optional U+0020 followed by a run of letters, or of numbers, or of "other" characters
//!    (neither whitespace, letter nor number) is one piece; the run class is chosen by the
//!    first character after the optional space;
//! 3. a whitespace run followed by a non-whitespace character gives up its last character
//!    (`\s+(?!\S)` backtracks by one) unless the run is a single character (`\s+` then takes it);
//!    a run that reaches the end of the text is taken whole.
//!
//! Character classes come from a two-level table built once from
//! `unicode-general-category`; `tests/data/onig_classes.txt` (probed from the Python
//! `tokenizers` library) pins it to what Oniguruma sees.

use std::collections::HashMap;
use std::sync::OnceLock;

use unicode_general_category::{get_general_category, GeneralCategory as Gc};

/// Character class as seen by the GPT-2 regex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Class {
    /// `\p{L}`
    Letter = 0,
    /// `\p{N}`
    Number = 1,
    /// `\s` (Oniguruma's Unicode whitespace: U+0009..U+000D, U+0085, Zs, Zl, Zp)
    Space = 2,
    /// everything else, `[^\s\p{L}\p{N}]`
    Other = 3,
}

impl Class {
    fn from_u8(v: u8) -> Class {
        match v {
            0 => Class::Letter,
            1 => Class::Number,
            2 => Class::Space,
            _ => Class::Other,
        }
    }
}

/// Classify one character from the Unicode tables (slow; used to build the lookup table).
pub(crate) fn classify_slow(c: char) -> Class {
    if matches!(c, '\u{9}'..='\u{d}' | '\u{85}') {
        return Class::Space;
    }
    match get_general_category(c) {
        Gc::UppercaseLetter
        | Gc::LowercaseLetter
        | Gc::TitlecaseLetter
        | Gc::ModifierLetter
        | Gc::OtherLetter => Class::Letter,
        Gc::DecimalNumber | Gc::LetterNumber | Gc::OtherNumber => Class::Number,
        Gc::SpaceSeparator | Gc::LineSeparator | Gc::ParagraphSeparator => Class::Space,
        _ => Class::Other,
    }
}

const BLOCK: usize = 256;

/// Two-level lookup: `index[cp >> 8]` selects a deduplicated 256-entry block.
struct ClassTable {
    index: Vec<u16>,
    blocks: Vec<[u8; BLOCK]>,
}

fn table() -> &'static ClassTable {
    static TABLE: OnceLock<ClassTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut index = Vec::with_capacity(0x110000 / BLOCK);
        let mut blocks: Vec<[u8; BLOCK]> = Vec::new();
        let mut seen: HashMap<[u8; BLOCK], u16> = HashMap::new();
        for hi in 0..(0x110000 / BLOCK) {
            let mut block = [Class::Other as u8; BLOCK];
            for (lo, slot) in block.iter_mut().enumerate() {
                if let Some(c) = char::from_u32((hi * BLOCK + lo) as u32) {
                    *slot = classify_slow(c) as u8;
                }
            }
            let next = blocks.len() as u16;
            let id = *seen.entry(block).or_insert_with(|| {
                blocks.push(block);
                next
            });
            index.push(id);
        }
        ClassTable { index, blocks }
    })
}

/// Classes of the ASCII range, so the common case never touches the big table.
const ASCII: [u8; 128] = {
    let mut t = [Class::Other as u8; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        t[i] = if b.is_ascii_alphabetic() {
            Class::Letter as u8
        } else if b.is_ascii_digit() {
            Class::Number as u8
        } else if (b >= 0x09 && b <= 0x0d) || b == b' ' {
            Class::Space as u8
        } else {
            Class::Other as u8
        };
        i += 1;
    }
    t
};

/// Class of a character through the lookup table.
#[cfg(test)]
pub(crate) fn class_of(c: char) -> Class {
    let cp = c as usize;
    if cp < 128 {
        return Class::from_u8(ASCII[cp]);
    }
    let t = table();
    let block = t.index[cp / BLOCK] as usize;
    Class::from_u8(t.blocks[block][cp % BLOCK])
}

/// The scanner: holds the table so the hot loop does no `OnceLock` check per character.
pub(crate) struct Gpt2Splitter {
    table: &'static ClassTable,
}

impl Gpt2Splitter {
    pub(crate) fn new() -> Self {
        Gpt2Splitter { table: table() }
    }

    /// Class and UTF-8 length of the character starting at byte `i` (a char boundary).
    #[inline(always)]
    fn char_at(&self, b: &[u8], i: usize) -> (Class, usize) {
        let x = b[i];
        if x < 0x80 {
            return (Class::from_u8(ASCII[x as usize]), 1);
        }
        // `b` comes from a `&str`, so the sequence is valid UTF-8.
        let (cp, len) = if x < 0xE0 {
            (((x as u32 & 0x1F) << 6) | (b[i + 1] as u32 & 0x3F), 2)
        } else if x < 0xF0 {
            (
                ((x as u32 & 0x0F) << 12)
                    | ((b[i + 1] as u32 & 0x3F) << 6)
                    | (b[i + 2] as u32 & 0x3F),
                3,
            )
        } else {
            (
                ((x as u32 & 0x07) << 18)
                    | ((b[i + 1] as u32 & 0x3F) << 12)
                    | ((b[i + 2] as u32 & 0x3F) << 6)
                    | (b[i + 3] as u32 & 0x3F),
                4,
            )
        };
        let cp = cp as usize;
        let block = self.table.index[(cp / BLOCK) & 0x1FFF] as usize;
        (Class::from_u8(self.table.blocks[block][cp % BLOCK]), len)
    }

    /// End of the run of `class` characters starting at `i`.
    #[inline(always)]
    fn run_end(&self, b: &[u8], mut i: usize, class: Class) -> usize {
        let n = b.len();
        while i < n {
            let x = b[i];
            if x < 0x80 {
                if ASCII[x as usize] != class as u8 {
                    break;
                }
                i += 1;
            } else {
                let (c, l) = self.char_at(b, i);
                if c != class {
                    break;
                }
                i += l;
            }
        }
        i
    }

    /// Length of the piece starting at byte `i` (< `b.len()`).
    #[inline]
    fn piece_len(&self, b: &[u8], i: usize) -> usize {
        let n = b.len();
        let x = b[i];
        if x == b'\'' && i + 1 < n {
            match b[i + 1] {
                b's' | b't' | b'm' | b'd' => return 2,
                b'r' | b'v' if i + 2 < n && b[i + 2] == b'e' => return 3,
                b'l' if i + 2 < n && b[i + 2] == b'l' => return 3,
                _ => {}
            }
        }
        if x == b' ' && i + 1 < n {
            let (c1, l1) = self.char_at(b, i + 1);
            if c1 != Class::Space {
                return self.run_end(b, i + 1 + l1, c1) - i;
            }
        }
        let (c0, l0) = self.char_at(b, i);
        if c0 != Class::Space {
            return self.run_end(b, i + l0, c0) - i;
        }
        // Whitespace run: remember where its last character starts.
        let mut last = i;
        let mut j = i + l0;
        while j < n {
            let (c, l) = self.char_at(b, j);
            if c != Class::Space {
                break;
            }
            last = j;
            j += l;
        }
        if j < n && last > i {
            last - i
        } else {
            j - i
        }
    }

    /// Call `f` with every piece of `text`, in order; the pieces concatenate to `text`.
    #[inline]
    pub(crate) fn split<'t>(&self, text: &'t str, mut f: impl FnMut(&'t [u8])) {
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let len = self.piece_len(b, i);
            f(&b[i..i + len]);
            i += len;
        }
    }

    /// HF `Sequence[Digits(individual_digits=true), ByteLevel(add_prefix_space=false)]`: every
    /// numeric character is a piece of its own, and each stretch between them is split by the
    /// GPT-2 regex as a text of its own (so `\s+(?!\S)` sees the stretch's end as the end of
    /// the text: `"a  1"` gives `a`, `  `, `1`, where GPT-2 alone gives `a`, ` `, ` 1`).
    ///
    /// "Numeric" is Rust's `char::is_numeric` (general categories Nd, Nl, No), exactly the
    /// predicate `tokenizers`' `Digits` calls, and not the regex's `\p{N}`: Oniguruma's Unicode
    /// tables are older, so the two disagree on newer digits (U+11DE0..U+11DE9, U+16FF4..U+16FF6
    /// with Rust 1.95). `tests/data/digits_numeric.txt`, probed from the Python library, pins it.
    #[inline]
    pub(crate) fn split_digits<'t>(&self, text: &'t str, mut f: impl FnMut(&'t [u8])) {
        let b = text.as_bytes();
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if c.is_numeric() {
                let end = i + c.len_utf8();
                self.split(&text[start..i], &mut f);
                f(&b[i..end]);
                start = end;
            }
        }
        self.split(&text[start..], &mut f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        Gpt2Splitter::new().split(s, |p| v.push(String::from_utf8_lossy(p).into_owned()));
        v
    }

    fn digit_pieces(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        Gpt2Splitter::new().split_digits(s, |p| v.push(String::from_utf8_lossy(p).into_owned()));
        v
    }

    /// Expected pieces from `tokenizers`' `Sequence([Digits(individual_digits=True),
    /// ByteLevel(add_prefix_space=False)]).pre_tokenize_str` (GPT-2 byte spelling undone).
    #[test]
    fn digits_examples() {
        assert_eq!(
            digit_pieces("a  1 x\n\n2  "),
            ["a", "  ", "1", " x", "\n\n", "2", "  "]
        );
        assert_eq!(digit_pieces("12345"), ["1", "2", "3", "4", "5"]);
        assert_eq!(digit_pieces(" 3.14"), [" ", "3", ".", "1", "4"]);
        assert_eq!(digit_pieces("x1y"), ["x", "1", "y"]);
        assert_eq!(
            digit_pieces("v2's ½Ⅻ٣"),
            ["v", "2", "'s", " ", "½", "Ⅻ", "٣"]
        );
        assert_eq!(digit_pieces("a 1b"), ["a", " ", "1", "b"]);
        assert_eq!(
            digit_pieces("\u{11DE0}\u{16FF4}"),
            ["\u{11DE0}", "\u{16FF4}"]
        );
        assert_eq!(digit_pieces(""), Vec::<String>::new());
    }

    /// The digit predicate must be the one `tokenizers`' `Digits` uses on every code point.
    #[test]
    fn digits_match_tokenizers() {
        let mut want = vec![false; 0x110000];
        for line in include_str!("../tests/data/digits_numeric.txt").lines() {
            let (lo, hi) = line.split_once(' ').unwrap();
            let lo = u32::from_str_radix(lo, 16).unwrap();
            let hi = u32::from_str_radix(hi, 16).unwrap();
            for cp in lo..=hi {
                want[cp as usize] = true;
            }
        }
        let wrong: Vec<String> = (0..0x110000u32)
            .filter_map(char::from_u32)
            .filter(|c| c.is_numeric() != want[*c as usize])
            .map(|c| format!("U+{:04X}", c as u32))
            .collect();
        assert!(
            wrong.is_empty(),
            "{} differ: {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(40)]
        );
    }

    #[test]
    fn gpt2_examples() {
        assert_eq!(pieces("Hello world"), ["Hello", " world"]);
        assert_eq!(pieces("don't 'steam"), ["don", "'t", " '", "steam"]);
        assert_eq!(pieces("a   b"), ["a", "  ", " b"]);
        assert_eq!(pieces("a\n\nb"), ["a", "\n", "\n", "b"]);
        assert_eq!(pieces("x  \n"), ["x", "  \n"]);
        assert_eq!(pieces("?'s 12ab"), ["?'", "s", " 12", "ab"]);
        assert_eq!(pieces(" \u{3000}é"), [" ", "\u{3000}", "é"]);
        assert_eq!(pieces("'"), ["'"]);
        assert_eq!(pieces("'re'll'x"), ["'re", "'ll", "'", "x"]);
        assert_eq!(pieces(""), Vec::<String>::new());
    }

    /// Every code point's class must be the one Oniguruma gives it inside `tokenizers`.
    #[test]
    fn classes_match_oniguruma() {
        let mut mismatches = Vec::new();
        for line in include_str!("../tests/data/onig_classes.txt").lines() {
            let mut f = line.split(' ');
            let (Some(lo), Some(hi), Some(cls)) = (f.next(), f.next(), f.next()) else {
                panic!("bad line {line:?}");
            };
            let lo = u32::from_str_radix(lo, 16).unwrap();
            let hi = u32::from_str_radix(hi, 16).unwrap();
            let want = match cls {
                "L" => Class::Letter,
                "N" => Class::Number,
                "W" => Class::Space,
                _ => Class::Other,
            };
            for cp in lo..=hi {
                if let Some(c) = char::from_u32(cp) {
                    let got = class_of(c);
                    if got != want {
                        mismatches.push(format!("U+{cp:04X} onig={want:?} ours={got:?}"));
                    }
                }
            }
        }
        assert!(
            mismatches.is_empty(),
            "{} mismatches: {:?}",
            mismatches.len(),
            &mismatches[..mismatches.len().min(40)]
        );
    }
}
