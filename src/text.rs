//! [`Text`]: immutable, cheaply cloned UTF-8, either inline or a view into [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html).
//!
//! This module and its `scan` submodule hold the crate's `unsafe` code (with one `unsafe` call in
//! the line splitter, which makes an [`Ascii`]). Every `Text` upholds one invariant:
//! **its bytes are valid UTF-8**. Each constructor either takes a `&str`/`String` (valid by
//! type), or checks the bytes with [`core::str::from_utf8`], or replaces invalid sequences with
//! U+FFFD. Given that invariant, [`Text::as_str`] skips a second check; that check would cost
//! 30–45 ns per access on the parser's hot path (see `PERFORMANCE.md` in the design notes),
//! which is more than the rest of a small message's parse.
//!
//! Its submodule `scan` finds line ends and, in the same pass, says whether a line is all
//! ASCII (with SSE2 on `x86_64`). Such a line's values are stored without a second check, through
//! [`Ascii`], a slice made (in the line splitter, under a `SAFETY` note) only from what
//! [`find_line`] found, and that can only be narrowed.
//!
//! The module's tests run under Miri in CI.

use crate::swar::{HIGH, word};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::ops::Deref;

mod scan;

/// Finds the first line end of `hay`, and whether the bytes before it are all ASCII, in one
/// pass.
#[inline]
pub(crate) fn find_line(hay: &[u8]) -> scan::Scan {
    scan::scan(hay)
}

/// Bytes known to be ASCII, which [`Text::from_ascii_slice`] stores without a UTF-8 check.
/// Made only by the line splitter from what [`find_line`] found, narrowed only to slices
/// within them.
#[derive(Clone, Copy)]
pub(crate) struct Ascii<'a>(&'a [u8]);

