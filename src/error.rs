//! The crate's error types.

use core::fmt;

/// Which field of an event a value was meant for.
///
/// ```
/// let err = ssekit::EventId::try_from("a\nb").unwrap_err();
/// assert_eq!(err.field(), ssekit::error::Field::Id);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The `event:` field (the event type).
    Event,
    /// The `id:` field.
    Id,
}

impl Field {
    /// The field's name in the stream: `event` or `id`.
    ///
    /// ```
    /// assert_eq!(ssekit::error::Field::Event.as_str(), "event");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Event => "event",
            Field::Id => "id",
        }
    }
}

/// What is wrong with a refused field value.
///
/// ```
/// use ssekit::error::Problem;
/// let err = ssekit::EventId::try_from("a\0").unwrap_err();
/// assert_eq!(err.problem(), Problem::Nul);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Problem {
    /// A line feed (`\n`), which would end the line and let the rest forge fields.
    LineFeed,
    /// A carriage return (`\r`), which ends a line just as `\n` does.
    CarriageReturn,
    /// A NUL byte in an id: browsers ignore such an id, so it would be lost silently.
    Nul,
    /// Bytes that are not UTF-8.
    NotUtf8,
}

impl Problem {
    pub(crate) fn from_byte(b: u8) -> Problem {
        match b {
            b'\n' => Problem::LineFeed,
            b'\r' => Problem::CarriageReturn,
            _ => Problem::Nul,
        }
    }
}

/// A value refused for an `event` or `id` field, because it could inject a line or would be
/// ignored by the client.
///
/// ```
/// let err = ssekit::EventType::try_from("x\revent: evil").unwrap_err();
/// assert_eq!(err.to_string(), "invalid event type: carriage return at byte 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvalidField {
    field: Field,
    problem: Problem,
    position: usize,
}

impl InvalidField {
    pub(crate) fn new(field: Field, problem: Problem, position: usize) -> InvalidField {
        InvalidField {
            field,
            problem,
            position,
        }
    }

    /// The field the value was meant for.
    ///
    /// ```
    /// let err = ssekit::EventType::try_from("\n").unwrap_err();
    /// assert_eq!(err.field(), ssekit::error::Field::Event);
    /// ```
    #[must_use]
    pub fn field(&self) -> Field {
        self.field
    }

    /// What is wrong with it.
    ///
    /// ```
    /// let err = ssekit::EventType::try_from("\n").unwrap_err();
    /// assert_eq!(err.problem(), ssekit::error::Problem::LineFeed);
    /// ```
    #[must_use]
    pub fn problem(&self) -> Problem {
        self.problem
    }

    /// The byte offset of the first offending byte in the value.
    ///
    /// ```
    /// assert_eq!(ssekit::EventId::try_from("12\r").unwrap_err().position(), 2);
    /// ```
    #[must_use]
    pub fn position(&self) -> usize {
        self.position
    }
}

impl fmt::Display for InvalidField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = match self.field {
            Field::Event => "event type",
            Field::Id => "event id",
        };
        let what = match self.problem {
            Problem::LineFeed => "line feed",
            Problem::CarriageReturn => "carriage return",
            Problem::Nul => "NUL",
            Problem::NotUtf8 => "not UTF-8",
        };
        write!(f, "invalid {field}: {what} at byte {}", self.position)
    }
}

impl core::error::Error for InvalidField {}

/// Why [`EventBuilder::build`](crate::EventBuilder::build) refused an event.
///
/// ```
/// let err = ssekit::Event::builder().id("1\n\ndata: forged").data("x").build().unwrap_err();
/// assert!(matches!(err, ssekit::error::EventError::InvalidField(_)));
/// assert_eq!(err.to_string(), "invalid event id: line feed at byte 1");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum EventError {
    /// An `event` or `id` value that could inject a line.
    InvalidField(InvalidField),
    /// The value given to [`EventBuilder::json`](crate::EventBuilder::json) could not be
    /// serialized.
    #[cfg(feature = "serde")]
    Json(JsonError),
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::InvalidField(e) => fmt::Display::fmt(e, f),
            #[cfg(feature = "serde")]
            EventError::Json(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for EventError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            EventError::InvalidField(e) => e.source(),
            #[cfg(feature = "serde")]
            EventError::Json(e) => e.source(),
        }
    }
}

