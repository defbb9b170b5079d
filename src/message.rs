//! What the parser finds: [`MessageEvent`] and [`Item`].

use crate::event::Event;
use crate::field::{EventId, EventType};
use crate::text::Text;
use core::time::Duration;

/// A message dispatched by the parser: the `MessageEvent` a browser's `EventSource` fires.
///
/// Its data is a view of the received bytes when the data was one line inside one chunk (and
/// longer than 23 bytes; shorter text is stored inline, which is cheaper than a reference
/// count). Cloning is cheap. A view keeps the whole chunk it points into alive: a 40-byte
/// message from a 256 KiB read holds 256 KiB while it lives. To keep many messages for long,
/// keep copies of their data (`String::from(m.data())`), not the messages.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use ssekit::Parser;
///
/// let mut parser = Parser::new();
/// parser.feed(Bytes::from_static(b"event: goal\nid: 7\ndata: 1-0\n\n"));
/// let msg = parser.next_message().unwrap().unwrap();
/// assert_eq!(msg.event_type(), "goal");
/// assert_eq!(msg.data(), "1-0");
/// assert_eq!(msg.last_event_id(), "7");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MessageEvent {
    pub(crate) data: Text,
    /// [`EventType::MESSAGE`] when the block set none (a static text: no reference count).
    pub(crate) event_type: EventType,
    pub(crate) last_event_id: EventId,
    pub(crate) id_in_block: bool,
}

impl MessageEvent {
    /// Makes a message, as a test double or to feed code that consumes messages.
    ///
    /// An empty `event_type` means the default, `message`.
    ///
    /// ```
    /// use ssekit::{EventId, EventType, MessageEvent, Text};
    /// let m = MessageEvent::new(Text::from_static("hi"), EventType::MESSAGE, EventId::EMPTY);
    /// assert_eq!(m.data(), "hi");
    /// ```
    #[must_use]
    pub fn new(data: Text, event_type: EventType, last_event_id: EventId) -> MessageEvent {
        MessageEvent {
            data,
            event_type: if event_type.is_empty() {
                EventType::MESSAGE
            } else {
                event_type
            },
            id_in_block: !last_event_id.is_empty(),
            last_event_id,
        }
    }

    /// The event type: the last `event:` value of the block, or `message`.
    ///
    /// ```
    /// # let mut p = ssekit::Parser::new();
    /// # p.feed(bytes::Bytes::from_static(b"data: x\n\n"));
    /// let msg = p.next_message().unwrap().unwrap();
    /// assert_eq!(msg.event_type(), "message");
    /// ```
    #[must_use]
    #[inline]
    pub fn event_type(&self) -> &str {
        self.event_type.as_str()
    }

    /// The type, unless it is the default (`message`), which an outgoing event leaves out.
    fn own_event_type(&self) -> Option<EventType> {
        (self.event_type != "message").then(|| self.event_type.clone())
    }

    /// The data: the block's `data:` values joined with `\n`.
    ///
    /// ```
    /// # let mut p = ssekit::Parser::new();
    /// # p.feed(bytes::Bytes::from_static(b"data: a\ndata: b\n\n"));
    /// let msg = p.next_message().unwrap().unwrap();
    /// assert_eq!(msg.data(), "a\nb");
    /// ```
    #[must_use]
    #[inline]
    pub fn data(&self) -> &str {
        self.data.as_str()
    }

    /// The data as [`Text`], to keep it without copying.
    ///
    /// ```
    /// # let mut p = ssekit::Parser::new();
    /// # p.feed(bytes::Bytes::from_static(b"data: a\n\n"));
    /// let data: ssekit::Text = p.next_message().unwrap().unwrap().data_text().clone();
    /// assert_eq!(data, "a");
    /// ```
    #[must_use]
    pub fn data_text(&self) -> &Text {
        &self.data
    }

