//! `http-body` integration (feature `http-body`): [`EncodeStream`] as a response body, the
//! response headers, where a reconnecting client resumes from ([`last_event_id`]), and parsing
//! any `http_body::Body`.

use crate::field::EventId;
use crate::stream::{Encode, EncodeStream, EventStream, Timer};
use bytes::{Buf, Bytes};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use futures_core::Stream;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use pin_project_lite::pin_project;

/// `Content-Type: text/event-stream`.
pub const CONTENT_TYPE_VALUE: HeaderValue = HeaderValue::from_static("text/event-stream");
/// `Cache-Control: no-cache, no-transform`: no caching, and no proxy may compress or rewrite
/// the stream.
pub const CACHE_CONTROL_VALUE: HeaderValue = HeaderValue::from_static("no-cache, no-transform");
/// `X-Accel-Buffering`, which tells nginx-style proxies not to buffer the response.
pub const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// The headers a streaming SSE response needs.
///
/// `Content-Type: text/event-stream`, `Cache-Control: no-cache, no-transform`, and
/// `X-Accel-Buffering: no`. No `Connection` header: HTTP/2 forbids it, and HTTP/1.1 keeps the
/// connection open anyway.
///
/// ```
/// let h = ssekit::body::headers();
/// assert_eq!(h["content-type"], "text/event-stream");
/// assert_eq!(h["cache-control"], "no-cache, no-transform");
/// assert_eq!(h["x-accel-buffering"], "no");
/// assert!(h.get("connection").is_none());
/// ```
#[must_use]
pub fn headers() -> HeaderMap {
    let mut h = HeaderMap::with_capacity(3);
    h.insert(CONTENT_TYPE, CONTENT_TYPE_VALUE);
    h.insert(CACHE_CONTROL, CACHE_CONTROL_VALUE);
    h.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    h
}

/// The longest resume id [`last_event_id`] accepts, in bytes: longer ones are treated as
/// absent.
pub const MAX_LAST_EVENT_ID_LEN: usize = 256;

/// The id a client resumes after: the `Last-Event-ID` header (what a reconnecting
/// `EventSource` sends), or else the `last_event_id` parameter of the request's `query` (how a
/// page that was reloaded, or a client that cannot set headers, says it), or `None`.
///
/// Either is taken only when it is one value, not empty, at most [`MAX_LAST_EVENT_ID_LEN`]
/// bytes, and (after percent-decoding, for the query) UTF-8 with no control characters: an id
/// the server could have sent. Anything else counts as absent, so a hostile request cannot
/// put line breaks or megabytes into the server's logs or events through it, and nothing of
/// it is returned in an error. Two `Last-Event-ID` headers, or two parameters, are absent too.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use ssekit::body::last_event_id;
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(last_event_id(&headers, Some("last_event_id=41")).unwrap(), "41");
/// headers.insert("last-event-id", HeaderValue::from_static("42"));
/// // The header wins.
/// assert_eq!(last_event_id(&headers, Some("last_event_id=41")).unwrap(), "42");
/// // Control characters, or an id longer than any the server sends: absent.
/// headers.insert("last-event-id", HeaderValue::from_static("4\t2"));
/// assert_eq!(last_event_id(&headers, None), None);
/// assert_eq!(last_event_id(&HeaderMap::new(), Some("last_event_id=a%0Ab")), None);
/// ```
#[must_use]
pub fn last_event_id(headers: &HeaderMap, query: Option<&str>) -> Option<EventId> {
    let mut values = headers.get_all("last-event-id").iter();
    let header = match (values.next(), values.next()) {
        (Some(one), None) => resume_id(one.as_bytes()),
        _ => None,
    };
    header.or_else(|| query.and_then(query_last_event_id))
}

/// The `last_event_id` parameter of a query string, if there is exactly one and it is valid.
fn query_last_event_id(query: &str) -> Option<EventId> {
    let mut found = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("last_event_id="));
    let (Some(one), None) = (found.next(), found.next()) else {
        return None;
    };
    if one.len() > 3 * MAX_LAST_EVENT_ID_LEN {
        return None;
    }
    let mut decoded = alloc::vec::Vec::with_capacity(one.len());
    let mut bytes = one.bytes();
    while let Some(b) = bytes.next() {
        decoded.push(match b {
            b'+' => b' ',
            b'%' => {
                let hex = |b: Option<u8>| char::from(b?).to_digit(16);
                #[allow(clippy::cast_possible_truncation)] // two hex digits: below 256
                let byte = (hex(bytes.next())? * 16 + hex(bytes.next())?) as u8;
                byte
            }
            b => b,
        });
    }
    resume_id(&decoded)
}

