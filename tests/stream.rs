//! The `Stream` adapters: batching, errors passed through in order, keep-alive on a fake
//! timer and on tokio's paused clock, graceful shutdown, zero-copy large events, and parsing
//! with transport errors and limits.

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use ssekit::error::{ParseError, StreamError};
use ssekit::stream::Timer;
use ssekit::{
    EncodeStream, Event, EventStream, Item, ItemStream, KeepAlive, ParserConfig, SseStreamExt,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

fn noop_cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

#[tokio::test]
async fn events_ready_together_become_one_chunk() {
    let events = (0..10).map(|i| {
        Event::builder()
            .id(i as u64)
            .data(format!("n{i}"))
            .build()
            .unwrap()
    });
    let chunks: Vec<_> = EncodeStream::new(stream::iter(events)).collect().await;
    assert_eq!(chunks.len(), 1);
    let wire = chunks[0].as_ref().unwrap();
    assert!(wire.starts_with(b"id: 0\ndata: n0\n\n"));
    assert!(wire.ends_with(b"id: 9\ndata: n9\n\n"));
}

#[tokio::test]
async fn errors_pass_through_in_order() {
    let items: Vec<Result<Event, &str>> = vec![
        Ok(Event::new("a")),
        Ok(Event::new("b")),
        Err("boom"),
        Ok(Event::new("c")),
        Err("again"),
    ];
    let out: Vec<_> = EncodeStream::new(stream::iter(items)).collect().await;
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(out[0].as_ref().unwrap(), "data: a\n\ndata: b\n\n");
    assert_eq!(out[1].as_ref().unwrap_err(), &"boom");
    assert_eq!(out[2].as_ref().unwrap(), "data: c\n\n");
    assert_eq!(out[3].as_ref().unwrap_err(), &"again");
}

#[tokio::test]
async fn large_event_goes_out_without_copy_and_in_order() {
    let payload = Bytes::from(vec![b'z'; 1 << 20]);
    let events = vec![
        Event::new("before"),
        Event::new(payload.clone()),
        Event::new("after"),
    ];
    let out: Vec<Bytes> = EncodeStream::new(stream::iter(events))
        .map(Result::unwrap)
        .collect()
        .await;
    let joined: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
    let mut want = b"data: before\n\ndata: ".to_vec();
    want.extend_from_slice(&payload);
    want.extend_from_slice(b"\n\ndata: after\n\n");
    assert_eq!(joined, want);
    assert!(
        out.iter()
            .any(|b| b.as_ptr() == payload.as_ptr() && b.len() == payload.len())
    );
}

/// A timer the test fires by hand, recording resets.
#[derive(Clone, Default)]
struct FakeTimer {
    fired: Arc<AtomicBool>,
    resets: Arc<Mutex<Vec<Duration>>>,
}

impl Timer for FakeTimer {
    fn poll_expired(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.swap(false, Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
    fn reset(&mut self, after: Duration) {
        self.resets.lock().unwrap().push(after);
    }
}

#[test]
fn keep_alive_with_a_fake_timer() {
    let timer = FakeTimer::default();
    let (tx, rx) = futures_channel_like();
    let mut s =
        EncodeStream::new(rx).keep_alive(KeepAlive::new(Duration::from_secs(15)), timer.clone());
    let mut cx = noop_cx();
    assert!(s.poll_next_unpin(&mut cx).is_pending());
    timer.fired.store(true, Ordering::SeqCst);
    match s.poll_next_unpin(&mut cx) {
        Poll::Ready(Some(Ok(b))) => {
            assert_eq!(b, ": keep-alive\n", "a single comment line, no blank line")
        }
        other => panic!("{other:?}"),
    }
    assert!(s.poll_next_unpin(&mut cx).is_pending());
    let resets_before = timer.resets.lock().unwrap().len();
    tx.lock().unwrap().push(Event::new("x"));
    match s.poll_next_unpin(&mut cx) {
        Poll::Ready(Some(Ok(b))) => assert_eq!(b, "data: x\n\n"),
        other => panic!("{other:?}"),
    }
    assert!(
        timer.resets.lock().unwrap().len() > resets_before,
        "sending an event restarts the interval"
    );
    assert!(
        timer
            .resets
            .lock()
            .unwrap()
            .iter()
            .all(|d| *d == Duration::from_secs(15))
    );
}

/// A minimal pending-until-pushed stream of events, to drive polls by hand.
fn futures_channel_like() -> (
    Arc<Mutex<Vec<Event>>>,
    impl futures_core::Stream<Item = Event> + Unpin,
) {
    let q: Arc<Mutex<Vec<Event>>> = Arc::default();
    let q2 = q.clone();
    let s = stream::poll_fn(move |_cx| {
        let mut q = q2.lock().unwrap();
        if q.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(Some(q.remove(0)))
        }
    });
    (q, s)
}

#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn keep_alive_on_tokios_paused_clock_restarts_after_each_event() {
    use tokio::time::{Instant, advance};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let events = stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut s = EncodeStream::new(events).keep_alive_tokio(Duration::from_secs(10));
    let start = Instant::now();

    // Nothing sent: a keep-alive after exactly 10 s.
    let first = s.next().await.unwrap().unwrap();
    assert_eq!(first, ": keep-alive\n");
    assert_eq!(start.elapsed(), Duration::from_secs(10));

    // An event at 16 s pushes the next keep-alive to 26 s, not 20 s.
    advance(Duration::from_secs(6)).await;
    tx.send(Event::new("goal")).unwrap();
    assert_eq!(s.next().await.unwrap().unwrap(), "data: goal\n\n");
    let ka = s.next().await.unwrap().unwrap();
    assert_eq!(ka, ": keep-alive\n");
    assert_eq!(start.elapsed(), Duration::from_secs(26));
}

#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn shutdown_sends_farewell_then_ends() {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let bye = Event::builder()
        .retry(Duration::from_secs(30))
        .comment("restarting")
        .build()
        .unwrap();
    let events = stream::iter([Event::new("one")]).chain(stream::pending());
    let mut s = std::pin::pin!(
        EncodeStream::new(events)
            .keep_alive_tokio(Duration::from_secs(5))
            .shutdown_on(async { stop_rx.await.unwrap() }, Some(bye))
    );
    assert_eq!(s.next().await.unwrap().unwrap(), "data: one\n\n");
    stop_tx.send(()).unwrap();
    assert_eq!(
        s.next().await.unwrap().unwrap(),
        ": restarting\nretry: 30000\n\n"
    );
    assert!(s.next().await.is_none());
    assert!(s.next().await.is_none(), "stays ended");
}

