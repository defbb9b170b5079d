//! The sans-IO client: [`Session`] and its settings, [`ClientConfig`].

use alloc::boxed::Box;
use core::fmt;
use core::time::Duration;

use crate::error::ParseError;
use crate::reconnect::{Action, Instant, Reconnect, ReconnectConfig, Stop};
use crate::{EventId, Item, Parser, ParserConfig};

/// Settings for a [`Session`] (and for an `EventSource`, which drives one): the reconnection
/// policy, the parser's limits, and what a client adds to them.
///
/// ```
/// use core::time::Duration;
/// use ssekit::client::ClientConfig;
/// use ssekit::reconnect::ReconnectConfig;
///
/// // An LLM completion: one answer, ended by `data: [DONE]`, given up on if slow to start,
/// // never requested twice (a completion cannot be resumed; a second run is billed again).
/// let config = ClientConfig::new()
///     .with_reconnect(ReconnectConfig::new().with_one_shot(true).with_max_attempts(Some(0)))
///     .with_sentinel("[DONE]")
///     .with_first_event_timeout(Some(Duration::from_secs(60)));
/// assert_eq!(config.sentinel(), Some("[DONE]"));
/// assert!(config.reconnect().one_shot());
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    reconnect: ReconnectConfig,
    parser: ParserConfig,
    first_event_timeout: Option<Duration>,
    max_retry_after: Duration,
    sentinel: Option<Box<str>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            reconnect: ReconnectConfig::new(),
            parser: ParserConfig::new(),
            first_event_timeout: None,
            max_retry_after: Duration::from_secs(600),
            sentinel: None,
        }
    }
}

impl ClientConfig {
    /// The defaults: [`ReconnectConfig::new`] (the standard's behaviour plus capped, jittered
    /// backoff), [`ParserConfig::new`], no first-event timeout, `Retry-After` honoured up to
    /// 10 minutes, no sentinel.
    ///
    /// ```
    /// let c = ssekit::client::ClientConfig::new();
    /// assert_eq!(c.first_event_timeout(), None);
    /// assert_eq!(c.max_retry_after().as_secs(), 600);
    /// ```
    #[must_use]
    pub fn new() -> ClientConfig {
        ClientConfig::default()
    }

    /// The reconnection policy: backoff, attempts, idle timeout, one-shot, retry on `5xx`.
    ///
    /// ```
    /// use ssekit::{client::ClientConfig, reconnect::ReconnectConfig};
    /// let c = ClientConfig::new().with_reconnect(ReconnectConfig::new().with_max_attempts(Some(3)));
    /// assert_eq!(c.reconnect().max_attempts(), Some(3));
    /// ```
    #[must_use]
    pub fn with_reconnect(mut self, reconnect: ReconnectConfig) -> ClientConfig {
        self.reconnect = reconnect;
        self
    }

    /// The reconnection policy in use.
    ///
    /// ```
    /// assert_eq!(ssekit::client::ClientConfig::new().reconnect().initial_retry().as_secs(), 3);
    /// ```
    #[must_use]
    pub fn reconnect(&self) -> &ReconnectConfig {
        &self.reconnect
    }

    /// The parser's limits, and whether comments are reported.
    ///
    /// ```
    /// use ssekit::{client::ClientConfig, ParserConfig};
    /// let c = ClientConfig::new().with_parser(ParserConfig::new().with_max_event_len(1 << 20));
    /// assert_eq!(c.parser().max_event_len(), 1 << 20);
    /// ```
    #[must_use]
    pub fn with_parser(mut self, parser: ParserConfig) -> ClientConfig {
        self.parser = parser;
        self
    }

    /// The parser settings in use.
    ///
    /// ```
    /// assert!(!ssekit::client::ClientConfig::new().parser().comments());
    /// ```
    #[must_use]
    pub fn parser(&self) -> &ParserConfig {
        &self.parser
    }

