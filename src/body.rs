//! `http-body` integration (feature `http-body`): [`EncodeStream`] as a response body, the
//! response headers, and parsing any `http_body::Body`.

use crate::stream::{EncodeStream, EventStream, IntoEvent, Timer};
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

impl<S, T, F> http_body::Body for EncodeStream<S, T, F>
where
    S: Stream,
    S::Item: IntoEvent,
    T: Timer,
    F: Future<Output = ()>,
{
    type Data = Bytes;
    type Error = <S::Item as IntoEvent>::Error;

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
    S::Item: IntoEvent,
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
    S::Item: IntoEvent,
    <S::Item as IntoEvent>::Error: Into<axum_core::BoxError> + Send + 'static,
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
