//! The `live_scores` match on bare hyper 1.x, no framework: the crate's `EncodeStream` is an
//! `http_body::Body`, so it is the response body as is.
//!
//! ```sh
//! cargo run --bin hyper_server
//! curl -N http://127.0.0.1:3000/events
//! ```
//!
//! `PORT`, `MATCH_SPEED`, `KEEP_ALIVE_SECS` and the connection limits work as in `live_scores`; `GET /events` is the
//! same stream (resume with `Last-Event-ID` or `?last_event_id=`), `GET /` the same page.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use ssekit::stream::Encode;
use ssekit::EncodeStream;

use ssekit_examples::game::{self, Connection, Game};
use ssekit_examples::{serve, PAGE};

/// One body type for every route: SSE streams and plain answers alike.
type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

fn plain(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()).boxed_unsync())
        .expect("valid response")
}

fn sse<E>(events: impl Stream<Item = E> + Send + 'static, keep_alive: Duration) -> Response<Body>
where
    E: Encode<Error = Infallible> + Send + 'static,
{
    let response = EncodeStream::new(events)
        .keep_alive_tokio(keep_alive)
        .into_http_response();
    response.map(BodyExt::boxed_unsync)
}

/// What every connection shares.
struct Server {
    game: Arc<Game>,
    keep_alive: Duration,
    /// What `POST /admin/disconnect` requires (`ADMIN_TOKEN`); refused without one.
    admin_token: Option<String>,
}

async fn handle(server: Arc<Server>, req: Request<Incoming>) -> Response<Body> {
    let (game, keep_alive) = (&server.game, server.keep_alive);
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => plain(StatusCode::OK, "text/html; charset=utf-8", PAGE),
        (&Method::GET, "/api/match") => {
            plain(StatusCode::OK, "application/json", game.info().to_string())
        }
        (&Method::GET, "/events") => {
            let id = ssekit::body::last_event_id(req.headers(), req.uri().query());
            match game.subscribe(game::resume_after(id)) {
                Connection::Over => plain(StatusCode::NO_CONTENT, "text/plain", ""),
                Connection::Stream(events) => sse(events, keep_alive),
                // Too many connections: `503 Service Unavailable` with `Retry-After`.
                Connection::Full(full) => full
                    .into_http_response::<Full<Bytes>>()
                    .map(BodyExt::boxed_unsync),
            }
        }
        (&Method::GET, "/report") => sse(game::report(game), keep_alive),
        (&Method::POST, "/admin/disconnect") => {
            let authorization = req.headers().get(header::AUTHORIZATION);
            let token = server.admin_token.as_deref();
            match ssekit_examples::check_bearer(authorization.map(|v| v.as_bytes()), token) {
                Ok(()) => {
                    game.cut_connections();
                    plain(StatusCode::NO_CONTENT, "text/plain", "")
                }
                Err(status) => plain(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN),
                    "text/plain",
                    "takes `Authorization: Bearer $ADMIN_TOKEN`\n",
                ),
            }
        }
        _ => plain(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let keep_alive = game::keep_alive();
    let (listener, game) = game::start().await?;
    println!("live scores (hyper) at http://{}/", listener.local_addr()?);
    let server = Arc::new(Server {
        game,
        keep_alive,
        admin_token: ssekit_examples::admin_token(),
    });
    let service = service_fn(move |req| {
        let server = Arc::clone(&server);
        async move { Ok::<_, Infallible>(handle(server, req).await) }
    });
    serve::serve(listener, serve::Limits::from_env(), service).await
}
