//! A fan-out hub: frames encoded once, shared by every subscriber, with exact resume, explicit
//! gaps and a policy for subscribers that fall behind (feature `hub`).
//!
//! A [`Hub`] holds a bounded ring of the latest frames, each an already encoded event (`Bytes`,
//! shared by every subscriber: publishing copies nothing per subscriber) under an ordered id. Its
//! memory is O(ring), whatever the number of subscribers; an idle subscriber costs a few dozen
//! bytes.
//!
//! [`Hub::subscribe`] registers the subscriber *first* and then says where it stands, so that
//! replaying history and joining the live stream can neither lose nor repeat an event:
//!
//! - [`Position::Live`]: no id given, the cursor yields what is published from now on;
//! - [`Position::Resumed`]: the id is in the ring, the cursor yields what follows it;
//! - [`Position::Backfill`]: the id is older than the ring; fetch the events after it and
//!   before [`Position::Backfill::oldest`] from your store, send them, then drain the cursor,
//!   which starts at the oldest frame in the ring;
//! - [`Position::Unknown`]: the id is within the ring's range but was never published here
//!   (made up, or from before a restart): the cursor starts after it, and you should tell the
//!   client that it may have missed events;
//! - [`Position::Ahead`]: the id is newer than anything here yet (another instance published
//!   it first): the cursor yields ids after it as they arrive.
//!
//! A [`Cursor`] is a [`Stream`](https://docs.rs/futures-core/0.3/futures_core/stream/trait.Stream.html) of [`Delivery`] items, woken by `publish` through the task's
//! `Waker`: it works on any executor. A cursor that falls off the ring gets a
//! [`Delivery::Gap`] naming the last id it got and the next one it gets, never a silent skip.
//! The [`HubConfig`] policy evicts subscribers that are more than N events or T behind: they
//! get [`Delivery::Evicted`] and their [`Cursor::eviction`] future resolves, so that a server
//! can drop a connection whose socket stopped draining even when nothing polls its body.
//!
//! ```
//! use bytes::Bytes;
//! use futures_util::StreamExt;
//! use ssekit::hub::{Delivery, Hub, HubConfig, Position};
//!
//! # futures_executor::block_on(async {
//! let hub: Hub<u64> = Hub::new(HubConfig::new(1024));
//! hub.publish(1, Bytes::from_static(b"id: 1\ndata: kick-off\n\n")).unwrap();
//! hub.publish(2, Bytes::from_static(b"id: 2\ndata: goal\n\n")).unwrap();
//!
//! // A client resuming after event 1 gets event 2, then live events.
//! let join = hub.subscribe(Some(&1)).unwrap();
//! assert!(matches!(join.position, Position::Resumed));
//! let mut cursor = join.cursor;
//! hub.publish(3, Bytes::from_static(b"id: 3\ndata: full time\n\n")).unwrap();
//! let ids: Vec<u64> = cursor
//!     .by_ref()
//!     .take(2)
//!     .map(|d| match d {
//!         Delivery::Frame { id, .. } => id,
//!         other => panic!("{other:?}"),
//!     })
//!     .collect()
//!     .await;
//! assert_eq!(ids, [2, 3]);
//! # });
//! ```

use std::boxed::Box;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use std::vec::Vec;

use bytes::Bytes;
use futures_core::Stream;

/// How many frames a cursor takes per lock.
const BATCH: usize = 32;

/// No frame: the end of a topic's chain, or no jump target.
const NONE: u64 = u64::MAX;

/// The topic of frames published without one ([`Hub::publish`]).
pub(crate) const DEFAULT_TOPIC: u32 = 0;

/// Settings for a [`Hub`].
///
/// ```
/// use std::time::Duration;
/// use ssekit::hub::HubConfig;
/// let config = HubConfig::new(10_000)
///     .max_bytes(Some(16 << 20))
///     .max_lag_events(Some(5_000))
///     .max_lag_time(Some(Duration::from_secs(30)))
///     .max_subscribers(Some(10_000));
/// assert_eq!(config.capacity(), 10_000);
/// ```
#[derive(Debug, Clone)]
pub struct HubConfig {
    capacity: usize,
    max_bytes: Option<usize>,
    max_frame_bytes: Option<usize>,
    max_lag_events: Option<u64>,
    max_lag_time: Option<Duration>,
    max_subscribers: Option<usize>,
}

impl HubConfig {
    /// A ring of `capacity` frames (at least 1), no bound in bytes, no eviction policy and no
    /// cap on subscribers: a subscriber that falls off the ring gets a [`Delivery::Gap`] and
    /// goes on.
    ///
    /// ```
    /// assert_eq!(ssekit::hub::HubConfig::new(0).capacity(), 1);
    /// ```
    #[must_use]
    pub fn new(capacity: usize) -> HubConfig {
        HubConfig {
            capacity: capacity.max(1),
            max_bytes: None,
            max_frame_bytes: None,
            max_lag_events: None,
            max_lag_time: None,
            max_subscribers: None,
        }
    }

    /// The ring's size in frames.
    ///
    /// ```
    /// assert_eq!(ssekit::hub::HubConfig::new(8).capacity(), 8);
    /// ```
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bounds the ring in bytes as well: the oldest frames leave it while the frames held
    /// (their bytes plus a few dozen per frame of bookkeeping) come to more than `bytes`. A
    /// frame larger than `bytes` is refused ([`PublishError::TooLarge`]), so the ring never
    /// holds more.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use ssekit::hub::{Hub, HubConfig, PublishError};
    /// let hub: Hub<u64> = Hub::new(HubConfig::new(1000).max_bytes(Some(4096)));
    /// for id in 0..100 {
    ///     hub.publish(id, Bytes::from(vec![b'x'; 1000])).unwrap();
    /// }
    /// assert!(hub.len() < 5);
    /// assert!(matches!(hub.publish(100, Bytes::from(vec![0; 5000])), Err(PublishError::TooLarge { .. })));
    /// ```
    #[must_use]
    pub fn max_bytes(mut self, bytes: Option<usize>) -> HubConfig {
        self.max_bytes = bytes;
        self
    }

