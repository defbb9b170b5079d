//! Several instances of the live-scores server sharing one stream through Redis Streams: every
//! client sees every event exactly once and in order, whichever instance it lands on, also
//! after reconnecting to a *different* instance with `Last-Event-ID`; what cannot be delivered
//! is announced with a `gap` event, never skipped silently.
//!
//! ```text
//! publisher ──XADD──► Redis stream ──XREAD BLOCK──► tail loop ──► Hub ──► clients
//! (POST /publish,      (MAXLEN ~ N)   (one per instance,           (ring of encoded frames,
//!  the match player)                   its own connection)          one per instance)
//! ```
//!
//! ```sh
//! redis-server --port 6379 --save "" --appendonly no --maxmemory-policy noeviction &
//! export ADMIN_TOKEN=change-me
//! PORT=3001 PLAY=1 cargo run --bin redis_fanout &
//! PORT=3002 cargo run --bin redis_fanout &
//! PORT=3003 cargo run --bin redis_fanout &
//! # open http://127.0.0.1:3001/, :3002/ or :3003/; publish with
//! curl -H "Authorization: Bearer $ADMIN_TOKEN" -d '{"minute":1,"text":"hello","score":{"home":0,"away":0}}' \
//!     'http://127.0.0.1:3002/publish?event=goal'
//! ```
//!
//! Settings: `ADMIN_TOKEN` (`POST /publish` takes `Authorization: Bearer $ADMIN_TOKEN` and is
//! refused without it; the `gap` type is reserved), `MAX_EVENT_BYTES` (the largest body
//! `/publish` takes, 64 KiB: Redis holds up to `MAXLEN` of them), `PORT`, `REDIS_URL` (default
//! `redis://127.0.0.1:6379`), `STREAM_KEY` (`live_scores`), `MAXLEN` (10000), `RING` (hub
//! frames, 1024), `RING_BYTES` (16 MiB), `KEEP_ALIVE_SECS` (15), the connection limits of
//! `ssekit_examples::serve` (`MAX_CONNECTIONS`, `HEADER_READ_TIMEOUT_SECS`),
//! `SEND_TIMEOUT_SECS` (10: a connection whose socket takes no byte for that long is dropped,
//! however few frames wait for it), `MAX_LAG_EVENTS` (evict subscribers more than that many events behind; none by
//! default: they fall back to Redis), `PLAY=1` (this instance plays the match), `MATCH_SPEED`.
//!
//! Routes: `GET /` (the page), `GET /events` (the stream; `Last-Event-ID` header or
//! `?last_event_id=`, the header wins), `POST /publish?event=TYPE` (body: the data),
//! `GET /api/state` (the newest event), `GET /api/match`, `GET /health`.
//!
//! **Ids** are the Redis entry ids, `<epoch>-<offset>`: every publish goes through one Lua
//! script that adds `<epoch>-*` to the stream, so offsets are dense from 0 within an epoch, and
//! a new epoch (Redis's clock in milliseconds) starts whenever the stream is gone, i.e. the
//! history restarted. Ids are compared as numbers, never as text; a client can tell a gap by
//! arithmetic (`ssekit::sequence::Sequence`).

use ssekit_examples::game;
use ssekit_examples::{serve, PAGE};

use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamRangeReply, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, AsyncConnectionConfig, Value};
use serde_json::json;
use ssekit::error::Report;
use ssekit::hub::{Delivery, EvictionFuture, Hub, HubConfig, Join, Position};
use ssekit::Event;
use tokio::sync::{mpsc, Notify};

/// How long the tail loop's `XREAD` blocks. Its connection's response timeout is longer, or
/// every quiet period would look like a failure.
const BLOCK_MS: u64 = 2000;

/// At most this many entries per `XREAD` or `XRANGE`: a page of large events is held whole
/// (the reply, its parse and the frames), so pages are kept small.
const REDIS_PAGE: usize = 64;

/// Publishes with a dense offset in the current epoch, or starts a new epoch (Redis's clock,
/// in ms) when the stream is gone. ARGV[1] is MAXLEN, the rest are field/value pairs.
const PUBLISH_LUA: &str = r"
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local epoch
if #last > 0 then
  epoch = string.match(last[1][1], '^(%d+)%-')
