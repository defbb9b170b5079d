//! The server quick start: an axum handler that streams events, with keep-alives.
//!
//! ```sh
//! cargo run --example axum --features http-body,tokio
//! curl -N http://127.0.0.1:3000/events
//! ```

use std::time::Duration;

use axum::{response::IntoResponse, routing::get, Router};
use futures_util::StreamExt;
use ssekit::{EncodeStream, Event};
use tokio_stream_shim::interval_stream;

async fn events() -> impl IntoResponse {
    let ticks = interval_stream(Duration::from_secs(1))
        .enumerate()
        .map(|(n, _)| {
            Event::builder()
                .event("tick")
                .id(n as u64)
                .data(format!("{{\"n\":{n}}}"))
                .build()
        });
    EncodeStream::new(ticks)
        .keep_alive_tokio(Duration::from_secs(15))
        .into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("streaming at http://{}/events", listener.local_addr()?);
    axum::serve(listener, Router::new().route("/events", get(events))).await
}

/// A `Stream` of ticks from `tokio::time::interval`, without pulling in `tokio-stream`.
mod tokio_stream_shim {
    use futures_util::stream::{self, Stream};
    use std::time::Duration;

    pub fn interval_stream(period: Duration) -> impl Stream<Item = ()> {
        stream::unfold(tokio::time::interval(period), |mut iv| async move {
            iv.tick().await;
            Some(((), iv))
        })
    }
}
