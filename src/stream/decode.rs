//! The decode side: a stream of byte chunks parsed into messages ([`EventStream`]) or into
//! every parser item ([`ItemStream`]). Both are one type, [`ParseStream`], in two modes.

use crate::ParserConfig;
use crate::error::StreamError;
use crate::field::EventId;
use crate::message::{Item, MessageEvent};
use crate::parser::Parser;
use bytes::Bytes;
use core::fmt;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use futures_core::Stream;
use pin_project_lite::pin_project;

mod sealed {
    pub trait Sealed {}
}

/// What a [`ParseStream`] yields of the parser's [`Item`]s: [`Messages`] or [`Items`].
///
/// Sealed: the two modes are the crate's.
///
/// ```
/// fn messages_only<S, M: ssekit::stream::ParseMode<Output = ssekit::MessageEvent>>(
///     _: &ssekit::stream::ParseStream<S, M>,
/// ) {}
/// messages_only(&ssekit::EventStream::new(futures_util::stream::empty::<Result<Vec<u8>, ()>>()));
/// ```
pub trait ParseMode: sealed::Sealed {
    /// What the stream yields.
    type Output;
    /// The item as yielded, or `None` to skip it.
    #[doc(hidden)]
    fn pick(item: Item) -> Option<Self::Output>;
}

/// The mode of [`EventStream`]: messages only.
///
/// ```
/// let _: ssekit::EventStream<futures_util::stream::Empty<Result<Vec<u8>, ()>>> =
///     ssekit::stream::ParseStream::<_, ssekit::stream::Messages>::new(futures_util::stream::empty());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Messages;

/// The mode of [`ItemStream`]: every item.
///
/// ```
/// let _: ssekit::ItemStream<futures_util::stream::Empty<Result<Vec<u8>, ()>>> =
///     ssekit::stream::ParseStream::<_, ssekit::stream::Items>::new(futures_util::stream::empty());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Items;

impl sealed::Sealed for Messages {}
impl sealed::Sealed for Items {}

impl ParseMode for Messages {
    type Output = MessageEvent;
    #[inline]
    fn pick(item: Item) -> Option<MessageEvent> {
        item.into_message()
    }
}

impl ParseMode for Items {
    type Output = Item;
    #[inline]
    fn pick(item: Item) -> Option<Item> {
        Some(item)
    }
}

/// A stream of byte chunks parsed into messages.
///
/// Wraps any `Stream<Item = Result<B, E>>` with `B: Into<Bytes>` — reqwest's
/// `bytes_stream()`, hyper's body frames, a file — and yields the
/// [`MessageEvent`]s the bytes dispatch. A transport error comes out as
/// [`StreamError::Transport`], unchanged; a limit exceeded as [`StreamError::Parse`] (the
/// stream goes on after either, as long as the inner stream does). The end of the input
/// ends the stream normally.
///
/// For reconnecting, it exposes the [last event id](Self::last_event_id) and the
/// [reconnection time](Self::retry). To also see `retry:` values and comments as they come,
/// use [`ItemStream`].
///
/// # Examples
///
/// ```
/// use futures_util::{stream, StreamExt};
/// use ssekit::EventStream;
///
/// # futures_executor::block_on(async {
/// let body = stream::iter([Ok::<_, std::io::Error>("data: {\"tok"), Ok("en\":1}\n\ndata: [DONE]\n\n")]);
/// let mut events = EventStream::new(body);
/// while let Some(msg) = events.next().await {
///     let msg = msg?;
///     if msg.data() == "[DONE]" {
///         break;
///     }
///     assert_eq!(msg.data(), "{\"token\":1}");
/// }
/// # Ok::<(), ssekit::error::StreamError<std::io::Error>>(())
/// # }).unwrap();
/// ```
pub type EventStream<S> = ParseStream<S, Messages>;

/// Like [`EventStream`], but yields every [`Item`]: messages, `retry:` values as they are
/// read, and comments (when the [`ParserConfig`] asks for them; a client can treat them as
/// heartbeats).
///
/// # Examples
///
/// ```
/// use futures_util::{stream, StreamExt};
/// use ssekit::{Item, ItemStream, ParserConfig};
///
/// # futures_executor::block_on(async {
/// let body = stream::iter([Ok::<_, ()>(": ping\nretry: 1000\n\n")]);
/// let items: Vec<_> = ItemStream::with_config(body, ParserConfig::new().with_comments(true))
///     .collect()
///     .await;
/// assert!(matches!(&items[0], Ok(Item::Comment(c)) if c == "ping"));
/// assert!(matches!(&items[1], Ok(Item::Retry(d)) if d.as_millis() == 1000));
/// # });
/// ```
pub type ItemStream<S> = ParseStream<S, Items>;

