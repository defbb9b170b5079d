//! The encode workloads and every encoder under test, each turning a list of data payloads
//! into wire chunks handed to a sink.

use std::convert::Infallible;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{stream, StreamExt};
use http_body::Body as _;
use ssekit_test_support::naive;

/// 50,000 small JSON payloads shaped like an LLM token stream.
pub fn llm_json() -> Vec<String> {
    (0..50_000)
        .map(|i| {
            format!(
                "{{\"id\":\"chatcmpl-9xQz{:06}\",\"object\":\"chat.completion.chunk\",\"created\":1732600000,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" token{i}\"}},\"finish_reason\":null}}]}}",
                i % 7
            )
        })
        .collect()
}

/// 64 KiB of text in lines of about 100 bytes, with some non-ASCII characters.
pub fn multiline_64k() -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 64 * 1024 {
        s.push_str(&format!("{i:05} the quick brown fox jumps over the lazy dog, é 🎉, and keeps on running along the line\n"));
        i += 1;
    }
    s.pop();
    s
}

/// What each encoder is handed per event.
#[derive(Clone)]
pub enum Input {
    /// Owned strings, handed over (made before the clock starts; freeing them is timed, as
    /// it is part of what an encoder that takes ownership costs).
    Strings(Vec<String>),
    /// One shared payload, sent `n` times.
    Shared(Bytes, usize),
}

impl Input {
    /// Events in the input.
    pub fn count(&self) -> usize {
        match self {
            Input::Strings(v) => v.len(),
            Input::Shared(_, n) => *n,
        }
    }
}

/// An encoder under test.
pub type Encoder = fn(Input, &mut dyn FnMut(&[u8]));

fn poll_all<S: futures_core::Stream + Unpin>(mut s: S, mut f: impl FnMut(S::Item)) {
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match s.poll_next_unpin(&mut cx) {
            Poll::Ready(Some(x)) => f(x),
            Poll::Ready(None) => break,
            Poll::Pending => unreachable!(),
        }
    }
}

/// ssekit, sans-IO: every event encoded into one reused buffer, split off every 32 KiB as a
/// writer would.
pub fn ssekit_buffer(input: Input, sink: &mut dyn FnMut(&[u8])) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    match input {
        Input::Strings(v) => {
            for s in v {
                ssekit::Event::new(s).encode(&mut buf);
                if buf.len() >= 32 * 1024 {
                    sink(&buf.split().freeze());
                }
            }
        }
        Input::Shared(b, n) => {
            for _ in 0..n {
                ssekit::Event::new(b.clone()).encode(&mut buf);
                if buf.len() >= 32 * 1024 {
                    sink(&buf.split().freeze());
                }
            }
        }
    }
    if !buf.is_empty() {
        sink(&buf.split().freeze());
    }
}

/// ssekit's `EncodeStream` over a stream of events.
pub fn ssekit_stream(input: Input, sink: &mut dyn FnMut(&[u8])) {
    match input {
        Input::Strings(v) => {
            let events = stream::iter(v.into_iter().map(ssekit::Event::new));
            poll_all(ssekit::EncodeStream::new(events), |c| sink(&c.unwrap()));
        }
        Input::Shared(b, n) => {
            let events = stream::iter((0..n).map(move |_| ssekit::Event::new(b.clone())));
            poll_all(ssekit::EncodeStream::new(events), |c| sink(&c.unwrap()));
        }
    }
}

fn sse_stream(input: Input, sink: &mut dyn FnMut(&[u8])) {
    match input {
        Input::Strings(v) => {
            for s in v {
                sink(&sse_stream::Sse::default().data(s).encode().unwrap());
            }
        }
        Input::Shared(b, n) => {
            // Its data is a String: the payload must become one.
            let s = std::str::from_utf8(&b).unwrap();
            for _ in 0..n {
                sink(
                    &sse_stream::Sse::default()
                        .data(s.to_owned())
                        .encode()
                        .unwrap(),
                );
            }
        }
    }
}

