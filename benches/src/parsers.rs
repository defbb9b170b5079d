//! The parse workloads and every parser under test, each run the same way: chunks in, every
//! message (type, last event id, data) out to a callback.

use std::convert::Infallible;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use futures_core::Stream;
use futures_util::{stream, StreamExt};
use ssekit_test_support::naive;

use crate::{chunk_events, chunk_fixed, chunk_random, llm_stream, Rng, WORDS};

/// 200 events of 64 KiB of data each, in lines of about 100 bytes drawn from [`WORDS`]
/// (`ascii`: only the ASCII words).
pub fn big_multiline(ascii: bool) -> Vec<u8> {
    let mut rng = Rng(0xb16);
    let words: Vec<&str> = WORDS
        .iter()
        .copied()
        .filter(|w| !ascii || w.is_ascii())
        .collect();
    let mut out = String::new();
    for i in 0..200 {
        out.push_str(&format!("event: doc\nid: {i}\n"));
        let mut len = 0;
        while len < 64 * 1024 {
            let mut line = String::from("data: ");
            while line.len() < 100 {
                line.push_str(words[rng.below(words.len() as u64)]);
            }
            len += line.len() - 6 + 1;
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// 100,000 small events with `event`, `id` and JSON data, a comment every 10 and a `retry`
/// every 100; the second half with CRLF line ends.
pub fn small_mixed() -> Vec<u8> {
    let mut out = String::new();
    let n = 100_000;
    for i in 0..n {
        let nl = if i >= n / 2 { "\r\n" } else { "\n" };
        if i % 10 == 0 {
            out.push_str(&format!(": ping{nl}"));
        }
        if i % 100 == 0 {
            out.push_str(&format!("retry: 3000{nl}"));
        }
        let kind = ["update", "score", "presence"][i % 3];
        out.push_str(&format!(
            "event: {kind}{nl}id: {i}{nl}data: {{\"v\":{i}}}{nl}{nl}"
        ));
    }
    out.into_bytes()
}

/// A named workload: the whole input and the reads it arrives in.
pub struct Workload {
    /// A short name, for tables.
    pub name: &'static str,
    /// The whole stream.
    pub input: Bytes,
    /// The reads, in order.
    pub chunks: Vec<Bytes>,
}

/// Every parse workload, in the order of the README's table.
pub fn workloads() -> Vec<Workload> {
    let llm = Bytes::from(llm_stream());
    let ascii = Bytes::from(big_multiline(true));
    let utf8 = Bytes::from(big_multiline(false));
    let mixed = Bytes::from(small_mixed());
    vec![
        Workload {
            name: "llm-16k",
            chunks: chunk_fixed(&llm, 16 * 1024),
            input: llm.clone(),
        },
        Workload {
            name: "llm-event-per-read",
            chunks: chunk_events(&llm),
            input: llm.clone(),
        },
        Workload {
            name: "llm-1-64",
            chunks: chunk_random(&llm, 64),
            input: llm,
        },
        Workload {
            name: "64k-multiline-ascii",
            chunks: chunk_fixed(&ascii, 16 * 1024),
            input: ascii,
        },
        Workload {
            name: "64k-multiline-utf8",
            chunks: chunk_fixed(&utf8, 16 * 1024),
            input: utf8,
        },
        Workload {
            name: "small-mixed",
            chunks: chunk_fixed(&mixed, 16 * 1024),
            input: mixed,
        },
    ]
}

/// Count and an order-sensitive checksum of (type, id, data) over the messages.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sum {
    n: u64,
    h: u64,
}

impl Sum {
    /// Adds one message.
    #[inline]
    pub fn add(&mut self, t: &str, id: &str, data: &str) {
        let edge = |s: &str| {
            let b = s.as_bytes();
            u64::from(*b.first().unwrap_or(&0)) << 8 | u64::from(*b.last().unwrap_or(&0))
        };
        self.n += 1;
        self.h = self
            .h
            .wrapping_mul(0x100_0000_01b3)
            .wrapping_add((t.len() as u64) << 40 ^ (id.len() as u64) << 20 ^ data.len() as u64)
            .wrapping_add(edge(data) ^ edge(id) << 16 ^ edge(t) << 32);
    }

    /// Messages counted.
    pub fn count(&self) -> u64 {
        self.n
    }
}

/// Every message of a stream: (type, last event id, data).
pub type Full = Vec<(String, String, String)>;

/// What the reference parser (straight from the standard) finds in `input`.
pub fn expected(input: &[u8]) -> (Full, Sum) {
    let mut full = Vec::new();
    let mut sum = Sum::default();
    for o in naive::parse(input).out {
        if let naive::Out::Message {
            event_type,
            data,
            last_event_id,
        } = o
        {
            sum.add(&event_type, &last_event_id, &data);
            full.push((event_type, last_event_id, data));
        }
    }
    (full, sum)
}

/// A parser under test: runs over the chunks and reports every message to `f`.
pub type Runner = fn(&[Bytes], &mut dyn FnMut(&str, &str, &str));

fn drain<S: Stream + Unpin>(mut s: S, mut f: impl FnMut(S::Item)) {
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match s.poll_next_unpin(&mut cx) {
            Poll::Ready(Some(x)) => f(x),
            Poll::Ready(None) => break,
            Poll::Pending => unreachable!("in-memory input is always ready"),
        }
    }
}

fn input_stream(chunks: &[Bytes]) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin + '_ {
    stream::iter(chunks.iter().cloned().map(Ok))
}

fn big_limits() -> ssekit::ParserConfig {
    ssekit::ParserConfig::new()
        .with_max_line_len(64 << 20)
        .with_max_event_len(64 << 20)
}

