//! The `http-body` feature end to end: an `EncodeStream` served by hyper on 127.0.0.1, read
//! back with hyper's HTTP client and the crate's own parser.

#![cfg(feature = "http-body")]

use futures_util::{StreamExt, stream};
use http_body_util::BodyExt;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use ssekit::{EncodeStream, Event, EventStream};
use std::convert::Infallible;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

fn match_events() -> Vec<Event> {
    let mut events = vec![
        Event::builder()
            .id(0u64)
            .retry(Duration::from_secs(2))
            .data("")
            .build()
            .unwrap(),
    ];
    for i in 1..=50u64 {
        let kind = if i % 10 == 0 { "goal" } else { "tick" };
        events.push(
            Event::builder()
                .event(kind)
                .id(i)
                .data(format!("{{\"minute\":{i}}}\nline two"))
                .build()
                .unwrap(),
        );
    }
    events
}

async fn serve_once(listener: TcpListener) {
    let (tcp, _) = listener.accept().await.unwrap();
    let service = service_fn(|_req| async {
        // Events trickle in (each after a yield to the runtime, no real time passing).
        let events = stream::iter(match_events()).then(|e| async move {
            tokio::task::yield_now().await;
            e
        });
        Ok::<_, Infallible>(
            EncodeStream::new(events)
                .keep_alive_tokio(Duration::from_millis(500))
                .into_http_response(),
        )
    });
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tcp), service)
        .await
        .unwrap();
}

/// `GET /events` with hyper's HTTP/1 client; the sender keeps the connection open.
async fn get_events(
    addr: std::net::SocketAddr,
) -> (
    hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>>,
    hyper::Response<hyper::body::Incoming>,
) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(format!("http://{addr}/events"))
        .header("accept", "text/event-stream")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    (sender, resp)
}

#[tokio::test]
async fn served_by_hyper_read_by_a_real_client() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_once(listener));

    let (sender, resp) = get_events(addr).await;

    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["content-type"], "text/event-stream");
    assert_eq!(h["cache-control"], "no-cache, no-transform");
    assert_eq!(h["x-accel-buffering"], "no");
    assert!(h.get("connection").is_none());
    assert_eq!(
        h["transfer-encoding"], "chunked",
        "streamed, not buffered to a length"
    );

    let mut events = EventStream::from_body(resp.into_body());
    let mut got = Vec::new();
    while let Some(msg) = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .unwrap()
    {
        got.push(msg.unwrap());
    }
    assert_eq!(got.len(), 51);
    assert_eq!(got[0].data(), "");
    assert_eq!(got[0].last_event_id(), "0");
    for (i, m) in got.iter().enumerate().skip(1) {
        assert_eq!(m.last_event_id().as_str(), i.to_string());
        assert_eq!(m.event_type(), if i % 10 == 0 { "goal" } else { "tick" });
        assert_eq!(m.data(), format!("{{\"minute\":{i}}}\nline two"));
    }
    assert_eq!(events.retry(), Some(Duration::from_secs(2)));
    drop(sender); // closes the keep-alive connection, so the server's task ends
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn body_frames_are_the_encoded_events() {
    let body = EncodeStream::new(stream::iter([Event::new("a"), Event::new("b")]));
    let collected = BodyExt::collect(body).await.unwrap().to_bytes();
    assert_eq!(collected, "data: a\n\ndata: b\n\n");
}

#[cfg(all(feature = "axum", feature = "tokio"))]
#[tokio::test]
async fn an_axum_handler_streams_with_the_right_headers() {
    use axum::{Router, response::IntoResponse, routing::get};

    async fn handler() -> impl IntoResponse {
        let events = stream::iter(1..=3u64).map(|n| {
            Event::builder()
                .event("tick")
                .id(n)
                .data(n.to_string())
                .build()
        });
        EncodeStream::new(events)
            .keep_alive_tokio(Duration::from_secs(15))
            .into_response()
    }

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, Router::new().route("/events", get(handler)))
            .await
            .unwrap();
    });

    let (_sender, resp) = get_events(addr).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.headers()["x-accel-buffering"], "no");
    let msgs: Vec<_> = EventStream::from_body(resp.into_body())
        .map(Result::unwrap)
        .collect()
        .await;
    let got: Vec<_> = msgs
        .iter()
        .map(|m| {
            (
                m.event_type().to_owned(),
                m.last_event_id().to_string(),
                m.data().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        (1..=3)
            .map(|n: u64| ("tick".to_owned(), n.to_string(), n.to_string()))
            .collect::<Vec<_>>()
    );
    server.abort();
}
