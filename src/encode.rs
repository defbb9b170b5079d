//! Writing events and comments in the `text/event-stream` format.
//!
//! Two ways, with the same bytes on the wire:
//!
//! - **into a buffer** — [`Event::encode`] into a [`BytesMut`](https://docs.rs/bytes/1/bytes/struct.BytesMut.html), or [`Event::write_to`] into any
//!   [`BufMut`](https://docs.rs/bytes/1/bytes/trait.BufMut.html): one copy, the cheapest way for events up to a few KiB;
//! - **as segments** — [`Event::into_frame`] gives a [`Frame`], a [`Buf`](https://docs.rs/bytes/1/bytes/trait.Buf.html) whose chunks point
//!   into the event's own data for every data line of at least [`ZERO_COPY_MIN`] bytes, so a
//!   large payload goes out without being copied (hyper sends the chunks with one vectored
//!   write).
//!
//! [`EncodeStream`](crate::EncodeStream) picks between them per event: segments only for an
//! event with a data line long enough to lend, one copy into its batch otherwise.
//!
//! Spec: WHATWG HTML, *Server-sent events*, §9.2.5 *Event stream format*.

use crate::decimal::write_decimal;
use crate::event::Event;
use crate::text::Text;
use alloc::collections::VecDeque;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use core::fmt;

/// Data lines at least this long go out as views of the caller's `Bytes` in a
/// [`Frame`]; shorter lines are copied, which is cheaper than another segment and its
/// reference count.
///
/// Measured with `cargo bench -p ssekit-benches --bench encode -- crossover` (one owned `Bytes` payload per
/// event): copying and segments cost the same at 4 KiB (≈170 ns), segments win by 1.7× at
/// 16 KiB and 2× at 64 KiB, copying wins by 1.5–2× at 256 B–1 KiB.
pub const ZERO_COPY_MIN: usize = 8 * 1024;

/// The keep-alive sent by [`EncodeStream`](crate::EncodeStream) by default: one comment line,
/// `: keep-alive`, with no blank line after it (some clients turn every blank line into an
/// empty event).
///
/// ```
/// assert_eq!(ssekit::encode::KEEP_ALIVE, ": keep-alive\n");
/// ```
pub const KEEP_ALIVE: &str = ": keep-alive\n";

/// Calls `line` for each line of `text`; CR, LF and CRLF each end a line. Text that ends with
/// a line break has an empty last line. Returns nothing; `line` gets (start, end) offsets.
#[inline]
fn for_each_line(text: &[u8], mut line: impl FnMut(usize, usize)) {
    let mut start = 0;
    loop {
        match memchr::memchr2(b'\n', b'\r', &text[start..]) {
            None => {
                line(start, text.len());
                return;
            }
            Some(i) => {
                let end = start + i;
                line(start, end);
                start = if text[end] == b'\r' && text.get(end + 1) == Some(&b'\n') {
                    end + 2
                } else {
                    end + 1
                };
            }
        }
    }
}

fn write_comment_lines<B: BufMut>(comment: &[u8], dst: &mut B) {
    for_each_line(comment, |s, e| {
        if s == e {
            dst.put_slice(b":\n");
        } else {
            dst.put_slice(b": ");
            dst.put_slice(&comment[s..e]);
            dst.put_u8(b'\n');
        }
    });
}

/// Everything before the data lines: comment, `event`, `id`, `retry`.
fn write_head<B: BufMut>(event: &Event, dst: &mut B) {
    if let Some(c) = event.comment() {
        write_comment_lines(c.as_bytes(), dst);
    }
    if let Some(t) = event.event_type() {
        dst.put_slice(b"event: ");
        dst.put_slice(t.as_str().as_bytes());
        dst.put_u8(b'\n');
    }
    if let Some(id) = event.id() {
        dst.put_slice(b"id: ");
        dst.put_slice(id.as_str().as_bytes());
        dst.put_u8(b'\n');
    }
    if let Some(r) = event.retry() {
        let mut buf = [0; 40];
        dst.put_slice(b"retry: ");
        dst.put_slice(write_decimal(r.as_millis(), &mut buf));
        dst.put_u8(b'\n');
    }
}

