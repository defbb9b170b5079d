//! The outgoing [`Event`] and its [`EventBuilder`].

use crate::error::EventError;
use crate::field::{EventId, EventType};
use crate::text::Text;
use alloc::string::String;
use bytes::Bytes;
use core::fmt;
use core::time::Duration;

/// An event for a server to send: data plus an optional type, id, reconnection time and
/// comment.
///
/// Build one with [`Event::new`] (data only, cannot fail) or [`Event::builder`]; encode it
/// with [`Event::encode`] (into a buffer), [`Event::to_bytes`], or [`Event::into_frame`]
/// (without copying large data). Fields are written in the order comment, `event`, `id`,
/// `retry`, `data`, then the blank line that makes the client dispatch the event.
///
/// Every byte a client sees is what the caller meant: data is split into one `data:` line per
/// line (CR, LF and CRLF each end a line, CRLF counting once), so a client's `event.data`
/// equals the data with CR and CRLF turned into LF, and data can never forge a field or an
/// event. Event types and ids are validated when set.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ssekit::Event;
///
/// let event = Event::builder()
///     .event("goal")
///     .id(17u64)
///     .retry(Duration::from_secs(3))
///     .data("Mbappé scores!\n1 - 0")
///     .build()?;
/// assert_eq!(
///     event.to_bytes(),
///     "event: goal\nid: 17\nretry: 3000\ndata: Mbappé scores!\ndata: 1 - 0\n\n"
/// );
/// # Ok::<(), ssekit::error::EventError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[allow(clippy::struct_field_names)] // `event_type` names the wire field, as the accessor does
pub struct Event {
    data: Option<Data>,
    event_type: Option<EventType>,
    id: Option<EventId>,
    retry: Option<Duration>,
    comment: Option<Text>,
}

impl Event {
    /// An event that carries only data; as data cannot be invalid, this cannot fail.
    ///
    /// Takes `Bytes`, [`Text`], `String`, `Vec<u8>` and [`Data::from_static`] without copying or
    /// allocating (see [`Data`]). Data should be UTF-8: a client decodes it as UTF-8 and shows
    /// invalid bytes as U+FFFD (they cannot break the framing either way).
    ///
    /// ```
    /// let e = ssekit::Event::new("hello");
    /// assert_eq!(e.to_bytes(), "data: hello\n\n");
    /// ```
    #[must_use]
    pub fn new(data: impl Into<Data>) -> Event {
        Event {
            data: Some(data.into()),
            ..Event::default()
        }
    }

    /// Starts building an event.
    ///
    /// ```
    /// let e = ssekit::Event::builder().event("ping").data("").build().unwrap();
    /// assert_eq!(e.to_bytes(), "event: ping\ndata: \n\n");
    /// ```
    pub fn builder() -> EventBuilder {
        EventBuilder {
            inner: Ok(Event::default()),
        }
    }

    /// The event's data, if it has any.
    ///
    /// ```
    /// assert_eq!(ssekit::Event::new("x").data(), Some(&b"x"[..]));
    /// assert_eq!(ssekit::Event::default().data(), None);
    /// ```
    #[must_use]
    pub fn data(&self) -> Option<&[u8]> {
        self.data.as_ref().map(Data::as_bytes)
    }

    /// The event's type (`event:` field), if set.
    ///
    /// ```
    /// let e = ssekit::Event::builder().event("goal").build().unwrap();
    /// assert_eq!(e.event_type().unwrap(), "goal");
    /// ```
    #[must_use]
    pub fn event_type(&self) -> Option<&EventType> {
        self.event_type.as_ref()
    }

    /// The event's id, if set.
    ///
    /// ```
    /// let e = ssekit::Event::builder().id("7").build().unwrap();
    /// assert_eq!(e.id().unwrap(), "7");
    /// ```
    #[must_use]
    pub fn id(&self) -> Option<&EventId> {
        self.id.as_ref()
    }

    /// The reconnection time sent with the event, if set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = ssekit::Event::builder().retry(Duration::from_millis(1500)).build().unwrap();
    /// assert_eq!(e.retry(), Some(Duration::from_millis(1500)));
    /// ```
    #[must_use]
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The event's comment, if set (several comments are joined with `\n`).
    ///
    /// ```
    /// let e = ssekit::Event::builder().comment("a").comment("b").build().unwrap();
    /// assert_eq!(e.comment().unwrap(), "a\nb");
    /// ```
    #[must_use]
    pub fn comment(&self) -> Option<&Text> {
        self.comment.as_ref()
    }

    /// Takes the data out of the event, without copying.
    ///
    /// ```
    /// let data = ssekit::Event::new("payload").into_data().unwrap();
    /// assert_eq!(data.as_bytes(), b"payload");
    /// ```
    #[must_use]
    pub fn into_data(self) -> Option<Data> {
        self.data
    }

