//! Encoder throughput, side by side with the encoders users pick today, on the same events.
//!
//! ```sh
//! cargo bench -p ssekit-benches --bench encode
//! ```
//!
//! Workloads: (i) 50,000 small JSON events shaped like an LLM token stream, each handed over
//! as an owned `String` (as a server that formats JSON has it); (ii) 200 events of 64 KiB
//! multi-line data; (iii) 200 events with a 1 MiB single-line `Bytes` payload; and the
//! crossover between copying and zero-copy segments. Before timing, each encoder's output is
//! parsed by the reference parser and compared with the input; while timing, each run's byte
//! count is checked. Allocations per event on (i) are counted and printed.
//!
//! actix-web-lab's encoder is not included: it brings all of actix-web into the build, which
//! more than doubles this crate's dev-dependency build time on a 2-core machine.

use std::convert::Infallible;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::{stream, StreamExt};
use http_body::Body as _;

use ssekit_test_support::{counting, naive};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

// ---------------------------------------------------------------------------------------------
// Inputs

fn llm_json() -> Vec<String> {
    (0..50_000)
        .map(|i| {
            format!(
                "{{\"id\":\"chatcmpl-9xQz{:06}\",\"object\":\"chat.completion.chunk\",\"created\":1732600000,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" token{i}\"}},\"finish_reason\":null}}]}}",
                i % 7
            )
        })
        .collect()
}

fn multiline_64k() -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 64 * 1024 {
        s.push_str(&format!("{i:05} the quick brown fox jumps over the lazy dog, é 🎉, and keeps on running along the line\n"));
        i += 1;
    }
    s.pop();
    s
}

// ---------------------------------------------------------------------------------------------
// Encoders: each turns a list of data payloads into wire chunks, given to `sink`.

/// What each encoder is handed per event.
#[derive(Clone)]
enum Input {
    /// Owned strings (cloned from templates in the timed loop, the same cost for everyone).
    Strings(Vec<String>),
    /// One shared payload, sent `n` times.
    Shared(Bytes, usize),
}

impl Input {
    fn count(&self) -> usize {
        match self {
            Input::Strings(v) => v.len(),
            Input::Shared(_, n) => *n,
        }
    }
}

type Encoder = fn(&Input, &mut dyn FnMut(&[u8]));

fn poll_all<S: futures_core::Stream + Unpin>(mut s: S, mut f: impl FnMut(S::Item)) {
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match s.poll_next_unpin(&mut cx) {
            Poll::Ready(Some(x)) => f(x),
            Poll::Ready(None) => break,
            Poll::Pending => unreachable!(),
        }
    }
}

fn ssekit_buffer(input: &Input, sink: &mut dyn FnMut(&[u8])) {
    // Sans-IO: one reused buffer, split off every 32 KiB as a writer would.
    let mut buf = BytesMut::with_capacity(64 * 1024);
    match input {
        Input::Strings(v) => {
            for s in v {
                ssekit::Event::new(s.clone()).encode(&mut buf);
                if buf.len() >= 32 * 1024 {
                    sink(&buf.split().freeze());
                }
            }
        }
        Input::Shared(b, n) => {
            for _ in 0..*n {
                // Large payloads: zero-copy segments.
                let frame = ssekit::Event::new(b.clone()).into_frame();
                for seg in frame.into_segments() {
                    sink(&seg);
                }
            }
        }
    }
    if !buf.is_empty() {
        sink(&buf.split().freeze());
    }
}

fn ssekit_stream(input: &Input, sink: &mut dyn FnMut(&[u8])) {
    match input {
        Input::Strings(v) => {
            let events = stream::iter(v.iter().map(|s| ssekit::Event::new(s.clone())));
            poll_all(ssekit::EncodeStream::new(events), |c| sink(&c.unwrap()));
        }
        Input::Shared(b, n) => {
            let events = stream::iter((0..*n).map(|_| ssekit::Event::new(b.clone())));
            poll_all(ssekit::EncodeStream::new(events), |c| sink(&c.unwrap()));
        }
    }
}

fn sse_stream(input: &Input, sink: &mut dyn FnMut(&[u8])) {
    match input {
        Input::Strings(v) => {
            for s in v {
                sink(&sse_stream::Sse::default().data(s.clone()).encode().unwrap());
            }
        }
        Input::Shared(b, n) => {
            // Its data is a String: the payload must become one.
            let s = std::str::from_utf8(b).unwrap();
            for _ in 0..*n {
                sink(
                    &sse_stream::Sse::default()
                        .data(s.to_owned())
                        .encode()
                        .unwrap(),
                );
            }
        }
    }
}

