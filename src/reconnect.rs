//! Reconnecting the way `EventSource` does, as a sans-IO state machine.
//!
//! [`Reconnect`] owns no socket, no timer and no clock. The caller tells it what happened
//! (a response arrived, a message was read, the stream ended, the transport failed, time
//! passed) and it answers with an [`Action`]: keep reading, reconnect after a delay sending
//! this `Last-Event-ID`, or stop for good and why. Time is whatever [`Instant`] the caller
//! passes in: `std::time::Instant`, `tokio::time::Instant`, or a `Duration` since an origin of
//! the caller's choosing (for `no_std`).
//!
//! It follows the WHATWG standard's *reestablish the connection* rules:
//!
//! - a `200` answer with `Content-Type: text/event-stream` opens the stream;
//! - a `204`, any other status, or any other content type stops for good;
//! - an end of stream or a network error reconnects after the reconnection time, which starts
//!   at [`ReconnectConfig::initial_retry`] and is replaced by every `retry:` field;
//! - the reconnect sends the last event ID seen, unless it is empty.
//!
//! And adds what production clients need, all optional:
//!
//! - a server's `retry` honoured up to [`ReconnectConfig::max_retry`] (an hour by default), so
//!   that no server can park a client for years;
//! - exponential backoff on top of the server's `retry` for consecutive failures, capped by
//!   [`ReconnectConfig::max_delay`], with random jitter so that clients do not come back in step;
//!   the count resets once a connection proves healthy (it delivered a message or stayed open
//!   for [`ReconnectConfig::healthy_after`]);
//! - at most [`ReconnectConfig::max_attempts`] reconnects in a row without a healthy
//!   connection, then [`Stop::GaveUp`];
//! - [`ReconnectConfig::one_shot`] for request/response streams (LLM completions): a normal end
//!   is [`Stop::Finished`], neither a reconnect nor an error;
//! - [`ReconnectConfig::idle_timeout`]: a connection that sends nothing at all (not even a
//!   keep-alive comment) for that long is treated as dead;
//! - [`ReconnectConfig::reconnect_on_server_error`]: `5xx`, `429` and `408` answers back off and
//!   retry instead of stopping (browsers stop; load balancers in front of a restarting server
//!   answer `502`/`503` for a moment).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ssekit::reconnect::{Action, Reconnect, ReconnectConfig, Stop};
//! use ssekit::Parser;
//!
//! let mut policy = Reconnect::new(ReconnectConfig::new());
//! let mut parser = Parser::new();
//! let now = Instant::now();
//!
//! // First connection: the server answers 200 text/event-stream.
//! assert_eq!(policy.on_open(now, 200, Some(b"text/event-stream")), Action::Read);
//! parser.feed(bytes::Bytes::from_static(b"retry: 1000\nid: 41\ndata: hello\n\n"));
//! while let Some(item) = parser.next() {
//!     policy.on_item(now, &item.unwrap());
//! }
//! // The connection drops: reconnect after the server's retry time (plus jitter), resuming at 41.
//! match policy.on_error(now) {
//!     Action::Reconnect { delay, last_event_id } => {
//!         assert!(delay >= Duration::from_millis(1000));
//!         assert_eq!(last_event_id.as_deref(), Some("41"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! // The server says there is nothing more: stop for good.
//! assert_eq!(policy.on_open(now, 204, None), Action::Stop(Stop::NoContent));
//! ```

use core::fmt;
use core::time::Duration;

use crate::content_type::{ContentType, is_event_stream};
use crate::{EventId, Item, MessageEvent};

/// A point in time, as the caller's clock gives it.
///
/// Implemented for `core::time::Duration` (time since an origin of the caller's choosing), for
/// `std::time::Instant` (with `std`) and for `tokio::time::Instant` (with `tokio`).
///
/// ```
/// use core::time::Duration;
/// use ssekit::reconnect::Instant;
/// let t = Duration::from_secs(5);
/// assert_eq!(t.add(Duration::from_secs(1)).saturating_since(t), Duration::from_secs(1));
/// assert_eq!(t.saturating_since(t.add(Duration::from_secs(1))), Duration::ZERO);
/// ```
pub trait Instant: Copy + Ord {
    /// The time from `earlier` to `self`, zero if `earlier` is later.
    fn saturating_since(self, earlier: Self) -> Duration;
    /// `self` moved `d` later. Where the type cannot go that far, the std and tokio clocks go
    /// a century, a year or a day later, the first they can.
    #[must_use]
    fn add(self, d: Duration) -> Self;
}

impl Instant for Duration {
    fn saturating_since(self, earlier: Self) -> Duration {
        self.saturating_sub(earlier)
    }
    fn add(self, d: Duration) -> Self {
        self.saturating_add(d)
    }
}

