//! Keep-alive timing: the [`Timer`] a caller supplies, [`NoTimer`], and [`TokioTimer`] on
//! tokio's clock (feature `tokio`).

use core::task::{Context, Poll};
use core::time::Duration;
#[cfg(feature = "tokio")]
use {
    alloc::boxed::Box,
    core::future::Future,
    core::pin::Pin,
    tokio::time::{Instant, Sleep},
};

/// A timer for keep-alives, supplied by the caller so that the crate needs no runtime.
///
/// [`TokioTimer`](crate::TokioTimer) (feature `tokio`) is a ready one.
///
/// # Examples
///
/// A timer that a test fires by hand:
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
/// use std::task::{Context, Poll};
/// use std::time::Duration;
///
/// struct Manual(Arc<AtomicBool>);
///
/// impl ssekit::stream::Timer for Manual {
///     fn poll_expired(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
///         if self.0.swap(false, Ordering::SeqCst) { Poll::Ready(()) } else { Poll::Pending }
///     }
///     fn reset(&mut self, _after: Duration) {}
/// }
///
/// let fire = Arc::new(AtomicBool::new(false));
/// let events = ssekit::EncodeStream::new(futures_util::stream::pending::<ssekit::Event>())
///     .keep_alive(ssekit::KeepAlive::new(Duration::from_secs(15)), Manual(fire.clone()));
/// fire.store(true, Ordering::SeqCst); // the next poll sends a keep-alive
/// # drop(events);
/// ```
pub trait Timer {
    /// Polls whether the deadline set by the last [`reset`](Timer::reset) has passed,
    /// arranging for `cx`'s waker to be woken when it does.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
    /// Sets the deadline to `after` from now.
    fn reset(&mut self, after: Duration);
}

/// The timer of a stream without keep-alive: it never expires.
///
/// ```
/// use ssekit::stream::{NoTimer, Timer};
/// let mut t = NoTimer;
/// t.reset(std::time::Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTimer;

impl Timer for NoTimer {
    fn poll_expired(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
    fn reset(&mut self, _after: Duration) {}
}

/// A [`Timer`] on tokio's clock, so it follows `tokio::time::pause` in tests.
///
/// One allocation per stream, made on first use (so the stream can be built outside a tokio
/// runtime); restarting it after each event reuses it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use ssekit::{EncodeStream, Event, KeepAlive, TokioTimer};
/// let s = EncodeStream::new(futures_util::stream::pending::<Event>())
///     .keep_alive(KeepAlive::new(Duration::from_secs(15)), TokioTimer::new());
/// # drop(s); }
/// ```
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Debug, Default)]
pub struct TokioTimer {
    sleep: Option<Pin<Box<Sleep>>>,
    deadline: Option<Instant>,
}

#[cfg(feature = "tokio")]
impl TokioTimer {
    /// A timer not yet armed.
    ///
    /// ```
    /// let _t = ssekit::TokioTimer::new();
    /// ```
    #[must_use]
    pub fn new() -> TokioTimer {
        TokioTimer::default()
    }
}

#[cfg(feature = "tokio")]
impl Timer for TokioTimer {
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else {
            return Poll::Pending;
        };
        let sleep = match &mut self.sleep {
            Some(sleep) => {
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            none => none.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        sleep.as_mut().poll(cx)
    }

    fn reset(&mut self, after: Duration) {
        // Only the deadline is recorded here: re-registering the timer entry happens at most
        // once per poll that waits, not once per event sent.
        self.deadline = Some(Instant::now() + after);
    }
}
