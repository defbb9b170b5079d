//! The reconnection policy, rule by rule: the standard's statuses and content types, retry
//! and `Last-Event-ID`, backoff, attempts, one-shot streams, idle timeouts and jitter; and the
//! `<epoch>-<offset>` sequence arithmetic.
use std::time::Duration;

use ssekit::content_type::{ContentType, is_event_stream};
use ssekit::reconnect::{Action, Reconnect, ReconnectConfig, Stop};
use ssekit::sequence::{Continuity, Sequence};
use ssekit::{EventId, EventType, Item, MessageEvent, Text};

type T = Duration;
const SSE: Option<&[u8]> = Some(b"text/event-stream");

fn secs(s: u64) -> T {
    Duration::from_secs(s)
}

fn policy(config: ReconnectConfig) -> Reconnect<T> {
    Reconnect::new(config.with_jitter_percent(0).with_initial_retry(secs(1)))
}

fn delay(action: Action) -> Duration {
    match action {
        Action::Reconnect { delay, .. } => delay,
        other => panic!("expected a reconnect, got {other:?}"),
    }
}

fn msg(id: &'static str) -> MessageEvent {
    MessageEvent::new(
        Text::from_static("x"),
        EventType::MESSAGE,
        EventId::from_static(id),
    )
}

#[test]
fn statuses_follow_the_standard() {
    for (status, ct, want) in [
        (200, SSE, Action::Read),
        (
            200,
            Some(&b"text/event-stream;charset=utf-8"[..]),
            Action::Read,
        ),
        (
            200,
            None,
            Action::Stop(Stop::ContentType(ContentType::new(None))),
        ),
        (
            200,
            Some(&b"application/json"[..]),
            Action::Stop(Stop::ContentType(ContentType::new(Some(
                b"application/json",
            )))),
        ),
        (204, SSE, Action::Stop(Stop::NoContent)),
        (201, SSE, Action::Stop(Stop::Status(201))),
        (301, SSE, Action::Stop(Stop::Status(301))),
        (404, SSE, Action::Stop(Stop::Status(404))),
        (500, SSE, Action::Stop(Stop::Status(500))),
        (503, None, Action::Stop(Stop::Status(503))),
    ] {
        let mut p = policy(ReconnectConfig::new());
        assert_eq!(p.on_open(secs(0), status, ct), want, "{status}");
        if let Action::Stop(stop) = want {
            // Stopped is final: nothing brings it back.
            assert_eq!(p.stopped(), Some(stop));
            assert_eq!(p.on_error(secs(1)), Action::Stop(stop));
            assert_eq!(p.on_end(secs(1)), Action::Stop(stop));
            assert_eq!(p.on_open(secs(2), 200, SSE), Action::Stop(stop));
            assert_eq!(p.on_tick(secs(100)), None);
        }
    }
}

#[test]
fn server_errors_retry_when_asked() {
    for status in [408, 429, 500, 502, 503, 599] {
        let mut p = policy(ReconnectConfig::new().with_reconnect_on_server_error(true));
        assert_eq!(delay(p.on_open(secs(0), status, None)), secs(1), "{status}");
        assert_eq!(delay(p.on_open(secs(1), status, None)), secs(2), "{status}");
        assert_eq!(p.on_open(secs(3), 200, SSE), Action::Read);
    }
    let mut p = policy(ReconnectConfig::new().with_reconnect_on_server_error(true));
    assert_eq!(
        p.on_open(secs(0), 404, None),
        Action::Stop(Stop::Status(404))
    );
}

#[test]
fn end_and_error_reconnect_after_retry_with_the_last_id() {
    let mut p = policy(ReconnectConfig::new());
    assert_eq!(p.on_open(secs(0), 200, SSE), Action::Read);
    p.on_item(secs(1), &Item::Retry(Duration::from_millis(1500)));
    p.on_item(secs(1), &Item::Message(msg("a")));
    assert_eq!(
        p.on_end(secs(2)),
        Action::Reconnect {
            delay: Duration::from_millis(1500),
            last_event_id: Some(EventId::from_static("a")),
        }
    );
    assert_eq!(p.on_open(secs(4), 200, SSE), Action::Read);
    p.on_message(secs(4), &msg("b"));
    assert_eq!(
        p.on_error(secs(5)),
        Action::Reconnect {
            delay: Duration::from_millis(1500),
            last_event_id: Some(EventId::from_static("b")),
        }
    );
}

#[test]
fn no_id_sends_no_header_and_an_empty_id_clears_it() {
    let mut p = policy(ReconnectConfig::new());
    assert_eq!(
        p.on_error(secs(0)),
        Action::Reconnect {
            delay: secs(1),
            last_event_id: None
        }
    );
    let _ = p.on_open(secs(1), 200, SSE);
    p.on_message(secs(1), &msg("5"));
    // A block with an empty `id:` clears it; one with no `id:` at all leaves it.
    let mut parser = ssekit::Parser::new();
    parser.feed(bytes::Bytes::from_static(b"id\ndata: x\n\n"));
    p.on_message(secs(1), &parser.next_message().unwrap().unwrap());
    assert_eq!(
        p.on_end(secs(2)),
        Action::Reconnect {
            delay: secs(1),
            last_event_id: None
        }
    );
}