    /// Continues building from this event: to add a `retry`, a comment or another field to an
    /// event made elsewhere (a parsed message re-served by a proxy, say).
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = ssekit::Event::new("x").into_builder().retry(Duration::from_secs(1)).build().unwrap();
    /// assert_eq!(e.to_bytes(), "retry: 1000\ndata: x\n\n");
    /// ```
    pub fn into_builder(self) -> EventBuilder {
        EventBuilder { inner: Ok(self) }
    }

    /// The same event with a reconnection time (replacing one it had), to send `retry` along
    /// with an event made elsewhere, such as a parsed message a proxy re-serves.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = ssekit::Event::new("x").with_retry(Duration::from_millis(1500));
    /// assert_eq!(e.to_bytes(), "retry: 1500\ndata: x\n\n");
    /// ```
    #[must_use]
    pub fn with_retry(mut self, retry: Duration) -> Event {
        self.retry = Some(retry);
        self
    }

    /// The same event under `id`, replacing any it had.
    #[cfg(feature = "channel")]
    pub(crate) fn with_id(mut self, id: EventId) -> Event {
        self.id = Some(id);
        self
    }

    /// The same event without an id (and without `retry`): what a store gives back.
    #[cfg(feature = "channel")]
    pub(crate) fn without_id(mut self) -> Event {
        self.id = None;
        self.retry = None;
        self
    }

    /// An event from fields that are valid by construction (parsed ones).
    pub(crate) fn from_parts(
        data: Option<Data>,
        event_type: Option<EventType>,
        id: Option<EventId>,
    ) -> Event {
        Event {
            data,
            event_type,
            id,
            ..Event::default()
        }
    }

    /// Whether the encoded event ends with a blank line: it does when it has any field other
    /// than a comment. A comment-only event is written as comment lines alone, so that clients
    /// which treat every blank line as an event see nothing.
    pub(crate) fn has_fields(&self) -> bool {
        self.data.is_some()
            || self.event_type.is_some()
            || self.id.is_some()
            || self.retry.is_some()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Event");
        if let Some(data) = &self.data {
            let data = data.as_bytes();
            match core::str::from_utf8(data) {
                Ok(s) => d.field("data", &s),
                Err(_) => d.field("data", &data),
            };
        }
        if let Some(t) = &self.event_type {
            d.field("event", t);
        }
        if let Some(id) = &self.id {
            d.field("id", id);
        }
        if let Some(r) = &self.retry {
            d.field("retry", r);
        }
        if let Some(c) = &self.comment {
            d.field("comment", c);
        }
        d.finish()
    }
}

/// Builds an [`Event`]; made by [`Event::builder`].
///
/// Like the request builder of the `http` crate, it keeps the first invalid value it is given
/// and reports it from [`build`](EventBuilder::build), so calls chain without a `?` each.
///
/// ```
/// use ssekit::Event;
///
/// let ok = Event::builder().event("card").id("12").data("{\"player\":4}").build();
/// assert!(ok.is_ok());
///
/// let forged = Event::builder().event("x\revent: evil").data("hi").build();
/// assert_eq!(forged.unwrap_err().to_string(), "invalid event type: carriage return at byte 1");
/// ```
#[must_use = "an EventBuilder does nothing until `build` is called"]
pub struct EventBuilder {
    inner: Result<Event, EventError>,
}

impl EventBuilder {
    fn map(mut self, f: impl FnOnce(&mut Event) -> Result<(), EventError>) -> EventBuilder {
        if let Ok(event) = &mut self.inner {
            if let Err(e) = f(event) {
                self.inner = Err(e);
            }
        }
        self
    }

    /// Sets the data (replacing earlier data). Any bytes are accepted: each line becomes its
    /// own `data:` line. `Bytes`, [`Text`] and [`Data::from_static`] are not copied; a `String` or
    /// `Vec<u8>` is kept as it is (see [`Data`]).
    ///
    /// ```
    /// let e = ssekit::Event::builder().data("a\r\nb").build().unwrap();
    /// assert_eq!(e.to_bytes(), "data: a\ndata: b\n\n");
    /// ```
    pub fn data(self, data: impl Into<Data>) -> EventBuilder {
        let data = data.into();
        self.map(|e| {
            e.data = Some(data);
            Ok(())
        })
    }

