//! The encode side: a stream of events encoded as `text/event-stream` bytes
//! ([`EncodeStream`]), with keep-alives ([`KeepAlive`]) and a graceful shutdown.

use crate::encode::{Encoded, KEEP_ALIVE};
use crate::event::Event;
use crate::message::{Item, MessageEvent};
use crate::text::Text;
use crate::timer::{NoTimer, Timer};
use alloc::collections::VecDeque;
use bytes::{Bytes, BytesMut};
use core::convert::Infallible;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use futures_core::Stream;
use pin_project_lite::pin_project;

/// Stop merging ready events into one chunk past this many bytes…
const BATCH_BYTES: usize = 32 * 1024;
/// …or this many events, so that one poll never runs unbounded on a stream of events that
/// encode to nothing.
const BATCH_EVENTS: usize = 256;

/// What an [`EncodeStream`] accepts: an [`Event`], a parsed [`MessageEvent`], or a `Result` of
/// either (whose error passes through the stream unchanged).
///
/// ```
/// use ssekit::{Event, stream::IntoEvent};
/// let r: Result<Event, std::io::Error> = Ok(Event::new("x"));
/// assert!(r.into_event().is_ok());
/// ```
pub trait IntoEvent {
    /// The error passed through.
    type Error;
    /// Converts into an event, or the error to pass through.
    ///
    /// # Errors
    ///
    /// The item's own error.
    fn into_event(self) -> Result<Event, Self::Error>;
}

impl IntoEvent for Event {
    type Error = Infallible;
    fn into_event(self) -> Result<Event, Infallible> {
        Ok(self)
    }
}

impl IntoEvent for MessageEvent {
    type Error = Infallible;
    fn into_event(self) -> Result<Event, Infallible> {
        Ok(self.into())
    }
}

impl<E> IntoEvent for Result<Event, E> {
    type Error = E;
    fn into_event(self) -> Result<Event, E> {
        self
    }
}

/// Any parser item, re-served as [`Item::into_event`] does: a proxy of
/// `upstream.sse_items().sse_encode()` forwards messages, id-only blocks, `retry` and (when
/// reported) comments.
impl IntoEvent for Item {
    type Error = Infallible;
    fn into_event(self) -> Result<Event, Infallible> {
        Ok(Item::into_event(self))
    }
}

impl<E> IntoEvent for Result<Item, E> {
    type Error = E;
    fn into_event(self) -> Result<Event, E> {
        self.map(Item::into_event)
    }
}

impl<E> IntoEvent for Result<MessageEvent, E> {
    type Error = E;
    fn into_event(self) -> Result<Event, E> {
        self.map(Into::into)
    }
}

/// What an [`EncodeStream`] writes: anything that is an event ([`IntoEvent`]), frames already
/// encoded ([`Encoded`]), or a `Result` of those (whose error passes through the stream).
///
/// ```
/// use futures_util::{stream, StreamExt};
/// use ssekit::{encode::Encoded, EncodeStream, Event};
///
/// # futures_executor::block_on(async {
/// // Encoded once, sent to many: a broadcast's frames.
/// let frame = Encoded::new(&Event::new("shared"));
/// let chunks: Vec<_> = EncodeStream::new(stream::iter([frame.clone(), frame])).collect().await;
/// assert_eq!(chunks[0].as_ref().unwrap(), "data: shared\n\ndata: shared\n\n");
/// # });
/// ```
pub trait Encode {
    /// The error passed through.
    type Error;
    /// Writes the item into `out`.
    ///
    /// # Errors
    ///
    /// The item's own error, written nothing.
    fn encode_into(self, out: &mut Chunks<'_>) -> Result<(), Self::Error>;
}

/// Where an [`Encode`] item is written: the chunk an [`EncodeStream`] is building.
pub struct Chunks<'a> {
    batch: &'a mut BytesMut,
    queue: &'a mut VecDeque<Bytes>,
}

