//! The client against hostile peers and careless configurations: secrets in URLs, `retry: 0`,
//! huge `retry` and `Retry-After` values, timeouts of `Duration::MAX`, a server that never sends
//! its response head, floods, split sentinels, huge error bodies, redirect loops, hostile ids,
//! a driver that misuses the `Session`. Each test states what the client promises.
//!
//! The last test of the `retry:` section also holds `Retry-After: 0` to the backoff.

#![cfg(all(feature = "reqwest", feature = "serde"))]

use std::time::Duration;

use futures_util::StreamExt;
use proptest::prelude::*;
use ssekit::client::{
    Cause, ClientConfig, ErrorKind, EventSource, Output, RetryAfter, Session, Update,
    parse_http_date,
};
use ssekit::error::Report;
use ssekit::reconnect::{ReconnectConfig, Stop};
use ssekit::{EventId, Item};
use ssekit_test_support::script::{Reply, ScriptServer};
use tokio::time::Instant;
/// A port nobody listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ----- Credentials in error output -----------------------------------------------------------

/// The query of a URL may hold a key: no error shows it, neither its message nor the whole
/// chain `Report` prints (whose transport error is reqwest's, which would name the URL).
#[tokio::test(start_paused = true)]
async fn report_of_a_transport_failure_does_not_leak_the_query() {
    let url = format!("http://127.0.0.1:{}/events?api_key=SECRET", closed_port());
    let config =
        ClientConfig::new().with_reconnect(ReconnectConfig::new().with_max_attempts(Some(0)));
    let mut events = EventSource::get(url).with_config(config);
    let error = events.next().await.unwrap().unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::GaveUp { .. }),
        "{error:?}"
    );
    let report = Report::new(&error).to_string();
    assert!(!error.to_string().contains("SECRET"), "{error}");
    assert!(!report.contains("SECRET"), "query leaked: {report}");
}

/// Nor does `{:?}`, which `.unwrap()`, `expect` and `fn main() -> Result<(), Error>` print.
#[tokio::test(start_paused = true)]
async fn debug_of_an_error_does_not_leak_the_query() {
    let server = ScriptServer::start(|_, _| Reply::status(401)).await;
    let mut events = EventSource::get(server.url("/events?api_key=SECRET"));
    let error = events.next().await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Status(401));
    assert!(!error.to_string().contains("SECRET"), "{error}");
    let debug = format!("{error:?}");
    assert!(
        !debug.contains("SECRET"),
        "query leaked by Debug of Error: {debug}"
    );
    let debug = format!("{events:?}");
    assert!(
        !debug.contains("SECRET"),
        "query leaked by Debug of EventSource: {debug}"
    );
}

// ----- `retry:` values ------------------------------------------------------------------------

/// One `retry: 0` from the server, then the server goes down (every later connection gets an
/// empty stream): the first reconnect is immediate, as the server asked, but the failures after
/// it back off, so the client never reconnects in a tight loop.
#[tokio::test(start_paused = true)]
async fn retry_zero_does_not_turn_off_the_backoff() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::stream().send("retry: 0\ndata: hi\n\n"),
        _ => Reply::stream(),
    })
    .await;
    let mut events = EventSource::get(server.url("/events")).with_reconnect_updates(true);
    let start = tokio::time::Instant::now();
    let mut delays = Vec::new();
    while delays.len() < 20 {
        match tokio::time::timeout(Duration::from_secs(3600), events.next()).await {
            Ok(Some(Ok(Update::Reconnecting(r)))) => delays.push(r.delay()),
            Ok(Some(Ok(_))) => {}
            other => panic!("{other:?}"),
        }
    }
    let elapsed = start.elapsed();
    let requests = server.requests().len();
    assert!(
        delays.iter().skip(1).any(|d| !d.is_zero()),
        "{} reconnects in a row, all with delay 0 ({requests} requests in {elapsed:?} of clock): {delays:?}",
        delays.len()
    );
}

