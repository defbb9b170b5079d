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
//! let join = hub.subscribe(Some(&1));
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

use std::collections::VecDeque;
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

/// Settings for a [`Hub`].
///
/// ```
/// use std::time::Duration;
/// use ssekit::hub::HubConfig;
/// let config = HubConfig::new(10_000)
///     .max_lag_events(Some(5_000))
///     .max_lag_time(Some(Duration::from_secs(30)));
/// assert_eq!(config.capacity(), 10_000);
/// ```
#[derive(Debug, Clone)]
pub struct HubConfig {
    capacity: usize,
    max_lag_events: Option<u64>,
    max_lag_time: Option<Duration>,
}

impl HubConfig {
    /// A ring of `capacity` frames (at least 1), no eviction policy: a subscriber that falls
    /// off the ring gets a [`Delivery::Gap`] and goes on.
    ///
    /// ```
    /// assert_eq!(ssekit::hub::HubConfig::new(0).capacity(), 1);
    /// ```
    #[must_use]
    pub fn new(capacity: usize) -> HubConfig {
        HubConfig {
            capacity: capacity.max(1),
            max_lag_events: None,
            max_lag_time: None,
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

    /// Evict a subscriber once more than `n` published frames wait for it. With any policy
    /// set, each publish checks every subscriber (O(subscribers) per publish).
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

    /// Evict a subscriber whose oldest waiting frame was published more than `t` ago. Checked
    /// on every publish and by [`Hub::evict_lagging`].
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
    /// The hub was closed.
    Closed,
}

impl<K: fmt::Debug> fmt::Display for PublishError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::NotAfterHead { head } => {
                write!(f, "published id is not after the newest one ({head:?})")
            }
            PublishError::Closed => f.write_str("the hub is closed"),
        }
    }
}

impl<K: fmt::Debug> std::error::Error for PublishError<K> {}

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
    /// The cursor fell off the ring: the frames after `last` and before `next` are gone from
    /// it. Fetch them from your store, or tell the client.
    Gap {
        /// The last id this cursor delivered (or was positioned after), if any.
        last: Option<K>,
        /// The id of the next frame it delivers.
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
/// assert!(matches!(hub.subscribe(None).position, Position::Live));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Position<K> {
    /// No id given: from the next frame published.
    Live,
    /// The id is in the ring: from the frame after it.
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
}

struct Sub {
    /// Sequence number of the next frame to deliver.
    pos: u64,
    generation: u64,
    waker: Option<Waker>,
    evict_waker: Option<Waker>,
    evicted: Option<Eviction>,
    queued: bool,
}

struct Inner<K> {
    ring: VecDeque<Entry<K>>,
    /// Sequence number of `ring[0]`.
    base: u64,
    /// The id of the frame that left the ring last (sequence `base - 1`).
    last_dropped: Option<K>,
    subs: Vec<Option<Sub>>,
    free: Vec<usize>,
    /// Subscribers with a waker registered, to wake on the next publish.
    waiting: Vec<usize>,
    next_generation: u64,
    closed: bool,
}

impl<K> Inner<K> {
    fn end(&self) -> u64 {
        self.base + self.ring.len() as u64
    }

