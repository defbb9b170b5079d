//! Several instances of the live-scores server sharing one stream through Redis Streams, with
//! `ssekit-redis`: every client sees every event exactly once and in order, whichever
//! instance it lands on, also after reconnecting to a *different* instance with
//! `Last-Event-ID`; what cannot be delivered is announced with a `gap` event.
//!
//! ```sh
//! redis-server --port 6379 --save "" --appendonly no --maxmemory-policy noeviction &
//! export ADMIN_TOKEN=change-me
//! PORT=3001 PLAY=1 cargo run --bin redis_fanout &
//! PORT=3002 cargo run --bin redis_fanout &
//! # open http://127.0.0.1:3001/ or :3002/; publish with
//! curl -H "Authorization: Bearer $ADMIN_TOKEN" -d '{"minute":1,"text":"hello","score":{"home":0,"away":0}}' \
//!     'http://127.0.0.1:3002/publish?event=goal'
//! ```
//!
//! Settings: `ADMIN_TOKEN` (`POST /publish` takes `Authorization: Bearer $ADMIN_TOKEN`),
//! `MAX_EVENT_BYTES` (64 KiB; Redis keeps `MAXLEN` of them), `PORT`, `REDIS_URL`, `STREAM_KEY`,
//! `MAXLEN` (10000), `RING` and `RING_BYTES` (what this instance keeps: 1024, 16 MiB),
//! `KEEP_ALIVE_SECS` (15), `SEND_TIMEOUT_SECS` (10: a client that takes nothing for that long
//! is dropped), `MAX_SUBSCRIBERS` (10,000), `PLAY=1` (this instance plays the match),
//! `MATCH_SPEED`, and the connection limits of `ssekit_examples::serve`. Routes: `GET /`,
//! `GET /events`, `POST /publish?event=TYPE` (body: the data), `GET /api/state` (the newest
//! event), `GET /api/match`, `GET /health`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use serde_json::json;
use ssekit::channel::ChannelConfig;
use ssekit::Event;
use ssekit_examples::{env_or as env, game, serve, PAGE};
use ssekit_redis::{Error, RedisChannel, RedisConfig};

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

struct App {
    fanout: RedisChannel,
    game: Arc<game::Game>,
    /// What `POST /publish` requires (`ADMIN_TOKEN`); publishing is refused without one.
    admin_token: Option<String>,
    max_event_bytes: usize,
}

fn plain(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed_unsync());
    *response.status_mut() = status;
    response
}

fn typed(content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = plain(StatusCode::OK, body);
    let value = header::HeaderValue::from_static(content_type);
    response.headers_mut().insert(header::CONTENT_TYPE, value);
    response
}

fn json(value: &serde_json::Value) -> Response<Body> {
    typed("application/json", value.to_string())
}

