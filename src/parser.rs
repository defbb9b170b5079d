//! The sans-IO [`Parser`].
//!
//! Implements WHATWG HTML §9.2.6 *Interpreting an event stream* (and the stream grammar of
//! §9.2.5), incrementally: bytes go in with [`Parser::feed`], [`Item`]s come out of
//! [`Parser::next`]. It does no I/O, reads no clock, and allocates nothing on the common path.

use crate::config::ParserConfig;
use crate::error::ParseError;
use crate::field::{EventId, EventType};
use crate::line::{Line, Lines};
use crate::message::{Item, MessageEvent};
use crate::text::{Ascii, DataBuf, Text};
use bytes::Bytes;
use core::fmt;
use core::mem;
use core::time::Duration;

/// The data buffer of the event being read.
#[derive(Clone)]
enum Data {
    /// No `data:` line yet.
    Empty,
    /// One line, held as a view of its chunk (or inline) — the zero-copy case.
    One(Text),
    /// Several lines, joined in `Fields::data_buf`.
    Many,
}

/// A streaming, sans-IO parser for `text/event-stream`.
///
/// Feed it chunks of the response body as they arrive ([`feed`](Parser::feed)), then pull what
/// it found ([`next`](Parser::next)) until it returns `None`, which means "need more bytes";
/// call [`finish`](Parser::finish) at the end of the stream. Chunks may be split anywhere
/// (inside a field name, between CR and LF, inside a UTF-8 sequence or the BOM): the output is
/// the same as for the whole stream at once.
///
/// It follows the WHATWG HTML standard's *Parsing an event stream* and *Interpreting an event
/// stream* exactly:
///
/// - one UTF-8 BOM is stripped at the very start; invalid UTF-8 becomes U+FFFD;
/// - lines end at CRLF, LF or CR (a CR at the end of a chunk ends the line at once; an LF
///   right after it is then skipped);
/// - a line starting with `:` is a comment; otherwise the field name runs to the first colon
///   and one leading space is removed from the value; a line with no colon is a field with an
///   empty value; unknown fields are ignored;
/// - `data` appends to the data buffer, `event` sets the type, `id` sets the last event id
///   (unless it contains NUL), `retry` sets the reconnection time if it is all ASCII digits;
/// - a blank line dispatches: a [`MessageEvent`] of type `message` unless set; if no data was
///   given, no message, but a block that had an `id:` line still sets the last event id and is
///   reported as [`Item::LastEventId`]; the type resets after each dispatch, the last event id
///   persists;
/// - at the end of the stream, an unfinished event is discarded.
///
/// Data that is one line within one chunk is not copied (see [`MessageEvent`]); a line split
/// across chunks is joined once; work is linear in the input. Memory is bounded by the limits
/// of [`ParserConfig`].
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use ssekit::{Item, Parser};
///
/// let mut parser = Parser::new();
/// parser.feed(Bytes::from_static(b"event: score\ndata: 1"));
/// assert!(parser.next().is_none()); // the event is not complete yet
/// parser.feed(Bytes::from_static(b"-0\n\n"));
/// match parser.next() {
///     Some(Ok(Item::Message(msg))) => {
///         assert_eq!(msg.event_type(), "score");
///         assert_eq!(msg.data(), "1-0");
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// parser.finish();
/// assert!(parser.next().is_none());
/// ```
pub struct Parser {
    config: ParserConfig,
    /// Bytes into lines.
    lines: Lines,
    /// Lines into fields, events and the stream state.
    fields: Fields,
}

/// What the lines said: the event being read, and the stream state that outlives events.
struct Fields {
    config: ParserConfig,
    // The event being read.
    data: Data,
    /// The data of a multi-line event; never grown past the event limit.
    data_buf: DataBuf,
    data_len: usize,
    /// The data length of the last multi-line event: the buffer of the next one grows towards
    /// it, so a stream of large events is not grown by doubling, event after event.
    many_hint: usize,
    event_type: Option<EventType>,
    id_buf: EventId,
    id_in_block: bool,
    // Stream state that outlives events.
    last_id: EventId,
    retry: Option<Duration>,
}

