//! The README's performance tables: ssekit beside every peer, as same-round ratios.
//!
//! ```sh
//! cargo bench -p ssekit-benches --bench ratios            # 21 rounds
//! ROUNDS=41 cargo bench -p ssekit-benches --bench ratios
//! ```
//!
//! For each workload, every parser (or encoder) is first checked against the reference parser
//! in `tests/support/src/naive.rs`; one with a wrong output is named and left out. Then all of
//! them, and a `memchr` count of the line ends (the physical ceiling), run once per round, in
//! turn. The best peer is the correct peer with the lowest median time; each of ssekit's paths
//! is reported as the median over rounds of (best peer's time ÷ ssekit's time) in the same
//! round, with the quartiles, so more than 1 means faster. `× memchr` is the same ratio to the
//! `memchr` count: the share of the ceiling reached. Every timed run's output checksum is
//! checked. Allocations per message (or event) come from one extra run with the counting
//! allocator on; it is off while timing.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ssekit_benches::encoders::{self, Input, ENCODERS};
use ssekit_benches::parsers::{self, PARSERS};
use ssekit_benches::{interleaved, median};
use ssekit_test_support::counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn rounds() -> usize {
    std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(21)
        .max(3)
}

/// Median and quartiles over rounds of `num[r] / den[r]`.
fn ratio(times: &[Vec<Duration>], num: usize, den: usize) -> (f64, f64, f64) {
    let mut r: Vec<f64> = times
        .iter()
        .map(|row| row[num].as_secs_f64() / row[den].as_secs_f64())
        .collect();
    let m = median(&mut r);
    (m, r[r.len() / 4], r[r.len() * 3 / 4])
}

fn median_time(times: &[Vec<Duration>], i: usize) -> f64 {
    let mut t: Vec<f64> = times.iter().map(|row| row[i].as_secs_f64()).collect();
    median(&mut t)
}

fn fmt((m, lo, hi): (f64, f64, f64)) -> String {
    format!("{m:.2}× ({lo:.2}–{hi:.2})")
}

fn parse_tables(rounds: usize) {
    println!("## Parse: same-round ratios to the best correct peer ({rounds} rounds)\n");
    println!("| workload | best peer | `Parser` | `EventStream` | `Parser` × memchr | allocations per message (`Parser`, `EventStream`, best peer) |");
    println!("|---|---|---|---|---|---|");
    let mut detail = String::new();
    for w in parsers::workloads() {
        let (full, sum) = parsers::expected(&w.input);
        let correct: Vec<&parsers::Parser> = PARSERS
            .iter()
            .filter(|p| parsers::verify(p.name, w.name, p.run, &w.chunks, &full))
            .collect();
        let chunks = &w.chunks;
        let mut fns: Vec<Box<dyn FnMut()>> = correct
            .iter()
            .map(|p| {
                let run = p.run;
                let name = p.name;
                Box::new(move || {
                    assert_eq!(
                        parsers::checked_sum(run, chunks),
                        sum,
                        "{name} changed its output"
                    )
                }) as Box<dyn FnMut()>
            })
            .collect();
        let lines = memchr::memchr_iter(b'\n', &w.input).count();
        fns.push(Box::new(move || {
            assert_eq!(std::hint::black_box(parsers::memchr_lines(chunks)), lines)
        }));
        let mut refs: Vec<&mut dyn FnMut()> = fns.iter_mut().map(|f| &mut **f as _).collect();
        let times = interleaved(rounds, &mut refs);
        let ceiling = correct.len();
        let index = |name: &str| correct.iter().position(|p| p.name == name);
        let best = (0..correct.len())
            .filter(|&i| !correct[i].ours)
            .min_by(|&a, &b| median_time(&times, a).total_cmp(&median_time(&times, b)))
            .expect("a correct peer");
        let allocs = |i: usize| {
            counting::set_counting(true);
            let before = counting::allocations();
            let mut n = 0u64;
            (correct[i].run)(chunks, &mut |_, _, _| n += 1);
            let allocs = counting::allocations() - before;
            counting::set_counting(false);
            allocs as f64 / n as f64
        };
        let cell = |name: &str| {
            index(name).map_or("wrong output".to_string(), |i| fmt(ratio(&times, best, i)))
        };
        let alloc_cell =
            |name: &str| index(name).map_or("–".to_string(), |i| format!("{:.2}", allocs(i)));
        println!(
            "| {} | {} | {} | {} | {} | {}, {}, {:.2} |",
            w.name,
            correct[best].name,
            cell("ssekit"),
            cell("ssekit-stream"),
            index("ssekit").map_or("–".to_string(), |i| fmt(ratio(&times, ceiling, i))),
            alloc_cell("ssekit"),
            alloc_cell("ssekit-stream"),
            allocs(best),
        );
        detail.push_str(&format!("{}: ", w.name));
        for (i, p) in correct.iter().enumerate() {
            detail.push_str(&format!(
                "{} {:.2}, ",
                p.name,
                median_time(&times, best) / median_time(&times, i)
            ));
        }
        detail.push_str(&format!(
            "memchr {:.2}\n",
            median_time(&times, best) / median_time(&times, ceiling)
        ));
    }
    println!(
        "\nEach crate's speed relative to the best peer (median times):\n\n```text\n{detail}```\n"
    );
}

