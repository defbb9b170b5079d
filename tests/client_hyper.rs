//! The sans-IO `Session` driven by hyper's own client (no reqwest): any HTTP client can drive
//! it. The loop below is the whole driver: connect, send, read the head, feed the body, sleep
//! when told to.

#![cfg(feature = "http-body")]

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use ssekit::Item;
use ssekit::client::{ClientConfig, Output, Session};
use ssekit::reconnect::{ReconnectConfig, Stop};
use ssekit_test_support::script::{Reply, ScriptServer};
use tokio::time::Instant;

/// Reads `url` to its end with a `Session`, hyper's HTTP/1 client and tokio's clock; returns
/// the messages as `data@last_event_id` and why it stopped.
async fn read_all(addr: &str, path: &str, config: ClientConfig) -> (Vec<String>, Stop) {
    let mut session = Session::new(config);
    let mut seen = Vec::new();
    let mut response = None;
    let mut body: Option<hyper::body::Incoming> = None;
    loop {
        let now = Instant::now();
        match session.poll(now) {
            Output::Connect { last_event_id, .. } => {
                let mut request = hyper::Request::get(path)
                    .header("host", addr)
                    .header("accept", "text/event-stream");
                if let Some(id) = last_event_id {
                    request = request.header("last-event-id", id.as_str());
                }
                let request = request.body(Empty::<Bytes>::new()).unwrap();
                response = Some(Box::pin(async move {
                    let stream = tokio::net::TcpStream::connect(addr).await?;
                    let (mut send, conn) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                    tokio::spawn(conn);
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                        send.send_request(request).await?,
                    )
                }));
            }
            Output::AwaitResponse { .. } => match response.take().unwrap().await {
                Ok(r) => {
                    let (head, incoming) = r.into_parts();
                    session.on_http_response(Instant::now(), head.status, &head.headers, 0);
                    body = Some(incoming);
                }
                Err(_) => session.on_error(Instant::now()),
            },
            Output::Read { .. } => match body.as_mut().unwrap().frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        session.feed(Instant::now(), data);
                    }
                }
                Some(Err(_)) => session.on_error(Instant::now()),
                None => session.on_end(Instant::now()),
            },
            Output::Item(Item::Message(m)) => {
                seen.push(format!("{}@{}", m.data(), m.last_event_id()));
            }
            Output::Item(_) => {}
            Output::Reconnect { .. } => body = None,
            Output::Wait { until } => tokio::time::sleep_until(until).await,
            Output::Stop(stop) => return (seen, stop),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn hyper_drives_a_session_through_cuts_and_id_only_blocks() {
    let server = ScriptServer::start(|n, _| match n {
        0 => Reply::stream()
            .send("retry: 100\nid: 1\ndata: a\n\n")
            .send("id: 2\n\n")
            .cut(),
        1 => Reply::stream().send("data: b\n\nid: 3\ndata: c-cut").cut(),
        2 => Reply::stream().send("id: 3\ndata: c\n\n"),
        _ => Reply::status(204),
    })
    .await;
    let addr = server.url("").trim_start_matches("http://").to_owned();
    let config = ClientConfig::new().with_reconnect(ReconnectConfig::new().with_jitter_percent(0));
    let start = Instant::now();
    let (seen, stop) = read_all(&addr, "/events", config).await;
    assert_eq!(seen, ["a@1", "b@2", "c@3"]);
    assert_eq!(stop, Stop::NoContent);
    let sent = server.last_event_ids();
    assert_eq!(sent, ["-", "2", "2", "3"]);
    // Every reconnect waited the server's 100 ms (each connection delivered a message).
    assert_eq!(start.elapsed(), Duration::from_millis(300));
}
