//! Redis Streams as the log of an [`ssekit`] broadcast channel: run any number of instances
//! behind a load balancer, and every client gets every event exactly once and in order,
//! whichever instance it lands on, also after it reconnects to another one with
//! `Last-Event-ID`. What cannot be delivered is announced with a gap event, never skipped.
//!
//! ```text
//! publish ──► Lua script: XADD <epoch>-* ──► Redis stream ──► XREAD BLOCK (one per instance)
//!                                            (MAXLEN ~ N)      └─► the instance's Channel ──► its clients
//! ```
//!
//! - **Ids** are the stream's entry ids, `<epoch>-<offset>` ([`Seq`]). Every publish goes
//!   through one Lua script that adds `<epoch>-*`, so offsets are dense from 0 within an
//!   epoch; a new epoch (Redis's clock, in milliseconds) starts whenever the stream is gone,
//!   that is when the history restarted. A client can tell a gap by arithmetic.
//! - **One tail per instance** reads the stream with `XREAD BLOCK` on its own connection,
//!   always from the last id it saw, and feeds the instance's [`Channel`] (with
//!   [`Channel::publish_with_id`]): each event is encoded once per instance.
//! - **Resume**: a subscriber is registered with the channel first, then replayed: from the
//!   channel's history, or from Redis with `XRANGE` when its id is older than that history.
//!   Redis never says that an id was trimmed (`XRANGE` starts at the oldest survivor), so the
//!   first entry of the replay must be the requested id itself: anything else is a gap.
//! - **Redis down**: subscribers stay connected (their streams send keep-alives), publishing
//!   fails with [`Error::Redis`], and the tail reconnects every 200 ms.
//! - **Redis restarted empty**: the next publish starts a new epoch; every subscriber crossing
//!   it gets a `new_history` gap event.
//!
//! What the guarantees rest on, and where they stop:
//!
//! - **Persistence.** "Exactly once" holds across instance crashes, not across a Redis that
//!   loses acknowledged writes: with persistence off (or `appendfsync everysec`) a Redis crash
//!   can lose the last events; the clients that got them keep them, the others are told of a
//!   gap only if the ids jump (a new epoch does, a lost tail in the same epoch is reused:
//!   run Redis with `appendonly yes` and `appendfsync always` where that matters).
//! - **Eviction.** Run Redis with `maxmemory-policy noeviction`: an evicted stream key is a
//!   new epoch and a gap for everyone. The history is `MAXLEN ~ N` entries, so Redis holds up
//!   to N times the largest event ([`ChannelConfig::max_event_bytes`]).
//! - **Clock.** A new epoch is Redis's clock in milliseconds: it must not go back across a
//!   restart, or the tails (which read after the last id they saw) will not see the new
//!   entries until the clock passes the old epoch.
//!
//! ```no_run
//! use ssekit::channel::ChannelConfig;
//! use ssekit_redis::{RedisChannel, RedisConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = redis::Client::open("redis://127.0.0.1:6379")?;
//! let fanout = RedisChannel::start(client, RedisConfig::new("scores"), ChannelConfig::new());
//! let id = fanout.publish(ssekit::Event::new("kick-off")).await?;
//! // In a handler: the client's `Last-Event-ID`, resumed on whichever instance it reached.
//! let subscription = fanout.channel().subscribe(Some(&id.to_string()))?;
//! # drop(subscription);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamRangeReply, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, AsyncConnectionConfig, Value};
use ssekit::channel::{
    Channel, ChannelConfig, Page, PageFuture, PublishError, Seq, Store, StoreError, Stored, Topic,
};
use ssekit::Event;

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

/// How long the tail's `XREAD` blocks. Its connection's response timeout is longer, or every
/// quiet period would look like a failure.
const BLOCK: Duration = Duration::from_secs(2);

/// Entries per `XREAD`: a page of large events is held whole (the reply, its parse and the
/// frames), so pages are kept small.
const READ_PAGE: usize = 64;

/// How long to wait before trying Redis again.
const RETRY: Duration = Duration::from_millis(200);

/// Settings for [`RedisChannel::start`].
///
/// ```
/// let config = ssekit_redis::RedisConfig::new("scores").with_maxlen(100_000);
/// assert_eq!(config.key(), "scores");
/// ```
#[derive(Debug, Clone)]
pub struct RedisConfig {
    key: String,
    maxlen: u64,
}

