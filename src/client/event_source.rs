//! [`EventSource`]: a [`Session`] driven by reqwest on tokio's clock.

use alloc::boxed::Box;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::SystemTime;

use futures_core::Stream;
use http_body::Body as _;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use tokio::time::{Instant, Sleep};

use super::{Cause, ClientConfig, Output, Session};
use crate::content_type::ContentType;
use crate::reconnect::Stop;
use crate::{EventId, MessageEvent, Text};

type Pending = Pin<Box<dyn Future<Output = reqwest::Result<Response>> + Send>>;

/// How long [`EventSource::get`]'s client waits for a connection to be made.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What an [`EventSource`] yields.
///
/// [`Open`](Update::Open) and [`Message`](Update::Message) always;
/// [`Retry`](Update::Retry), [`Comment`](Update::Comment) and
/// [`Reconnecting`](Update::Reconnecting) when asked for
/// ([`EventSource::with_retry_updates`], [`with_comment_updates`](EventSource::with_comment_updates),
/// [`with_reconnect_updates`](EventSource::with_reconnect_updates)).
///
/// ```
/// use ssekit::client::Update;
/// use ssekit::{EventId, EventType, MessageEvent, Text};
/// let m = MessageEvent::new(Text::from_static("hi"), EventType::MESSAGE, EventId::EMPTY);
/// assert_eq!(Update::Message(m).into_message().unwrap().data(), "hi");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Update {
    /// A response opened the stream (every connection, reconnects included). Boxed: it is
    /// rare, and keeps every message's `Update` small.
    Open(Box<Opened>),
    /// A message.
    Message(MessageEvent),
    /// The server set the reconnection time.
    Retry(Duration),
    /// A comment (a keep-alive, usually), without the colon and one leading space.
    Comment(Text),
    /// The connection is over and will be made again. (Boxed, like [`Update::Open`].)
    Reconnecting(Box<Reconnecting>),
}

impl Update {
    /// The message, if this is one.
    ///
    /// ```
    /// use ssekit::client::Update;
    /// assert!(Update::Retry(core::time::Duration::from_secs(1)).into_message().is_none());
    /// ```
    #[must_use]
    pub fn into_message(self) -> Option<MessageEvent> {
        match self {
            Update::Message(m) => Some(m),
            _ => None,
        }
    }
}

/// A response that opened the stream: [`Update::Open`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// # let url = format!("http://{}/events", listener.local_addr().unwrap());
/// # tokio::spawn(async move {
/// #     let (mut socket, _) = listener.accept().await.unwrap();
/// #     let _ = socket.read(&mut [0; 4096]).await;
/// #     let reply = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-stream: scores\r\n\r\n";
/// #     socket.write_all(reply.as_bytes()).await.unwrap();
/// # });
/// use futures_util::StreamExt;
/// use ssekit::client::Update;
/// let mut events = ssekit::EventSource::get(url);
/// let Some(Ok(Update::Open(opened))) = events.next().await else { panic!() };
/// assert_eq!(opened.status(), 200);
/// assert_eq!(opened.headers()["x-stream"], "scores");
/// assert_eq!(opened.url().path(), "/events");
/// assert!(opened.last_event_id().is_none());
/// let headers: reqwest::header::HeaderMap = opened.into_headers();
/// assert!(headers.contains_key("content-type"));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Opened {
    status: StatusCode,
    headers: HeaderMap,
    url: Url,
    last_event_id: Option<EventId>,
}

impl Opened {
    /// The response's status (`200`; see the type's example).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response's headers.
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The response's URL, after any redirects.
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `Last-Event-ID` the request sent, if any.
    #[must_use]
    pub fn last_event_id(&self) -> Option<&EventId> {
        self.last_event_id.as_ref()
    }

    /// The response's headers, taken out.
    #[must_use]
    pub fn into_headers(self) -> HeaderMap {
        self.headers
    }
}

