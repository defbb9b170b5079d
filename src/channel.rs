//! Broadcast channels of events: publish an [`Event`] once, and every subscriber gets it,
//! resumes exactly after a drop with `Last-Event-ID`, and is told when it cannot (feature
//! `channel`).
//!
//! A [`Channel`] is one ordered log of events with ids it assigns, [`Seq`]s written
//! `<epoch>-<offset>`: the epoch is when the log began (milliseconds since the Unix epoch),
//! the offset counts from 0 without holes (for the ids it assigns). So a client (or [`crate::sequence::Sequence`]) can
//! tell a gap by arithmetic, and a server restarted with an empty log (a new epoch) is never
//! taken for the same history.
//!
//! - **Encoded once.** Each event is encoded at publish; subscribers share the bytes.
//! - **Topics** are filters on the one log: a subscription to some topics gets only their
//!   events, in log order, and resumes all of them with one id. (Browsers allow six HTTP/1.1
//!   connections per host; one stream per topic does not scale for a page.) Only the server
//!   makes topics ([`Channel::topic`]); a client's topic names are looked up
//!   ([`Channel::find_topic`]), never created.
//! - **Bounded**: the history by events and by bytes, each event by size
//!   ([`PublishError::TooLarge`]), the number of subscribers ([`SubscribeError::Full`], a
//!   `503` with `Retry-After`), and the time a subscriber may leave an event untaken (the send
//!   timeout: it is dropped, and resumes from the history when it reconnects).
//! - **Gaps are said, never silent.** A subscriber whose id is older than the history, from
//!   another epoch or unknown, or who falls behind the history, gets a control event (type
//!   [`ChannelConfig::gap_event`], `gap` by default) whose data says why and where the stream
//!   resumes. Publishers cannot send that type ([`PublishError::Reserved`]).
//! - **Graceful shutdown**: [`Channel::shutdown`] sends every subscriber a `retry:` saying when
//!   to come back, and ends their streams.
//!
//! A gap event's data is `{"reason":…,"last_event_id":…,"resumes_at":…}`: the client's id
//! (when it is one of the form `<epoch>-<offset>`; `null` otherwise) and the id the stream
//! goes on with (`null`: with the next event published). The reasons:
//!
//! | reason | when |
//! |---|---|
//! | `unknown_id` | the id is not of the channel's form, was never issued here, or is ahead of the newest (without a store or [`ChannelConfig::with_wait_for_ahead`]): the stream goes on live |
//! | `new_history` | the id is from an earlier epoch, or the log started again (a new epoch) while it was subscribed |
//! | `history_too_short` | the id is older than the history, and there is no store |
//! | `lagged` | it fell behind the history, and there is no store |
//! | `trimmed` | the store no longer holds the id, or the log skipped offsets (trimmed before this instance read them) |
//! | `store_unavailable` | the store failed while filling in |
//!
//! ```
//! use futures_util::StreamExt;
//! use ssekit::channel::{Channel, ChannelConfig};
//! use ssekit::Event;
//!
//! # futures_executor::block_on(async {
//! let channel = Channel::new(ChannelConfig::new().with_epoch(1_700_000_000_000));
//! let kickoff = channel.publish(Event::new("kick-off"))?;
//! assert_eq!(kickoff.to_string(), "1700000000000-0");
//! channel.publish(Event::builder().event("goal").data("1-0").build()?)?;
//!
//! // A browser that saw the kick-off comes back with `Last-Event-ID: 1700000000000-0`.
//! let mut stream = channel.subscribe(Some("1700000000000-0"))?;
//! let frame = stream.next().await.unwrap();
//! assert_eq!(frame.as_bytes(), "event: goal\nid: 1700000000000-1\ndata: 1-0\n\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! A subscription is a `Stream` of [`Encoded`] frames; [`Subscription::into_body`] (features
//! `tokio` and `http-body`) makes it a response body with keep-alives in one call, and with
//! `axum` it is an `IntoResponse`:
//!
//! ```
//! # #[cfg(all(feature = "axum", feature = "tokio"))] {
//! use axum::{extract::State, response::IntoResponse};
//! use ssekit::body::LastEventId;
//! use ssekit::channel::Channel;
//!
//! async fn events(State(channel): State<Channel>, LastEventId(id): LastEventId) -> impl IntoResponse {
//!     // A full channel answers `503 Service Unavailable` with `Retry-After`.
//!     channel.subscribe(id.as_deref())
//! }
//! let app: axum::Router = axum::Router::new()
//!     .route("/events", axum::routing::get(events))
//!     .with_state(Channel::default());
//! # drop(app); }
//! ```

use std::boxed::Box;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::format;
use std::future::Future;
use std::pin::Pin;
use std::string::{String, ToString};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};
use std::vec::Vec;

use futures_core::Stream;

use crate::encode::Encoded;
use crate::event::Event;
use crate::field::{EventId, EventType};
use crate::hub::{self, Cursor, Delivery, Hub, HubConfig, Position};

/// An event id of a [`Channel`]: `<epoch>-<offset>`, ordered as numbers (epoch first).
///
/// ```
/// use ssekit::channel::Seq;
/// let id: Seq = "1700000000000-41".parse()?;
/// assert_eq!((id.epoch(), id.offset()), (1_700_000_000_000, 41));
/// assert!(id < Seq::new(1_700_000_000_000, 100)); // not compared as text
/// assert_eq!(id.next().to_string(), "1700000000000-42");
/// # Ok::<(), ssekit::channel::ParseSeqError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seq {
    epoch: u64,
    offset: u64,
}

impl Seq {
    /// The id at `offset` in the log begun at `epoch`.
    ///
    /// ```
    /// assert_eq!(ssekit::channel::Seq::new(7, 0).to_string(), "7-0");
    /// ```
    #[must_use]
    pub const fn new(epoch: u64, offset: u64) -> Seq {
        Seq { epoch, offset }
    }

    /// When its log began, in milliseconds since the Unix epoch (for ids the channel assigns).
    ///
    /// ```
    /// assert_eq!(ssekit::channel::Seq::new(7, 3).epoch(), 7);
    /// ```
    #[must_use]
    pub const fn epoch(self) -> u64 {
        self.epoch
    }

    /// Its place in its log, from 0.
    ///
    /// ```
    /// assert_eq!(ssekit::channel::Seq::new(7, 3).offset(), 3);
    /// ```
    #[must_use]
    pub const fn offset(self) -> u64 {
        self.offset
    }

    /// The id after it in the same log.
    ///
    /// ```
    /// assert_eq!(ssekit::channel::Seq::new(7, 3).next(), ssekit::channel::Seq::new(7, 4));
    /// ```
    #[must_use]
    pub const fn next(self) -> Seq {
        Seq {
            epoch: self.epoch,
            offset: self.offset.saturating_add(1),
        }
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.epoch, self.offset)
    }
}

/// A text that is not a [`Seq`]: not two runs of ASCII digits joined by `-`, each within
/// `u64`. It carries nothing of the text (which came from a client).
///
/// ```
/// assert!("12-x".parse::<ssekit::channel::Seq>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseSeqError;

impl fmt::Display for ParseSeqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an event id of the form <epoch>-<offset>")
    }
}

impl std::error::Error for ParseSeqError {}

impl std::str::FromStr for Seq {
    type Err = ParseSeqError;