    /// Refuses frames longer than `bytes` at publish ([`PublishError::TooLarge`]).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use ssekit::hub::{Hub, HubConfig};
    /// let hub: Hub<u64> = Hub::new(HubConfig::new(8).max_frame_bytes(Some(3)));
    /// assert!(hub.publish(1, Bytes::from_static(b"abcd")).is_err());
    /// assert!(hub.publish(1, Bytes::from_static(b"abc")).is_ok());
    /// ```
    #[must_use]
    pub fn max_frame_bytes(mut self, bytes: Option<usize>) -> HubConfig {
        self.max_frame_bytes = bytes;
        self
    }

    /// Evict a subscriber once more than `n` published frames wait for it. With any policy
    /// set, each publish checks the subscribers that have frames waiting.
    ///
    /// ```
    /// let c = ssekit::hub::HubConfig::new(64).max_lag_events(Some(16));
    /// # let _ = c;
    /// ```
    #[must_use]
    pub fn max_lag_events(mut self, n: Option<u64>) -> HubConfig {
        self.max_lag_events = n;
        self
    }

    /// Evict a subscriber whose oldest waiting frame was published more than `t` ago, however
    /// few frames wait: a send timeout. Checked by publishes (at most once every `t / 8`, so
    /// a subscriber goes within `9t / 8`) and by [`Hub::evict_lagging`].
    ///
    /// ```
    /// let c = ssekit::hub::HubConfig::new(64).max_lag_time(Some(std::time::Duration::from_secs(10)));
    /// # let _ = c;
    /// ```
    #[must_use]
    pub fn max_lag_time(mut self, t: Option<Duration>) -> HubConfig {
        self.max_lag_time = t;
        self
    }

    /// At most `n` subscribers at once: [`Hub::subscribe`] fails with
    /// [`SubscribeError::Full`] beyond that.
    ///
    /// ```
    /// use ssekit::hub::{Hub, HubConfig, SubscribeError};
    /// let hub: Hub<u64> = Hub::new(HubConfig::new(8).max_subscribers(Some(1)));
    /// let first = hub.subscribe(None).unwrap();
    /// assert_eq!(hub.subscribe(None).unwrap_err(), SubscribeError::Full { max: 1 });
    /// drop(first);
    /// assert!(hub.subscribe(None).is_ok());
    /// ```
    #[must_use]
    pub fn max_subscribers(mut self, n: Option<usize>) -> HubConfig {
        self.max_subscribers = n;
        self
    }
}

/// Why a subscriber was evicted.
///
/// ```
/// use ssekit::hub::Eviction;
/// assert_eq!(Eviction::TooManyBehind.to_string(), "too many events behind");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Eviction {
    /// More than [`HubConfig::max_lag_events`] frames were waiting for it.
    TooManyBehind,
    /// Its oldest waiting frame was older than [`HubConfig::max_lag_time`].
    TooLongBehind,
}

impl fmt::Display for Eviction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Eviction::TooManyBehind => "too many events behind",
            Eviction::TooLongBehind => "too long behind",
        })
    }
}

/// [`Hub::publish`] refused a frame.
///
/// ```
/// use bytes::Bytes;
/// use ssekit::hub::{Hub, HubConfig, PublishError};
/// let hub: Hub<u64> = Hub::new(HubConfig::new(4));
/// hub.publish(5, Bytes::new()).unwrap();
/// assert_eq!(hub.publish(5, Bytes::new()), Err(PublishError::NotAfterHead { head: 5 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError<K> {
    /// Ids must increase; this one is not greater than the newest one.
    NotAfterHead {
        /// The newest id published.
        head: K,
    },
    /// The frame is longer than [`HubConfig::max_frame_bytes`] or [`HubConfig::max_bytes`].
    TooLarge {
        /// Its length.
        size: usize,
        /// The largest frame taken.
        max: usize,
    },
    /// The hub was closed.
    Closed,
}

impl<K: fmt::Debug> fmt::Display for PublishError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::NotAfterHead { head } => {
                write!(f, "published id is not after the newest one ({head:?})")
            }
            PublishError::TooLarge { size, max } => {
                write!(
                    f,
                    "a frame of {size} bytes is larger than the limit ({max})"
                )
            }
            PublishError::Closed => f.write_str("the hub is closed"),
        }
    }
}

impl<K: fmt::Debug> std::error::Error for PublishError<K> {}

/// [`Hub::subscribe`] refused a subscriber.
///
/// ```
/// use ssekit::hub::SubscribeError;
/// assert_eq!(SubscribeError::Full { max: 3 }.to_string(), "the hub is full (3 subscribers)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscribeError {
    /// [`HubConfig::max_subscribers`] are subscribed already. A server answers
    /// `503 Service Unavailable` with a `Retry-After`.
    Full {
        /// The cap.
        max: usize,
    },
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscribeError::Full { max } => {
                write!(f, "the hub is full ({max} subscribers)")
            }
        }
    }
}

impl std::error::Error for SubscribeError {}