impl Default for Parser {
    fn default() -> Parser {
        Parser::new()
    }
}

impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser")
            .field("config", &self.config)
            .field("buffered", &self.buffered_len())
            .field("last_event_id", &self.fields.last_id)
            .field("retry", &self.fields.retry)
            .finish_non_exhaustive()
    }
}

impl Parser {
    /// A parser with the default [`ParserConfig`].
    ///
    /// ```
    /// let parser = ssekit::Parser::new();
    /// assert_eq!(parser.last_event_id(), "");
    /// ```
    #[must_use]
    pub fn new() -> Parser {
        Parser::with_config(ParserConfig::new())
    }

    /// A parser with the given limits and options.
    ///
    /// ```
    /// let parser = ssekit::Parser::with_config(ssekit::ParserConfig::new().with_max_line_len(4096));
    /// assert_eq!(parser.config().max_line_len(), 4096);
    /// ```
    #[must_use]
    pub fn with_config(config: ParserConfig) -> Parser {
        Parser {
            config,
            lines: Lines::new(config.max_line_len),
            fields: Fields {
                config,
                data: Data::Empty,
                data_buf: DataBuf::new(),
                data_len: 0,
                many_hint: 0,
                event_type: None,
                id_buf: EventId::EMPTY,
                id_in_block: false,
                last_id: EventId::EMPTY,
                retry: None,
            },
        }
    }

    /// The configuration in force.
    ///
    /// ```
    /// assert!(!ssekit::Parser::new().config().comments());
    /// ```
    #[must_use]
    pub fn config(&self) -> &ParserConfig {
        &self.config
    }

    /// The last event id of the stream, as a reconnecting client sends it in `Last-Event-ID`.
    ///
    /// It changes when a blank line ends a block that had an `id:` line — also a block with no
    /// data, which dispatches no message. An `id:` line of an unfinished block does not count
    /// yet, as in a browser.
    ///
    /// ```
    /// use ssekit::Item;
    /// let mut p = ssekit::Parser::new();
    /// p.feed(bytes::Bytes::from_static(b"id: 41\n\nid: 42\n"));
    /// // The id-only block dispatches no message, but says that the id changed.
    /// assert!(matches!(p.next(), Some(Ok(Item::LastEventId(id))) if id == "41"));
    /// assert!(p.next().is_none());
    /// assert_eq!(p.last_event_id(), "41");
    /// ```
    #[must_use]
    pub fn last_event_id(&self) -> &EventId {
        &self.fields.last_id
    }

    /// Sets the last event id, for example to resume a stream from a stored id.
    ///
    /// ```
    /// let mut p = ssekit::Parser::new();
    /// p.set_last_event_id(ssekit::EventId::from(7u64));
    /// p.feed(bytes::Bytes::from_static(b"data: x\n\n"));
    /// assert_eq!(p.next_message().unwrap().unwrap().last_event_id(), "7");
    /// ```
    pub fn set_last_event_id(&mut self, id: EventId) {
        self.fields.id_buf = id.clone();
        self.fields.last_id = id;
    }

    /// The reconnection time most recently set by a `retry:` line, if any.
    ///
    /// ```
    /// let mut p = ssekit::Parser::new();
    /// p.feed(bytes::Bytes::from_static(b"retry: 2500\n"));
    /// let _ = p.next();
    /// assert_eq!(p.retry(), Some(std::time::Duration::from_millis(2500)));
    /// ```
    #[must_use]
    pub fn retry(&self) -> Option<Duration> {
        self.fields.retry
    }