    /// Sets the data to the JSON serialization of `value`.
    ///
    /// # Errors
    ///
    /// [`build`](EventBuilder::build) reports [`EventError::Json`] if serialization fails.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Score { home: u8, away: u8 }
    ///
    /// let e = ssekit::Event::builder().json(&Score { home: 1, away: 0 }).build().unwrap();
    /// assert_eq!(e.to_bytes(), "data: {\"home\":1,\"away\":0}\n\n");
    /// ```
    #[cfg(feature = "serde")]
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> EventBuilder {
        self.map(|e| {
            let json = serde_json::to_vec(value)
                .map_err(|err| EventError::Json(crate::error::JsonError(err)))?;
            e.data = Some(Data::from(json));
            Ok(())
        })
    }

    /// Sets the event type. Accepts an [`EventType`], or text that is checked here.
    ///
    /// # Errors
    ///
    /// [`build`](EventBuilder::build) reports the value if it contains CR or LF.
    ///
    /// ```
    /// use ssekit::{Event, EventType};
    /// const GOAL: EventType = EventType::from_static("goal");
    /// let e = Event::builder().event(GOAL).data("1-0").build().unwrap();
    /// assert_eq!(e.event_type().unwrap(), "goal");
    /// ```
    pub fn event<T>(self, event_type: T) -> EventBuilder
    where
        T: TryInto<EventType>,
        T::Error: Into<EventError>,
    {
        self.map(|e| {
            e.event_type = Some(event_type.try_into().map_err(Into::into)?);
            Ok(())
        })
    }

    /// Sets the id. Accepts an [`EventId`], an integer, or text that is checked here.
    ///
    /// # Errors
    ///
    /// [`build`](EventBuilder::build) reports the value if it contains CR, LF or NUL.
    ///
    /// ```
    /// let e = ssekit::Event::builder().id(42u64).data("x").build().unwrap();
    /// assert_eq!(e.to_bytes(), "id: 42\ndata: x\n\n");
    /// assert!(ssekit::Event::builder().id("a\0").build().is_err());
    /// ```
    pub fn id<T>(self, id: T) -> EventBuilder
    where
        T: TryInto<EventId>,
        T::Error: Into<EventError>,
    {
        self.map(|e| {
            e.id = Some(id.try_into().map_err(Into::into)?);
            Ok(())
        })
    }

    /// Sets the reconnection time the client should wait before reconnecting; written as whole
    /// milliseconds (rounded down).
    ///
    /// Send it on the first event that carries data rather than as a block of its own: some
    /// clients (Python's httpx-sse) turn a `retry`-only block into an empty event, others
    /// (sseclient-py) ignore it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = ssekit::Event::builder().retry(Duration::from_secs(10)).build().unwrap();
    /// assert_eq!(e.to_bytes(), "retry: 10000\n\n");
    /// ```
    pub fn retry(self, retry: Duration) -> EventBuilder {
        self.map(|e| {
            e.retry = Some(retry);
            Ok(())
        })
    }

    /// Adds a comment. Comments are ignored by clients' event handlers; text with line breaks
    /// becomes several comment lines. A second call appends another line.
    ///
    /// ```
    /// let e = ssekit::Event::builder().comment("hello\nworld").data("x").build().unwrap();
    /// assert_eq!(e.to_bytes(), ": hello\n: world\ndata: x\n\n");
    /// ```
    pub fn comment(self, comment: impl Into<Text>) -> EventBuilder {
        let comment = comment.into();
        self.map(|e| {
            e.comment = Some(match e.comment.take() {
                None => comment,
                Some(prev) => {
                    let mut joined = String::with_capacity(prev.len() + 1 + comment.len());
                    joined.push_str(&prev);
                    joined.push('\n');
                    joined.push_str(&comment);
                    Text::from(joined)
                }
            });
            Ok(())
        })
    }

    /// Finishes the event.
    ///
    /// # Errors
    ///
    /// The first invalid value given to the builder, as an [`EventError`].
    ///
    /// ```
    /// let err = ssekit::Event::builder().id("1\n\ndata: forged").build().unwrap_err();
    /// assert_eq!(err.to_string(), "invalid event id: line feed at byte 1");
    /// ```
    pub fn build(self) -> Result<Event, EventError> {
        self.inner
    }

    /// Finishes an event that only infallible setters (data, retry, comment) touched.
    pub(crate) fn build_valid(self) -> Event {
        self.inner.unwrap_or_default()
    }
}

impl fmt::Debug for EventBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EventBuilder").field(&self.inner).finish()
    }
}

macro_rules! id_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for EventId {
            /// Writes the number in decimal, without allocating.
            fn from(n: $t) -> EventId {
                let mut buf = [0u8; 40];
                let digits = crate::decimal::write_decimal(u128::from(n), &mut buf);
                EventId::from_parsed(Text::copy_lossy(digits))
            }
        }
    )*};
}
id_from_int!(u8, u16, u32, u64);