    /// Takes the data out, without copying.
    ///
    /// ```
    /// # let mut p = ssekit::Parser::new();
    /// # p.feed(bytes::Bytes::from_static(b"data: a\n\n"));
    /// let data = p.next_message().unwrap().unwrap().into_data();
    /// assert_eq!(data, "a");
    /// ```
    #[must_use]
    pub fn into_data(self) -> Text {
        self.data
    }

    /// The last event ID when the message was dispatched: set by the latest `id:` line of this
    /// block or of an earlier one (empty if none ever was) — what a reconnecting client sends
    /// as `Last-Event-ID`, and the DOM's `lastEventId`. It is not necessarily an id of this
    /// message's own block: [`has_own_id`](Self::has_own_id) tells.
    ///
    /// [`EventId`] dereferences to `str` and compares with it.
    ///
    /// ```
    /// # let mut p = ssekit::Parser::new();
    /// # p.feed(bytes::Bytes::from_static(b"id: 1\ndata: a\n\ndata: b\n\n"));
    /// # p.next_message();
    /// let second = p.next_message().unwrap().unwrap();
    /// assert_eq!(second.last_event_id(), "1");
    /// assert!(!second.has_own_id());
    /// let id: ssekit::EventId = second.last_event_id().clone();
    /// assert_eq!(id.as_str(), "1");
    /// ```
    #[must_use]
    #[inline]
    pub fn last_event_id(&self) -> &EventId {
        &self.last_event_id
    }

    /// Whether this message's own block had an `id:` line (otherwise the id came from an
    /// earlier block).
    ///
    /// ```
    /// # let mut p = ssekit::Parser::new();
    /// # p.feed(bytes::Bytes::from_static(b"id: 1\ndata: a\n\ndata: b\n\n"));
    /// assert!(p.next_message().unwrap().unwrap().has_own_id());
    /// assert!(!p.next_message().unwrap().unwrap().has_own_id());
    /// ```
    #[must_use]
    pub fn has_own_id(&self) -> bool {
        self.id_in_block
    }

    /// With the `serde` feature: the data decoded as JSON, as an LLM delta or any
    /// `Deserialize` type (borrowing from the data where the type does).
    ///
    /// # Errors
    ///
    /// [`DataJsonError`](crate::error::DataJsonError) when the data is not JSON of that shape;
    /// it keeps the raw data and the event type, and its `source()` is `serde_json`'s error.
    ///
    /// ```
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Delta<'a> {
    ///     content: &'a str,
    /// }
    /// let mut p = ssekit::Parser::new();
    /// p.feed(&b"data: {\"content\": \"Hel\"}\n\ndata: oops\n\n"[..]);
    /// let first = p.next_message().unwrap().unwrap();
    /// assert_eq!(first.json::<Delta>().unwrap().content, "Hel");
    /// let second = p.next_message().unwrap().unwrap();
    /// let err = second.json::<Delta>().unwrap_err();
    /// assert_eq!(err.data(), "oops");
    /// assert!(err.to_string().starts_with("the data of a `message` event is not the expected JSON"));
    /// ```
    #[cfg(feature = "serde")]
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    pub fn json<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, crate::error::DataJsonError> {
        serde_json::from_str(self.data()).map_err(|source| crate::error::DataJsonError {
            data: self.data.clone(),
            event_type: self.own_event_type(),
            source,
        })
    }

    /// Converts into an outgoing [`Event`] without copying the data (a proxy that re-serves
    /// upstream messages does this). The event gets the message's type unless it is the
    /// default, and its id if the message's block set one.
    ///
    /// ```
    /// # let mut p = ssekit::Parser::new();
    /// # p.feed(bytes::Bytes::from_static(b"event: goal\nid: 3\ndata: 1-0\n\n"));
    /// let msg = p.next_message().unwrap().unwrap();
    /// assert_eq!(msg.into_event().to_bytes(), "event: goal\nid: 3\ndata: 1-0\n\n");
    /// ```
    #[must_use]
    pub fn into_event(self) -> Event {
        let event_type = self.own_event_type();
        Event::from_parts(
            Some(self.data.into()),
            event_type,
            self.id_in_block.then_some(self.last_event_id),
        )
    }
}