impl RedisConfig {
    /// The stream at `key`, trimmed to about 10,000 entries.
    ///
    /// ```
    /// assert_eq!(ssekit_redis::RedisConfig::new("k").key(), "k");
    /// ```
    #[must_use]
    pub fn new(key: impl Into<String>) -> RedisConfig {
        RedisConfig {
            key: key.into(),
            maxlen: 10_000,
        }
    }

    /// Keep about `n` entries (`XADD MAXLEN ~ n`): the history a client can resume from after
    /// the channels' own.
    ///
    /// ```
    /// let c = ssekit_redis::RedisConfig::new("k").with_maxlen(50);
    /// # drop(c);
    /// ```
    #[must_use]
    pub fn with_maxlen(mut self, n: u64) -> RedisConfig {
        self.maxlen = n.max(1);
        self
    }

    /// The stream's key.
    ///
    /// ```
    /// assert_eq!(ssekit_redis::RedisConfig::new("k").key(), "k");
    /// ```
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Publishing failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The channel would not take the event (checked before it is stored).
    Refused(PublishError),
    /// Redis failed or is unreachable.
    Redis(redis::RedisError),
    /// Redis answered something this crate did not write.
    Unexpected(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Refused(e) => write!(f, "refused: {e}"),
            Error::Redis(e) => write!(f, "redis: {e}"),
            Error::Unexpected(what) => write!(f, "unexpected answer from redis: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Refused(e) => Some(e),
            Error::Redis(e) => Some(e),
            Error::Unexpected(_) => None,
        }
    }
}

impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Error {
        Error::Redis(e)
    }
}

/// The stream: commands on one shared connection, made again after a failure. The channel
/// reads it as its [`Store`].
pub struct RedisStore {
    client: redis::Client,
    config: RedisConfig,
    commands: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    up: AtomicBool,
    script: redis::Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("key", &self.config.key)
            .field("up", &self.is_up())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    fn new(client: redis::Client, config: RedisConfig) -> RedisStore {
        RedisStore {
            client,
            config,
            commands: tokio::sync::Mutex::new(None),
            up: AtomicBool::new(false),
            script: redis::Script::new(PUBLISH_LUA),
        }
    }

    /// Whether the last command or read reached Redis.
    #[must_use]
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

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

    /// Notes the outcome of a command; after a failure the connection is made again.
    async fn outcome<T>(&self, result: redis::RedisResult<T>) -> redis::RedisResult<T> {
        self.up.store(result.is_ok(), Ordering::Relaxed);
        if result.is_err() {
            *self.commands.lock().await = None;
        }
        result
    }

    async fn append(&self, topic: &str, event: &Event) -> Result<Seq, Error> {
        let mut con = self.outcome(self.connection().await).await?;
        let mut call = self.script.key(&self.config.key);
        call.arg(self.config.maxlen);
        if let Some(kind) = event.event_type() {
            call.arg("type").arg(kind.as_str());
        }
        if !topic.is_empty() {
            call.arg("topic").arg(topic);
        }
        call.arg("data").arg(event.data().unwrap_or_default());
        let id: String = self.outcome(call.invoke_async(&mut con).await).await?;
        id.parse().map_err(|_| Error::Unexpected(id))
    }

    async fn range(&self, after: Option<Seq>, limit: usize) -> Result<Page, Error> {
        let mut con = self.outcome(self.connection().await).await?;
        // Inclusive of `after`: its presence is the anchor.
        let start = after.map_or_else(|| "-".to_owned(), |id| id.to_string());
        let reply: StreamRangeReply = self
            .outcome(
                con.xrange_count(&self.config.key, &start, "+", limit + 1)
                    .await,
            )
            .await?;
        let mut events: Vec<Stored> = reply.ids.iter().filter_map(stored).collect();
        let anchor = match after {
            None => true,
            Some(after) => events.first().is_some_and(|e| e.id == after),
        };
        events.retain(|e| Some(e.id) > after);
        events.truncate(limit);
        Ok(Page { anchor, events })
    }