impl<'a> Ascii<'a> {
    /// Wraps bytes the scanner found to be ASCII.
    ///
    /// # Safety
    ///
    /// Every byte of `bytes` is below 0x80: they are bytes that [`find_line`] scanned and
    /// reported no non-ASCII byte among, unchanged since (they belong to a `Bytes`, which
    /// never changes).
    #[inline]
    pub(crate) unsafe fn new_unchecked(bytes: &'a [u8]) -> Ascii<'a> {
        debug_assert!(bytes.is_ascii());
        Ascii(bytes)
    }

    /// `part` as [`Ascii`], if it lies within these bytes.
    #[inline]
    pub(crate) fn within(self, part: &'a [u8]) -> Option<Ascii<'a>> {
        let (start, end) = (
            self.0.as_ptr() as usize,
            self.0.as_ptr() as usize + self.0.len(),
        );
        let p = part.as_ptr() as usize;
        (p >= start && p + part.len() <= end).then_some(Ascii(part))
    }
}

/// The data of a multi-line event: lines joined by `\n`, and whether every piece was known to
/// be valid UTF-8 on the way in (a [`Text`], or an [`Ascii`] slice), so that the whole needs no
/// check when it becomes a [`Text`]. Otherwise it is checked once, whole, at the end: one pass
/// of the DFA over the event costs less than a check per line.
///
/// The lines of an event are joined by an ASCII byte, so the joined buffer is valid exactly when
/// every line is, and decoding it lossily replaces exactly what decoding each line would.
pub(crate) struct DataBuf {
    buf: Vec<u8>,
    valid: bool,
    /// How large the last multi-line event grew: the size to grow towards.
    hint: usize,
}

/// A first line longer than this may be a buffer that the splitter handed over whole: it is
/// reused, not copied, when nothing else holds it.
const REUSE_FIRST_MIN: usize = 4096;
/// The hint takes a buffer at most this many times past what it needs, so that after one large
/// event a peer cannot make every small one reserve as much.
const HINT_REACH: usize = 64;

impl DataBuf {
    pub(crate) const fn new() -> DataBuf {
        DataBuf {
            buf: Vec::new(),
            valid: true,
            hint: 0,
        }
    }

    /// Starts with the first line, growing towards `hint` bytes as the event needs room, and
    /// never past `cap` (beyond what it must hold).
    #[inline]
    pub(crate) fn start(first: Text, hint: usize, cap: usize) -> DataBuf {
        let first = first.into_bytes();
        let buf = if first.len() > REUSE_FIRST_MIN {
            // Never held twice: `Vec::from` takes the buffer when nothing else holds it (a
            // line handed over whole) and copies only a view of a read.
            let mut buf = Vec::from(first);
            if buf.capacity() > cap {
                // A whole read that nothing else held: keep only the line.
                buf.shrink_to_fit();
            }
            buf
        } else {
            let mut buf = Vec::with_capacity(room(first.len() + 1, 0, hint, cap));
            buf.extend_from_slice(&first);
            buf
        };
        // A `Text` is valid UTF-8.
        DataBuf {
            buf,
            valid: true,
            hint,
        }
    }

    /// Appends `\n` and `value`; `ascii`, if given, is the line `value` lies in, found all
    /// ASCII by the scanner.
    #[inline]
    pub(crate) fn push_line(&mut self, value: &[u8], ascii: Option<Ascii<'_>>, cap: usize) {
        self.valid &= ascii.and_then(|line| line.within(value)).is_some();
        let need = self.buf.len() + 1 + value.len();
        if need > self.buf.capacity() {
            let target = room(need, self.buf.capacity(), self.hint, cap);
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.push(b'\n');
        self.buf.extend_from_slice(value);
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// The joined data as text: not checked if every piece was known to be valid; checked, and
    /// decoded lossily if need be, otherwise. A buffer with more than twice the room it needs
    /// is shrunk first, so a message keeps at most twice its data.
    pub(crate) fn into_text(self) -> Text {
        let mut buf = self.buf;
        if buf.capacity() / 2 > buf.len() {
            buf.shrink_to_fit();
        }
        if self.valid {
            // Every piece was valid UTF-8 (a `Text`, or ASCII: see `push_line`), and so is
            // their join by `\n`.
            Text(Repr::Shared(Bytes::from(buf)))
        } else {
            Text::from_utf8_lossy(Bytes::from(buf))
        }
    }
}

/// The capacity to grow a buffer of `capacity` to when it needs `need` bytes: at least double,
/// towards `hint` (but not more than [`HINT_REACH`] times the need), and never past `cap`
/// unless it must hold more.
fn room(need: usize, capacity: usize, hint: usize, cap: usize) -> usize {
    need.max(capacity.saturating_mul(2))
        .max(hint.min(need.saturating_mul(HINT_REACH)))
        .min(cap.max(need))
}

/// Texts up to this many bytes (23) are stored inline: copying them costs less than the atomic
/// reference count of a shared [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html) view.
/// At 23, the inline form fits beside the niche of the `Bytes` vtable pointer, so a `Text` is
/// 32 bytes, not 40, and a parsed message 104 bytes, not 128: a message is moved several times
/// on its way out of the parser, and its size showed in the per-message cost.
const INLINE_CAP: usize = 23;

/// An inline buffer laid out in whole words, so that moving a `Text` copies words (a
/// byte-packed layout made the compiler copy at odd offsets, which stalled store forwarding
/// in the parser's hot loop).
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Inline {
    buf: [u8; INLINE_CAP],
    len: u8,
}

#[derive(Clone)]
enum Repr {
    Shared(Bytes),
    Inline(Inline),
}

/// Immutable UTF-8 text that clones in constant time.
///
/// `Text` is how ssekit holds the strings of an event: a parsed message's data, type and id,
/// and an outgoing event's comment. Short texts (up to 23 bytes) live inline; longer ones are a
/// [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html) view, so parsed data points into the received buffer instead of copying it.
///
/// It dereferences to [`str`] and compares equal to `str`, `&str` and `String`.
///
/// # Examples
///
/// ```
/// use ssekit::Text;
///
/// let t = Text::from_static("hello");
/// assert_eq!(t, "hello");
/// assert_eq!(t.len(), 5);
/// assert!(t.starts_with("he"));
///
/// let owned = Text::from(String::from("world"));
/// assert_eq!(owned.as_str(), "world");
/// ```
#[derive(Clone)]
pub struct Text(Repr);

impl Text {
    /// The empty text.
    ///
    /// ```
    /// assert!(ssekit::Text::new().is_empty());
    /// ```
    #[must_use]
    pub const fn new() -> Text {
        Text(Repr::Inline(Inline {
            buf: [0; INLINE_CAP],
            len: 0,
        }))
    }

    /// Wraps a string literal without allocating or copying.
    ///
    /// ```
    /// const PING: ssekit::Text = ssekit::Text::from_static("ping");
    /// assert_eq!(PING, "ping");
    /// ```
    #[must_use]
    pub const fn from_static(s: &'static str) -> Text {
        Text(Repr::Shared(Bytes::from_static(s.as_bytes())))
    }

    /// Wraps bytes that must be UTF-8, without copying them.
    ///
    /// # Errors
    ///
    /// Returns the bytes back, in [`NotUtf8`], if they are not valid UTF-8.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use ssekit::Text;
    ///
    /// let t = Text::try_from_bytes(Bytes::from_static(b"caf\xc3\xa9")).unwrap();
    /// assert_eq!(t, "café");
    /// assert!(Text::try_from_bytes(Bytes::from_static(b"\xff")).is_err());
    /// ```
    pub fn try_from_bytes(bytes: Bytes) -> Result<Text, NotUtf8> {
        match core::str::from_utf8(&bytes) {
            // The bytes were just checked.
            Ok(_) => Ok(Text(Repr::Shared(bytes))),
            Err(_) => Err(NotUtf8(bytes)),
        }
    }

    /// Decodes bytes as UTF-8, replacing each invalid sequence with U+FFFD as the WHATWG
    /// decoder does. Valid input is not copied.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use ssekit::Text;
    ///
    /// assert_eq!(Text::from_utf8_lossy(Bytes::from_static(b"a\xffb")), "a\u{FFFD}b");
    /// ```
    #[must_use]
    pub fn from_utf8_lossy(bytes: Bytes) -> Text {
        // Long input (joined data lines): one pass of the DFA beats the span search.
        let valid = if bytes.len() > 256 {
            dfa_valid(&bytes)
        } else {
            is_utf8(&bytes)
        };
        if valid {
            Text(Repr::Shared(bytes))
        } else {
            Text::from(String::from_utf8_lossy(&bytes).into_owned())
        }
    }

    /// Decodes `part`, a sub-slice of `src`, lossily; short text is copied inline, longer valid
    /// text becomes a view of `src`.
    ///
    /// `part` must point into `src` (the parser guarantees it); if it does not, the text is
    /// copied instead.
    #[inline]
    pub(crate) fn from_slice_lossy(src: &Bytes, part: &[u8]) -> Text {
        if part.len() <= INLINE_CAP {
            return Text::inline_lossy(part);
        }
        if is_utf8(part) {
            if let Some((start, end)) = subslice_range(src, part) {
                return Text(Repr::Shared(src.slice(start..end)));
            }
        }
        Text::copy_lossy_cold(part)
    }

    /// As [`from_slice_lossy`](Self::from_slice_lossy), for a part that the scanner found to be
    /// ASCII: no UTF-8 check is needed.
    #[inline]
    pub(crate) fn from_ascii_slice(src: &Bytes, part: Ascii<'_>) -> Text {
        let part = part.0;
        debug_assert!(part.is_ascii());
        if part.len() <= INLINE_CAP {
            return Text::inline_valid(part);
        }
        match subslice_range(src, part) {
            Some((start, end)) => Text(Repr::Shared(src.slice(start..end))),
            None => Text::copy_lossy_cold(part),
        }
    }

    /// The rare paths: invalid UTF-8, or a slice from elsewhere. Kept out of line so that the
    /// hot path stays small enough to inline (an out-of-line return of a `Text` through memory
    /// cost a store-forwarding stall per message).
    #[cold]
    #[inline(never)]
    fn copy_lossy_cold(part: &[u8]) -> Text {
        Text::copy_lossy(part)
    }

    /// Decodes `part` lossily into a new text, inline when short.
    #[inline]
    pub(crate) fn copy_lossy(part: &[u8]) -> Text {
        if part.len() <= INLINE_CAP {
            return Text::inline_lossy(part);
        }
        // `String::from_utf8_lossy` walks valid input chunk by chunk and was, for lines joined
        // across chunks, the largest cost of parsing small reads.
        if is_utf8(part) {
            Text(Repr::Shared(Bytes::copy_from_slice(part)))
        } else {
            Text::replaced_cold(part)
        }
    }

    #[inline]
    fn inline_lossy(part: &[u8]) -> Text {
        if is_utf8(part) {
            Text::inline_valid(part)
        } else {
            Text::replaced_cold(part)
        }
    }

    /// `part`, known to be valid UTF-8 and at most [`INLINE_CAP`] bytes, stored inline.
    #[inline]
    fn inline_valid(part: &[u8]) -> Text {
        let mut buf = [0; INLINE_CAP];
        buf[..part.len()].copy_from_slice(part);
        #[allow(clippy::cast_possible_truncation)] // part.len() <= INLINE_CAP
        Text(Repr::Inline(Inline {
            buf,
            len: part.len() as u8,
        }))
    }

    #[cold]
    #[inline(never)]
    fn replaced_cold(part: &[u8]) -> Text {
        Text::from(String::from_utf8_lossy(part).into_owned())
    }

    /// The text as a string slice.
    ///
    /// ```
    /// let t = ssekit::Text::from("abc".to_owned());
    /// assert_eq!(t.as_str(), "abc");
    /// ```
    #[inline]
    #[must_use]
    pub fn as_str(&self) -> &str {
        let bytes = self.as_bytes();
        // SAFETY: every constructor of `Text` stores only valid UTF-8 (module invariant, see
        // the module docs): `&str`/`String` inputs are valid by type, `try_from_bytes` and the
        // lossy constructors check with `from_utf8` (or the equivalent `is_utf8`, tested
        // against it) or replace invalid input; `DataBuf` joins pieces that were each valid
        // (or decodes lossily); and `from_ascii_slice` takes only bytes that
        // the scanner found to be ASCII (an `Ascii`, see `Ascii::new_unchecked`; the scan is
        // tested against its byte-at-a-time definition). The inline buffer is
        // read only up to `len`, which was set from the length of a valid string.
        unsafe { core::str::from_utf8_unchecked(bytes) }
    }

    /// The text's UTF-8 bytes.
    ///
    /// ```
    /// assert_eq!(ssekit::Text::from_static("hi").as_bytes(), b"hi");
    /// ```
    #[inline]
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(i) => &i.buf[..usize::from(i.len)],
            Repr::Shared(b) => b,
        }
    }

    /// Converts into [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html): free for long texts, a copy of at most 23 bytes otherwise.
    ///
    /// ```
    /// let b = ssekit::Text::from_static("abc").into_bytes();
    /// assert_eq!(&b[..], b"abc");
    /// ```
    #[must_use]
    pub fn into_bytes(self) -> bytes::Bytes {
        match self.0 {
            Repr::Inline(i) => Bytes::copy_from_slice(&i.buf[..usize::from(i.len)]),
            Repr::Shared(b) => b,
        }
    }

    /// Whether this text is a view into a shared [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html) buffer (not stored inline).
    ///
    /// Handy to check that parsing did not copy.
    ///
    /// ```
    /// assert!(ssekit::Text::from_static("abc").is_shared());
    /// assert!(!ssekit::Text::new().is_shared());
    /// ```
    #[must_use]
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Repr::Shared(_))
    }
}