/// `bytes` as an id, if a server could have sent it: UTF-8, not empty, not too long, no
/// control characters (which also rules out CR, LF and NUL).
fn resume_id(bytes: &[u8]) -> Option<EventId> {
    if bytes.is_empty() || bytes.len() > MAX_LAST_EVENT_ID_LEN {
        return None;
    }
    let text = core::str::from_utf8(bytes).ok()?;
    if text.chars().any(char::is_control) {
        return None;
    }
    EventId::try_from(text).ok()
}

/// With the `axum` feature: [`last_event_id`] as an extractor. It never rejects a request: an
/// id that is missing or invalid is `None`.
///
/// ```
/// use axum::{Router, routing::get};
/// use ssekit::body::LastEventId;
///
/// async fn events(LastEventId(after): LastEventId) -> String {
///     // A real handler subscribes after `after`; see the `live_scores` example.
///     after.map_or("from the start".into(), |id| format!("after {id}"))
/// }
/// let app: Router = Router::new().route("/events", get(events));
/// # let _ = app;
///
/// # use axum::extract::FromRequestParts;
/// # futures_executor::block_on(async {
/// let request = http::Request::get("/events?last_event_id=7").body(()).unwrap();
/// let (mut parts, ()) = request.into_parts();
/// let LastEventId(after) = LastEventId::from_request_parts(&mut parts, &()).await.unwrap();
/// assert_eq!(after.unwrap(), "7");
/// # });
/// ```
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastEventId(pub Option<EventId>);

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S: Send + Sync> axum_core::extract::FromRequestParts<S> for LastEventId {
    type Rejection = core::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<LastEventId, core::convert::Infallible> {
        Ok(LastEventId(last_event_id(
            &parts.headers,
            parts.uri.query(),
        )))
    }
}

impl<S, T, F> http_body::Body for EncodeStream<S, T, F>
where
    S: Stream,
    S::Item: Encode,
    T: Timer,
    F: Future<Output = ()>,
{
    type Data = Bytes;
    type Error = <S::Item as Encode>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.poll_next(cx)
            .map(|o| o.map(|r| r.map(http_body::Frame::data)))
    }
}

impl<S, T, F> EncodeStream<S, T, F>
where
    S: Stream,
    S::Item: Encode,
{
    /// A `200 OK` [`http::Response`](https://docs.rs/http/1/http/response/struct.Response.html) with this stream as its body and the [`headers`] set:
    /// what hyper, or any framework on `http` 1, returns as it is. (In axum, with the `axum`
    /// feature, the stream is an `IntoResponse` itself.)
    ///
    /// ```
    /// use ssekit::{EncodeStream, Event};
    /// let resp = EncodeStream::new(futures_util::stream::iter([Event::new("hi")])).into_http_response();
    /// assert_eq!(resp.status(), 200);
    /// assert_eq!(resp.headers()["content-type"], "text/event-stream");
    /// ```
    pub fn into_http_response(self) -> http::Response<Self> {
        let mut resp = http::Response::new(self);
        *resp.headers_mut() = headers();
        resp
    }
}

/// With the `axum` feature, an [`EncodeStream`] is a response: a `200 OK` with the [`headers`]
/// set and the stream as its body. A handler that also answers `204 No Content` (the
/// standard's "stop reconnecting") returns `axum::response::Response` from both branches:
///
/// ```
/// use std::time::Duration;
/// use axum::http::StatusCode;
/// use axum::response::{IntoResponse, Response};
/// use futures_util::stream;
/// use ssekit::{EncodeStream, Event};
///
/// async fn events(finished: bool) -> Response {
///     if finished {
///         return StatusCode::NO_CONTENT.into_response();
///     }
///     let events = stream::iter([Event::new("1-0")]);
///     EncodeStream::new(events).keep_alive_tokio(Duration::from_secs(15)).into_response()
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// assert_eq!(events(true).await.status(), 204);
/// let live = events(false).await;
/// assert_eq!(live.status(), 200);
/// assert_eq!(live.headers()["content-type"], "text/event-stream");
/// # }
/// ```
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S, T, F> axum_core::response::IntoResponse for EncodeStream<S, T, F>
where
    S: Stream + Send + 'static,
    S::Item: Encode,
    <S::Item as Encode>::Error: Into<axum_core::BoxError> + Send + 'static,
    T: Timer + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    fn into_response(self) -> axum_core::response::Response {
        let mut resp = axum_core::response::Response::new(axum_core::body::Body::new(self));
        *resp.headers_mut() = headers();
        resp
    }
}