/// Where an `Instant` type cannot go `d` later, the latest of these it can go to: a wait that
/// overflows is a wait of a century, never none.
#[cfg(feature = "std")]
const FAR_FUTURE: [Duration; 3] = [
    Duration::from_secs(100 * 365 * 86_400),
    Duration::from_secs(365 * 86_400),
    Duration::from_secs(86_400),
];

#[cfg(feature = "std")]
impl Instant for std::time::Instant {
    fn saturating_since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
    fn add(self, d: Duration) -> Self {
        self.checked_add(d)
            .or_else(|| FAR_FUTURE.iter().find_map(|&far| self.checked_add(far)))
            .unwrap_or(self)
    }
}

#[cfg(feature = "tokio")]
impl Instant for tokio::time::Instant {
    fn saturating_since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
    fn add(self, d: Duration) -> Self {
        self.checked_add(d)
            .or_else(|| FAR_FUTURE.iter().find_map(|&far| self.checked_add(far)))
            .unwrap_or(self)
    }
}

/// The least a second failure in a row waits, whatever the server's `retry`.
const MIN_BACKOFF_UNIT: Duration = Duration::from_millis(100);

/// What the caller should do next.
///
/// ```
/// use ssekit::reconnect::{Action, Reconnect, ReconnectConfig, Stop};
/// let mut policy = Reconnect::new(ReconnectConfig::new().with_one_shot(true));
/// let t = core::time::Duration::ZERO;
/// assert_eq!(policy.on_open(t, 200, Some(b"text/event-stream")), Action::Read);
/// assert_eq!(policy.on_end(t), Action::Stop(Stop::Finished));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The stream is open (or still alive): keep reading it.
    Read,
    /// Drop the connection if it is still there, wait `delay`, then connect again, sending
    /// `Last-Event-ID: <last_event_id>` when it is `Some`.
    Reconnect {
        /// How long to wait before connecting.
        delay: Duration,
        /// The value of the `Last-Event-ID` request header, or `None` to send no such header.
        /// It is always a valid header value: no control characters other than tab, no
        /// leading or trailing whitespace.
        last_event_id: Option<EventId>,
    },
    /// Stop for good.
    Stop(Stop),
}

/// Why a [`Reconnect`] stopped.
///
/// ```
/// use ssekit::reconnect::Stop;
/// assert_eq!(Stop::Status(404).to_string(), "the server answered status 404");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stop {
    /// The server answered `204 No Content`: the standard's way to say "do not reconnect".
    NoContent,
    /// The server answered a status other than `200` and `204` (with
    /// [`ReconnectConfig::reconnect_on_server_error`], `5xx`, `429` and `408` are retried
    /// instead, and end in [`Stop::GaveUp`] if they go on).
    Status(u16),
    /// The server answered `200` without `Content-Type: text/event-stream`; what it sent.
    ContentType(ContentType),
    /// A one-shot stream ended normally.
    Finished,
    /// The caller closed the stream.
    Closed,
    /// The last of [`ReconnectConfig::max_attempts`] reconnects in a row failed too.
    GaveUp {
        /// Failures in a row: the connection lost (or never made) first, then every reconnect.
        failures: u32,
    },
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::NoContent => f.write_str("the server answered 204 No Content"),
            Stop::Status(s) => write!(f, "the server answered status {s}"),
            Stop::ContentType(seen) => write!(
                f,
                "the response's content type is {seen}, not text/event-stream"
            ),
            Stop::Finished => f.write_str("the stream ended"),
            Stop::Closed => f.write_str("the stream was closed by the caller"),
            Stop::GaveUp { failures } => write!(f, "gave up after {failures} failures in a row"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Stop {}

/// Settings for a [`Reconnect`]. The defaults are the standard's behaviour plus capped,
/// jittered exponential backoff.
///
/// ```
/// use core::time::Duration;
/// use ssekit::reconnect::ReconnectConfig;
/// let config = ReconnectConfig::new()
///     .with_initial_retry(Duration::from_secs(1))
///     .with_max_delay(Duration::from_secs(20))
///     .with_max_attempts(Some(10))
///     .with_idle_timeout(Some(Duration::from_secs(45)));
/// assert_eq!(config.max_attempts(), Some(10));
/// ```
#[derive(Debug, Clone)]
pub struct ReconnectConfig {
    initial_retry: Duration,
    max_delay: Duration,
    jitter_percent: u32,
    max_attempts: Option<u32>,
    healthy_after: Duration,
    one_shot: bool,
    idle_timeout: Option<Duration>,
    reconnect_on_server_error: bool,
    seed: Option<u64>,
    max_retry: Duration,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            initial_retry: Duration::from_secs(3),
            max_delay: Duration::from_secs(30),
            jitter_percent: 50,
            max_attempts: None,
            healthy_after: Duration::from_secs(5),
            one_shot: false,
            idle_timeout: None,
            reconnect_on_server_error: false,
            seed: None,
            max_retry: Duration::from_secs(3600),
        }
    }
}