    fn from_str(s: &str) -> Result<Seq, ParseSeqError> {
        let (epoch, offset) = s.split_once('-').ok_or(ParseSeqError)?;
        let number = |s: &str| {
            if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseSeqError);
            }
            s.parse::<u64>().map_err(|_| ParseSeqError)
        };
        Ok(Seq {
            epoch: number(epoch)?,
            offset: number(offset)?,
        })
    }
}

/// Settings for a [`Channel`]. The defaults are safe for a public endpoint; raise what your
/// traffic needs.
///
/// ```
/// use std::time::Duration;
/// use ssekit::channel::ChannelConfig;
/// let config = ChannelConfig::new()
///     .with_history_events(1_000)
///     .with_history_bytes(4 << 20)
///     .with_max_event_bytes(64 << 10)
///     .with_max_subscribers(20_000)
///     .with_send_timeout(Duration::from_secs(10))
///     .with_retry(Some(Duration::from_secs(2)));
/// assert_eq!(config.max_event_bytes(), 64 << 10);
/// ```
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    history_events: usize,
    history_bytes: usize,
    max_event_bytes: usize,
    max_subscribers: usize,
    send_timeout: Duration,
    keep_alive: Duration,
    retry: Option<Duration>,
    retry_after: Duration,
    gap_event: EventType,
    epoch: Option<u64>,
    replay: usize,
    wait_for_ahead: bool,
    max_topics: usize,
}

impl Default for ChannelConfig {
    fn default() -> ChannelConfig {
        ChannelConfig::new()
    }
}

impl ChannelConfig {
    /// The defaults: a history of 10,000 events and 16 MiB, events up to 1 MiB encoded,
    /// 10,000 subscribers of at most 32 topics each, a send timeout of 30 s, keep-alives every
    /// 15 s, no `retry:` sent, `Retry-After: 5` when full, gap events of type `gap`, the epoch
    /// taken from the clock, no replay to new subscribers, ids ahead of the newest not
    /// waited for.
    ///
    /// ```
    /// let c = ssekit::channel::ChannelConfig::new();
    /// assert_eq!(c.keep_alive(), std::time::Duration::from_secs(15));
    /// ```
    #[must_use]
    pub fn new() -> ChannelConfig {
        ChannelConfig {
            history_events: 10_000,
            history_bytes: 16 << 20,
            max_event_bytes: 1 << 20,
            max_subscribers: 10_000,
            send_timeout: Duration::from_secs(30),
            keep_alive: Duration::from_secs(15),
            retry: None,
            retry_after: Duration::from_secs(5),
            gap_event: EventType::from_static("gap"),
            epoch: None,
            replay: 0,
            wait_for_ahead: false,
            max_topics: 32,
        }
    }

    /// How many events the history keeps (at least 1).
    ///
    /// ```
    /// let c = ssekit::channel::ChannelConfig::new().with_history_events(0);
    /// assert_eq!(c.history_events(), 1);
    /// ```
    #[must_use]
    pub fn with_history_events(mut self, n: usize) -> ChannelConfig {
        self.history_events = n.max(1);
        self
    }

    /// How many bytes the history keeps (encoded events, plus a few dozen bytes each).
    ///
    /// ```
    /// let c = ssekit::channel::ChannelConfig::new().with_history_bytes(1 << 20);
    /// assert_eq!(c.history_bytes(), 1 << 20);
    /// ```
    #[must_use]
    pub fn with_history_bytes(mut self, bytes: usize) -> ChannelConfig {
        self.history_bytes = bytes;
        self
    }

    /// The largest event taken, encoded (with its `id:` line); larger ones are refused with
    /// [`PublishError::TooLarge`]. At most the history's bytes.
    ///
    /// ```
    /// let c = ssekit::channel::ChannelConfig::new().with_max_event_bytes(4096);
    /// assert_eq!(c.max_event_bytes(), 4096);
    /// ```
    #[must_use]
    pub fn with_max_event_bytes(mut self, bytes: usize) -> ChannelConfig {
        self.max_event_bytes = bytes;
        self
    }

    /// The largest event taken, encoded.
    ///
    /// ```
    /// assert_eq!(ssekit::channel::ChannelConfig::new().max_event_bytes(), 1 << 20);
    /// ```
    #[must_use]
    pub fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    /// At most this many subscribers at once; beyond, [`SubscribeError::Full`].
    ///
    /// ```
    /// let c = ssekit::channel::ChannelConfig::new().with_max_subscribers(100);
    /// assert_eq!(c.max_subscribers(), 100);
    /// ```
    #[must_use]
    pub fn with_max_subscribers(mut self, n: usize) -> ChannelConfig {
        self.max_subscribers = n;
        self
    }

    /// A subscriber that leaves an event untaken this long is dropped, however few events
    /// wait for it (its stream ends; it resumes from the history when it reconnects).
    /// Checked by publishes (at most every eighth of it, so a subscriber goes within 9/8 of
    /// it) and by [`Channel::evict_lagging`], which a server runs on a timer for the times
    /// nothing is published (`ssekit-redis` does).
    ///
    /// ```
    /// let c = ssekit::channel::ChannelConfig::new().with_send_timeout(std::time::Duration::from_secs(5));
    /// assert_eq!(c.send_timeout().as_secs(), 5);
    /// ```
    #[must_use]
    pub fn with_send_timeout(mut self, timeout: Duration) -> ChannelConfig {
        self.send_timeout = timeout;
        self
    }

    /// The keep-alive interval of [`Subscription::into_body`] (15 s, as axum's, by default:
    /// below the idle timeouts of common proxies).
    ///
    /// ```
    /// let c = ssekit::channel::ChannelConfig::new().with_keep_alive(std::time::Duration::from_secs(20));
    /// assert_eq!(c.keep_alive().as_secs(), 20);
    /// ```
    #[must_use]
    pub fn with_keep_alive(mut self, interval: Duration) -> ChannelConfig {
        self.keep_alive = interval;
        self
    }

    /// The keep-alive interval.
    ///
    /// ```
    /// assert_eq!(ssekit::channel::ChannelConfig::new().keep_alive().as_secs(), 15);
    /// ```
    #[must_use]
    pub fn keep_alive(&self) -> Duration {
        self.keep_alive
    }

    /// A `retry:` sent at the start of every subscription (how long a client waits before
    /// reconnecting), if any.
    ///
    /// ```
    /// let c = ssekit::channel::ChannelConfig::new().with_retry(Some(std::time::Duration::from_secs(1)));
    /// assert_eq!(c.retry(), Some(std::time::Duration::from_secs(1)));
    /// ```
    #[must_use]
    pub fn with_retry(mut self, retry: Option<Duration>) -> ChannelConfig {
        self.retry = retry;
        self
    }

    /// The `Retry-After` of a full channel ([`SubscribeError::Full`]).
    ///
    /// ```
    /// let c = ssekit::channel::ChannelConfig::new().with_retry_after(std::time::Duration::from_secs(30));
    /// assert_eq!(c.retry_after().as_secs(), 30);
    /// ```
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> ChannelConfig {
        self.retry_after = after;
        self
    }