pin_project! {
    /// The data frames of an `http_body::Body` as a stream of [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html) (trailers are skipped).
    ///
    /// Made by [`EventStream::from_body`]; usable on its own.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// # futures_executor::block_on(async {
    /// let body = http_body_util::Full::new(bytes::Bytes::from_static(b"data: x\n\n"));
    /// let chunks: Vec<_> = ssekit::body::BodyStream::new(body).collect().await;
    /// assert_eq!(chunks[0].as_ref().unwrap(), "data: x\n\n");
    /// # });
    /// ```
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct BodyStream<B> {
        #[pin]
        body: B,
    }
}

impl<B> BodyStream<B> {
    /// Wraps a body.
    ///
    /// ```
    /// let s = ssekit::body::BodyStream::new(http_body_util::Empty::<bytes::Bytes>::new());
    /// # drop(s);
    /// ```
    pub fn new(body: B) -> BodyStream<B> {
        BodyStream { body }
    }

    /// Takes the body back.
    ///
    /// ```
    /// let s = ssekit::body::BodyStream::new(http_body_util::Empty::<bytes::Bytes>::new());
    /// let _body = s.into_inner();
    /// ```
    pub fn into_inner(self) -> B {
        self.body
    }
}

impl<B: http_body::Body> Stream for BodyStream<B> {
    type Item = Result<Bytes, B::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut body = self.project().body;
        loop {
            match body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(mut data) => {
                        let len = data.remaining();
                        // Free for `Bytes` data; a copy for other buffer types.
                        return Poll::Ready(Some(Ok(data.copy_to_bytes(len))));
                    }
                    Err(_trailers) => {}
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<B: http_body::Body> EventStream<BodyStream<B>> {
    /// Parses the messages of any `http_body::Body`: a hyper or reqwest response body, an axum
    /// request body.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// # futures_executor::block_on(async {
    /// let body = http_body_util::Full::new(bytes::Bytes::from_static(b"data: hello\n\n"));
    /// let mut events = ssekit::EventStream::from_body(body);
    /// assert_eq!(events.next().await.unwrap().unwrap().data(), "hello");
    /// # });
    /// ```
    pub fn from_body(body: B) -> EventStream<BodyStream<B>> {
        EventStream::new(BodyStream::new(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;

    fn header(value: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.append("last-event-id", HeaderValue::from_bytes(value).unwrap());
        h
    }

    fn id(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
        last_event_id(headers, query).map(|id| id.as_str().into())
    }

    #[test]
    fn a_valid_header_wins_and_an_invalid_one_counts_as_absent() {
        let q = Some("last_event_id=q");
        assert_eq!(id(&header(b"h-1"), q).as_deref(), Some("h-1"));
        // (The `http` crate refuses DEL and other control bytes but tab in a header value.)
        for bad in [&b""[..], b"a\tb", b"\xff\xfe", &[b'x'; 257]] {
            assert_eq!(id(&header(bad), q).as_deref(), Some("q"), "{bad:?}");
            assert_eq!(id(&header(bad), None), None, "{bad:?}");
        }
        assert_eq!(id(&header(&[b'x'; 256]), None).map(|s| s.len()), Some(256));
        let mut two = header(b"1");
        two.append("last-event-id", HeaderValue::from_static("2"));
        assert_eq!(id(&two, None), None, "two headers: which one?");
        // UTF-8 in a header value is fine; a C1 control character is not.
        assert_eq!(id(&header("é".as_bytes()), None).as_deref(), Some("é"));
        assert_eq!(id(&header("a\u{85}b".as_bytes()), None), None);
    }

    #[test]
    fn the_query_parameter_is_percent_decoded_and_checked() {
        let none = HeaderMap::new();
        let q = |query: &str| id(&none, Some(query));
        assert_eq!(q("last_event_id=5").as_deref(), Some("5"));
        assert_eq!(q("a=1&last_event_id=7-3&b=2").as_deref(), Some("7-3"));
        assert_eq!(q("last_event_id=a%20b+c").as_deref(), Some("a b c"));
        assert_eq!(q("last_event_id=%E2%9C%93").as_deref(), Some("\u{2713}"));
        for bad in [
            "xlast_event_id=5",
            "last_event_id=",
            "last_event_id=a%0Ab",
            "last_event_id=a%0db",
            "last_event_id=%00",
            "last_event_id=%G1",
            "last_event_id=%2",
            "last_event_id=%ff",
            "last_event_id=1&last_event_id=2",
            "",
        ] {
            assert_eq!(q(bad), None, "{bad}");
        }
        let long = format!("last_event_id={}", "x".repeat(257));
        assert_eq!(q(&long), None);
        let encoded = format!("last_event_id={}", "%41".repeat(256));
        assert_eq!(q(&encoded).map(|s| s.len()), Some(256));
    }
}
