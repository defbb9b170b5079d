//! Server-Sent Events (`text/event-stream`) for servers and clients: an event builder and a
//! zero-copy encoder, a spec-exact, zero-copy and bounded streaming parser, and `Stream`
//! adapters for both directions.
//!
//! The format is the one the WHATWG HTML standard defines in *Server-sent events* (§9.2): what
//! a browser's `EventSource` reads, and what LLM, MCP and dashboard APIs stream.
//!
//! ssekit opens no connections and speaks no HTTP itself: it turns events into bytes and bytes
//! into events, and fits any HTTP server or client (hyper, axum, actix-web, reqwest, …).
//!
//! # Encode (servers)
//!
//! ```
//! use std::time::Duration;
//! use ssekit::Event;
//!
//! let event = Event::builder()
//!     .event("goal")
//!     .id(1u64)
//!     .retry(Duration::from_secs(5))
//!     .data("{\"minute\":23,\"score\":\"1-0\"}")
//!     .build()?;
//! assert_eq!(
//!     event.to_bytes(),
//!     "event: goal\nid: 1\nretry: 5000\ndata: {\"minute\":23,\"score\":\"1-0\"}\n\n"
//! );
//!
//! // Values that could forge fields are refused, never written.
//! assert!(Event::builder().id("1\n\ndata: forged").build().is_err());
//! # Ok::<(), ssekit::error::EventError>(())
//! ```
//!
//! # Parse (clients)
//!
//! ```
//! use bytes::Bytes;
//! use ssekit::Parser;
//!
//! let mut parser = Parser::new();
//! for chunk in ["data: {\"tok", "en\":\"Hel\"}\n\nda", "ta: [DONE]\n\n"] {
//!     parser.feed(Bytes::from(chunk));
//!     while let Some(msg) = parser.next_message() {
//!         let msg = msg?;
//!         println!("{}: {}", msg.event_type(), msg.data());
//!     }
//! }
//! # Ok::<(), ssekit::error::ParseError>(())
//! ```
//!
//! # Streams
//!
//! ```
//! use futures_util::{stream, StreamExt};
//! use ssekit::{Event, SseStreamExt};
//!
//! # futures_executor::block_on(async {
//! // Server: events in, bytes out (and with `http-body`, a response body).
//! let body: Vec<_> = stream::iter([Event::new("a"), Event::new("b")]).sse_encode().collect().await;
//! // Client: bytes in (reqwest's `bytes_stream()`, a hyper body…), messages out.
//! let mut messages = stream::iter(body).sse_events();
//! assert_eq!(messages.next().await.unwrap().unwrap().data(), "a");
//! # });
//! ```
//!
#![cfg_attr(
    all(feature = "axum", feature = "tokio"),
    doc = include_str!("docs_axum.md")
)]
//! On hyper or any framework on `http` 1, [`EncodeStream::into_http_response`] gives the
//! `http::Response` (feature `http-body`).
//!
//! # A client: reqwest
//!
//! Any stream of byte chunks becomes a stream of messages; errors print whole with
//! [`error::Report`]:
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use ssekit::{error::Report, SseStreamExt};
//!
//! # #[tokio::main] async fn main() {
//! let request = serde_json::json!({ "stream": true, "messages": [] });
//! let response = reqwest::Client::new()
//!     .post("http://127.0.0.1:8080/v1/chat/completions")
//!     .json(&request)
//!     .send()
//!     .await
//!     .expect("request sent");
//! let mut messages = response.bytes_stream().sse_events();
//! while let Some(message) = messages.next().await {
//!     match message {
//!         Ok(m) if m.data() == "[DONE]" => break,
//!         Ok(m) => print!("{}", m.data()),
//!         Err(e) => {
//!             eprintln!("{}", Report::new(&e)); // "reading the event stream failed: …"
//!             break;
//!         }
//!     }
//! }
//! # }
//! ```
//!
//! # Reconnect and fan out
//!
//! [`reconnect::Reconnect`] is the client's reconnection policy as a sans-IO state machine
//! (the standard's rules, plus backoff, attempts, one-shot streams and an idle timeout); hand
//! it every item ([`Reconnect::on_item`](reconnect::Reconnect::on_item)) and it keeps the
//! last event ID, id-only blocks included. [`sequence::Sequence`] tells gaps by arithmetic on
//! `<epoch>-<offset>` ids. With the `channel` feature, `channel::Channel` is a broadcast
//! channel of events: ids, topics, a bounded history, exact resume with `Last-Event-ID`, gap
//! events and shutdown, on one instance or (with a `channel::Store`, such as the
//! `ssekit-redis` crate's) many. Underneath, with the `hub` feature, `hub::Hub` fans encoded
//! frames out to any number of subscribers with exact resume, explicit gaps and eviction of
//! subscribers that fall behind.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | `std::io::IoSlice` support for vectored writes of a [`encode::Frame`]. Without it the crate is `#![no_std]` with `alloc`. |
//! | `http-body` | no | [`EncodeStream`] implements `http_body::Body`; [`EncodeStream::into_http_response`]; [`body::headers`]; [`EventStream::from_body`]. |
//! | `axum` | no | [`EncodeStream`] is an axum `IntoResponse` (through `axum-core`; implies `http-body`). |
//! | `tokio` | no | [`TokioTimer`], keep-alive on tokio's clock. |
//! | `serde` | no | [`EventBuilder::json`]. |
//! | `hub` | no | `hub::Hub`: a runtime-agnostic fan-out ring of encoded frames, bounded by frames and bytes. |
//! | `channel` | no | `channel::Channel`: broadcast channels of events with ids, topics, gap events and a store interface (implies `hub`). |
//! | `reqwest` | no | `EventSource`, a reconnecting client on reqwest 0.13 (implies `http-body` and `tokio`). |
//!
//! The minimum supported Rust version is 1.85.
//!
//! # Safety
//!
//! The crate's `unsafe` is about one invariant, that a [`Text`] is valid UTF-8, and lives with
//! it:
//!
//! - [`Text::as_str`] skips a UTF-8 re-check of text that was checked when it was made
//!   (measured: 30–45 ns per access saved);
//! - the line scanner finds line ends and non-ASCII bytes in one pass, with SSE2 on `x86_64`
//!   (a byte-at-a-time twin is the definition it is tested against, exhaustively near block
//!   edges and by property tests), so that the values of an all-ASCII line are stored without a
//!   UTF-8 check; the line splitter marks such a line under a `SAFETY` note.
//!
//! Their tests run under Miri.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::pedantic)]
#![allow(clippy::module_name_repetitions)] // `EventStream` in `stream` reads better than `Event`
#![allow(clippy::missing_errors_doc)] // error sections are written where errors are not obvious
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "http-body")]
#[cfg_attr(docsrs, doc(cfg(feature = "http-body")))]
pub mod body;
#[cfg(feature = "channel")]
#[cfg_attr(docsrs, doc(cfg(feature = "channel")))]
pub mod channel;
pub mod client;
pub mod config;
pub mod content_type;
mod decimal;
pub mod encode;
pub mod error;
mod event;
mod field;
#[cfg(feature = "hub")]
#[cfg_attr(docsrs, doc(cfg(feature = "hub")))]
pub mod hub;
mod line;
mod message;
mod parser;
pub mod reconnect;
pub mod sequence;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub mod shutdown;
pub mod stream;
mod swar;
mod text;
mod timer;

/// The README's examples, compiled and run as doc tests.
#[cfg(all(
    doctest,
    feature = "axum",
    feature = "http-body",
    feature = "tokio",
    feature = "serde",
    feature = "reqwest",
    feature = "channel"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use client::EventSource;
pub use config::ParserConfig;
pub use event::{Data, Event, EventBuilder};
pub use field::{EventId, EventType};
pub use message::{Item, MessageEvent};
pub use parser::Parser;
pub use stream::{EncodeStream, EventStream, ItemStream, KeepAlive, SseStreamExt};
pub use text::{NotUtf8, Text};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use timer::TokioTimer;