async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<Body> {
    let channel = app.fanout.channel();
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => typed("text/html; charset=utf-8", PAGE),
        (&Method::GET, "/api/match") => json(app.game.info()),
        (&Method::GET, "/health") => json(&json!({
            "subscribers": channel.subscriber_count(),
            "head": channel.head().map(|id| id.to_string()),
            "redis": app.fanout.store().is_up(),
        })),
        (&Method::GET, "/api/state") => match app.fanout.newest().await {
            Ok(newest) => json(&json!({
                "id": newest.as_ref().map(|e| e.id.to_string()),
                "data": newest
                    .and_then(|e| serde_json::from_slice(e.event.data()?).ok())
                    .unwrap_or(serde_json::Value::Null),
            })),
            Err(e) => plain(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
        },
        (&Method::GET, "/events") => {
            let id = ssekit::body::last_event_id(req.headers(), req.uri().query());
            match channel.subscribe(id.as_deref()) {
                Ok(events) => events
                    .into_body()
                    .into_http_response()
                    .map(|b| b.boxed_unsync()),
                // Full: `503 Service Unavailable` with `Retry-After`.
                Err(refused) => refused
                    .into_http_response::<Full<Bytes>>()
                    .map(|b| b.boxed_unsync()),
            }
        }
        (&Method::POST, "/publish") => publish(&app, req).await,
        _ => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// `POST /publish?event=TYPE`: the body is the data. Refused without the token, past
/// `MAX_EVENT_BYTES` (unread), when not UTF-8, or of the reserved `gap` type.
async fn publish(app: &App, req: Request<Incoming>) -> Response<Body> {
    let authorization = req.headers().get(header::AUTHORIZATION);
    let token = app.admin_token.as_deref();
    if let Err(status) = ssekit_examples::check_bearer(authorization.map(|v| v.as_bytes()), token) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
        return plain(status, "publishing takes the bearer token\n");
    }
    let kind = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("event="))
            .map(str::to_owned)
    });
    let limited = http_body_util::Limited::new(req.into_body(), app.max_event_bytes);
    let body = match limited.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "over MAX_EVENT_BYTES\n")
        }
        Err(_) => return plain(StatusCode::BAD_REQUEST, "unreadable body\n"),
    };
    let Ok(data) = String::from_utf8(body.to_vec()) else {
        return plain(StatusCode::BAD_REQUEST, "data must be UTF-8\n");
    };
    let mut event = Event::builder().data(data);
    if let Some(kind) = kind {
        event = event.event(kind);
    }
    let event = match event.build() {
        Ok(event) => event,
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    match app.fanout.publish(event).await {
        Ok(id) => plain(StatusCode::OK, format!("{id}\n")),
        // The reserved `gap` type, or too large once encoded.
        Err(Error::Refused(refused)) => plain(StatusCode::BAD_REQUEST, format!("{refused}\n")),
        Err(e) => plain(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}

/// Plays the match from `match.json`, publishing each moment; retries while Redis is down.
async fn play(app: Arc<App>, speed: f64) {
    for moment in app.game.script(speed) {
        tokio::time::sleep(moment.wait).await;
        let mut event = Event::builder().json(&moment.data);
        if let Some(kind) = moment.kind {
            event = event.event(kind);
        }
        let event = event.build().expect("match events are valid");
        while let Err(e) = app.fanout.publish(event.clone()).await {
            eprintln!("publishing failed, retrying: {e}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let send_timeout = ssekit_examples::env_secs("SEND_TIMEOUT_SECS", Duration::from_secs(10));
    let max_event_bytes = env("MAX_EVENT_BYTES", 64 << 10);
    let channel = ChannelConfig::new()
        .with_history_events(env("RING", 1024))
        .with_history_bytes(env("RING_BYTES", 16 << 20))
        .with_max_event_bytes(max_event_bytes)
        .with_max_subscribers(env("MAX_SUBSCRIBERS", 10_000))
        .with_send_timeout(send_timeout)
        .with_keep_alive(game::keep_alive())
        .with_retry(Some(Duration::from_secs(1)));
    let redis = redis::Client::open(env("REDIS_URL", "redis://127.0.0.1:6379".to_owned()))?;
    let stream = RedisConfig::new(env("STREAM_KEY", "live_scores".to_owned()))
        .with_maxlen(env("MAXLEN", 10_000));
    let app = Arc::new(App {
        fanout: RedisChannel::start(redis, stream, channel),
        game: game::Game::new(),
        admin_token: ssekit_examples::admin_token(),
        max_event_bytes,
    });
    if env("PLAY", 0u8) == 1 {
        tokio::spawn(play(Arc::clone(&app), game::match_speed()));
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", env("PORT", 3000u16))).await?;
    println!("redis fan-out at http://{}/", listener.local_addr()?);
    // A socket that takes nothing for the send timeout is closed, however little is queued.
    let limits = serve::Limits {
        write_timeout: send_timeout,
        ..serve::Limits::from_env()
    };
    let service = service_fn(move |req| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(handle(app, req).await) }
    });
    Ok(serve::serve(listener, limits, service).await?)
}