#[test]
fn backoff_doubles_caps_and_respects_a_larger_retry() {
    let mut p = policy(ReconnectConfig::new().with_max_delay(secs(10)));
    let got: Vec<u64> = (0..7)
        .map(|_| delay(p.on_error(secs(0))).as_secs())
        .collect();
    assert_eq!(got, [1, 2, 4, 8, 10, 10, 10]);
    // A server retry above the cap wins.
    p.on_retry(secs(60));
    assert_eq!(delay(p.on_error(secs(0))), secs(60));
    // A huge number of failures neither overflows nor panics.
    let mut p = policy(ReconnectConfig::new().with_max_delay(Duration::MAX));
    for _ in 0..100 {
        let _ = p.on_error(secs(0));
    }
    assert!(delay(p.on_error(secs(0))) >= secs(1 << 31));
}

#[test]
fn healthy_connection_resets_the_backoff() {
    // Healthy by time.
    let mut p = policy(ReconnectConfig::new().with_healthy_after(secs(5)));
    for _ in 0..3 {
        let _ = p.on_error(secs(0));
    }
    let _ = p.on_open(secs(0), 200, SSE);
    assert_eq!(delay(p.on_error(secs(5))), secs(1));
    // Healthy by a message.
    for _ in 0..3 {
        let _ = p.on_error(secs(5));
    }
    let _ = p.on_open(secs(5), 200, SSE);
    p.on_message(secs(5), &msg("1"));
    assert_eq!(delay(p.on_error(secs(6))), secs(1));
    // Not healthy: a connection that dies at once without a message keeps backing off.
    let _ = p.on_open(secs(6), 200, SSE);
    assert_eq!(delay(p.on_end(secs(7))), secs(2));
    let _ = p.on_open(secs(7), 200, SSE);
    p.on_item(secs(7), &Item::Comment(Text::from_static("ka")));
    assert_eq!(delay(p.on_end(secs(8))), secs(4));
}

#[test]
fn max_attempts_counts_consecutive_failures() {
    let mut p = policy(ReconnectConfig::new().with_max_attempts(Some(2)));
    let _ = delay(p.on_error(secs(0)));
    let _ = delay(p.on_error(secs(0)));
    assert_eq!(
        p.on_error(secs(0)),
        Action::Stop(Stop::GaveUp { failures: 3 })
    );
    assert_eq!(p.stopped(), Some(Stop::GaveUp { failures: 3 }));

    let mut p = policy(ReconnectConfig::new().with_max_attempts(Some(0)));
    assert_eq!(
        p.on_error(secs(0)),
        Action::Stop(Stop::GaveUp { failures: 1 })
    );

    // A healthy connection in between starts the count again.
    let mut p = policy(ReconnectConfig::new().with_max_attempts(Some(2)));
    let _ = delay(p.on_error(secs(0)));
    let _ = p.on_open(secs(0), 200, SSE);
    p.on_message(secs(0), &msg("1"));
    let _ = delay(p.on_error(secs(0)));
    let _ = delay(p.on_error(secs(0)));
    assert!(matches!(
        p.on_error(secs(0)),
        Action::Stop(Stop::GaveUp { .. })
    ));
}

#[test]
fn one_shot_ends_without_reconnecting_but_errors_still_retry() {
    let mut p = policy(ReconnectConfig::new().with_one_shot(true));
    let _ = p.on_open(secs(0), 200, SSE);
    p.on_message(secs(0), &msg("1"));
    assert_eq!(delay(p.on_error(secs(1))), secs(1));
    let _ = p.on_open(secs(2), 200, SSE);
    assert_eq!(p.on_end(secs(3)), Action::Stop(Stop::Finished));
    assert_eq!(p.stopped(), Some(Stop::Finished));
}

#[test]
fn idle_timeout_declares_a_silent_connection_dead() {
    let mut p = policy(ReconnectConfig::new().with_idle_timeout(Some(secs(10))));
    assert_eq!(p.deadline(), None);
    assert_eq!(p.on_tick(secs(100)), None, "no connection, no timeout");
    let _ = p.on_open(secs(0), 200, SSE);
    assert_eq!(p.deadline(), Some(secs(10)));
    p.on_item(secs(6), &Item::Comment(Text::from_static("")));
    assert_eq!(p.deadline(), Some(secs(16)));
    // Activity reported out of order never moves the deadline back.
    p.on_activity(secs(2));
    assert_eq!(p.deadline(), Some(secs(16)));
    assert_eq!(p.on_tick(secs(15)), None);
    assert_eq!(delay(p.on_tick(secs(16)).unwrap()), secs(1));
    assert!(!p.is_open());
    assert_eq!(p.deadline(), None);

    let mut p = policy(ReconnectConfig::new());
    let _ = p.on_open(secs(0), 200, SSE);
    assert_eq!(p.on_tick(secs(1_000_000)), None, "no timeout configured");
}