/// A reconnect about to happen: [`Update::Reconnecting`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use futures_util::StreamExt;
/// use ssekit::client::{ClientConfig, Update};
/// use ssekit::reconnect::ReconnectConfig;
/// # let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
/// // Nobody listens on `port`.
/// let mut events = ssekit::EventSource::get(format!("http://127.0.0.1:{port}/"))
///     .with_config(ClientConfig::new().with_reconnect(ReconnectConfig::new().with_max_attempts(Some(1))))
///     .with_reconnect_updates(true);
/// let Some(Ok(Update::Reconnecting(r))) = events.next().await else { panic!() };
/// assert_eq!(r.attempt(), 1);
/// // The default 3 s, plus up to 50% jitter.
/// assert!((3.0..=4.5).contains(&r.delay().as_secs_f64()));
/// assert!(r.cause().to_string().ends_with(": the connection failed"));
/// assert!(std::error::Error::source(r.cause()).is_some()); // the transport's error
/// let _cause: ssekit::client::Error = r.into_cause();
/// # }
/// ```
#[derive(Debug)]
pub struct Reconnecting {
    attempt: u32,
    delay: Duration,
    cause: Error,
}

impl Reconnecting {
    /// The reconnect attempt, counted from 1 since the last healthy connection (see the
    /// type's example).
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The wait before it.
    #[must_use]
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Why the connection ended: an [`Error`] whose [`kind`](Error::kind) is
    /// [`ErrorKind::Interrupted`]; for [`Cause::Transport`], its `source()` is the transport's
    /// error.
    #[must_use]
    pub fn cause(&self) -> &Error {
        &self.cause
    }

    /// The cause, taken out.
    #[must_use]
    pub fn into_cause(self) -> Error {
        self.cause
    }
}

/// What went wrong, as [`Error::kind`] tells it.
///
/// ```
/// use ssekit::client::{Cause, ErrorKind};
/// assert_ne!(ErrorKind::Status(404), ErrorKind::Interrupted(Cause::Ended));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server answered a status other than `200` and `204` (and it was not retried). The
    /// error holds the response.
    Status(u16),
    /// The server answered `200` without `Content-Type: text/event-stream`; what it sent. The
    /// error holds the response.
    ContentType(ContentType),
    /// The attempt limit was reached; the `source()` is the last failure.
    GaveUp {
        /// Failures in a row.
        failures: u32,
    },
    /// The request could not be built (an invalid URL, a bad header): the `source()` says.
    Request,
    /// A connection ended, and is being retried (in [`Reconnecting::cause`]).
    Interrupted(Cause),
}

/// An [`EventSource`] error: the stream's end ([`EventSource`] yields `None` after one), or
/// the cause of a reconnect.
///
/// Its message names what was seen (the status, the content type, the attempt) and the request
/// (method and URL, without the query, which may hold credentials); the transport's error is
/// its `source()`. Print the whole chain with [`Report`](crate::error::Report). `Debug` leaves
/// the query out too.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use futures_util::StreamExt;
/// use ssekit::client::ErrorKind;
/// let mut events = ssekit::EventSource::get("http://[::1/events?key=secret");
/// let error = events.next().await.unwrap().unwrap_err();
/// assert_eq!(error.kind(), ErrorKind::Request);
/// assert!(!format!("{error} {error:?}").contains("secret"));
/// let chain = ssekit::error::Report::new(&error).to_string();
/// assert!(chain.starts_with("the request could not be built: "), "{chain}");
/// # }
/// ```
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    method: Method,
    url: Option<Url>,
    attempt: u32,
    response: Option<Box<Response>>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// What went wrong.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures_util::StreamExt;
    /// use ssekit::client::ErrorKind;
    /// let mut events = ssekit::EventSource::get("http://[::1");
    /// let error = events.next().await.unwrap().unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::Request);
    /// # }
    /// ```
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The connection attempt it happened on, counted from 1 since the last healthy
    /// connection (for [`ErrorKind::Interrupted`], the connection that ended; the
    /// [`Reconnecting`] it comes with counts the attempt to come).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # use futures_util::StreamExt;
    /// let mut events = ssekit::EventSource::get("http://[::1");
    /// assert_eq!(events.next().await.unwrap().unwrap_err().attempt(), 1);
    /// # }
    /// ```
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.0.attempt
    }

    /// The response's status, for [`ErrorKind::Status`] and [`ErrorKind::ContentType`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # use futures_util::StreamExt;
    /// let mut events = ssekit::EventSource::get("http://[::1");
    /// assert_eq!(events.next().await.unwrap().unwrap_err().status(), None);
    /// # }
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        self.0.response.as_ref().map(|r| r.status())
    }

    /// The response, for [`ErrorKind::Status`] and [`ErrorKind::ContentType`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # use futures_util::StreamExt;
    /// let mut events = ssekit::EventSource::get("http://[::1");
    /// assert!(events.next().await.unwrap().unwrap_err().response().is_none());
    /// # }
    /// ```
    #[must_use]
    pub fn response(&self) -> Option<&Response> {
        self.0.response.as_deref()
    }

    /// The response, taken out to read its body (an API's error message, say).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let url = format!("http://{}/events", listener.local_addr().unwrap());
    /// # tokio::spawn(async move {
    /// #     let (mut socket, _) = listener.accept().await.unwrap();
    /// #     let _ = socket.read(&mut [0; 4096]).await;
    /// #     let reply = "HTTP/1.1 401 Unauthorized\r\ncontent-length: 13\r\n\r\nbad API key\r\n";
    /// #     socket.write_all(reply.as_bytes()).await.unwrap();
    /// # });
    /// use futures_util::StreamExt;
    /// // A server that answers `401` with a reason in the body.
    /// let mut events = ssekit::EventSource::get(url);
    /// let error = events.next().await.unwrap().unwrap_err();
    /// assert_eq!(error.kind(), ssekit::client::ErrorKind::Status(401));
    /// let body = error.into_response().unwrap().text().await.unwrap();
    /// assert_eq!(body.trim(), "bad API key");
    /// # }
    /// ```
    #[must_use]
    pub fn into_response(self) -> Option<Response> {
        self.0.response.map(|r| *r)
    }
}