fn head_len(event: &Event) -> usize {
    let mut n = 1;
    if let Some(c) = event.comment() {
        n += c.len() + 8;
    }
    if let Some(t) = event.event_type() {
        n += t.len() + 8;
    }
    if let Some(id) = event.id() {
        n += id.len() + 5;
    }
    if event.retry().is_some() {
        n += 48;
    }
    n
}

impl Event {
    /// Writes the event into any [`BufMut`](https://docs.rs/bytes/1/bytes/trait.BufMut.html).
    ///
    /// ```
    /// let mut out = Vec::new();
    /// ssekit::Event::new("a\nb").write_to(&mut out);
    /// assert_eq!(out, b"data: a\ndata: b\n\n");
    /// ```
    pub fn write_to<B: BufMut>(&self, dst: &mut B) {
        write_head(self, dst);
        if let Some(data) = self.data() {
            for_each_line(data, |s, e| {
                dst.put_slice(b"data: ");
                dst.put_slice(&data[s..e]);
                dst.put_u8(b'\n');
            });
        }
        if self.has_fields() {
            dst.put_u8(b'\n');
        }
    }

    /// Appends the event to `dst`, reserving room first.
    ///
    /// This is the fastest way to encode small events: reuse one `BytesMut` and
    /// [`split`](https://docs.rs/bytes/1/bytes/struct.BytesMut.html#method.split) off what is ready to send.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssekit::Event;
    ///
    /// let mut buf = BytesMut::new();
    /// Event::new("one").encode(&mut buf);
    /// Event::new("two").encode(&mut buf);
    /// assert_eq!(buf.split().freeze(), "data: one\n\ndata: two\n\n");
    /// ```
    pub fn encode(&self, dst: &mut BytesMut) {
        let data_len = self.data().map_or(0, |d| d.len() + 8);
        dst.reserve(head_len(self) + data_len);
        self.write_to(dst);
    }

    /// Encodes the event into new [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html).
    ///
    /// ```
    /// assert_eq!(ssekit::Event::new("hi").to_bytes(), "data: hi\n\n");
    /// ```
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode(&mut buf);
        buf.freeze()
    }

    /// Encodes the event as a [`Frame`] of segments, without copying any data line of at
    /// least [`ZERO_COPY_MIN`] bytes: those segments are views of the event's data.
    ///
    /// ```
    /// use bytes::{Buf, Bytes};
    /// use ssekit::Event;
    ///
    /// let payload = Bytes::from(vec![b'x'; 1 << 20]);
    /// let mut frame = Event::new(payload.clone()).into_frame();
    /// assert_eq!(frame.remaining(), (1 << 20) + 8);
    /// assert_eq!(frame.chunk(), b"data: ");
    /// frame.advance(6);
    /// // The payload itself, not a copy.
    /// assert_eq!(frame.chunk().as_ptr(), payload.as_ptr());
    /// ```
    #[must_use]
    pub fn into_frame(self) -> Frame {
        let mut frame = Frame::new();
        let mut buf = BytesMut::with_capacity(head_len(&self) + 64);
        write_head(&self, &mut buf);
        let has_fields = self.has_fields();
        if let Some(data) = self.into_data() {
            let data = data.into_bytes();
            for_each_line(&data, |s, e| {
                buf.put_slice(b"data: ");
                if e - s >= ZERO_COPY_MIN {
                    frame.push(buf.split().freeze());
                    frame.push(data.slice(s..e));
                } else {
                    buf.put_slice(&data[s..e]);
                }
                buf.put_u8(b'\n');
            });
        }
        if has_fields {
            buf.put_u8(b'\n');
        }
        frame.push(buf.freeze());
        frame
    }
}

/// Events already encoded: `text/event-stream` bytes, made only from [`Event`]s (so they
/// cannot break the stream's framing), kept to be sent as they are — by every subscriber of a
/// broadcast, say, without encoding them again.
///
/// An [`EncodeStream`](crate::EncodeStream) takes them beside events: a short frame is copied
/// into the chunk being built (one `memcpy`), a long one goes out as a view of these bytes.
///
/// ```
/// use ssekit::{encode::Encoded, Event};
/// let a = Encoded::new(&Event::new("a"));
/// let both = Encoded::concat([a, Encoded::new(&Event::new("b"))]);
/// assert_eq!(both.as_bytes(), "data: a\n\ndata: b\n\n");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Encoded(Bytes);