impl Chunks<'_> {
    /// Writes an event (its long data lines as views, not copies: see
    /// [`Event::into_frame`]).
    pub fn event(&mut self, event: Event) {
        crate::encode::for_stream(event, self.batch, self.queue);
    }

    /// Writes frames already encoded.
    pub fn encoded(&mut self, frame: Encoded) {
        crate::encode::encoded_for_stream(frame, self.batch, self.queue);
    }
}

impl fmt::Debug for Chunks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunks").finish_non_exhaustive()
    }
}

impl<T: IntoEvent> Encode for T {
    type Error = T::Error;
    fn encode_into(self, out: &mut Chunks<'_>) -> Result<(), T::Error> {
        out.event(self.into_event()?);
        Ok(())
    }
}

impl Encode for Encoded {
    type Error = Infallible;
    fn encode_into(self, out: &mut Chunks<'_>) -> Result<(), Infallible> {
        out.encoded(self);
        Ok(())
    }
}

impl<E> Encode for Result<Encoded, E> {
    type Error = E;
    fn encode_into(self, out: &mut Chunks<'_>) -> Result<(), E> {
        out.encoded(self?);
        Ok(())
    }
}

/// How an [`EncodeStream`] keeps an idle connection alive: after `interval` with nothing
/// sent, it sends one comment line (no blank line after it). The interval restarts whenever
/// anything goes out.
///
/// ```
/// use std::time::Duration;
/// let ka = ssekit::KeepAlive::new(Duration::from_secs(15)).text("ping");
/// assert_eq!(ka.interval(), Duration::from_secs(15));
/// assert_eq!(ka.frame(), ": ping\n");
/// ```
#[derive(Debug, Clone)]
pub struct KeepAlive {
    interval: Duration,
    frame: Bytes,
}

impl KeepAlive {
    /// A keep-alive of `: keep-alive` after `interval` of silence.
    ///
    /// ```
    /// let ka = ssekit::KeepAlive::new(std::time::Duration::from_secs(10));
    /// assert_eq!(ka.frame(), ": keep-alive\n");
    /// ```
    #[must_use]
    pub fn new(interval: Duration) -> KeepAlive {
        KeepAlive {
            interval,
            frame: Bytes::from_static(KEEP_ALIVE.as_bytes()),
        }
    }

    /// Sets the comment text (line breaks make several comment lines).
    ///
    /// ```
    /// let ka = ssekit::KeepAlive::new(std::time::Duration::from_secs(1)).text("");
    /// assert_eq!(ka.frame(), ":\n");
    /// ```
    #[must_use]
    pub fn text(mut self, text: impl Into<Text>) -> KeepAlive {
        self.frame = crate::encode::comment_bytes(&text.into());
        self
    }

    /// The interval of silence after which a keep-alive goes out.
    ///
    /// ```
    /// let ka = ssekit::KeepAlive::new(std::time::Duration::from_secs(3));
    /// assert_eq!(ka.interval().as_secs(), 3);
    /// ```
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The bytes sent as a keep-alive.
    ///
    /// ```
    /// assert_eq!(ssekit::KeepAlive::new(std::time::Duration::ZERO).frame(), ": keep-alive\n");
    /// ```
    #[must_use]
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }
}

pin_project! {
    /// A stream of events encoded as `text/event-stream` bytes.
    ///
    /// Wraps a stream of [`Event`]s (or `Result<Event, E>`, or parsed [`MessageEvent`]s) and
    /// yields `Result<Bytes, E>`: errors from below pass through unchanged and in order.
    /// Events that are ready together are merged into one chunk (one write instead of many);
    /// an event with large data goes out as separate chunks that point into its data, without
    /// copying it (see [`Event::into_frame`]).
    ///
    /// Optional: keep-alive comments after a silent interval ([`keep_alive`](Self::keep_alive))
    /// and a graceful end on a shutdown signal ([`shutdown_on`](Self::shutdown_on)). With the
    /// `http-body` feature it is also an `http_body::Body`, ready to be a response body in
    /// hyper, axum, tonic or any framework on `http-body` 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use ssekit::{EncodeStream, Event};
    ///
    /// # futures_executor::block_on(async {
    /// let events = stream::iter([Event::new("a"), Event::new("b")]);
    /// let chunks: Vec<_> = EncodeStream::new(events).collect().await;
    /// // Both events were ready at once: one chunk.
    /// assert_eq!(chunks.len(), 1);
    /// assert_eq!(chunks[0].as_ref().unwrap(), "data: a\n\ndata: b\n\n");
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct EncodeStream<S, T = NoTimer, F = core::future::Pending<()>>
    where
        S: Stream,
        S::Item: Encode,
    {
        #[pin]
        inner: S,
        #[pin]
        shutdown: Option<F>,
        farewell: Option<Event>,
        timer: T,
        keep_alive: Option<KeepAlive>,
        batch: BytesMut,
        queue: VecDeque<Bytes>,
        inner_done: bool,
        finished: bool,
        timer_armed: bool,
        stashed_error: Option<<S::Item as Encode>::Error>,
    }
}