impl ReconnectConfig {
    /// The defaults: 3 s initial reconnection time, backoff capped at 30 s, 50% jitter,
    /// unlimited attempts, healthy after 5 s, no idle timeout, the standard's statuses.
    ///
    /// ```
    /// let c = ssekit::reconnect::ReconnectConfig::new();
    /// assert_eq!(c.initial_retry().as_secs(), 3);
    /// ```
    #[must_use]
    pub fn new() -> ReconnectConfig {
        ReconnectConfig::default()
    }

    /// The reconnection time until the server sends `retry:` (the standard leaves it to the
    /// client; browsers use a few seconds).
    ///
    /// ```
    /// # use core::time::Duration;
    /// let c = ssekit::reconnect::ReconnectConfig::new().with_initial_retry(Duration::from_millis(500));
    /// assert_eq!(c.initial_retry(), Duration::from_millis(500));
    /// ```
    #[must_use]
    pub fn with_initial_retry(mut self, retry: Duration) -> ReconnectConfig {
        self.initial_retry = retry;
        self
    }

    /// The reconnection time in use until the server sends `retry:`.
    ///
    /// ```
    /// assert_eq!(ssekit::reconnect::ReconnectConfig::new().initial_retry().as_secs(), 3);
    /// ```
    #[must_use]
    pub fn initial_retry(&self) -> Duration {
        self.initial_retry
    }

    /// The cap on the exponential backoff, before jitter. A server `retry` larger than the cap
    /// is still honoured: the backoff never goes below what the server asked for.
    ///
    /// ```
    /// # use core::time::Duration;
    /// let c = ssekit::reconnect::ReconnectConfig::new().with_max_delay(Duration::from_secs(10));
    /// # let _ = c;
    /// ```
    #[must_use]
    pub fn with_max_delay(mut self, max: Duration) -> ReconnectConfig {
        self.max_delay = max;
        self
    }

    /// Random extra delay, as a percentage of the backoff delay: a delay `d` becomes a uniform
    /// value in `d ..= d + d * percent / 100`. `0` turns jitter off. Default: 50.
    ///
    /// ```
    /// let c = ssekit::reconnect::ReconnectConfig::new().with_jitter_percent(0);
    /// # let _ = c;
    /// ```
    #[must_use]
    pub fn with_jitter_percent(mut self, percent: u32) -> ReconnectConfig {
        self.jitter_percent = percent;
        self
    }

    /// Reconnect at most this many times in a row without a healthy connection; the failure
    /// after that stops with [`Stop::GaveUp`]. `None` (the default, as in browsers) retries
    /// forever; `Some(0)` never reconnects.
    ///
    /// ```
    /// let c = ssekit::reconnect::ReconnectConfig::new().with_max_attempts(Some(5));
    /// assert_eq!(c.max_attempts(), Some(5));
    /// ```
    #[must_use]
    pub fn with_max_attempts(mut self, max: Option<u32>) -> ReconnectConfig {
        self.max_attempts = max;
        self
    }

    /// The attempt limit.
    ///
    /// ```
    /// assert_eq!(ssekit::reconnect::ReconnectConfig::new().max_attempts(), None);
    /// ```
    #[must_use]
    pub fn max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// A connection that stays open this long counts as healthy and resets the backoff (one
    /// that delivers a message does too). Default: 5 s.
    ///
    /// ```
    /// # use core::time::Duration;
    /// let c = ssekit::reconnect::ReconnectConfig::new().with_healthy_after(Duration::from_secs(30));
    /// # let _ = c;
    /// ```
    #[must_use]
    pub fn with_healthy_after(mut self, after: Duration) -> ReconnectConfig {
        self.healthy_after = after;
        self
    }

    /// One-shot streams (an LLM completion, an MCP request) end when the answer is complete:
    /// a normal end of stream is [`Stop::Finished`], not a reconnect. Transport errors still
    /// reconnect (with `Last-Event-ID`, for servers that can resume); set
    /// [`max_attempts`](Self::max_attempts) to `Some(0)` to stop on them instead.
    ///
    /// ```
    /// let c = ssekit::reconnect::ReconnectConfig::new().with_one_shot(true);
    /// # let _ = c;
    /// ```
    #[must_use]
    pub fn with_one_shot(mut self, one_shot: bool) -> ReconnectConfig {
        self.one_shot = one_shot;
        self
    }

    /// Treat an open connection on which nothing at all arrives for this long (no message, no
    /// comment, no bytes) as dead. Servers that send keep-alive comments every `k` seconds
    /// pair well with a timeout of 2–3 `k`. Default: none.
    ///
    /// ```
    /// # use core::time::Duration;
    /// let c = ssekit::reconnect::ReconnectConfig::new().with_idle_timeout(Some(Duration::from_secs(45)));
    /// # let _ = c;
    /// ```
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> ReconnectConfig {
        self.idle_timeout = timeout;
        self
    }