/// `retry: 0`, then `503` with `Retry-After: 0` again and again: `Retry-After` is the least a
/// reconnect waits, not the most, so the backoff still grows.
#[tokio::test(start_paused = true)]
async fn retry_after_zero_does_not_turn_off_the_backoff() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::stream().send("retry: 0\ndata: hi\n\n"),
        _ => Reply::status(503).header("retry-after", "0"),
    })
    .await;
    let config = ClientConfig::new().with_reconnect(
        ReconnectConfig::new()
            .with_reconnect_on_server_error(true)
            .with_jitter_percent(0),
    );
    let mut events = EventSource::get(server.url("/events"))
        .with_config(config)
        .with_reconnect_updates(true);
    let mut delays = Vec::new();
    while delays.len() < 6 {
        match tokio::time::timeout(Duration::from_secs(3600), events.next()).await {
            Ok(Some(Ok(Update::Reconnecting(r)))) => delays.push(r.delay().as_millis()),
            Ok(Some(Ok(_))) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(delays, [0, 200, 400, 800, 1600, 3200]);
}

/// A huge `retry:` is capped (`max_retry`, an hour by default): no server can park the client
/// for years.
#[tokio::test(start_paused = true)]
async fn a_huge_retry_is_bounded_by_the_configured_cap() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::stream().send("retry: 99999999999999999999999\ndata: hi\n\n"),
        _ => Reply::stream().send("data: again\n\n"),
    })
    .await;
    let config = ClientConfig::new()
        .with_first_event_timeout(Some(Duration::from_secs(30)))
        .with_reconnect(
            ReconnectConfig::new()
                .with_max_delay(Duration::from_secs(30))
                .with_idle_timeout(Some(Duration::from_secs(60))),
        );
    let mut events = EventSource::get(server.url("/events"))
        .with_config(config)
        .with_reconnect_updates(true);
    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(24 * 3600), async {
        while let Some(update) = events.next().await {
            match update {
                Ok(Update::Message(m)) => {
                    seen.push(m.data().to_owned());
                    if m.data() == "again" {
                        return;
                    }
                }
                Ok(Update::Reconnecting(r)) => {
                    seen.push(format!("reconnect after {:?}", r.delay()))
                }
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "no reconnect within a day of clock; seen {seen:?}"
    );
}

/// A jitter above 100% (the API takes any `u32` percent) and a large server `retry`: the
/// jitter's arithmetic cannot overflow.
#[test]
fn jitter_over_100_percent_with_a_large_server_retry_does_not_overflow() {
    let config =
        ClientConfig::new().with_reconnect(ReconnectConfig::new().with_jitter_percent(200));
    let mut session = Session::new(config);
    let t = Duration::ZERO;
    let _ = session.poll(t);
    session.on_response(t, 200, Some(b"text/event-stream"), None);
    session.feed(t, &b"retry: 99999999999999999999\ndata: x\n\n"[..]);
    while let Output::Item(_) = session.poll(t) {}
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        session.on_end(t);
        session.poll(t)
    }));
    assert!(
        matches!(outcome, Ok(Output::Reconnect { .. })),
        "the reconnect after a server retry panicked: {:?}",
        outcome.err().map(|p| p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned())))
    );
}

// ----- Deadlines past what a clock can hold ---------------------------------------------------

/// A huge `Retry-After` with the cap lifted (`Duration::MAX`, "no cap") waits as long as the
/// clock can go, never nothing at all.
#[test]
fn a_huge_retry_after_with_no_cap_does_not_become_an_immediate_retry() {
    let config = ClientConfig::new()
        .with_max_retry_after(Duration::MAX)
        .with_reconnect(
            ReconnectConfig::new()
                .with_reconnect_on_server_error(true)
                .with_jitter_percent(0),
        );
    let mut session = Session::new(config);
    let t = std::time::Instant::now();
    let _ = session.poll(t);
    let after = RetryAfter::parse(b"99999999999999999999").unwrap();
    session.on_response(t, 503, None, Some(after.delay_from(0)));
    let Output::Reconnect { delay, at, .. } = session.poll(t) else {
        panic!()
    };
    assert!(delay > Duration::from_secs(3600), "{delay:?}");
    assert!(
        at > t,
        "a wait of {delay:?} was scheduled for now: the next poll connects at once: {:?}",
        session.poll(t)
    );
}