impl From<InvalidField> for EventError {
    fn from(e: InvalidField) -> EventError {
        EventError::InvalidField(e)
    }
}

impl From<core::convert::Infallible> for EventError {
    fn from(e: core::convert::Infallible) -> EventError {
        match e {}
    }
}

/// A value that could not be serialized to JSON event data.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use std::collections::HashMap;
/// // JSON object keys must be strings.
/// let mut map = HashMap::new();
/// map.insert((1, 2), 3);
/// let err = ssekit::Event::builder().json(&map).build().unwrap_err();
/// assert!(err.to_string().starts_with("cannot serialize event data as JSON"));
/// # }
/// ```
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
#[derive(Debug)]
pub struct JsonError(pub(crate) serde_json::Error);

#[cfg(feature = "serde")]
impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot serialize event data as JSON: {}", self.0)
    }
}

#[cfg(feature = "serde")]
impl core::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A message's data is not the JSON [`MessageEvent::json`](crate::MessageEvent::json) was
/// asked for. It keeps the raw data (to log or to retry with another type); its `source()` is
/// `serde_json`'s error, which tells where. The message shows at most 64 bytes of the data.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use ssekit::{EventId, EventType, MessageEvent, Text};
/// let m = MessageEvent::new(Text::from_static("[1, 2"), EventType::from_static("delta"), EventId::EMPTY);
/// let err = m.json::<Vec<u8>>().unwrap_err();
/// assert_eq!(err.data(), "[1, 2");
/// assert_eq!(err.event_type(), "delta");
/// assert!(std::error::Error::source(&err).is_some());
/// # }
/// ```
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
#[derive(Debug)]
pub struct DataJsonError {
    pub(crate) data: crate::Text,
    pub(crate) event_type: Option<crate::EventType>,
    pub(crate) source: serde_json::Error,
}

#[cfg(feature = "serde")]
impl DataJsonError {
    /// The message's data, whole.
    ///
    /// ```
    /// # use ssekit::{EventId, EventType, MessageEvent, Text};
    /// let m = MessageEvent::new(Text::from_static("x"), EventType::MESSAGE, EventId::EMPTY);
    /// assert_eq!(m.json::<u8>().unwrap_err().data(), "x");
    /// ```
    #[must_use]
    pub fn data(&self) -> &crate::Text {
        &self.data
    }

    /// The message's event type.
    ///
    /// ```
    /// # use ssekit::{EventId, EventType, MessageEvent, Text};
    /// let m = MessageEvent::new(Text::from_static("x"), EventType::MESSAGE, EventId::EMPTY);
    /// assert_eq!(m.json::<u8>().unwrap_err().event_type(), "message");
    /// ```
    #[must_use]
    pub fn event_type(&self) -> &str {
        self.event_type.as_ref().map_or("message", |t| t.as_str())
    }

    /// The message's data, taken out.
    ///
    /// ```
    /// # use ssekit::{EventId, EventType, MessageEvent, Text};
    /// let m = MessageEvent::new(Text::from_static("x"), EventType::MESSAGE, EventId::EMPTY);
    /// assert_eq!(m.json::<u8>().unwrap_err().into_data(), "x");
    /// ```
    #[must_use]
    pub fn into_data(self) -> crate::Text {
        self.data
    }
}

#[cfg(feature = "serde")]
impl fmt::Display for DataJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 64;
        let data = self.data.as_str();
        let mut end = data.len().min(SHOWN);
        while !data.is_char_boundary(end) {
            end -= 1;
        }
        let more = if end < data.len() { "…" } else { "" };
        write!(
            f,
            "the data of a `{}` event is not the expected JSON: {:?}{more}",
            self.event_type(),
            &data[..end]
        )
    }
}

