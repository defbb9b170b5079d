//! The bundled examples, run for real: each server is started as a child process on a free
//! port and read with reqwest and the crate's own parser.

mod common;

use common::examples;

use std::time::Duration;

use examples::{expected_match, match_id, Running};
use futures_util::StreamExt;
use ssekit::{Item, ItemStream, ParserConfig};

/// What one connection delivered.
#[derive(Debug, Default)]
struct Read {
    /// `(last event id, type)` of every message, in order.
    messages: Vec<(String, String)>,
    data: Vec<serde_json::Value>,
    retry: Option<Duration>,
    /// Ids set by blocks that carried no data.
    id_only: Vec<String>,
    comments: usize,
    /// When each message arrived.
    arrived: Vec<std::time::Instant>,
}

/// `GET url` with an optional `Last-Event-ID`; the status, and what the stream delivered (read
/// to its end, or until `limit` messages).
async fn read(url: &str, last_event_id: Option<&str>, limit: usize) -> (u16, Read) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status != 200 {
        return (status, Read::default());
    }
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "text/event-stream");
    let config = ParserConfig::new().with_comments(true);
    let mut items = ItemStream::with_config(response.bytes_stream(), config);
    let mut out = Read::default();
    while out.messages.len() < limit {
        let Some(item) = tokio::time::timeout(Duration::from_secs(60), items.next())
            .await
            .unwrap()
        else {
            break;
        };
        match item.unwrap() {
            Item::Message(m) => {
                out.messages
                    .push((m.last_event_id().to_string(), m.event_type().to_owned()));
                out.data.push(serde_json::from_str(m.data()).unwrap());
                out.arrived.push(std::time::Instant::now());
            }
            Item::Retry(r) => out.retry = Some(r),
            Item::Comment(_) => out.comments += 1,
            Item::LastEventId(id) => out.id_only.push(id.to_string()),
            _ => {}
        }
    }
    (status, out)
}

