//! [`ParserConfig`]: the parser's limits and options.

/// Limits and options for a [`Parser`](crate::Parser).
///
/// The limits bound how much memory a peer can make the parser hold: a line still waiting for
/// its end is buffered up to [`max_line_len`](ParserConfig::max_line_len) bytes (one byte more
/// tells that it is too long), the data of an event up to
/// [`max_event_len`](ParserConfig::max_event_len). Past either, the parser reports a
/// [`ParseError`](crate::error::ParseError), drops the event, skips to the next blank line and
/// goes on. Buffers grow by doubling but never past their limit, so whatever the peer sends,
/// the parser holds at most `max_line_len + 1 + max_event_len` bytes of its own, plus the
/// chunks it was given and still points into: the one being parsed (and any fed before it was
/// used up), the one the event's first data line is a view of, and the one the last event id
/// is a view of (an id longer than 23 bytes; shorter ones are copied). `tests/memory.rs` measures
/// the peak with a counting allocator on the worst sequences found, across chunkings. (Limits
/// count bytes as received; an invalid UTF-8 byte becomes the three bytes of U+FFFD in the
/// decoded data, so a hostile event can take up to three times its limit once decoded and
/// handed to you.)
///
/// The defaults are generous: 16 MiB each. Streaming LLM and MCP responses often carry events
/// of hundreds of KiB, and tool results of several MiB.
///
/// # Examples
///
/// ```
/// use ssekit::{Parser, ParserConfig};
///
/// let config = ParserConfig::default()
///     .with_max_line_len(1 << 20)
///     .with_max_event_len(4 << 20)
///     .with_comments(true);
/// let parser = Parser::with_config(config);
/// assert_eq!(parser.config().max_event_len(), 4 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ParserConfig {
    pub(crate) max_line_len: usize,
    pub(crate) max_event_len: usize,
    pub(crate) comments: bool,
}

/// Default for both [`ParserConfig::max_line_len`] and [`ParserConfig::max_event_len`]:
/// 16 MiB.
pub const DEFAULT_LIMIT: usize = 16 * 1024 * 1024;

impl ParserConfig {
    /// The defaults: 16 MiB per line and per event, comments not reported.
    ///
    /// ```
    /// let c = ssekit::ParserConfig::new();
    /// assert_eq!(c.max_line_len(), 16 << 20);
    /// assert!(!c.comments());
    /// ```
    #[must_use]
    pub const fn new() -> ParserConfig {
        ParserConfig {
            max_line_len: DEFAULT_LIMIT,
            max_event_len: DEFAULT_LIMIT,
            comments: false,
        }
    }

    /// Sets the longest line accepted, in bytes without the line ending.
    ///
    /// ```
    /// let c = ssekit::ParserConfig::new().with_max_line_len(1024);
    /// assert_eq!(c.max_line_len(), 1024);
    /// ```
    #[must_use]
    pub const fn with_max_line_len(mut self, bytes: usize) -> ParserConfig {
        self.max_line_len = bytes;
        self
    }

    /// Sets the largest event data accepted, in bytes (the line feeds joining its lines
    /// included).
    ///
    /// ```
    /// let c = ssekit::ParserConfig::new().with_max_event_len(1 << 20);
    /// assert_eq!(c.max_event_len(), 1 << 20);
    /// ```
    #[must_use]
    pub const fn with_max_event_len(mut self, bytes: usize) -> ParserConfig {
        self.max_event_len = bytes;
        self
    }

    /// Whether the parser reports comment lines as [`Item::Comment`](crate::Item::Comment)
    /// (off by default; clients use them as heartbeats).
    ///
    /// ```
    /// let c = ssekit::ParserConfig::new().with_comments(true);
    /// assert!(c.comments());
    /// ```
    #[must_use]
    pub const fn with_comments(mut self, report: bool) -> ParserConfig {
        self.comments = report;
        self
    }

    /// The line limit in force.
    ///
    /// ```
    /// assert_eq!(ssekit::ParserConfig::new().max_line_len(), ssekit::config::DEFAULT_LIMIT);
    /// ```
    #[must_use]
    pub const fn max_line_len(&self) -> usize {
        self.max_line_len
    }

    /// The event limit in force.
    ///
    /// ```
    /// assert_eq!(ssekit::ParserConfig::new().max_event_len(), ssekit::config::DEFAULT_LIMIT);
    /// ```
    #[must_use]
    pub const fn max_event_len(&self) -> usize {
        self.max_event_len
    }

    /// Whether comments are reported.
    ///
    /// ```
    /// assert!(!ssekit::ParserConfig::default().comments());
    /// ```
    #[must_use]
    pub const fn comments(&self) -> bool {
        self.comments
    }
}

impl Default for ParserConfig {
    fn default() -> ParserConfig {
        ParserConfig::new()
    }
}