/// The URL without what may be a secret: the query, the fragment, a user name and password.
struct Redacted<'a>(Option<&'a Url>);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(url) = self.0 else {
            return f.write_str("(no URL)");
        };
        let mut url = url.clone();
        url.set_query(None);
        url.set_fragment(None);
        let _ = url.set_password(None);
        let _ = url.set_username("");
        write!(f, "{url}")
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // By hand: `unwrap` and `main` print this, and the URL's query may hold a key.
        let this = &self.0;
        f.debug_struct("Error")
            .field("kind", &this.kind)
            .field("method", &this.method)
            .field("url", &format_args!("{}", Redacted(this.url.as_ref())))
            .field("attempt", &this.attempt)
            .field("status", &this.response.as_ref().map(|r| r.status()))
            .field("source", &this.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let this = &self.0;
        if this.kind == ErrorKind::Request {
            // Nothing was sent; the source says what was wrong with the request.
            return f.write_str("the request could not be built");
        }
        write!(f, "{} {}", this.method, Redacted(this.url.as_ref()))?;
        match this.kind {
            ErrorKind::Status(status) => {
                write!(f, ": the server answered {status}")?;
                if let Some(reason) = StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                {
                    write!(f, " {reason}")?;
                }
                f.write_str(", not 200 with an event stream")?;
            }
            ErrorKind::ContentType(seen) => write!(
                f,
                ": the response's content type is {seen}, not text/event-stream"
            )?,
            ErrorKind::GaveUp { failures } => {
                let s = if failures == 1 { "" } else { "s" };
                return write!(f, ": gave up after {failures} failed attempt{s} in a row");
            }
            ErrorKind::Request => {}
            // The reconnect that follows carries the attempt count.
            ErrorKind::Interrupted(cause) => return write!(f, ": {cause}"),
        }
        write!(f, " (attempt {})", this.attempt)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The request of [`EventSource::new`] cannot be sent more than once: its body is a stream.
/// Use a body of bytes (`.body(Vec<u8>)`, `.json(&value)`), which every reconnect sends again.
///
/// ```
/// let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("{}")]);
/// let request = reqwest::Client::new()
///     .post("http://127.0.0.1:3000/mcp")
///     .body(reqwest::Body::wrap_stream(chunks));
/// let error = ssekit::EventSource::new(request).unwrap_err();
/// assert!(error.to_string().contains("streaming body"));
/// let _request_back: reqwest::RequestBuilder = error.into_request();
/// ```
pub struct CannotCloneRequest(Box<RequestBuilder>);

impl fmt::Debug for CannotCloneRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the request: `unwrap` prints this, and its URL and headers may hold secrets.
        f.write_str("CannotCloneRequest")
    }
}

impl CannotCloneRequest {
    /// The request, given back (see the type's example).
    pub fn into_request(self) -> RequestBuilder {
        *self.0
    }
}

impl fmt::Display for CannotCloneRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event source request must be sent again on every reconnect, and this one has a streaming body")
    }
}

impl std::error::Error for CannotCloneRequest {}

enum Conn {
    None,
    Sending(Pending),
    Reading(reqwest::Body),
}