/// Whether `bytes` are all ASCII: one branch-free pass that the compiler vectorizes (the
/// standard library's `is_ascii` finishes byte by byte, which showed up in profiles).
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut acc = 0u64;
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        acc |= u64::from_ne_bytes(a);
    }
    let mut tail = 0u8;
    for &b in words.remainder() {
        tail |= b;
    }
    acc & 0x8080_8080_8080_8080 == 0 && tail < 0x80
}

// A shift-based DFA for UTF-8 validation. States are bit offsets (multiples of 6) into a
// per-byte table word; `next = (TABLE[byte] >> state) & 63`. One shift and one mask per byte
// and no branches, where `core::str::from_utf8` branches per character: on text with many
// multi-byte characters (any non-English stream) it measured about three times fewer
// instructions. Valid exactly when the walk ends in ACCEPT; checked against
// `core::str::from_utf8` exhaustively for all 1- and 2-byte inputs, every lead byte with
// every continuation, and with proptest.
const ACCEPT: u32 = 0;
const REJECT: u32 = 1;
/// Expect one more continuation byte (80..=BF).
const CONT1: u32 = 2;
/// Expect two more continuation bytes.
const CONT2: u32 = 3;
/// After E0: A0..=BF (no overlong three-byte forms).
const E0: u32 = 4;
/// After ED: 80..=9F (no surrogates).
const ED: u32 = 5;
/// Expect three more continuation bytes.
const CONT3: u32 = 6;
/// After F0: 90..=BF (no overlong four-byte forms).
const F0: u32 = 7;
/// After F4: 80..=8F (nothing above U+10FFFF).
const F4: u32 = 8;