else
  local t = redis.call('TIME')
  epoch = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
end
local args = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], epoch .. '-*'}
for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
return redis.call(unpack(args))
";

/// An entry id, `<epoch>-<offset>`, ordered as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Id {
    epoch: u64,
    offset: u64,
}

impl Id {
    fn parse(s: &str) -> Option<Id> {
        let (epoch, offset) = s.trim().split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(epoch) || !digits(offset) {
            return None;
        }
        Some(Id {
            epoch: epoch.parse().ok()?,
            offset: offset.parse().ok()?,
        })
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.epoch, self.offset)
    }
}

struct Config {
    key: String,
    maxlen: u64,
    ring: usize,
    keep_alive: Duration,
    send_timeout: Duration,
    /// What `POST /publish` requires (`ADMIN_TOKEN`); publishing is refused without one.
    admin_token: Option<String>,
    /// The largest event data `POST /publish` takes.
    max_event_bytes: usize,
    /// The most the hub's ring holds, in bytes.
    ring_bytes: usize,
}

struct App {
    config: Config,
    hub: Hub<Id>,
    client: redis::Client,
    commands: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    redis_up: AtomicBool,
    script: redis::Script,
    game: Arc<game::Game>,
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl App {
    fn set_redis(&self, up: bool, why: &dyn fmt::Display) {
        if self.redis_up.swap(up, Ordering::Relaxed) != up {
            if up {
                eprintln!("redis is up");
            } else {
                eprintln!("redis is down: {why}");
            }
        }
    }

    /// The shared command connection, made again after a failure.
    async fn connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        let mut slot = self.commands.lock().await;
        if let Some(con) = &*slot {
            return Ok(con.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_secs(3));
        let con = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *slot = Some(con.clone());
        Ok(con)
    }

    async fn forget_connection(&self) {
        *self.commands.lock().await = None;
    }

    /// Publishes one event through the Lua script; the error reaches the caller.
    async fn publish(&self, kind: Option<&str>, data: &str) -> Result<Id, String> {
        let mut con = self.connection().await.map_err(|e| e.to_string())?;
        let mut call = self.script.key(&self.config.key);
        call.arg(self.config.maxlen);
        if let Some(kind) = kind {
            call.arg("type").arg(kind);
        }
        call.arg("data").arg(data);
        match call.invoke_async::<String>(&mut con).await {
            Ok(id) => Id::parse(&id).ok_or_else(|| format!("unexpected id {id}")),
            Err(e) => {
                self.forget_connection().await;
                Err(e.to_string())
            }
        }
    }

    /// `XRANGE key start + COUNT n`.
    async fn range(&self, start: &str, count: usize) -> redis::RedisResult<Vec<(Id, Bytes)>> {
        let mut con = self.connection().await?;
        let reply: redis::RedisResult<StreamRangeReply> =
            con.xrange_count(&self.config.key, start, "+", count).await;
        match reply {
            Ok(reply) => Ok(reply.ids.iter().filter_map(encode_entry).collect()),
            Err(e) => {
                self.forget_connection().await;
                Err(e)
            }
        }
    }
}

/// Encodes a stream entry (`type` and `data` fields) as an SSE frame with its id.
fn encode_entry(entry: &redis::streams::StreamId) -> Option<(Id, Bytes)> {
    let id = Id::parse(&entry.id)?;
    let field = |name: &str| match entry.map.get(name) {
        Some(Value::BulkString(b)) => String::from_utf8(b.clone()).ok(),
        Some(Value::SimpleString(s)) => Some(s.clone()),
        _ => None,
    };
    let mut builder = Event::builder()
        .id(id.to_string())
        .data(field("data").unwrap_or_default());
    if let Some(kind) = field("type") {
        builder = builder.event(kind);
    }
    // `/publish` validates before adding, so a bad entry was written by someone else: skip it.
    let event = builder.build().ok()?;
    Some((id, event.to_bytes()))
}

/// A named `gap` event, without an `id:` line: JSON saying why and where it resumes.
fn gap_frame(reason: &str, last: Option<Id>, resumes_at: Option<Id>) -> Bytes {
    Event::builder()
        .event("gap")
        .json(&json!({
            "reason": reason,
            "last_event_id": last.map(|id| id.to_string()),
            "resumes_at": resumes_at.map(|id| id.to_string()),
        }))
        .build()
        .expect("a gap event is valid")
        .to_bytes()
}

/// One tail loop per instance: a blocking `XREAD` on its own connection, always from the last
/// id seen, feeding the hub. Survives Redis going away and coming back.
async fn tail(app: Arc<App>) {
    let mut last: Option<Id> = None;
    loop {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_millis(BLOCK_MS + 5000));
        let mut con = match app
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(con) => con,
            Err(e) => {
                app.set_redis(false, &e);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if last.is_none() {
            // Start with the newest RING entries, so that resumes are served from the hub.
            let reply: redis::RedisResult<StreamRangeReply> = con
                .xrevrange_count(&app.config.key, "+", "-", app.config.ring)
                .await;
            match reply {
                Ok(reply) => {
                    for entry in reply.ids.iter().rev() {
                        ingest(&app, &mut last, entry);
                    }
                }
                Err(e) => {
                    app.set_redis(false, &e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
        }
        app.set_redis(true, &"");
        loop {
            let from = last.map_or_else(|| "0-0".to_owned(), |id| id.to_string());
            let options = StreamReadOptions::default()
                .block(BLOCK_MS as usize)
                .count(REDIS_PAGE);
            let reply: redis::RedisResult<Option<StreamReadReply>> = con
                .xread_options(&[&app.config.key], &[&from], &options)
                .await;
            match reply {
                Ok(reply) => {
                    app.set_redis(true, &"");
                    for key in reply.map(|r| r.keys).unwrap_or_default() {
                        for entry in &key.ids {
                            ingest(&app, &mut last, entry);
                        }
                    }
                }
                Err(e) => {
                    app.set_redis(false, &e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
        }
    }
}

/// Encodes an entry once and publishes it to the hub. If the tail sees a jump (a new epoch:
/// the history restarted; or a skipped offset: trimmed before it was read), the frame carries
/// a `gap` event first, so that every subscriber that had the previous event learns of it.
fn ingest(app: &App, last: &mut Option<Id>, entry: &redis::streams::StreamId) {
    let Some((id, frame)) = encode_entry(entry) else {
        eprintln!("skipping entry {} (not an event of ours)", entry.id);
        return;
    };
    if last.is_some_and(|l| id <= l) {
        return;
    }
    let frame = match *last {
        Some(prev) if id.epoch != prev.epoch || id.offset != prev.offset + 1 => {
            let reason = if id.epoch == prev.epoch {
                "trimmed"
            } else {
                "new_history"
            };
            let mut both = BytesMut::from(&gap_frame(reason, Some(prev), Some(id))[..]);
            both.extend_from_slice(&frame);
            both.freeze()
        }
        _ => frame,
    };
    if let Err(e) = app.hub.publish(id, frame) {
        eprintln!("hub refused {id}: {}", Report::new(&e));
    }
    *last = Some(id);
}

/// The frames of one connection, on their way to its socket.
struct Out {
    tx: mpsc::Sender<Bytes>,
    /// The newest id sent: anything at or before it is not sent again.
    sent: Option<Id>,
    send_timeout: Duration,
    eviction: Option<std::pin::Pin<Box<EvictionFuture<Id>>>>,
}

/// Why a connection's producer stopped.
enum Stop {
    /// The client went away.
    Gone,
    /// The socket stopped draining, or the hub evicted the subscriber: drop the connection.
    Drop(String),
}

impl Out {
    async fn send(&mut self, frame: Bytes) -> Result<(), Stop> {
        let eviction = async {
            match self.eviction.as_mut() {
                Some(e) => e.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            sent = self.tx.send(frame) => sent.map_err(|_| Stop::Gone),
            () = tokio::time::sleep(self.send_timeout) => Err(Stop::Drop("send timed out".into())),
            reason = eviction => Err(Stop::Drop(format!("evicted: {reason}"))),
        }
    }

    async fn frame(&mut self, id: Id, frame: Bytes) -> Result<(), Stop> {
        if self.sent.is_some_and(|sent| id <= sent) {
            return Ok(());
        }
        self.send(frame).await?;
        self.sent = Some(id);
        Ok(())
    }

    async fn gap(&mut self, reason: &str, last: Option<Id>, next: Option<Id>) -> Result<(), Stop> {
        eprintln!("gap ({reason}) after {last:?}, resuming at {next:?}");
        self.send(gap_frame(reason, last, next)).await
    }
}

/// Sends what Redis holds after `after` and before `until` (to its end for `None`). The first
/// entry must be `after` itself: Redis never says that an id was trimmed (`XRANGE` starts at
/// the oldest survivor), so anything else is a gap, and is sent as one.
async fn backfill(app: &App, out: &mut Out, after: Id, until: Option<Id>) -> Result<(), Stop> {
    let mut start = after.to_string();
    let mut first = true;
    loop {
        let page = match app.range(&start, REDIS_PAGE).await {
            Ok(page) => page,
            Err(e) => {
                app.set_redis(false, &e);
                return out.gap("store_unavailable", Some(after), until).await;
            }
        };
        let mut entries = page.into_iter().peekable();
        if first {
            first = false;
            if entries.peek().is_some_and(|(id, _)| *id == after) {
                entries.next();
            } else {
                let next = entries.peek().map(|(id, _)| *id).or(until);
                out.gap("trimmed_or_unknown", Some(after), next).await?;
            }
        }
        let mut any = false;
        for (id, frame) in entries {
            if until.is_some_and(|u| id >= u) {
                return Ok(());
            }
            any = true;
            start = format!("({id}");
            out.frame(id, frame).await?;
        }
        if !any {
            return Ok(());
        }
    }
}

/// Registers with the hub (refused when it has its most subscribers).
fn register(app: &App, after: Option<&Id>) -> Result<Join<Id>, Stop> {
    app.hub
        .subscribe(after)
        .map_err(|e| Stop::Drop(e.to_string()))
}

/// Produces one connection's stream: resume, then live frames, keep-alives, gaps.
async fn produce(
    app: Arc<App>,
    requested: Option<Result<Id, String>>,
    mut out: Out,
) -> Result<(), Stop> {
    let retry = Event::builder()
        .retry(Duration::from_secs(1))
        .build()
        .expect("valid")
        .to_bytes();
    out.send(retry).await?;
    let after = requested.as_ref().and_then(|r| r.as_ref().ok().copied());

    // Register first, then replay: nothing published meanwhile can be missed, and `sent`
    // drops what both the replay and the cursor hold.
    let join = register(&app, after.as_ref())?;
    let mut cursor = join.cursor;
    match (join.position, after) {
        (Position::Live, _) => {
            if let Some(Err(bad)) = &requested {
                out.gap(&format!("unknown_id {bad:?}"), None, None).await?;
            }
            if let Some(head) = join.head {
                // No data: the client's last event ID becomes the head at once.
                out.send(Bytes::from(format!("id: {head}\n\n"))).await?;
                out.sent = Some(head);
            }
        }
        (Position::Resumed, _) => out.sent = after,
        (Position::Backfill { oldest }, Some(after)) => {
            out.sent = Some(after);
            backfill(&app, &mut out, after, Some(oldest)).await?;
        }
        (Position::Unknown, Some(after)) => {
            out.sent = Some(after);
            let next = app
                .hub
                .frames_after(Some(&after))
                .first()
                .map(|(id, _)| *id);
            out.gap("unknown_id", Some(after), next).await?;
        }
        (Position::Ahead, Some(after)) => {
            // Newer than this hub: fine if Redis has it (this instance is a little behind);
            // if not, it was made up or lost with Redis's history.
            match app.range(&after.to_string(), 1).await {
                Ok(page) if page.first().is_some_and(|(id, _)| *id == after) => {
                    out.sent = Some(after)
                }
                Err(_) => out.sent = Some(after),
                Ok(_) => {
                    let join = register(&app, None)?;
                    cursor = join.cursor;
                    out.gap("unknown_id", Some(after), None).await?;
                    if let Some(head) = join.head {
                        out.send(Bytes::from(format!("id: {head}\n\n"))).await?;
                        out.sent = Some(head);
                    }
                }
            }
        }
        (position, _) => unreachable!("{position:?} needs an id, and is known"),
    }
    out.eviction = Some(Box::pin(cursor.eviction()));
    loop {
        let next = tokio::time::timeout(app.config.keep_alive, cursor.next()).await;
        match next {
            Err(_) => {
                out.send(Bytes::from_static(ssekit::encode::KEEP_ALIVE.as_bytes()))
                    .await?
            }
            Ok(None) => return Ok(()),
            Ok(Some(Delivery::Frame { id, frame })) => out.frame(id, frame).await?,
            Ok(Some(Delivery::Gap { last, next })) => {
                // Too slow for the ring: catch up from Redis, which says if it cannot.
                match out.sent.or(last) {
                    Some(from) => backfill(&app, &mut out, from, Some(next)).await?,
                    None => out.gap("lagged", None, Some(next)).await?,
                }
            }
            // This hub is fed with `publish`, which never marks a jump: `ingest` announces them.
            Ok(Some(Delivery::Jump { .. })) => {}
            Ok(Some(Delivery::Evicted(reason))) => {
                return Err(Stop::Drop(format!("evicted: {reason}")))
            }
        }
    }
}

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

fn plain(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()).boxed_unsync())
        .expect("valid response")
}

fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

async fn handle(app: Arc<App>, abort: Arc<Notify>, req: Request<Incoming>) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => plain(StatusCode::OK, "text/html; charset=utf-8", PAGE),
        (&Method::GET, "/api/match") => plain(
            StatusCode::OK,
            "application/json",
            app.game.info().to_string(),
        ),
        (&Method::GET, "/health") => {
            let health = json!({
                "subscribers": app.hub.subscriber_count(),
                "head": app.hub.head().map(|id| id.to_string()),
                "redis": app.redis_up.load(Ordering::Relaxed),
            });
            plain(StatusCode::OK, "application/json", health.to_string())
        }
        (&Method::GET, "/api/state") => {
            let newest: redis::RedisResult<StreamRangeReply> = match app.connection().await {
                Ok(mut con) => con.xrevrange_count(&app.config.key, "+", "-", 1).await,
                Err(e) => Err(e),
            };
            match newest {
                Ok(reply) => {
                    let entry = reply.ids.first();
                    let data = entry
                        .and_then(|e| match e.map.get("data") {
                            Some(Value::BulkString(b)) => serde_json::from_slice(b).ok(),
                            _ => None,
                        })
                        .unwrap_or(serde_json::Value::Null);
                    let state = json!({ "id": entry.map(|e| e.id.clone()), "data": data });
                    plain(StatusCode::OK, "application/json", state.to_string())
                }
                Err(e) => plain(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e.to_string()),
            }
        }
        (&Method::POST, "/publish") => {
            let authorization = req.headers().get(header::AUTHORIZATION);
            let token = app.config.admin_token.as_deref();
            if let Err(status) =
                ssekit_examples::check_bearer(authorization.map(|v| v.as_bytes()), token)
            {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
                let why = "publishing takes `Authorization: Bearer $ADMIN_TOKEN`\n";
                return plain(status, "text/plain", why);
            }
            let kind = query_param(req.uri().query(), "event").map(str::to_owned);
            let limited = http_body_util::Limited::new(req.into_body(), app.config.max_event_bytes);
            let body = match limited.collect().await {
                Ok(body) => body.to_bytes(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    let why = format!(
                        "larger than MAX_EVENT_BYTES ({})\n",
                        app.config.max_event_bytes
                    );
                    return plain(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", why);
                }
                Err(_) => return plain(StatusCode::BAD_REQUEST, "text/plain", "unreadable body\n"),
            };
            let Ok(data) = String::from_utf8(body.to_vec()) else {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "text/plain",
                    "data must be UTF-8\n",
                );
            };
            // `gap` is this server's own signal: publishing it would forge one.
            if kind.as_deref() == Some("gap") {
                let why = "the `gap` event type is reserved\n";
                return plain(StatusCode::BAD_REQUEST, "text/plain", why);
            }
            // Refuse what would not encode (an event type with a line break) before storing it.
            let mut check = Event::builder().data(data.clone());
            if let Some(kind) = &kind {
                check = check.event(kind.clone());
            }
            if let Err(e) = check.build() {
                return plain(StatusCode::BAD_REQUEST, "text/plain", format!("{e}\n"));
            }
            match app.publish(kind.as_deref(), &data).await {
                Ok(id) => plain(StatusCode::OK, "text/plain", format!("{id}\n")),
                Err(e) => plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    format!("{e}\n"),
                ),
            }
        }
        (&Method::GET, "/events") => {
            let header = req
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok());
            let raw = header.or_else(|| query_param(req.uri().query(), "last_event_id"));
            let requested = raw
                .filter(|s| !s.trim().is_empty())
                .map(|s| Id::parse(s).ok_or_else(|| s.to_owned()));
            let (tx, rx) = mpsc::channel::<Bytes>(16);
            let out = Out {
                tx,
                sent: None,
                send_timeout: app.config.send_timeout,
                eviction: None,
            };
            tokio::spawn(async move {
                if let Err(Stop::Drop(why)) = produce(app, requested, out).await {
                    eprintln!("dropping a connection: {why}");
                    abort.notify_one();
                }
            });
            let frames = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
            });
            let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
            *response.headers_mut() = ssekit::body::headers();
            response
        }
        _ => plain(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

/// Plays the match from `match.json`, publishing each moment; retries while Redis is down.
async fn play(app: Arc<App>, speed: f64) {
    for moment in app.game.script(speed) {
        tokio::time::sleep(moment.wait).await;
        let data = moment.data.to_string();
        loop {
            match app.publish(moment.kind.as_deref(), &data).await {
                Ok(_) => break,
                Err(e) => {
                    eprintln!("publishing failed, retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = env("PORT", 3000);
    let redis_url: String = env("REDIS_URL", "redis://127.0.0.1:6379".to_owned());
    let config = Config {
        key: env("STREAM_KEY", "live_scores".to_owned()),
        maxlen: env("MAXLEN", 10_000),
        ring: env("RING", 1024),
        keep_alive: ssekit_examples::env_secs("KEEP_ALIVE_SECS", Duration::from_secs(15)),
        send_timeout: ssekit_examples::env_secs("SEND_TIMEOUT_SECS", Duration::from_secs(10)),
        admin_token: ssekit_examples::admin_token(),
        max_event_bytes: env("MAX_EVENT_BYTES", 64 << 10),
        ring_bytes: env("RING_BYTES", 16 << 20),
    };
    let max_lag_events: Option<u64> = std::env::var("MAX_LAG_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok());
    let hub = Hub::new(
        HubConfig::new(config.ring)
            .max_bytes(Some(config.ring_bytes))
            .max_lag_events(max_lag_events)
            .max_lag_time(Some(config.send_timeout)),
    );
    let app = Arc::new(App {
        config,
        hub,
        client: redis::Client::open(redis_url.as_str())?,
        commands: tokio::sync::Mutex::new(None),
        redis_up: AtomicBool::new(false),
        script: redis::Script::new(PUBLISH_LUA),
        game: game::Game::new(),
    });
    tokio::spawn(tail(Arc::clone(&app)));
    // The time policy also runs when nothing is published.
    tokio::spawn({
        let app = Arc::clone(&app);
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let evicted = app.hub.evict_lagging(Instant::now());
                if evicted > 0 {
                    eprintln!("evicted {evicted} subscribers that fell too far behind");
                }
            }
        }
    });
    if env("PLAY", 0u8) == 1 {
        tokio::spawn(play(Arc::clone(&app), game::match_speed()));
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("redis fan-out at http://{}/", listener.local_addr()?);
    let limits = serve::Limits::from_env();
    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let (tcp, _) = listener.accept().await?;
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            drop(tcp); // full: the client retries
            continue;
        };
        let app = Arc::clone(&app);
        let socket = serve::WriteTimeout::new(tcp, app.config.send_timeout);
        let http1 = limits.http1();
        tokio::spawn(async move {
            let abort = Arc::new(Notify::new());
            let service = service_fn({
                let abort = Arc::clone(&abort);
                move |req| {
                    let (app, abort) = (Arc::clone(&app), Arc::clone(&abort));
                    async move { Ok::<_, Infallible>(handle(app, abort, req).await) }
                }
            });
            let connection = http1.serve_connection(TokioIo::new(socket), service);
            // A connection is dropped, socket and all, when its producer gives up on it, even
            // if hyper is stuck writing to a socket that does not drain.
            tokio::select! {
                _ = connection => {}
                () = abort.notified() => {}
            }
            drop(permit);
        });
    }
}
