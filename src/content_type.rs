//! The `Content-Type` of an event stream response: the standard's check
//! ([`is_event_stream`]) and what an error reports of a wrong one ([`ContentType`]).

use core::fmt;

/// Whether a `Content-Type` value's MIME type essence is `text/event-stream` (ASCII case
/// ignored, parameters and surrounding whitespace allowed), as the standard requires of an
/// event stream response.
///
/// ```
/// use ssekit::content_type::is_event_stream;
/// assert!(is_event_stream(b"text/event-stream"));
/// assert!(is_event_stream(b" TEXT/event-stream ; charset=utf-8"));
/// assert!(!is_event_stream(b"text/event-streams"));
/// assert!(!is_event_stream(b"text/plain"));
/// ```
#[must_use]
pub fn is_event_stream(content_type: &[u8]) -> bool {
    let essence = match memchr::memchr(b';', content_type) {
        Some(i) => &content_type[..i],
        None => content_type,
    };
    trim_http_ws(essence).eq_ignore_ascii_case(b"text/event-stream")
}

fn trim_http_ws(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r' | b'\n', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r' | b'\n'] = s {
        s = rest;
    }
    s
}

/// The `Content-Type` a response carried, as an error reports it: the media type (before any
/// parameters), up to 48 bytes, with anything but printable ASCII shown as `?`. It is `Copy`
/// and allocates nothing, so a hostile header can neither bloat nor garble a log line.
///
/// ```
/// use ssekit::content_type::ContentType;
/// assert_eq!(ContentType::new(Some(b"text/html; charset=utf-8")).to_string(), "text/html");
/// assert_eq!(ContentType::new(None).to_string(), "none");
/// assert_eq!(ContentType::new(Some(b"a\nb")).to_string(), "a?b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentType {
    buf: [u8; ContentType::CAP],
    len: u8,
    truncated: bool,
    present: bool,
}

impl ContentType {
    const CAP: usize = 48;

    /// What an error reports of a `Content-Type` value (`None`: the header was absent).
    ///
    /// ```
    /// let long = [b'x'; 100];
    /// let seen = ssekit::content_type::ContentType::new(Some(&long));
    /// assert_eq!(seen.to_string().len(), 48 + "…".len());
    /// ```
    #[must_use]
    pub fn new(value: Option<&[u8]>) -> ContentType {
        let mut seen = ContentType {
            buf: [0; ContentType::CAP],
            len: 0,
            truncated: false,
            present: value.is_some(),
        };
        let Some(value) = value else {
            return seen;
        };
        let essence = match memchr::memchr(b';', value) {
            Some(i) => &value[..i],
            None => value,
        };
        let essence = trim_http_ws(essence);
        let n = essence.len().min(ContentType::CAP);
        for (slot, &b) in seen.buf.iter_mut().zip(&essence[..n]) {
            *slot = if b.is_ascii_graphic() || b == b' ' {
                b
            } else {
                b'?'
            };
        }
        #[allow(clippy::cast_possible_truncation)] // n <= CAP < 256
        {
            seen.len = n as u8;
        }
        seen.truncated = essence.len() > n;
        seen
    }

    /// Whether the response had a `Content-Type` at all.
    ///
    /// ```
    /// assert!(!ssekit::content_type::ContentType::new(None).is_present());
    /// ```
    #[must_use]
    pub fn is_present(&self) -> bool {
        self.present
    }

    /// The media type as reported (printable ASCII only).
    ///
    /// ```
    /// let seen = ssekit::content_type::ContentType::new(Some(b"application/json"));
    /// assert_eq!(seen.as_str(), "application/json");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only printable ASCII was stored.
        core::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("?")
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.present {
            return f.write_str("none");
        }
        f.write_str(self.as_str())?;
        if self.truncated {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentType({self})")
    }
}