    /// The type of the gap events the channel sends (`gap` by default); publishing an event
    /// of this type is refused.
    ///
    /// ```
    /// use ssekit::EventType;
    /// let c = ssekit::channel::ChannelConfig::new().with_gap_event(EventType::try_from("ssekit-gap")?);
    /// assert_eq!(c.gap_event(), "ssekit-gap");
    /// # Ok::<(), ssekit::error::EventError>(())
    /// ```
    #[must_use]
    pub fn with_gap_event(mut self, event_type: EventType) -> ChannelConfig {
        self.gap_event = event_type;
        self
    }

    /// The type of gap events.
    ///
    /// ```
    /// assert_eq!(ssekit::channel::ChannelConfig::new().gap_event(), "gap");
    /// ```
    #[must_use]
    pub fn gap_event(&self) -> &str {
        self.gap_event.as_str()
    }

    /// A new subscriber (no `Last-Event-ID`) first gets the events of its topics among the
    /// last `n` published (a scoreboard replays the match so far, a chat its last lines);
    /// `0` (the default): only what is published from now on.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssekit::channel::{Channel, ChannelConfig};
    /// # futures_executor::block_on(async {
    /// let channel = Channel::new(ChannelConfig::new().with_epoch(1).with_replay_to_new(2));
    /// for text in ["a", "b", "c"] {
    ///     channel.publish(ssekit::Event::new(text)).unwrap();
    /// }
    /// let mut new = channel.subscribe(None).unwrap();
    /// assert_eq!(new.next().await.unwrap().as_bytes(), "id: 1-1\ndata: b\n\n");
    /// # });
    /// ```
    #[must_use]
    pub fn with_replay_to_new(mut self, n: usize) -> ChannelConfig {
        self.replay = n;
        self
    }

    /// What a subscriber whose id is ahead of the newest event (in this epoch) gets: by
    /// default a gap event and the stream from now on, as the id was never issued here. With
    /// `true` it waits for the events after that id instead, as it should when the log is
    /// written elsewhere too (several instances behind one store: another one published it
    /// first) or is replayed with the same ids after a restart.
    ///
    /// ```
    /// let c = ssekit::channel::ChannelConfig::new().with_wait_for_ahead(true);
    /// assert!(c.waits_for_ahead());
    /// ```
    #[must_use]
    pub fn with_wait_for_ahead(mut self, wait: bool) -> ChannelConfig {
        self.wait_for_ahead = wait;
        self
    }

    /// The most topics one subscription may name (32 by default): a subscription costs memory
    /// and work per topic, and clients choose them.
    ///
    /// ```
    /// use ssekit::channel::{Channel, ChannelConfig, SubscribeError};
    /// let channel = Channel::new(ChannelConfig::new().with_max_topics_per_subscription(1));
    /// let (a, b) = (channel.topic("a"), channel.topic("b"));
    /// let err = channel.subscribe_to([&a, &b], None).unwrap_err();
    /// assert_eq!(err, SubscribeError::TooManyTopics { max: 1 });
    /// ```
    #[must_use]
    pub fn with_max_topics_per_subscription(mut self, n: usize) -> ChannelConfig {
        self.max_topics = n;
        self
    }

    /// The epoch of the ids, instead of the clock's milliseconds: a server that keeps its log
    /// elsewhere and starts again from it passes its epoch; tests pass a fixed one.
    ///
    /// ```
    /// let c = ssekit::channel::Channel::new(ssekit::channel::ChannelConfig::new().with_epoch(42));
    /// assert_eq!(c.epoch(), 42);
    /// ```
    #[must_use]
    pub fn with_epoch(mut self, epoch: u64) -> ChannelConfig {
        self.epoch = Some(epoch);
        self
    }
}

/// What the settings are; see the methods that set them.
///
/// ```
/// use std::time::Duration;
/// let c = ssekit::channel::ChannelConfig::new();
/// assert_eq!((c.history_events(), c.history_bytes()), (10_000, 16 << 20));
/// assert_eq!((c.max_subscribers(), c.max_topics_per_subscription()), (10_000, 32));
/// assert_eq!((c.send_timeout(), c.retry_after()), (Duration::from_secs(30), Duration::from_secs(5)));
/// assert_eq!((c.retry(), c.replay_to_new(), c.waits_for_ahead(), c.epoch()), (None, 0, false, None));
/// ```
impl ChannelConfig {
    /// How many events the history keeps.
    #[must_use]
    pub fn history_events(&self) -> usize {
        self.history_events
    }

    /// How many bytes the history keeps.
    #[must_use]
    pub fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    /// The most subscribers at once.
    #[must_use]
    pub fn max_subscribers(&self) -> usize {
        self.max_subscribers
    }

    /// The send timeout.
    #[must_use]
    pub fn send_timeout(&self) -> Duration {
        self.send_timeout
    }

    /// The `retry:` sent at the start of every subscription, if any.
    #[must_use]
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The `Retry-After` of a full channel.
    #[must_use]
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// How many of the newest events a new subscriber is replayed.
    #[must_use]
    pub fn replay_to_new(&self) -> usize {
        self.replay
    }

    /// Whether an id ahead of the newest waits.
    #[must_use]
    pub fn waits_for_ahead(&self) -> bool {
        self.wait_for_ahead
    }

    /// The most topics one subscription may name.
    #[must_use]
    pub fn max_topics_per_subscription(&self) -> usize {
        self.max_topics
    }

    /// The epoch given, if any (else the clock's, taken when the channel is made).
    #[must_use]
    pub fn epoch(&self) -> Option<u64> {
        self.epoch
    }
}

/// [`Channel::publish`] refused an event; nothing was published.
///
/// ```
/// use ssekit::channel::{Channel, PublishError};
/// use ssekit::Event;
/// let channel = Channel::default();
/// let forged = Event::builder().event("gap").data("{}").build().unwrap();
/// assert!(matches!(channel.publish(forged), Err(PublishError::Reserved)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The event has an id; the channel assigns them ([`Channel::publish_with_id`] takes one).
    HasId,
    /// The event's type is the channel's gap event type, which only the channel sends.
    Reserved,
    /// The event, encoded, is larger than [`ChannelConfig::max_event_bytes`].
    TooLarge {
        /// Its encoded length (its data's, when that alone is over the limit: it is refused
        /// without being encoded).
        size: usize,
        /// The largest taken.
        max: usize,
    },
    /// An id given to [`Channel::publish_with_id`] is not after the newest.
    NotAfterHead {
        /// The newest id.
        head: Seq,
    },
    /// The channel was shut down.
    Closed,
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::HasId => f.write_str("the event has an id; the channel assigns ids"),
            PublishError::Reserved => f.write_str("the event's type is reserved for gap events"),
            PublishError::TooLarge { size, max } => {
                write!(f, "the event is larger than {max} bytes ({size})")
            }
            PublishError::NotAfterHead { head } => {
                write!(f, "the id is not after the newest one ({head})")
            }
            PublishError::Closed => f.write_str("the channel was shut down"),
        }
    }
}

impl std::error::Error for PublishError {}

/// [`Channel::subscribe`] refused a subscriber.
///
/// ```
/// use ssekit::channel::{Channel, ChannelConfig, SubscribeError};
/// let channel = Channel::new(ChannelConfig::new().with_max_subscribers(0));
/// let err = channel.subscribe(None).unwrap_err();
/// assert!(matches!(err, SubscribeError::Full { max: 0, .. }));
/// assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscribeError {
    /// [`ChannelConfig::max_subscribers`] are subscribed: answer `503 Service Unavailable`
    /// with `Retry-After` ([`SubscribeError::into_http_response`] does).
    Full {
        /// The cap.
        max: usize,
        /// When to try again ([`ChannelConfig::retry_after`]).
        retry_after: Duration,
    },
    /// More topics than [`ChannelConfig::max_topics_per_subscription`]: a client error
    /// (`400`, not to be retried as it is).
    TooManyTopics {
        /// The most allowed.
        max: usize,
    },
}