fn axum_body(input: &Input, sink: &mut dyn FnMut(&[u8])) {
    use axum::response::sse::{Event, Sse};
    use axum::response::IntoResponse;
    let drive = |events: Vec<Event>, sink: &mut dyn FnMut(&[u8])| {
        let resp =
            Sse::new(stream::iter(events.into_iter().map(Ok::<_, Infallible>))).into_response();
        let mut body = std::pin::pin!(resp.into_body());
        let mut cx = Context::from_waker(Waker::noop());
        while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
            if let Ok(data) = frame.unwrap().into_data() {
                sink(data.chunk());
            }
        }
    };
    match input {
        // axum's `Event::data` takes `AsRef<str>` and copies it into the event's buffer.
        Input::Strings(v) => drive(
            v.iter().map(|s| Event::default().data(s.clone())).collect(),
            sink,
        ),
        Input::Shared(b, n) => {
            let s = std::str::from_utf8(b).unwrap();
            drive((0..*n).map(|_| Event::default().data(s)).collect(), sink);
        }
    }
}

const ENCODERS: &[(&str, Encoder)] = &[
    ("ssekit", ssekit_buffer),
    ("ssekit-stream", ssekit_stream),
    ("sse-stream", sse_stream),
    ("axum", axum_body),
];

/// The messages a client must see for this input.
fn expected_data(input: &Input) -> Vec<String> {
    let norm = |s: &str| s.replace("\r\n", "\n").replace('\r', "\n");
    match input {
        Input::Strings(v) => v.iter().map(|s| norm(s)).collect(),
        Input::Shared(b, n) => vec![norm(std::str::from_utf8(b).unwrap()); *n],
    }
}

fn verify(name: &str, encode: Encoder, input: &Input) -> usize {
    let mut wire = Vec::new();
    encode(input, &mut |c| wire.extend_from_slice(c));
    let got: Vec<String> = naive::parse(&wire)
        .out
        .into_iter()
        .filter_map(|o| match o {
            naive::Out::Message { data, .. } => Some(data),
            _ => None,
        })
        .collect();
    assert!(
        got == expected_data(input),
        "{name} produced a wrong stream"
    );
    wire.len()
}

fn group(c: &mut Criterion, name: &str, input: &Input) {
    let mut g = c.benchmark_group(format!("encode/{name}"));
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.measurement_time(std::time::Duration::from_secs(3));
    let wire_len = verify("ssekit", ssekit_buffer, input);
    g.throughput(Throughput::Bytes(wire_len as u64));
    if let Input::Shared(b, n) = input {
        // The floor for a zero-copy encoder: one scan of each payload for line breaks.
        let (b, n) = (b.clone(), *n);
        g.bench_function("memchr2-scan-floor", move |bench| {
            bench.iter(|| {
                (0..n)
                    .map(|_| memchr::memchr2_iter(b'\n', b'\r', &b).count())
                    .sum::<usize>()
            });
        });
    }
    for &(enc_name, encode) in ENCODERS {
        let len = verify(enc_name, encode, input);
        g.bench_function(enc_name, |bench| {
            bench.iter(|| {
                let mut n = 0;
                encode(input, &mut |c| n += c.len());
                assert_eq!(n, len, "{enc_name} wrote a different length while timed");
            });
        });
    }
    g.finish();
}

fn report_allocations(input: &Input) {
    println!("allocations per event, 50,000 small JSON events given as String (the String's own included):");
    for &(name, encode) in ENCODERS {
        let before = counting::allocations();
        encode(input, &mut |_| {});
        let n = counting::allocations() - before;
        println!("  {name:<14} {:>6.2}", n as f64 / input.count() as f64);
    }
}

/// Where copying into a buffer stops beating zero-copy segments, for one owned `Bytes`
/// payload per event.
fn crossover(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode/crossover");
    g.sample_size(20);
    g.warm_up_time(std::time::Duration::from_millis(300));
    g.measurement_time(std::time::Duration::from_secs(1));
    for size in [256usize, 1024, 4096, 16 * 1024, 64 * 1024] {
        let payload = Bytes::from(vec![b'x'; size]);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("copy", size), &payload, |b, p| {
            let mut buf = BytesMut::with_capacity(128 * 1024);
            b.iter(|| {
                ssekit::Event::new(p.clone()).encode(&mut buf);
                buf.split().freeze()
            });
        });
        g.bench_with_input(BenchmarkId::new("segments", size), &payload, |b, p| {
            b.iter(|| {
                let mut buf = BytesMut::with_capacity(64);
                buf.extend_from_slice(b"data: ");
                let mut frame = ssekit::encode::Frame::new();
                frame.push(buf.split().freeze());
                // The scan for line breaks is part of the cost.
                assert!(memchr::memchr2(b'\n', b'\r', p).is_none());
                frame.push(p.clone());
                frame.push(Bytes::from_static(b"\n\n"));
                frame
            });
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let small = Input::Strings(llm_json());
    report_allocations(&small);
    group(c, "i-50k-small-json", &small);
    group(
        c,
        "ii-200x64k-multiline",
        &Input::Shared(Bytes::from(multiline_64k()), 200),
    );
    group(
        c,
        "iii-200x1mib-single-line",
        &Input::Shared(Bytes::from(vec![b'a'; 1 << 20]), 200),
    );
    crossover(c);
}

criterion_group!(encode, benches);
criterion_main!(encode);
