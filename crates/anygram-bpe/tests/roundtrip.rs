//! Property tests: any string encodes to ids that decode back to its exact UTF-8 bytes, and
//! batch/append variants agree with `encode`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use anygram_bpe::BpeTokenizer;
use proptest::prelude::*;

fn tokenizer() -> &'static BpeTokenizer {
    static TOK: OnceLock<BpeTokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        BpeTokenizer::from_tokenizer_json_str(include_str!("data/tok1000.json")).unwrap()
    })
}

/// Fragments that exercise every branch of the pre-tokenizer and the added-token split.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z]{1,12}",
        "[0-9]{1,6}",
        "[ \t\n\r]{1,6}",
        Just("'".to_owned()),
        Just("'s".to_owned()),
        Just("'ll".to_owned()),
        Just("<|endoftext|>".to_owned()),
        Just("<|endoftext".to_owned()),
        "[!-/:-@\\[-`{-~]{1,4}",
        "[\u{00a0}\u{2000}-\u{200b}\u{2028}\u{3000}]{1,3}",
        "[\u{0300}-\u{036f}]{1,3}",
        "[\u{4e00}-\u{9fff}]{1,5}",
        "[\u{1f300}-\u{1faff}\u{200d}\u{fe0f}]{1,4}",
        "[à-ÿĀ-ž]{1,5}",
        "[\u{0660}-\u{0669}\u{2160}-\u{2188}½¼]{1,3}",
        any::<char>().prop_map(String::from),
        "x{40,120}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_inverts_encode(s in text()) {
        let tok = tokenizer();
        let ids = tok.encode(&s);
        prop_assert_eq!(tok.decode_bytes(&ids).unwrap(), s.as_bytes());
        prop_assert!(ids.iter().all(|&i| (i as usize) < tok.vocab_size()));
    }

    #[test]
    fn arbitrary_unicode_round_trips(s in any::<String>()) {
        let tok = tokenizer();
        prop_assert_eq!(tok.decode_bytes(&tok.encode(&s)).unwrap(), s.as_bytes());
    }

    #[test]
    fn batch_and_append_agree(a in text(), b in text()) {
        let tok = tokenizer();
        let batch = tok.encode_batch(&[&a, &b]);
        prop_assert_eq!(&batch[0], &tok.encode(&a));
        prop_assert_eq!(&batch[1], &tok.encode(&b));
        let mut buf = tok.encode(&a);
        tok.encode_into(&b, &mut buf);
        prop_assert_eq!(buf, [tok.encode(&a), tok.encode(&b)].concat());
    }
}