    fn subscribers(&self) -> usize {
        self.subs.len() - self.free.len()
    }
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
                    last_dropped: None,
                    subs: Vec::new(),
                    free: Vec::new(),
                    waiting: Vec::new(),
                    next_generation: 0,
                    closed: false,
                }),
            }),
        }
    }

    /// Publishes a frame under `id`, which must be greater than every id before it. Wakes the
    /// subscribers waiting for it and applies the eviction policy.
    ///
    /// # Errors
    ///
    /// [`PublishError::NotAfterHead`] for an id not greater than the newest, and
    /// [`PublishError::Closed`] after [`close`](Self::close).
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
            inner.ring.push_back(Entry { id, frame, at: now });
            if inner.ring.len() > self.shared.config.capacity {
                inner.last_dropped = inner.ring.pop_front().map(|e| e.id);
                inner.base += 1;
            }
            let inner = &mut *inner;
            for idx in inner.waiting.drain(..) {
                if let Some(Some(sub)) = inner.subs.get_mut(idx) {
                    sub.queued = false;
                    if let Some(w) = sub.waker.take() {
                        wake.push(w);
                    }
                }
            }
            self.apply_policy(inner, now, &mut wake);
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
        let (base, ring) = (inner.base, &inner.ring);
        for sub in inner.subs.iter_mut().flatten() {
            if sub.evicted.is_some() || sub.pos >= end {
                continue;
            }
            let behind = end - sub.pos;
            let reason = if config.max_lag_events.is_some_and(|n| behind > n) {
                Some(Eviction::TooManyBehind)
            } else if let Some(t) = config.max_lag_time {
                // The oldest waiting frame: the cursor's next one, or the ring's oldest if it
                // fell off (that one is younger than what it missed).
                let idx = usize::try_from(sub.pos.saturating_sub(base)).unwrap_or(usize::MAX);
                ring.get(idx)
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
        evicted
    }

    /// Applies the time policy now (publishing does it too): call it from a timer when
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
    /// ```
    /// use bytes::Bytes;
    /// use ssekit::hub::{Hub, HubConfig, Position};
    /// let hub: Hub<u64> = Hub::new(HubConfig::new(2));
    /// for id in [10, 20, 30] {
    ///     hub.publish(id, Bytes::new()).unwrap();
    /// }
    /// assert_eq!(hub.subscribe(Some(&20)).position, Position::Resumed);
    /// assert_eq!(hub.subscribe(Some(&10)).position, Position::Backfill { oldest: 20 });
    /// assert_eq!(hub.subscribe(Some(&25)).position, Position::Unknown);
    /// assert_eq!(hub.subscribe(Some(&99)).position, Position::Ahead);
    /// ```
    #[must_use]
    pub fn subscribe(&self, after: Option<&K>) -> Join<K> {
        let mut inner = self.shared.lock();
        let end = inner.end();
        let (pos, position, skip) = match after {
            None => (end, Position::Live, None),
            Some(after) => match (inner.ring.front(), inner.ring.back()) {
                (Some(oldest), Some(_)) if after < &oldest.id => (
                    inner.base,
                    Position::Backfill {
                        oldest: oldest.id.clone(),
                    },
                    None,
                ),
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
        let generation = inner.next_generation;
        inner.next_generation += 1;
        let sub = Sub {
            pos,
            generation,
            waker: None,
            evict_waker: None,
            evicted: None,
            queued: false,
        };
        let idx = if let Some(idx) = inner.free.pop() {
            inner.subs[idx] = Some(sub);
            idx
        } else {
            inner.subs.push(Some(sub));
            inner.subs.len() - 1
        };
        drop(inner);
        Join {
            cursor: Cursor {
                shared: Arc::clone(&self.shared),
                idx,
                generation,
                buffer: VecDeque::new(),
                last: after.cloned(),
                skip_through: skip,
                done: false,
            },
            position,
            head,
        }
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
    /// let join = hub.subscribe(None);
    /// assert_eq!(hub.subscriber_count(), 1);
    /// drop(join);
    /// assert_eq!(hub.subscriber_count(), 0);
    /// ```
    #[must_use]
    pub fn subscriber_count(&self) -> usize {
        self.shared.lock().subscribers()
    }

    /// Closes the hub: publishing fails from now on, and cursors end once they have delivered
    /// what the ring holds for them.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// let hub: ssekit::hub::Hub<u64> = ssekit::hub::Hub::new(ssekit::hub::HubConfig::new(2));
    /// let mut cursor = hub.subscribe(None).cursor;
    /// hub.close();
    /// assert!(futures_executor::block_on(cursor.next()).is_none());
    /// ```
    pub fn close(&self) {
        let wake: Vec<Waker> = {
            let mut inner = self.shared.lock();
            inner.closed = true;
            inner.waiting.clear();
            inner
                .subs
                .iter_mut()
                .flatten()
                .filter_map(|s| s.waker.take())
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
    /// Skip frames up to this id (a subscriber that was ahead of this hub).
    skip_through: Option<K>,
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
    /// assert_eq!(hub.subscribe(Some(&7)).cursor.last_id(), Some(&7));
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
    /// let join = hub.subscribe(None);
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
        if sub.pos < base {
            // Frames it never saw have left the ring. The newest of them is the last dropped;
            // if even that one is at or before the id it resumed after (a subscriber that was
            // ahead of this hub), it missed nothing it wanted.
            let skipped_anyway = match (&self.skip_through, &inner.last_dropped) {
                (Some(skip), Some(dropped)) => dropped <= skip,
                _ => false,
            };
            if !skipped_anyway {
                let next = inner.ring[0].id.clone();
                self.buffer.push_back(Delivery::Gap {
                    last: self.last.clone(),
                    next,
                });
            }
            sub.pos = base;
        }
        let start = usize::try_from(sub.pos - base).unwrap_or(usize::MAX);
        let take = (inner.ring.len().saturating_sub(start)).min(BATCH);
        for e in inner.ring.range(start..start + take) {
            self.buffer.push_back(Delivery::Frame {
                id: e.id.clone(),
                frame: e.frame.clone(),
            });
        }
        sub.pos += take as u64;
        if !self.buffer.is_empty() {
            return Poll::Ready(());
        }
        if closed && sub.pos >= end {
            self.done = true;
            return Poll::Ready(());
        }
        match &mut sub.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        if !sub.queued {
            sub.queued = true;
            inner.waiting.push(self.idx);
        }
        Poll::Pending
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
                    }
                    Delivery::Gap { .. } => {}
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
        if let Some(slot) = inner.subs.get_mut(self.idx) {
            if slot
                .as_ref()
                .is_some_and(|s| s.generation == self.generation)
            {
                let queued = slot.as_ref().is_some_and(|s| s.queued);
                *slot = None;
                inner.free.push(self.idx);
                // Its index must leave the wake list, or a reused slot could be listed twice
                // and the list grow with every subscriber that comes and goes.
                if queued {
                    if let Some(p) = inner.waiting.iter().rposition(|&i| i == self.idx) {
                        inner.waiting.swap_remove(p);
                    }
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
        let mut stay = hub.subscribe(None).cursor;
        assert!(Pin::new(&mut stay).poll_next(&mut cx).is_pending());
        for _ in 0..1000 {
            let mut c = hub.subscribe(None).cursor;
            assert!(Pin::new(&mut c).poll_next(&mut cx).is_pending());
            // Polled twice: listed once.
            assert!(Pin::new(&mut c).poll_next(&mut cx).is_pending());
        }
        let inner = hub.shared.lock();
        assert_eq!(inner.waiting.len(), 1);
        assert_eq!(inner.subs.len(), 2, "slots are reused");
    }
}