pin_project! {
    /// A stream of byte chunks parsed with a [`Parser`]; [`EventStream`] and [`ItemStream`]
    /// are its two faces (see [`ParseMode`]).
    ///
    /// Wraps any `Stream<Item = Result<B, E>>` with `B: Into<Bytes>`. A transport error comes
    /// out as [`StreamError::Transport`], unchanged; a limit exceeded as
    /// [`StreamError::Parse`]. The stream goes on after either as long as the inner stream
    /// does; the end of the input ends it normally.
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// # futures_executor::block_on(async {
    /// let mut s = ssekit::EventStream::new(stream::iter([Ok::<_, ()>("data: x\n\n")]));
    /// assert_eq!(s.next().await.unwrap().unwrap().data(), "x");
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct ParseStream<S, M> {
        #[pin]
        inner: S,
        parser: Parser,
        done: bool,
        mode: PhantomData<M>,
    }
}

impl<S, M> ParseStream<S, M> {
    /// Parses the byte chunks of `inner` with the default [`ParserConfig`].
    ///
    /// ```
    /// let s = ssekit::EventStream::new(futures_util::stream::empty::<Result<bytes::Bytes, std::io::Error>>());
    /// # drop(s);
    /// ```
    pub fn new(inner: S) -> ParseStream<S, M> {
        ParseStream::with_parser(inner, Parser::new())
    }

    /// Parses the byte chunks of `inner` with the given limits and options.
    ///
    /// ```
    /// use ssekit::{EventStream, ParserConfig};
    /// let s = EventStream::with_config(
    ///     futures_util::stream::empty::<Result<Vec<u8>, std::io::Error>>(),
    ///     ParserConfig::new().with_max_event_len(1 << 20),
    /// );
    /// # drop(s);
    /// ```
    pub fn with_config(inner: S, config: ParserConfig) -> ParseStream<S, M> {
        ParseStream::with_parser(inner, Parser::with_config(config))
    }

    /// Parses with a parser that already has state, for example one kept from an
    /// earlier connection (after [`Parser::reset`]), so the last event id carries on.
    ///
    /// ```
    /// let mut parser = ssekit::Parser::new();
    /// parser.set_last_event_id(ssekit::EventId::from(3u64));
    /// let s = ssekit::EventStream::with_parser(
    ///     futures_util::stream::empty::<Result<Vec<u8>, std::io::Error>>(), parser);
    /// assert_eq!(s.last_event_id(), "3");
    /// ```
    pub fn with_parser(inner: S, parser: Parser) -> ParseStream<S, M> {
        ParseStream {
            inner,
            parser,
            done: false,
            mode: PhantomData,
        }
    }

    /// The stream's last event id: what to send as `Last-Event-ID` when reconnecting.
    ///
    /// ```
    /// let s = ssekit::EventStream::new(futures_util::stream::empty::<Result<Vec<u8>, ()>>());
    /// assert_eq!(s.last_event_id(), "");
    /// ```
    pub fn last_event_id(&self) -> &EventId {
        self.parser.last_event_id()
    }

    /// The reconnection time the server last asked for with `retry:`, if any.
    ///
    /// ```
    /// let s = ssekit::EventStream::new(futures_util::stream::empty::<Result<Vec<u8>, ()>>());
    /// assert_eq!(s.retry(), None);
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }

    /// The parser.
    ///
    /// ```
    /// let s = ssekit::EventStream::new(futures_util::stream::empty::<Result<Vec<u8>, ()>>());
    /// assert_eq!(s.parser().buffered_len(), 0);
    /// ```
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// The inner stream.
    ///
    /// ```
    /// let s = ssekit::EventStream::new(futures_util::stream::empty::<Result<Vec<u8>, ()>>());
    /// let _ = s.get_ref();
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner stream, mutably.
    ///
    /// ```
    /// let mut s = ssekit::EventStream::new(futures_util::stream::empty::<Result<Vec<u8>, ()>>());
    /// let _ = s.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Takes back the inner stream and the parser (with its last event id and retry, to
    /// reconnect with).
    ///
    /// ```
    /// let s = ssekit::EventStream::new(futures_util::stream::empty::<Result<Vec<u8>, ()>>());
    /// let (_inner, parser) = s.into_parts();
    /// assert_eq!(parser.last_event_id(), "");
    /// ```
    pub fn into_parts(self) -> (S, Parser) {
        (self.inner, self.parser)
    }

    /// Takes back the inner stream.
    ///
    /// ```
    /// let s = ssekit::EventStream::new(futures_util::stream::empty::<Result<Vec<u8>, ()>>());
    /// let _inner = s.into_inner();
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, M> fmt::Debug for ParseStream<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParseStream")
            .field("parser", &self.parser)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<S, B, E, M> Stream for ParseStream<S, M>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
    M: ParseMode,
{
    type Item = Result<M::Output, StreamError<E>>;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if let Some(item) = this.parser.next() {
                match item {
                    Ok(item) => match M::pick(item) {
                        Some(out) => return Poll::Ready(Some(Ok(out))),
                        None => continue,
                    },
                    Err(e) => return Poll::Ready(Some(Err(StreamError::Parse(e)))),
                }
            }
            if *this.done {
                return Poll::Ready(None);
            }
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.parser.feed(chunk),
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(Err(StreamError::Transport(e))));
                }
                Poll::Ready(None) => {
                    this.parser.finish();
                    *this.done = true;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
