//! The parser's memory bound, measured: a counting allocator records the peak of live bytes
//! while hostile streams are fed in various chunkings, and the peak must stay within what
//! `ParserConfig` documents: both limits (plus one byte) and the chunks given to it.
//!
//! One test in this binary, so that no other test's allocations are counted. It also counts
//! the allocations of encoding large events of short lines.

use bytes::Bytes;
use ssekit::{Parser, ParserConfig};
use ssekit_test_support::counting::{self, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Room for the parser's small allocations (inline text, queue, item values).
const SLACK: usize = 16 * 1024;

fn data_line(len: usize) -> Vec<u8> {
    let mut line = b"data: ".to_vec();
    line.resize(6 + len, b'x');
    line.push(b'\n');
    line
}

/// The worst sequences found, for a line limit `l` and an event limit `e`.
fn hostile(l: usize, e: usize) -> Vec<(&'static str, Vec<u8>)> {
    let endless = |n: usize| {
        let mut v = b"data: ".to_vec();
        v.resize(n, b'y');
        v
    };
    let mut cases = Vec::new();
    // Data near the event limit, then a line that never ends.
    let mut near = Vec::new();
    let mut left = e.saturating_sub(64);
    while left > 0 {
        let n = left.min(l.saturating_sub(8)).max(1);
        near.extend(data_line(n.min(left)));
        left = left.saturating_sub(n + 1);
    }
    let mut a = near.clone();
    a.extend(endless(3 * l + 100));
    cases.push(("event near its limit, then an endless line", a));
    // Two long lines, each as long as a line may be, then more: the first line's buffer must
    // not be held twice when the second joins it.
    let mut b = data_line(l - 6);
    b.extend(data_line(l - 6));
    b.extend(data_line(l - 6));
    b.extend(endless(2 * l));
    cases.push(("long lines joined into one event, then an endless line", b));
    // Two long lines that fill the event between them, each joined across reads: the first
    // line's buffer must become the event's, not be copied while both are held.
    let h1 = (l - 6).min(e / 2 + 1);
    let h2 = (l - 6).min(e.saturating_sub(h1 + 2)).max(1);
    let mut f = data_line(h1);
    f.extend(data_line(h2));
    f.extend(b"\n");
    cases.push(("two long lines filling the event", f));
    // Many short lines up to the event limit, then over it.
    let mut c = Vec::new();
    while c.len() < 2 * e {
        c.extend(data_line(100));
    }
    c.extend(b"\n");
    cases.push(("short lines past the event limit", c));
    // An endless line first, then data near the limit, then an endless line again.
    let mut d = endless(2 * l);
    d.extend(b"\n\n");
    d.extend(near);
    d.extend(endless(2 * l));
    cases.push(("endless line, event near its limit, endless line", d));
    cases
}

fn peak_while_parsing(config: ParserConfig, input: &[u8], chunk: usize) -> usize {
    let before = counting::live_bytes();
    counting::reset_peak();
    {
        let mut parser = Parser::with_config(config);
        for piece in input.chunks(chunk) {
            parser.feed(Bytes::copy_from_slice(piece));
            while let Some(item) = parser.next() {
                drop(item);
            }
        }
        parser.finish();
        while parser.next().is_some() {}
    }
    counting::peak_bytes() - before
}

#[test]
fn peak_memory_stays_within_the_documented_bound() {
    let kib = 1024;
    let setups = [
        (64 * kib, 64 * kib, &[1usize, 7, 4096, 1 << 20][..]),
        (16 * kib, 64 * kib, &[3, 4096, 1 << 20][..]),
        (64 * kib, 16 * kib, &[5, 4096][..]),
        (1 << 20, 1 << 20, &[4096, 65536, 1 << 22][..]),
        (1 << 20, 3 << 20, &[65536][..]),
    ];
    for (l, e, chunks) in setups {
        let config = ParserConfig::new()
            .with_max_line_len(l)
            .with_max_event_len(e);
        for (name, input) in hostile(l, e) {
            for &chunk in chunks {
                let chunk = chunk.min(input.len());
                let peak = peak_while_parsing(config, &input, chunk);
                // The documented bound: both limits, one byte, and the chunk being parsed
                // (plus the one the event's first line still points into).
                let bound = l + 1 + e + 2 * chunk + SLACK;
                assert!(
                    peak <= bound,
                    "{name}: limits {l}/{e}, chunks of {chunk}: peak {peak} > {bound}"
                );
            }
        }
    }
    encoding_short_lines_allocates_once_per_event();
    parsing_large_multi_line_events_allocates_a_few_times_per_event();
    a_short_line_after_a_long_one_keeps_no_large_buffer();

    // The defaults, 16 MiB each, on the first sequence and on two long lines, in 64 KiB reads.
    let l = ssekit::config::DEFAULT_LIMIT;
    for (name, input) in hostile(l, l)
        .into_iter()
        .filter(|(name, _)| name.starts_with("event near") || name.starts_with("two long"))
    {
        let peak = peak_while_parsing(ParserConfig::new(), &input, 65536);
        assert!(peak <= 2 * l + 1 + 2 * 65536 + SLACK, "{name}: {peak}");
    }
}

/// Twenty events of 64 KiB of data in 100-byte lines, in 16 KiB reads: each event's buffer
/// starts as large as the last one's, instead of growing by doubling (which was 16
/// allocations per event), and a small event after them does not keep that room.
fn parsing_large_multi_line_events_allocates_a_few_times_per_event() {
    let event: String = (0..660)
        .map(|i| format!("data: {i:099}\n"))
        .collect::<String>()
        + "\n";
    let input = Bytes::from(event.repeat(20));
    let chunks: Vec<Bytes> = (0..input.len())
        .step_by(16 * 1024)
        .map(|i| input.slice(i..(i + 16 * 1024).min(input.len())))
        .collect();
    let mut parser = Parser::new();
    let mut messages = Vec::new();
    let before = counting::allocations();
    for c in chunks {
        parser.feed(c);
        while let Some(m) = parser.next_message() {
            messages.push(m.unwrap());
        }
    }
    let allocations = counting::allocations() - before;
    assert_eq!(messages.len(), 20);
    assert!(messages.iter().all(|m| m.data().len() == 660 * 99 + 659));
    // Per event: the buffer, the shared header of its `Bytes`, and for the first event its
    // growth; plus `messages` growing.
    assert!(
        allocations <= 3 * 20 + 20,
        "{allocations} allocations for 20 events"
    );
    drop(messages);
    // The small event kept no large buffer (the last event's size was only a hint).
    let before = counting::live_bytes();
    let small = parser_one(b"data: a\ndata: b\n\n", &mut parser);
    assert_eq!(small.data(), "a\nb");
    assert!(counting::live_bytes() - before < 1024);
}

/// A short data line joined across reads after a long line left the carry buffer large: the
/// message copies its few bytes and does not keep that buffer.
fn a_short_line_after_a_long_one_keeps_no_large_buffer() {
    let long = format!(": {}\n", "c".repeat(1 << 20));
    let before = counting::live_bytes();
    let mut parser = Parser::new();
    for piece in long.as_bytes().chunks(60_000) {
        parser.feed(Bytes::copy_from_slice(piece));
        assert!(parser.next().is_none());
    }
    for piece in [
        &b"da"[..],
        b"ta: a line of some forty bytes, joined\n",
        b"\n",
    ] {
        parser.feed(Bytes::from_static(piece));
    }
    let message = parser.next_message().unwrap().unwrap();
    assert_eq!(message.data(), "a line of some forty bytes, joined");
    drop(parser);
    let kept = counting::live_bytes().saturating_sub(before);
    assert!(kept < 1024, "a 34-byte message keeps {kept} bytes");
}

fn parser_one(input: &'static [u8], parser: &mut Parser) -> ssekit::MessageEvent {
    parser.feed(Bytes::from_static(input));
    parser.next_message().unwrap().unwrap()
}

/// 64 KiB of data in 100-byte lines through `EncodeStream`: one copy into the batch, not a
/// segment per line or a buffer grown by doubling.
fn encoding_short_lines_allocates_once_per_event() {
    use futures_util::{StreamExt, stream};
    let events: Vec<ssekit::Event> = (0..20)
        .map(|_| {
            ssekit::Event::new(Bytes::from(
                (0..660).map(|i| format!("{i:099}\n")).collect::<String>(),
            ))
        })
        .collect();
    let before = counting::allocations();
    let chunks: Vec<_> = futures_executor::block_on(
        ssekit::EncodeStream::new(stream::iter(events)).collect::<Vec<_>>(),
    );
    let allocations = counting::allocations() - before;
    assert!(chunks.iter().all(Result::is_ok));
    // Per event: its room in the batch and the shared header of the chunk split off it; plus
    // the collected Vec's growth. (Lending each line instead cost 14 per event.)
    assert!(
        allocations <= 4 * 20,
        "{allocations} allocations for 20 events"
    );
}