fn encode_tables(rounds: usize) {
    println!("## Encode: same-round ratios to the best correct peer ({rounds} rounds)\n");
    println!("| workload | best peer | `encode` into a reused buffer | `EncodeStream` | `EncodeStream` × scan floor | allocations per event (buffer, `EncodeStream`, best peer) |");
    println!("|---|---|---|---|---|---|");
    let workloads = [
        (
            "50k-small-json-strings",
            Input::Strings(encoders::llm_json()),
        ),
        (
            "200x64k-multiline",
            Input::Shared(Bytes::from(encoders::multiline_64k()), 200),
        ),
        (
            "200x1mib-single-line",
            Input::Shared(Bytes::from(vec![b'a'; 1 << 20]), 200),
        ),
    ];
    let mut detail = String::new();
    for (name, input) in &workloads {
        let lens: Vec<usize> = ENCODERS
            .iter()
            .map(|e| encoders::verify(e.name, e.run, input))
            .collect();
        let breaks = encoders::scan_floor(input);
        // Each round: every encoder in turn, handed a fresh copy of the input made before its
        // clock starts, then the scan floor.
        let times: Vec<Vec<Duration>> = (0..rounds)
            .map(|_| {
                let mut row: Vec<Duration> = ENCODERS
                    .iter()
                    .zip(&lens)
                    .map(|(e, &len)| {
                        let input = input.clone();
                        let mut n = 0;
                        let t = Instant::now();
                        (e.run)(input, &mut |c| n += c.len());
                        let took = t.elapsed();
                        assert_eq!(n, len, "{} changed its output", e.name);
                        took
                    })
                    .collect();
                let t = Instant::now();
                assert_eq!(std::hint::black_box(encoders::scan_floor(input)), breaks);
                row.push(t.elapsed());
                row
            })
            .collect();
        let floor = ENCODERS.len();
        let best = (0..ENCODERS.len())
            .filter(|&i| !ENCODERS[i].ours)
            .min_by(|&a, &b| median_time(&times, a).total_cmp(&median_time(&times, b)))
            .unwrap();
        let allocs = |i: usize| {
            counting::set_counting(true);
            let before = counting::allocations();
            (ENCODERS[i].run)(input.clone(), &mut |_| {});
            let allocs = counting::allocations() - before;
            counting::set_counting(false);
            allocs as f64 / input.count() as f64
        };
        let index = |n: &str| ENCODERS.iter().position(|e| e.name == n).unwrap();
        let (buf, st) = (index("ssekit-buffer"), index("ssekit-stream"));
        println!(
            "| {name} | {} | {} | {} | {} | {:.2}, {:.2}, {:.2} |",
            ENCODERS[best].name,
            fmt(ratio(&times, best, buf)),
            fmt(ratio(&times, best, st)),
            fmt(ratio(&times, floor, st)),
            allocs(buf),
            allocs(st),
            allocs(best),
        );
        detail.push_str(&format!("{name}: "));
        for (i, e) in ENCODERS.iter().enumerate() {
            detail.push_str(&format!(
                "{} {:.2}, ",
                e.name,
                median_time(&times, best) / median_time(&times, i)
            ));
        }
        detail.push('\n');
    }
    println!(
        "\nEach crate's speed relative to the best peer (median times):\n\n```text\n{detail}```"
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter picks one table.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_default();
    let rounds = rounds();
    // Timed runs pay nothing for the counting allocator; it counts only when asked.
    counting::set_counting(false);
    if "parse".contains(&filter) || filter.is_empty() {
        parse_tables(rounds);
    }
    if "encode".contains(&filter) || filter.is_empty() {
        encode_tables(rounds);
    }
}
