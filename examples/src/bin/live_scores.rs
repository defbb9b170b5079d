//! Live football scores: one match, played from `match.json`, pushed to every browser with
//! `EventSource`. Start it and open the page:
//!
//! ```sh
//! cargo run --bin live_scores
//! # then open http://127.0.0.1:3000/
//! ```
//!
//! - `PORT` (default 3000; `0` picks a free port), `MATCH_SPEED` (times real time, default 30:
//!   a match in about 3½ minutes; `0` plays it at once), `KEEP_ALIVE_SECS` (default 15), and
//!   `MAX_SUBSCRIBERS` (streams at once, default 10,000; beyond, `503` with `Retry-After`),
//!   and the connection limits of `ssekit_examples::serve` (`MAX_CONNECTIONS`,
//!   `HEADER_READ_TIMEOUT_SECS`, `WRITE_TIMEOUT_SECS`).
//! - `GET /events`: the match as SSE. Named events `kickoff`, `goal`, `card`, `substitution`,
//!   `halftime`, `fulltime`; commentary as default messages; an id on every event
//!   (`<epoch>-0`, `<epoch>-1`, … with the match's fixed epoch), a
//!   `retry` hint, keep-alive comments. `Last-Event-ID` (or `?last_event_id=`) resumes exactly
//!   after that event; a client that has seen full time gets `204 No Content` (stop).
//! - `GET /report`: an LLM-style one-shot stream of the match report, ending with `[DONE]`.
//! - On SIGINT or SIGTERM it stops: the match's streams end at once with `retry: 5000` (come
//!   back in 5 s, here or on the server that replaces this one), `/report` streams get 5 s to
//!   finish.
//! - `POST /admin/disconnect`: ends every open stream, to watch browsers reconnect. It takes
//!   `Authorization: Bearer $ADMIN_TOKEN`, and is refused when `ADMIN_TOKEN` is not set.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ssekit::body::LastEventId;
use ssekit::shutdown::Shutdown;
use ssekit::{EncodeStream, Event};

use ssekit_examples::game::{self, Connection, Game};
use ssekit_examples::{serve, PAGE};

/// How long one-shot streams get to finish when the server stops, and when clients come back.
const GRACE: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct App {
    game: Arc<Game>,
    shutdown: Shutdown,
    keep_alive: Duration,
    /// What `POST /admin/disconnect` requires (`ADMIN_TOKEN`); refused without one.
    admin_token: Option<Arc<str>>,
}

/// `LastEventId` is the `Last-Event-ID` header, or the `last_event_id` query parameter (a page
/// that was reloaded), when it is an id the server could have sent.
async fn events(State(app): State<App>, LastEventId(id): LastEventId) -> Response {
    match app.game.subscribe(game::resume_after(id)) {
        Connection::Over => StatusCode::NO_CONTENT.into_response(),
        // Too many connections: `503 Service Unavailable` with `Retry-After`.
        Connection::Full(full) => full.into_response(),
        Connection::Stream(events) => EncodeStream::new(events)
            .keep_alive_tokio(app.keep_alive)
            .into_response(),
    }
}

/// A one-shot stream: on shutdown it gets `GRACE` to finish, then ends with a `retry:`.
async fn report(State(app): State<App>) -> Response {
    let bye = Event::builder().retry(GRACE).build().expect("valid");
    EncodeStream::new(game::report(&app.game))
        .shutdown_on(app.shutdown.deadline(GRACE), Some(bye))
        .into_response()
}

async fn info(State(app): State<App>) -> Json<serde_json::Value> {
    Json(app.game.info().clone())
}

async fn disconnect(State(app): State<App>, headers: HeaderMap) -> StatusCode {
    let authorization = headers.get(axum::http::header::AUTHORIZATION);
    let token = app.admin_token.as_deref();
    match ssekit_examples::check_bearer(authorization.map(|v| v.as_bytes()), token) {
        Ok(()) => {
            app.game.cut_connections();
            StatusCode::NO_CONTENT
        }
        Err(status) => StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN),
    }
}

/// The router, apart from `main` so that other examples can mount it.
fn router(app: App) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/events", get(events))
        .route("/report", get(report))
        .route("/api/match", get(info))
        .route("/admin/disconnect", post(disconnect))
        .with_state(app)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let keep_alive = game::keep_alive();
    let (listener, game) = game::start().await?;
    println!("live scores at http://{}/", listener.local_addr()?);
    let admin_token = ssekit_examples::admin_token().map(Arc::from);
    let shutdown = Shutdown::new();
    let app = App {
        game: Arc::clone(&game),
        shutdown: shutdown.clone(),
        keep_alive,
        admin_token,
    };
    // Not `axum::serve`: it has no header-read timeout or connection cap.
    let service = hyper_util::service::TowerToHyperService::new(router(app));
    tokio::select! {
        served = serve::serve(listener, serve::Limits::from_env(), service) => return served,
        () = stop_requested() => {}
    }
    // Stopping: the match's streams end now, with `retry:`; reports get `GRACE` to finish.
    eprintln!("stopping: streams end, reports get {GRACE:?}");
    game.shutdown(GRACE);
    shutdown.trigger();
    tokio::time::sleep(GRACE + Duration::from_millis(100)).await;
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn stop_requested() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
