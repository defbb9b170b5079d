//! Encoder throughput, side by side with the encoders users pick today, on the same events.
//!
//! ```sh
//! cargo bench -p ssekit-benches --bench encode
//! ```
//!
//! Workloads: (i) 50,000 small JSON events shaped like an LLM token stream, each handed over
//! as an owned `String` (as a server that formats JSON has it); (ii) 200 events of 64 KiB
//! multi-line data; (iii) 200 events with a 1 MiB single-line `Bytes` payload; and the
//! crossover between copying and zero-copy segments. The encoders are those of
//! `ssekit_benches::encoders` (ssekit's two paths, sse-stream, axum and actix-web-lab). Before
//! timing, each encoder's output is parsed by the reference parser and compared with the
//! input; while timing, each run's byte count is checked. Allocations per event on (i) are
//! counted and printed. For the README's same-round ratios, see the `ratios` bench.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

use ssekit_benches::encoders::{self, Input, ENCODERS};
use ssekit_test_support::counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn group(c: &mut Criterion, name: &str, input: &Input) {
    let mut g = c.benchmark_group(format!("encode/{name}"));
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.measurement_time(std::time::Duration::from_secs(3));
    let wire_len = encoders::verify("ssekit", encoders::ssekit_buffer, input);
    g.throughput(Throughput::Bytes(wire_len as u64));
    g.bench_function("memchr2-scan-floor", |b| {
        b.iter(|| encoders::scan_floor(input))
    });
    for e in ENCODERS {
        let len = encoders::verify(e.name, e.run, input);
        g.bench_function(e.name, |bench| {
            // The input is handed over: its copy is made outside the timing.
            bench.iter_batched(
                || input.clone(),
                |input| {
                    let mut n = 0;
                    (e.run)(input, &mut |c| n += c.len());
                    assert_eq!(n, len, "{} wrote a different length while timed", e.name);
                },
                BatchSize::PerIteration,
            );
        });
    }
    g.finish();
}

fn report_allocations(input: &Input) {
    counting::set_counting(true);
    println!("allocations per event, 50,000 small JSON events given as String (the String's own included):");
    for e in ENCODERS {
        let input = input.clone();
        let before = counting::allocations();
        (e.run)(input.clone(), &mut |_| {});
        let n = counting::allocations() - before;
        println!("  {:<14} {:>6.2}", e.name, n as f64 / input.count() as f64);
    }
    counting::set_counting(false);
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
    // Timed runs pay nothing for the counting allocator.
    counting::set_counting(false);
    let small = Input::Strings(encoders::llm_json());
    report_allocations(&small);
    group(c, "i-50k-small-json", &small);
    group(
        c,
        "ii-200x64k-multiline",
        &Input::Shared(Bytes::from(encoders::multiline_64k()), 200),
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
