//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub use ssekit_test_support::naive;

use bytes::Bytes;
use naive::Out;
use ssekit::{Item, Parser, ParserConfig};

/// Parses `chunks` with the real parser (comments on) and returns what the reference parser
/// would: outputs, then the last event id and retry at the end.
pub fn parse_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> naive::Naive {
    let mut p = Parser::with_config(ParserConfig::new().with_comments(true));
    let mut out = Vec::new();
    let drain = |p: &mut Parser, out: &mut Vec<Out>| {
        while let Some(item) = p.next() {
            match item.expect("no limits are reached in these tests") {
                Item::Message(m) => out.push(Out::Message {
                    event_type: m.event_type().to_string(),
                    data: m.data().to_string(),
                    last_event_id: m.last_event_id().to_string(),
                }),
                Item::Retry(d) => out.push(Out::Retry(u64::try_from(d.as_millis()).unwrap())),
                Item::Comment(c) => out.push(Out::Comment(c.to_string())),
                Item::LastEventId(id) => out.push(Out::LastEventId(id.to_string())),
                other => panic!("unexpected item {other:?}"),
            }
        }
    };
    for chunk in chunks {
        p.feed(Bytes::copy_from_slice(chunk));
        drain(&mut p, &mut out);
    }
    p.finish();
    drain(&mut p, &mut out);
    naive::Naive {
        out,
        last_event_id: p.last_event_id().to_string(),
        retry: p.retry().map(|d| u64::try_from(d.as_millis()).unwrap()),
    }
}

/// Splits `input` at the given (sorted or not) offsets.
pub fn split_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    cuts.sort_unstable();
    let mut parts = Vec::new();
    let mut start = 0;
    for c in cuts {
        parts.push(&input[start..c]);
        start = c;
    }
    parts.push(&input[start..]);
    parts
}
