//! `Stream` adapters: events to bytes ([`EncodeStream`], in [`encode`](self) terms the encode
//! side) and bytes to messages ([`EventStream`], [`ItemStream`]: one [`ParseStream`] in two
//! modes), and [`SseStreamExt`] to reach them from any stream.

mod decode;
mod encode;

pub use crate::timer::{NoTimer, Timer};
pub use decode::{EventStream, ItemStream, Items, Messages, ParseMode, ParseStream};
pub use encode::{Chunks, Encode, EncodeStream, IntoEvent, KeepAlive};

use bytes::Bytes;
use futures_core::Stream;

/// Adapters on any [`Stream`](https://docs.rs/futures-core/0.3/futures_core/stream/trait.Stream.html): `.sse_events()` on byte streams, `.sse_encode()` on event
/// streams.
///
/// ```
/// use futures_util::{stream, StreamExt};
/// use ssekit::{Event, SseStreamExt};
///
/// # futures_executor::block_on(async {
/// let bytes: Vec<_> = stream::iter([Event::new("hi")]).sse_encode().collect().await;
/// let msgs: Vec<_> = stream::iter(bytes).sse_events().collect().await;
/// assert_eq!(msgs[0].as_ref().unwrap().data(), "hi");
/// # });
/// ```
pub trait SseStreamExt: Stream + Sized {
    /// Parses this stream of byte chunks into messages; see [`EventStream`].
    ///
    /// ```
    /// use ssekit::SseStreamExt;
    /// let s = futures_util::stream::empty::<Result<Vec<u8>, ()>>().sse_events();
    /// # drop(s);
    /// ```
    fn sse_events<B, E>(self) -> EventStream<Self>
    where
        Self: Stream<Item = Result<B, E>>,
        B: Into<Bytes>,
    {
        EventStream::new(self)
    }

    /// Parses this stream of byte chunks into every parser [`Item`](crate::Item): messages,
    /// `retry` values and (when the [`ParserConfig`](crate::ParserConfig) asks for them)
    /// comments; see [`ItemStream`].
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use ssekit::{Item, SseStreamExt};
    /// # futures_executor::block_on(async {
    /// let chunks = stream::iter([Ok::<_, ()>("retry: 5\n\n")]);
    /// let items: Vec<_> = chunks.sse_items().collect().await;
    /// assert!(matches!(items[0], Ok(Item::Retry(d)) if d.as_millis() == 5));
    /// # });
    /// ```
    fn sse_items<B, E>(self) -> ItemStream<Self>
    where
        Self: Stream<Item = Result<B, E>>,
        B: Into<Bytes>,
    {
        ItemStream::new(self)
    }

    /// Encodes this stream of events into bytes; see [`EncodeStream`].
    ///
    /// ```
    /// use ssekit::SseStreamExt;
    /// let s = futures_util::stream::empty::<ssekit::Event>().sse_encode();
    /// # drop(s);
    /// ```
    fn sse_encode(self) -> EncodeStream<Self>
    where
        Self::Item: Encode,
    {
        EncodeStream::new(self)
    }
}

impl<S: Stream> SseStreamExt for S {}