impl SubscribeError {
    /// When the client should try again, if it should.
    ///
    /// ```
    /// use ssekit::channel::SubscribeError;
    /// let e = SubscribeError::Full { max: 1, retry_after: std::time::Duration::from_secs(9) };
    /// assert_eq!(e.retry_after().unwrap().as_secs(), 9);
    /// ```
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SubscribeError::Full { retry_after, .. } => Some(*retry_after),
            SubscribeError::TooManyTopics { .. } => None,
        }
    }

    /// The response to send, with an empty body (feature `http-body`): for
    /// [`Full`](Self::Full), `503 Service Unavailable` with `Retry-After` in whole seconds (at
    /// least 1); for [`TooManyTopics`](Self::TooManyTopics), `400 Bad Request`.
    ///
    /// ```
    /// use ssekit::channel::SubscribeError;
    /// let e = SubscribeError::Full { max: 1, retry_after: std::time::Duration::from_millis(2500) };
    /// let response: http::Response<()> = e.into_http_response();
    /// assert_eq!(response.status(), 503);
    /// assert_eq!(response.headers()["retry-after"], "3");
    /// ```
    #[cfg(feature = "http-body")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http-body")))]
    #[must_use]
    pub fn into_http_response<B: Default>(self) -> http::Response<B> {
        let mut response = http::Response::new(B::default());
        *response.status_mut() = match self {
            SubscribeError::Full { .. } => http::StatusCode::SERVICE_UNAVAILABLE,
            SubscribeError::TooManyTopics { .. } => http::StatusCode::BAD_REQUEST,
        };
        if let Some(after) = self.retry_after() {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(secs.max(1)),
            );
        }
        response
    }
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscribeError::Full { max, .. } => {
                write!(f, "the channel is full ({max} subscribers)")
            }
            SubscribeError::TooManyTopics { max } => {
                write!(f, "more topics than a subscription may name ({max})")
            }
        }
    }
}

impl std::error::Error for SubscribeError {}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for SubscribeError {
    fn into_response(self) -> axum_core::response::Response {
        self.into_http_response::<axum_core::body::Body>()
    }
}

/// A topic of a [`Channel`]: a name the server made with [`Channel::topic`].
///
/// ```
/// let channel = ssekit::channel::Channel::default();
/// let scores = channel.topic("scores");
/// assert_eq!(scores.name(), "scores");
/// assert_eq!(channel.find_topic("scores"), Some(scores));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Topic {
    id: u32,
    name: Arc<str>,
}

impl Topic {
    /// Its name.
    ///
    /// ```
    /// assert_eq!(ssekit::channel::Channel::default().topic("a").name(), "a");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Topic").field(&self.name).finish()
    }
}

/// An event as a [`Store`] holds it: its id, its topic's name (`""` for the default topic)
/// and the event (without its id).
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its id in the log.
    pub id: Seq,
    /// The name of its topic; `""` for the default.
    pub topic: String,
    /// The event, without an `id`.
    pub event: Event,
}

/// An answer of [`Store::after`].
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Whether the store still holds the id asked after. A store that no longer does cannot
    /// say what came between it and its first event: the subscriber is told of a gap.
    pub anchor: bool,
    /// The events after that id, oldest first; empty at the end of the log.
    pub events: Vec<Stored>,
}

/// A [`Store`] could not answer.
///
/// ```
/// let e = ssekit::channel::StoreError::new("connection refused");
/// assert_eq!(e.to_string(), "the store failed: connection refused");
/// ```
#[derive(Debug)]
pub struct StoreError(Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    /// Wraps the store's own error.
    ///
    /// ```
    /// let e = ssekit::channel::StoreError::new(std::io::Error::other("down"));
    /// # drop(e);
    /// ```
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError(error.into())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the store failed: {}", self.0)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// What [`Store::after`] returns: a future of a page.
pub type PageFuture = Pin<Box<dyn Future<Output = Result<Page, StoreError>> + Send + 'static>>;

/// Where a [`Channel`] fetches what its history no longer holds: the log kept elsewhere (a
/// Redis stream, a database), written by this instance and others. Without one, the channel's
/// history is its memory.
///
/// With a store, a subscriber whose id is older than the history gets the events between from
/// it, then the history; one that falls behind the history is caught up from it; an id ahead
/// of this instance waits (another instance published it first). Publishers write to the store,
/// and each instance feeds what it reads from the store to its channel with
/// [`Channel::publish_with_id`].
///
/// ```
/// use ssekit::channel::{Page, PageFuture, Seq, Store, Stored};
/// use std::sync::{Arc, Mutex};
///
/// /// A store in memory: every event ever published.
/// struct Memory(Arc<Mutex<Vec<Stored>>>);
///
/// impl Store for Memory {
///     fn after(&self, after: Option<Seq>, limit: usize) -> PageFuture {
///         let log = self.0.lock().unwrap();
///         let page = Page {
///             anchor: after.is_none_or(|after| log.iter().any(|e| e.id == after)),
///             events: log.iter().filter(|e| Some(e.id) > after).take(limit).cloned().collect(),
///         };
///         Box::pin(std::future::ready(Ok(page)))
///     }
/// }
/// # let _ = Memory(Arc::default());
/// ```
pub trait Store: Send + Sync + 'static {
    /// Up to `limit` events after `after` (`None`: from the start of the log), oldest first,
    /// and whether `after` is still held (`true` for `None`).
    fn after(&self, after: Option<Seq>, limit: usize) -> PageFuture;
}

/// How many events a subscription asks a store for at once.
const STORE_PAGE: usize = 64;

struct State {
    next: u64,
    topics: HashMap<Arc<str>, u32>,
    /// What shutdown tells subscribers (`retry:`), once shut down.
    farewell: Option<Encoded>,
}