impl Encoded {
    /// Encodes `event`.
    ///
    /// ```
    /// let e = ssekit::encode::Encoded::new(&ssekit::Event::new("hi"));
    /// assert_eq!(e.len(), 10);
    /// ```
    #[must_use]
    pub fn new(event: &Event) -> Encoded {
        Encoded(event.to_bytes())
    }

    /// A keep-alive comment ([`KEEP_ALIVE`]).
    ///
    /// ```
    /// assert_eq!(ssekit::encode::Encoded::keep_alive().as_bytes(), ": keep-alive\n");
    /// ```
    #[must_use]
    pub fn keep_alive() -> Encoded {
        Encoded(Bytes::from_static(KEEP_ALIVE.as_bytes()))
    }

    /// Frames one after the other, as one.
    ///
    /// ```
    /// use ssekit::encode::Encoded;
    /// assert!(Encoded::concat([Encoded::default(), Encoded::default()]).is_empty());
    /// ```
    #[must_use]
    pub fn concat(frames: impl IntoIterator<Item = Encoded>) -> Encoded {
        let mut frames = frames.into_iter();
        let Some(first) = frames.next() else {
            return Encoded::default();
        };
        let Some(second) = frames.next() else {
            return first;
        };
        let mut buf = BytesMut::from(&first.0[..]);
        buf.extend_from_slice(&second.0);
        for f in frames {
            buf.extend_from_slice(&f.0);
        }
        Encoded(buf.freeze())
    }

    /// The bytes.
    ///
    /// ```
    /// let e = ssekit::encode::Encoded::new(&ssekit::Event::new("x"));
    /// assert_eq!(e.as_bytes(), "data: x\n\n");
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The bytes, by value.
    ///
    /// ```
    /// let e = ssekit::encode::Encoded::new(&ssekit::Event::new("x"));
    /// assert_eq!(e.into_bytes(), "data: x\n\n");
    /// ```
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Their length in bytes.
    ///
    /// ```
    /// assert_eq!(ssekit::encode::Encoded::keep_alive().len(), 13);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    ///
    /// ```
    /// assert!(ssekit::encode::Encoded::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Encoded {
    /// Bytes made by the crate itself: whole encoded events (a channel's hub holds nothing
    /// else), or a field line put in front of one (a channel's `retry:`).
    #[cfg(feature = "channel")]
    pub(crate) fn from_trusted(bytes: Bytes) -> Encoded {
        Encoded(bytes)
    }
}

impl From<&Event> for Encoded {
    fn from(event: &Event) -> Encoded {
        Encoded::new(event)
    }
}

impl From<Event> for Encoded {
    fn from(event: Event) -> Encoded {
        Encoded::new(&event)
    }
}

impl From<Encoded> for Bytes {
    fn from(e: Encoded) -> Bytes {
        e.0
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Encoded").field(&self.0).finish()
    }
}

/// How a stream sends an encoded frame: copied into `batch` when short, or as its own chunk
/// (a view, not a copy) when long.
pub(crate) fn encoded_for_stream(
    frame: Encoded,
    batch: &mut BytesMut,
    queue: &mut VecDeque<Bytes>,
) {
    if frame.len() < ZERO_COPY_MIN {
        batch.extend_from_slice(&frame.0);
    } else {
        if !batch.is_empty() {
            queue.push_back(batch.split().freeze());
        }
        queue.push_back(frame.0);
    }
}

/// How a stream sends `event`: appended to `batch` (one copy, the cheapest for all but long
/// lines), or, when a data line is long enough to lend ([`ZERO_COPY_MIN`]), the batch so far
/// and then the event's segments pushed to `queue`, the long lines as views of the data. The
/// one place where the layout of an event on its way out is decided.
pub(crate) fn for_stream(event: Event, batch: &mut BytesMut, queue: &mut VecDeque<Bytes>) {
    if event.data().is_some_and(has_long_line) {
        if !batch.is_empty() {
            queue.push_back(batch.split().freeze());
        }
        queue.extend(event.into_frame().into_segments());
    } else {
        event.encode(batch);
    }
}