/// What a [`Cursor`] yields.
///
/// ```
/// use ssekit::hub::Delivery;
/// let d: Delivery<u64> = Delivery::Gap { last: Some(3), next: 9 };
/// assert!(matches!(d, Delivery::Gap { next: 9, .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery<K> {
    /// The next frame.
    Frame {
        /// Its id.
        id: K,
        /// The encoded event, shared with every other subscriber.
        frame: Bytes,
    },
    /// The cursor fell off the ring: frames after `last` that it would have got have left the
    /// ring before it took them. Fetch them from your store, or tell the client.
    Gap {
        /// The last id this cursor delivered (or was positioned after), if any.
        last: Option<K>,
        /// The oldest id still in the ring: every frame the cursor delivers from now on is at
        /// or after it (for a cursor on every topic, it is the next one).
        next: K,
    },
    /// The log itself jumps before `next`: the ids between `last` and `next` were never
    /// published here (a store started again empty, or trimmed them before this instance
    /// read them). Every cursor that crosses the jump gets this, whatever its topics.
    Jump {
        /// The last id this cursor delivered (or was positioned after), if any.
        last: Option<K>,
        /// The first id after the jump, the next frame it delivers.
        next: K,
    },
    /// The subscriber was evicted by the policy; the cursor ends after this.
    Evicted(Eviction),
}

/// Where a new subscriber stands; see the [module documentation](self).
///
/// ```
/// use ssekit::hub::{Hub, HubConfig, Position};
/// let hub: Hub<u64> = Hub::new(HubConfig::new(4));
/// assert!(matches!(hub.subscribe(None).unwrap().position, Position::Live));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Position<K> {
    /// No id given: from the next frame published.
    Live,
    /// The id is in the ring (or, for a cursor on some topics, nothing of those topics after
    /// it has left the ring): from the frame after it.
    Resumed,
    /// The id is older than the ring: fetch from your store what lies after it and before
    /// `oldest`, send that, then the cursor (it starts at `oldest`).
    Backfill {
        /// The oldest id in the ring, the cursor's first frame.
        oldest: K,
    },
    /// The id is within the ring's range but was never published here: from the first frame
    /// after it. The client may have missed events.
    Unknown,
    /// The id is newer than the newest here: from the first frame after it, when it comes.
    Ahead,
}

/// The answer to [`Hub::subscribe`]: a registered cursor and where it stands.
#[derive(Debug)]
pub struct Join<K> {
    /// The subscriber's cursor, already receiving.
    pub cursor: Cursor<K>,
    /// Where it starts.
    pub position: Position<K>,
    /// The newest id in the hub when the cursor was registered (taken under the same lock),
    /// if any. A new subscriber can be sent `id: <head>` at once, so that it can resume from
    /// the right place even if it disconnects before its first event.
    pub head: Option<K>,
}

struct Entry<K> {
    id: K,
    frame: Bytes,
    at: Instant,
    topic: u32,
    /// Sequence number of the next frame of the same topic (`NONE` until there is one).
    next_in_topic: u64,
    /// How many jumps the log made before this frame.
    era: u32,
}

/// What a subscriber is listed for in a topic's wake list.
struct Listing {
    topic: u32,
    listed: bool,
}

struct Sub {
    /// Sequence number of the next frame to look at.
    pos: u64,
    generation: u64,
    waker: Option<Waker>,
    evict_waker: Option<Waker>,
    evicted: Option<Eviction>,
    /// In `waiting` (a subscriber on every topic).
    queued: bool,
    /// It had looked at every frame when it last waited; what was published since is
    /// either not for it or starts at `jump`.
    caught_up: bool,
    /// The first frame for it published since it caught up (`NONE`: none yet).
    jump: u64,
    /// For a subscriber on one topic: the last frame of it taken (`NONE`: none), whose chain
    /// leads to the next one without looking at the frames between.
    chain: u64,
    /// `None`: every topic. Otherwise its topics, with whether it is in each one's wake list.
    topics: Option<Box<[Listing]>>,
}

impl Sub {
    fn wants(&self, topic: u32) -> bool {
        self.topics
            .as_ref()
            .is_none_or(|ts| ts.iter().any(|l| l.topic == topic))
    }

    fn single_topic(&self) -> bool {
        self.topics.as_ref().is_some_and(|ts| ts.len() == 1)
    }
}

struct Inner<K> {
    ring: VecDeque<Entry<K>>,
    /// Sequence number of `ring[0]`.
    base: u64,
    /// What the ring holds, in the bytes [`HubConfig::max_bytes`] counts.
    bytes: usize,
    /// The id of the frame that left the ring last (sequence `base - 1`).
    last_dropped: Option<K>,
    /// Per topic, the id and sequence number of its newest frame that left the ring.
    dropped: HashMap<u32, (K, u64)>,
    /// Per topic, the sequence number of its newest frame in the ring.
    topic_last: HashMap<u32, u64>,
    subs: Vec<Option<Sub>>,
    free: Vec<usize>,
    /// Subscribers on every topic with a waker registered, to wake on the next publish.
    waiting: Vec<usize>,
    /// Subscribers on some topics, to wake on the next publish in each.
    topic_waiting: HashMap<u32, Vec<usize>>,
    next_generation: u64,
    closed: bool,
    /// When a publish next checks the time policy (at most every eighth of
    /// [`HubConfig::max_lag_time`]: a walk of every subscriber per publish would cost each
    /// subscriber something for every frame, of any topic).
    policy_due: Option<Instant>,
    /// How many jumps the log has made.
    era: u32,
}

impl<K> Inner<K> {
    fn end(&self) -> u64 {
        self.base + self.ring.len() as u64
    }

    fn subscribers(&self) -> usize {
        self.subs.len() - self.free.len()
    }

    fn entry(&self, seq: u64) -> Option<&Entry<K>> {
        let idx = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        self.ring.get(idx)
    }

    /// The first frame at or after `from` that `sub` wants, as a sequence number.
    fn first_wanted(&self, sub: &Sub, from: u64) -> Option<u64> {
        let from = from.max(self.base);
        let start = usize::try_from(from - self.base).ok()?;
        self.ring
            .range(start.min(self.ring.len())..)
            .position(|e| sub.wants(e.topic))
            .map(|i| from + i as u64)
    }
}

/// The bytes a frame counts for in [`HubConfig::max_bytes`].
fn cost<K>(frame: &Bytes) -> usize {
    frame.len() + std::mem::size_of::<Entry<K>>()
}