    /// How many bytes the parser holds beyond the chunks it was given: the start of an
    /// unfinished line and the data of an unfinished multi-line event.
    ///
    /// ```
    /// let mut p = ssekit::Parser::new();
    /// p.feed(bytes::Bytes::from_static(b"data: abc"));
    /// assert!(p.next().is_none());
    /// assert_eq!(p.buffered_len(), 9);
    /// ```
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.lines.buffered_len() + self.fields.data_buf.len()
    }

    /// Whether [`next`](Parser::next) has nothing to give until more input (or the end) is fed.
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        self.lines.is_idle()
    }

    /// Gives the parser the next chunk of the stream. Chunks may be of any size and split
    /// anywhere. Call [`next`](Parser::next) until it returns `None` before feeding more, to
    /// keep memory within one chunk plus the limits (chunks fed earlier are queued).
    ///
    /// ```
    /// let mut p = ssekit::Parser::new();
    /// p.feed(&b"data: a\n\n"[..]);
    /// p.feed(String::from("data: b\n\n"));
    /// assert_eq!(p.next_message().unwrap().unwrap().data(), "a");
    /// assert_eq!(p.next_message().unwrap().unwrap().data(), "b");
    /// ```
    pub fn feed(&mut self, chunk: impl Into<Bytes>) {
        self.lines.feed(chunk.into());
    }

    /// Tells the parser that the stream has ended. An unfinished line and an unfinished event
    /// are discarded, as the standard requires; what was complete can still be pulled.
    ///
    /// ```
    /// let mut p = ssekit::Parser::new();
    /// p.feed(bytes::Bytes::from_static(b"data: done\n\ndata: cut off\n"));
    /// p.finish();
    /// assert_eq!(p.next_message().unwrap().unwrap().data(), "done");
    /// assert!(p.next().is_none());
    /// ```
    pub fn finish(&mut self) {
        self.lines.finish();
    }

    /// Whether [`finish`](Parser::finish) was called and everything was pulled.
    ///
    /// ```
    /// let mut p = ssekit::Parser::new();
    /// p.finish();
    /// assert!(p.next().is_none());
    /// assert!(p.is_finished());
    /// ```
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.lines.is_finished()
    }

    /// Prepares for a new connection: forgets all input and the event in progress, and looks
    /// for a BOM again; keeps the last event id and reconnection time, as a reconnecting
    /// `EventSource` does.
    ///
    /// ```
    /// let mut p = ssekit::Parser::new();
    /// p.feed(bytes::Bytes::from_static(b"id: 5\n\ndata: partial"));
    /// let _ = p.next();
    /// p.reset();
    /// p.feed(bytes::Bytes::from_static(b"\xEF\xBB\xBFdata: fresh\n\n"));
    /// let msg = p.next_message().unwrap().unwrap();
    /// assert_eq!((msg.data(), msg.last_event_id().as_str()), ("fresh", "5"));
    /// ```
    pub fn reset(&mut self) {
        let last_id = mem::take(&mut self.fields.last_id);
        let retry = self.fields.retry;
        *self = Parser::with_config(self.config);
        self.set_last_event_id(last_id);
        self.fields.retry = retry;
    }

    /// The next message, skipping other items (retry, comments, id-only blocks; the last event
    /// ID they set is still [`last_event_id`](Parser::last_event_id)).
    ///
    /// # Errors
    ///
    /// A [`ParseError`] when a limit was exceeded; parsing goes on after it.
    ///
    /// ```
    /// let mut p = ssekit::Parser::new();
    /// p.feed(bytes::Bytes::from_static(b"retry: 10\n: ping\ndata: x\n\n"));
    /// assert_eq!(p.next_message().unwrap().unwrap().data(), "x");
    /// ```
    pub fn next_message(&mut self) -> Option<Result<MessageEvent, ParseError>> {
        loop {
            match self.next()? {
                Ok(Item::Message(m)) => return Some(Ok(m)),
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The next item found in the input, or `None` when more input is needed (or the stream
    /// has finished).
    ///
    /// # Errors
    ///
    /// A [`ParseError`] when a line or an event exceeds its limit. The parser then skips to the
    /// next blank line and goes on; calling `next` again is fine.
    ///
    /// ```
    /// let mut p = ssekit::Parser::new();
    /// p.feed(bytes::Bytes::from_static(b"data: x\n\n"));
    /// assert!(p.next().unwrap().is_ok());
    /// assert!(p.next().is_none());
    /// ```
    #[inline]
    #[allow(clippy::should_implement_trait)] // it does implement Iterator, via this method
    pub fn next(&mut self) -> Option<Result<Item, ParseError>> {
        if self.lines.is_idle() {
            // Nothing to parse (the common answer after a small read): no need to go through
            // the line loop.
            return None;
        }
        loop {
            let out = match self.lines.next_line()? {
                Line::InChunk { line, src, ascii } => self
                    .fields
                    .line_complete(line, Some(Src { chunk: src, ascii })),
                Line::Joined(line) => self.fields.line_complete(line, None),
                Line::Data(value) => self.fields.owned_data_line(value).map(Err),
                Line::TooLong => {
                    self.fields.drop_event();
                    return Some(Err(ParseError::LineTooLong {
                        limit: self.config.max_line_len,
                    }));
                }
                Line::End => {
                    self.fields.end_of_stream();
                    return None;
                }
            };
            match out {
                None => {}
                Some(Err(e @ ParseError::EventTooLarge { .. })) => {
                    self.lines.skip_to_blank_line();
                    return Some(Err(e));
                }
                Some(out) => return Some(out),
            }
        }
    }
}

impl Fields {
    /// Forgets the data and type of the event in progress.
    fn drop_event(&mut self) {
        self.data = Data::Empty;
        self.data_buf = DataBuf::new();
        self.data_len = 0;
    }

    /// Interprets one complete line (without its line ending). `src`, when given, is the chunk
    /// that `line` points into, so values can be views of it.
    #[inline]
    fn line_complete<'a>(
        &mut self,
        line: &'a [u8],
        src: Option<Src<'a>>,
    ) -> Option<Result<Item, ParseError>> {
        if let Some(value) = line.strip_prefix(b"data:") {
            return self.data_line(strip_space(value), src).map(Err);
        }
        let Some(&first) = line.first() else {
            return self.dispatch().map(Ok);
        };
        if first == b':' {
            if self.config.comments {
                return Some(Ok(Item::Comment(text(strip_space(&line[1..]), src))));
            }
            return None;
        }
        // The usual fields, recognised from their first bytes without a colon search.
        if let Some(value) = line.strip_prefix(b"id:") {
            self.id_field(strip_space(value), src);
            return None;
        }
        if let Some(value) = line.strip_prefix(b"event:") {
            self.event_field(strip_space(value), src);
            return None;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => (&line[..colon], strip_space(&line[colon + 1..])),
            None => (line, &[][..]),
        };
        match name {
            b"data" => self.data_line(value, src).map(Err),
            b"event" => {
                self.event_field(value, src);
                None
            }
            b"id" => {
                self.id_field(value, src);
                None
            }
            b"retry" => {
                let ms = parse_digits(value)?;
                let retry = Duration::from_millis(ms);
                self.retry = Some(retry);
                Some(Ok(Item::Retry(retry)))
            }
            _ => None,
        }
    }

    #[inline]
    fn event_field<'a>(&mut self, value: &'a [u8], src: Option<Src<'a>>) {
        self.event_type = if value.is_empty() {
            None
        } else {
            Some(EventType::from_parsed(text(value, src)))
        };
    }

    #[inline]
    fn id_field<'a>(&mut self, value: &'a [u8], src: Option<Src<'a>>) {
        if !value.contains(&0) {
            self.id_buf = EventId::from_parsed(text(value, src));
            self.id_in_block = true;
        }
    }

    #[inline]
    fn data_line<'a>(&mut self, value: &'a [u8], src: Option<Src<'a>>) -> Option<ParseError> {
        let add = value.len() + usize::from(!matches!(self.data, Data::Empty));
        if self.data_len + add > self.config.max_event_len {
            self.drop_event();
            return Some(ParseError::EventTooLarge {
                limit: self.config.max_event_len,
            });
        }
        self.data_len += add;
        let limit = self.config.max_event_len;
        let ascii = src.and_then(|s| s.ascii);
        if matches!(self.data, Data::Many) {
            // The common case of a long event first, without moving `data` in and out.
            self.data_buf.push_line(value, ascii, limit);
        } else if let Data::One(first) = mem::replace(&mut self.data, Data::Many) {
            // The buffer grows towards the size of the last multi-line event.
            self.data_buf = DataBuf::start(first, self.many_hint, limit);
            self.data_buf.push_line(value, ascii, limit);
        } else {
            self.data = Data::One(text(value, src));
        }
        None
    }

    /// A data line whose value the splitter handed over owned.
    #[inline]
    fn owned_data_line(&mut self, value: Bytes) -> Option<ParseError> {
        if matches!(self.data, Data::Empty) && value.len() <= self.config.max_event_len {
            self.data_len = value.len();
            self.data = Data::One(Text::from_utf8_lossy(value));
            return None;
        }
        self.data_line(&value, None)
    }

    /// A blank line: dispatch the event, if it has data.
    #[inline]
    fn dispatch(&mut self) -> Option<Item> {
        if self.id_in_block {
            self.last_id = self.id_buf.clone();
        }
        let id_in_block = mem::replace(&mut self.id_in_block, false);
        let event_type = self.event_type.take();
        self.data_len = 0;
        let data = match mem::replace(&mut self.data, Data::Empty) {
            Data::Empty => {
                return id_in_block.then(|| Item::LastEventId(self.last_id.clone()));
            }
            Data::One(t) => t,
            Data::Many => {
                let buf = mem::replace(&mut self.data_buf, DataBuf::new());
                self.many_hint = buf.len();
                buf.into_text()
            }
        };
        Some(Item::Message(MessageEvent {
            data,
            event_type: event_type.unwrap_or(EventType::MESSAGE),
            last_event_id: self.last_id.clone(),
            id_in_block,
        }))
    }

    fn end_of_stream(&mut self) {
        // An unfinished event is discarded.
        self.drop_event();
        self.event_type = None;
        self.id_buf = self.last_id.clone();
        self.id_in_block = false;
    }
}

