//! The parser over arbitrary bytes in arbitrary chunks: never panics, and gives exactly what
//! the reference parser (`ssekit_test_support::naive`, written from the standard) gives for the
//! whole input.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ssekit::{Item, Parser, ParserConfig};

use ssekit_test_support::naive;

fuzz_target!(|input: &[u8]| {
    // The first byte seeds the chunk sizes; the rest is the stream.
    let Some((&seed, stream)) = input.split_first() else {
        return;
    };
    let want = naive::parse(stream);

    let mut p = Parser::with_config(ParserConfig::new().with_comments(true));
    let mut got = Vec::new();
    let pull = |p: &mut Parser, got: &mut Vec<naive::Out>| {
        while let Some(item) = p.next() {
            match item.expect("no limit can be reached by a fuzz input") {
                Item::Message(m) => got.push(naive::Out::Message {
                    event_type: m.event_type().into(),
                    data: m.data().into(),
                    last_event_id: m.last_event_id().to_string(),
                }),
                Item::Retry(d) => got.push(naive::Out::Retry(d.as_millis() as u64)),
                Item::Comment(c) => got.push(naive::Out::Comment(c.to_string())),
                Item::LastEventId(id) => got.push(naive::Out::LastEventId(id.to_string())),
                _ => unreachable!(),
            }
        }
    };
    let mut state = u32::from(seed) | 1;
    let mut i = 0;
    while i < stream.len() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let size = 1 + (state >> 16) as usize % 17;
        let end = (i + size).min(stream.len());
        p.feed(Bytes::copy_from_slice(&stream[i..end]));
        pull(&mut p, &mut got);
        i = end;
    }
    p.finish();
    pull(&mut p, &mut got);

    assert_eq!(got, want.out);
    assert_eq!(p.last_event_id().as_str(), want.last_event_id);
    assert_eq!(p.retry().map(|d| d.as_millis() as u64), want.retry);
});