struct Shared {
    hub: Hub<Seq>,
    config: ChannelConfig,
    epoch: u64,
    state: Mutex<State>,
    store: Option<Arc<dyn Store>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every update under this lock is one step: a poisoned lock is still consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A broadcast channel of events; see the [module documentation](self). Cloning it gives
/// another handle to the same channel.
#[derive(Clone)]
pub struct Channel {
    shared: Arc<Shared>,
}

impl Default for Channel {
    fn default() -> Channel {
        Channel::new(ChannelConfig::new())
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("epoch", &self.shared.epoch)
            .field("head", &self.head())
            .field("subscribers", &self.subscriber_count())
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// A channel with an empty history.
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::new(ssekit::channel::ChannelConfig::new());
    /// assert_eq!(channel.head(), None);
    /// ```
    #[must_use]
    pub fn new(config: ChannelConfig) -> Channel {
        Channel::build(config, None)
    }

    /// A channel whose log is kept in `store` too: subscribers are caught up from it when its
    /// history falls short, and ids ahead of it wait (see [`Store`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ssekit::channel::{Channel, ChannelConfig, Page, PageFuture, Seq, Store};
    /// struct Empty;
    /// impl Store for Empty {
    ///     fn after(&self, _: Option<Seq>, _: usize) -> PageFuture {
    ///         Box::pin(std::future::ready(Ok(Page::default())))
    ///     }
    /// }
    /// let channel = Channel::with_store(ChannelConfig::new(), Arc::new(Empty));
    /// # drop(channel);
    /// ```
    #[must_use]
    pub fn with_store(config: ChannelConfig, store: Arc<dyn Store>) -> Channel {
        Channel::build(config, Some(store))
    }

    fn build(config: ChannelConfig, store: Option<Arc<dyn Store>>) -> Channel {
        let epoch = config.epoch.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        });
        let max_event = config.max_event_bytes.min(config.history_bytes);
        let hub = Hub::new(
            HubConfig::new(config.history_events)
                .max_bytes(Some(config.history_bytes))
                .max_frame_bytes(Some(max_event))
                .max_lag_time(Some(config.send_timeout))
                .max_subscribers(Some(config.max_subscribers)),
        );
        let mut topics = HashMap::new();
        topics.insert(Arc::from(""), hub::DEFAULT_TOPIC);
        Channel {
            shared: Arc::new(Shared {
                hub,
                config,
                epoch,
                state: Mutex::new(State {
                    next: 0,
                    topics,
                    farewell: None,
                }),
                store,
            }),
        }
    }

    /// The settings it was made with.
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::default();
    /// assert_eq!(channel.config().gap_event(), "gap");
    /// ```
    #[must_use]
    pub fn config(&self) -> &ChannelConfig {
        &self.shared.config
    }