    /// The newest entry, if any.
    async fn newest(&self) -> Result<Option<Stored>, Error> {
        let mut con = self.outcome(self.connection().await).await?;
        let reply: StreamRangeReply = self
            .outcome(con.xrevrange_count(&self.config.key, "+", "-", 1).await)
            .await?;
        Ok(reply.ids.iter().find_map(stored))
    }
}

/// The store as the channel holds it: a handle to the shared one.
struct Shared(Arc<RedisStore>);

impl Store for Shared {
    fn after(&self, after: Option<Seq>, limit: usize) -> PageFuture {
        let store = Arc::clone(&self.0);
        Box::pin(async move { store.range(after, limit).await.map_err(StoreError::new) })
    }
}

/// An entry as an event, or `None` for one this crate did not write (no valid id, data that
/// is not UTF-8, a type with a line break): skipped, and the jump in ids it leaves is
/// announced to subscribers as a gap.
fn stored(entry: &StreamId) -> Option<Stored> {
    let id: Seq = entry.id.parse().ok()?;
    let field = |name: &str| match entry.map.get(name) {
        Some(Value::BulkString(b)) => String::from_utf8(b.clone()).ok(),
        Some(Value::SimpleString(s)) => Some(s.clone()),
        _ => None,
    };
    let mut builder = Event::builder().data(field("data")?);
    if let Some(kind) = field("type") {
        builder = builder.event(kind);
    }
    Some(Stored {
        id,
        topic: field("topic").unwrap_or_default(),
        event: builder.build().ok()?,
    })
}

/// A [`Channel`] fed from a Redis stream, and a publisher into it. Cloning it gives another
/// handle; the tail stops when the last one is dropped.
#[derive(Clone)]
pub struct RedisChannel {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<RedisStore>,
    channel: Channel,
    /// The tail and the sweep.
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Applies the send timeout when nothing is published too: every eighth of it (at least
/// every 100 ms, at most every second).
async fn sweep(channel: Channel) {
    let every = (channel.config().send_timeout() / 8)
        .clamp(Duration::from_millis(100), Duration::from_secs(1));
    loop {
        tokio::time::sleep(every).await;
        channel.evict_lagging(std::time::Instant::now());
    }
}

impl fmt::Debug for RedisChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisChannel")
            .field("store", &self.inner.store)
            .field("channel", &self.inner.channel)
            .finish()
    }
}

impl RedisChannel {
    /// A channel with the settings of `channel` (its history is this instance's cache of the
    /// stream), the tail that feeds it and a task that applies the send timeout when nothing
    /// is published, spawned on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    #[must_use]
    pub fn start(
        client: redis::Client,
        config: RedisConfig,
        channel: ChannelConfig,
    ) -> RedisChannel {
        let store = Arc::new(RedisStore::new(client, config));
        let channel = Channel::with_store(channel, Arc::new(Shared(Arc::clone(&store))));
        let tail = tokio::spawn(tail(Arc::clone(&store), channel.clone()));
        let sweep = tokio::spawn(sweep(channel.clone()));
        RedisChannel {
            inner: Arc::new(Inner {
                store,
                channel,
                tasks: [tail, sweep],
            }),
        }
    }

