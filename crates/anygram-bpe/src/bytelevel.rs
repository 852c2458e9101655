//! GPT-2's byte ↔ printable-character table.
//!
//! Vocabularies in `tokenizer.json` spell each byte as a printable character (space is `Ġ`).
//! The encoder works on raw bytes instead, so the table is only used once, at load time, to
//! translate vocabulary and merge strings back into bytes.

/// `BYTE_TO_CHAR[b]` is the character GPT-2 uses for byte `b`.
pub(crate) fn byte_to_char() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..256u32 {
        let printable = (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
        let cp = if printable {
            b
        } else {
            let cp = next;
            next += 1;
            cp
        };
        // Every value is below 0x144, far from the surrogate range.
        table[b as usize] = char::from_u32(cp).unwrap_or('\0');
    }
    table
}

/// Inverse table: the byte a GPT-2 character stands for.
pub(crate) struct CharToByte {
    map: [i16; 0x144],
}

impl CharToByte {
    pub(crate) fn new() -> Self {
        let mut map = [-1i16; 0x144];
        for (b, c) in byte_to_char().iter().enumerate() {
            map[*c as usize] = b as i16;
        }
        CharToByte { map }
    }

    /// Raw bytes of a vocabulary string, or `None` when a character is outside the alphabet.
    pub(crate) fn decode(&self, token: &str) -> Option<Vec<u8>> {
        token
            .chars()
            .map(|c| match self.map.get(c as usize) {
                Some(&b) if b >= 0 => Some(b as u8),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_characters() {
        let t = byte_to_char();
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[b'a' as usize], 'a');
        let inv = CharToByte::new();
        assert_eq!(inv.decode("Ġhello"), Some(b" hello".to_vec()));
        assert_eq!(inv.decode("x y"), None);
        for (b, c) in t.iter().enumerate() {
            assert_eq!(inv.decode(&c.to_string()), Some(vec![b as u8]));
        }
    }
}
