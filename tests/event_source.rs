//! `EventSource` against a scripted server on 127.0.0.1: cuts mid-event and after an id-only
//! block, `204`, `5xx`/`429` with `Retry-After`, a wrong content type, a redirect, a slow first
//! byte, a line that never ends, a `POST` sent again on every reconnect, timeouts, attempt
//! limits, one-shot streams and closing. Time is tokio's paused clock: a 60 s stall takes no
//! real time, and every delay asserted is the clock's own.

#![cfg(all(feature = "reqwest", feature = "serde"))]

use std::time::Duration;

use futures_util::StreamExt;
use ssekit::ParserConfig;
use ssekit::client::{Cause, ClientConfig, ErrorKind, EventSource, Update};
use ssekit::error::{ParseError, Report};
use ssekit::reconnect::{ReconnectConfig, Stop};
use ssekit_test_support::script::{Reply, ScriptServer, Step};
use tokio::time::Instant;

/// No jitter, 1 s reconnection time: delays are exact.
fn exact() -> ReconnectConfig {
    ReconnectConfig::new()
        .with_jitter_percent(0)
        .with_initial_retry(Duration::from_secs(1))
}

/// Everything an event source yields, as text, up to its end.
async fn drain(mut events: EventSource) -> (Vec<String>, Option<ssekit::client::Error>) {
    let mut seen = Vec::new();
    while let Some(update) = events.next().await {
        match update {
            Ok(Update::Open(o)) => seen.push(format!(
                "open {} {}",
                o.status().as_u16(),
                o.last_event_id().map(|id| id.as_str()).unwrap_or("-")
            )),
            Ok(Update::Message(m)) => seen.push(format!("{}@{}", m.data(), m.last_event_id())),
            Ok(Update::Retry(d)) => seen.push(format!("retry {}", d.as_millis())),
            Ok(Update::Comment(c)) => seen.push(format!("comment {c}")),
            Ok(Update::Reconnecting(r)) => seen.push(format!(
                "reconnect {} after {} ms: {:?}",
                r.attempt(),
                r.delay().as_millis(),
                r.cause().kind()
            )),
            Ok(other) => seen.push(format!("{other:?}")),
            Err(e) => return (seen, Some(e)),
        }
    }
    (seen, None)
}

#[tokio::test(start_paused = true)]
async fn cuts_mid_event_and_after_an_id_only_block_resume_exactly() {
    let server = ScriptServer::start(|n, _| match n {
        // An event, then an id-only block, then the connection drops.
        0 => Reply::stream()
            .send("id: 1\ndata: a\n\n")
            .send("id: 2\n\n")
            .cut(),
        // Resumed at 2: an event with no id of its own, then a cut in the middle of the next.
        1 => Reply::stream()
            .send("data: b\n\n")
            .send("id: 3\ndata: c-par")
            .cut(),
        // Still at 2: the cut-off event is sent again, then the server is done with us.
        2 => Reply::stream().send("id: 3\ndata: c\n\n"),
        _ => Reply::status(204),
    })
    .await;
    let events = EventSource::get(server.url("/events"))
        .with_config(ClientConfig::new().with_reconnect(exact()))
        .with_reconnect_updates(true);
    let (seen, error) = drain(events).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        seen,
        [
            "open 200 -",
            "a@1",
            "reconnect 1 after 1000 ms: Interrupted(Transport)",
            "open 200 2",
            // The browser's lastEventId: the id in force, carried across the reconnect.
            "b@2",
            "reconnect 1 after 1000 ms: Interrupted(Transport)",
            "open 200 2",
            "c@3",
            "reconnect 1 after 1000 ms: Interrupted(Ended)",
        ]
    );
    let sent = server.last_event_ids();
    assert_eq!(sent, ["-", "2", "2", "3"]);
    for r in server.requests() {
        assert_eq!(r.header("accept"), Some("text/event-stream"));
    }
}