/// An idle timeout of `Duration::MAX` (a way to say "no idle timeout") never fires at once.
#[tokio::test(start_paused = true)]
async fn an_idle_timeout_of_duration_max_does_not_fire_at_once() {
    let server = ScriptServer::start(|_, _| Reply::stream().send("data: a\n\n").hang()).await;
    let config = ClientConfig::new().with_reconnect(
        ReconnectConfig::new()
            .with_idle_timeout(Some(Duration::MAX))
            .with_max_attempts(Some(3)),
    );
    let mut events = EventSource::get(server.url("/events"))
        .with_config(config)
        .with_reconnect_updates(true);
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(update) = events.next().await {
            match update {
                Ok(Update::Message(m)) => seen.push(m.data().to_owned()),
                Ok(Update::Reconnecting(r)) => seen.push(format!("reconnect: {}", r.cause())),
                Ok(_) => {}
                Err(e) => {
                    seen.push(format!("error: {e}"));
                    return;
                }
            }
        }
    })
    .await;
    assert_eq!(seen, ["a"], "{} requests", server.requests().len());
}

// ----- The wait for the response head ---------------------------------------------------------

/// A server (or a proxy in front of a restarting one) that accepts the connection and never
/// sends the response head is idle: the idle timeout runs from the request.
#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_the_head_hits_the_idle_timeout() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::stream()
            .head_delay(Duration::from_secs(365 * 24 * 3600))
            .send("data: never\n\n"),
        _ => Reply::stream().send("data: second\n\n").hang(),
    })
    .await;
    let config = ClientConfig::new()
        .with_reconnect(ReconnectConfig::new().with_idle_timeout(Some(Duration::from_secs(45))));
    let mut events = EventSource::get(server.url("/events")).with_config(config);
    let got = tokio::time::timeout(Duration::from_secs(3600), async {
        loop {
            match events.next().await {
                Some(Ok(Update::Message(m))) => return m.data().to_owned(),
                Some(Ok(_)) => {}
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
    assert!(
        got.is_ok(),
        "an hour with no response head and no reconnect, idle timeout 45 s ({} requests)",
        server.requests().len()
    );
}

fn exact() -> ReconnectConfig {
    ReconnectConfig::new()
        .with_jitter_percent(0)
        .with_initial_retry(Duration::from_secs(1))
}

async fn collect(events: &mut EventSource, limit: Duration) -> Vec<String> {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(limit, async {
        while let Some(update) = events.next().await {
            match update {
                Ok(Update::Open(o)) => seen.push(format!(
                    "open {}",
                    o.last_event_id().map(|id| id.as_str()).unwrap_or("-")
                )),
                Ok(Update::Message(m)) => seen.push(format!("{}@{}", m.data(), m.last_event_id())),
                Ok(Update::Reconnecting(r)) => seen.push(format!(
                    "reconnect {} {:?} {:?}",
                    r.attempt(),
                    r.delay(),
                    r.cause().kind()
                )),
                Ok(_) => {}
                Err(e) => {
                    seen.push(format!("err {:?}", e.kind()));
                    return;
                }
            }
        }
        seen.push("end".into());
    })
    .await;
    seen
}

// ----- Retry-After / HTTP-date --------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]
    #[test]
    fn retry_after_never_panics_on_bytes(v in proptest::collection::vec(any::<u8>(), 0..40)) {
        let _ = RetryAfter::parse(&v).map(|r| r.delay_from(u64::MAX));
        let _ = parse_http_date(&v);
    }

    #[test]
    fn retry_after_never_panics_on_date_shapes(
        wd in "(Sun|Mon|Sunday|Xyz|é)", d in "[0-9 ]{0,3}", mo in "(Nov|Feb|nov|Dé)",
        y in "[0-9]{0,5}", h in "[0-9]{2}", m in "[0-9]{2}", s in "[0-9]{2}", sep in "[ ,-]{1,2}"
    ) {
        for v in [
            format!("{wd},{sep}{d}{sep}{mo}{sep}{y}{sep}{h}:{m}:{s} GMT"),
            format!("{wd}, {d}-{mo}-{y} {h}:{m}:{s} GMT"),
            format!("{wd} {mo} {d} {h}:{m}:{s} {y}"),
        ] {
            if let Some(t) = parse_http_date(v.as_bytes()) {
                prop_assert!(t < 253_402_300_801, "{v}: {t}");
            }
        }
    }
}

#[test]
fn http_date_extremes() {
    // Leap second, the last representable second, year 9999.
    assert_eq!(
        parse_http_date(b"Fri, 31 Dec 9999 23:59:60 GMT"),
        Some(253_402_300_800)
    );
    assert_eq!(parse_http_date(b"Fri, 31 Dec 99999 23:59:59 GMT"), None);
    assert_eq!(parse_http_date(b"Sun, 06 Nov 1994 08:49:61 GMT"), None);
    assert_eq!(parse_http_date(b"Sun,  06 Nov 1994 08:49:37 GMT"), None);
    assert_eq!(
        parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT\u{a0}".as_bytes()),
        None
    );
    assert_eq!(parse_http_date("Sün Nov  6 08:49:37 1994".as_bytes()), None);
    assert_eq!(
        parse_http_date(b"Sun Nov  6 08:49:37 1994"),
        Some(784_111_777)
    );
    assert_eq!(
        parse_http_date(b"Sunday, 29-Feb-00 00:00:00 GMT"),
        Some(951_782_400)
    );
    assert_eq!(
        RetryAfter::parse(b"\t 18446744073709551616 \t"),
        Some(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
    );
    assert_eq!(RetryAfter::parse(b"+5"), None);
    assert_eq!(RetryAfter::parse("５".as_bytes()), None);
}

/// Retry-After on the wire, huge and in the past, with and without a `Date`: capped, floored.
#[tokio::test(start_paused = true)]
async fn retry_after_on_the_wire_is_capped_and_floored() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::status(503).header("retry-after", "99999999999999999999999999"),
        1 => Reply::status(429)
            .header("retry-after", "Fri, 31 Dec 9999 23:59:60 GMT")
            .header("date", "Thu, 01 Jan 1970 00:00:00 GMT"),
        2 => Reply::status(503).header("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT"),
        3 => Reply::status(503).header("retry-after", "\u{e9}t\u{e9}"),
        _ => Reply::status(204),
    })
    .await;
    let config = ClientConfig::new()
        .with_max_retry_after(Duration::from_secs(60))
        .with_reconnect(exact().with_reconnect_on_server_error(true));
    let mut events = EventSource::get(server.url("/"))
        .with_config(config)
        .with_reconnect_updates(true);
    let seen = collect(&mut events, Duration::from_secs(3600)).await;
    assert_eq!(
        seen,
        [
            "reconnect 1 60s Interrupted(Status(503))",
            "reconnect 2 60s Interrupted(Status(429))",
            "reconnect 3 4s Interrupted(Status(503))",
            "reconnect 4 8s Interrupted(Status(503))",
            "end"
        ]
    );
}