/// Whether `data` has a line of at least [`ZERO_COPY_MIN`] bytes.
fn has_long_line(data: &[u8]) -> bool {
    if data.len() < ZERO_COPY_MIN {
        return false;
    }
    // A line of `ZERO_COPY_MIN` bytes or more covers a whole aligned window of half that size.
    // If every window has a line break, no line is that long: data of short lines (the common
    // case) is answered from the first break of each window, not by a scan of all of it.
    let window = ZERO_COPY_MIN / 2;
    if data
        .chunks(window)
        .all(|w| memchr::memchr2(b'\n', b'\r', w).is_some())
    {
        return false;
    }
    let mut long = false;
    for_each_line(data, |s, e| long |= e - s >= ZERO_COPY_MIN);
    long
}

/// Writes a comment: one `:` line per line of `text`, with no blank line after it.
///
/// Clients ignore comments; servers send them as keep-alives, and some clients watch them as
/// heartbeats.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// ssekit::encode::comment("still here\nok", &mut buf);
/// assert_eq!(buf, ": still here\n: ok\n");
/// ```
pub fn comment<B: BufMut>(text: &str, dst: &mut B) {
    write_comment_lines(text.as_bytes(), dst);
}

/// Encodes a comment into new [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html), as [`comment`] writes it.
///
/// ```
/// assert_eq!(ssekit::encode::comment_bytes(&ssekit::Text::from_static("hi")), ": hi\n");
/// ```
#[must_use]
pub fn comment_bytes(text: &Text) -> Bytes {
    let mut buf = BytesMut::with_capacity(text.len() + 8);
    write_comment_lines(text.as_bytes(), &mut buf);
    buf.freeze()
}

/// An encoded event as a sequence of [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html) segments: a [`Buf`](https://docs.rs/bytes/1/bytes/trait.Buf.html) that lends large data
/// without copying it. Made by [`Event::into_frame`].
///
/// [`Buf::chunks_vectored`](https://docs.rs/bytes/1/bytes/trait.Buf.html#method.chunks_vectored) yields every segment, so a writer can send the whole frame with
/// one vectored write.
///
/// ```
/// use bytes::Buf;
///
/// let frame = ssekit::Event::new("small").into_frame();
/// assert_eq!(frame.remaining(), 13);
/// assert_eq!(frame.segments().count(), 1);
/// assert_eq!(frame.into_bytes(), "data: small\n\n");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Frame {
    segs: VecDeque<Bytes>,
    remaining: usize,
}

impl Frame {
    /// An empty frame.
    ///
    /// ```
    /// use bytes::Buf;
    /// assert!(!ssekit::encode::Frame::new().has_remaining());
    /// ```
    #[must_use]
    pub fn new() -> Frame {
        Frame::default()
    }

    /// Appends a segment (empty segments are dropped).
    ///
    /// ```
    /// use bytes::{Buf, Bytes};
    /// let mut f = ssekit::encode::Frame::new();
    /// f.push(Bytes::from_static(b": hi\n"));
    /// assert_eq!(f.remaining(), 5);
    /// ```
    pub fn push(&mut self, segment: Bytes) {
        if !segment.is_empty() {
            self.remaining += segment.len();
            self.segs.push_back(segment);
        }
    }