struct Shared<K> {
    config: HubConfig,
    inner: Mutex<Inner<K>>,
}

impl<K> Shared<K> {
    fn lock(&self) -> MutexGuard<'_, Inner<K>> {
        // A panic while holding the lock leaves no half-made state behind (every update is a
        // single step), so a poisoned lock is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The fan-out hub. Cloning it gives another handle to the same hub.
///
/// ```
/// use bytes::Bytes;
/// use ssekit::hub::{Hub, HubConfig};
/// let hub: Hub<u64> = Hub::new(HubConfig::new(2));
/// for id in 1..=3 {
///     hub.publish(id, Bytes::from(format!("id: {id}\ndata: x\n\n"))).unwrap();
/// }
/// assert_eq!((hub.oldest(), hub.head(), hub.len()), (Some(2), Some(3), 2));
/// ```
pub struct Hub<K> {
    shared: Arc<Shared<K>>,
}

impl<K> Clone for Hub<K> {
    fn clone(&self) -> Self {
        Hub {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<K: fmt::Debug> fmt::Debug for Hub<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.shared.lock();
        f.debug_struct("Hub")
            .field("frames", &inner.ring.len())
            .field("bytes", &inner.bytes)
            .field("oldest", &inner.ring.front().map(|e| &e.id))
            .field("head", &inner.ring.back().map(|e| &e.id))
            .field("subscribers", &inner.subscribers())
            .field("closed", &inner.closed)
            .finish_non_exhaustive()
    }
}

impl<K: Ord + Clone> Hub<K> {
    /// An empty hub.
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(16));
    /// assert!(hub.is_empty());
    /// ```
    #[must_use]
    pub fn new(config: HubConfig) -> Hub<K> {
        let ring = VecDeque::with_capacity(config.capacity.min(4096));
        Hub {
            shared: Arc::new(Shared {
                config,
                inner: Mutex::new(Inner {
                    ring,
                    base: 0,
                    bytes: 0,
                    last_dropped: None,
                    dropped: HashMap::new(),
                    topic_last: HashMap::new(),
                    subs: Vec::new(),
                    free: Vec::new(),
                    waiting: Vec::new(),
                    topic_waiting: HashMap::new(),
                    next_generation: 0,
                    closed: false,
                    policy_due: None,
                    era: 0,
                }),
            }),
        }
    }

    /// The settings it was made with.
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(16));
    /// assert_eq!(hub.config().capacity(), 16);
    /// ```
    #[must_use]
    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// Publishes a frame under `id`, which must be greater than every id before it. Wakes the
    /// subscribers waiting for it and applies the eviction policy.
    ///
    /// # Errors
    ///
    /// [`PublishError::NotAfterHead`] for an id not greater than the newest,
    /// [`PublishError::TooLarge`] for a frame over the limits, and [`PublishError::Closed`]
    /// after [`close`](Self::close).
    ///
    /// ```
    /// use bytes::Bytes;
    /// let hub = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(16));
    /// hub.publish("a".to_string(), Bytes::from_static(b"data: a\n\n")).unwrap();
    /// assert!(hub.publish("a".to_string(), Bytes::new()).is_err());
    /// ```
    pub fn publish(&self, id: K, frame: Bytes) -> Result<(), PublishError<K>> {
        self.publish_at(id, frame, Instant::now())
    }

