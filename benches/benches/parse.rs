//! Parser throughput, side by side with the parsers users pick today, on the same chunks.
//!
//! ```sh
//! cargo bench -p ssekit-benches --bench parse
//! ```
//!
//! Workloads: (i) an LLM token stream in 16 KiB reads; (ii) 64 KiB multi-line messages;
//! (iii) small messages with event/id/retry/comments, half CRLF; (iv) stream (i) in random
//! 1–64 byte reads; plus a 16/32 MiB single line fed whole, in 64-byte and 1-byte chunks, to
//! show the work is linear. Before timing, every parser's full output is checked against the
//! reference parser in `tests/support/src/naive.rs`; while timing, each run's count and checksum
//! are checked too, so nobody is timed on a wrong answer. Allocations per message on (i) are
//! counted with a counting global allocator and printed.

use std::convert::Infallible;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_core::Stream;
use futures_util::{stream, StreamExt};

use ssekit_benches::{chunk_fixed, chunk_random, llm_stream, Rng, WORDS};
use ssekit_test_support::{counting, naive};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

// ---------------------------------------------------------------------------------------------
// Workloads (deterministic)

fn big_multiline() -> Vec<u8> {
    let mut rng = Rng(0xb16);
    let mut out = String::new();
    for i in 0..200 {
        out.push_str(&format!("event: doc\nid: {i}\n"));
        let mut len = 0;
        while len < 64 * 1024 {
            let mut line = String::from("data: ");
            while line.len() < 100 {
                line.push_str(WORDS[rng.below(WORDS.len() as u64)]);
            }
            len += line.len() - 6 + 1;
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
    }
    out.into_bytes()
}

fn small_mixed() -> Vec<u8> {
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

// ---------------------------------------------------------------------------------------------
// Checking

/// Count and an order-sensitive checksum of (type, id, data) over the messages.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sum {
    n: u64,
    h: u64,
}

impl Sum {
    #[inline]
    fn add(&mut self, t: &str, id: &str, data: &str) {
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
}

type Full = Vec<(String, String, String)>;

fn expected(input: &[u8]) -> (Full, Sum) {
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

/// Each parser under test: runs over the chunks and reports every message to `f`.
type Runner = fn(&[Bytes], &mut dyn FnMut(&str, &str, &str));

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

fn run_ssekit(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    let mut p = ssekit::Parser::with_config(
        ssekit::ParserConfig::new()
            .with_max_line_len(64 << 20)
            .with_max_event_len(64 << 20),
    );
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

fn run_ssekit_stream(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    drain(ssekit::EventStream::new(input_stream(chunks)), |m| {
        let m = m.unwrap();
        f(m.event_type(), m.last_event_id(), m.data());
    });
}

fn run_sse_core(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
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

fn run_sse_core_stream(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    drain(sse_core::SseStream::new(input_stream(chunks)), |ev| {
        if let Ok(sse_core::SseEvent::Message(m)) = ev {
            f(&m.event, m.last_event_id.as_deref().unwrap_or(""), &m.data);
        }
    });
}

fn run_sse_stream(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
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

fn run_eventsource_stream(chunks: &[Bytes], f: &mut dyn FnMut(&str, &str, &str)) {
    use eventsource_stream::Eventsource;
    drain(input_stream(chunks).eventsource(), |ev| {
        let ev = ev.unwrap();
        let t = if ev.event.is_empty() {
            "message"
        } else {
            &ev.event
        };
        f(t, &ev.id, &ev.data);
    });
}

fn run_memchr(chunks: &[Bytes]) -> usize {
    chunks
        .iter()
        .map(|c| memchr::memchr_iter(b'\n', c).count())
        .sum()
}

const RUNNERS: &[(&str, Runner)] = &[
    ("ssekit", run_ssekit),
    ("ssekit-stream", run_ssekit_stream),
    ("sse-core", run_sse_core),
    ("sse-core-stream", run_sse_core_stream),
    ("sse-stream", run_sse_stream),
    ("eventsource-stream", run_eventsource_stream),
];

fn checked_sum(run: Runner, chunks: &[Bytes]) -> Sum {
    let mut sum = Sum::default();
    run(chunks, &mut |t, id, d| sum.add(t, id, d));
    sum
}

fn verify(name: &str, workload: &str, run: Runner, chunks: &[Bytes], want: &Full) -> bool {
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

fn workload_group(c: &mut Criterion, name: &str, input: &Bytes, chunks: &[Bytes]) {
    let (full, sum) = expected(input);
    let mut g = c.benchmark_group(format!("parse/{name}"));
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.measurement_time(std::time::Duration::from_secs(3));
    g.bench_function("memchr-ceiling", |b| b.iter(|| run_memchr(chunks)));
    for &(runner_name, run) in RUNNERS {
        if !verify(runner_name, name, run, chunks, &full) {
            continue;
        }
        g.bench_function(runner_name, |b| {
            b.iter(|| {
                let got = checked_sum(run, chunks);
                assert_eq!(
                    got, sum,
                    "{runner_name} gave a different output while timed"
                );
            });
        });
    }
    g.finish();
}

fn report_allocations(input: &Bytes, chunks: &[Bytes]) {
    let (full, _) = expected(input);
    println!(
        "allocations per message on the LLM stream (16 KiB reads), {} messages:",
        full.len()
    );
    for &(name, run) in RUNNERS {
        let before = counting::allocations();
        let mut n = 0u64;
        run(chunks, &mut |_, _, _| n += 1);
        let allocs = counting::allocations() - before;
        println!("  {name:<20} {:>6.2}", allocs as f64 / n as f64);
    }
}

fn benches(c: &mut Criterion) {
    let llm = Bytes::from(llm_stream());
    let llm_chunks = chunk_fixed(&llm, 16 * 1024);
    report_allocations(&llm, &llm_chunks);
    workload_group(c, "i-llm-16k", &llm, &llm_chunks);

    let big = Bytes::from(big_multiline());
    workload_group(c, "ii-64k-multiline", &big, &chunk_fixed(&big, 16 * 1024));

    let mixed = Bytes::from(small_mixed());
    workload_group(
        c,
        "iii-small-mixed",
        &mixed,
        &chunk_fixed(&mixed, 16 * 1024),
    );

    workload_group(c, "iv-llm-1-64", &llm, &chunk_random(&llm, 64));

    long_line(c);
}

/// One data line of 16 or 32 MiB, fed whole, in 64-byte chunks and in 1-byte chunks: the time
/// must double with the size (no rescanning or recopying per chunk).
fn long_line(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse/long-line");
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(200));
    g.measurement_time(std::time::Duration::from_secs(3));
    for mib in [16usize, 32] {
        let mut v = b"data: ".to_vec();
        v.resize(6 + (mib << 20), b'x');
        v.extend_from_slice(b"\n\n");
        let input = Bytes::from(v);
        g.throughput(Throughput::Bytes(input.len() as u64));
        for chunk in [usize::MAX, 64, 1] {
            let label = if chunk == usize::MAX {
                "whole".to_string()
            } else {
                format!("{chunk}B")
            };
            g.bench_with_input(
                BenchmarkId::new(label, format!("{mib}MiB")),
                &input,
                |b, input| {
                    b.iter(|| {
                        let mut p = ssekit::Parser::with_config(
                            ssekit::ParserConfig::new()
                                .with_max_line_len(64 << 20)
                                .with_max_event_len(64 << 20),
                        );
                        let mut n = 0;
                        let mut i = 0;
                        while i < input.len() {
                            let end = i.saturating_add(chunk).min(input.len());
                            p.feed(input.slice(i..end));
                            i = end;
                            while let Some(m) = p.next_message() {
                                assert_eq!(m.unwrap().data().len(), mib << 20);
                                n += 1;
                            }
                        }
                        assert_eq!(n, 1);
                    });
                },
            );
        }
    }
    g.finish();
}

criterion_group!(parse, benches);
criterion_main!(parse);