impl<S> EncodeStream<S>
where
    S: Stream,
    S::Item: Encode,
{
    /// Encodes the events of `events`.
    ///
    /// ```
    /// let s = ssekit::EncodeStream::new(futures_util::stream::empty::<ssekit::Event>());
    /// # drop(s);
    /// ```
    pub fn new(events: S) -> EncodeStream<S> {
        EncodeStream {
            inner: events,
            shutdown: None,
            farewell: None,
            timer: NoTimer,
            keep_alive: None,
            batch: BytesMut::new(),
            queue: VecDeque::new(),
            inner_done: false,
            finished: false,
            timer_armed: false,
            stashed_error: None,
        }
    }
}

impl<S, T, F> EncodeStream<S, T, F>
where
    S: Stream,
    S::Item: Encode,
{
    /// Sends a keep-alive comment after each `keep_alive.interval()` with nothing sent, timed by
    /// `timer`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ssekit::{EncodeStream, Event, KeepAlive, stream::NoTimer};
    /// let s = EncodeStream::new(futures_util::stream::pending::<Event>())
    ///     .keep_alive(KeepAlive::new(Duration::from_secs(15)), NoTimer);
    /// # drop(s);
    /// ```
    pub fn keep_alive<T2: Timer>(self, keep_alive: KeepAlive, timer: T2) -> EncodeStream<S, T2, F> {
        EncodeStream {
            inner: self.inner,
            shutdown: self.shutdown,
            farewell: self.farewell,
            timer,
            keep_alive: Some(keep_alive),
            batch: self.batch,
            queue: self.queue,
            inner_done: self.inner_done,
            finished: self.finished,
            timer_armed: false,
            stashed_error: self.stashed_error,
        }
    }

    /// Sends keep-alives on tokio's clock: a comment after each `interval` of silence.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// use ssekit::{EncodeStream, Event};
    /// let s = EncodeStream::new(futures_util::stream::pending::<Event>())
    ///     .keep_alive_tokio(Duration::from_secs(15));
    /// # drop(s); }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn keep_alive_tokio(self, interval: Duration) -> EncodeStream<S, crate::TokioTimer, F> {
        self.keep_alive(KeepAlive::new(interval), crate::TokioTimer::new())
    }

    /// Ends the stream cleanly when `signal` completes, after sending `farewell` if given
    /// (for example a `retry:` telling clients when to come back). Events not yet taken from
    /// the inner stream are not sent.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::{stream, StreamExt};
    /// use ssekit::{EncodeStream, Event};
    ///
    /// # futures_executor::block_on(async {
    /// let bye = Event::builder().retry(Duration::from_secs(5)).build().unwrap();
    /// let s = EncodeStream::new(stream::pending::<Event>())
    ///     .shutdown_on(std::future::ready(()), Some(bye));
    /// let out: Vec<_> = s.collect().await;
    /// assert_eq!(out[0].as_ref().unwrap(), "retry: 5000\n\n");
    /// assert_eq!(out.len(), 1);
    /// # });
    /// ```
    pub fn shutdown_on<F2: Future<Output = ()>>(
        self,
        signal: F2,
        farewell: Option<Event>,
    ) -> EncodeStream<S, T, F2> {
        EncodeStream {
            inner: self.inner,
            shutdown: Some(signal),
            farewell,
            timer: self.timer,
            keep_alive: self.keep_alive,
            batch: self.batch,
            queue: self.queue,
            inner_done: self.inner_done,
            finished: self.finished,
            timer_armed: self.timer_armed,
            stashed_error: self.stashed_error,
        }
    }

    /// The inner stream.
    ///
    /// ```
    /// let s = ssekit::EncodeStream::new(futures_util::stream::empty::<ssekit::Event>());
    /// let _inner = s.get_ref();
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner stream, mutably.
    ///
    /// ```
    /// let mut s = ssekit::EncodeStream::new(futures_util::stream::empty::<ssekit::Event>());
    /// let _inner = s.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Takes the inner stream back; bytes encoded but not yet yielded are dropped.
    ///
    /// ```
    /// let s = ssekit::EncodeStream::new(futures_util::stream::empty::<ssekit::Event>());
    /// let _inner = s.into_inner();
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, T: fmt::Debug, F> fmt::Debug for EncodeStream<S, T, F>
where
    S: Stream,
    S::Item: Encode,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodeStream")
            .field("keep_alive", &self.keep_alive)
            .field("timer", &self.timer)
            .field(
                "buffered",
                &(self.batch.len() + self.queue.iter().map(Bytes::len).sum::<usize>()),
            )
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<S, T, F> Stream for EncodeStream<S, T, F>
where
    S: Stream,
    S::Item: Encode,
    T: Timer,
    F: Future<Output = ()>,
{
    type Item = Result<Bytes, <S::Item as Encode>::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if let Some(bytes) = this.queue.pop_front() {
            return Poll::Ready(Some(Ok(bytes)));
        }
        if let Some(e) = this.stashed_error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        if *this.finished {
            return Poll::Ready(None);
        }
        if let Some(signal) = this.shutdown.as_mut().as_pin_mut() {
            if signal.poll(cx).is_ready() {
                this.shutdown.set(None);
                *this.finished = true;
                if let Some(bye) = this.farewell.take() {
                    crate::encode::for_stream(bye, this.batch, this.queue);
                }
                if !this.batch.is_empty() {
                    this.queue.push_back(this.batch.split().freeze());
                }
                return Poll::Ready(this.queue.pop_front().map(Ok));
            }
        }
        if let (Some(ka), false) = (this.keep_alive.as_ref(), *this.timer_armed) {
            this.timer.reset(ka.interval);
            *this.timer_armed = true;
        }
        let mut events = 0;
        while !*this.inner_done
            && this.stashed_error.is_none()
            && this.queue.is_empty()
            && this.batch.len() < BATCH_BYTES
            && events < BATCH_EVENTS
        {
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => match item.encode_into(&mut Chunks {
                    batch: this.batch,
                    queue: this.queue,
                }) {
                    Ok(()) => events += 1,
                    Err(e) => {
                        if this.batch.is_empty() && this.queue.is_empty() {
                            return Poll::Ready(Some(Err(e)));
                        }
                        // Send what came before the error first; the error follows.
                        *this.stashed_error = Some(e);
                        break;
                    }
                },
                Poll::Ready(None) => *this.inner_done = true,
                Poll::Pending => break,
            }
        }
        if !this.batch.is_empty() {
            this.queue.push_back(this.batch.split().freeze());
        }
        if let Some(bytes) = this.queue.pop_front() {
            if let Some(ka) = this.keep_alive.as_ref() {
                this.timer.reset(ka.interval);
            }
            return Poll::Ready(Some(Ok(bytes)));
        }
        if *this.inner_done {
            *this.finished = true;
            return Poll::Ready(None);
        }
        if events == BATCH_EVENTS {
            // Stopped at the cap with nothing to send (events that encode to nothing): the
            // inner stream may have more ready, so ask to be polled again.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Some(ka) = this.keep_alive.as_ref() {
            if this.timer.poll_expired(cx).is_ready() {
                this.timer.reset(ka.interval);
                // Poll the fresh deadline so that the waker is registered for it.
                let _ = this.timer.poll_expired(cx);
                return Poll::Ready(Some(Ok(ka.frame.clone())));
            }
        }
        Poll::Pending
    }
}