impl Iterator for Parser {
    type Item = Result<Item, ParseError>;

    /// Same as [`Parser::next`]: `None` means "need more input", so the iterator resumes
    /// after the next [`feed`](Parser::feed).
    fn next(&mut self) -> Option<Self::Item> {
        Parser::next(self)
    }
}

#[inline]
fn strip_space(value: &[u8]) -> &[u8] {
    match value {
        [b' ', rest @ ..] => rest,
        _ => value,
    }
}

/// The chunk a line lies in, and the line again if the scanner found it all ASCII.
#[derive(Clone, Copy)]
struct Src<'a> {
    chunk: &'a Bytes,
    ascii: Option<Ascii<'a>>,
}

#[inline]
fn text<'a>(value: &'a [u8], src: Option<Src<'a>>) -> Text {
    match src {
        Some(Src { chunk, ascii }) => match ascii.and_then(|line| line.within(value)) {
            Some(value) => Text::from_ascii_slice(chunk, value),
            None => Text::from_slice_lossy(chunk, value),
        },
        None => Text::copy_lossy(value),
    }
}

/// A `retry` value: ASCII digits only, at least one; too large saturates.
fn parse_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    fn messages(p: &mut Parser) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        while let Some(item) = p.next() {
            if let Ok(Item::Message(m)) = item {
                out.push((
                    m.event_type().into(),
                    m.data().into(),
                    m.last_event_id().as_str().into(),
                ));
            }
        }
        out
    }

    #[test]
    fn digits() {
        assert_eq!(parse_digits(b"0"), Some(0));
        assert_eq!(parse_digits(b"123"), Some(123));
        assert_eq!(parse_digits(b""), None);
        assert_eq!(parse_digits(b"+5"), None);
        assert_eq!(parse_digits(b"5s"), None);
        assert_eq!(parse_digits(b"99999999999999999999999999"), Some(u64::MAX));
    }

    #[test]
    fn cr_at_chunk_end_ends_line_at_once() {
        let mut p = Parser::new();
        p.feed(Bytes::from_static(b"data: a\r\r"));
        assert_eq!(
            messages(&mut p).len(),
            1,
            "CR CR is a line and a blank line"
        );
        p.feed(Bytes::from_static(b"\ndata: b\n\n"));
        assert_eq!(
            messages(&mut p)[0].1,
            "b",
            "the LF after the CR was skipped"
        );
    }

    #[test]
    fn bom_split_and_mismatch() {
        let mut p = Parser::new();
        p.feed(Bytes::from_static(b"\xEF"));
        p.feed(Bytes::from_static(b"\xBB"));
        p.feed(Bytes::from_static(b"\xBFdata: x\n\n"));
        assert_eq!(messages(&mut p)[0].1, "x");

        let mut p = Parser::new();
        p.feed(Bytes::from_static(b"\xEF\xBB"));
        p.feed(Bytes::from_static(b"data: x\n\n"));
        // The two bytes were not a BOM: they make the field name unknown.
        assert!(messages(&mut p).is_empty());
    }

    #[test]
    fn carry_is_bounded_while_skipping() {
        let mut p = Parser::with_config(ParserConfig::new().with_max_line_len(10));
        p.feed(Bytes::from_static(b"data: 0123456789"));
        assert_eq!(p.next(), Some(Err(ParseError::LineTooLong { limit: 10 })));
        for _ in 0..100 {
            p.feed(Bytes::from_static(b"0123456789"));
            assert_eq!(p.next(), None);
            assert_eq!(p.buffered_len(), 0);
        }
        p.feed(Bytes::from_static(b"\nid: skipped\n\ndata: ok\n\n"));
        assert_eq!(
            messages(&mut p),
            [("message".into(), "ok".into(), String::new())]
        );
    }

    #[test]
    fn multi_line_data_is_checked_unless_every_line_was_ascii() {
        // All ASCII, then a valid non-ASCII line, then an invalid one in the first, middle and
        // last line, in one chunk and split so that lines are joined across chunks.
        let cases: [(&[u8], &str); 5] = [
            (b"data: a\ndata: b\n\n", "a\nb"),
            (b"data: a\ndata: caf\xc3\xa9\n\n", "a\ncaf\u{e9}"),
            (b"data: \xff\ndata: b\n\n", "\u{FFFD}\nb"),
            (b"data: a\ndata: \xe2\x82\ndata: c\n\n", "a\n\u{FFFD}\nc"),
            (b"data: a\ndata: b\xc3\n\n", "a\nb\u{FFFD}"),
        ];
        for (input, want) in cases {
            for split in 0..input.len() {
                let mut p = Parser::new();
                p.feed(Bytes::copy_from_slice(&input[..split]));
                p.feed(Bytes::copy_from_slice(&input[split..]));
                let got = messages(&mut p);
                assert_eq!(got.len(), 1, "{input:?} split at {split}");
                assert_eq!(got[0].1, want, "{input:?} split at {split}");
            }
        }
    }

    #[test]
    fn reset_keeps_id_and_retry() {
        let mut p = Parser::new();
        p.feed(Bytes::from_static(b"retry: 7\nid: a\n\nid: b\ndata: x"));
        let _ = messages(&mut p);
        p.reset();
        assert_eq!(p.last_event_id(), "a");
        assert_eq!(p.retry(), Some(Duration::from_millis(7)));
        assert_eq!(p.buffered_len(), 0);
    }
}
