//! [`TokioTimer`]: keep-alive timing on tokio's clock (feature `tokio`).

use crate::stream::Timer;
use alloc::boxed::Box;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use tokio::time::{Instant, Sleep};

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
#[derive(Debug, Default)]
pub struct TokioTimer {
    sleep: Option<Pin<Box<Sleep>>>,
    deadline: Option<Instant>,
}

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