// ----- Streams that say nothing, or only keep-alives ----------------------------------------

#[tokio::test(start_paused = true)]
async fn a_silent_open_stream_hits_idle_then_first_event_timeouts() {
    for (idle, first, want) in [
        (Some(5), None, Cause::IdleTimeout(Duration::from_secs(5))),
        (
            None,
            Some(7),
            Cause::FirstEventTimeout(Duration::from_secs(7)),
        ),
        (Some(5), Some(7), Cause::IdleTimeout(Duration::from_secs(5))),
        (
            Some(9),
            Some(7),
            Cause::FirstEventTimeout(Duration::from_secs(7)),
        ),
    ] {
        let server = ScriptServer::start(|_, _| Reply::stream().hang()).await;
        let config = ClientConfig::new()
            .with_first_event_timeout(first.map(Duration::from_secs))
            .with_reconnect(exact().with_idle_timeout(idle.map(Duration::from_secs)));
        let mut events = EventSource::get(server.url("/"))
            .with_config(config)
            .with_reconnect_updates(true);
        let start = Instant::now();
        let cause = loop {
            match tokio::time::timeout(Duration::from_secs(60), events.next()).await {
                Ok(Some(Ok(Update::Reconnecting(r)))) => break r.cause().kind(),
                Ok(Some(Ok(_))) => {}
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(cause, ErrorKind::Interrupted(want));
        let took = start.elapsed();
        assert!(took <= Duration::from_secs(10), "{took:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_keep_alive_flood_hits_the_first_event_timeout() {
    let server = ScriptServer::start(|_, _| {
        let mut r = Reply::stream();
        for i in 0..2000 {
            r = r
                .send(format!(": ping\nid: {i}\n\n"))
                .sleep(Duration::from_millis(10));
        }
        r.hang()
    })
    .await;
    let config = ClientConfig::new()
        .with_first_event_timeout(Some(Duration::from_secs(3)))
        .with_reconnect(exact().with_idle_timeout(Some(Duration::from_secs(1))));
    let mut events = EventSource::get(server.url("/"))
        .with_config(config)
        .with_reconnect_updates(true);
    let start = Instant::now();
    let mut opens = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(60), events.next()).await {
            Ok(Some(Ok(Update::Open(o)))) => {
                opens += 1;
                if opens == 2 {
                    // Resumed after the id-only blocks it saw.
                    assert!(o.last_event_id().is_some());
                }
            }
            Ok(Some(Ok(Update::Reconnecting(r)))) => {
                assert_eq!(
                    r.cause().kind(),
                    ErrorKind::Interrupted(Cause::FirstEventTimeout(Duration::from_secs(3)))
                );
                let took = start.elapsed();
                assert!(
                    took >= Duration::from_secs(3) && took < Duration::from_secs(4),
                    "{took:?}"
                );
                break;
            }
            other => panic!("{other:?}"),
        }
    }
}

// ----- The sentinel --------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_sentinel_split_across_chunks_still_ends_the_stream() {
    let server = ScriptServer::start(|_, _| {
        Reply::stream()
            .send("data: a\n\nda")
            .send("ta: [DO")
            .send("NE]\r")
            .send("\n\r\ndata: after\n\n")
            .hang()
    })
    .await;
    let config = ClientConfig::new()
        .with_reconnect(exact().with_one_shot(true))
        .with_sentinel("[DONE]");
    let mut events = EventSource::get(server.url("/")).with_config(config);
    let seen = collect(&mut events, Duration::from_secs(60)).await;
    assert_eq!(seen, ["open -", "a@", "end"]);
    assert_eq!(events.stopped(), Some(Stop::Finished));
    assert!(events.next().await.is_none());
}

// ----- Errors that must not read the body; ended streams stay ended --------------------------

#[tokio::test(start_paused = true)]
async fn a_status_error_with_a_huge_body_is_not_read() {
    let server = ScriptServer::start(|_, _| Reply::status(500).body(vec![b'x'; 64 << 20])).await;
    let mut events = EventSource::get(server.url("/"));
    let start = std::time::Instant::now();
    let error = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Status(500));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(events.next().await.is_none());
    assert!(events.next().await.is_none());
    drop(error);
}