    /// The epoch of the ids it assigns.
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::new(ssekit::channel::ChannelConfig::new().with_epoch(9));
    /// assert_eq!(channel.publish(ssekit::Event::new("x")).unwrap().epoch(), 9);
    /// ```
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.shared.epoch
    }

    /// The topic `name`, made if it is new. Only server code should make topics: each one
    /// costs a few dozen bytes for the channel's life. The empty name is the default topic,
    /// the one [`publish`](Self::publish) uses.
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::default();
    /// assert_eq!(channel.topic("news"), channel.topic("news"));
    /// ```
    #[must_use]
    pub fn topic(&self, name: &str) -> Topic {
        let mut state = self.shared.state();
        if let Some((name, &id)) = state.topics.get_key_value(name) {
            return Topic {
                id,
                name: Arc::clone(name),
            };
        }
        let id = u32::try_from(state.topics.len()).unwrap_or(u32::MAX);
        let name: Arc<str> = Arc::from(name);
        state.topics.insert(Arc::clone(&name), id);
        Topic { id, name }
    }

    /// The topic `name` if it was made: how a server resolves the topics a client asks for
    /// without letting it make any. `""` is the default topic, which always exists.
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::default();
    /// assert_eq!(channel.find_topic("unknown"), None);
    /// ```
    #[must_use]
    pub fn find_topic(&self, name: &str) -> Option<Topic> {
        let state = self.shared.state();
        let (name, &id) = state.topics.get_key_value(name)?;
        Some(Topic {
            id,
            name: Arc::clone(name),
        })
    }

    /// Publishes `event` in the default topic, under the next id; returns the id.
    ///
    /// # Errors
    ///
    /// [`PublishError::HasId`], [`PublishError::Reserved`], [`PublishError::TooLarge`],
    /// [`PublishError::Closed`], or [`PublishError::NotAfterHead`] after
    /// [`publish_with_id`](Self::publish_with_id) took an id of a later epoch; nothing is
    /// published then.
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::new(ssekit::channel::ChannelConfig::new().with_epoch(1));
    /// assert_eq!(channel.publish(ssekit::Event::new("a")).unwrap().to_string(), "1-0");
    /// assert_eq!(channel.publish(ssekit::Event::new("b")).unwrap().to_string(), "1-1");
    /// ```
    pub fn publish(&self, event: Event) -> Result<Seq, PublishError> {
        self.publish_in(hub::DEFAULT_TOPIC, None, event)
    }

    /// Publishes `event` in `topic`; see [`publish`](Self::publish).
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::default();
    /// let news = channel.topic("news");
    /// channel.publish_to(&news, ssekit::Event::new("extra")).unwrap();
    /// ```
    pub fn publish_to(&self, topic: &Topic, event: Event) -> Result<Seq, PublishError> {
        self.publish_in(topic.id, None, event)
    }

    /// Publishes `event` under an id the caller gives (a store's, say), which must be after
    /// the newest (in any epoch), in `topic` (`None`: the default). An id that does not follow
    /// the newest densely (another epoch, or an offset skipped) is a jump in the log: every
    /// subscriber that crosses it gets a gap event (`new_history` or `trimmed`).
    ///
    /// # Errors
    ///
    /// [`PublishError::NotAfterHead`], and those of [`publish`](Self::publish) but `HasId`.
    ///
    /// ```
    /// use ssekit::channel::{Channel, PublishError, Seq};
    /// let channel = Channel::default();
    /// channel.publish_with_id(Seq::new(5, 10), None, ssekit::Event::new("a")).unwrap();
    /// let again = channel.publish_with_id(Seq::new(5, 10), None, ssekit::Event::new("b"));
    /// assert_eq!(again, Err(PublishError::NotAfterHead { head: Seq::new(5, 10) }));
    /// ```
    pub fn publish_with_id(
        &self,
        id: Seq,
        topic: Option<&Topic>,
        event: Event,
    ) -> Result<(), PublishError> {
        let topic = topic.map_or(hub::DEFAULT_TOPIC, |t| t.id);
        self.publish_in(topic, Some(id), event).map(drop)
    }

    /// Whether the channel would take `event`: what a publisher that writes to a [`Store`]
    /// checks first, so that what it stores every instance can publish. The size is checked
    /// with the longest id there is.
    ///
    /// # Errors
    ///
    /// [`PublishError::HasId`], [`PublishError::Reserved`] or [`PublishError::TooLarge`].
    ///
    /// ```
    /// use ssekit::channel::{Channel, ChannelConfig, PublishError};
    /// let channel = Channel::new(ChannelConfig::new().with_max_event_bytes(100));
    /// assert!(channel.check(&ssekit::Event::new("fits")).is_ok());
    /// let big = ssekit::Event::new("x".repeat(90));
    /// assert!(matches!(channel.check(&big), Err(PublishError::TooLarge { .. })));
    /// ```
    pub fn check(&self, event: &Event) -> Result<(), PublishError> {
        self.refuse(event)?;
        let longest = Seq::new(u64::MAX, u64::MAX).to_string();
        let id = EventId::from_parsed(crate::text::Text::from(longest));
        let size = Encoded::new(&event.clone().with_id(id)).len();
        let max = self.max_event();
        if size > max {
            return Err(PublishError::TooLarge { size, max });
        }
        Ok(())
    }

    fn max_event(&self) -> usize {
        let config = &self.shared.config;
        config.max_event_bytes.min(config.history_bytes)
    }

    /// The checks that need no encoding: the id, the type, and data alone over the limit
    /// (refused before it is encoded, that is copied).
    fn refuse(&self, event: &Event) -> Result<(), PublishError> {
        if event.id().is_some() {
            return Err(PublishError::HasId);
        }
        if event
            .event_type()
            .is_some_and(|t| t.as_str() == self.shared.config.gap_event.as_str())
        {
            return Err(PublishError::Reserved);
        }
        let max = self.max_event();
        let data_len = event.data().map_or(0, <[u8]>::len);
        if data_len > max {
            return Err(PublishError::TooLarge {
                size: data_len,
                max,
            });
        }
        Ok(())
    }

    fn publish_in(&self, topic: u32, id: Option<Seq>, event: Event) -> Result<Seq, PublishError> {
        self.refuse(&event)?;
        let max = self.max_event();
        // One lock from the id to the hub: ids reach the history in the order they are made.
        let mut state = self.shared.state();
        let seq = id.unwrap_or(Seq::new(self.shared.epoch, state.next));
        let text = crate::text::Text::from(seq.to_string());
        let frame = Encoded::new(&event.with_id(EventId::from_parsed(text)));
        if frame.len() > max {
            return Err(PublishError::TooLarge {
                size: frame.len(),
                max,
            });
        }
        // Not dense after the head: the log jumped (a store started again, or trimmed what
        // this instance had not read). Every subscriber crossing it is told.
        let jump = self.shared.hub.head().is_some_and(|head| {
            head.epoch != seq.epoch || head.offset.checked_add(1) != Some(seq.offset)
        });
        match self
            .shared
            .hub
            .publish_in(topic, seq, frame.into_bytes(), Instant::now(), jump)
        {
            Ok(()) => {
                if id.is_none() {
                    state.next += 1;
                } else if seq.epoch == self.shared.epoch {
                    state.next = state.next.max(seq.offset.saturating_add(1));
                }
                Ok(seq)
            }
            Err(hub::PublishError::NotAfterHead { head }) => {
                Err(PublishError::NotAfterHead { head })
            }
            Err(hub::PublishError::TooLarge { size, max }) => {
                Err(PublishError::TooLarge { size, max })
            }
            Err(hub::PublishError::Closed) => Err(PublishError::Closed),
        }
    }

    /// Subscribes to every topic. `last_event_id` is the client's `Last-Event-ID` (see
    /// [`crate::body::last_event_id`]): the stream resumes exactly after it, or starts with a
    /// gap event saying why it cannot. `None` (a new client) starts with the events
    /// published from now on, after an `id:` of the newest event (so that a client that drops
    /// before its first event still resumes from the right place).
    ///
    /// # Errors
    ///
    /// [`SubscribeError::Full`].
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::default();
    /// let subscription = channel.subscribe(None).unwrap();
    /// assert_eq!(channel.subscriber_count(), 1);
    /// # drop(subscription);
    /// ```
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Result<Subscription, SubscribeError> {
        self.subscribe_in(None, last_event_id)
    }

    /// Subscribes to `topics` only: their events, in the order of the log, resumed with one id
    /// across all of them; see [`subscribe`](Self::subscribe).
    ///
    /// # Errors
    ///
    /// [`SubscribeError::Full`], and [`SubscribeError::TooManyTopics`].
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssekit::Event;
    /// # futures_executor::block_on(async {
    /// let channel = ssekit::channel::Channel::new(ssekit::channel::ChannelConfig::new().with_epoch(1));
    /// let (a, b) = (channel.topic("a"), channel.topic("b"));
    /// channel.publish_to(&a, Event::new("for a")).unwrap();
    /// // Resumes after 1-0 (an event of `a`), in `b` only.
    /// let mut only_b = channel.subscribe_to([&b], Some("1-0")).unwrap();
    /// channel.publish_to(&a, Event::new("for a")).unwrap();
    /// channel.publish_to(&b, Event::new("for b")).unwrap();
    /// assert_eq!(only_b.next().await.unwrap().as_bytes(), "id: 1-2\ndata: for b\n\n");
    /// # });
    /// ```
    pub fn subscribe_to<'t>(
        &self,
        topics: impl IntoIterator<Item = &'t Topic>,
        last_event_id: Option<&str>,
    ) -> Result<Subscription, SubscribeError> {
        let max = self.shared.config.max_topics;
        let ids: Vec<u32> = topics.into_iter().take(max + 1).map(|t| t.id).collect();
        if ids.len() > max {
            return Err(SubscribeError::TooManyTopics { max });
        }
        self.subscribe_in(Some(&ids), last_event_id)
    }

    fn subscribe_in(
        &self,
        topics: Option<&[u32]>,
        last_event_id: Option<&str>,
    ) -> Result<Subscription, SubscribeError> {
        let full = |e: hub::SubscribeError| match e {
            hub::SubscribeError::Full { max } => SubscribeError::Full {
                max,
                retry_after: self.shared.config.retry_after,
            },
        };
        let epoch = self.shared.epoch;
        let replay = self.shared.config.replay;
        let given = last_event_id.map(str::trim).filter(|s| !s.is_empty());
        let parsed = given.map(|s| s.parse::<Seq>().ok());
        let mut gap = None;
        let mut backfill = None;
        let join = match parsed {
            None => self
                .shared
                .hub
                .subscribe_to(None, topics, replay)
                .map_err(full)?,
            // Not one of our ids: say so (without echoing it), then live.
            Some(None) => {
                gap = Some(("unknown_id", None));
                self.shared
                    .hub
                    .subscribe_to(None, topics, replay)
                    .map_err(full)?
            }
            Some(Some(seq)) => {
                let join = self
                    .shared
                    .hub
                    .subscribe_to(Some(&seq), topics, 0)
                    .map_err(full)?;
                // The log's epoch now: its newest event's, or this channel's own.
                let current = join.head.map_or(epoch, Seq::epoch);
                let store = self.shared.store.is_some();
                match join.position {
                    Position::Resumed => join,
                    // From a history before this one: everything held is news to it.
                    _ if seq.epoch < current => {
                        gap = Some(("new_history", Some(seq)));
                        join
                    }
                    Position::Backfill { oldest } if store => {
                        backfill = Some(Backfill::new(Some(seq), Some(oldest)));
                        join
                    }
                    Position::Backfill { .. } => {
                        gap = Some(("history_too_short", Some(seq)));
                        join
                    }
                    Position::Unknown => {
                        gap = Some(("unknown_id", Some(seq)));
                        join
                    }
                    Position::Ahead if store || self.shared.config.wait_for_ahead => join,
                    // Newer than anything published: made up, or from a log this channel
                    // does not hold. Live from here (the old registration goes first).
                    _ => {
                        drop(join);
                        gap = Some(("unknown_id", Some(seq)));
                        self.shared
                            .hub
                            .subscribe_to(None, topics, replay)
                            .map_err(full)?
                    }
                }
            }
        };
        // A stream that starts live (no usable id, nothing replayed) first sets the client's
        // last id to the head, so that a client that drops before its first event resumes
        // from there. One that resumes or backfills must not: its last id is older.
        let live = replay == 0
            && (matches!(parsed, None | Some(None)) || matches!(gap, Some(("unknown_id", _))));
        let head = join
            .head
            .filter(|_| live)
            .and_then(|head| Event::builder().id(head.to_string()).build().ok())
            .map(|event| Encoded::new(&event));
        let last_sent = match (&head, parsed) {
            (Some(_), _) => join.head,
            (None, Some(Some(seq))) => Some(seq),
            _ => None,
        };
        let names = topics.map(|ids| {
            let state = self.shared.state();
            state
                .topics
                .iter()
                .filter(|(_, id)| ids.contains(id))
                .map(|(name, _)| Arc::clone(name))
                .collect()
        });
        Ok(Subscription {
            shared: Arc::clone(&self.shared),
            cursor: join.cursor,
            pending: VecDeque::new(),
            start: Start::new(gap, head, self.shared.config.retry),
            backfill: backfill.map(Box::new),
            names,
            last_sent,
            done: false,
        })
    }

    /// The newest id, if any.
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::default();
    /// let id = channel.publish(ssekit::Event::new("x")).unwrap();
    /// assert_eq!(channel.head(), Some(id));
    /// ```
    #[must_use]
    pub fn head(&self) -> Option<Seq> {
        self.shared.hub.head()
    }

    /// Subscribers now.
    ///
    /// ```
    /// assert_eq!(ssekit::channel::Channel::default().subscriber_count(), 0);
    /// ```
    #[must_use]
    pub fn subscriber_count(&self) -> usize {
        self.shared.hub.subscriber_count()
    }

    /// Drops the subscribers that have left an event untaken for longer than the send timeout
    /// (publishing does it too): call it from a timer when publishes may pause for long.
    /// Returns how many it dropped.
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::default();
    /// assert_eq!(channel.evict_lagging(std::time::Instant::now()), 0);
    /// ```
    #[allow(clippy::must_use_candidate)] // called for its effect
    pub fn evict_lagging(&self, now: Instant) -> usize {
        self.shared.hub.evict_lagging(now)
    }

    /// Shuts the channel down: publishing fails from now on, and every subscription sends
    /// what is left for it, then `retry: <come_back_in>` (when clients should reconnect, to
    /// another instance or this one restarted), and ends.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// # futures_executor::block_on(async {
    /// let channel = ssekit::channel::Channel::default();
    /// let subscription = channel.subscribe(None).unwrap();
    /// channel.shutdown(std::time::Duration::from_secs(3));
    /// let frames: Vec<_> = subscription.collect().await;
    /// assert_eq!(frames.last().unwrap().as_bytes(), "retry: 3000\n\n");
    /// # });
    /// ```
    pub fn shutdown(&self, come_back_in: Duration) {
        {
            let mut state = self.shared.state();
            let bye = Event::builder()
                .retry(come_back_in)
                .build()
                .map(|e| Encoded::new(&e))
                .unwrap_or_default();
            state.farewell = Some(bye);
        }
        self.shared.hub.close();
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// ```
    /// assert!(!ssekit::channel::Channel::default().is_shut_down());
    /// ```
    #[must_use]
    pub fn is_shut_down(&self) -> bool {
        self.shared.hub.is_closed()
    }
}