#[cfg(feature = "serde")]
impl core::error::Error for DataJsonError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A limit of [`ParserConfig`](crate::ParserConfig) was exceeded.
///
/// After reporting it the parser discards the event in progress, skips input up to the next
/// blank line, and goes on with the event after it; nothing of the skipped event is kept,
/// and memory stays within the limits.
///
/// ```
/// use ssekit::{Parser, ParserConfig, error::ParseError};
///
/// let mut p = Parser::with_config(ParserConfig::default().with_max_line_len(8));
/// p.feed(bytes::Bytes::from_static(b"data: far too long\n\ndata: ok\n\n"));
/// assert_eq!(p.next().unwrap().unwrap_err(), ParseError::LineTooLong { limit: 8 });
/// assert_eq!(p.next().unwrap().unwrap().into_message().unwrap().data(), "ok");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// A line was longer than the configured maximum (in bytes, without its line ending).
    LineTooLong {
        /// The configured maximum.
        limit: usize,
    },
    /// An event's data was larger than the configured maximum (in bytes, counting the line
    /// feeds that join its lines).
    EventTooLarge {
        /// The configured maximum.
        limit: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::LineTooLong { limit } => {
                write!(
                    f,
                    "event stream line longer than the limit of {limit} bytes"
                )
            }
            ParseError::EventTooLarge { limit } => {
                write!(f, "event data larger than the limit of {limit} bytes")
            }
        }
    }
}

impl core::error::Error for ParseError {}

/// An error from a parse stream: the transport's own error, passed through, or a limit
/// exceeded.
///
/// ```
/// use ssekit::error::{ParseError, StreamError};
/// let e: StreamError<std::io::Error> = StreamError::Parse(ParseError::EventTooLarge { limit: 1 });
/// assert_eq!(e.to_string(), "event data larger than the limit of 1 bytes");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamError<E> {
    /// The byte stream below failed; its error, unchanged.
    Transport(E),
    /// The parser's limits were exceeded (see [`ParseError`]); the stream goes on after it.
    Parse(ParseError),
}

impl<E> StreamError<E> {
    /// The transport error, if this is one.
    ///
    /// ```
    /// use ssekit::error::StreamError;
    /// assert_eq!(StreamError::Transport(7).into_transport(), Some(7));
    /// ```
    pub fn into_transport(self) -> Option<E> {
        match self {
            StreamError::Transport(e) => Some(e),
            StreamError::Parse(_) => None,
        }
    }
}

/// A transport error displays as "reading the event stream failed" and is its
/// [`source`](core::error::Error::source), so error reporters print each cause once.
impl<E> fmt::Display for StreamError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Transport(_) => f.write_str("reading the event stream failed"),
            StreamError::Parse(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for StreamError<E> {
    /// The transport error; a parse error has no source.
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            StreamError::Transport(e) => Some(e),
            StreamError::Parse(_) => None,
        }
    }
}

impl<E> From<ParseError> for StreamError<E> {
    fn from(e: ParseError) -> StreamError<E> {
        StreamError::Parse(e)
    }
}

/// Shows an error with its whole chain of causes, for a log line or a message to a person:
/// `reading the event stream failed: error decoding response body: connection reset`.
///
/// The crate's errors follow the Rust convention of keeping the cause out of their own
/// `Display` and in [`source()`](core::error::Error::source), so `"{e}"` alone names only the
/// outermost step; `Report` walks the chain (as anyhow's `{:#}` does).
///
/// ```
/// use ssekit::error::{Report, StreamError};
///
/// let cause = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
/// let e: StreamError<std::io::Error> = StreamError::Transport(cause);
/// assert_eq!(e.to_string(), "reading the event stream failed");
/// assert_eq!(
///     Report::new(&e).to_string(),
///     "reading the event stream failed: connection reset"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct Report<'a>(&'a (dyn core::error::Error + 'a));

impl<'a> Report<'a> {
    /// A report of `error` and its causes.
    ///
    /// ```
    /// let e = ssekit::error::ParseError::LineTooLong { limit: 8 };
    /// assert_eq!(ssekit::error::Report::new(&e).to_string(), "event stream line longer than the limit of 8 bytes");
    /// ```
    #[must_use]
    pub fn new(error: &'a (dyn core::error::Error + 'a)) -> Report<'a> {
        Report(error)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