    /// [`publish`](Self::publish), with the time passed in (for tests of the time policy).
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish).
    ///
    /// ```
    /// use bytes::Bytes;
    /// let hub = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(16));
    /// hub.publish_at(1u64, Bytes::new(), std::time::Instant::now()).unwrap();
    /// ```
    pub fn publish_at(&self, id: K, frame: Bytes, now: Instant) -> Result<(), PublishError<K>> {
        self.publish_in(DEFAULT_TOPIC, id, frame, now, false)
    }

    /// The largest frame [`publish`](Self::publish) takes, if any limit is set.
    fn max_frame(&self) -> Option<usize> {
        let config = &self.shared.config;
        let by_ring = config
            .max_bytes
            .map(|b| b.saturating_sub(std::mem::size_of::<Entry<K>>()));
        match (config.max_frame_bytes, by_ring) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Publishes a frame in `topic` (see [`publish`](Self::publish)); `jump`: the log jumps
    /// before it ([`Delivery::Jump`]).
    pub(crate) fn publish_in(
        &self,
        topic: u32,
        id: K,
        frame: Bytes,
        now: Instant,
        jump: bool,
    ) -> Result<(), PublishError<K>> {
        if let Some(max) = self.max_frame() {
            if frame.len() > max {
                return Err(PublishError::TooLarge {
                    size: frame.len(),
                    max,
                });
            }
        }
        let mut wake = Vec::new();
        {
            let mut inner = self.shared.lock();
            if inner.closed {
                return Err(PublishError::Closed);
            }
            if let Some(last) = inner.ring.back() {
                if id <= last.id {
                    return Err(PublishError::NotAfterHead {
                        head: last.id.clone(),
                    });
                }
            }
            let inner = &mut *inner;
            let seq = inner.end();
            if let Some(prev) = inner.topic_last.insert(topic, seq) {
                if let Some(i) = prev.checked_sub(inner.base) {
                    if let Some(e) = usize::try_from(i).ok().and_then(|i| inner.ring.get_mut(i)) {
                        e.next_in_topic = seq;
                    }
                }
            }
            inner.bytes += cost::<K>(&frame);
            if jump {
                inner.era = inner.era.wrapping_add(1);
            }
            let era = inner.era;
            inner.ring.push_back(Entry {
                id,
                frame,
                at: now,
                topic,
                next_in_topic: NONE,
                era,
            });
            let config = &self.shared.config;
            while inner.ring.len() > config.capacity
                || (inner.ring.len() > 1 && config.max_bytes.is_some_and(|b| inner.bytes > b))
            {
                let Some(gone) = inner.ring.pop_front() else {
                    break;
                };
                inner.bytes -= cost::<K>(&gone.frame);
                if inner.topic_last.get(&gone.topic) == Some(&inner.base) {
                    inner.topic_last.remove(&gone.topic);
                }
                inner
                    .dropped
                    .insert(gone.topic, (gone.id.clone(), inner.base));
                inner.last_dropped = Some(gone.id);
                inner.base += 1;
            }
            for idx in inner.waiting.drain(..) {
                if let Some(Some(sub)) = inner.subs.get_mut(idx) {
                    sub.queued = false;
                    if sub.caught_up && sub.jump == NONE {
                        sub.jump = seq;
                    }
                    wake.extend(sub.waker.take());
                }
            }
            if let Some(list) = inner.topic_waiting.get_mut(&topic) {
                for idx in list.drain(..) {
                    if let Some(Some(sub)) = inner.subs.get_mut(idx) {
                        if let Some(l) = sub.topics.iter_mut().flatten().find(|l| l.topic == topic)
                        {
                            l.listed = false;
                        }
                        if sub.caught_up && sub.jump == NONE {
                            sub.jump = seq;
                        }
                        wake.extend(sub.waker.take());
                    }
                }
            }
            let config = &self.shared.config;
            let time_due =
                config.max_lag_time.is_some() && inner.policy_due.is_none_or(|due| now >= due);
            if config.max_lag_events.is_some() || time_due {
                if let Some(t) = config.max_lag_time {
                    inner.policy_due = now.checked_add(t / 8);
                }
                self.apply_policy(inner, now, &mut wake);
            }
        }
        for w in wake {
            w.wake();
        }
        Ok(())
    }

    /// Evicts the subscribers the policy says are too far behind; returns how many.
    fn apply_policy(&self, inner: &mut Inner<K>, now: Instant, wake: &mut Vec<Waker>) -> usize {
        let config = &self.shared.config;
        if config.max_lag_events.is_none() && config.max_lag_time.is_none() {
            return 0;
        }
        let mut evicted = 0;
        let end = inner.end();
        let mut subs = std::mem::take(&mut inner.subs);
        for sub in subs.iter_mut().flatten() {
            if sub.evicted.is_some() || sub.pos >= end {
                continue;
            }
            // The oldest frame waiting for it: where it jumps to, or the first it wants from
            // where it stands (the ring's oldest if it fell off: younger than what it missed).
            let fell_off = |ts: &[Listing]| {
                ts.iter().any(|l| {
                    inner
                        .dropped
                        .get(&l.topic)
                        .is_some_and(|&(_, seq)| seq >= sub.pos)
                })
            };
            let first = if sub.caught_up {
                if sub.jump == NONE {
                    continue; // nothing published since it caught up is for it
                }
                // (If that frame left the ring, the ring's oldest is younger than it.)
                Some(sub.jump.max(inner.base))
            } else if sub.topics.as_deref().is_none_or(fell_off) {
                Some(sub.pos.max(inner.base))
            } else {
                inner.first_wanted(sub, sub.pos)
            };
            let Some(first) = first else { continue };
            let reason = if config.max_lag_events.is_some_and(|n| {
                if sub.topics.is_none() {
                    end - first > n
                } else {
                    let start = usize::try_from(first.saturating_sub(inner.base)).unwrap_or(0);
                    let limit = usize::try_from(n).unwrap_or(usize::MAX);
                    inner
                        .ring
                        .range(start.min(inner.ring.len())..)
                        .filter(|e| sub.wants(e.topic))
                        .nth(limit)
                        .is_some()
                }
            }) {
                Some(Eviction::TooManyBehind)
            } else if let Some(t) = config.max_lag_time {
                inner
                    .entry(first)
                    .is_some_and(|e| now.saturating_duration_since(e.at) > t)
                    .then_some(Eviction::TooLongBehind)
            } else {
                None
            };
            if let Some(reason) = reason {
                sub.evicted = Some(reason);
                wake.extend(sub.waker.take());
                wake.extend(sub.evict_waker.take());
                evicted += 1;
            }
        }
        inner.subs = subs;
        evicted
    }

    /// Applies the eviction policy now (publishing does it too): call it from a timer when
    /// publishes may pause for long. Returns how many subscribers it evicted.
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(16));
    /// assert_eq!(hub.evict_lagging(std::time::Instant::now()), 0);
    /// ```
    #[allow(clippy::must_use_candidate)] // called for its effect; the count is a bonus
    pub fn evict_lagging(&self, now: Instant) -> usize {
        let mut wake = Vec::new();
        let evicted = {
            let mut inner = self.shared.lock();
            self.apply_policy(&mut inner, now, &mut wake)
        };
        for w in wake {
            w.wake();
        }
        evicted
    }

    /// Registers a subscriber that last saw `after` (`None`: a new one), and says where its
    /// cursor starts. See [`Position`].
    ///
    /// # Errors
    ///
    /// [`SubscribeError::Full`] when [`HubConfig::max_subscribers`] are subscribed.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use ssekit::hub::{Hub, HubConfig, Position};
    /// let hub: Hub<u64> = Hub::new(HubConfig::new(2));
    /// for id in [10, 20, 30] {
    ///     hub.publish(id, Bytes::new()).unwrap();
    /// }
    /// let position = |after| hub.subscribe(Some(&after)).unwrap().position;
    /// assert_eq!(position(20), Position::Resumed);
    /// assert_eq!(position(10), Position::Backfill { oldest: 20 });
    /// assert_eq!(position(25), Position::Unknown);
    /// assert_eq!(position(99), Position::Ahead);
    /// ```
    pub fn subscribe(&self, after: Option<&K>) -> Result<Join<K>, SubscribeError> {
        self.subscribe_to(after, None, 0)
    }

    /// [`subscribe`](Self::subscribe) to the frames of some topics only (`None`: all); a new
    /// subscriber (`after` is `None`) starts `replay` frames back.
    pub(crate) fn subscribe_to(
        &self,
        after: Option<&K>,
        topics: Option<&[u32]>,
        replay: usize,
    ) -> Result<Join<K>, SubscribeError> {
        let mut inner = self.shared.lock();
        if let Some(max) = self.shared.config.max_subscribers {
            if inner.subscribers() >= max {
                return Err(SubscribeError::Full { max });
            }
        }
        let topics = topics.map(listings);
        let end = inner.end();
        let (pos, position, skip) = match after {
            None => (
                end - inner.ring.len().min(replay) as u64,
                Position::Live,
                None,
            ),
            Some(after) => match (inner.ring.front(), inner.ring.back()) {
                (Some(oldest), Some(_)) if after < &oldest.id => {
                    // Older than the ring. For a cursor on some topics, nothing may be missing:
                    // none of its frames newer than `after` have left the ring.
                    let missed = match &topics {
                        None => true,
                        Some(ts) => ts
                            .iter()
                            .any(|l| inner.dropped.get(&l.topic).is_some_and(|(d, _)| d > after)),
                    };
                    let position = if missed {
                        Position::Backfill {
                            oldest: oldest.id.clone(),
                        }
                    } else {
                        Position::Resumed
                    };
                    (inner.base, position, None)
                }
                (Some(_), Some(newest)) if after > &newest.id => {
                    (end, Position::Ahead, Some(after.clone()))
                }
                (Some(_), Some(_)) => match inner.ring.binary_search_by(|e| e.id.cmp(after)) {
                    Ok(i) => (inner.base + i as u64 + 1, Position::Resumed, None),
                    Err(i) => (inner.base + i as u64, Position::Unknown, None),
                },
                // Nothing published yet: whatever comes later than `after`.
                _ => (end, Position::Ahead, Some(after.clone())),
            },
        };
        let head = inner.ring.back().map(|e| e.id.clone());
        // The era it stands in: that of the frame before its first (or of its first).
        let era = inner
            .entry(pos.wrapping_sub(1))
            .or_else(|| inner.entry(pos))
            .map_or(inner.era, |e| e.era);
        let generation = inner.next_generation;
        inner.next_generation += 1;
        let sub = Sub {
            pos,
            generation,
            waker: None,
            evict_waker: None,
            evicted: None,
            queued: false,
            caught_up: false,
            jump: NONE,
            chain: NONE,
            topics,
        };
        let idx = if let Some(idx) = inner.free.pop() {
            inner.subs[idx] = Some(sub);
            idx
        } else {
            inner.subs.push(Some(sub));
            inner.subs.len() - 1
        };
        // What it has seen: what it resumed after, or for a new one the frame before its
        // first (the head, or older with a replay): anything newer that leaves the ring before
        // it is taken is missed.
        let seen = if after.is_some() {
            after.cloned()
        } else {
            inner
                .entry(pos.wrapping_sub(1))
                .map(|e| e.id.clone())
                .or_else(|| inner.last_dropped.clone())
        };
        drop(inner);
        Ok(Join {
            cursor: Cursor {
                shared: Arc::clone(&self.shared),
                idx,
                generation,
                buffer: VecDeque::new(),
                last: after.cloned(),
                seen,
                skip_through: skip,
                era,
                done: false,
            },
            position,
            head,
        })
    }

    /// The newest id, if any.
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// assert_eq!(hub.head(), None);
    /// ```
    #[must_use]
    pub fn head(&self) -> Option<K> {
        self.shared.lock().ring.back().map(|e| e.id.clone())
    }

    /// The oldest id still in the ring, if any.
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// assert_eq!(hub.oldest(), None);
    /// ```
    #[must_use]
    pub fn oldest(&self) -> Option<K> {
        self.shared.lock().ring.front().map(|e| e.id.clone())
    }

    /// The frames after `after` that are still in the ring (all of them for `None`), for
    /// callers that want history without subscribing.
    ///
    /// ```
    /// use bytes::Bytes;
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(4));
    /// hub.publish(1, Bytes::from_static(b"a")).unwrap();
    /// hub.publish(2, Bytes::from_static(b"b")).unwrap();
    /// assert_eq!(hub.frames_after(Some(&1)), vec![(2, Bytes::from_static(b"b"))]);
    /// ```
    #[must_use]
    pub fn frames_after(&self, after: Option<&K>) -> Vec<(K, Bytes)> {
        let inner = self.shared.lock();
        let start = match after {
            None => 0,
            Some(after) => inner.ring.partition_point(|e| e.id <= *after),
        };
        inner
            .ring
            .range(start..)
            .map(|e| (e.id.clone(), e.frame.clone()))
            .collect()
    }

    /// Frames in the ring.
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// assert_eq!(hub.len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.shared.lock().ring.len()
    }

    /// What the ring holds in the bytes [`HubConfig::max_bytes`] counts: the frames, and a
    /// few dozen bytes of bookkeeping each.
    ///
    /// ```
    /// use bytes::Bytes;
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// hub.publish(1, Bytes::from_static(b"data: x\n\n")).unwrap();
    /// assert!(hub.byte_len() > 9);
    /// ```
    #[must_use]
    pub fn byte_len(&self) -> usize {
        self.shared.lock().bytes
    }

    /// Whether the ring is empty.
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// assert!(hub.is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.shared.lock().ring.is_empty()
    }

    /// Live subscribers (cursors not yet dropped).
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// let join = hub.subscribe(None).unwrap();
    /// assert_eq!(hub.subscriber_count(), 1);
    /// drop(join);
    /// assert_eq!(hub.subscriber_count(), 0);
    /// ```
    #[must_use]
    pub fn subscriber_count(&self) -> usize {
        self.shared.lock().subscribers()
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// hub.close();
    /// assert!(hub.is_closed());
    /// ```
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Closes the hub: publishing fails from now on, and cursors end once they have delivered
    /// what the ring holds for them.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// let mut cursor = hub.subscribe(None).unwrap().cursor;
    /// hub.close();
    /// assert!(futures_executor::block_on(cursor.next()).is_none());
    /// ```
    pub fn close(&self) {
        let wake: Vec<Waker> = {
            let mut inner = self.shared.lock();
            inner.closed = true;
            inner.waiting.clear();
            inner.topic_waiting.clear();
            inner
                .subs
                .iter_mut()
                .flatten()
                .filter_map(|s| {
                    s.queued = false;
                    s.topics.iter_mut().flatten().for_each(|l| l.listed = false);
                    s.waker.take()
                })
                .collect()
        };
        for w in wake {
            w.wake();
        }
    }
}

