//! Tiny limits against arbitrary input: the parser never panics, never holds more than its
//! limits, and after every error goes on parsing.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ssekit::{Parser, ParserConfig};

fuzz_target!(|input: &[u8]| {
    let Some((&knobs, stream)) = input.split_first() else {
        return;
    };
    let line = 1 + usize::from(knobs & 0x0f);
    let event = 1 + usize::from(knobs >> 4) * 3;
    let mut p = Parser::with_config(
        ParserConfig::new()
            .with_max_line_len(line)
            .with_max_event_len(event),
    );
    for chunk in stream.chunks(1 + usize::from(knobs % 7)) {
        p.feed(Bytes::copy_from_slice(chunk));
        while let Some(item) = p.next() {
            if let Ok(ssekit::Item::Message(m)) = item {
                // Limits count bytes as received; each invalid byte may become the three bytes
                // of U+FFFD.
                assert!(
                    m.data().len() <= 3 * event,
                    "a message over the event limit"
                );
            }
            // The line buffer holds at most the limit plus the one byte that shows it is
            // exceeded; the data buffer at most the event limit (decoded).
            assert!(p.buffered_len() <= line + 1 + 3 * event);
        }
        assert!(p.buffered_len() <= line + 1 + 3 * event);
    }
    p.finish();
    while p.next().is_some() {}
    assert_eq!(p.buffered_len(), 0);
});