#[tokio::test(start_paused = true)]
async fn ended_streams_stay_ended() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::stream().send("data: a\n\ndata: b\n\n").hang(),
        _ => Reply::status(204),
    })
    .await;
    let mut events = EventSource::get(server.url("/"));
    assert!(matches!(events.next().await, Some(Ok(Update::Open(_)))));
    events.close();
    for _ in 0..3 {
        assert!(events.next().await.is_none());
    }
    assert!(server.wait_closed(1, Duration::from_secs(5)).await);
    let mut events = EventSource::get(server.url("/"));
    assert!(events.next().await.is_none()); // 204
    events.close();
    assert!(events.next().await.is_none());
    assert_eq!(events.stopped(), Some(Stop::NoContent));
}

// ----- Redirects -----------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_redirect_loop_and_a_redirect_elsewhere_are_bounded() {
    let server =
        ScriptServer::start(|_, r| Reply::status(302).header("location", &r.path.clone())).await;
    let config = ClientConfig::new().with_reconnect(exact().with_max_attempts(Some(2)));
    let mut events = EventSource::get(server.url("/loop")).with_config(config);
    let seen = collect(&mut events, Duration::from_secs(600)).await;
    assert_eq!(seen, ["err GaveUp { failures: 3 }"]);

    let other = ScriptServer::start(|_, _| Reply::stream().send("id: 2\ndata: there\n\n")).await;
    let target = other.url("/there");
    let server =
        ScriptServer::start(move |_, _| Reply::status(307).header("location", &target)).await;
    let config = ClientConfig::new().with_reconnect(exact().with_max_attempts(Some(0)));
    let mut events = EventSource::get(server.url("/here"))
        .with_config(config)
        .with_last_event_id(&EventId::from_static("1"));
    let seen = collect(&mut events, Duration::from_secs(600)).await;
    assert_eq!(seen[..2], ["open 1", "there@2"]);
    assert_eq!(other.requests()[0].last_event_id(), Some("1"));
}

