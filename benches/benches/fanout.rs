//! Fan-out to 10,000 subscribers on one instance: the crate's `Hub` and `Channel` beside
//! `tokio::sync::broadcast`, the baseline, on the same frames in the same run.
//!
//! The channel runs twice: its subscribers on one topic and nothing else published
//! (`ssekit_channel`), and the same with 99 events of 99 other topics (which nobody here
//! subscribes to) published after each of theirs (`ssekit_channel_1_of_100_topics`): if a
//! subscriber costs nothing per event of other topics, the two take the same time but for
//! the publishing of those events.
//!
//! ```sh
//! cargo bench -p ssekit-benches --bench fanout
//! ```
//!
//! Each subscriber is a tokio task on a 2-worker runtime that reads 100 frames and checks their
//! ids; the time runs from the first publish until every subscriber has all 100. The figure is
//! frames delivered per second (subscribers × frames ÷ time). Before the timings it prints the
//! heap bytes per idle subscriber, measured with a counting allocator.

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::StreamExt;
use ssekit::channel::{Channel, ChannelConfig};
use ssekit::hub::{Delivery, Hub, HubConfig};
use ssekit::Event;
use tokio::sync::broadcast;

use ssekit_test_support::counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

const SUBSCRIBERS: usize = 10_000;
const FRAMES: u64 = 100;

fn frame(id: u64) -> Bytes {
    Bytes::from(format!(
        "event: goal\nid: {id}\ndata: {{\"minute\":{id},\"score\":{{\"home\":1,\"away\":0}}}}\n\n"
    ))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Sum of the ids 1..=FRAMES: what every subscriber must end with.
const ID_SUM: u64 = FRAMES * (FRAMES + 1) / 2;

fn run_hub(rt: &tokio::runtime::Runtime, frames: &[Bytes]) -> Duration {
    rt.block_on(async {
        let hub: Hub<u64> = Hub::new(HubConfig::new(1024));
        let tasks: Vec<_> = (0..SUBSCRIBERS)
            .map(|_| {
                let mut cursor = hub.subscribe(None).unwrap().cursor;
                tokio::spawn(async move {
                    let mut sum = 0;
                    for _ in 0..FRAMES {
                        match cursor.next().await {
                            Some(Delivery::Frame { id, .. }) => sum += id,
                            other => panic!("{other:?}"),
                        }
                    }
                    sum
                })
            })
            .collect();
        tokio::task::yield_now().await;
        let start = Instant::now();
        for (i, f) in frames.iter().enumerate() {
            hub.publish(i as u64 + 1, f.clone()).unwrap();
            tokio::task::yield_now().await;
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), ID_SUM);
        }
        start.elapsed()
    })
}

fn run_broadcast(rt: &tokio::runtime::Runtime, frames: &[Bytes]) -> Duration {
    rt.block_on(async {
        let (tx, _) = broadcast::channel::<(u64, Bytes)>(1024);
        let tasks: Vec<_> = (0..SUBSCRIBERS)
            .map(|_| {
                let mut rx = tx.subscribe();
                tokio::spawn(async move {
                    let mut sum = 0;
                    for _ in 0..FRAMES {
                        let (id, _frame) = rx.recv().await.unwrap();
                        sum += id;
                    }
                    sum
                })
            })
            .collect();
        tokio::task::yield_now().await;
        let start = Instant::now();
        for (i, f) in frames.iter().enumerate() {
            tx.send((i as u64 + 1, f.clone())).unwrap();
            tokio::task::yield_now().await;
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), ID_SUM);
        }
        start.elapsed()
    })
}