/// A reconnecting, resuming event stream over reqwest: the browser's `EventSource`, as a
/// [`Stream`](https://docs.rs/futures-core/0.3/futures_core/stream/trait.Stream.html) of
/// [`Update`]s, for any method, headers and body.
///
/// It drives a [`Session`] (so the last event ID has one owner, id-only blocks included) on
/// tokio's clock. Every reconnect sends the request again, with `Last-Event-ID`; redirects are
/// followed as the reqwest client is set to (by default, up to 10). The stream ends (`None`)
/// after a `204`, a finished one-shot stream, [`close`](Self::close), or an `Err`, which is
/// always the last item. Dropping it drops the connection.
///
/// ssekit asks reqwest for none of its default features; your own `reqwest = "0.13"`
/// dependency brings them (rustls for `https`, HTTP/2). With `default-features = false` there,
/// enable `rustls` or `native-tls` to read `https://` URLs.
///
/// # Timeouts
///
/// - the idle timeout ([`ReconnectConfig::with_idle_timeout`]): no byte, keep-alives included,
///   for that long, from the request on, and the connection is dropped and made again;
/// - the first-event timeout ([`ClientConfig::with_first_event_timeout`]): no message within
///   that long of the request;
/// - the connect timeout is your reqwest client's (`Client::builder().connect_timeout(..)`,
///   then [`EventSource::new`]`(client.get(url))`); [`get`](Self::get)'s client has 30 s.
///
/// Do not set reqwest's total `.timeout()` on the client: it ends every stream after that
/// long, however healthy, and the event source reconnects each time.
///
/// [`ReconnectConfig::with_idle_timeout`]: crate::reconnect::ReconnectConfig::with_idle_timeout
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use futures_util::StreamExt;
/// use ssekit::client::{ClientConfig, EventSource, Update};
/// use ssekit::reconnect::ReconnectConfig;
///
/// // An LLM completion: a POST, read once, ended by `data: [DONE]`, never sent twice (a
/// // completion is not resumable, and a second run is billed again).
/// let request = reqwest::Client::new()
///     .post("http://127.0.0.1:8080/v1/chat/completions")
///     .bearer_auth("sk-...")
///     .json(&serde_json::json!({ "model": "m", "stream": true, "messages": [] }));
/// let once = ReconnectConfig::new().with_one_shot(true).with_max_attempts(Some(0));
/// let config = ClientConfig::new().with_reconnect(once).with_sentinel("[DONE]");
/// let mut events = EventSource::new(request)?.with_config(config);
/// while let Some(update) = events.next().await {
///     if let Update::Message(m) = update? {
///         let chunk: serde_json::Value = m.json()?;
///         print!("{}", chunk["choices"][0]["delta"]["content"].as_str().unwrap_or(""));
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "an event source does nothing unless polled"]
pub struct EventSource {
    /// The client and the request every connection sends a copy of; or why there is none.
    template: Result<(reqwest::Client, reqwest::Request), Option<reqwest::Error>>,
    config: ClientConfig,
    session: Session<Instant>,
    conn: Conn,
    timer: Option<Pin<Box<Sleep>>>,
    method: Method,
    url: Option<Url>,
    attempt: u32,
    sent_id: Option<EventId>,
    transport: Option<reqwest::Error>,
    last_failure: Option<Error>,
    wants: Wants,
    done: bool,
    /// The time last read from the clock, used while only input matters (no idle timeout
    /// needs each chunk's time, and the session is [reading](Session::is_reading)).
    clock: Instant,
}

