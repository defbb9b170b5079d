//! Chunking never matters: fixtures and arbitrary streams give the same output whole, byte by
//! byte, and split anywhere — and the same output as the reference parser.

mod common;

use common::{naive, parse_chunks, split_at};
use proptest::prelude::*;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 4, "fixtures missing");
    out
}

#[test]
fn fixtures_split_everywhere() {
    for (name, input) in fixtures() {
        let want = naive::parse(&input);
        assert!(!want.out.is_empty(), "{name} yields nothing");
        assert_eq!(parse_chunks([&input[..]]), want, "{name} whole");
        assert_eq!(parse_chunks(input.chunks(1)), want, "{name} byte by byte");
        for size in [2, 3, 7, 64] {
            assert_eq!(
                parse_chunks(input.chunks(size)),
                want,
                "{name} in {size}-byte chunks"
            );
        }
        for cut in 0..=input.len() {
            assert_eq!(
                parse_chunks(split_at(&input, &[cut])),
                want,
                "{name} split at {cut}"
            );
        }
    }
}

/// Pieces that make up event streams with every structure the standard cares about.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => Just(b"data".to_vec()),
        2 => Just(b"event".to_vec()),
        2 => Just(b"id".to_vec()),
        2 => Just(b"retry".to_vec()),
        4 => Just(b":".to_vec()),
        3 => Just(b" ".to_vec()),
        4 => Just(b"\n".to_vec()),
        2 => Just(b"\r".to_vec()),
        2 => Just(b"\r\n".to_vec()),
        1 => Just(b"\xEF\xBB\xBF".to_vec()),
        1 => Just(b"\xEF\xBB".to_vec()),
        1 => Just(b"\0".to_vec()),
        1 => Just("é€🎉".as_bytes().to_vec()),
        1 => Just(b"\xF0\x9F".to_vec()),
        2 => "[0-9]{1,3}".prop_map(String::into_bytes),
        2 => "[a-z+ -]{1,40}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 1..6),
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(piece(), 0..60).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_streams_and_splits_match_reference(
        input in stream(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let want = naive::parse(&input);
        let cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        prop_assert_eq!(&parse_chunks(split_at(&input, &cuts)), &want);
        prop_assert_eq!(&parse_chunks(input.chunks(1)), &want);
    }

    #[test]
    fn arbitrary_bytes_match_reference(input in proptest::collection::vec(any::<u8>(), 0..300), size in 1usize..40) {
        let want = naive::parse(&input);
        prop_assert_eq!(&parse_chunks([&input[..]]), &want);
        prop_assert_eq!(&parse_chunks(input.chunks(size)), &want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The crate's UTF-8 checks (word-wise ASCII scan, span check, DFA for long input) decode
    /// exactly as the standard library does.
    #[test]
    fn lossy_text_matches_std(
        head in "[a-z é🎉\n]{0,300}",
        noise in proptest::collection::vec(any::<u8>(), 0..40),
        at in any::<prop::sample::Index>(),
    ) {
        let mut bytes = head.into_bytes();
        let i = at.index(bytes.len() + 1);
        bytes.splice(i..i, noise);
        let want = String::from_utf8_lossy(&bytes).into_owned();
        let text = ssekit::Text::from_utf8_lossy(bytes::Bytes::from(bytes.clone()));
        prop_assert_eq!(text.as_str(), want.as_str());
        prop_assert_eq!(ssekit::Text::try_from(bytes.clone()).is_ok(), std::str::from_utf8(&bytes).is_ok());
    }
}
