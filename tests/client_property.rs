//! The client's promise, as a property: against a server that supports resume, under any
//! schedule of cuts (between events and inside one), stalls and `5xx` answers, the messages
//! are exactly events 1..=N, once each, in order.
//!
//! The server uses both ways of giving an event its id: `id:` in the event's own block, and
//! an id-only block right after it (`data: k\n\n` then `id: k\n\n`, written together), as
//! servers do that commit a position after the data. The second is where a client with two
//! owners of the last event ID goes wrong. `the_property_catches_a_client_with_two_owners`
//! plants that bug — the last event ID copied from messages only, as the obvious hand-written
//! loop does — and checks that the property finds a counterexample.

#![cfg(all(feature = "reqwest", feature = "http-body"))]

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use ssekit::SseStreamExt;
use ssekit::client::{ClientConfig, EventSource, Update};
use ssekit::reconnect::{Action, Reconnect, ReconnectConfig};
use ssekit_test_support::script::{Reply, ScriptServer};

/// What one connection does, after the resume point the client asked for.
#[derive(Debug, Clone)]
enum Conn {
    /// Sends `events` events, then cuts, in the middle of the next event if `mid`.
    Cut { events: usize, mid: bool },
    /// Sends `events` events, then goes silent for a minute (the client's idle timeout is 20 s).
    Stall { events: usize },
    /// Sends `events` events, then ends the stream normally.
    End { events: usize },
    /// Answers a server error, with `Retry-After: 1` if `retry_after`.
    Error { status: u16, retry_after: bool },
}

#[derive(Debug, Clone)]
struct Case {
    n: u64,
    /// For each event, whether its id comes in an id-only block after it.
    commit_after: Vec<bool>,
    schedule: Vec<Conn>,
}

