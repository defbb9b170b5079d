//! The reconnection policy under arbitrary sequences of what can happen: it never panics, its
//! delays stay within the configured bounds, what it sends as `Last-Event-ID` is always a
//! header value, and once stopped it stays stopped.

#![cfg(feature = "http-body")]

use std::time::Duration;

use proptest::prelude::*;
use ssekit::reconnect::{Action, Reconnect, ReconnectConfig};
use ssekit::{EventId, EventType, Item, MessageEvent, SseStreamExt, Text};

#[derive(Debug, Clone)]
enum Happened {
    Open(u16, Option<Vec<u8>>),
    Message(String),
    Retry(u64),
    Comment,
    End,
    Error,
    Tick(u64),
}

fn happened() -> impl Strategy<Value = Happened> {
    let content_type = prop_oneof![
        Just(Some(b"text/event-stream".to_vec())),
        Just(Some(b"text/event-stream; charset=utf-8".to_vec())),
        Just(None),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Some),
    ];
    prop_oneof![
        3 => (prop_oneof![Just(200u16), Just(204), Just(500), Just(503), Just(429), 100u16..600], content_type)
            .prop_map(|(s, c)| Happened::Open(s, c)),
        4 => "\\PC{0,12}".prop_map(Happened::Message),
        1 => (0u64..100_000_000).prop_map(Happened::Retry),
        1 => Just(Happened::Comment),
        2 => Just(Happened::End),
        2 => Just(Happened::Error),
        2 => (0u64..100_000).prop_map(Happened::Tick),
    ]
}

proptest! {
    #[test]
    fn any_history_keeps_the_policy_sound(
        events in proptest::collection::vec(happened(), 0..60),
        jitter in 0u32..200,
        cap_ms in 1u64..120_000,
        max_attempts in proptest::option::of(0u32..6),
        one_shot in any::<bool>(),
        server_errors in any::<bool>(),
        idle in proptest::option::of(1u64..60_000),
        seed in any::<u64>(),
    ) {
        let config = ReconnectConfig::new()
            .with_jitter_percent(jitter)
            .with_max_delay(Duration::from_millis(cap_ms))
            .with_max_attempts(max_attempts)
            .with_one_shot(one_shot)
            .with_reconnect_on_server_error(server_errors)
            .with_idle_timeout(idle.map(Duration::from_millis))
            .with_seed(seed);
        let mut policy: Reconnect<Duration> = Reconnect::new(config);
        let mut now = Duration::ZERO;
        let mut stopped = None;
        for event in events {
            now += Duration::from_millis(7);
            let action = match event {
                Happened::Open(status, ct) => Some(policy.on_open(now, status, ct.as_deref())),
                Happened::Message(id) => {
                    if let Ok(id) = EventId::try_from(id) {
                        let m = MessageEvent::new(Text::from_static("x"), EventType::MESSAGE, id);
                        policy.on_item(now, &Item::Message(m));
                    }
                    None
                }
                Happened::Retry(ms) => {
                    policy.on_item(now, &Item::Retry(Duration::from_millis(ms)));
                    None
                }
                Happened::Comment => {
                    policy.on_item(now, &Item::Comment(Text::from_static("")));
                    None
                }
                Happened::End => Some(policy.on_end(now)),
                Happened::Error => Some(policy.on_error(now)),
                Happened::Tick(ms) => {
                    now += Duration::from_millis(ms);
                    policy.on_tick(now)
                }
            };
            if let Some(id) = policy.last_event_id() {
                let bytes = id.as_str().as_bytes();
                prop_assert!(http::HeaderValue::from_bytes(bytes).is_ok(), "{id:?}");
                prop_assert!(!bytes.starts_with(b" ") && !bytes.ends_with(b" "));
            }
            match action {
                Some(Action::Reconnect { delay, last_event_id }) => {
                    prop_assert!(stopped.is_none(), "reconnect after {stopped:?}");
                    // Never sooner than the server asked; never later than the cap (or the
                    // server's retry, if larger) plus the jitter.
                    let retry = policy.retry();
                    let base = retry.max(Duration::from_millis(cap_ms));
                    let most = base + base / 100 * jitter + Duration::from_millis(1);
                    prop_assert!(delay >= retry, "{delay:?} < {retry:?}");
                    prop_assert!(delay <= most, "{delay:?} > {most:?}");
                    prop_assert_eq!(last_event_id.as_ref(), policy.last_event_id());
                }
                Some(Action::Stop(why)) => {
                    if let Some(before) = stopped {
                        prop_assert_eq!(before, why, "the reason for stopping changed");
                    }
                    stopped = Some(why);
                    prop_assert_eq!(policy.stopped(), Some(why));
                }
                Some(Action::Read) => prop_assert!(stopped.is_none()),
                None => {}
            }
        }
    }
}

/// A client written the obvious way: a new `ItemStream` for every connection, every item handed
/// to the policy. Id-only blocks (a server telling a new client where the stream stands) move
/// the `Last-Event-ID` it reconnects with, across any number of cuts, with no id copied from
/// the parser by hand.
#[test]
fn id_only_blocks_reach_the_policy_across_cuts() {
    use futures_util::StreamExt;

    let connections: [&[u8]; 3] = [
        b"id: 1\ndata: a\n\nid: 2\n\n",
        b"id: 5\n\n: keep-alive\n",
        b"retry: 10\n\ndata: b\n\n",
    ];
    let mut policy = Reconnect::new(ReconnectConfig::new());
    let mut sent = Vec::new();
    for (n, body) in connections.into_iter().enumerate() {
        let now = Duration::from_secs(n as u64 * 10);
        sent.push(policy.last_event_id().map(|id| id.to_string()));
        assert_eq!(
            policy.on_open(now, 200, Some(b"text/event-stream")),
            Action::Read
        );
        let mut items = futures_util::stream::iter([Ok::<_, std::io::Error>(body)]).sse_items();
        futures_executor::block_on(async {
            while let Some(item) = items.next().await {
                policy.on_item(now, &item.unwrap());
            }
        });
        assert!(matches!(policy.on_end(now), Action::Reconnect { .. }));
    }
    assert_eq!(sent, [None, Some("2".into()), Some("5".into())]);
    assert_eq!(policy.last_event_id().unwrap(), "5");
}