    /// Back off and retry on `5xx`, `429` and `408` answers instead of stopping for good.
    /// Default: off, as the standard (and every browser) stops on them.
    ///
    /// ```
    /// let c = ssekit::reconnect::ReconnectConfig::new().with_reconnect_on_server_error(true);
    /// # let _ = c;
    /// ```
    #[must_use]
    pub fn with_reconnect_on_server_error(mut self, on: bool) -> ReconnectConfig {
        self.reconnect_on_server_error = on;
        self
    }

    /// Seeds the jitter. Without a seed every `Reconnect` gets its own (from the process's
    /// random hasher keys with `std`, from a counter without), so that clients do not retry in
    /// step; a fixed seed makes the delays reproducible in tests.
    ///
    /// ```
    /// let c = ssekit::reconnect::ReconnectConfig::new().with_seed(7);
    /// # let _ = c;
    /// ```
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> ReconnectConfig {
        self.seed = Some(seed);
        self
    }

    /// The cap on the backoff.
    ///
    /// ```
    /// assert_eq!(ssekit::reconnect::ReconnectConfig::new().max_delay().as_secs(), 30);
    /// ```
    #[must_use]
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The jitter, in percent of the backoff delay.
    ///
    /// ```
    /// assert_eq!(ssekit::reconnect::ReconnectConfig::new().jitter_percent(), 50);
    /// ```
    #[must_use]
    pub fn jitter_percent(&self) -> u32 {
        self.jitter_percent
    }

    /// How long a connection must stay open to count as healthy.
    ///
    /// ```
    /// assert_eq!(ssekit::reconnect::ReconnectConfig::new().healthy_after().as_secs(), 5);
    /// ```
    #[must_use]
    pub fn healthy_after(&self) -> Duration {
        self.healthy_after
    }

    /// Whether a normal end of stream is the end.
    ///
    /// ```
    /// assert!(!ssekit::reconnect::ReconnectConfig::new().one_shot());
    /// ```
    #[must_use]
    pub fn one_shot(&self) -> bool {
        self.one_shot
    }

    /// The idle timeout, if any.
    ///
    /// ```
    /// assert_eq!(ssekit::reconnect::ReconnectConfig::new().idle_timeout(), None);
    /// ```
    #[must_use]
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// Whether `5xx`, `429` and `408` answers are retried.
    ///
    /// ```
    /// assert!(!ssekit::reconnect::ReconnectConfig::new().reconnect_on_server_error());
    /// ```
    #[must_use]
    pub fn reconnect_on_server_error(&self) -> bool {
        self.reconnect_on_server_error
    }

    /// The longest `retry:` honoured: a server asking for more waits this long. A hostile or
    /// broken server cannot park the client for years. Default: 1 hour.
    ///
    /// ```
    /// # use core::time::Duration;
    /// let c = ssekit::reconnect::ReconnectConfig::new().with_max_retry(Duration::from_secs(300));
    /// assert_eq!(c.max_retry().as_secs(), 300);
    /// ```
    #[must_use]
    pub fn with_max_retry(mut self, max: Duration) -> ReconnectConfig {
        self.max_retry = max;
        self
    }

    /// The cap on the server's `retry`.
    ///
    /// ```
    /// assert_eq!(ssekit::reconnect::ReconnectConfig::new().max_retry().as_secs(), 3600);
    /// ```
    #[must_use]
    pub fn max_retry(&self) -> Duration {
        self.max_retry
    }

    /// The jitter seed, if one was set.
    ///
    /// ```
    /// assert_eq!(ssekit::reconnect::ReconnectConfig::new().with_seed(7).seed(), Some(7));
    /// ```
    #[must_use]
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase<I> {
    /// Not connected: before the first connection, or waiting to reconnect.
    Closed,
    /// The stream is open.
    Open {
        since: I,
        last_activity: I,
        delivered: bool,
    },
    /// Stopped for good.
    Stopped(Stop),
}

/// The reconnection state machine. See the [module documentation](self).
///
/// ```
/// use core::time::Duration;
/// use ssekit::reconnect::{Action, Reconnect, ReconnectConfig};
///
/// let config = ReconnectConfig::new().with_jitter_percent(0).with_initial_retry(Duration::from_secs(1));
/// let mut policy = Reconnect::new(config);
/// let t = Duration::ZERO;
/// // The server is down: each refused connection waits twice as long.
/// let delays: Vec<_> = (0..4)
///     .map(|_| match policy.on_error(t) {
///         Action::Reconnect { delay, .. } => delay.as_secs(),
///         other => panic!("{other:?}"),
///     })
///     .collect();
/// assert_eq!(delays, [1, 2, 4, 8]);
/// ```
#[derive(Debug, Clone)]
pub struct Reconnect<I> {
    config: ReconnectConfig,
    phase: Phase<I>,
    retry: Duration,
    failures: u32,
    last_event_id: Option<EventId>,
    rng: u64,
}

impl<I: Instant> Reconnect<I> {
    /// A state machine with no connection yet: connect right away, then report what happened.
    ///
    /// ```
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig};
    /// let policy: Reconnect<std::time::Instant> = Reconnect::new(ReconnectConfig::new());
    /// assert_eq!(policy.last_event_id(), None);
    /// ```
    #[must_use]
    pub fn new(config: ReconnectConfig) -> Reconnect<I> {
        let rng = config.seed.unwrap_or_else(fresh_seed);
        Reconnect {
            retry: config.initial_retry,
            config,
            phase: Phase::Closed,
            failures: 0,
            last_event_id: None,
            rng,
        }
    }

