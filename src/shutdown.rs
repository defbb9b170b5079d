//! Graceful shutdown for a server's streams: one [`Shutdown`] that every stream watches
//! (feature `std`).
//!
//! When a server stops, long-lived streams (a broadcast subscription) should end at once with
//! a `retry:` telling the client when to come back, and one-shot streams (a completion being
//! streamed) should get a little time to finish. Give the first
//! [`signal`](Shutdown::signal) to [`EncodeStream::shutdown_on`](crate::EncodeStream::shutdown_on),
//! the second [`deadline`](Shutdown::deadline) (feature `tokio`): it resolves a grace period
//! after the trigger, so a stream that ends before then ends whole.
//!
//! ```
//! use std::time::Duration;
//! use futures_util::{stream, StreamExt};
//! use ssekit::{shutdown::Shutdown, EncodeStream, Event};
//!
//! # futures_executor::block_on(async {
//! let shutdown = Shutdown::new();
//! let bye = Event::builder().retry(Duration::from_secs(5)).build().unwrap();
//! let live = EncodeStream::new(stream::pending::<Event>()).shutdown_on(shutdown.signal(), Some(bye));
//! shutdown.trigger();
//! let sent: Vec<_> = live.collect().await;
//! assert_eq!(sent[0].as_ref().unwrap(), "retry: 5000\n\n");
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::vec::Vec;

#[derive(Default)]
struct Wakers {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

#[derive(Default)]
struct Inner {
    triggered: AtomicBool,
    wakers: Mutex<Wakers>,
}

impl Inner {
    fn wakers(&self) -> MutexGuard<'_, Wakers> {
        // Each update is one step: a poisoned lock is still consistent.
        self.wakers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A shutdown that every stream of a server watches; see the [module documentation](self).
/// Cloning it gives another handle to the same one.
///
/// ```
/// let shutdown = ssekit::shutdown::Shutdown::new();
/// assert!(!shutdown.is_triggered());
/// shutdown.clone().trigger();
/// assert!(shutdown.is_triggered());
/// ```
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .finish_non_exhaustive()
    }
}

impl Shutdown {
    /// A shutdown not triggered yet.
    ///
    /// ```
    /// assert!(!ssekit::shutdown::Shutdown::new().is_triggered());
    /// ```
    #[must_use]
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Starts the shutdown: every [`signal`](Self::signal) resolves, now and from now on.
    ///
    /// ```
    /// let shutdown = ssekit::shutdown::Shutdown::new();
    /// let signal = shutdown.signal();
    /// shutdown.trigger();
    /// futures_executor::block_on(signal);
    /// ```
    pub fn trigger(&self) {
        self.inner.triggered.store(true, Ordering::SeqCst);
        let wakers: Vec<Waker> = {
            let mut w = self.inner.wakers();
            w.slots.iter_mut().filter_map(Option::take).collect()
        };
        for w in wakers {
            w.wake();
        }
    }

    /// Whether [`trigger`](Self::trigger) was called.
    ///
    /// ```
    /// assert!(!ssekit::shutdown::Shutdown::new().is_triggered());
    /// ```
    #[must_use]
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// A future that resolves when the shutdown is triggered (at once if it was).
    ///
    /// ```
    /// use futures_util::FutureExt;
    /// let shutdown = ssekit::shutdown::Shutdown::new();
    /// let mut signal = shutdown.signal();
    /// assert!((&mut signal).now_or_never().is_none());
    /// shutdown.trigger();
    /// assert!(signal.now_or_never().is_some());
    /// ```
    #[must_use]
    pub fn signal(&self) -> Signal {
        Signal {
            inner: Arc::clone(&self.inner),
            slot: None,
        }
    }

    /// A future that resolves `grace` after the shutdown is triggered, on tokio's clock
    /// (feature `tokio`): the deadline of a stream that may finish first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// use std::time::Duration;
    /// let shutdown = ssekit::shutdown::Shutdown::new();
    /// let deadline = shutdown.deadline(Duration::from_secs(5));
    /// shutdown.trigger();
    /// let started = tokio::time::Instant::now();
    /// deadline.await;
    /// assert_eq!(started.elapsed(), Duration::from_secs(5));
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn deadline(
        &self,
        grace: core::time::Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        let signal = self.signal();
        async move {
            signal.await;
            tokio::time::sleep(grace).await;
        }
    }
}

/// Resolves when its [`Shutdown`] is triggered; see [`Shutdown::signal`].
pub struct Signal {
    inner: Arc<Inner>,
    /// Its place among the wakers, once it has waited.
    slot: Option<usize>,
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").finish_non_exhaustive()
    }
}

impl Future for Signal {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.inner.triggered.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        {
            let mut w = this.inner.wakers();
            let w = &mut *w;
            let slot = *this.slot.get_or_insert_with(|| {
                if let Some(i) = w.free.pop() {
                    i
                } else {
                    w.slots.push(None);
                    w.slots.len() - 1
                }
            });
            match &mut w.slots[slot] {
                Some(old) if old.will_wake(cx.waker()) => {}
                other => *other = Some(cx.waker().clone()),
            }
        }
        // Triggered while it registered: the trigger may have missed its waker.
        if this.inner.triggered.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let mut w = self.inner.wakers();
            w.slots[slot] = None;
            w.free.push(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_polled_again_and_again_keep_one_slot_each_and_give_it_back() {
        let shutdown = Shutdown::new();
        let mut cx = Context::from_waker(Waker::noop());
        let mut signals: Vec<Signal> = (0..10).map(|_| shutdown.signal()).collect();
        for _ in 0..100 {
            for s in &mut signals {
                assert!(Pin::new(s).poll(&mut cx).is_pending());
            }
        }
        assert_eq!(shutdown.inner.wakers().slots.len(), 10);
        drop(signals);
        for _ in 0..10 {
            let mut s = shutdown.signal();
            assert!(Pin::new(&mut s).poll(&mut cx).is_pending());
        }
        assert_eq!(shutdown.inner.wakers().slots.len(), 10, "slots are reused");
        shutdown.trigger();
        let mut late = shutdown.signal();
        assert!(Pin::new(&mut late).poll(&mut cx).is_ready());
    }
}