#[test]
fn last_event_id_is_always_a_header_value() {
    let mut p = policy(ReconnectConfig::new());
    p.set_last_event_id(&EventId::from_static("ok"));
    for bad in ["a\u{1}b", "\u{7f}", "x\u{1b}[0m"] {
        p.set_last_event_id(&EventId::from_static(bad));
        assert_eq!(p.last_event_id().unwrap(), "ok");
    }
    p.set_last_event_id(&EventId::from_static("  in the\tmiddle \t"));
    assert_eq!(p.last_event_id().unwrap(), "in the\tmiddle");
    p.set_last_event_id(&EventId::from_static(" \t "));
    assert_eq!(p.last_event_id(), None);
    p.set_last_event_id(&EventId::from_static("é—ü"));
    assert_eq!(p.last_event_id().unwrap(), "é—ü");
}

#[cfg(feature = "http-body")]
#[test]
fn every_kept_id_is_an_http_header_value() {
    let mut p = policy(ReconnectConfig::new());
    for b in 0u8..=255 {
        let c = char::from(b);
        for id in [format!("{c}"), format!("a{c}b"), format!("{c}x")] {
            let Ok(id) = EventId::try_from(id) else {
                continue;
            };
            p.set_last_event_id(&id);
            if let Some(kept) = p.last_event_id() {
                let value = http::HeaderValue::from_bytes(kept.as_str().as_bytes());
                assert!(value.is_ok(), "{kept:?}");
                assert!(p.last_event_id_header().is_some());
            }
        }
    }
}

#[test]
fn jitter_stays_in_range_and_differs_between_clients() {
    let config = ReconnectConfig::new()
        .with_initial_retry(secs(1))
        .with_jitter_percent(50);
    let mut seen = Vec::new();
    for seed in 0..64 {
        let mut p: Reconnect<T> = Reconnect::new(config.clone().with_seed(seed));
        let d = delay(p.on_error(secs(0)));
        assert!(d >= secs(1) && d <= Duration::from_millis(1500), "{d:?}");
        seen.push(d);
    }
    seen.sort();
    seen.dedup();
    assert!(seen.len() > 32, "jitter barely varies: {seen:?}");
    // Same seed, same delays.
    let a: Vec<_> = {
        let mut p: Reconnect<T> = Reconnect::new(config.clone().with_seed(3));
        (0..5).map(|_| delay(p.on_error(secs(0)))).collect()
    };
    let mut p: Reconnect<T> = Reconnect::new(config.clone().with_seed(3));
    let b: Vec<_> = (0..5).map(|_| delay(p.on_error(secs(0)))).collect();
    assert_eq!(a, b);
    // Unseeded clients get different seeds.
    let firsts: Vec<_> = (0..8)
        .map(|_| delay(Reconnect::<T>::new(config.clone()).on_error(secs(0))))
        .collect();
    assert!(firsts.iter().any(|d| *d != firsts[0]), "{firsts:?}");
}

#[test]
fn sequence_arithmetic() {
    let mut seq = Sequence::new();
    assert_eq!(seq.observe("x"), Continuity::Unsequenced);
    assert_eq!(seq.observe("-1"), Continuity::Unsequenced);
    assert_eq!(seq.observe("1-"), Continuity::Unsequenced);
    assert_eq!(seq.observe("+1-2"), Continuity::Unsequenced);
    assert_eq!(
        seq.observe("99999999999999999999-0"),
        Continuity::Unsequenced
    );
    assert_eq!(seq.observe("10-0"), Continuity::Next);
    assert_eq!(seq.observe("10-1"), Continuity::Next);
    assert_eq!(seq.observe("10-1"), Continuity::NotAfter);
    assert_eq!(seq.observe("9-50"), Continuity::NotAfter);
    assert_eq!(seq.observe("10-11"), Continuity::Gap { missed: 9 });
    assert_eq!(seq.observe("11-7"), Continuity::NewEpoch);
    assert_eq!(
        seq.observe(&format!("11-{}", u64::MAX)),
        Continuity::Gap {
            missed: u64::MAX - 8
        }
    );
    assert_eq!(seq.last(), Some((11, u64::MAX)));
    assert!(Sequence::starting_after("nope").is_none());
}

#[test]
fn content_type_essence() {
    assert!(is_event_stream(b"text/event-stream"));
    assert!(is_event_stream(b"text/event-stream;"));
    assert!(is_event_stream(b"\ttext/EVENT-stream \t; a=b"));
    assert!(!is_event_stream(b""));
    assert!(!is_event_stream(b"text/event-stream-x"));
    assert!(!is_event_stream(b"text/event stream"));
    assert!(!is_event_stream(b"application/octet-stream"));
}
