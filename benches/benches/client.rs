//! What `EventSource` costs over the bare parser, per event, on the LLM stream.
//!
//! ```sh
//! cargo bench -p ssekit-benches --bench client
//! ```
//!
//! Two pairs, each on the same bytes:
//!
//! - `loopback`: a server on 127.0.0.1 sends the LLM stream (50,000 chunks of about 240 bytes,
//!   then `[DONE]`) in 16 KiB writes. `event-source` reads it with `EventSource` (one-shot, ended
//!   by the `[DONE]` sentinel); `event-stream` sends the same request with reqwest and parses
//!   `bytes_stream()` with the bare `EventStream`. Both pay for the request and the transport.
//! - `in-memory`: the same stream as 16 KiB chunks in memory, through the sans-IO `Session`
//!   driven as `EventSource` drives it (`next_item`, then `poll`: what `EventSource` adds over
//!   the parser is the session's bookkeeping) and through the bare `EventStream`; no transport
//!   to hide the difference.
//!
//! Beside criterion's figures, each pair prints the median ratio over 41 interleaved rounds
//! (one of each, back to back): on a noisy machine the steadier figure.
//!
//! Every run's message count and data checksum are checked.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::{stream, StreamExt};
use ssekit::client::{ClientConfig, Output, Session, Update};
use ssekit::reconnect::ReconnectConfig;
use ssekit::{EventSource, Item, SseStreamExt};
use ssekit_benches::{chunk_fixed, llm_stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EVENTS: usize = 50_000;

/// Serves `body` to every request, in 16 KiB writes, on a runtime of its own.
fn serve(body: Bytes) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let body = body.clone();
                tokio::spawn(async move {
                    let _ = respond(&mut socket, &body).await;
                });
            }
        });
    });
    addr
}

/// Keep-alive: one response per request head, until the client hangs up.
async fn respond(socket: &mut tokio::net::TcpStream, body: &Bytes) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0u8; 4096];
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf.clear();
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        socket.write_all(reply.as_bytes()).await?;
        for chunk in body.chunks(16 * 1024) {
            socket.write_all(chunk).await?;
        }
    }
}

/// (messages, total data bytes), the `[DONE]` sentinel left out.
type Sum = (usize, usize);

async fn with_event_source(client: &reqwest::Client, url: &str) -> Sum {
    let config = ClientConfig::new()
        .with_reconnect(ReconnectConfig::new().with_one_shot(true))
        .with_sentinel("[DONE]");
    let mut events = EventSource::new(client.get(url))
        .unwrap()
        .with_config(config);
    let mut sum = (0, 0);
    while let Some(update) = events.next().await {
        if let Update::Message(m) = update.unwrap() {
            sum = (sum.0 + 1, sum.1 + m.data().len());
        }
    }
    sum
}

async fn with_event_stream(client: &reqwest::Client, url: &str) -> Sum {
    let response = client
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let mut messages = response.bytes_stream().sse_events();
    let mut sum = (0, 0);
    while let Some(m) = messages.next().await {
        let m = m.unwrap();
        if m.data() == "[DONE]" {
            break;
        }
        sum = (sum.0 + 1, sum.1 + m.data().len());
    }
    sum
}

/// The session as `EventSource` drives it: items already parsed through `next_item`, the rest
/// through `poll`.
fn session_in_memory(chunks: &[Bytes]) -> Sum {
    let config = ClientConfig::new()
        .with_reconnect(ReconnectConfig::new().with_one_shot(true))
        .with_sentinel("[DONE]");
    let mut session = Session::new(config);
    let t = Duration::ZERO;
    let mut chunks = chunks.iter();
    let mut sum = (0, 0);
    loop {
        while let Some(item) = session.next_item() {
            if let Ok(Item::Message(m)) = item {
                sum = (sum.0 + 1, sum.1 + m.data().len());
            }
        }
        match session.poll(t) {
            Output::Connect { .. } => {
                session.on_response(t, 200, Some(b"text/event-stream"), None);
            }
            Output::Read { .. } => match chunks.next() {
                Some(c) => session.feed(t, c.clone()),
                None => session.on_end(t),
            },
            Output::Item(_) => {}
            Output::Stop(_) => return sum,
            other => panic!("{other:?}"),
        }
    }
}

fn event_stream_in_memory(chunks: &[Bytes]) -> Sum {
    let input = stream::iter(chunks.iter().cloned().map(Ok::<_, Infallible>));
    let mut messages = input.sse_events();
    let mut cx = Context::from_waker(Waker::noop());
    let mut sum = (0, 0);
    loop {
        match messages.poll_next_unpin(&mut cx) {
            Poll::Ready(Some(m)) => {
                let m = m.unwrap();
                if m.data() == "[DONE]" {
                    return sum;
                }
                sum = (sum.0 + 1, sum.1 + m.data().len());
            }
            Poll::Ready(None) => return sum,
            Poll::Pending => unreachable!("in-memory input is always ready"),
        }
    }
}

/// The median, over `rounds` rounds that time `a` then `b` back to back, of `b`'s time over
/// `a`'s: a ratio the machine's noise moves less than two separate criterion figures.
fn interleaved(label: &str, rounds: usize, mut a: impl FnMut(), mut b: impl FnMut()) {
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = std::time::Instant::now();
            a();
            let ta = t.elapsed();
            let t = std::time::Instant::now();
            b();
            t.elapsed().as_secs_f64() / ta.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "{label}: median {:.3}x (quartiles {:.3}-{:.3}) over {rounds} interleaved rounds",
        ratios[rounds / 2],
        ratios[rounds / 4],
        ratios[rounds * 3 / 4]
    );
}

fn benches(c: &mut Criterion) {
    let body = Bytes::from(llm_stream());
    let chunks = chunk_fixed(&body, 16 * 1024);
    let want = event_stream_in_memory(&chunks);
    assert_eq!(want.0, EVENTS);

    interleaved(
        "in-memory: Session / EventStream",
        41,
        || assert_eq!(event_stream_in_memory(&chunks), want),
        || assert_eq!(session_in_memory(&chunks), want),
    );
    let mut g = c.benchmark_group("client/in-memory");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.sample_size(20);
    g.bench_function("event-stream", |b| {
        b.iter(|| assert_eq!(event_stream_in_memory(&chunks), want));
    });
    g.bench_function("session", |b| {
        b.iter(|| assert_eq!(session_in_memory(&chunks), want));
    });
    g.finish();

    let addr = serve(body);
    let url = format!("http://{addr}/v1/chat/completions");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    assert_eq!(rt.block_on(with_event_source(&client, &url)), want);
    assert_eq!(rt.block_on(with_event_stream(&client, &url)), want);
    interleaved(
        "loopback: EventSource / EventStream",
        41,
        || assert_eq!(rt.block_on(with_event_stream(&client, &url)), want),
        || assert_eq!(rt.block_on(with_event_source(&client, &url)), want),
    );
    let mut g = c.benchmark_group("client/loopback");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.sample_size(20);
    g.bench_function("event-stream", |b| {
        b.iter(|| assert_eq!(rt.block_on(with_event_stream(&client, &url)), want));
    });
    g.bench_function("event-source", |b| {
        b.iter(|| assert_eq!(rt.block_on(with_event_source(&client, &url)), want));
    });
    g.finish();
}

criterion_group!(client, benches);
criterion_main!(client);