#[tokio::test]
async fn parse_stream_passes_transport_errors_and_ends_normally() {
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![
        Ok(b"data: a\n"),
        Ok(b"\nda"),
        Err(std::io::Error::other("reset")),
        Ok(b"ta: b\n\n"),
    ];
    let out: Vec<_> = stream::iter(chunks).sse_events().collect().await;
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].as_ref().unwrap().data(), "a");
    match &out[1] {
        Err(StreamError::Transport(e)) => assert_eq!(e.to_string(), "reset"),
        other => panic!("{other:?}"),
    }
    assert_eq!(out[2].as_ref().unwrap().data(), "b");
}

#[tokio::test]
async fn parse_stream_exposes_reconnection_state() {
    let body = stream::iter([Ok::<_, ()>(
        "retry: 2000\nid: 5\n\nid: 6\ndata: x\n\nid: 7\n",
    )]);
    let mut s = EventStream::new(body);
    let m = s.next().await.unwrap().unwrap();
    assert_eq!(m.last_event_id(), "6");
    assert!(s.next().await.is_none());
    assert_eq!(
        s.last_event_id(),
        "6",
        "the unfinished block's id does not count"
    );
    assert_eq!(s.retry(), Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn item_stream_reports_everything() {
    let body = stream::iter([Ok::<_, ()>(": hb\nretry: 5\ndata: x\n\n")]);
    let items: Vec<_> = ItemStream::with_config(body, ParserConfig::new().with_comments(true))
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(matches!(&items[0], Item::Comment(c) if c == "hb"));
    assert!(matches!(items[1], Item::Retry(d) if d == Duration::from_millis(5)));
    assert!(matches!(&items[2], Item::Message(m) if m.data() == "x"));
}

#[tokio::test]
async fn limits_hold_against_a_peer_that_never_ends_a_line() {
    let config = ParserConfig::new()
        .with_max_line_len(1024)
        .with_max_event_len(4096);
    // 10 MiB with no line end, in 1 KiB chunks, then a good event.
    let flood =
        stream::iter((0..10 * 1024).map(|_| Ok::<_, ()>(Bytes::from_static(&[b'a'; 1024]))));
    let tail = stream::iter([Ok(Bytes::from_static(b"\n\ndata: fine\n\n"))]);
    let mut s = EventStream::with_config(flood.chain(tail), config);
    match s.next().await {
        Some(Err(StreamError::Parse(ParseError::LineTooLong { limit: 1024 }))) => {}
        other => panic!("{other:?}"),
    }
    assert!(s.parser().buffered_len() <= 1025);
    assert_eq!(s.next().await.unwrap().unwrap().data(), "fine");
    assert!(s.next().await.is_none());
}

#[tokio::test]
async fn limits_hold_against_an_endless_event() {
    let config = ParserConfig::new()
        .with_max_line_len(1024)
        .with_max_event_len(4096);
    let flood =
        stream::iter((0..10_000).map(|_| Ok::<_, ()>(Bytes::from_static(b"data: 0123456789\n"))));
    let tail = stream::iter([Ok(Bytes::from_static(b"\ndata: after\n\n"))]);
    let mut s = EventStream::with_config(flood.chain(tail), config);
    match s.next().await {
        Some(Err(StreamError::Parse(ParseError::EventTooLarge { limit: 4096 }))) => {}
        other => panic!("{other:?}"),
    }
    assert!(s.parser().buffered_len() <= 4096 + 1024);
    assert_eq!(s.next().await.unwrap().unwrap().data(), "after");
}

#[tokio::test]
async fn proxy_reencodes_parsed_messages() {
    let upstream = stream::iter([Ok::<_, ()>(
        "event: goal\nid: 1\ndata: 1-0\n\n: ping\n\ndata: plain\n\n",
    )]);
    let downstream: Vec<_> = upstream.sse_events().sse_encode().collect().await;
    let wire: Vec<u8> = downstream
        .into_iter()
        .flat_map(|r| r.unwrap().to_vec())
        .collect();
    assert_eq!(wire, b"event: goal\nid: 1\ndata: 1-0\n\ndata: plain\n\n");
}

#[tokio::test]
async fn many_events_that_encode_to_nothing_do_not_stall_the_stream() {
    let empties = stream::iter((0..10_000).map(|_| Event::default()));
    let s = EncodeStream::new(empties.chain(stream::iter([Event::new("last")])));
    let out: Vec<_> = tokio::time::timeout(Duration::from_secs(10), s.collect::<Vec<_>>())
        .await
        .expect("the stream stalled");
    let wire: Vec<u8> = out.into_iter().flat_map(|r| r.unwrap().to_vec()).collect();
    assert_eq!(wire, b"data: last\n\n");
}

#[tokio::test]
async fn a_proxy_of_items_forwards_id_only_blocks() {
    // A server tells a new client where the stream stands with an id and no data; the standard
    // fires no event for it, but a proxy must pass it on or its clients resume from nowhere.
    let upstream = [Ok::<_, std::io::Error>(
        "id: 41\n\nretry: 500\nid: 42\ndata: x\n\n: ping\nid: 43\n\n",
    )];
    let wire: Vec<_> = stream::iter(upstream)
        .sse_items()
        .sse_encode()
        .collect()
        .await;
    let wire: Vec<u8> = wire.into_iter().flat_map(|c| c.unwrap().to_vec()).collect();
    assert_eq!(
        String::from_utf8(wire.clone()).unwrap(),
        "id: 41\n\nretry: 500\n\nid: 42\ndata: x\n\nid: 43\n\n"
    );
    // What the downstream client sees: the same ids, the last one included.
    let mut items = stream::iter([Ok::<_, std::io::Error>(wire)]).sse_items();
    let mut ids = Vec::new();
    while let Some(item) = items.next().await {
        match item.unwrap() {
            Item::LastEventId(id) => ids.push(id.to_string()),
            Item::Message(m) => ids.push(m.last_event_id().to_string()),
            _ => {}
        }
    }
    assert_eq!(ids, ["41", "42", "43"]);
    assert_eq!(items.last_event_id(), "43");
}

#[tokio::test]
async fn large_data_of_short_lines_is_one_copy_not_segments() {
    // 64 KiB of 100-byte lines: lending each line would cost a segment and a reference count
    // per line; one copy into the batch is cheaper. Only a line long enough to lend is lent.
    let lines: String = (0..660).map(|i| format!("{i:099}\n")).collect();
    let chunks: Vec<_> = EncodeStream::new(stream::iter([Event::new(lines.clone())]))
        .collect()
        .await;
    assert_eq!(chunks.len(), 1, "one chunk, no segments");
    let wire = chunks[0].as_ref().unwrap();
    assert!(wire.starts_with(b"data: 000"));
    let mut parser = ssekit::Parser::new();
    parser.feed(wire.clone());
    let got = parser.next_message().unwrap().unwrap();
    assert!(got.data() == lines, "the data came back changed");
}