const fn next_state(state: u32, b: u8) -> u32 {
    match state {
        ACCEPT => match b {
            0x00..=0x7F => ACCEPT,
            0xC2..=0xDF => CONT1,
            0xE0 => E0,
            0xE1..=0xEC | 0xEE..=0xEF => CONT2,
            0xED => ED,
            0xF0 => F0,
            0xF1..=0xF3 => CONT3,
            0xF4 => F4,
            _ => REJECT,
        },
        CONT1 if matches!(b, 0x80..=0xBF) => ACCEPT,
        CONT2 if matches!(b, 0x80..=0xBF) => CONT1,
        E0 if matches!(b, 0xA0..=0xBF) => CONT1,
        ED if matches!(b, 0x80..=0x9F) => CONT1,
        CONT3 if matches!(b, 0x80..=0xBF) => CONT2,
        F0 if matches!(b, 0x90..=0xBF) => CONT2,
        F4 if matches!(b, 0x80..=0x8F) => CONT2,
        _ => REJECT,
    }
}

const DFA: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut state = 0;
        while state < 9 {
            #[allow(clippy::cast_possible_truncation)] // b < 256
            let next = next_state(state, b as u8);
            table[b] |= ((next * 6) as u64) << (state * 6);
            state += 1;
        }
        b += 1;
    }
    table
};