fn conn() -> impl Strategy<Value = Conn> {
    prop_oneof![
        4 => (0usize..6, any::<bool>()).prop_map(|(events, mid)| Conn::Cut { events, mid }),
        1 => (0usize..6).prop_map(|events| Conn::Stall { events }),
        2 => (0usize..6).prop_map(|events| Conn::End { events }),
        1 => (prop_oneof![Just(500u16), Just(502), Just(503)], any::<bool>())
            .prop_map(|(status, retry_after)| Conn::Error { status, retry_after }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (1u64..25)
        .prop_flat_map(|n| {
            (
                Just(n),
                proptest::collection::vec(any::<bool>(), n as usize),
                proptest::collection::vec(conn(), 0..8),
            )
        })
        .prop_map(|(n, commit_after, schedule)| Case {
            n,
            commit_after,
            schedule,
        })
}

fn event(case: &Case, k: u64) -> String {
    if case.commit_after[k as usize - 1] {
        format!("data: {k}\n\nid: {k}\n\n")
    } else {
        format!("id: {k}\ndata: {k}\n\n")
    }
}

/// The resumable server: connection `i` follows `schedule[i]`, then every connection serves
/// the rest and ends; at the end of the events it answers `204`. A client that never gets
/// there is cut off after a bounded number of connections.
async fn server(case: Case) -> ScriptServer {
    let case = Arc::new(case);
    ScriptServer::start(move |i, request| {
        let after: u64 = request
            .last_event_id()
            .and_then(|id| id.parse().ok())
            .unwrap_or(0)
            .min(case.n);
        if after == case.n || i > case.schedule.len() + 3 * case.n as usize + 10 {
            return Reply::status(204);
        }
        let mut reply = Reply::stream().send("retry: 10\n\n");
        let mut next = after + 1;
        let mut send = |reply: Reply, count: usize| {
            let mut reply = reply;
            for _ in 0..count {
                if next > case.n {
                    break;
                }
                reply = reply.send(event(&case, next));
                next += 1;
            }
            reply
        };
        match case.schedule.get(i).cloned() {
            Some(Conn::Cut { events, mid }) => {
                reply = send(reply, events);
                if mid && next <= case.n && !case.commit_after[next as usize - 1] {
                    let whole = event(&case, next);
                    reply = reply.send(&whole[..whole.len() - 2]);
                }
                reply.cut()
            }
            Some(Conn::Stall { events }) => {
                send(reply, events).sleep(Duration::from_secs(60)).cut()
            }
            Some(Conn::End { events }) => send(reply, events),
            Some(Conn::Error {
                status,
                retry_after,
            }) => {
                let reply = Reply::status(status);
                if retry_after {
                    reply.header("retry-after", "1")
                } else {
                    reply
                }
            }
            None => send(reply, usize::MAX),
        }
    })
    .await
}

fn reconnect_config() -> ReconnectConfig {
    ReconnectConfig::new()
        .with_reconnect_on_server_error(true)
        .with_idle_timeout(Some(Duration::from_secs(20)))
        .with_seed(1)
}

/// The messages `EventSource` delivers, to the end of the stream.
async fn with_event_source(url: String) -> Vec<String> {
    let config = ClientConfig::new().with_reconnect(reconnect_config());
    let mut events = EventSource::get(url).with_config(config);
    let mut seen = Vec::new();
    while let Some(update) = events.next().await {
        if let Update::Message(m) = update.expect("no error ends this stream") {
            seen.push(m.data().to_owned());
        }
    }
    seen
}

/// The planted bug: the loop a user writes by hand with a fresh parser per connection, which
/// copies the last event ID from each message and so misses the ids of id-only blocks (and
/// resets it when a connection's first message has no id of its own).
async fn with_two_owners(url: String) -> Vec<String> {
    let mut policy = Reconnect::new(reconnect_config());
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    loop {
        let mut request = client.get(&url);
        if let Some(id) = policy.last_event_id_header() {
            request = request.header("last-event-id", id);
        }
        let now = tokio::time::Instant::now();
        let action = match request.send().await {
            Err(_) => policy.on_error(now),
            Ok(response) => {
                let ct = response.headers().get("content-type").cloned();
                match policy.on_open(
                    now,
                    response.status().as_u16(),
                    ct.as_ref().map(|v| v.as_bytes()),
                ) {
                    Action::Read => {
                        let mut messages = response.bytes_stream().sse_events();
                        loop {
                            let deadline = policy.deadline().unwrap();
                            match tokio::time::timeout_at(deadline, messages.next()).await {
                                Err(_) => break policy.on_error(tokio::time::Instant::now()),
                                Ok(Some(Ok(m))) => {
                                    let now = tokio::time::Instant::now();
                                    policy.on_activity(now);
                                    policy.set_last_event_id(m.last_event_id());
                                    seen.push(m.data().to_owned());
                                }
                                Ok(Some(Err(_))) => {
                                    break policy.on_error(tokio::time::Instant::now());
                                }
                                Ok(None) => break policy.on_end(tokio::time::Instant::now()),
                            }
                        }
                    }
                    other => other,
                }
            }
        };
        match action {
            Action::Reconnect { delay, .. } => tokio::time::sleep(delay).await,
            _ => return seen,
        }
    }
}

fn check<F, Fut>(case: &Case, client: F) -> Result<(), TestCaseError>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let seen = runtime.block_on(async {
        let server = server(case.clone()).await;
        client(server.url("/events")).await
    });
    let expected: Vec<String> = (1..=case.n).map(|k| k.to_string()).collect();
    prop_assert_eq!(seen, expected);
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: 96, ..Config::default() })]

    #[test]
    fn every_event_exactly_once_in_order(case in case()) {
        check(&case, with_event_source)?;
    }
}

#[test]
fn the_property_catches_a_client_with_two_owners() {
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |case| check(&case, with_two_owners));
    let Err(proptest::test_runner::TestError::Fail(_, counterexample)) = result else {
        panic!("the planted bug went unnoticed: {result:?}");
    };
    // Shrunk, the counterexample is small: an event whose id came after it, then a cut.
    assert!(
        counterexample.commit_after.iter().any(|&c| c),
        "{counterexample:?}"
    );
}