    /// The segments left to send, in order.
    ///
    /// ```
    /// let f = ssekit::Event::new("x").into_frame();
    /// assert_eq!(f.segments().next().unwrap(), "data: x\n\n");
    /// ```
    pub fn segments(&self) -> impl Iterator<Item = &Bytes> + '_ {
        self.segs.iter()
    }

    /// Consumes the frame, yielding its segments without copying.
    ///
    /// ```
    /// let parts: Vec<_> = ssekit::Event::new("x").into_frame().into_segments().collect();
    /// assert_eq!(parts.len(), 1);
    /// ```
    pub fn into_segments(self) -> impl Iterator<Item = Bytes> {
        self.segs.into_iter()
    }

    /// Joins the frame into one [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html): free when it has one segment, a copy otherwise.
    ///
    /// ```
    /// assert_eq!(ssekit::Event::new("x").into_frame().into_bytes(), "data: x\n\n");
    /// ```
    #[must_use]
    pub fn into_bytes(mut self) -> Bytes {
        match self.segs.len() {
            0 => Bytes::new(),
            1 => self.segs.pop_front().unwrap_or_default(),
            _ => {
                let len = self.remaining;
                self.copy_to_bytes(len)
            }
        }
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("segments", &self.segs.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}

impl Buf for Frame {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        self.segs.front().map_or(&[], |b| &b[..])
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.remaining, "advance past the end of a Frame");
        self.remaining -= cnt;
        while cnt > 0 {
            let Some(front) = self.segs.front_mut() else {
                break;
            };
            if cnt < front.len() {
                front.advance(cnt);
                return;
            }
            cnt -= front.len();
            self.segs.pop_front();
        }
    }

    #[cfg(feature = "std")]
    fn chunks_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, seg) in dst.iter_mut().zip(self.segs.iter()) {
            *slot = std::io::IoSlice::new(seg);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// The window shortcut gives the answer of measuring every line, for a line of any length
    /// placed anywhere (around the threshold and the window edges), ended by LF, CR or CRLF.
    #[test]
    #[cfg_attr(miri, ignore)] // thousands of scans of 24 KiB: safe code, far too slow there
    fn long_line_check_agrees_with_measuring_every_line() {
        let exact = |data: &[u8]| {
            let mut long = false;
            for_each_line(data, |s, e| long |= e - s >= ZERO_COPY_MIN);
            long
        };
        let w = ZERO_COPY_MIN / 2;
        for total in [ZERO_COPY_MIN, ZERO_COPY_MIN + 1, 3 * w + 7, 6 * w] {
            for len in [
                ZERO_COPY_MIN - 1,
                ZERO_COPY_MIN,
                ZERO_COPY_MIN + 1,
                w,
                total,
            ] {
                for start in [0, 1, w - 1, w, w + 1, total.saturating_sub(len)] {
                    for brk in [&b"\n"[..], b"\r", b"\r\n"] {
                        // Short lines everywhere, except one line of `len` bytes at `start`.
                        let mut data: Vec<u8> = (0..total)
                            .map(|i| if i % 100 == 99 { b'\n' } else { b'x' })
                            .collect();
                        let end = (start + len).min(total);
                        data[start..end].fill(b'y');
                        if end < total {
                            data[end] = brk[0];
                        }
                        if start > 0 {
                            data[start - 1] = *brk.last().unwrap();
                        }
                        assert_eq!(has_long_line(&data), exact(&data), "{total} {len} {start}");
                    }
                }
            }
        }
        // No line break at all.
        assert!(has_long_line(&vec![b'z'; ZERO_COPY_MIN]));
        assert!(!has_long_line(&vec![b'z'; ZERO_COPY_MIN - 1]));
    }

    #[test]
    fn decimal() {
        let mut b = [0; 40];
        assert_eq!(write_decimal(0, &mut b), b"0");
        assert_eq!(write_decimal(1234, &mut b), b"1234");
        assert_eq!(
            write_decimal(u128::MAX, &mut b),
            b"340282366920938463463374607431768211455"
        );
    }

    #[test]
    fn lines() {
        let mut seen = Vec::new();
        let text = b"a\r\nb\rc\n\nd\r";
        for_each_line(text, |s, e| seen.push(&text[s..e]));
        assert_eq!(seen, vec![&b"a"[..], b"b", b"c", b"", b"d", b""]);
    }

    #[test]
    fn frame_advance_across_segments() {
        let mut f = Frame::new();
        f.push(Bytes::from_static(b"ab"));
        f.push(Bytes::new());
        f.push(Bytes::from_static(b"cde"));
        assert_eq!(f.remaining(), 5);
        f.advance(3);
        assert_eq!(f.chunk(), b"de");
        f.advance(2);
        assert_eq!(f.chunk(), b"");
        assert!(!f.has_remaining());
    }

    #[test]
    fn frame_matches_buffer_encoding() {
        let big = Bytes::from(vec![b'y'; ZERO_COPY_MIN + 3]);
        let mut data = BytesMut::new();
        data.extend_from_slice(b"first\r\n");
        data.extend_from_slice(&big);
        data.extend_from_slice(b"\rlast\n");
        let ev = Event::builder()
            .event("e")
            .id("1")
            .comment("c")
            .data(data.freeze())
            .build()
            .unwrap();
        let whole = ev.to_bytes();
        let frame = ev.into_frame();
        assert_eq!(frame.segments().count(), 3);
        assert_eq!(frame.into_bytes(), whole);
    }
}