#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::struct_excessive_bools)]
struct Wants {
    retry: bool,
    comments: bool,
    reconnects: bool,
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("method", &self.method)
            .field("url", &format_args!("{}", Redacted(self.url.as_ref())))
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl EventSource {
    /// An event source reading `url` with `GET`, on a new `reqwest::Client` that gives up on
    /// a connection not made within 30 seconds, with the default settings
    /// ([`ClientConfig::new`]: no idle timeout; servers that send keep-alives pair well with
    /// one). An invalid URL is the stream's first (and last) item. For other client settings
    /// (a proxy, TLS roots), build the request with your client and use [`new`](Self::new).
    ///
    /// ```
    /// let events = ssekit::EventSource::get("http://127.0.0.1:3000/events");
    /// assert!(events.last_event_id().is_none()); // nothing is sent before the first poll
    /// ```
    pub fn get(url: impl reqwest::IntoUrl) -> EventSource {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build();
        match client.map(|client| EventSource::new(client.get(url))) {
            Ok(Ok(events)) => events,
            Ok(Err(_)) => unreachable!("a GET without a body can be sent again"),
            Err(e) => EventSource::from_parts(Method::GET, None, Err(Some(e))),
        }
    }

    /// An event source sending this request (any method, headers and body: the body is sent
    /// again on every reconnect) with the default settings.
    ///
    /// `Accept: text/event-stream` is added unless the request sets `Accept`. A
    /// `Last-Event-ID` the request sets is where the stream resumes (as
    /// [`with_last_event_id`](Self::with_last_event_id)); every connection then sends the
    /// last event ID in force instead. A request that cannot be built (an invalid URL, say)
    /// makes the stream's first and last item an [`ErrorKind::Request`] error.
    ///
    /// # Errors
    ///
    /// [`CannotCloneRequest`] when the body is a stream, which cannot be sent twice.
    ///
    /// ```
    /// let request = reqwest::Client::new()
    ///     .post("http://127.0.0.1:3000/mcp")
    ///     .header("mcp-session-id", "s-1")
    ///     .body("{}");
    /// let events = ssekit::EventSource::new(request).unwrap();
    /// assert!(events.stopped().is_none());
    ///
    /// // Resuming a stored position, as reqwest-eventsource users wrote it:
    /// let request = reqwest::Client::new()
    ///     .get("http://127.0.0.1:3000/events")
    ///     .header("last-event-id", "41");
    /// let events = ssekit::EventSource::new(request).unwrap();
    /// assert_eq!(events.last_event_id().unwrap(), "41");
    /// ```
    pub fn new(request: RequestBuilder) -> Result<EventSource, CannotCloneRequest> {
        let (client, request) = request.build_split();
        let r = match request {
            Ok(r) if r.try_clone().is_none() => {
                let builder = RequestBuilder::from_parts(client, r);
                return Err(CannotCloneRequest(Box::new(builder)));
            }
            Ok(r) => r,
            Err(e) => {
                let url = e.url().cloned();
                return Ok(EventSource::from_parts(Method::GET, url, Err(Some(e))));
            }
        };
        let resume = r
            .headers()
            .get("last-event-id")
            .and_then(|v| EventId::try_from(bytes::Bytes::copy_from_slice(v.as_bytes())).ok());
        let (method, url) = (r.method().clone(), Some(r.url().clone()));
        let mut events = EventSource::from_parts(method, url, Ok((client, r)));
        if let Some(id) = resume {
            events.session.set_last_event_id(&id);
        }
        Ok(events)
    }

    fn from_parts(
        method: Method,
        url: Option<Url>,
        template: Result<(reqwest::Client, reqwest::Request), Option<reqwest::Error>>,
    ) -> EventSource {
        let config = ClientConfig::new();
        EventSource {
            template,
            session: Session::new(config.clone()),
            config,
            conn: Conn::None,
            timer: None,
            method,
            url,
            attempt: 1,
            sent_id: None,
            transport: None,
            last_failure: None,
            wants: Wants::default(),
            done: false,
            clock: Instant::now(),
        }
    }

    /// With these settings (before the first poll; the last event ID set so far is kept).
    ///
    /// ```
    /// use core::time::Duration;
    /// use ssekit::{client::ClientConfig, reconnect::ReconnectConfig, EventSource};
    /// let events = EventSource::get("http://127.0.0.1:3000/events").with_config(
    ///     ClientConfig::new().with_reconnect(
    ///         ReconnectConfig::new()
    ///             .with_initial_retry(Duration::from_secs(1))
    ///             .with_idle_timeout(Some(Duration::from_secs(45))),
    ///     ),
    /// );
    /// assert_eq!(events.retry(), Duration::from_secs(1));
    /// ```
    pub fn with_config(mut self, config: ClientConfig) -> EventSource {
        self.config = config;
        self.rebuild();
        self
    }

    /// Resumes from a stored position: the first request sends it as `Last-Event-ID`.
    ///
    /// ```
    /// let events = ssekit::EventSource::get("http://127.0.0.1:3000/events")
    ///     .with_last_event_id(&ssekit::EventId::from_static("41"));
    /// assert_eq!(events.last_event_id().unwrap(), "41");
    /// ```
    pub fn with_last_event_id(mut self, id: &EventId) -> EventSource {
        self.session.set_last_event_id(id);
        self
    }

    /// Also yield [`Update::Retry`] when the server sets the reconnection time.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let url = format!("http://{}/events", listener.local_addr().unwrap());
    /// # tokio::spawn(async move {
    /// #     let (mut socket, _) = listener.accept().await.unwrap();
    /// #     let _ = socket.read(&mut [0; 4096]).await;
    /// #     let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";
    /// #     let body = ": hi\nretry: 250\n\ndata: x\n\n";
    /// #     socket.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
    /// #     let _ = socket.read(&mut [0; 16]).await;
    /// # });
    /// use futures_util::StreamExt;
    /// use ssekit::client::Update;
    /// // The server sends `: hi`, `retry: 250`, then `data: x`.
    /// let mut events = ssekit::EventSource::get(url).with_retry_updates(true);
    /// assert!(matches!(events.next().await, Some(Ok(Update::Open(_)))));
    /// let Some(Ok(Update::Retry(retry))) = events.next().await else { panic!() };
    /// assert_eq!(retry.as_millis(), 250);
    /// assert!(matches!(events.next().await, Some(Ok(Update::Message(_)))));
    /// # }
    /// ```
    pub fn with_retry_updates(mut self, on: bool) -> EventSource {
        self.wants.retry = on;
        self
    }

    /// Also yield [`Update::Comment`] for comment lines (keep-alives).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let url = format!("http://{}/events", listener.local_addr().unwrap());
    /// # tokio::spawn(async move {
    /// #     let (mut socket, _) = listener.accept().await.unwrap();
    /// #     let _ = socket.read(&mut [0; 4096]).await;
    /// #     let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";
    /// #     let body = ": hi\nretry: 250\n\ndata: x\n\n";
    /// #     socket.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
    /// #     let _ = socket.read(&mut [0; 16]).await;
    /// # });
    /// use futures_util::StreamExt;
    /// use ssekit::client::Update;
    /// // The server sends `: hi`, `retry: 250`, then `data: x`.
    /// let mut events = ssekit::EventSource::get(url).with_comment_updates(true);
    /// assert!(matches!(events.next().await, Some(Ok(Update::Open(_)))));
    /// let Some(Ok(Update::Comment(comment))) = events.next().await else { panic!() };
    /// assert_eq!(comment, "hi");
    /// assert!(matches!(events.next().await, Some(Ok(Update::Message(_)))));
    /// # }
    /// ```
    pub fn with_comment_updates(mut self, on: bool) -> EventSource {
        self.wants.comments = on;
        self.rebuild();
        self
    }

    /// Also yield [`Update::Reconnecting`] before each reconnect: the attempt, the delay, and
    /// the cause (see [`Reconnecting`] for an example).
    pub fn with_reconnect_updates(mut self, on: bool) -> EventSource {
        self.wants.reconnects = on;
        self
    }

    /// The last event ID: what the next request sends as `Last-Event-ID`.
    ///
    /// ```
    /// use ssekit::{EventId, EventSource};
    /// let events = EventSource::get("http://127.0.0.1:3000/").with_last_event_id(&EventId::from_static("7"));
    /// assert_eq!(events.last_event_id().unwrap(), "7");
    /// ```
    #[must_use]
    pub fn last_event_id(&self) -> Option<&EventId> {
        self.session.last_event_id()
    }

    /// The reconnection time in force: the server's last `retry`, or the initial one.
    ///
    /// ```
    /// assert_eq!(ssekit::EventSource::get("http://127.0.0.1:3000/").retry().as_secs(), 3);
    /// ```
    #[must_use]
    pub fn retry(&self) -> Duration {
        self.session.retry()
    }

    /// The state machine it drives.
    ///
    /// ```
    /// let events = ssekit::EventSource::get("http://127.0.0.1:3000/");
    /// assert_eq!(events.session().policy().failures(), 0);
    /// ```
    #[must_use]
    pub fn session(&self) -> &Session<Instant> {
        &self.session
    }

    /// Ends the stream: the connection is dropped now, and the next poll yields `None`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures_util::StreamExt;
    /// let mut events = ssekit::EventSource::get("http://127.0.0.1:3000/");
    /// events.close();
    /// assert!(events.next().await.is_none());
    /// assert_eq!(events.stopped(), Some(ssekit::reconnect::Stop::Closed));
    /// # }
    /// ```
    pub fn close(&mut self) {
        self.session.close();
        self.conn = Conn::None;
        self.timer = None;
    }

    /// Why it stopped, once it has (see [`close`](Self::close) for an example).
    #[must_use]
    pub fn stopped(&self) -> Option<Stop> {
        self.session.stopped()
    }

    fn rebuild(&mut self) {
        let id = self.session.last_event_id().cloned();
        let mut config = self.config.clone();
        if self.wants.comments {
            let parser = config.parser().with_comments(true);
            config = config.with_parser(parser);
        }
        self.session = Session::new(config);
        if let Some(id) = id {
            self.session.set_last_event_id(&id);
        }
    }

    fn error(&self, kind: ErrorKind) -> Error {
        Error(Box::new(Inner {
            kind,
            method: self.method.clone(),
            url: self.url.clone(),
            attempt: self.attempt,
            response: None,
            source: None,
        }))
    }

    fn connect(&mut self, last_event_id: Option<EventId>) -> Result<Pending, Error> {
        let (client, mut request) = match &mut self.template {
            Ok((client, template)) => (
                client.clone(),
                template.try_clone().expect("checked by EventSource::new"),
            ),
            Err(e) => {
                let source = e.take().map(reqwest::Error::without_url);
                let mut error = self.error(ErrorKind::Request);
                error.0.source = source.map(|e| Box::new(e) as _);
                return Err(error);
            }
        };
        let headers = request.headers_mut();
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        }
        headers.remove("last-event-id");
        if let Some(id) = &last_event_id {
            // The policy only keeps ids that are valid header values.
            if let Ok(value) = HeaderValue::from_bytes(id.as_str().as_bytes()) {
                headers.insert("last-event-id", value);
            }
        }
        self.attempt = self.session.policy().failures().saturating_add(1);
        self.sent_id = last_event_id;
        Ok(Box::pin(client.execute(request)))
    }

