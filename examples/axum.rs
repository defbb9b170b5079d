//! The server quick start: an axum handler that streams events, with keep-alives.
//!
//! ```sh
//! cargo run --example axum --features http-body,tokio
//! curl -N http://127.0.0.1:3000/events
//! ```

use std::time::Duration;

use axum::{response::IntoResponse, routing::get, Router};
use futures_util::{stream, StreamExt};
use ssekit::{EncodeStream, Event};

async fn events() -> impl IntoResponse {
    let ticks = stream::iter(0u64..).then(|n| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Event::builder()
            .event("tick")
            .id(n)
            .data(format!("{{\"n\":{n}}}"))
            .build()
    });
    // Keep-alive comments after 15 s of silence; the SSE headers are set for you.
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