/// A subscriber's position in a [`Hub`]: a [`Stream`](https://docs.rs/futures-core/0.3/futures_core/stream/trait.Stream.html) of [`Delivery`] items. Dropping it
/// unsubscribes.
pub struct Cursor<K> {
    shared: Arc<Shared<K>>,
    idx: usize,
    generation: u64,
    buffer: VecDeque<Delivery<K>>,
    /// The last id delivered (or the one the subscriber resumed after).
    last: Option<K>,
    /// The newest id it has seen or had no need to see: a frame of its topics newer than
    /// this that leaves the ring before it is taken is missed.
    seen: Option<K>,
    /// Skip frames up to this id (a subscriber that was ahead of this hub).
    skip_through: Option<K>,
    /// The log's era of the last frame it took (see [`Delivery::Jump`]).
    era: u32,
    done: bool,
}

// Nothing in a cursor is ever pinned in place: it moves its ids and frames by value.
impl<K> Unpin for Cursor<K> {}

impl<K: fmt::Debug> fmt::Debug for Cursor<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cursor")
            .field("last", &self.last)
            .field("buffered", &self.buffer.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<K> Cursor<K> {
    /// The last id delivered, or the id the subscriber resumed after.
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// assert_eq!(hub.subscribe(Some(&7)).unwrap().cursor.last_id(), Some(&7));
    /// ```
    #[must_use]
    pub fn last_id(&self) -> Option<&K> {
        self.last.as_ref()
    }

    /// A future that resolves when the policy evicts this subscriber, independent of whether
    /// anything polls the cursor: a server awaits it beside the connection, to drop a
    /// connection whose socket has stopped draining.
    ///
    /// ```
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// let join = hub.subscribe(None).unwrap();
    /// let evicted = join.cursor.eviction();
    /// # drop(evicted);
    /// ```
    #[must_use]
    pub fn eviction(&self) -> EvictionFuture<K> {
        EvictionFuture {
            shared: Arc::clone(&self.shared),
            idx: self.idx,
            generation: self.generation,
        }
    }
}

impl<K: Ord + Clone> Cursor<K> {
    /// Fills the buffer under the lock; `Poll::Pending` when there is nothing yet.
    fn fill(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.shared.lock();
        let inner = &mut *inner;
        let (base, end, closed) = (inner.base, inner.end(), inner.closed);
        let Some(Some(sub)) = inner.subs.get_mut(self.idx) else {
            self.done = true;
            return Poll::Ready(());
        };
        if let Some(reason) = sub.evicted {
            self.buffer.push_back(Delivery::Evicted(reason));
            return Poll::Ready(());
        }
        let mut pos = start(sub, &inner.ring, base, end);
        if pos < base {
            // Frames it never looked at have left the ring. It missed some if one of its
            // topics lost a frame newer than what it has seen (a subscriber that was ahead of
            // this hub wanted nothing up to its own id).
            let seen = match (&self.seen, &self.skip_through) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.as_ref().or(b.as_ref()),
            };
            let newer = |d: &K| seen.is_none_or(|s| d > s);
            let missed = match &sub.topics {
                None => inner.last_dropped.as_ref().is_some_and(newer),
                Some(ts) => ts
                    .iter()
                    .any(|l| inner.dropped.get(&l.topic).is_some_and(|(d, _)| newer(d))),
            };
            if missed {
                self.buffer.push_back(Delivery::Gap {
                    last: self.last.clone(),
                    next: inner.ring[0].id.clone(),
                });
            }
            pos = base;
        }
        // Take up to BATCH frames it wants. A cursor on one topic follows that topic's chain
        // once it is on one of its frames; the others look at each frame.
        let single = sub.single_topic();
        let mut taken = 0;
        while taken < BATCH && pos < end {
            let e = &inner.ring[usize::try_from(pos - base).unwrap_or(usize::MAX)];
            if sub.wants(e.topic) {
                if e.era != self.era {
                    let last = match self.buffer.back() {
                        Some(Delivery::Frame { id, .. }) => Some(id.clone()),
                        _ => self.last.clone(),
                    };
                    self.era = e.era;
                    self.buffer.push_back(Delivery::Jump {
                        last,
                        next: e.id.clone(),
                    });
                }
                self.buffer.push_back(Delivery::Frame {
                    id: e.id.clone(),
                    frame: e.frame.clone(),
                });
                taken += 1;
                if single {
                    sub.chain = pos;
                    pos = if e.next_in_topic == NONE {
                        end
                    } else {
                        e.next_in_topic
                    };
                } else {
                    pos += 1;
                }
            } else {
                pos += 1;
            }
        }
        sub.pos = pos;
        if !self.buffer.is_empty() {
            return Poll::Ready(());
        }
        if closed && pos >= end {
            self.done = true;
            return Poll::Ready(());
        }
        wait(
            sub,
            self.idx,
            &mut inner.waiting,
            &mut inner.topic_waiting,
            cx,
        );
        Poll::Pending
    }
}