    /// How long a connection may take, from sending the request, to deliver its first message
    /// (the response head included). A server that accepts the connection and then says
    /// nothing, or only keep-alives, is dropped and retried after that. Separate from the idle
    /// timeout ([`ReconnectConfig::with_idle_timeout`]), which any byte restarts. Default: none.
    ///
    /// ```
    /// # use core::time::Duration;
    /// let c = ssekit::client::ClientConfig::new().with_first_event_timeout(Some(Duration::from_secs(30)));
    /// assert_eq!(c.first_event_timeout(), Some(Duration::from_secs(30)));
    /// ```
    #[must_use]
    pub fn with_first_event_timeout(mut self, timeout: Option<Duration>) -> ClientConfig {
        self.first_event_timeout = timeout;
        self
    }

    /// The first-event timeout, if any.
    ///
    /// ```
    /// assert_eq!(ssekit::client::ClientConfig::new().first_event_timeout(), None);
    /// ```
    #[must_use]
    pub fn first_event_timeout(&self) -> Option<Duration> {
        self.first_event_timeout
    }

    /// The longest `Retry-After` honoured on a retried `429` or `503`: a larger one waits this
    /// long. Default: 10 minutes.
    ///
    /// ```
    /// # use core::time::Duration;
    /// let c = ssekit::client::ClientConfig::new().with_max_retry_after(Duration::from_secs(60));
    /// assert_eq!(c.max_retry_after().as_secs(), 60);
    /// ```
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> ClientConfig {
        self.max_retry_after = max;
        self
    }

    /// The cap on `Retry-After`.
    ///
    /// ```
    /// assert_eq!(ssekit::client::ClientConfig::new().max_retry_after().as_secs(), 600);
    /// ```
    #[must_use]
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// A message whose data is exactly this ends the stream for good ([`Stop::Finished`])
    /// and is not delivered: `[DONE]` for OpenAI-style completions.
    ///
    /// ```
    /// let c = ssekit::client::ClientConfig::new().with_sentinel("[DONE]");
    /// assert_eq!(c.sentinel(), Some("[DONE]"));
    /// ```
    #[must_use]
    pub fn with_sentinel(mut self, data: impl Into<Box<str>>) -> ClientConfig {
        self.sentinel = Some(data.into());
        self
    }

    /// The sentinel, if any.
    ///
    /// ```
    /// assert_eq!(ssekit::client::ClientConfig::new().sentinel(), None);
    /// ```
    #[must_use]
    pub fn sentinel(&self) -> Option<&str> {
        self.sentinel.as_deref()
    }
}

/// Why a connection ended and is being retried (or, after the last attempt, why the session
/// gave up).
///
/// ```
/// use ssekit::client::Cause;
/// assert_eq!(Cause::Status(503).to_string(), "the server answered status 503");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// The server ended the stream (the standard reconnects).
    Ended,
    /// The connection could not be made, or broke; the transport's error says more.
    Transport,
    /// A status retried by [`ReconnectConfig::with_reconnect_on_server_error`].
    Status(u16),
    /// Nothing arrived for the idle timeout.
    IdleTimeout(Duration),
    /// No message arrived within the first-event timeout of sending the request.
    FirstEventTimeout(Duration),
    /// The stream broke a limit of the parser; the connection is dropped and resumed.
    Parse(ParseError),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Ended => f.write_str("the server ended the stream"),
            Cause::Transport => f.write_str("the connection failed"),
            Cause::Status(s) => write!(f, "the server answered status {s}"),
            Cause::IdleTimeout(d) => write!(f, "nothing arrived for {} ms", d.as_millis()),
            Cause::FirstEventTimeout(d) => {
                write!(f, "no message within {} ms of the request", d.as_millis())
            }
            Cause::Parse(e) => write!(f, "the stream broke a limit: {e}"),
        }
    }
}

