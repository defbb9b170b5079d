//! Parser throughput, side by side with the parsers users pick today, on the same chunks.
//!
//! ```sh
//! cargo bench -p ssekit-benches --bench parse
//! ```
//!
//! The workloads of `ssekit_benches::parsers::workloads` (the LLM stream in 16 KiB reads, one
//! event per read and 1–64 byte reads; 64 KiB multi-line messages, ASCII and not; small mixed
//! messages), plus a 16/32 MiB single line fed whole, in 64-byte and 1-byte chunks, to show the
//! work is linear. Before timing, every parser's full output is checked against the reference
//! parser in `tests/support/src/naive.rs`; while timing, each run's count and checksum are
//! checked too, so nobody is timed on a wrong answer. Allocations per message on the LLM
//! stream are counted and printed. For the README's same-round ratios, see the `ratios` bench.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use ssekit_benches::parsers::{self, PARSERS};
use ssekit_test_support::counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn workload_group(c: &mut Criterion, w: &parsers::Workload) {
    let (full, sum) = parsers::expected(&w.input);
    let chunks = &w.chunks[..];
    let mut g = c.benchmark_group(format!("parse/{}", w.name));
    g.throughput(Throughput::Bytes(w.input.len() as u64));
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.measurement_time(std::time::Duration::from_secs(3));
    g.bench_function("memchr-ceiling", |b| {
        b.iter(|| parsers::memchr_lines(chunks))
    });
    for p in PARSERS {
        if !parsers::verify(p.name, w.name, p.run, chunks, &full) {
            continue;
        }
        g.bench_function(p.name, |b| {
            b.iter(|| {
                let got = parsers::checked_sum(p.run, chunks);
                assert_eq!(got, sum, "{} gave a different output while timed", p.name);
            });
        });
    }
    g.finish();
}

fn report_allocations(w: &parsers::Workload) {
    counting::set_counting(true);
    println!("allocations per message on {}:", w.name);
    for p in PARSERS {
        let before = counting::allocations();
        let mut n = 0u64;
        (p.run)(&w.chunks, &mut |_, _, _| n += 1);
        let allocs = counting::allocations() - before;
        println!("  {:<20} {:>6.2}", p.name, allocs as f64 / n as f64);
    }
    counting::set_counting(false);
}

fn benches(c: &mut Criterion) {
    // Timed runs pay nothing for the counting allocator.
    counting::set_counting(false);
    let workloads = parsers::workloads();
    report_allocations(&workloads[0]);
    for w in &workloads {
        workload_group(c, w);
    }
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