// ----- Last-Event-ID values ------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn hostile_ids_never_make_an_invalid_header() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::stream()
            .send("id: 1\ndata: a\n\n")
            .send("id: 2\u{1}\n\n")
            .send(b"id: 3\xff\xfe\n\n")
            .cut(),
        1 => Reply::stream().send("id: \t 4 \t\n\nid: 5\x7f\n\n").cut(),
        2 => Reply::stream().send("id: 6\r\ndata: \u{2028}\n\n").cut(),
        _ => Reply::status(204),
    })
    .await;
    let mut events =
        EventSource::get(server.url("/")).with_config(ClientConfig::new().with_reconnect(exact()));
    let _ = collect(&mut events, Duration::from_secs(60)).await;
    let sent = server.last_event_ids();
    assert_eq!(sent, ["-", "3\u{fffd}\u{fffd}", "4", "6"]);
}

// ----- Session misuse by a driver, and time going backwards ---------------------------------

#[test]
fn session_misuse_is_ignored() {
    let t = |s: u64| Duration::from_secs(s);
    let config = ClientConfig::new()
        .with_first_event_timeout(Some(t(10)))
        .with_reconnect(exact().with_idle_timeout(Some(t(5))));
    let mut s = Session::new(config);
    // Before any poll: everything is ignored.
    s.feed(t(0), &b"data: early\n\n"[..]);
    s.on_end(t(0));
    s.on_tick(t(100));
    s.on_response(t(0), 200, Some(b"text/event-stream"), None);
    assert!(!s.is_open());
    assert!(matches!(s.poll(t(0)), Output::Connect { .. }));
    s.feed(t(0), &b"data: before response\n\n"[..]);
    s.on_response(t(1), 200, Some(b"text/event-stream"), None);
    s.on_response(t(1), 500, None, None);
    assert!(s.is_open());
    s.feed(t(1), &b"id: 1\ndata: x\n\n"[..]);
    // Time goes backwards.
    assert!(matches!(s.poll(t(0)), Output::Item(Item::Message(m)) if m.data() == "x"));
    s.on_tick(t(0));
    s.feed(t(0), &b"data: y\n\n"[..]);
    s.on_end(t(0));
    s.on_end(t(0));
    s.feed(t(0), &b"data: after end\n\n"[..]);
    assert!(matches!(s.poll(t(0)), Output::Item(Item::Message(m)) if m.data() == "y"));
    let Output::Reconnect { at, .. } = s.poll(t(0)) else {
        panic!()
    };
    s.on_end(t(0));
    s.on_error(t(0));
    s.on_response(t(0), 200, Some(b"text/event-stream"), None);
    assert!(matches!(s.poll(t(0)), Output::Wait { .. }));
    assert!(matches!(
        s.poll(at),
        Output::Connect {
            last_event_id: Some(_),
            ..
        }
    ));
    s.close();
    s.close();
    for _ in 0..3 {
        assert_eq!(s.poll(t(0)), Output::Stop(Stop::Closed));
    }
    s.feed(t(0), &b"data: z\n\n"[..]);
    assert_eq!(s.next_item(), None);
}

/// Thousands of failures with max_attempts None: the count saturates, delays stay capped.
#[test]
fn many_failures_keep_capped_delays() {
    let mut s: Session<Duration> = Session::new(ClientConfig::new());
    let mut now = Duration::ZERO;
    for i in 1..=5000u32 {
        assert!(matches!(s.poll(now), Output::Connect { .. }));
        s.on_error(now);
        let Output::Reconnect {
            attempt, delay, at, ..
        } = s.poll(now)
        else {
            panic!()
        };
        assert_eq!(attempt, i);
        assert!(delay <= Duration::from_secs(45), "{delay:?}");
        now = at;
    }
}