#[inline]
fn dfa_step(state: u64, b: u8) -> u64 {
    (DFA[usize::from(b)] >> state) & 63
}

/// Whether `bytes` are valid UTF-8, by the DFA, skipping all-ASCII 16-byte blocks.
fn dfa_valid(bytes: &[u8]) -> bool {
    let mut state = u64::from(ACCEPT);
    let mut blocks = bytes.chunks_exact(16);
    for block in &mut blocks {
        if state == u64::from(ACCEPT) && (word(&block[..8]) | word(&block[8..])) & HIGH == 0 {
            continue;
        }
        for &b in block {
            state = dfa_step(state, b);
        }
        if state == u64::from(REJECT) * 6 {
            return false;
        }
    }
    for &b in blocks.remainder() {
        state = dfa_step(state, b);
    }
    state == u64::from(ACCEPT)
}

/// Whether `bytes` are valid UTF-8, checking only the span between the first and the last
/// non-ASCII byte. The bytes around that span are ASCII, so a sequence cannot start before it
/// or run past it: the whole is valid exactly when the span is. Most lines of real streams
/// are ASCII or have a few non-ASCII characters, and a full `from_utf8` costs 30–45 ns even
/// on short input.
#[inline]
pub(crate) fn is_utf8(bytes: &[u8]) -> bool {
    if is_ascii(bytes) {
        return true;
    }
    let first = first_non_ascii(bytes);
    let last = last_non_ascii(bytes);
    bytes.get(first..=last).is_some_and(dfa_valid)
}