/// What a [`Session`] asks its driver to do, from [`Session::poll`].
///
/// ```
/// use core::time::Duration;
/// use ssekit::client::{ClientConfig, Output, Session};
/// let mut session = Session::new(ClientConfig::new());
/// assert_eq!(
///     session.poll(Duration::ZERO),
///     Output::Connect { last_event_id: None, deadline: None },
/// );
/// assert_eq!(session.poll(Duration::ZERO), Output::AwaitResponse { deadline: None });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output<I> {
    /// Send the request now, with `Last-Event-ID: <last_event_id>` when it is `Some` (it is
    /// always a valid header value), then report its response
    /// ([`on_response`](Session::on_response)) or its failure ([`on_error`](Session::on_error)).
    /// Call [`on_tick`](Session::on_tick) if `deadline` passes first.
    Connect {
        /// The `Last-Event-ID` request header.
        last_event_id: Option<EventId>,
        /// When to call [`on_tick`](Session::on_tick) if no response has come: the earlier of
        /// the first-event and the idle timeouts.
        deadline: Option<I>,
    },
    /// Still waiting for the response to the request sent.
    AwaitResponse {
        /// When to call [`on_tick`](Session::on_tick).
        deadline: Option<I>,
    },
    /// Read the body: give each chunk to [`feed`](Session::feed), report its end
    /// ([`on_end`](Session::on_end)) or failure ([`on_error`](Session::on_error)).
    Read {
        /// When to call [`on_tick`](Session::on_tick) (the idle or first-event timeout).
        deadline: Option<I>,
    },
    /// An item of the stream, already accounted for by the policy (its id kept, its `retry`
    /// applied). Poll again for more.
    Item(Item),
    /// The connection is over: drop it (its body too), and poll again at `at`. Said once per
    /// reconnect; polling before `at` answers [`Output::Wait`].
    Reconnect {
        /// The reconnect attempt, counted from 1 since the last healthy connection.
        attempt: u32,
        /// The delay before it.
        delay: Duration,
        /// When to poll again.
        at: I,
        /// Why.
        cause: Cause,
    },
    /// Nothing to do before `until`; poll again then.
    Wait {
        /// When to poll again.
        until: I,
    },
    /// Stop for good: drop the connection. Every later poll says the same.
    Stop(Stop),
}

#[derive(Debug, Clone, Copy)]
enum State<I> {
    Connect,
    Requesting {
        since: I,
    },
    Open {
        since: I,
        first_message: bool,
        ending: bool,
    },
    Waiting {
        until: I,
        announce: Option<(u32, Duration, Cause)>,
    },
    Stopped(Stop),
}

/// One client's event stream across all its connections, as a sans-IO state machine: the
/// [`Parser`] and the [`Reconnect`] policy under one owner, so the last event ID (id-only
/// blocks included), the server's `retry` and the backoff are kept in exactly one place.
///
/// Any HTTP client can drive it. Tell it what happened ([`on_response`](Self::on_response),
/// [`feed`](Self::feed), [`on_end`](Self::on_end), [`on_error`](Self::on_error),
/// [`on_tick`](Self::on_tick)) and ask it what to do next ([`poll`](Self::poll)): connect,
/// wait for the response, read, take an item, reconnect after a delay, or stop. It owns no
/// socket, no timer and no clock (time is the [`Instant`] you pass), and needs only `alloc`.
///
/// ```
/// use core::time::Duration;
/// use ssekit::client::{ClientConfig, Output, Session};
/// use ssekit::{reconnect::ReconnectConfig, Item};
///
/// let config = ClientConfig::new()
///     .with_reconnect(ReconnectConfig::new().with_jitter_percent(0));
/// let mut session = Session::new(config);
/// let t = Duration::ZERO;
/// assert!(matches!(session.poll(t), Output::Connect { last_event_id: None, .. }));
/// session.on_response(t, 200, Some(b"text/event-stream"), None);
/// session.feed(t, &b"retry: 500\nid: 7\ndata: hi\n\nid: 9\n\n"[..]);
/// let mut messages = Vec::new();
/// while let Output::Item(item) = session.poll(t) {
///     if let Item::Message(m) = item {
///         messages.push(m.data().to_owned());
///     }
/// }
/// assert_eq!(messages, ["hi"]);
/// // The `retry` and the id-only block reached the policy without being asked for.
/// session.on_end(t);
/// let Output::Reconnect { delay, at, .. } = session.poll(t) else { panic!() };
/// assert_eq!(delay, Duration::from_millis(500));
/// // At the reconnect, it resumes after the id-only block's id.
/// let Output::Connect { last_event_id, .. } = session.poll(at) else { panic!() };
/// assert_eq!(last_event_id.unwrap(), "9");
/// ```
#[derive(Debug)]
pub struct Session<I> {
    parser: Parser,
    policy: Reconnect<I>,
    first_event_timeout: Option<Duration>,
    max_retry_after: Duration,
    sentinel: Option<Box<str>>,
    state: State<I>,
    last_cause: Option<Cause>,
    parse_error: Option<ParseError>,
}