#[tokio::test(start_paused = true)]
async fn no_content_ends_the_stream_for_good() {
    let server = ScriptServer::start(|_, _| Reply::status(204)).await;
    let mut events = EventSource::get(server.url("/events"));
    assert!(events.next().await.is_none());
    assert!(events.next().await.is_none());
    assert_eq!(events.stopped(), Some(Stop::NoContent));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_error_status_is_an_error_that_holds_the_response() {
    let server = ScriptServer::start(|_, _| {
        Reply::status(503)
            .header("content-type", "application/json")
            .body(r#"{"error":"overloaded"}"#)
    })
    .await;
    let mut events = EventSource::get(server.url("/events?token=secret"));
    let error = events.next().await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Status(503));
    assert_eq!(error.attempt(), 1);
    let message = error.to_string();
    assert!(
        message.contains("the server answered 503 Service Unavailable"),
        "{message}"
    );
    assert!(
        !message.contains("secret"),
        "the query is left out: {message}"
    );
    let body = error.into_response().unwrap().text().await.unwrap();
    assert_eq!(body, r#"{"error":"overloaded"}"#);
    assert!(events.next().await.is_none());
    // The standard (and every browser) does not retry it.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_wrong_content_type_is_an_error_that_holds_the_response() {
    let server = ScriptServer::start(|_, _| {
        Reply::status(200)
            .header("content-type", "text/html; charset=utf-8")
            .body("<h1>login</h1>")
    })
    .await;
    let mut events = EventSource::get(server.url("/events"));
    let error = events.next().await.unwrap().unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::ContentType(seen) if seen.to_string() == "text/html"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("the response's content type is text/html, not text/event-stream")
    );
    assert_eq!(error.status().map(|s| s.as_u16()), Some(200));
    assert_eq!(
        error.into_response().unwrap().text().await.unwrap(),
        "<h1>login</h1>"
    );
    assert!(events.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_when_asked_honouring_retry_after() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::status(500),
        1 => Reply::status(503).header("retry-after", "7"),
        // An HTTP-date, read against the response's own Date: 30 s later on the server's clock.
        2 => Reply::status(503)
            .header("date", "Tue, 01 Dec 2026 15:30:00 GMT")
            .header("retry-after", "Tue, 01 Dec 2026 15:30:30 GMT"),
        3 => Reply::status(429).header("retry-after", "2"),
        4 => Reply::status(408),
        // A Retry-After far beyond the cap waits the cap.
        5 => Reply::status(503).header("retry-after", "99999999"),
        _ => Reply::stream().send("id: 1\ndata: up\n\n").hang(),
    })
    .await;
    let config = ClientConfig::new()
        .with_reconnect(exact().with_reconnect_on_server_error(true))
        .with_max_retry_after(Duration::from_secs(60));
    let mut events = EventSource::get(server.url("/events"))
        .with_config(config)
        .with_reconnect_updates(true);
    let start = Instant::now();
    let mut seen = Vec::new();
    while seen.len() < 8 {
        match events.next().await.unwrap().unwrap() {
            Update::Reconnecting(r) => seen.push(format!(
                "{} {} {:?}",
                r.attempt(),
                r.delay().as_secs(),
                r.cause().kind()
            )),
            Update::Open(_) => seen.push("open".into()),
            Update::Message(m) => seen.push(m.data().to_owned()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            "1 1 Interrupted(Status(500))",
            "2 7 Interrupted(Status(503))",
            "3 30 Interrupted(Status(503))",
            // Retry-After is the least a reconnect waits: here the backoff (1 s doubled three
            // times) is longer.
            "4 8 Interrupted(Status(429))",
            // Backoff again: 1 s doubled four times.
            "5 16 Interrupted(Status(408))",
            "6 60 Interrupted(Status(503))",
            "open",
            "up",
        ]
    );
    assert_eq!(start.elapsed().as_secs(), 1 + 7 + 30 + 8 + 16 + 60);
}

#[tokio::test(start_paused = true)]
async fn a_post_is_sent_again_on_every_reconnect_with_last_event_id() {
    let server = ScriptServer::start(|n, request| {
        let echo = format!(
            "id: {n}\ndata: {} {} {}\n\n",
            request.method,
            String::from_utf8_lossy(&request.body),
            request.last_event_id().unwrap_or("-")
        );
        if n < 2 {
            Reply::stream().send(echo).cut()
        } else {
            Reply::status(204)
        }
    })
    .await;
    let request = reqwest::Client::new()
        .post(server.url("/mcp"))
        .header("authorization", "Bearer t0k3n")
        .json(&serde_json::json!({"method": "tools/call"}));
    let events = EventSource::new(request)
        .unwrap()
        .with_config(ClientConfig::new().with_reconnect(exact()));
    let (seen, error) = drain(events).await;
    assert!(error.is_none());
    let body = r#"{"method":"tools/call"}"#;
    assert_eq!(
        seen,
        [
            "open 200 -".to_owned(),
            format!("POST {body} -@0"),
            "open 200 0".to_owned(),
            format!("POST {body} 0@1"),
        ]
    );
    for r in server.requests() {
        assert_eq!(r.header("authorization"), Some("Bearer t0k3n"));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
}

#[tokio::test(start_paused = true)]
async fn a_redirect_is_followed_with_the_body() {
    let server = ScriptServer::start(|_, request| {
        if request.path == "/old" {
            Reply::status(307).header("location", "/new")
        } else {
            let body = String::from_utf8_lossy(&request.body).into_owned();
            Reply::stream()
                .send(format!("data: {} {body}\n\n", request.path))
                .hang()
        }
    })
    .await;
    let request = reqwest::Client::new()
        .post(server.url("/old"))
        .body("hello");
    let mut events = EventSource::new(request).unwrap();
    let Some(Ok(Update::Open(opened))) = events.next().await else {
        panic!()
    };
    assert_eq!(opened.url().path(), "/new");
    let m = events
        .next()
        .await
        .unwrap()
        .unwrap()
        .into_message()
        .unwrap();
    assert_eq!(m.data(), "/new hello");
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_byte_hits_the_first_event_timeout() {
    let server = ScriptServer::start(|n, _| match n {
        // Headers after a minute.
        0 => Reply::stream()
            .head_delay(Duration::from_secs(60))
            .send("data: late\n\n"),
        // Headers at once, then only keep-alives: still no first event.
        1 => Reply::stream()
            .send(": hi\n\n")
            .sleep(Duration::from_secs(5))
            .send(": hi\n\n")
            .sleep(Duration::from_secs(60)),
        _ => Reply::stream().send("data: prompt\n\n").hang(),
    })
    .await;
    let config = ClientConfig::new()
        .with_reconnect(exact())
        .with_first_event_timeout(Some(Duration::from_secs(10)));
    let mut events = EventSource::get(server.url("/events"))
        .with_config(config)
        .with_reconnect_updates(true);
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        match events.next().await.unwrap().unwrap() {
            Update::Reconnecting(r) => seen.push(format!("{:?}", r.cause().kind())),
            Update::Message(m) => {
                seen.push(m.data().to_owned());
                break;
            }
            _ => {}
        }
    }
    let timeout = "Interrupted(FirstEventTimeout(10s))";
    assert_eq!(seen, [timeout, timeout, "prompt"]);
    // 10 s, the reconnect (1 s), 10 s, and 1 s again: the second connection was open longer
    // than `healthy_after` (5 s), which resets the backoff.
    assert_eq!(start.elapsed(), Duration::from_secs(10 + 1 + 10 + 1));
}

#[tokio::test(start_paused = true)]
async fn silence_hits_the_idle_timeout_and_keep_alives_do_not() {
    let server = ScriptServer::start(|n, _| match n {
        // Keep-alives every 10 s for a minute, then nothing at all.
        0 => {
            let mut reply = Reply::stream().send("id: 1\ndata: a\n\n");
            for _ in 0..6 {
                reply = reply.sleep(Duration::from_secs(10)).send(": ka\n\n");
            }
            reply.hang()
        }
        _ => Reply::stream().send("data: b\n\n").hang(),
    })
    .await;
    let config = ClientConfig::new()
        .with_reconnect(exact().with_idle_timeout(Some(Duration::from_secs(25))));
    let mut events = EventSource::get(server.url("/events"))
        .with_config(config)
        .with_reconnect_updates(true);
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        match events.next().await.unwrap().unwrap() {
            Update::Reconnecting(r) => seen.push(format!(
                "{:?} at {}",
                r.cause().kind(),
                start.elapsed().as_secs()
            )),
            Update::Message(m) => {
                seen.push(m.data().to_owned());
                if m.data() == "b" {
                    break;
                }
            }
            _ => {}
        }
    }
    assert_eq!(seen, ["a", "Interrupted(IdleTimeout(25s)) at 85", "b"]);
    // The idle connection was dropped, not left open.
    assert!(server.wait_closed(1, Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn a_line_that_never_ends_is_bounded_and_the_stream_resumes() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::stream()
            .send("id: 1\ndata: a\n\n")
            .step(Step::EndlessLine {
                chunk: 16 * 1024,
                total: 4 << 20,
            }),
        _ => Reply::stream().send("id: 2\ndata: b\n\n").hang(),
    })
    .await;
    let config = ClientConfig::new()
        .with_reconnect(exact())
        .with_parser(ParserConfig::new().with_max_line_len(64 * 1024));
    let mut events = EventSource::get(server.url("/events"))
        .with_config(config)
        .with_reconnect_updates(true);
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match events.next().await.unwrap().unwrap() {
            Update::Reconnecting(r) => seen.push(format!("{:?}", r.cause().kind())),
            Update::Message(m) => seen.push(m.data().to_owned()),
            _ => {}
        }
    }
    let cause = ErrorKind::Interrupted(Cause::Parse(ParseError::LineTooLong { limit: 64 * 1024 }));
    assert_eq!(seen, ["a".to_owned(), format!("{cause:?}"), "b".to_owned()]);
    assert_eq!(server.requests()[1].last_event_id(), Some("1"));
    // The flood's connection was dropped at the limit.
    assert!(server.wait_closed(1, Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn the_attempt_count_grows_and_the_last_attempt_gives_up_with_the_cause() {
    // A port nobody listens on: every connection is refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = ClientConfig::new().with_reconnect(exact().with_max_attempts(Some(3)));
    let events = EventSource::get(format!("http://127.0.0.1:{port}/events"))
        .with_config(config)
        .with_reconnect_updates(true);
    let start = Instant::now();
    let (seen, error) = drain(events).await;
    assert_eq!(
        seen,
        [
            "reconnect 1 after 1000 ms: Interrupted(Transport)",
            "reconnect 2 after 2000 ms: Interrupted(Transport)",
            "reconnect 3 after 4000 ms: Interrupted(Transport)",
        ]
    );
    assert_eq!(start.elapsed(), Duration::from_secs(7));
    let error = error.unwrap();
    assert_eq!(error.kind(), ErrorKind::GaveUp { failures: 4 });
    let chain = Report::new(&error).to_string();
    assert!(
        chain.contains("gave up after 4 failed attempts in a row")
            && chain.contains(": the connection failed: "),
        "{chain}"
    );
    // The transport's own error is at the end of the chain.
    let mut source: &dyn std::error::Error = &error;
    let mut depth = 0;
    while let Some(next) = source.source() {
        source = next;
        depth += 1;
    }
    assert!(depth >= 2, "{chain}");
}

#[tokio::test(start_paused = true)]
async fn the_server_retry_is_the_floor_of_the_backoff() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::stream()
            .send("retry: 5000\nid: 1\ndata: a\n\n")
            .cut(),
        1..=3 => Reply::status(502),
        _ => Reply::status(204),
    })
    .await;
    let config = ClientConfig::new().with_reconnect(
        ReconnectConfig::new()
            .with_reconnect_on_server_error(true)
            .with_max_delay(Duration::from_secs(8)),
    );
    let events = EventSource::get(server.url("/events"))
        .with_config(config)
        .with_reconnect_updates(true)
        .with_retry_updates(true);
    let (seen, _) = drain(events).await;
    let delays: Vec<u64> = seen
        .iter()
        .filter_map(|l| l.strip_prefix("reconnect "))
        .map(|l| {
            let ms = l.split(" after ").nth(1).unwrap();
            ms.split(' ').next().unwrap().parse().unwrap()
        })
        .collect();
    assert!(seen.contains(&"retry 5000".to_owned()), "{seen:?}");
    assert_eq!(delays.len(), 4, "{seen:?}");
    // Never below the server's 5 s, even though the cap is 8 s; jitter adds at most 50%.
    // The first reconnect follows a healthy connection: the server's retry. Then doubling,
    // capped at 8 s.
    let bases = [5000, 8000, 8000, 8000];
    for (d, base) in delays.iter().zip(bases) {
        assert!((base..=base * 3 / 2).contains(d), "{delays:?}");
    }
    // Jittered: not all in step with the base.
    assert!(delays.iter().zip(bases).any(|(d, b)| *d != b));
}

