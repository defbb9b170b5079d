//! Reading an event stream as a client: a sans-IO [`Session`] that any HTTP client can drive,
//! and, with the `reqwest` feature, a ready-made [`EventSource`] on reqwest.
//!
//! A reconnecting client has three pieces of state that must agree: the parser's last event ID,
//! the reconnection policy's copy of it (sent as `Last-Event-ID`), and the server's `retry`.
//! Written by hand, the loop keeps two copies and loses the one an id-only block set, or resets
//! it when a new parser starts on a new connection, and replays events after a cut. A
//! [`Session`] owns the [`Parser`](crate::Parser) and the [`Reconnect`](crate::reconnect::Reconnect)
//! policy together, so there is one owner; it is told what happened (a response, a chunk, the
//! end, an error, time) and says what to do ([`Output`]).
//!
//! [`EventSource`] drives a `Session` on reqwest and tokio's clock:
//!
//! ```no_run
//! # #[cfg(feature = "reqwest")]
//! # #[tokio::main]
//! # async fn main() -> Result<(), ssekit::client::Error> {
//! use futures_util::StreamExt;
//! use ssekit::client::{EventSource, Update};
//!
//! let mut events = EventSource::get("http://127.0.0.1:3000/events");
//! while let Some(update) = events.next().await {
//!     if let Update::Message(m) = update? {
//!         println!("{}: {}", m.event_type(), m.data());
//!     }
//! }
//! # Ok(()) }
//! # #[cfg(not(feature = "reqwest"))]
//! # fn main() {}
//! ```
//!
//! By default it behaves as a browser's `EventSource`: `200` with `text/event-stream` opens;
//! `204` ends the stream for good; another status or content type is an [`Error`] that holds
//! the response (to read an error body); redirects are followed; the reconnection time is the
//! server's `retry`, with capped, jittered backoff while the server is down; `Last-Event-ID`
//! is sent on every reconnect. [`ClientConfig`] adds what production clients need: retry on
//! `5xx`, `429` and `408` with `Retry-After`, attempt limits, idle and first-event timeouts,
//! one-shot streams ended by a sentinel such as `[DONE]`.

mod retry_after;
mod session;

#[cfg(feature = "reqwest")]
mod event_source;

pub use retry_after::{RetryAfter, parse_http_date};
pub use session::{Cause, ClientConfig, Output, Session};

#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use event_source::{
    CannotCloneRequest, Error, ErrorKind, EventSource, Opened, Reconnecting, Update,
};