/// A subscriber's topics, each once, none listed yet.
fn listings(topics: &[u32]) -> Box<[Listing]> {
    let mut topics = topics.to_vec();
    topics.sort_unstable();
    topics.dedup();
    topics
        .into_iter()
        .map(|topic| Listing {
            topic,
            listed: false,
        })
        .collect()
}

/// Where a cursor looks next: where it stood, moved past what is not for it when it can
/// tell without looking (it caught up since, or its topic's chain leads on).
fn start<K>(sub: &mut Sub, ring: &VecDeque<Entry<K>>, base: u64, end: u64) -> u64 {
    let mut pos = sub.pos;
    if sub.caught_up {
        // Everything between where it stood and its jump is for other topics.
        if sub.jump != NONE {
            pos = pos.max(sub.jump);
        } else if sub.topics.is_some() {
            pos = end;
        }
    }
    sub.caught_up = false;
    sub.jump = NONE;
    if sub.chain != NONE {
        // The frame it took last: what follows it in its topic is all it wants.
        let entry = usize::try_from(sub.chain.wrapping_sub(base))
            .ok()
            .and_then(|i| ring.get(i))
            .filter(|_| sub.chain >= base);
        if let Some(e) = entry {
            pos = if e.next_in_topic == NONE {
                pos.max(end)
            } else {
                pos.max(e.next_in_topic)
            };
        }
        sub.chain = NONE;
    }
    pos
}