impl From<usize> for EventId {
    /// Writes the number in decimal, without allocating.
    fn from(n: usize) -> EventId {
        let mut buf = [0u8; 40];
        // usize is at most 64 bits wide on every target Rust supports.
        #[allow(clippy::cast_possible_truncation)]
        let digits = crate::decimal::write_decimal(n as u128, &mut buf);
        EventId::from_parsed(Text::copy_lossy(digits))
    }
}

#[derive(Clone)]
enum DataRepr {
    Bytes(Bytes),
    Vec(alloc::vec::Vec<u8>),
    Text(Text),
}

/// An event's data, as the caller gave it: `Bytes`, a literal ([`Data::from_static`]), `String`, `Vec<u8>` or
/// [`Text`], kept without copying or allocating.
///
/// (Turning a `String` whose capacity exceeds its length into `Bytes` would allocate; keeping
/// it as it is avoids one allocation per event on the common path of a server that formats
/// JSON into a `String`.)
///
/// ```
/// use ssekit::Data;
/// let d = Data::from(String::from("{\"n\":1}"));
/// assert_eq!(d.as_bytes(), b"{\"n\":1}");
/// assert_eq!(d.len(), 7);
/// ```
#[derive(Clone)]
pub struct Data(DataRepr);

impl Data {
    /// Data from a literal, kept without copying.
    ///
    /// ```
    /// const HELLO: ssekit::Data = ssekit::Data::from_static("hello");
    /// assert_eq!(ssekit::Event::new(HELLO).to_bytes(), "data: hello\n\n");
    /// ```
    #[must_use]
    pub const fn from_static(s: &'static str) -> Data {
        Data(DataRepr::Bytes(Bytes::from_static(s.as_bytes())))
    }

    /// The data's bytes.
    ///
    /// ```
    /// assert_eq!(ssekit::Data::from("x").as_bytes(), b"x");
    /// ```
    #[must_use]
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            DataRepr::Bytes(b) => b,
            DataRepr::Vec(v) => v,
            DataRepr::Text(t) => t.as_bytes(),
        }
    }

    /// The length in bytes.
    ///
    /// ```
    /// assert_eq!(ssekit::Data::from("abc").len(), 3);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the data is empty (an event with empty data still dispatches).
    ///
    /// ```
    /// assert!(ssekit::Data::from("").is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// Converts into [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html): free for `Bytes`, literals and long [`Text`]; a `Vec`
    /// or `String` becomes `Bytes` without copying (which allocates a small header when its
    /// capacity exceeds its length).
    ///
    /// ```
    /// let b = ssekit::Data::from(vec![1u8, 2]).into_bytes();
    /// assert_eq!(&b[..], &[1, 2]);
    /// ```
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            DataRepr::Bytes(b) => b,
            DataRepr::Vec(v) => Bytes::from(v),
            DataRepr::Text(t) => t.into_bytes(),
        }
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Data) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Data {}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match core::str::from_utf8(self.as_bytes()) {
            Ok(s) => fmt::Debug::fmt(s, f),
            Err(_) => fmt::Debug::fmt(self.as_bytes(), f),
        }
    }
}

impl From<Bytes> for Data {
    fn from(b: Bytes) -> Data {
        Data(DataRepr::Bytes(b))
    }
}

impl From<bytes::BytesMut> for Data {
    fn from(b: bytes::BytesMut) -> Data {
        Data(DataRepr::Bytes(b.freeze()))
    }
}

impl From<&str> for Data {
    /// Copies the text (inline when short, which allocates nothing); [`Data::from_static`]
    /// keeps a literal without copying.
    fn from(s: &str) -> Data {
        Data(DataRepr::Text(Text::from(s)))
    }
}

impl From<&String> for Data {
    /// Copies the text, as `From<&str>` does.
    fn from(s: &String) -> Data {
        Data::from(s.as_str())
    }
}

impl From<&[u8]> for Data {
    /// Copies the bytes; `Bytes::from_static` keeps a byte literal without copying.
    fn from(s: &[u8]) -> Data {
        Data(DataRepr::Bytes(Bytes::copy_from_slice(s)))
    }
}

impl From<String> for Data {
    fn from(s: String) -> Data {
        Data(DataRepr::Vec(s.into_bytes()))
    }
}

impl From<alloc::vec::Vec<u8>> for Data {
    fn from(v: alloc::vec::Vec<u8>) -> Data {
        Data(DataRepr::Vec(v))
    }
}

impl From<Text> for Data {
    fn from(t: Text) -> Data {
        Data(DataRepr::Text(t))
    }
}

impl From<Data> for Bytes {
    fn from(d: Data) -> Bytes {
        d.into_bytes()
    }
}
