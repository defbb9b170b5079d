//! Table tests: one row per rule of the WHATWG standard's "Interpreting an event stream"
//! (and the examples of §9.2.6), each checked whole, byte by byte, and against the reference
//! parser (`ssekit_test_support::naive`).

mod common;

use common::naive::{self, Out};
use common::parse_chunks;

fn msg(t: &str, data: &str, id: &str) -> Out {
    Out::Message {
        event_type: t.into(),
        data: data.into(),
        last_event_id: id.into(),
    }
}

fn last_id(id: &str) -> Out {
    Out::LastEventId(id.into())
}

fn comment(c: &str) -> Out {
    Out::Comment(c.into())
}

/// (name, input, expected outputs, expected final last event id, expected retry)
type Row = (
    &'static str,
    &'static [u8],
    Vec<Out>,
    &'static str,
    Option<u64>,
);

fn rows() -> Vec<Row> {
    vec![
        // --- Dispatch basics
        ("simple message", b"data: hello\n\n", vec![msg("message", "hello", "")], "", None),
        ("no blank line at end: discarded", b"data: hello\n", vec![], "", None),
        ("no line end at all: discarded", b"data: hello", vec![], "", None),
        ("two data lines joined with LF", b"data: a\ndata: b\n\n", vec![msg("message", "a\nb", "")], "", None),
        ("one trailing LF removed only", b"data: a\ndata:\n\n", vec![msg("message", "a\n", "")], "", None),
        ("empty data line dispatches empty data", b"data\n\n", vec![msg("message", "", "")], "", None),
        ("data: with nothing dispatches empty data", b"data:\n\n", vec![msg("message", "", "")], "", None),
        ("blank lines alone dispatch nothing", b"\n\n\n", vec![], "", None),
        // --- Spec §9.2.6 examples
        (
            "spec: stock ticker",
            b"data: YHOO\ndata: +2\ndata: 10\n\n",
            vec![msg("message", "YHOO\n+2\n10", "")],
            "",
            None,
        ),
        (
            "spec: four blocks",
            b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
            vec![
                comment("test stream"),
                msg("message", "first event", "1"),
                msg("message", "second event", ""),
                msg("message", " third event", ""),
            ],
            "",
            None,
        ),
        (
            "spec: two empty-ish events",
            b"data\n\ndata\ndata\n\ndata:",
            vec![msg("message", "", ""), msg("message", "\n", "")],
            "",
            None,
        ),
        (
            "spec: space after colon optional",
            b"data:test\n\ndata: test\n\n",
            vec![msg("message", "test", ""), msg("message", "test", "")],
            "",
            None,
        ),
        // --- Field parsing
        ("only one leading space removed", b"data:   x\n\n", vec![msg("message", "  x", "")], "", None),
        ("tab is not a space", b"data:\tx\n\n", vec![msg("message", "\tx", "")], "", None),
        ("value split at first colon", b"data: a:b: c\n\n", vec![msg("message", "a:b: c", "")], "", None),
        ("unknown field ignored", b"foo: bar\ndata: x\n\n", vec![msg("message", "x", "")], "", None),
        ("names are case-sensitive", b"Data: x\nDATA: y\n\n", vec![], "", None),
        ("space before colon makes another name", b"data : x\n\n", vec![], "", None),
        ("line without colon: name is whole line", b"data\n\n", vec![msg("message", "", "")], "", None),
        ("line without colon, unknown name", b"hello\ndata: x\n\n", vec![msg("message", "x", "")], "", None),
        ("comment", b": hi\ndata: x\n\n", vec![comment("hi"), msg("message", "x", "")], "", None),
        ("comment without space", b":hi\n", vec![comment("hi")], "", None),
        ("empty comment", b":\n", vec![comment("")], "", None),
        // --- event
        ("event type", b"event: goal\ndata: x\n\n", vec![msg("goal", "x", "")], "", None),
        ("event type reset after dispatch", b"event: goal\ndata: x\n\ndata: y\n\n", vec![msg("goal", "x", ""), msg("message", "y", "")], "", None),
        ("event type reset even without data", b"event: goal\n\ndata: y\n\n", vec![msg("message", "y", "")], "", None),
        ("empty event type means message", b"event: a\nevent:\ndata: y\n\n", vec![msg("message", "y", "")], "", None),
        ("last event type wins", b"event: a\nevent: b\ndata: y\n\n", vec![msg("b", "y", "")], "", None),
        // --- id
        ("id persists across events", b"id: 1\ndata: a\n\ndata: b\n\n", vec![msg("message", "a", "1"), msg("message", "b", "1")], "1", None),
        ("id with NUL ignored", b"id: 1\n\nid: 2\x003\ndata: a\n\n", vec![last_id("1"), msg("message", "a", "1")], "1", None),
        ("empty id resets", b"id: 1\ndata: a\n\nid\ndata: b\n\n", vec![msg("message", "a", "1"), msg("message", "b", "")], "", None),
        ("id-only block sets the last event id, and says so", b"id: 7\n\n", vec![last_id("7")], "7", None),
        ("id in unfinished block is not committed", b"id: 1\n\nid: 2\ndata: x\n", vec![last_id("1")], "1", None),
        ("id after data in same block applies", b"data: x\nid: 9\n\n", vec![msg("message", "x", "9")], "9", None),
        ("an empty id-only block resets the id, and says so", b"id: 1\n\nid\n\n", vec![last_id("1"), last_id("")], "", None),
        ("a block with no id changes nothing", b"id: 1\n\nevent: x\n\n", vec![last_id("1")], "1", None),
        ("id keeps inner spaces", b"id:  a b \n\n", vec![last_id(" a b ")], " a b ", None),
        // --- retry
        ("retry digits", b"retry: 1500\n", vec![Out::Retry(1500)], "", Some(1500)),
        ("retry zero", b"retry: 0\n", vec![Out::Retry(0)], "", Some(0)),
        ("retry +5 ignored", b"retry: +5\n", vec![], "", None),
        ("retry -1 ignored", b"retry: -1\n", vec![], "", None),
        ("retry with two spaces ignored", b"retry:  5\n", vec![], "", None),
        ("retry 5s ignored", b"retry: 5s\n", vec![], "", None),
        ("retry empty ignored", b"retry\nretry:\n", vec![], "", None),
        ("retry 1.5 ignored", b"retry: 1.5\n", vec![], "", None),
        ("retry huge saturates", b"retry: 99999999999999999999999999999\n", vec![Out::Retry(u64::MAX)], "", Some(u64::MAX)),
        ("retry applies without dispatch", b"retry: 10\ndata: x\n", vec![Out::Retry(10)], "", Some(10)),
        ("retry with non-ASCII digits ignored", "retry: ٣\n".as_bytes(), vec![], "", None),
        // --- Line endings
        ("CRLF", b"data: a\r\n\r\n", vec![msg("message", "a", "")], "", None),
        ("CR", b"data: a\r\r", vec![msg("message", "a", "")], "", None),
        ("mixed", b"data: a\rdata: b\r\ndata: c\n\r\n", vec![msg("message", "a\nb\nc", "")], "", None),
        ("LF CR is two line ends", b"data: a\n\r", vec![msg("message", "a", "")], "", None),
        ("CR CR LF is two lines then one", b"data: a\r\r\n", vec![msg("message", "a", "")], "", None),
        ("U+2028 is not a line end", "data: a\u{2028}b\n\n".as_bytes(), vec![msg("message", "a\u{2028}b", "")], "", None),
        ("NEL is not a line end", "data: a\u{85}b\n\n".as_bytes(), vec![msg("message", "a\u{85}b", "")], "", None),
        ("form feed is not a line end", b"data: a\x0cb\n\n", vec![msg("message", "a\x0cb", "")], "", None),
        // --- UTF-8 and BOM
        ("BOM stripped", b"\xEF\xBB\xBFdata: x\n\n", vec![msg("message", "x", "")], "", None),
        ("second BOM is not stripped", b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n", vec![], "", None),
        ("BOM later is data", b"data: \xEF\xBB\xBFx\n\n", vec![msg("message", "\u{FEFF}x", "")], "", None),
        ("partial BOM is invalid UTF-8", b"\xEF\xBBdata: x\n\n", vec![], "", None),
        ("invalid byte becomes U+FFFD", b"data: a\xFFb\n\n", vec![msg("message", "a\u{FFFD}b", "")], "", None),
        ("truncated sequence at line end", b"data: a\xE2\x82\n\n", vec![msg("message", "a\u{FFFD}", "")], "", None),
        ("invalid in event type", b"event: \xC0\ndata: x\n\n", vec![msg("\u{FFFD}", "x", "")], "", None),
        ("invalid in id", b"id: \xFF\n\n", vec![last_id("\u{FFFD}")], "\u{FFFD}", None),
        ("multibyte kept", "data: café 🎉\n\n".as_bytes(), vec![msg("message", "café 🎉", "")], "", None),
        ("NUL in data kept", b"data: a\x00b\n\n", vec![msg("message", "a\0b", "")], "", None),
        // --- LLM stream shape
        (
            "LLM stream ending in DONE",
            b"data: {\"t\":\"Hel\"}\n\ndata: {\"t\":\"lo\"}\n\ndata: [DONE]\n\n",
            vec![msg("message", "{\"t\":\"Hel\"}", ""), msg("message", "{\"t\":\"lo\"}", ""), msg("message", "[DONE]", "")],
            "",
            None,
        ),
    ]
}

#[test]
fn every_rule_whole_bytewise_and_against_reference() {
    for (name, input, expected, last_id, retry) in rows() {
        let want = naive::Naive {
            out: expected,
            last_event_id: last_id.into(),
            retry,
        };
        let reference = naive::parse(input);
        assert_eq!(
            reference, want,
            "reference parser disagrees with the table on {name:?}"
        );
        let whole = parse_chunks([input]);
        assert_eq!(whole, want, "whole input: {name:?}");
        let bytewise = parse_chunks(input.chunks(1));
        assert_eq!(bytewise, want, "byte by byte: {name:?}");
        for cut in 0..=input.len() {
            let split = parse_chunks([&input[..cut], &input[cut..]]);
            assert_eq!(split, want, "split at {cut}: {name:?}");
        }
    }
}

#[test]
fn message_type_and_data_are_views_of_the_chunk() {
    use bytes::Bytes;
    let chunk = Bytes::from(
        "event: a-type-name-that-is-quite-long-indeed\nid: an-id-that-is-longer-than-thirty-bytes\ndata: a data line that is longer than thirty bytes\n\n",
    );
    let mut p = ssekit::Parser::new();
    p.feed(chunk.clone());
    let m = p.next_message().unwrap().unwrap();
    let range = chunk.as_ptr_range();
    for s in [m.event_type(), m.data(), m.last_event_id()] {
        assert!(range.contains(&s.as_ptr()), "{s:?} was copied");
    }
    assert!(m.data_text().is_shared());
}