/// Every check on one scores server (`live_scores` or `hyper_server`), with the match played
/// at once.
async fn check_scores_server(name: &str) {
    let (_server, origin) = Running::server(name, "0", &[("MATCH_SPEED", "0")]);
    let events = format!("{origin}/events");
    let all = expected_match();

    // A new client gets the whole match, in order, with ids, types and a retry hint; the
    // stream ends after full time.
    let (status, got) = read(&events, None, usize::MAX).await;
    assert_eq!(status, 200);
    assert_eq!(got.messages, all, "{name}");
    assert_eq!(got.retry, Some(Duration::from_secs(1)));
    let last = got.data.last().unwrap();
    assert_eq!(
        (
            last["score"]["home"].as_u64(),
            last["score"]["away"].as_u64()
        ),
        (Some(3), Some(2))
    );

    // Resuming with Last-Event-ID gets exactly what follows: nothing missed, nothing repeated.
    for k in [1, 17, 39] {
        let (_, resumed) = read(&events, Some(&match_id(k - 1)), usize::MAX).await;
        assert_eq!(resumed.messages, all[k..], "{name} resuming after {k}");
    }
    // So does the query parameter; the header wins over it.
    let after_30 = format!("{events}?last_event_id={}", match_id(29));
    let (_, q) = read(&after_30, None, usize::MAX).await;
    assert_eq!(q.messages, all[30..]);
    let (_, both) = read(&after_30, Some(&match_id(34)), usize::MAX).await;
    assert_eq!(both.messages, all[35..]);
    // A client that has seen full time is told to stop.
    let (status, _) = read(&events, Some(&match_id(39)), usize::MAX).await;
    assert_eq!(status, 204, "{name}");
    // Any other id gets a well-defined answer that ends: an id past the match, of another
    // epoch, huge or not an id is treated as none (the match so far, here all of it), never
    // keep-alives forever.
    for id in [
        match_id(40),
        "1-0".to_owned(),
        "41".to_owned(),
        format!("{}-18446744073709551615", ssekit_examples::game::EPOCH),
        "99999999999999999999999-1".to_owned(),
        "abc".to_owned(),
        "-1".to_owned(),
    ] {
        let (status, got) = read(&events, Some(&id), usize::MAX).await;
        assert_eq!(
            (status, &got.messages),
            (200, &all),
            "{name} with Last-Event-ID {id}"
        );
    }

    // The retry hint rides on the first event with data: no block of `retry` alone, which
    // some clients (httpx-sse) take for an empty event.
    let wire = reqwest::get(&events).await.unwrap().text().await.unwrap();
    let blocks: Vec<&str> = wire.split("\n\n").filter(|b| !b.is_empty()).collect();
    assert!(blocks[0].starts_with("retry: 1000\n"), "{:?}", blocks[0]);
    assert!(blocks[0].contains("\ndata: "), "{:?}", blocks[0]);
    assert!(blocks
        .iter()
        .all(|b| b.lines().any(|l| l.starts_with("data:"))));
    // The page and the match info are served.
    let page = reqwest::get(format!("{origin}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("new EventSource('/events' + location.search)"));
    let info: serde_json::Value = reqwest::get(format!("{origin}/api/match"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["events"], 40);
}

#[tokio::test]
async fn live_scores_serves_the_match_and_resumes_exactly() {
    check_scores_server("live_scores").await;
}

#[tokio::test]
async fn hyper_server_serves_the_same_stream() {
    check_scores_server("hyper_server").await;
}

#[tokio::test]
async fn one_match_is_broadcast_live_with_keep_alives() {
    // Event 1 at 0.5 s, event 2 at 4 s: keep-alives (every 50 ms) fill the silence. A client
    // that joins at 1.5 s gets event 1 from the history at once, and event 2 live, at the same
    // moment as the first client: one match for everyone, not a replay per connection.
    let (_server, origin) = Running::server(
        "live_scores",
        "0",
        &[("MATCH_SPEED", "40"), ("KEEP_ALIVE_SECS", "0.05")],
    );
    let events = format!("{origin}/events");
    let first = tokio::spawn({
        let events = events.clone();
        async move { read(&events, None, 2).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let joined = std::time::Instant::now();
    let (_, second) = read(&events, None, 2).await;
    let (_, first) = first.await.unwrap();
    assert_eq!(first.messages, expected_match()[..2]);
    assert_eq!(second.messages, expected_match()[..2]);
    assert!(
        second.arrived[0] - joined < Duration::from_millis(400),
        "event 1 was not history"
    );
    let apart = second.arrived[1].max(first.arrived[1]) - second.arrived[1].min(first.arrived[1]);
    assert!(
        apart < Duration::from_millis(400),
        "event 2 reached the two clients {apart:?} apart"
    );
    assert!(
        first.comments > 0 && second.comments > 0,
        "{first:?} {second:?}"
    );
}

#[tokio::test]
async fn report_is_a_one_shot_stream_the_client_ends_at_done() {
    let (_server, origin) = Running::server("live_scores", "0", &[("MATCH_SPEED", "0")]);
    // Once the match is over, the report tells all of it.
    let (_, all) = read(&format!("{origin}/events"), None, usize::MAX).await;
    assert_eq!(all.messages.len(), 40);
    let mut client = Running::start("client", &[&format!("{origin}/report"), "--once"], &[]);
    let status = client.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{:?}", client.stderr_lines());
    let text = client.stdout_lines().join("\n");
    assert_eq!(
        text.trim(),
        "Riverside Rovers 3 - 2 Harbour City. Goals: Ada Okonkwo 14', Sam Whitaker 31', \
         Jonas Berg 64', Ravi Menon 81', Kofi Mensah 91'. A final for the ages."
    );
    assert!(client
        .stderr_lines()
        .iter()
        .any(|l| l == "stopped: the stream ended"));
    // One connection: a finished one-shot stream is not reconnected.
    let connects = client
        .stderr_lines()
        .iter()
        .filter(|l| l.starts_with("connected"))
        .count();
    assert_eq!(connects, 1);
}

#[test]
fn the_match_is_in_order() {
    // The page shows the timeline in the order events arrive; their minutes must not go back
    // (half-time in stoppage time is 45+2, not 47 before 46).
    let file: serde_json::Value = serde_json::from_str(ssekit_examples::game::MATCH_JSON).unwrap();
    let minutes: Vec<(u64, u64)> = file["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["minute"].as_u64().unwrap(),
                e["added"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(minutes.windows(2).all(|w| w[0] <= w[1]), "{minutes:?}");
}

#[tokio::test]
async fn report_of_a_live_match_tells_only_the_match_so_far() {
    // At real-time pace the match is at its first minutes for a long while.
    let (_server, origin) = Running::server("live_scores", "0", &[("MATCH_SPEED", "1")]);
    let (_, kickoff) = read(&format!("{origin}/events"), None, 1).await;
    assert_eq!(kickoff.messages.len(), 1);
    let wire = reqwest::get(format!("{origin}/report"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut parser = ssekit::Parser::new();
    parser.feed(wire);
    let mut text = String::new();
    while let Some(m) = parser.next_message() {
        let m = m.unwrap();
        if m.data() != "[DONE]" {
            let delta: serde_json::Value = serde_json::from_str(m.data()).unwrap();
            text.push_str(delta["choices"][0]["delta"]["content"].as_str().unwrap());
        }
    }
    assert!(
        text.starts_with("Live, 0': Riverside Rovers 0 - 0 Harbour City."),
        "{text}"
    );
    assert!(
        !text.contains("Mensah") && !text.contains("final"),
        "a spoiler: {text}"
    );
}

/// An upstream of the test's own on 127.0.0.1 that answers every request with `body` as an
/// event stream, then closes.
async fn scripted_upstream(body: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                // The request head, bounded; its content does not matter here.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn proxy_forwards_id_only_blocks() {
    // A server tells a new client where the stream stands with an id and no data (as
    // redis_fanout does); through the proxy the client must get it too, or its first reconnect
    // carries no Last-Event-ID and misses what was published meanwhile.
    let mut body = ssekit::Event::builder()
        .id("7-41")
        .build()
        .unwrap()
        .to_bytes()
        .to_vec();
    body.extend_from_slice(
        &ssekit::Event::builder()
            .id("7-42")
            .data("{}")
            .build()
            .unwrap()
            .to_bytes(),
    );
    body.extend_from_slice(
        &ssekit::Event::builder()
            .id("7-43")
            .build()
            .unwrap()
            .to_bytes(),
    );
    let upstream = scripted_upstream(body).await;
    let (_proxy, proxy) = Running::server("proxy", "0", &[("UPSTREAM", &upstream)]);
    let (status, got) = read(&format!("{proxy}/events"), None, usize::MAX).await;
    assert_eq!(status, 200);
    assert_eq!(got.id_only, ["7-41", "7-43"]);
    assert_eq!(got.messages, [("7-42".to_owned(), "message".to_owned())]);
}

#[tokio::test]
async fn proxy_re_serves_upstream_with_resume_and_its_own_keep_alive() {
    let (_upstream, origin) = Running::server("live_scores", "0", &[("MATCH_SPEED", "0")]);
    let (_proxy, proxy) = Running::server(
        "proxy",
        "0",
        &[
            ("UPSTREAM", &format!("{origin}/events")),
            ("KEEP_ALIVE_SECS", "0.05"),
        ],
    );
    let events = format!("{proxy}/events");
    let all = expected_match();
    let (status, got) = read(&events, None, usize::MAX).await;
    assert_eq!(status, 200);
    assert_eq!(got.messages, all);
    assert_eq!(
        got.retry,
        Some(Duration::from_secs(1)),
        "retry passes through"
    );
    let (_, resumed) = read(&events, Some(&match_id(24)), usize::MAX).await;
    assert_eq!(
        resumed.messages,
        all[25..],
        "Last-Event-ID is forwarded upstream"
    );
    let (status, _) = read(&events, Some(&match_id(39)), usize::MAX).await;
    assert_eq!(status, 204, "upstream's 204 is passed on");

    // Upstream silent: the proxy's own keep-alives keep the downstream connection alive.
    let (mut slow, slow_origin) = Running::server("live_scores", "0", &[("MATCH_SPEED", "20")]);
    let (_proxy2, proxy2) = Running::server(
        "proxy",
        "0",
        &[
            ("UPSTREAM", &format!("{slow_origin}/events")),
            ("KEEP_ALIVE_SECS", "0.05"),
        ],
    );
    let (_, got) = read(&format!("{proxy2}/events"), None, 2).await;
    assert_eq!(got.messages, all[..2]);
    assert!(got.comments > 0, "{got:?}");

    // Upstream dies mid-stream: downstream sees an error (and so reconnects), not a clean end.
    let response = reqwest::get(format!("{proxy2}/events")).await.unwrap();
    let mut items = ItemStream::new(response.bytes_stream());
    let first = tokio::time::timeout(Duration::from_secs(30), items.next())
        .await
        .unwrap();
    assert!(matches!(first, Some(Ok(Item::Retry(_)))), "{first:?}");
    slow.kill();
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(30), items.next())
            .await
            .unwrap()
        {
            Some(Ok(_)) => {}
            other => break other,
        }
    };
    assert!(
        matches!(end, Some(Err(ssekit::error::StreamError::Transport(_)))),
        "{end:?}"
    );
}

#[tokio::test]
async fn client_survives_a_server_restart_mid_match() {
    // About 10 s for the match.
    let speed = [("MATCH_SPEED", "650")];
    let (mut server, origin) = Running::server("live_scores", "0", &speed);
    let port = origin.rsplit(':').next().unwrap().to_owned();
    let mut client = Running::start("client", &[&format!("{origin}/events")], &[]);
    let eighth = format!("id={} ", match_id(7));
    client.wait_stdout(Duration::from_secs(60), |l| l.starts_with(&eighth));
    server.kill();
    let seen_before = client.stdout_lines().len();
    assert!(seen_before < 40, "the match ended before the restart");
    // The client notices and starts backing off; then the server comes back on the same port
    // and replays the match from kick-off.
    client.wait_stderr(Duration::from_secs(30), |l| {
        l.starts_with("reconnecting in")
    });
    let (_server, _) = Running::server("live_scores", &port, &speed);
    let status = client.wait_exit(Duration::from_secs(120));
    assert!(status.success(), "{:?}", client.stderr_lines());

    let got: Vec<(String, String)> = client
        .stdout_lines()
        .iter()
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let id = parts
                .next()
                .unwrap()
                .strip_prefix("id=")
                .unwrap()
                .to_owned();
            let kind = parts
                .next()
                .unwrap()
                .strip_prefix("event=")
                .unwrap()
                .to_owned();
            (id, kind)
        })
        .collect();
    assert_eq!(got, expected_match(), "every event exactly once, in order");
    let stderr = client.stderr_lines();
    let resumed = format!("(Last-Event-ID: Some(\"{}\"))", match_id(seen_before - 1));
    assert!(
        stderr
            .iter()
            .any(|l| l.starts_with("connected") && l.ends_with(&resumed)),
        "resumed after {seen_before}: {stderr:?}"
    );
    assert!(stderr
        .iter()
        .any(|l| l == "stopped: the server answered 204 No Content"));
}

/// The limits a server on a network needs: a header-read timeout, a connection cap, and a cap
/// on streams answered with `503` and `Retry-After`.
#[tokio::test]
async fn servers_close_idle_sockets_and_refuse_past_their_caps() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(limit, async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        });
        read.await.is_ok()
    }
    for name in ["live_scores", "hyper_server"] {
        let (_server, origin) = Running::server(
            name,
            "0",
            &[
                ("MATCH_SPEED", "0.01"),
                ("HEADER_READ_TIMEOUT_SECS", "3"),
                ("MAX_CONNECTIONS", "3"),
                ("MAX_SUBSCRIBERS", "1"),
            ],
        );
        let addr = origin.trim_start_matches("http://").to_owned();
        // A socket that sends no request is closed at the header-read timeout.
        let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let started = std::time::Instant::now();
        assert!(
            closed_within(&mut idle, Duration::from_secs(10)).await,
            "{name}"
        );
        assert!(started.elapsed() >= Duration::from_millis(2800), "{name}");
        // One stream is all it takes; the second is told to come back later.
        let first = reqwest::get(format!("{origin}/events")).await.unwrap();
        assert_eq!(first.status(), 200, "{name}");
        let second = reqwest::get(format!("{origin}/events")).await.unwrap();
        assert_eq!(second.status(), 503, "{name}");
        assert_eq!(second.headers()["retry-after"], "5", "{name}");
        drop(second);
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Three connections at once (the stream, and two sockets that are sending their
        // request slowly); the fourth is closed at once.
        let mut slow: Vec<tokio::net::TcpStream> = Vec::new();
        for _ in 0..2 {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            s.write_all(b"GET /api/match HTTP/1.1\r\n").await.unwrap();
            slow.push(s);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut fourth = tokio::net::TcpStream::connect(&addr).await.unwrap();
        assert!(
            closed_within(&mut fourth, Duration::from_secs(2)).await,
            "{name}: a fourth connection was kept"
        );
        drop(first);
        drop(slow);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let info = reqwest::get(format!("{origin}/api/match")).await.unwrap();
        assert_eq!(info.status(), 200, "{name}: room again");
    }
}

/// On SIGINT the match's streams end at once with `retry:`, a report being streamed gets to
/// finish, and the server exits.
#[tokio::test]
async fn live_scores_stops_gracefully() {
    let (mut server, origin) = Running::server("live_scores", "0", &[("MATCH_SPEED", "0.01")]);
    let live = reqwest::get(format!("{origin}/events")).await.unwrap();
    let mut report = reqwest::get(format!("{origin}/report")).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), report.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(std::str::from_utf8(&first).unwrap().contains("\"content\""));
    let status = std::process::Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The report is finished, to its `[DONE]`, not cut.
    let rest = tokio::time::timeout(Duration::from_secs(10), report.text())
        .await
        .unwrap()
        .unwrap();
    assert!(rest.ends_with("data: [DONE]\n\n"), "{rest:?}");
    // The match's stream ends with when to come back.
    let live = tokio::time::timeout(Duration::from_secs(10), live.text())
        .await
        .unwrap()
        .unwrap();
    assert!(live.ends_with("retry: 5000\n\n"), "{live:?}");
    assert!(server.wait_exit(Duration::from_secs(20)).success());
}

#[tokio::test]
async fn admin_endpoints_take_the_token_and_are_closed_without_one() {
    for name in ["live_scores", "hyper_server"] {
        let (_server, origin) = Running::server(name, "0", &[("MATCH_SPEED", "0")]);
        let url = format!("{origin}/admin/disconnect");
        let http = reqwest::Client::new();
        let none = http.post(&url).send().await.unwrap().status();
        let wrong = http.post(&url).bearer_auth("guess").send().await.unwrap();
        let right = http
            .post(&url)
            .bearer_auth(examples::ADMIN_TOKEN)
            .send()
            .await;
        assert_eq!(
            (
                none.as_u16(),
                wrong.status().as_u16(),
                right.unwrap().status().as_u16()
            ),
            (401, 401, 204),
            "{name}"
        );
        // No ADMIN_TOKEN configured: refused whatever the request says.
        let (_closed, origin) = Running::server(name, "0", &[("ADMIN_TOKEN", "")]);
        let url = format!("{origin}/admin/disconnect");
        let status = http
            .post(&url)
            .bearer_auth("")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "{name}");
    }
}

/// An OpenAI-style chunk carrying `text`.
fn chunk(text: &str) -> String {
    let chunk = serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}}]});
    format!("data: {chunk}\n\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_streams_a_post_completion_and_stops_at_done() {
    use ssekit_test_support::script::{Reply, ScriptServer};
    let server = ScriptServer::start(|_, request| {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        if request.method != "POST"
            || request.header("authorization") != Some("Bearer sk-test")
            || body["stream"] != true
            || body["messages"][0]["content"] != "Say hello"
        {
            return Reply::status(400).body("bad request");
        }
        Reply::stream()
            .send(chunk("Hel"))
            .send(format!("{}{}", chunk("lo, "), chunk("world")))
            .send("data: [DONE]\n\n")
            // The server keeps the connection open: the client must not wait for its end.
            .hang()
    })
    .await;
    let url = server.url("/v1/chat/completions");
    let mut llm = Running::start("llm", &[&url, "Say hello"], &[("LLM_API_KEY", "sk-test")]);
    let status = tokio::task::block_in_place(|| llm.wait_exit(Duration::from_secs(60)));
    assert!(status.success(), "{:?}", llm.stderr_lines());
    assert_eq!(llm.stdout_lines(), ["Hello, world"]);
    assert_eq!(server.requests().len(), 1, "one request, not retried");
    assert!(server.wait_closed(1, Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_prints_the_error_and_a_bounded_body_of_a_refused_request() {
    use ssekit_test_support::script::{Reply, ScriptServer};
    let server = ScriptServer::start(|_, _| {
        let huge = format!("{{\"error\":\"invalid api key\"}}{}", " ".repeat(1 << 20));
        Reply::status(401)
            .header("content-type", "application/json")
            .body(huge)
    })
    .await;
    let url = server.url("/v1/chat/completions?key=secret");
    let mut llm = Running::start("llm", &[&url, "hi"], &[]);
    let status = tokio::task::block_in_place(|| llm.wait_exit(Duration::from_secs(60)));
    assert!(!status.success());
    let stderr = llm.stderr_lines();
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("the server answered 401 Unauthorized") && !l.contains("secret")),
        "{stderr:?}"
    );
    let said = stderr
        .iter()
        .find(|l| l.starts_with("the server said: "))
        .unwrap();
    assert!(
        said.contains("invalid api key") && said.len() < 4200,
        "{}",
        said.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_reports_a_chunk_that_is_not_the_expected_json() {
    use ssekit_test_support::script::{Reply, ScriptServer};
    let server = ScriptServer::start(|_, _| {
        Reply::stream()
            .send(chunk("ok"))
            .send("data: {\"choices\": 5}\n\n")
            .hang()
    })
    .await;
    let mut llm = Running::start("llm", &[&server.url("/"), "hi"], &[]);
    let status = tokio::task::block_in_place(|| llm.wait_exit(Duration::from_secs(60)));
    assert!(!status.success());
    let stderr = llm.stderr_lines().join("\n");
    assert!(
        stderr.contains("the data of a `message` event is not the expected JSON")
            && stderr.contains(r#""{\"choices\": 5}""#),
        "{stderr}"
    );
}