#[tokio::test(start_paused = true)]
async fn a_one_shot_stream_ends_at_the_sentinel_and_drops_the_body_at_once() {
    let server = ScriptServer::start(|_, _| {
        Reply::stream()
            .send("data: {\"delta\":\"Hel\"}\n\n")
            .send("data: {\"delta\":\"lo\"}\n\ndata: [DONE]\n\n")
            .hang()
    })
    .await;
    #[derive(serde::Deserialize)]
    struct Chunk {
        delta: String,
    }
    let config = ClientConfig::new()
        .with_reconnect(ReconnectConfig::new().with_one_shot(true))
        .with_sentinel("[DONE]");
    let mut events = EventSource::get(server.url("/v1/complete")).with_config(config);
    let mut text = String::new();
    while let Some(update) = events.next().await {
        if let Update::Message(m) = update.unwrap() {
            text.push_str(&m.json::<Chunk>().unwrap().delta);
        }
    }
    assert_eq!(text, "Hello");
    assert_eq!(events.stopped(), Some(Stop::Finished));
    // The body was dropped when the sentinel came, though the server kept it open.
    assert!(server.wait_closed(1, Duration::from_millis(100)).await);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_one_shot_stream_ends_at_its_normal_end() {
    let server = ScriptServer::start(|_, _| Reply::stream().send("data: all\n\n")).await;
    let config = ClientConfig::new().with_reconnect(ReconnectConfig::new().with_one_shot(true));
    let (seen, error) = drain(EventSource::get(server.url("/")).with_config(config)).await;
    assert!(error.is_none());
    assert_eq!(seen, ["open 200 -", "all@"]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn close_and_drop_release_the_connection() {
    let server = ScriptServer::start(|_, _| Reply::stream().send("data: x\n\n").hang()).await;
    let mut events = EventSource::get(server.url("/"));
    assert!(matches!(events.next().await, Some(Ok(Update::Open(_)))));
    assert!(matches!(events.next().await, Some(Ok(Update::Message(_)))));
    events.close();
    assert!(server.wait_closed(1, Duration::from_millis(100)).await);
    assert!(events.next().await.is_none());
    assert_eq!(events.stopped(), Some(Stop::Closed));

    let mut events = EventSource::get(server.url("/"));
    assert!(matches!(events.next().await, Some(Ok(Update::Open(_)))));
    drop(events);
    assert!(server.wait_closed(2, Duration::from_millis(100)).await);
}

#[tokio::test(start_paused = true)]
async fn comments_and_retry_are_yielded_when_asked_for() {
    let server = ScriptServer::start(|_, _| {
        Reply::stream()
            .send(": keep-alive\nretry: 250\n\ndata: x\n\n")
            .hang()
    })
    .await;
    let mut events = EventSource::get(server.url("/"))
        .with_comment_updates(true)
        .with_retry_updates(true);
    let mut seen = Vec::new();
    while seen.len() < 4 {
        seen.push(match events.next().await.unwrap().unwrap() {
            Update::Open(_) => "open".to_owned(),
            Update::Comment(c) => format!("comment {c}"),
            Update::Retry(d) => format!("retry {}", d.as_millis()),
            Update::Message(m) => m.data().to_owned(),
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(seen, ["open", "comment keep-alive", "retry 250", "x"]);
    assert_eq!(events.retry(), Duration::from_millis(250));
}

#[tokio::test(start_paused = true)]
async fn an_invalid_url_is_a_request_error() {
    let mut events = EventSource::get("not a url");
    let error = events.next().await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Request);
    assert!(std::error::Error::source(&error).is_some());
    assert!(events.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_stored_position_resumes_the_first_request() {
    let server = ScriptServer::start(|_, _| Reply::status(204)).await;
    let events =
        EventSource::get(server.url("/")).with_last_event_id(&ssekit::EventId::from_static("41"));
    let _ = drain(events).await;
    assert_eq!(server.requests()[0].last_event_id(), Some("41"));
}

#[test]
fn a_streaming_body_cannot_be_resent() {
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("x"))]);
    let request = reqwest::Client::new()
        .post("http://127.0.0.1:1/?key=secret")
        .header("x-api-key", "secret")
        .body(reqwest::Body::wrap_stream(stream));
    let error = EventSource::new(request).unwrap_err();
    assert!(error.to_string().contains("streaming body"));
    // What `unwrap` would print shows neither the URL nor the headers.
    assert_eq!(format!("{error:?}"), "CannotCloneRequest");
}

#[tokio::test(start_paused = true)]
async fn a_last_event_id_set_on_the_request_is_where_the_stream_resumes() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::stream().send("id: 42\ndata: a\n\n").cut(),
        _ => Reply::status(204),
    })
    .await;
    let request = reqwest::Client::new()
        .get(server.url("/"))
        .header("last-event-id", "41");
    let events = EventSource::new(request)
        .unwrap()
        .with_config(ClientConfig::new().with_reconnect(exact()));
    let (seen, _) = drain(events).await;
    assert_eq!(seen, ["open 200 41", "a@42"]);
    let sent = server.last_event_ids();
    // Then the id in force, not the one the request was built with.
    assert_eq!(sent, ["41", "42"]);
}