/// Registers a caught-up subscriber's waker and lists it where the next frame for it will be
/// published.
fn wait(
    sub: &mut Sub,
    idx: usize,
    waiting: &mut Vec<usize>,
    topic_waiting: &mut HashMap<u32, Vec<usize>>,
    cx: &Context<'_>,
) {
    match &mut sub.waker {
        Some(w) if w.will_wake(cx.waker()) => {}
        slot => *slot = Some(cx.waker().clone()),
    }
    sub.caught_up = true;
    match &mut sub.topics {
        None => {
            if !sub.queued {
                sub.queued = true;
                waiting.push(idx);
            }
        }
        Some(ts) => {
            for l in ts.iter_mut().filter(|l| !l.listed) {
                l.listed = true;
                topic_waiting.entry(l.topic).or_default().push(idx);
            }
        }
    }
}

impl<K: Ord + Clone> Stream for Cursor<K> {
    type Item = Delivery<K>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery<K>>> {
        let this = self.get_mut();
        loop {
            while let Some(item) = this.buffer.pop_front() {
                match &item {
                    Delivery::Frame { id, .. } => {
                        if this.skip_through.as_ref().is_some_and(|s| id <= s) {
                            continue;
                        }
                        this.skip_through = None;
                        this.last = Some(id.clone());
                        this.seen = Some(id.clone());
                    }
                    Delivery::Gap { .. } | Delivery::Jump { .. } => {}
                    Delivery::Evicted(_) => {
                        this.done = true;
                        this.buffer.clear();
                    }
                }
                return Poll::Ready(Some(item));
            }
            if this.done {
                return Poll::Ready(None);
            }
            if this.fill(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl<K> Drop for Cursor<K> {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        let inner = &mut *inner;
        let Some(slot) = inner.subs.get_mut(self.idx) else {
            return;
        };
        if slot
            .as_ref()
            .is_none_or(|s| s.generation != self.generation)
        {
            return;
        }
        let Some(sub) = slot.take() else { return };
        inner.free.push(self.idx);
        // Its index must leave the wake lists, or a reused slot could be listed twice and the
        // lists grow with every subscriber that comes and goes.
        let unlist = |list: &mut Vec<usize>| {
            if let Some(p) = list.iter().rposition(|&i| i == self.idx) {
                list.swap_remove(p);
            }
        };
        if sub.queued {
            unlist(&mut inner.waiting);
        }
        for l in sub.topics.iter().flatten().filter(|l| l.listed) {
            if let Some(list) = inner.topic_waiting.get_mut(&l.topic) {
                unlist(list);
                if list.is_empty() {
                    inner.topic_waiting.remove(&l.topic);
                }
            }
        }
    }
}

/// Resolves with the reason when the subscriber is evicted; see [`Cursor::eviction`]. It stays
/// pending forever if the subscriber is never evicted (or once its cursor is dropped).
pub struct EvictionFuture<K> {
    shared: Arc<Shared<K>>,
    idx: usize,
    generation: u64,
}

impl<K> fmt::Debug for EvictionFuture<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvictionFuture").finish_non_exhaustive()
    }
}

impl<K> Future for EvictionFuture<K> {
    type Output = Eviction;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Eviction> {
        let mut inner = self.shared.lock();
        match inner.subs.get_mut(self.idx) {
            Some(Some(sub)) if sub.generation == self.generation => {
                if let Some(reason) = sub.evicted {
                    Poll::Ready(reason)
                } else {
                    sub.evict_waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
            _ => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_that_come_and_go_leave_nothing_in_the_wake_list() {
        let hub: Hub<u64> = Hub::new(HubConfig::new(4));
        let mut cx = Context::from_waker(Waker::noop());
        let mut stay = hub.subscribe(None).unwrap().cursor;
        assert!(Pin::new(&mut stay).poll_next(&mut cx).is_pending());
        for _ in 0..1000 {
            let mut c = hub.subscribe(None).unwrap().cursor;
            assert!(Pin::new(&mut c).poll_next(&mut cx).is_pending());
            // Polled twice: listed once.
            assert!(Pin::new(&mut c).poll_next(&mut cx).is_pending());
        }
        let inner = hub.shared.lock();
        assert_eq!(inner.waiting.len(), 1);
        assert_eq!(inner.subs.len(), 2, "slots are reused");
    }
}