    /// The channel: subscribe to it as to any other.
    #[must_use]
    pub fn channel(&self) -> &Channel {
        &self.inner.channel
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &RedisStore {
        &self.inner.store
    }

    /// Publishes `event` in the default topic: into the stream, from where every instance's
    /// tail gives it to its subscribers. Returns its id.
    ///
    /// # Errors
    ///
    /// [`Error::Refused`] for what the channel would not take ([`Channel::check`]: nothing is
    /// stored then), [`Error::Redis`] when Redis fails.
    pub async fn publish(&self, event: Event) -> Result<Seq, Error> {
        self.publish_in("", event).await
    }

    /// Publishes `event` in `topic`; see [`publish`](Self::publish).
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    pub async fn publish_to(&self, topic: &Topic, event: Event) -> Result<Seq, Error> {
        self.publish_in(topic.name(), event).await
    }

    async fn publish_in(&self, topic: &str, event: Event) -> Result<Seq, Error> {
        self.inner.channel.check(&event).map_err(Error::Refused)?;
        self.inner.store.append(topic, &event).await
    }

    /// The newest event in the stream, if any.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] when Redis fails.
    pub async fn newest(&self) -> Result<Option<Stored>, Error> {
        self.inner.store.newest().await
    }
}

/// The tail: a blocking `XREAD` on its own connection, always from the last id seen, feeding
/// the channel. Survives Redis going away and coming back.
async fn tail(store: Arc<RedisStore>, channel: Channel) {
    let mut last: Option<Seq> = None;
    let history = channel.config().history_events();
    loop {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(BLOCK + Duration::from_secs(5));
        let Ok(mut con) = store
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        else {
            store.up.store(false, Ordering::Relaxed);
            tokio::time::sleep(RETRY).await;
            continue;
        };
        if last.is_none() {
            // Start with the newest entries, so that resumes are served from the channel.
            let count = history.min(10_000);
            let newest: redis::RedisResult<StreamRangeReply> = con
                .xrevrange_count(&store.config.key, "+", "-", count)
                .await;
            match newest {
                Ok(reply) => {
                    for entry in reply.ids.iter().rev() {
                        ingest(&channel, &mut last, entry);
                    }
                }
                Err(_) => {
                    store.up.store(false, Ordering::Relaxed);
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            }
        }
        store.up.store(true, Ordering::Relaxed);
        loop {
            let from = last.map_or_else(|| "0-0".to_owned(), |id| id.to_string());
            let options = StreamReadOptions::default()
                .block(usize::try_from(BLOCK.as_millis()).unwrap_or(usize::MAX))
                .count(READ_PAGE);
            let reply: redis::RedisResult<Option<StreamReadReply>> = con
                .xread_options(&[&store.config.key], &[&from], &options)
                .await;
            let Ok(reply) = reply else {
                store.up.store(false, Ordering::Relaxed);
                tokio::time::sleep(RETRY).await;
                break;
            };
            store.up.store(true, Ordering::Relaxed);
            for key in reply.map(|r| r.keys).unwrap_or_default() {
                for entry in &key.ids {
                    ingest(&channel, &mut last, entry);
                }
            }
        }
    }
}

/// Gives an entry to the channel, under its id and in its topic. The channel announces jumps
/// (a new epoch, or offsets trimmed before they were read) to every subscriber crossing them.
fn ingest(channel: &Channel, last: &mut Option<Seq>, entry: &StreamId) {
    let Some(stored) = stored(entry) else {
        return;
    };
    if last.is_some_and(|l| stored.id <= l) {
        return;
    }
    *last = Some(stored.id);
    let topic = (!stored.topic.is_empty()).then(|| channel.topic(&stored.topic));
    // Refused (larger than this instance takes): left out, and the jump it leaves announced.
    let _ = channel.publish_with_id(stored.id, topic.as_ref(), stored.event);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn entry(id: &str, fields: &[(&str, &[u8])]) -> StreamId {
        StreamId {
            id: id.to_owned(),
            map: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::BulkString(v.to_vec())))
                .collect::<HashMap<_, _>>(),
        }
    }

    #[test]
    fn entries_this_crate_wrote_are_events_and_others_are_skipped() {
        let e = stored(&entry(
            "17-3",
            &[("data", b"{}"), ("type", b"goal"), ("topic", b"scores")],
        ))
        .unwrap();
        assert_eq!((e.id, e.topic.as_str()), (Seq::new(17, 3), "scores"));
        assert_eq!(e.event.to_bytes(), "event: goal\ndata: {}\n\n");
        let plain = stored(&entry("17-4", &[("data", b"a\nb")])).unwrap();
        assert_eq!(
            (plain.topic.as_str(), plain.event.to_bytes()),
            ("", "data: a\ndata: b\n\n".into())
        );
        // Written by someone else: no data, data that is not UTF-8, a type that would forge a
        // field, an id that is not ours.
        assert!(stored(&entry("17-5", &[("type", b"goal")])).is_none());
        assert!(stored(&entry("17-5", &[("data", b"\xff")])).is_none());
        assert!(stored(&entry(
            "17-5",
            &[("data", b"x"), ("type", b"a\ndata: forged")]
        ))
        .is_none());
        assert!(stored(&entry("17-x", &[("data", b"x")])).is_none());
    }
}