impl From<MessageEvent> for Event {
    fn from(m: MessageEvent) -> Event {
        m.into_event()
    }
}

impl core::fmt::Debug for MessageEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageEvent")
            .field("event_type", &self.event_type())
            .field("data", &self.data())
            .field("last_event_id", &self.last_event_id().as_str())
            .finish()
    }
}

/// One thing the parser found in the stream.
///
/// ```
/// use ssekit::{Item, Parser, ParserConfig};
///
/// let mut p = Parser::with_config(ParserConfig::new().with_comments(true));
/// p.feed(bytes::Bytes::from_static(b": hi\nretry: 500\ndata: x\n\n"));
/// assert!(matches!(p.next(), Some(Ok(Item::Comment(c))) if c == "hi"));
/// assert!(matches!(p.next(), Some(Ok(Item::Retry(d))) if d.as_millis() == 500));
/// assert!(matches!(p.next(), Some(Ok(Item::Message(m))) if m.data() == "x"));
/// assert!(p.next().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Item {
    /// A dispatched message.
    Message(MessageEvent),
    /// A `retry:` line set the reconnection time (it applies when read, even if its block is
    /// never dispatched).
    Retry(Duration),
    /// A comment line (reported only when [`ParserConfig::comments`](crate::ParserConfig::comments)
    /// is on), without the colon and one leading space.
    Comment(Text),
    /// A block set the last event ID and dispatched no message: an id-only block
    /// (`id: 42\n\n`, as servers send to tell a new client where the stream stands), or one
    /// whose data was dropped for exceeding a limit. Reported for every such block, also when
    /// the id is the one already in force. The standard fires no event, but the id is set: a
    /// proxy forwards it ([`Item::into_event`]), a reconnecting client sends it as
    /// `Last-Event-ID` ([`Reconnect::on_item`](crate::reconnect::Reconnect::on_item) keeps it).
    ///
    /// ```
    /// use ssekit::{Item, Parser};
    /// let mut p = Parser::new();
    /// p.feed(&b"id: 42\n\n"[..]);
    /// assert!(matches!(p.next(), Some(Ok(Item::LastEventId(id))) if id == "42"));
    /// ```
    LastEventId(EventId),
}

impl Item {
    /// The message, if this item is one.
    ///
    /// ```
    /// # let mut p = ssekit::Parser::new();
    /// # p.feed(bytes::Bytes::from_static(b"data: x\n\n"));
    /// let msg = p.next().unwrap().unwrap().into_message().unwrap();
    /// assert_eq!(msg.data(), "x");
    /// ```
    #[must_use]
    pub fn into_message(self) -> Option<MessageEvent> {
        match self {
            Item::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The event that re-serves this item downstream, without copying: a message as
    /// [`MessageEvent::into_event`], a last-event-ID change as an id-only event, a `retry:` as
    /// a retry-only event and a comment as a comment.
    ///
    /// A proxy should rather send a `retry` with the next event that carries data than as a
    /// block of its own (see [`EventBuilder::retry`](crate::EventBuilder::retry)), and
    /// [`Event::with_retry`] adds it to one.
    ///
    /// ```
    /// use ssekit::Parser;
    /// let mut p = Parser::new();
    /// p.feed(&b"id: 42\n\nevent: goal\ndata: 1-0\n\n"[..]);
    /// let wire: Vec<_> = p.map(|item| item.unwrap().into_event().to_bytes()).collect();
    /// assert_eq!(wire, ["id: 42\n\n", "event: goal\ndata: 1-0\n\n"]);
    /// ```
    #[must_use]
    pub fn into_event(self) -> Event {
        match self {
            Item::Message(m) => m.into_event(),
            Item::LastEventId(id) => Event::from_parts(None, None, Some(id)),
            Item::Retry(retry) => Event::from_parts(None, None, None)
                .into_builder()
                .retry(retry)
                .build_valid(),
            Item::Comment(comment) => Event::from_parts(None, None, None)
                .into_builder()
                .comment(comment)
                .build_valid(),
        }
    }
}