/// Offset of the first byte >= 0x80, a word at a time (the caller knows there is one).
fn first_non_ascii(bytes: &[u8]) -> usize {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let high = word(w) & HIGH;
        if high != 0 {
            return at + (high.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + words
        .remainder()
        .iter()
        .position(|&b| b >= 0x80)
        .unwrap_or(0)
}

/// Offset of the last byte >= 0x80, a word at a time from the end.
fn last_non_ascii(bytes: &[u8]) -> usize {
    let mut words = bytes.rchunks_exact(8);
    let mut end = bytes.len();
    for w in &mut words {
        end -= 8;
        let high = word(w) & HIGH;
        if high != 0 {
            return end + 7 - (high.leading_zeros() / 8) as usize;
        }
    }
    words
        .remainder()
        .iter()
        .rposition(|&b| b >= 0x80)
        .unwrap_or(0)
}

/// Start and end of `part` inside `src`, if `part` points into it.
fn subslice_range(src: &[u8], part: &[u8]) -> Option<(usize, usize)> {
    let base = src.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    let start = p.checked_sub(base)?;
    let end = start.checked_add(part.len())?;
    (end <= src.len()).then_some((start, end))
}

/// Bytes that were not valid UTF-8, returned by [`Text::try_from_bytes`].
///
/// ```
/// let err = ssekit::Text::try_from_bytes(bytes::Bytes::from_static(b"\xc3")).unwrap_err();
/// assert_eq!(err.to_string(), "text is not valid UTF-8");
/// assert_eq!(&err.into_bytes()[..], b"\xc3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8(Bytes);

impl NotUtf8 {
    /// The rejected bytes.
    ///
    /// ```
    /// let err = ssekit::Text::try_from_bytes(bytes::Bytes::from_static(b"\xff")).unwrap_err();
    /// assert_eq!(err.into_bytes().len(), 1);
    /// ```
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text is not valid UTF-8")
    }
}

impl core::error::Error for NotUtf8 {}

impl Default for Text {
    fn default() -> Text {
        Text::new()
    }
}

impl Deref for Text {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl From<&str> for Text {
    /// Copies the text (inline when short, which allocates nothing), as
    /// `http::HeaderValue::try_from(&str)` does; [`Text::from_static`] keeps a literal without
    /// copying.
    fn from(s: &str) -> Text {
        Text::copy_lossy(s.as_bytes())
    }
}

impl From<&String> for Text {
    /// Copies the text, as `From<&str>` does.
    fn from(s: &String) -> Text {
        Text::from(s.as_str())
    }
}

impl From<String> for Text {
    /// Takes the string's buffer without copying (short strings are moved inline).
    fn from(s: String) -> Text {
        if s.len() <= INLINE_CAP {
            Text::inline_lossy(s.as_bytes())
        } else {
            Text(Repr::Shared(Bytes::from(s.into_bytes())))
        }
    }
}

impl From<Box<str>> for Text {
    fn from(s: Box<str>) -> Text {
        Text::from(String::from(s))
    }
}

impl From<char> for Text {
    fn from(c: char) -> Text {
        let mut b = [0; 4];
        Text::copy_lossy(c.encode_utf8(&mut b).as_bytes())
    }
}

impl TryFrom<Bytes> for Text {
    type Error = NotUtf8;
    fn try_from(b: Bytes) -> Result<Text, NotUtf8> {
        Text::try_from_bytes(b)
    }
}

impl TryFrom<Vec<u8>> for Text {
    type Error = NotUtf8;
    fn try_from(v: Vec<u8>) -> Result<Text, NotUtf8> {
        Text::try_from_bytes(Bytes::from(v))
    }
}

impl From<Text> for Bytes {
    fn from(t: Text) -> Bytes {
        t.into_bytes()
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        String::from(t.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_text_is_four_words_and_a_message_thirteen() {
        assert_eq!(core::mem::size_of::<Text>(), 32);
        assert_eq!(core::mem::size_of::<Option<Text>>(), 40);
        assert_eq!(core::mem::size_of::<crate::MessageEvent>(), 104);
    }

    #[test]
    fn inline_and_shared_agree() {
        let short = Text::copy_lossy(b"short");
        assert!(!short.is_shared());
        assert_eq!(short, "short");
        let long_src = Bytes::from_static(b"0123456789012345678901234567890123456789");
        let long = Text::from_slice_lossy(&long_src, &long_src[2..38]);
        assert!(long.is_shared());
        assert_eq!(long.as_bytes().as_ptr(), long_src[2..].as_ptr());
        assert_eq!(long, "234567890123456789012345678901234567");
        assert_eq!(long.clone(), long);
    }

    #[test]
    fn lossy_replaces_invalid_sequences() {
        let src =
            Bytes::from_static(b"ok \xf0\x9f\x98 then \xc3\xa9 and a long tail of ascii text");
        let t = Text::from_slice_lossy(&src, &src[..]);
        assert_eq!(t, "ok \u{FFFD} then é and a long tail of ascii text");
        assert_eq!(Text::copy_lossy(b"\xe2\x82"), "\u{FFFD}");
        assert_eq!(Text::copy_lossy(b"\xff\xfe"), "\u{FFFD}\u{FFFD}");
        assert_eq!(
            Text::from_utf8_lossy(Bytes::from_static(b"\x80")),
            "\u{FFFD}"
        );
    }

    #[test]
    fn foreign_slice_is_copied() {
        let src = Bytes::from_static(b"abc");
        let other = [b'x'; 40];
        let t = Text::from_slice_lossy(&src, &other);
        assert_eq!(t.as_bytes(), &other[..]);
    }

    #[test]
    fn conversions() {
        assert_eq!(Text::from('é'), "é");
        assert_eq!(Text::from(String::from("x").into_boxed_str()), "x");
        let long = "y".repeat(100);
        let t = Text::from(long.clone());
        assert!(t.is_shared());
        assert_eq!(String::from(t.clone()), long);
        assert_eq!(Bytes::from(t).len(), 100);
        assert_eq!(
            Text::try_from(alloc::vec![0xffu8]).unwrap_err().to_string(),
            "text is not valid UTF-8"
        );
        assert_eq!(Text::new().into_bytes().len(), 0);
        assert!(Text::from_static("a") < Text::from_static("b"));
        assert_eq!(
            alloc::format!("{:?}", Text::from_static("q\"")),
            "\"q\\\"\""
        );
    }

    #[test]
    #[cfg_attr(miri, ignore)] // an exhaustive loop over safe code: far too slow under Miri
    fn dfa_agrees_with_from_utf8_exhaustively_on_short_input() {
        for a in 0..=255u8 {
            assert_eq!(dfa_valid(&[a]), core::str::from_utf8(&[a]).is_ok(), "{a:x}");
            for b in 0..=255u8 {
                let two = [a, b];
                assert_eq!(
                    dfa_valid(&two),
                    core::str::from_utf8(&two).is_ok(),
                    "{two:x?}"
                );
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore)] // 2^24 inputs: minutes under Miri, and no unsafe code involved
    fn dfa_agrees_with_from_utf8_on_every_three_and_four_byte_lead() {
        // Every lead byte with every second byte and a sample of third and fourth bytes.
        let tails = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF];
        for a in 0xC0..=0xFFu8 {
            for b in 0..=255u8 {
                for &c in &tails {
                    for &d in &tails {
                        let four = [a, b, c, d];
                        assert_eq!(
                            dfa_valid(&four),
                            core::str::from_utf8(&four).is_ok(),
                            "{four:x?}"
                        );
                        let three = [a, b, c];
                        assert_eq!(
                            dfa_valid(&three),
                            core::str::from_utf8(&three).is_ok(),
                            "{three:x?}"
                        );
                    }
                }
            }
        }
        // Long mixed input, both block paths.
        let text =
            "ascii only block... then é and 你好 and 🎉, then more ascii text here ".repeat(20);
        assert!(dfa_valid(text.as_bytes()));
        let mut bad = text.clone().into_bytes();
        bad[300] = 0xFF;
        assert!(!dfa_valid(&bad));
    }

    #[test]
    fn span_check_agrees_with_from_utf8() {
        let samples: &[&[u8]] = &[
            b"",
            b"ascii only, longer than eight bytes",
            "é".as_bytes(),
            b"\xc3",
            b"a\xc3",
            b"\xc3a",
            "x 你好 y 🎉 z".as_bytes(),
            b"ok \xf0\x9f\x98 no",
            b"\x80",
            b"\xed\xa0\x80",
            b"0123456789abcdef\xff0123456789",
            "0123456789abcdef€0123456789".as_bytes(),
        ];
        for s in samples {
            assert_eq!(is_utf8(s), core::str::from_utf8(s).is_ok(), "{s:?}");
            assert_eq!(is_ascii(s), s.is_ascii(), "{s:?}");
        }
        // Every byte value at every position of a 17-byte ASCII line.
        for (i, s) in samples.iter().enumerate() {
            if !s.is_ascii() {
                assert_eq!(
                    first_non_ascii(s),
                    s.iter().position(|&b| b >= 0x80).unwrap(),
                    "{i}"
                );
                assert_eq!(
                    last_non_ascii(s),
                    s.iter().rposition(|&b| b >= 0x80).unwrap(),
                    "{i}"
                );
            }
        }
        for pos in 0..17 {
            for b in 0..=255u8 {
                let mut line = *b"abcdefghijklmnopq";
                line[pos] = b;
                assert_eq!(is_utf8(&line), core::str::from_utf8(&line).is_ok());
                assert_eq!(is_ascii(&line), line.is_ascii());
            }
        }
    }
}