/// The channel's run: every subscriber on topic 0 reads the `FRAMES` events published there,
/// each followed by `others` events of other topics.
fn run_channel(rt: &tokio::runtime::Runtime, events: &[Event], others: usize) -> Duration {
    rt.block_on(async {
        let channel = Channel::new(
            ChannelConfig::new()
                .with_epoch(1)
                .with_history_events(1 << 20)
                .with_history_bytes(1 << 30)
                .with_max_subscribers(SUBSCRIBERS),
        );
        let topics: Vec<_> = (0..100).map(|t| channel.topic(&format!("t{t}"))).collect();
        let mine = [&topics[0]];
        let tasks: Vec<_> = (0..SUBSCRIBERS)
            .map(|_| {
                let mut sub = channel.subscribe_to(mine, None).unwrap();
                tokio::spawn(async move {
                    let mut sum = 0;
                    for _ in 0..FRAMES {
                        let frame = sub.next().await.unwrap();
                        assert!(frame.as_bytes().starts_with(b"event: goal\nid: 1-"));
                        sum += sub.last_id().unwrap().offset();
                    }
                    sum
                })
            })
            .collect();
        tokio::task::yield_now().await;
        let other = Event::builder().event("other").data("{}").build().unwrap();
        let start = Instant::now();
        let mut expected = 0;
        for e in events {
            expected += channel.publish_to(&topics[0], e.clone()).unwrap().offset();
            for i in 0..others {
                channel
                    .publish_to(&topics[1 + i % 99], other.clone())
                    .unwrap();
            }
            tokio::task::yield_now().await;
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), expected);
        }
        start.elapsed()
    })
}

/// What 10,000 subscribers waiting on one topic cost a publish on another: the same 100,000
/// publishes timed with them and without, interleaved over `rounds`; then each of them must
/// get exactly the one event of its own topic.
fn other_topics(rounds: usize) {
    use futures_util::FutureExt;
    let run = |subscribers: usize| {
        let channel = Channel::new(
            ChannelConfig::new()
                .with_epoch(1)
                .with_history_events(1 << 16)
                .with_history_bytes(1 << 30)
                .with_max_subscribers(SUBSCRIBERS),
        );
        let (mine, other) = (channel.topic("mine"), channel.topic("other"));
        let mut waiting: Vec<_> = (0..subscribers)
            .map(|_| channel.subscribe_to([&mine], None).unwrap())
            .collect();
        for s in &mut waiting {
            assert!(s.next().now_or_never().is_none()); // listed, waiting
        }
        let event = Event::builder().event("other").data("{}").build().unwrap();
        let start = Instant::now();
        for _ in 0..100_000 {
            channel.publish_to(&other, event.clone()).unwrap();
        }
        let per = start.elapsed().as_secs_f64() / 100_000.0;
        channel.publish_to(&mine, Event::new("mine")).unwrap();
        for s in &mut waiting {
            let frame = s.next().now_or_never().flatten().unwrap();
            assert!(frame.as_bytes().ends_with(b"data: mine\n\n"));
            assert!(s.next().now_or_never().is_none());
        }
        per
    };
    let mut ratios = Vec::new();
    let mut alone = Vec::new();
    for _ in 0..rounds {
        let without = run(0);
        ratios.push(run(SUBSCRIBERS) / without);
        alone.push(without);
    }
    ratios.sort_by(f64::total_cmp);
    alone.sort_by(f64::total_cmp);
    println!(
        "a publish on a topic nobody follows, with {SUBSCRIBERS} subscribers waiting on another \
         ÷ with none: median {:.3}× ({:.3}–{:.3}, {rounds} rounds; {:.0} ns per publish alone)",
        ratios[rounds / 2],
        ratios[0],
        ratios[rounds - 1],
        alone[rounds / 2] * 1e9
    );
}