impl<I: Instant> Session<I> {
    /// A session that has not connected yet: its first [`poll`](Self::poll) says
    /// [`Output::Connect`].
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Session};
    /// let session: Session<std::time::Instant> = Session::new(ClientConfig::new());
    /// assert_eq!(session.last_event_id(), None);
    /// ```
    #[must_use]
    pub fn new(config: ClientConfig) -> Session<I> {
        Session {
            parser: Parser::with_config(config.parser),
            policy: Reconnect::new(config.reconnect),
            first_event_timeout: config.first_event_timeout,
            max_retry_after: config.max_retry_after,
            sentinel: config.sentinel,
            state: State::Connect,
            last_cause: None,
            parse_error: None,
        }
    }

    /// Resumes from a stored position: the first connection sends it as `Last-Event-ID`.
    /// Ignored if it cannot be a header value (see [`Reconnect::set_last_event_id`]).
    ///
    /// ```
    /// use ssekit::{client::{ClientConfig, Output, Session}, EventId};
    /// let mut session = Session::new(ClientConfig::new());
    /// session.set_last_event_id(&EventId::from_static("41"));
    /// let Output::Connect { last_event_id, .. } = session.poll(core::time::Duration::ZERO) else { panic!() };
    /// assert_eq!(last_event_id.unwrap(), "41");
    /// ```
    pub fn set_last_event_id(&mut self, id: &EventId) {
        self.policy.set_last_event_id(id);
        let kept = self.policy.last_event_id().cloned().unwrap_or_default();
        self.parser.set_last_event_id(kept);
    }

    /// The last event ID: what the next connection sends.
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Session};
    /// let session: Session<core::time::Duration> = Session::new(ClientConfig::new());
    /// assert!(session.last_event_id().is_none());
    /// ```
    #[must_use]
    pub fn last_event_id(&self) -> Option<&EventId> {
        self.policy.last_event_id()
    }

    /// The reconnection time: the server's last `retry`, or the initial one.
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Session};
    /// let session: Session<core::time::Duration> = Session::new(ClientConfig::new());
    /// assert_eq!(session.retry().as_secs(), 3);
    /// ```
    #[must_use]
    pub fn retry(&self) -> Duration {
        self.policy.retry()
    }

    /// The reconnection policy, to read its state (failures so far, the last event ID).
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Session};
    /// let session: Session<core::time::Duration> = Session::new(ClientConfig::new());
    /// assert_eq!(session.policy().failures(), 0);
    /// ```
    #[must_use]
    pub fn policy(&self) -> &Reconnect<I> {
        &self.policy
    }

    /// Why the last connection ended, if one has.
    ///
    /// ```
    /// use ssekit::client::{Cause, ClientConfig, Session};
    /// let mut session = Session::new(ClientConfig::new());
    /// let t = core::time::Duration::ZERO;
    /// let _ = session.poll(t);
    /// session.on_error(t);
    /// assert_eq!(session.last_cause(), Some(Cause::Transport));
    /// ```
    #[must_use]
    pub fn last_cause(&self) -> Option<Cause> {
        self.last_cause
    }

    /// Whether a response opened the stream and it is being read.
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Session};
    /// let mut session = Session::new(ClientConfig::new());
    /// let t = core::time::Duration::ZERO;
    /// let _ = session.poll(t);
    /// session.on_response(t, 200, Some(b"text/event-stream"), None);
    /// assert!(session.is_open());
    /// ```
    #[must_use]
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// Whether only more input can change what [`poll`](Self::poll) answers: the stream is
    /// open, everything fed has been parsed and taken (a line cut by a chunk's end may wait for
    /// the next), no end or error is pending. Then the
    /// answer is [`Output::Read`] whatever the time, and a driver may skip reading its clock.
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Session};
    /// let mut session = Session::new(ClientConfig::new());
    /// let t = core::time::Duration::ZERO;
    /// let _ = session.poll(t);
    /// assert!(!session.is_reading()); // the response is awaited: its time matters
    /// session.on_response(t, 200, Some(b"text/event-stream"), None);
    /// assert!(session.is_reading());
    /// session.on_end(t);
    /// assert!(!session.is_reading());
    /// ```
    #[must_use]
    pub fn is_reading(&self) -> bool {
        matches!(self.state, State::Open { ending: false, .. })
            && self.parse_error.is_none()
            && self.parser.is_idle()
    }

    /// Why the session stopped, once it has.
    ///
    /// ```
    /// use ssekit::{client::{ClientConfig, Session}, reconnect::Stop};
    /// let mut session = Session::new(ClientConfig::new());
    /// let t = core::time::Duration::ZERO;
    /// let _ = session.poll(t);
    /// session.on_response(t, 204, None, None);
    /// assert_eq!(session.stopped(), Some(Stop::NoContent));
    /// ```
    #[must_use]
    pub fn stopped(&self) -> Option<Stop> {
        match self.state {
            State::Stopped(stop) => Some(stop),
            _ => None,
        }
    }

    /// What to do next. See [`Output`]; call it after every event reported, and whenever a
    /// deadline it gave passes.
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Output, Session};
    /// let mut session = Session::new(ClientConfig::new());
    /// let t = core::time::Duration::ZERO;
    /// let _ = session.poll(t);
    /// session.on_response(t, 200, Some(b"text/event-stream"), None);
    /// assert_eq!(session.poll(t), Output::Read { deadline: None });
    /// ```
    #[inline]
    #[must_use = "the output says what to do next; dropping a `Connect` leaves the session waiting for a response never asked for"]
    pub fn poll(&mut self, now: I) -> Output<I> {
        loop {
            match self.state {
                State::Connect => {
                    self.state = State::Requesting { since: now };
                    return Output::Connect {
                        last_event_id: self.policy.last_event_id().cloned(),
                        deadline: self.deadline(),
                    };
                }
                State::Requesting { .. } => {
                    return Output::AwaitResponse {
                        deadline: self.deadline(),
                    };
                }
                State::Open { .. } if self.parse_error.is_some() => {
                    if let Some(e) = self.parse_error.take() {
                        self.failed(now, Cause::Parse(e));
                    }
                }
                State::Open { ending, .. } => match self.next_item() {
                    Some(Ok(item)) => return Output::Item(item),
                    // A parse error or the sentinel: the loop takes it from there.
                    Some(Err(_)) => {}
                    None if self.parse_error.is_some() || !self.is_open() => {}
                    None if ending => {
                        let action = self.policy.on_end(now);
                        self.act(now, &action, Cause::Ended);
                    }
                    None => {
                        return Output::Read {
                            deadline: self.deadline(),
                        };
                    }
                },
                State::Waiting {
                    until,
                    ref mut announce,
                } => {
                    if let Some((attempt, delay, cause)) = announce.take() {
                        return Output::Reconnect {
                            attempt,
                            delay,
                            at: until,
                            cause,
                        };
                    }
                    if now < until {
                        return Output::Wait { until };
                    }
                    self.state = State::Connect;
                }
                State::Stopped(stop) => return Output::Stop(stop),
            }
        }
    }

    /// The next item already parsed from what was fed, if there is one: the same as an
    /// [`Output::Item`] from [`poll`](Self::poll), without a time (an item needs none, its
    /// bytes were timed when fed). A driver calls it first, and reads its clock only when it
    /// returns `None` or an error: then [`poll`](Self::poll) says what is next. An error is
    /// the stream breaking a limit of the parser, for the driver to log if it likes: the
    /// connection is failed and resumed at the next poll ([`Cause::Parse`]).
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Output, Session};
    /// let mut session = Session::new(ClientConfig::new());
    /// let t = core::time::Duration::ZERO;
    /// let _ = session.poll(t);
    /// session.on_response(t, 200, Some(b"text/event-stream"), None);
    /// session.feed(t, &b"data: a\n\ndata: b\n\n"[..]);
    /// let mut data = Vec::new();
    /// while let Some(item) = session.next_item() {
    ///     data.push(item.unwrap().into_message().unwrap().data().to_owned());
    /// }
    /// assert_eq!(data, ["a", "b"]);
    /// assert_eq!(session.poll(t), Output::Read { deadline: None });
    /// ```
    #[inline]
    #[must_use = "an item taken and dropped is lost"]
    pub fn next_item(&mut self) -> Option<Result<Item, ParseError>> {
        if !matches!(self.state, State::Open { .. }) || self.parse_error.is_some() {
            return None;
        }
        // Returned as the parser gave it: no copy of the item on the way.
        let next = self.parser.next();
        match &next {
            Some(Ok(item)) if !self.account(item) => return None,
            // The connection fails at the next poll, which has the time.
            Some(Err(e)) => self.parse_error = Some(*e),
            _ => {}
        }
        next
    }

    /// Tells the policy of a parsed item (its bytes were timed when fed, so it needs no time
    /// of its own); false if it is the sentinel, which stops the session.
    #[inline]
    fn account(&mut self, item: &Item) -> bool {
        let Item::Message(m) = item else {
            self.policy.on_parsed(item);
            return true;
        };
        if let Some(sentinel) = &self.sentinel {
            if **sentinel == *m.data() {
                self.state = State::Stopped(Stop::Finished);
                return false;
            }
        }
        // Only the first message of a connection and messages with ids of their own are news
        // to the policy.
        if let State::Open {
            ref mut first_message,
            ..
        } = self.state
        {
            if !*first_message || m.has_own_id() {
                *first_message = true;
                self.policy.on_parsed(item);
            }
        }
        true
    }

    /// The response to the request arrived: its status, `Content-Type` and `Retry-After`
    /// (already resolved to a delay; see [`RetryAfter`](crate::client::RetryAfter)).
    ///
    /// `200` with `text/event-stream` opens the stream: poll for [`Output::Read`]. `204`
    /// stops for good; another status or content type too ([`Stop::Status`],
    /// [`Stop::ContentType`]), unless the policy retries `5xx`, `429` and `408`. A retried
    /// `429` or `503` waits at least its `Retry-After` (capped by
    /// [`ClientConfig::with_max_retry_after`]), and at least the backoff.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit::client::{ClientConfig, Output, Session};
    /// use ssekit::reconnect::ReconnectConfig;
    /// let config = ClientConfig::new()
    ///     .with_reconnect(ReconnectConfig::new().with_reconnect_on_server_error(true));
    /// let mut session = Session::new(config);
    /// let t = Duration::ZERO;
    /// let _ = session.poll(t);
    /// session.on_response(t, 503, None, Some(Duration::from_secs(120)));
    /// let Output::Reconnect { delay, .. } = session.poll(t) else { panic!() };
    /// assert_eq!(delay, Duration::from_secs(120));
    /// ```
    pub fn on_response(
        &mut self,
        now: I,
        status: u16,
        content_type: Option<&[u8]>,
        retry_after: Option<Duration>,
    ) {
        let State::Requesting { since } = self.state else {
            return;
        };
        match self.policy.on_open(now, status, content_type) {
            Action::Read => {
                self.parser.reset();
                self.parse_error = None;
                self.state = State::Open {
                    since,
                    first_message: false,
                    ending: false,
                };
            }
            Action::Reconnect { delay, .. } => {
                // `Retry-After` is the least this reconnect waits: the backoff (and its jitter)
                // still applies, so `Retry-After: 0` cannot make a reconnect loop either.
                let delay = match retry_after {
                    Some(wait) if matches!(status, 429 | 503) => {
                        delay.max(wait.min(self.max_retry_after))
                    }
                    _ => delay,
                };
                self.wait(now, delay, Cause::Status(status));
            }
            Action::Stop(stop) => self.state = State::Stopped(stop),
        }
    }

    /// With the `http-body` feature: [`on_response`](Self::on_response) with the status and
    /// headers of an `http` response, `Retry-After` resolved against its `Date` (the server's
    /// clock), or against `now_unix_secs` when it has none.
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Session};
    /// let response = http::Response::builder()
    ///     .header("content-type", "text/event-stream")
    ///     .body(())
    ///     .unwrap();
    /// let mut session = Session::new(ClientConfig::new());
    /// let t = std::time::Instant::now();
    /// let _ = session.poll(t);
    /// session.on_http_response(t, response.status(), response.headers(), 0);
    /// assert!(session.is_open());
    /// ```
    #[cfg(feature = "http-body")]
    pub fn on_http_response(
        &mut self,
        now: I,
        status: http::StatusCode,
        headers: &http::HeaderMap,
        now_unix_secs: u64,
    ) {
        let content_type = headers.get(http::header::CONTENT_TYPE);
        let retry_after = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| crate::client::RetryAfter::parse(v.as_bytes()))
            .map(|after| {
                let now = headers
                    .get(http::header::DATE)
                    .and_then(|d| crate::client::parse_http_date(d.as_bytes()))
                    .unwrap_or(now_unix_secs);
                after.delay_from(now)
            });
        self.on_response(
            now,
            status.as_u16(),
            content_type.map(http::HeaderValue::as_bytes),
            retry_after,
        );
    }

    /// A chunk of the body arrived (it restarts the idle timeout). Ignored unless the stream
    /// is open.
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Output, Session};
    /// let mut session = Session::new(ClientConfig::new());
    /// let t = core::time::Duration::ZERO;
    /// let _ = session.poll(t);
    /// session.on_response(t, 200, Some(b"text/event-stream"), None);
    /// session.feed(t, &b"data: x\n\n"[..]);
    /// assert!(matches!(session.poll(t), Output::Item(_)));
    /// ```
    pub fn feed(&mut self, now: I, chunk: impl Into<bytes::Bytes>) {
        if let State::Open { ending: false, .. } = self.state {
            self.policy.on_activity(now);
            self.parser.feed(chunk);
        }
    }

    /// The body ended normally. The stream reconnects (as the standard says), or for a
    /// one-shot stream stops with [`Stop::Finished`], once what was complete has been polled.
    ///
    /// ```
    /// use ssekit::{client::{ClientConfig, Output, Session}, reconnect::ReconnectConfig};
    /// let config = ClientConfig::new().with_reconnect(ReconnectConfig::new().with_one_shot(true));
    /// let mut session = Session::new(config);
    /// let t = core::time::Duration::ZERO;
    /// let _ = session.poll(t);
    /// session.on_response(t, 200, Some(b"text/event-stream"), None);
    /// session.feed(t, &b"data: last\n\n"[..]);
    /// session.on_end(t);
    /// assert!(matches!(session.poll(t), Output::Item(_)));
    /// assert!(matches!(session.poll(t), Output::Stop(_)));
    /// ```
    pub fn on_end(&mut self, _now: I) {
        if let State::Open { ref mut ending, .. } = self.state {
            *ending = true;
            self.parser.finish();
        }
    }

    /// The request or the body failed (the transport's error is the driver's to keep).
    /// Reconnects with backoff, or gives up after the last attempt.
    ///
    /// ```
    /// use ssekit::client::{ClientConfig, Output, Session};
    /// let mut session = Session::new(ClientConfig::new());
    /// let t = core::time::Duration::ZERO;
    /// let _ = session.poll(t);
    /// session.on_error(t);
    /// assert!(matches!(session.poll(t), Output::Reconnect { attempt: 1, .. }));
    /// ```
    pub fn on_error(&mut self, now: I) {
        if matches!(self.state, State::Requesting { .. } | State::Open { .. }) {
            self.failed(now, Cause::Transport);
        }
    }

    /// Time passed: if the first-event or the idle timeout has expired, the connection is
    /// dropped and retried (poll for [`Output::Reconnect`]). The idle timeout runs from the
    /// request until the response head too: a server that accepts and never answers is idle.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit::client::{Cause, ClientConfig, Output, Session};
    /// let config = ClientConfig::new().with_first_event_timeout(Some(Duration::from_secs(5)));
    /// let mut session = Session::new(config);
    /// let _ = session.poll(Duration::ZERO);
    /// session.on_tick(Duration::from_secs(4));
    /// assert!(matches!(session.poll(Duration::from_secs(4)), Output::AwaitResponse { .. }));
    /// session.on_tick(Duration::from_secs(5));
    /// let Output::Reconnect { cause, .. } = session.poll(Duration::from_secs(5)) else { panic!() };
    /// assert_eq!(cause, Cause::FirstEventTimeout(Duration::from_secs(5)));
    /// ```
    pub fn on_tick(&mut self, now: I) {
        let (since, waiting_first) = match self.state {
            State::Requesting { since } => {
                // No byte of the response yet: the idle timeout runs from the request.
                if let Some(idle) = self.policy.config().idle_timeout() {
                    if now >= since.add(idle) {
                        self.failed(now, Cause::IdleTimeout(idle));
                        return;
                    }
                }
                (since, true)
            }
            State::Open {
                since,
                first_message,
                ending: false,
            } => (since, !first_message),
            _ => return,
        };
        if let Some(timeout) = self.first_event_timeout.filter(|_| waiting_first) {
            if now >= since.add(timeout) {
                self.failed(now, Cause::FirstEventTimeout(timeout));
                return;
            }
        }
        if let Some(deadline) = self.policy.deadline() {
            if now >= deadline {
                let idle = self.policy_idle_timeout();
                if let Some(action) = self.policy.on_tick(now) {
                    self.act(now, &action, Cause::IdleTimeout(idle));
                }
            }
        }
    }

    /// Stops for good, at the caller's wish: the connection is to be dropped
    /// ([`Stop::Closed`]).
    ///
    /// ```
    /// use ssekit::{client::{ClientConfig, Output, Session}, reconnect::Stop};
    /// let mut session: Session<core::time::Duration> = Session::new(ClientConfig::new());
    /// session.close();
    /// assert_eq!(session.poll(core::time::Duration::ZERO), Output::Stop(Stop::Closed));
    /// ```
    pub fn close(&mut self) {
        if !matches!(self.state, State::Stopped(_)) {
            self.state = State::Stopped(Stop::Closed);
        }
    }

    fn policy_idle_timeout(&self) -> Duration {
        // Only asked when the policy has a deadline, which needs an idle timeout.
        self.policy.config().idle_timeout().unwrap_or_default()
    }

    fn deadline(&self) -> Option<I> {
        let earliest = |a: Option<I>, b: Option<I>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.state {
            State::Requesting { since } => earliest(
                self.first_event_timeout.map(|t| since.add(t)),
                self.policy.config().idle_timeout().map(|t| since.add(t)),
            ),
            State::Open {
                since,
                first_message,
                ..
            } => earliest(
                self.first_event_timeout
                    .filter(|_| !first_message)
                    .map(|t| since.add(t)),
                self.policy.deadline(),
            ),
            _ => None,
        }
    }

    fn failed(&mut self, now: I, cause: Cause) {
        let action = self.policy.on_error(now);
        self.act(now, &action, cause);
    }

    fn act(&mut self, now: I, action: &Action, cause: Cause) {
        self.last_cause = Some(cause);
        match *action {
            Action::Read => {}
            Action::Reconnect { delay, .. } => self.wait(now, delay, cause),
            Action::Stop(stop) => self.state = State::Stopped(stop),
        }
    }

    fn wait(&mut self, now: I, delay: Duration, cause: Cause) {
        self.last_cause = Some(cause);
        self.state = State::Waiting {
            until: now.add(delay),
            announce: Some((self.policy.failures(), delay, cause)),
        };
    }
}