fn axum_body(input: Input, sink: &mut dyn FnMut(&[u8])) {
    use axum::response::sse::{Event, Sse};
    use axum::response::IntoResponse;
    let drive = |events: Vec<Event>, sink: &mut dyn FnMut(&[u8])| {
        let resp =
            Sse::new(stream::iter(events.into_iter().map(Ok::<_, Infallible>))).into_response();
        let mut body = std::pin::pin!(resp.into_body());
        let mut cx = Context::from_waker(Waker::noop());
        while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
            if let Ok(data) = frame.unwrap().into_data() {
                sink(data.chunk());
            }
        }
    };
    match input {
        // axum's `Event::data` takes `AsRef<str>` and copies it into the event's buffer.
        Input::Strings(v) => drive(
            v.into_iter().map(|s| Event::default().data(s)).collect(),
            sink,
        ),
        Input::Shared(b, n) => {
            let s = std::str::from_utf8(&b).unwrap();
            drive((0..n).map(|_| Event::default().data(s)).collect(), sink);
        }
    }
}

fn actix_web_lab(input: Input, sink: &mut dyn FnMut(&[u8])) {
    use actix_web::body::MessageBody;
    use actix_web_lab::sse::{Data, Event, Sse};
    // `Sse::from_stream` wants a `'static` stream: the events are made first, as for axum.
    let drive = |events: Vec<Event>, sink: &mut dyn FnMut(&[u8])| {
        let body = Sse::from_stream(stream::iter(events.into_iter().map(Ok::<_, Infallible>)));
        let mut body = std::pin::pin!(body);
        let mut cx = Context::from_waker(Waker::noop());
        while let Poll::Ready(Some(chunk)) = body.as_mut().poll_next(&mut cx) {
            sink(&chunk.unwrap());
        }
    };
    match input {
        // Its data is a `ByteString`: a `String` converts without copying.
        Input::Strings(v) => drive(
            v.into_iter().map(|s| Event::Data(Data::new(s))).collect(),
            sink,
        ),
        Input::Shared(b, n) => {
            // A `Bytes` payload becomes a `ByteString` after a UTF-8 check, without copying.
            let event = |_| {
                let data = bytestring::ByteString::try_from(b.clone()).unwrap();
                Event::Data(Data::new(data))
            };
            drive((0..n).map(event).collect(), sink);
        }
    }
}

/// A `memchr2` scan of every payload for line breaks: the floor of a zero-copy encoder.
pub fn scan_floor(input: &Input) -> usize {
    match input {
        Input::Strings(v) => v
            .iter()
            .map(|s| memchr::memchr2_iter(b'\n', b'\r', s.as_bytes()).count())
            .sum(),
        Input::Shared(b, n) => (0..*n)
            .map(|_| memchr::memchr2_iter(b'\n', b'\r', b).count())
            .sum(),
    }
}

/// An encoder under test.
pub struct Encode {
    /// Its name in tables.
    pub name: &'static str,
    /// How it runs.
    pub run: Encoder,
    /// Whether it is ssekit's.
    pub ours: bool,
}

const fn encoder(name: &'static str, run: Encoder, ours: bool) -> Encode {
    Encode { name, run, ours }
}

/// ssekit's two paths and every peer's.
pub const ENCODERS: &[Encode] = &[
    encoder("ssekit-buffer", ssekit_buffer, true),
    encoder("ssekit-stream", ssekit_stream, true),
    encoder("sse-stream", sse_stream, false),
    encoder("axum", axum_body, false),
    encoder("actix-web-lab", actix_web_lab, false),
];

/// The messages a client must see for this input.
fn expected_data(input: &Input) -> Vec<String> {
    let norm = |s: &str| s.replace("\r\n", "\n").replace('\r', "\n");
    match input {
        Input::Strings(v) => v.iter().map(|s| norm(s)).collect(),
        Input::Shared(b, n) => vec![norm(std::str::from_utf8(b).unwrap()); *n],
    }
}

/// The wire length of a correct encoding; panics if a client would see other data.
pub fn verify(name: &str, encode: Encoder, input: &Input) -> usize {
    let mut wire = Vec::new();
    encode(input.clone(), &mut |c| wire.extend_from_slice(c));
    let got: Vec<String> = naive::parse(&wire)
        .out
        .into_iter()
        .filter_map(|o| match o {
            naive::Out::Message { data, .. } => Some(data),
            _ => None,
        })
        .collect();
    assert!(
        got == expected_data(input),
        "{name} produced a wrong stream"
    );
    wire.len()
}