/// One subscriber's stream of [`Encoded`] frames; see [`Channel::subscribe`]. It ends when
/// the channel shuts down (after a `retry:`), or when the subscriber is dropped for leaving an
/// event untaken past the send timeout. Dropping it unsubscribes.
pub struct Subscription {
    shared: Arc<Shared>,
    cursor: Cursor<Seq>,
    pending: VecDeque<Encoded>,
    /// What goes before anything else, until the first frame is out (boxed: a subscription
    /// is mostly waiting, and the smaller it is the more of them fit in the caches).
    start: Option<Box<Start>>,
    /// Events being fetched from the store, before the history's.
    backfill: Option<Box<Backfill>>,
    /// Its topics' names (`None`: every topic), to filter what the store sends.
    names: Option<Box<[Arc<str>]>>,
    /// The id of the last event sent (or the one it resumed after).
    last_sent: Option<Seq>,
    done: bool,
}

/// What a subscription sends first.
struct Start {
    /// The gap to announce before anything else: why, and the id it was about.
    gap: Option<(&'static str, Option<Seq>)>,
    /// `id: <head>`, sent after that gap, for a stream that starts live.
    head: Option<Encoded>,
    /// A `retry:` line, sent in front of the first block.
    retry: Option<Encoded>,
}

impl Start {
    /// What goes first, if anything: `retry` rides on the first block sent (a block of
    /// `retry` alone is taken for an empty event by some clients).
    fn new(
        gap: Option<(&'static str, Option<Seq>)>,
        head: Option<Encoded>,
        retry: Option<Duration>,
    ) -> Option<Box<Start>> {
        let retry = retry.map(|retry| {
            let ms = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
            Encoded::from_trusted(format!("retry: {ms}\n").into())
        });
        (gap.is_some() || head.is_some() || retry.is_some())
            .then(|| Box::new(Start { gap, head, retry }))
    }
}

/// A subscription's fetch from the store: the events after `after` and before `until`.
struct Backfill {
    /// The id it resumed after (`None`: it had none, it is owed the log from its start).
    after: Option<Seq>,
    /// Fetch after this one next.
    next_after: Option<Seq>,
    /// Stop before this id (the history's first for this subscriber), if any.
    until: Option<Seq>,
    /// The last id of the log seen, to tell a jump between two stored events.
    prev: Option<Seq>,
    first: bool,
    fetch: Option<PageFuture>,
}

impl Backfill {
    fn new(after: Option<Seq>, until: Option<Seq>) -> Backfill {
        Backfill {
            after,
            next_after: after,
            until,
            prev: None,
            first: true,
            fetch: None,
        }
    }
}

/// Why the log jumped from `last` to `next`.
fn jump_reason(last: Option<Seq>, next: Seq) -> &'static str {
    match last {
        Some(last) if last.epoch == next.epoch => "trimmed",
        _ => "new_history",
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("last", &self.last_sent)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The id of the last event it delivered (or of the newest, sent first to a new
    /// subscriber; or the one it resumed after): what the client's `Last-Event-ID` is now.
    ///
    /// ```
    /// let channel = ssekit::channel::Channel::new(ssekit::channel::ChannelConfig::new().with_epoch(1));
    /// channel.publish(ssekit::Event::new("x")).unwrap();
    /// let s = channel.subscribe(Some("1-0")).unwrap();
    /// assert_eq!(s.last_id().unwrap().to_string(), "1-0");
    /// ```
    #[must_use]
    pub fn last_id(&self) -> Option<Seq> {
        self.last_sent
    }

    fn gap_frame(&self, reason: &str, last: Option<Seq>, resumes_at: Option<Seq>) -> Encoded {
        let id = |s: Option<Seq>| s.map_or_else(|| "null".to_string(), |s| format!("\"{s}\""));
        let data = format!(
            "{{\"reason\":\"{reason}\",\"last_event_id\":{},\"resumes_at\":{}}}",
            id(last),
            id(resumes_at)
        );
        Event::builder()
            .event(self.shared.config.gap_event.clone())
            .data(data)
            .build()
            .map(|e| Encoded::new(&e))
            .unwrap_or_default()
    }

    /// A response body: these frames, keep-alive comments at the channel's interval
    /// ([`ChannelConfig::keep_alive`], 15 s by default) on tokio's clock. With `http-body`,
    /// `into_body().into_http_response()` is the whole response.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use futures_util::StreamExt;
    /// let channel = ssekit::channel::Channel::new(ssekit::channel::ChannelConfig::new().with_epoch(1));
    /// channel.publish(ssekit::Event::new("x")).unwrap();
    /// let mut body = channel.subscribe(None).unwrap().into_body();
    /// // A new subscriber learns the newest id first.
    /// assert_eq!(body.next().await.unwrap().unwrap(), "id: 1-0\n\n");
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn into_body(self) -> crate::EncodeStream<Subscription, crate::TokioTimer> {
        let interval = self.shared.config.keep_alive;
        crate::EncodeStream::new(self).keep_alive_tokio(interval)
    }
}

impl Stream for Subscription {
    type Item = Encoded;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Encoded>> {
        let this = self.get_mut();
        match this.poll_frame(cx) {
            // The first frame out: the `retry` line goes in front of it.
            Poll::Ready(Some(frame)) => match this.start.take().and_then(|s| s.retry) {
                Some(retry) => Poll::Ready(Some(Encoded::concat([retry, frame]))),
                None => Poll::Ready(Some(frame)),
            },
            other => other,
        }
    }
}

impl Subscription {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Encoded>> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Poll::Ready(Some(frame));
            }
            if self.done {
                return Poll::Ready(None);
            }
            if let Some(start) = self.start.as_mut() {
                if let Some((reason, last)) = start.gap.take() {
                    self.announce(cx, reason, last);
                    continue;
                }
                if let Some(head) = start.head.take() {
                    return Poll::Ready(Some(head));
                }
            }
            if self.backfill.is_some() {
                if self.poll_backfill(cx).is_pending() {
                    return Poll::Pending;
                }
                continue;
            }
            match Pin::new(&mut self.cursor).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                // The common case, straight out.
                Poll::Ready(Some(Delivery::Frame { id, frame })) => {
                    self.last_sent = Some(id);
                    return Poll::Ready(Some(Encoded::from_trusted(frame)));
                }
                Poll::Ready(Some(delivery)) => self.deliver(delivery),
                Poll::Ready(None) => {
                    self.done = true;
                    return Poll::Ready(self.shared.state().farewell.clone());
                }
            }
        }
    }

    /// The gap a subscription starts with, with where it resumes: the first frame the cursor
    /// has, when it has one now (sent in the same chunk, after `id: <head>` if any).
    fn announce(&mut self, cx: &mut Context<'_>, reason: &'static str, last: Option<Seq>) {
        let next = match Pin::new(&mut self.cursor).poll_next(cx) {
            Poll::Ready(Some(item)) => Some(item),
            _ => None,
        };
        let resumes_at = match &next {
            Some(
                Delivery::Frame { id, .. }
                | Delivery::Gap { next: id, .. }
                | Delivery::Jump { next: id, .. },
            ) => Some(*id),
            _ => None,
        };
        let gap = self.gap_frame(reason, last, resumes_at);
        let head = self
            .start
            .as_mut()
            .and_then(|s| s.head.take())
            .unwrap_or_default();
        match next {
            Some(Delivery::Frame { id, frame }) => {
                self.last_sent = Some(id);
                let frame = Encoded::from_trusted(frame);
                self.pending.push_back(Encoded::concat([gap, head, frame]));
            }
            Some(Delivery::Evicted(_)) => self.done = true,
            // A gap or a jump right away is this same gap.
            _ => self.pending.push_back(Encoded::concat([gap, head])),
        }
    }

    /// What the cursor delivered, as frames to send.
    fn deliver(&mut self, delivery: Delivery<Seq>) {
        match delivery {
            Delivery::Frame { id, frame } => {
                self.last_sent = Some(id);
                self.pending.push_back(Encoded::from_trusted(frame));
            }
            // Fell behind the history: the store has what it missed, or it is told.
            Delivery::Gap { last, next } => {
                // What it was sent last: the cursor's, or a later one from the store.
                let last = last.max(self.last_sent);
                if self.shared.store.is_some() {
                    self.backfill = Some(Box::new(Backfill::new(last, Some(next))));
                } else {
                    let gap = self.gap_frame("lagged", last, Some(next));
                    self.pending.push_back(gap);
                }
            }
            Delivery::Jump { last, next } => {
                let gap = self.gap_frame(jump_reason(last, next), last, Some(next));
                self.pending.push_back(gap);
            }
            // Dropped for lagging: the stream ends, and the client resumes where it was.
            Delivery::Evicted(_) => self.done = true,
        }
    }

    /// Fetches the next page from the store; `Ready` once something was queued or the
    /// backfill is over.
    fn poll_backfill(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let (Some(b), Some(store)) = (self.backfill.as_mut(), self.shared.store.as_ref()) else {
            self.backfill = None;
            return Poll::Ready(());
        };
        let fetch = b
            .fetch
            .get_or_insert_with(|| store.after(b.next_after, STORE_PAGE));
        let page = match fetch.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(page) => page,
        };
        b.fetch = None;
        let Ok(page) = page else {
            let (after, until) = (b.after, b.until);
            self.backfill = None;
            let gap = self.gap_frame("store_unavailable", after, until);
            self.pending.push_back(gap);
            return Poll::Ready(());
        };
        let mut gaps = Vec::new();
        if b.first {
            b.first = false;
            if page.anchor {
                b.prev = b.after;
            } else {
                // The store no longer holds the id: what came between is unknown.
                let next = page.events.first().map(|e| e.id).or(b.until);
                gaps.push(("trimmed", b.after, next));
            }
        }
        let mut over = page.events.is_empty();
        let mut frames = Vec::new();
        for stored in page.events {
            if b.until.is_some_and(|until| stored.id >= until) {
                over = true;
                break;
            }
            if Some(stored.id) <= b.next_after {
                continue; // not after what was asked: a store's mistake, not sent twice
            }
            if let Some(prev) = b.prev {
                if prev.epoch != stored.id.epoch
                    || prev.offset.checked_add(1) != Some(stored.id.offset)
                {
                    gaps.push((
                        jump_reason(Some(prev), stored.id),
                        Some(prev),
                        Some(stored.id),
                    ));
                }
            }
            b.prev = Some(stored.id);
            b.next_after = Some(stored.id);
            let wanted = self
                .names
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| **n == *stored.topic));
            if wanted {
                frames.push((gaps.len(), stored));
            }
        }
        if over {
            // The history takes over at `until`: it must follow the store's last event.
            if let (Some(prev), Some(until)) = (b.prev, b.until) {
                if prev.epoch != until.epoch || prev.offset.checked_add(1) != Some(until.offset) {
                    gaps.push((jump_reason(Some(prev), until), Some(prev), Some(until)));
                }
            }
            self.backfill = None;
        }
        // Frames and gaps in log order: each gap goes before the frames after it.
        let mut frames = frames.into_iter().peekable();
        for (i, (reason, last, next)) in gaps.iter().copied().enumerate() {
            while let Some((_, stored)) = frames.next_if(|(before, _)| *before <= i) {
                self.send_stored(stored);
            }
            let gap = self.gap_frame(reason, last, next);
            self.pending.push_back(gap);
        }
        for (_, stored) in frames {
            self.send_stored(stored);
        }
        Poll::Ready(())
    }

    fn send_stored(&mut self, stored: Stored) {
        let id = EventId::from_parsed(crate::text::Text::from(stored.id.to_string()));
        self.last_sent = Some(stored.id);
        self.pending
            .push_back(Encoded::new(&stored.event.without_id().with_id(id)));
    }
}

#[cfg(all(feature = "axum", feature = "tokio"))]
impl axum_core::response::IntoResponse for Subscription {
    fn into_response(self) -> axum_core::response::Response {
        self.into_body().into_response()
    }
}