/// ssekit's sans-IO `Parser`, pulled with `next()`.
pub fn ssekit_parser(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    let mut p = ssekit::Parser::with_config(big_limits());
    let mut pull = |p: &mut ssekit::Parser| {
        while let Some(item) = p.next() {
            if let Ok(ssekit::Item::Message(m)) = item {
                f(m.event_type(), m.last_event_id(), m.data());
            }
        }
    };
    for c in chunks {
        p.feed(c.clone());
        pull(&mut p);
    }
    p.finish();
    pull(&mut p);
}

/// ssekit's `EventStream` over a stream of chunks.
pub fn ssekit_stream(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    let events = ssekit::EventStream::with_config(input_stream(chunks), big_limits());
    drain(events, |m| {
        let m = m.unwrap();
        f(m.event_type(), m.last_event_id(), m.data());
    });
}

fn sse_core_parser(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    let mut d = sse_core::SseDecoder::new();
    for c in chunks {
        let mut buf = c.clone();
        while let Some(ev) = d.next(&mut buf) {
            if let Ok(sse_core::SseEvent::Message(m)) = ev {
                f(&m.event, m.last_event_id.as_deref().unwrap_or(""), &m.data);
            }
        }
        debug_assert!(!buf.has_remaining());
    }
}

fn sse_core_stream(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    drain(sse_core::SseStream::new(input_stream(chunks)), |ev| {
        if let Ok(sse_core::SseEvent::Message(m)) = ev {
            f(&m.event, m.last_event_id.as_deref().unwrap_or(""), &m.data);
        }
    });
}

fn sse_stream(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    // sse-stream yields raw blocks: the last event id and the default type are the caller's.
    let mut last_id = String::new();
    drain(sse_stream::SseByteStream::new(input_stream(chunks)), |b| {
        let b = b.unwrap();
        if let Some(id) = &b.id {
            last_id.clone_from(id);
        }
        if let Some(data) = &b.data {
            let t = b
                .event
                .as_deref()
                .filter(|t| !t.is_empty())
                .unwrap_or("message");
            f(t, &last_id, data);
        }
    });
}

/// The type a browser dispatches for an event whose `event` field is empty.
fn or_message(t: &str) -> &str {
    if t.is_empty() {
        "message"
    } else {
        t
    }
}

fn eventsource_stream(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    use eventsource_stream::Eventsource;
    drain(input_stream(chunks).eventsource(), |ev| {
        let ev = ev.unwrap();
        f(or_message(&ev.event), &ev.id, &ev.data);
    });
}

// The fork keeps the original's API: the same shape, its own `Eventsource` trait.
fn eventsource_stream2(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    use eventsource_stream2::Eventsource;
    drain(input_stream(chunks).eventsource(), |ev| {
        let ev = ev.unwrap();
        f(or_message(&ev.event), &ev.id, &ev.data);
    });
}

fn sse_parse_parser(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    let mut p = sse_parse::SseParser::new();
    let mut pull = |p: &mut sse_parse::SseParser| {
        while let Some(ev) = p.next_event() {
            f(&ev.event, &ev.id, &ev.data);
        }
    };
    for c in chunks {
        p.feed(c);
        pull(&mut p);
    }
    p.finish();
    pull(&mut p);
}

fn sse_parse_stream(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    drain(sse_parse::EventStream::new(input_stream(chunks)), |ev| {
        let ev = ev.unwrap();
        f(&ev.event, &ev.id, &ev.data);
    });
}

/// Counts the `\n` of every read: the physical ceiling of any parser.
pub fn memchr_lines(chunks: &[Bytes]) -> usize {
    chunks
        .iter()
        .map(|c| memchr::memchr_iter(b'\n', c).count())
        .sum()
}

/// A parser under test, and whether it is sans-IO (fed chunks directly) or a `Stream`.
pub struct Parser {
    /// Its name in tables.
    pub name: &'static str,
    /// How it runs.
    pub run: Runner,
    /// Whether it is ssekit's.
    pub ours: bool,
    /// Whether it is a `Stream` adapter (else sans-IO).
    pub stream: bool,
}

const fn parser(name: &'static str, run: Runner, ours: bool, stream: bool) -> Parser {
    Parser {
        name,
        run,
        ours,
        stream,
    }
}

/// ssekit's two paths and every peer's.
pub const PARSERS: &[Parser] = &[
    parser("ssekit", ssekit_parser, true, false),
    parser("ssekit-stream", ssekit_stream, true, true),
    parser("sse-core", sse_core_parser, false, false),
    parser("sse-core-stream", sse_core_stream, false, true),
    parser("sse-parse", sse_parse_parser, false, false),
    parser("sse-parse-stream", sse_parse_stream, false, true),
    parser("sse-stream", sse_stream, false, true),
    parser("eventsource-stream", eventsource_stream, false, true),
    parser("eventsource-stream2", eventsource_stream2, false, true),
];

/// The checksum of one run.
pub fn checked_sum(run: Runner, chunks: &[Bytes]) -> Sum {
    let mut sum = Sum::default();
    run(chunks, &mut |t, id, d| sum.add(t, id, d));
    sum
}

/// Whether `run` gives exactly `want` on `chunks`; says what differs if not.
pub fn verify(name: &str, workload: &str, run: Runner, chunks: &[Bytes], want: &Full) -> bool {
    let mut got = Vec::with_capacity(want.len());
    run(chunks, &mut |t, id, d| {
        got.push((t.to_string(), id.to_string(), d.to_string()))
    });
    let ok = &got == want;
    if !ok {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        eprintln!(
            "WRONG OUTPUT: {name} on {workload}: {} messages (want {}), first difference at {first:?}; not timed",
            got.len(),
            want.len()
        );
    }
    ok
}