/// Heap bytes per idle subscriber: first the subscription alone, then a waiting task.
fn idle_memory(frames: &[Bytes]) {
    // The subscription alone.
    let hub: Hub<u64> = Hub::new(HubConfig::new(1024));
    hub.publish(1, frames[0].clone()).unwrap();
    let before = counting::live_bytes();
    let cursors: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| hub.subscribe(None).unwrap().cursor)
        .collect();
    let hub_bytes = (counting::live_bytes() - before) as f64 / SUBSCRIBERS as f64;
    drop(cursors);
    let (tx, _) = broadcast::channel::<(u64, Bytes)>(1024);
    let before = counting::live_bytes();
    let receivers: Vec<_> = (0..SUBSCRIBERS).map(|_| tx.subscribe()).collect();
    let bc_bytes = (counting::live_bytes() - before) as f64 / SUBSCRIBERS as f64;
    drop(receivers);
    println!(
        "idle subscription: hub {hub_bytes:.0} B (Cursor {} B inline + its slot), \
         broadcast {bc_bytes:.0} B (Receiver {} B inline)",
        std::mem::size_of::<ssekit::hub::Cursor<u64>>(),
        std::mem::size_of::<broadcast::Receiver<(u64, Bytes)>>(),
    );

    // A task waiting for the next frame (tokio's task included, the same for both).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let per_task = |spawn: &dyn Fn() -> tokio::task::JoinHandle<()>| {
        rt.block_on(async {
            let before = counting::live_bytes();
            let tasks: Vec<_> = (0..SUBSCRIBERS).map(|_| spawn()).collect();
            tokio::task::yield_now().await; // every task runs once and waits
            let bytes = (counting::live_bytes() - before) as f64 / SUBSCRIBERS as f64;
            for t in &tasks {
                t.abort();
            }
            bytes
        })
    };
    let hub_bytes = per_task(&|| {
        let mut cursor = hub.subscribe(None).unwrap().cursor;
        tokio::spawn(async move {
            let _ = cursor.next().await;
        })
    });
    let bc_bytes = per_task(&|| {
        let mut rx = tx.subscribe();
        tokio::spawn(async move {
            let _ = rx.recv().await;
        })
    });
    println!("idle subscriber task: hub {hub_bytes:.0} B, broadcast {bc_bytes:.0} B");
}

/// Same-round ratios: each run once per round, back to back, so that the machine's drift
/// between runs cancels out; prints the median and quartiles of each ratio over `ROUNDS`
/// (default 15) rounds.
fn interleaved(rt: &tokio::runtime::Runtime, frames: &[Bytes], events: &[Event]) {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let mut ratios: [Vec<f64>; 4] = Default::default();
    for _ in 0..rounds {
        let broadcast = run_broadcast(rt, frames).as_secs_f64();
        let hub = run_hub(rt, frames).as_secs_f64();
        let channel = run_channel(rt, events, 0).as_secs_f64();
        let topics = run_channel(rt, events, 99).as_secs_f64();
        ratios[0].push(broadcast / hub);
        ratios[1].push(broadcast / channel);
        ratios[2].push(channel / topics);
        ratios[3].push(hub / channel);
    }
    let names = [
        "hub ÷ broadcast (throughput)",
        "channel ÷ broadcast",
        "channel, 1 of 100 topics ÷ channel, 1 topic",
        "channel ÷ hub",
    ];
    for (name, mut r) in names.into_iter().zip(ratios) {
        r.sort_by(f64::total_cmp);
        let q = |f: f64| r[((r.len() - 1) as f64 * f).round() as usize];
        println!(
            "{name}: median {:.2}× (quartiles {:.2}–{:.2}, {rounds} rounds)",
            q(0.5),
            q(0.25),
            q(0.75)
        );
    }
}

fn goal_events() -> Vec<Event> {
    (1..=FRAMES)
        .map(|n| {
            Event::builder()
                .event("goal")
                .data(format!(
                    "{{\"minute\":{n},\"score\":{{\"home\":1,\"away\":0}}}}"
                ))
                .build()
                .unwrap()
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let frames: Vec<Bytes> = (1..=FRAMES).map(frame).collect();
    idle_memory(&frames);
    let rt = runtime();
    let events = goal_events();
    other_topics(7);
    interleaved(&rt, &frames, &events);
    let mut g = c.benchmark_group("fanout_10k");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(SUBSCRIBERS as u64 * FRAMES));
    g.bench_function("ssekit_hub", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_hub(&rt, &frames)).sum())
    });
    g.bench_function("tokio_broadcast", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_broadcast(&rt, &frames)).sum())
    });
    g.bench_function("ssekit_channel", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_channel(&rt, &events, 0)).sum())
    });
    g.bench_function("ssekit_channel_1_of_100_topics", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_channel(&rt, &events, 99)).sum())
    });
    g.finish();
}

criterion_group!(fanout, benches);
criterion_main!(fanout);