    /// The settings it was made with.
    ///
    /// ```
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig};
    /// let policy: Reconnect<core::time::Duration> = Reconnect::new(ReconnectConfig::new().with_one_shot(true));
    /// assert!(policy.config().one_shot());
    /// ```
    #[must_use]
    pub fn config(&self) -> &ReconnectConfig {
        &self.config
    }

    /// The `Last-Event-ID` to send on the next connection, if any. Always a valid header value.
    ///
    /// ```
    /// use ssekit::{reconnect::{Reconnect, ReconnectConfig}, EventId};
    /// let mut policy: Reconnect<core::time::Duration> = Reconnect::new(ReconnectConfig::new());
    /// policy.set_last_event_id(&EventId::from_static("7"));
    /// assert_eq!(policy.last_event_id().map(|id| id.as_str()), Some("7"));
    /// ```
    #[must_use]
    pub fn last_event_id(&self) -> Option<&EventId> {
        self.last_event_id.as_ref()
    }

    /// With the `http-body` feature: [`last_event_id`](Self::last_event_id) as an
    /// `http::HeaderValue`, ready for the `Last-Event-ID` request header.
    ///
    /// Build it from bytes like this, not from a `&str`: ids may hold non-ASCII text, which
    /// header values allow as bytes but `HeaderValue::from_str` refuses.
    ///
    /// ```
    /// use ssekit::{reconnect::{Reconnect, ReconnectConfig}, EventId};
    /// let mut policy: Reconnect<core::time::Duration> = Reconnect::new(ReconnectConfig::new());
    /// policy.set_last_event_id(&EventId::from_static("but\u{e9}-7"));
    /// let value = policy.last_event_id_header().unwrap();
    /// assert_eq!(value.as_bytes(), "but\u{e9}-7".as_bytes());
    /// ```
    #[cfg(feature = "http-body")]
    #[must_use]
    pub fn last_event_id_header(&self) -> Option<http::HeaderValue> {
        let id = self.last_event_id.as_ref()?;
        // `set_last_event_id` only keeps ids without control characters or outer whitespace.
        http::HeaderValue::from_bytes(id.as_str().as_bytes()).ok()
    }

    /// Sets the last event ID: to resume from a stored position. (Ids the stream sets, id-only
    /// blocks included, reach the policy through [`on_item`](Self::on_item); copying one from
    /// a parser by hand is not needed, and from a parser new to the connection would be wrong.)
    ///
    /// Like a browser, the value is sent with leading and trailing spaces and tabs removed, and
    /// an empty one sends no header. An id that cannot be a header value at all (it holds a
    /// control character) is ignored and the previous one kept: a reconnect may then repeat
    /// events, but never skips any.
    ///
    /// ```
    /// use ssekit::{reconnect::{Reconnect, ReconnectConfig}, EventId};
    /// let mut policy: Reconnect<core::time::Duration> = Reconnect::new(ReconnectConfig::new());
    /// policy.set_last_event_id(&EventId::from_static(" 7\t"));
    /// assert_eq!(policy.last_event_id().unwrap(), "7");
    /// policy.set_last_event_id(&EventId::from_static("8\u{1}"));
    /// assert_eq!(policy.last_event_id().unwrap(), "7");
    /// policy.set_last_event_id(&EventId::EMPTY);
    /// assert_eq!(policy.last_event_id(), None);
    /// ```
    pub fn set_last_event_id(&mut self, id: &EventId) {
        let s = id.as_str();
        let trimmed = s.trim_matches(|c| c == ' ' || c == '\t');
        if trimmed
            .bytes()
            .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return;
        }
        if trimmed.is_empty() {
            self.last_event_id = None;
        } else if trimmed.len() == s.len() {
            self.last_event_id = Some(id.clone());
        } else {
            // A piece of a valid id is a valid id.
            self.last_event_id = EventId::try_from(alloc::string::String::from(trimmed)).ok();
        }
    }

    /// The reconnection time: the last `retry:` the server sent, or the initial one.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig};
    /// let mut policy: Reconnect<Duration> = Reconnect::new(ReconnectConfig::new());
    /// policy.on_retry(Duration::from_millis(250));
    /// assert_eq!(policy.retry(), Duration::from_millis(250));
    /// ```
    #[must_use]
    pub fn retry(&self) -> Duration {
        self.retry
    }

    /// Consecutive failed attempts so far (reset by a healthy connection).
    ///
    /// ```
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig};
    /// let mut policy = Reconnect::new(ReconnectConfig::new());
    /// let _ = policy.on_error(core::time::Duration::ZERO);
    /// assert_eq!(policy.failures(), 1);
    /// ```
    #[must_use]
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the stream is open (between a good [`on_open`](Self::on_open) and its end).
    ///
    /// ```
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig};
    /// let mut policy = Reconnect::new(ReconnectConfig::new());
    /// let _ = policy.on_open(core::time::Duration::ZERO, 200, Some(b"text/event-stream"));
    /// assert!(policy.is_open());
    /// ```
    #[must_use]
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }

    /// Why it stopped, once it has.
    ///
    /// ```
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig, Stop};
    /// let mut policy = Reconnect::new(ReconnectConfig::new());
    /// let _ = policy.on_open(core::time::Duration::ZERO, 404, None);
    /// assert_eq!(policy.stopped(), Some(Stop::Status(404)));
    /// ```
    #[must_use]
    pub fn stopped(&self) -> Option<Stop> {
        match self.phase {
            Phase::Stopped(stop) => Some(stop),
            _ => None,
        }
    }

    /// A response arrived: its status and `Content-Type` (`None` when absent).
    ///
    /// `200` with `text/event-stream` (parameters such as `charset` allowed, case ignored)
    /// opens the stream and answers [`Action::Read`]. `204` stops with [`Stop::NoContent`].
    /// Another content type stops with [`Stop::ContentType`] (which tells what it was); another status with
    /// [`Stop::Status`], unless [`ReconnectConfig::reconnect_on_server_error`] makes a `5xx`,
    /// `429` or `408` a failed attempt.
    ///
    /// ```
    /// use ssekit::reconnect::{Action, Reconnect, ReconnectConfig};
    /// let t = core::time::Duration::ZERO;
    /// let mut policy = Reconnect::new(ReconnectConfig::new());
    /// let Action::Stop(stop) = policy.on_open(t, 200, Some(b"text/html")) else { panic!() };
    /// assert_eq!(stop.to_string(), "the response's content type is text/html, not text/event-stream");
    /// let mut policy = Reconnect::new(ReconnectConfig::new());
    /// assert_eq!(
    ///     policy.on_open(t, 200, Some(b"Text/Event-Stream; charset=utf-8")),
    ///     Action::Read,
    /// );
    /// ```
    pub fn on_open(&mut self, now: I, status: u16, content_type: Option<&[u8]>) -> Action {
        if let Phase::Stopped(stop) = self.phase {
            return Action::Stop(stop);
        }
        match status {
            200 if content_type.is_some_and(is_event_stream) => {
                self.phase = Phase::Open {
                    since: now,
                    last_activity: now,
                    delivered: false,
                };
                Action::Read
            }
            200 => self.stop(Stop::ContentType(ContentType::new(content_type))),
            204 => self.stop(Stop::NoContent),
            408 | 429 | 500..=599 if self.config.reconnect_on_server_error => {
                self.phase = Phase::Closed;
                self.fail()
            }
            _ => self.stop(Stop::Status(status)),
        }
    }

    /// With the `http-body` feature: [`on_open`](Self::on_open) with the status and
    /// `Content-Type` of an `http` response.
    ///
    /// ```
    /// use ssekit::reconnect::{Action, Reconnect, ReconnectConfig};
    /// let response = http::Response::builder()
    ///     .header("content-type", "text/event-stream")
    ///     .body(())
    ///     .unwrap();
    /// let mut policy = Reconnect::new(ReconnectConfig::new());
    /// assert_eq!(policy.on_response(std::time::Instant::now(), &response), Action::Read);
    /// ```
    #[cfg(feature = "http-body")]
    pub fn on_response<B>(&mut self, now: I, response: &http::Response<B>) -> Action {
        let content_type = response.headers().get(http::header::CONTENT_TYPE);
        self.on_open(
            now,
            response.status().as_u16(),
            content_type.map(http::HeaderValue::as_bytes),
        )
    }

    /// Reports one parser item: a message (its last event ID is kept, the connection counts as
    /// healthy), a change of the last event ID by an id-only block (kept), a `retry:` (the new
    /// reconnection time), or a comment (activity only). Every item goes here, so the last event
    /// ID never has to be copied from the parser by hand.
    ///
    /// ```
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig};
    /// use ssekit::Parser;
    /// let mut parser = Parser::new();
    /// parser.feed(bytes::Bytes::from_static(b"id: 9\ndata: x\n\nretry: 70\n\nid: 10\n\n"));
    /// let mut policy = Reconnect::new(ReconnectConfig::new());
    /// for item in parser {
    ///     policy.on_item(core::time::Duration::ZERO, &item.unwrap());
    /// }
    /// assert_eq!(policy.last_event_id().unwrap(), "10"); // from the id-only block
    /// assert_eq!(policy.retry().as_millis(), 70);
    /// ```
    pub fn on_item(&mut self, now: I, item: &Item) {
        match item {
            Item::Message(m) => self.on_message(now, m),
            Item::Retry(d) => {
                self.on_activity(now);
                self.on_retry(*d);
            }
            Item::Comment(_) => self.on_activity(now),
            Item::LastEventId(id) => {
                self.on_activity(now);
                self.set_last_event_id(id);
            }
        }
    }

    /// [`on_item`](Self::on_item) for an item parsed from bytes whose arrival was already
    /// reported ([`on_activity`](Self::on_activity)): the same, without a time of its own.
    #[inline]
    pub(crate) fn on_parsed(&mut self, item: &Item) {
        match item {
            Item::Message(m) => {
                if let Phase::Open { delivered, .. } = &mut self.phase {
                    *delivered = true;
                }
                if m.has_own_id() && self.last_event_id.as_ref() != Some(m.last_event_id()) {
                    self.set_last_event_id(m.last_event_id());
                }
            }
            Item::Retry(d) => self.on_retry(*d),
            Item::Comment(_) => {}
            Item::LastEventId(id) => self.set_last_event_id(id),
        }
    }

    /// Reports a message: keeps the id its block set, if it set one, and marks the connection
    /// healthy. A message without an `id:` of its own leaves the last event ID as it was, so a
    /// fresh parser on each connection is fine.
    ///
    /// ```
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig};
    /// use ssekit::{EventId, EventType, MessageEvent, Text};
    /// let mut policy = Reconnect::new(ReconnectConfig::new());
    /// let m = MessageEvent::new(Text::from_static("x"), EventType::MESSAGE, EventId::from_static("3"));
    /// policy.on_message(core::time::Duration::ZERO, &m);
    /// assert_eq!(policy.last_event_id().unwrap(), "3");
    /// ```
    pub fn on_message(&mut self, now: I, message: &MessageEvent) {
        self.on_activity(now);
        if let Phase::Open { delivered, .. } = &mut self.phase {
            *delivered = true;
        }
        // Only an id of the message's own block is news: an inherited one is what this policy
        // already holds, unless the parser is new to this connection and knows nothing of the
        // ids before it (then it would wrongly say "none").
        if message.has_own_id() && self.last_event_id.as_ref() != Some(message.last_event_id()) {
            self.set_last_event_id(message.last_event_id());
        }
    }

    /// Reports a `retry:` value (capped by [`ReconnectConfig::max_retry`]).
    ///
    /// ```
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig};
    /// let mut policy: Reconnect<core::time::Duration> = Reconnect::new(ReconnectConfig::new());
    /// policy.on_retry(core::time::Duration::from_secs(9));
    /// assert_eq!(policy.retry().as_secs(), 9);
    /// ```
    pub fn on_retry(&mut self, retry: Duration) {
        self.retry = retry.min(self.config.max_retry);
    }

    /// Reports that something arrived (bytes, a comment): restarts the idle timeout.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig};
    /// let config = ReconnectConfig::new().with_idle_timeout(Some(Duration::from_secs(10)));
    /// let mut policy = Reconnect::new(config);
    /// let _ = policy.on_open(Duration::ZERO, 200, Some(b"text/event-stream"));
    /// policy.on_activity(Duration::from_secs(4));
    /// assert_eq!(policy.deadline(), Some(Duration::from_secs(14)));
    /// ```
    pub fn on_activity(&mut self, now: I) {
        if let Phase::Open { last_activity, .. } = &mut self.phase {
            *last_activity = (*last_activity).max(now);
        }
    }

    /// When the idle timeout expires, if one is set and the stream is open: call
    /// [`on_tick`](Self::on_tick) then (or any time before).
    ///
    /// ```
    /// use ssekit::reconnect::{Reconnect, ReconnectConfig};
    /// let policy: Reconnect<core::time::Duration> = Reconnect::new(ReconnectConfig::new());
    /// assert_eq!(policy.deadline(), None);
    /// ```
    #[must_use]
    pub fn deadline(&self) -> Option<I> {
        match (self.phase, self.config.idle_timeout) {
            (Phase::Open { last_activity, .. }, Some(timeout)) => Some(last_activity.add(timeout)),
            _ => None,
        }
    }

    /// Time passed. If the open connection has been silent for the idle timeout, it is dead:
    /// this answers the reconnect (or stop) to perform, after dropping the connection. Otherwise
    /// `None`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit::reconnect::{Action, Reconnect, ReconnectConfig};
    /// let config = ReconnectConfig::new().with_idle_timeout(Some(Duration::from_secs(10)));
    /// let mut policy = Reconnect::new(config);
    /// let _ = policy.on_open(Duration::ZERO, 200, Some(b"text/event-stream"));
    /// assert_eq!(policy.on_tick(Duration::from_secs(9)), None);
    /// assert!(matches!(policy.on_tick(Duration::from_secs(10)), Some(Action::Reconnect { .. })));
    /// ```
    pub fn on_tick(&mut self, now: I) -> Option<Action> {
        let deadline = self.deadline()?;
        (now >= deadline).then(|| self.on_error(now))
    }

    /// The stream ended normally. A one-shot stream stops with [`Stop::Finished`]; any other
    /// reconnects, as the standard says.
    ///
    /// ```
    /// use ssekit::reconnect::{Action, Reconnect, ReconnectConfig};
    /// let t = core::time::Duration::ZERO;
    /// let mut policy = Reconnect::new(ReconnectConfig::new());
    /// let _ = policy.on_open(t, 200, Some(b"text/event-stream"));
    /// assert!(matches!(policy.on_end(t), Action::Reconnect { .. }));
    /// ```
    pub fn on_end(&mut self, now: I) -> Action {
        match self.phase {
            Phase::Stopped(stop) => Action::Stop(stop),
            Phase::Open { .. } if self.config.one_shot => self.stop(Stop::Finished),
            _ => self.on_error(now),
        }
    }

    /// The connection failed: it could not be made, or it broke (a transport error, the idle
    /// timeout). Answers the reconnect with its backoff delay, or [`Stop::GaveUp`].
    ///
    /// ```
    /// use ssekit::reconnect::{Action, Reconnect, ReconnectConfig, Stop};
    /// let t = core::time::Duration::ZERO;
    /// let mut policy = Reconnect::new(ReconnectConfig::new().with_max_attempts(Some(1)));
    /// assert!(matches!(policy.on_error(t), Action::Reconnect { .. }));
    /// assert_eq!(policy.on_error(t), Action::Stop(Stop::GaveUp { failures: 2 }));
    /// ```
    pub fn on_error(&mut self, now: I) -> Action {
        match self.phase {
            Phase::Stopped(stop) => return Action::Stop(stop),
            Phase::Open {
                since, delivered, ..
            } => {
                if delivered || now.saturating_since(since) >= self.config.healthy_after {
                    self.failures = 0;
                }
            }
            Phase::Closed => {}
        }
        self.phase = Phase::Closed;
        self.fail()
    }

    fn fail(&mut self) -> Action {
        self.failures = self.failures.saturating_add(1);
        if let Some(max) = self.config.max_attempts {
            if self.failures > max {
                return self.stop(Stop::GaveUp {
                    failures: self.failures,
                });
            }
        }
        Action::Reconnect {
            delay: self.delay(),
            last_event_id: self.last_event_id.clone(),
        }
    }

    fn delay(&mut self) -> Duration {
        // The first reconnect waits the server's retry, as the standard says. Failures after
        // it double from there (from MIN_BACKOFF_UNIT at least, so that `retry: 0` cannot
        // make a server that is down a target of reconnects in a tight loop), capped, and
        // never below the server's retry.
        let base = if self.failures <= 1 {
            self.retry
        } else {
            let doublings = (self.failures - 1).min(31);
            let unit = self.retry.max(MIN_BACKOFF_UNIT);
            unit.saturating_mul(1 << doublings)
                .min(self.config.max_delay)
                .max(self.retry)
        };
        if self.config.jitter_percent == 0 {
            return base;
        }
        let base_nanos = base.as_nanos();
        let span = base_nanos / 100 * u128::from(self.config.jitter_percent);
        let span = u64::try_from(span).unwrap_or(u64::MAX);
        let extra = if span == 0 {
            0
        } else {
            self.next_random() % span.saturating_add(1).max(1)
        };
        base.saturating_add(Duration::from_nanos(extra))
    }

    fn stop(&mut self, stop: Stop) -> Action {
        self.phase = Phase::Stopped(stop);
        Action::Stop(stop)
    }

    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.rng)
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(feature = "std")]
fn fresh_seed() -> u64 {
    use core::hash::{BuildHasher, Hasher};
    // Each `RandomState` has keys from the OS's randomness (per thread, then incremented).
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    hasher.finish()
}

#[cfg(not(feature = "std"))]
fn fresh_seed() -> u64 {
    use core::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    mix(COUNTER.fetch_add(1, Ordering::Relaxed) as u64 ^ 0x5eed)
}
