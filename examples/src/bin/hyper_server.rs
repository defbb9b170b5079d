//! The `live_scores` match on bare hyper 1.x, no framework: the crate's `EncodeStream` is an
//! `http_body::Body`, so it is the response body as is.
//!
//! ```sh
//! cargo run --example hyper_server --features http-body,tokio,serde
//! curl -N http://127.0.0.1:3000/events
//! ```
//!
//! `PORT`, `MATCH_SPEED` and `KEEP_ALIVE_SECS` work as in `live_scores`; `GET /events` is the
//! same stream (resume with `Last-Event-ID` or `?last_event_id=`), `GET /` the same page.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ssekit::{EncodeStream, Event};

use ssekit_examples::game::{self, Game, Subscription};
use ssekit_examples::PAGE;

/// One body type for every route: SSE streams and plain answers alike.
type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

fn plain(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()).boxed_unsync())
        .expect("valid response")
}

fn sse(events: BoxStream<'static, Event>, keep_alive: Duration) -> Response<Body> {
    let response = EncodeStream::new(events)
        .keep_alive_tokio(keep_alive)
        .into_http_response();
    response.map(BodyExt::boxed_unsync)
}

async fn handle(game: Arc<Game>, keep_alive: Duration, req: Request<Incoming>) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => plain(StatusCode::OK, "text/html; charset=utf-8", PAGE),
        (&Method::GET, "/api/match") => {
            plain(StatusCode::OK, "application/json", game.info().to_string())
        }
        (&Method::GET, "/events") => {
            let header = req
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok());
            match game.subscribe(game::last_event_id(header, req.uri().query())) {
                Subscription::Over => plain(StatusCode::NO_CONTENT, "text/plain", ""),
                Subscription::Stream(events) => sse(events.boxed(), keep_alive),
            }
        }
        (&Method::GET, "/report") => sse(game::report(&game).boxed(), keep_alive),
        (&Method::POST, "/admin/disconnect") => {
            game.cut_connections();
            plain(StatusCode::NO_CONTENT, "text/plain", "")
        }
        _ => plain(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let keep_alive = game::keep_alive();
    let (listener, game) = game::start().await?;
    println!("live scores (hyper) at http://{}/", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        let game = Arc::clone(&game);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let game = Arc::clone(&game);
                async move { Ok::<_, Infallible>(handle(game, keep_alive, req).await) }
            });
            // A client that goes away mid-stream ends its connection; nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}
