//! Memory per idle subscriber, end to end: 10,000 idle SSE connections to the `live_scores`
//! and `hyper_server` examples (release builds, started as they ship: hyper, the channel,
//! keep-alives every 15 s), on 127.0.0.1. The figure is the server's RSS growth (from
//! `/proc/<pid>/status`) divided by the number of connections.
//!
//! ```sh
//! cargo bench -p ssekit-benches --bench idle
//! ```
//!
//! The match is played so slowly that no event is sent during the run: the connections only
//! hold their subscription, as most of a broadcast's subscribers do most of the time. Needs
//! 10,000 file descriptors for each process (`ulimit -n`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ssekit::channel::{Channel, ChannelConfig};
use ssekit_test_support::counting;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

const CONNECTIONS: usize = 10_000;
const WARM_UP: usize = 200;

fn build(bin: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "ssekit-examples",
            "--bin",
            bin,
        ])
        .status()
        .expect("running cargo");
    assert!(status.success(), "building {bin}");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("release").join(bin)
}

/// Starts the server; returns it and its address.
fn start(binary: &PathBuf) -> (Child, String) {
    let mut child = Command::new(binary)
        .env("PORT", "0")
        .env("MATCH_SPEED", "0.00001")
        .env("MAX_SUBSCRIBERS", "20000")
        .env("MAX_CONNECTIONS", "20000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the server");
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout).lines().next().unwrap().unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    (child, addr)
}

fn rss_kib(pid: u32) -> u64 {
    ssekit_test_support::rss_kib(pid).expect("the server's /proc/<pid>/status")
}

/// Opens an SSE stream and reads the response head (`200`, `text/event-stream`).
async fn subscribe(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the response head within 10 s")
            .unwrap();
        assert!(n > 0, "closed before the response head");
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"), "{head}");
    stream
}

async fn open(addr: &str, n: usize, into: &mut Vec<TcpStream>) {
    // A few at a time: the listener's backlog is finite.
    for chunk in 0..n.div_ceil(100) {
        let batch = (n - chunk * 100).min(100);
        let opened = futures_util::future::join_all((0..batch).map(|_| subscribe(addr))).await;
        into.extend(opened);
    }
}

fn measure(bin: &str) -> f64 {
    let binary = build(bin);
    let (mut server, addr) = start(&binary);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let per = rt.block_on(async {
        let mut streams = Vec::with_capacity(WARM_UP + CONNECTIONS);
        // Warm up the runtime's threads and the allocator's arenas first.
        open(&addr, WARM_UP, &mut streams).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = rss_kib(server.id());
        open(&addr, CONNECTIONS, &mut streams).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = rss_kib(server.id());
        let per = (after - before) as f64 * 1024.0 / CONNECTIONS as f64;
        println!(
            "{bin}: {CONNECTIONS} idle SSE connections, RSS {before} KiB -> {after} KiB: \
             {:.1} KiB per connection ({:.0} s)",
            per / 1024.0,
            started.elapsed().as_secs_f64()
        );
        drop(streams);
        per
    });
    let _ = server.kill();
    let _ = server.wait();
    per
}

/// The library's part of an idle connection: a subscription made a body with its keep-alive
/// timer, polled once (so that the timer and the wake lists are armed), on the heap.
fn library_part() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let channel = Channel::new(ChannelConfig::new().with_max_subscribers(CONNECTIONS));
        channel.publish(ssekit::Event::new("x")).unwrap();
        let before = counting::live_bytes();
        let mut bodies: Vec<_> = (0..CONNECTIONS)
            .map(|_| channel.subscribe(None).unwrap().into_body())
            .collect();
        for body in &mut bodies {
            // The head id, then nothing: the body waits.
            assert!(futures_util::FutureExt::now_or_never(body.next()).is_some());
            assert!(futures_util::FutureExt::now_or_never(body.next()).is_none());
        }
        let per = (counting::live_bytes() - before) as f64 / CONNECTIONS as f64;
        println!(
            "the library's part: {per:.0} B per subscription as a body with keep-alive \
             (EncodeStream {} B inline)",
            std::mem::size_of_val(&bodies[0])
        );
    });
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it with nothing to do.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    library_part();
    for bin in ["live_scores", "hyper_server"] {
        measure(bin);
    }
}