    /// Polls the timer set to `deadline`; true once it has passed.
    fn expired(&mut self, deadline: Option<Instant>, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = deadline else {
            return false;
        };
        let timer = match &mut self.timer {
            Some(timer) => {
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        timer.as_mut().poll(cx).is_ready()
    }

    fn opened(&mut self, response: Response) -> Update {
        let url = response.url().clone();
        let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
        self.conn = Conn::Reading(body);
        Update::Open(Box::new(Opened {
            status: parts.status,
            headers: parts.headers,
            url,
            last_event_id: self.sent_id.clone(),
        }))
    }

    fn interrupted(&mut self, cause: Cause) -> Error {
        let mut error = self.error(ErrorKind::Interrupted(cause));
        if cause == Cause::Transport {
            error.0.source = self
                .transport
                .take()
                .map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
        }
        error
    }

    fn stop(&mut self, stop: Stop) -> Option<Error> {
        self.conn = Conn::None;
        self.timer = None;
        match stop {
            Stop::Status(_) | Stop::ContentType(_) => self.last_failure.take(),
            Stop::GaveUp { failures } => {
                let last = self.session.last_cause().map(|c| self.interrupted(c));
                let mut error = self.error(ErrorKind::GaveUp { failures });
                error.0.source =
                    last.map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
                Some(error)
            }
            _ => None,
        }
    }

    /// Waits for the response: `Ready(Some(update))` when it opened the stream, `Ready(None)`
    /// when the session has news (poll it), `Pending` when there is none yet.
    fn poll_response(
        &mut self,
        deadline: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Update>> {
        let Conn::Sending(pending) = &mut self.conn else {
            self.session.on_error(Instant::now());
            return Poll::Ready(None);
        };
        match pending.as_mut().poll(cx) {
            Poll::Ready(Ok(response)) => {
                self.conn = Conn::None;
                self.session.on_http_response(
                    Instant::now(),
                    response.status(),
                    response.headers(),
                    unix_now(),
                );
                if self.session.is_open() {
                    return Poll::Ready(Some(self.opened(response)));
                }
                let kind = match self.session.stopped() {
                    Some(Stop::Status(s)) => ErrorKind::Status(s),
                    Some(Stop::ContentType(seen)) => ErrorKind::ContentType(seen),
                    _ => return Poll::Ready(None),
                };
                let mut error = self.error(kind);
                error.0.response = Some(Box::new(response));
                self.last_failure = Some(error);
            }
            Poll::Ready(Err(e)) => {
                self.conn = Conn::None;
                self.transport = Some(e.without_url());
                self.session.on_error(Instant::now());
            }
            Poll::Pending => {
                if !self.expired(deadline, cx) {
                    return Poll::Pending;
                }
                self.session.on_tick(Instant::now());
            }
        }
        Poll::Ready(None)
    }

    /// Reads the body into the session: `Ready` when the session has news.
    fn poll_body(&mut self, deadline: Option<Instant>, cx: &mut Context<'_>) -> Poll<()> {
        let Conn::Reading(body) = &mut self.conn else {
            self.session.on_error(Instant::now());
            return Poll::Ready(());
        };
        match Pin::new(body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    // Only the idle timeout needs each chunk's time.
                    if self.session.policy().config().idle_timeout().is_some() {
                        self.clock = Instant::now();
                    }
                    self.session.feed(self.clock, data);
                }
            }
            Poll::Ready(Some(Err(e))) => {
                self.conn = Conn::None;
                self.transport = Some(e.without_url());
                self.session.on_error(Instant::now());
            }
            Poll::Ready(None) => {
                self.conn = Conn::None;
                self.session.on_end(Instant::now());
            }
            Poll::Pending => {
                if !self.expired(deadline, cx) {
                    return Poll::Pending;
                }
                self.session.on_tick(Instant::now());
            }
        }
        Poll::Ready(())
    }
}

impl EventSource {
    /// What the caller sees of an item, if anything.
    #[inline]
    fn update(&self, item: crate::Item) -> Option<Update> {
        match item {
            crate::Item::Message(m) => Some(Update::Message(m)),
            crate::Item::Retry(d) if self.wants.retry => Some(Update::Retry(d)),
            crate::Item::Comment(c) if self.wants.comments => Some(Update::Comment(c)),
            _ => None,
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Stream for EventSource {
    type Item = Result<Update, Error>;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // The per-message path, small enough to inline into the caller's loop: a message
        // already parsed needs no clock, no I/O and no state change beyond the session's.
        match this.session.next_item() {
            Some(Ok(crate::Item::Message(m))) => {
                return Poll::Ready(Some(Ok(Update::Message(m))));
            }
            Some(Ok(item)) => {
                if let Some(update) = this.update(item) {
                    return Poll::Ready(Some(Ok(update)));
                }
            }
            Some(Err(_)) | None => {}
        }
        this.poll_slow(cx)
    }
}

impl EventSource {
    #[inline(never)]
    fn poll_slow(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Update, Error>>> {
        let this = self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            // Items already parsed need no clock: read it only when the session has news.
            if let Some(Ok(item)) = this.session.next_item() {
                if let Some(update) = this.update(item) {
                    return Poll::Ready(Some(Ok(update)));
                }
                continue;
            }
            if !this.session.is_reading() {
                this.clock = Instant::now();
            }
            let now = this.clock;
            match this.session.poll(now) {
                Output::Connect {
                    last_event_id,
                    deadline,
                } => match this.connect(last_event_id) {
                    Ok(pending) => {
                        this.conn = Conn::Sending(pending);
                        let _ = this.expired(deadline, cx);
                    }
                    Err(error) => {
                        this.session.close();
                        this.done = true;
                        return Poll::Ready(Some(Err(error)));
                    }
                },
                Output::AwaitResponse { deadline } => match this.poll_response(deadline, cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(update)) => return Poll::Ready(Some(Ok(update))),
                    Poll::Ready(None) => {}
                },
                Output::Read { deadline } => {
                    if this.poll_body(deadline, cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                Output::Item(item) => {
                    if let Some(update) = this.update(item) {
                        return Poll::Ready(Some(Ok(update)));
                    }
                }
                Output::Reconnect {
                    attempt,
                    delay,
                    cause,
                    ..
                } => {
                    this.conn = Conn::None;
                    let cause = this.interrupted(cause);
                    if this.wants.reconnects {
                        return Poll::Ready(Some(Ok(Update::Reconnecting(Box::new(
                            Reconnecting {
                                attempt,
                                delay,
                                cause,
                            },
                        )))));
                    }
                }
                Output::Wait { until } => {
                    if !this.expired(Some(until), cx) {
                        return Poll::Pending;
                    }
                }
                Output::Stop(stop) => {
                    this.done = true;
                    return Poll::Ready(this.stop(stop).map(Err));
                }
            }
        }
    }
}

// An EventSource moves between tasks; its errors go anywhere an error can.
const _: fn() = || {
    fn send<T: Send>() {}
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    send::<EventSource>();
    error::<Error>();
};
