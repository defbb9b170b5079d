//! An SSE proxy: reads an upstream event stream and re-serves it downstream, each message
//! turned back into an event without copying its data, with the proxy's own keep-alive.
//!
//! ```sh
//! cargo run --bin live_scores   # the upstream, port 3000
//! PORT=3001 cargo run --bin proxy
//! curl -N http://127.0.0.1:3001/events
//! ```
//!
//! `UPSTREAM` (default `http://127.0.0.1:3000/events`), `PORT` (default 3001), `KEEP_ALIVE_SECS`
//! (default 15), `UPSTREAM_IDLE_SECS` (default 45: an upstream silent that long, keep-alives
//! included, is taken for dead and the downstream stream ends with an error). The proxy holds no state: each downstream connection opens its own upstream
//! one, forwarding `Last-Event-ID`, so a downstream reconnect resumes upstream too. Messages and
//! id-only blocks pass through; `retry` hints go out with the next event; upstream comments (its keep-alives) do not, since the proxy sends its
//! own. An upstream `204` is passed on (the client stops); any other upstream failure is a
//! `502`. If the upstream breaks mid-stream, the downstream response is aborted so that the
//! client sees an error and reconnects, rather than a clean end.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use reqwest::header::CONTENT_TYPE;
use ssekit::content_type::is_event_stream;
use ssekit::error::Report;
use ssekit::{EncodeStream, Item, SseStreamExt};

#[derive(Clone)]
struct Proxy {
    client: reqwest::Client,
    upstream: String,
    keep_alive: Duration,
}

async fn events(State(proxy): State<Proxy>, headers: HeaderMap) -> Response {
    let mut request = proxy
        .client
        .get(&proxy.upstream)
        .header("accept", "text/event-stream");
    if let Some(id) = headers.get("last-event-id") {
        request = request.header("last-event-id", id.clone());
    }
    let upstream = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            eprintln!("upstream unreachable: {}", Report::new(&e));
            return StatusCode::BAD_GATEWAY.into_response();
        }
    };
    let is_sse = upstream
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| is_event_stream(v.as_bytes()));
    match upstream.status().as_u16() {
        200 if is_sse => {}
        204 => return StatusCode::NO_CONTENT.into_response(),
        status => {
            eprintln!("upstream answered {status} (event stream: {is_sse})");
            return StatusCode::BAD_GATEWAY.into_response();
        }
    }
    // A `retry:` goes out with the next event rather than as a block of its own, which some
    // clients turn into an empty event.
    let mut retry = None;
    let events = upstream.bytes_stream().sse_items().filter_map(move |item| {
        let event = match item {
            Ok(Item::Retry(d)) => {
                retry = Some(d);
                None
            }
            // Upstream keep-alives: the proxy sends its own.
            Ok(Item::Comment(_)) => None,
            // A message (its data, type and id are views of the upstream bytes: no copy) or an
            // id-only block, which tells the client where the stream stands.
            Ok(item) => {
                let event = item.into_event();
                Some(Ok(match retry.take() {
                    Some(d) => event.with_retry(d),
                    None => event,
                }))
            }
            Err(e) => {
                eprintln!("upstream failed mid-stream: {}", Report::new(&e));
                Some(Err(e))
            }
        };
        std::future::ready(event)
    });
    EncodeStream::new(events)
        .keep_alive_tokio(proxy.keep_alive)
        .into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3001".into());
    let upstream =
        std::env::var("UPSTREAM").unwrap_or_else(|_| "http://127.0.0.1:3000/events".into());
    let keep_alive = std::env::var("KEEP_ALIVE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .and_then(|s: f64| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(Duration::from_secs(15));
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!(
        "proxy at http://{}/events (upstream {upstream})",
        listener.local_addr()?
    );
    // An upstream that says nothing, not even a keep-alive, for this long is taken for dead:
    // the downstream stream then ends with an error, and the client reconnects.
    let upstream_idle = ssekit_examples::env_secs("UPSTREAM_IDLE_SECS", Duration::from_secs(45));
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(upstream_idle)
        .build()
        .map_err(std::io::Error::other)?;
    let proxy = Proxy {
        client,
        upstream,
        keep_alive,
    };
    axum::serve(
        listener,
        Router::new()
            .route("/events", get(events))
            .with_state(proxy),
    )
    .await
}
