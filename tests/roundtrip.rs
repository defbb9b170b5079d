//! Encoder ↔ parser: for any event, what a client parses is what the server meant — or the
//! builder refused the value. Hostile values cannot forge fields or events.

mod common;

use bytes::{Buf, Bytes};
use common::naive::{self, Out};
use common::{parse_chunks, split_at};
use proptest::prelude::*;
use ssekit::{Event, Parser};
use std::time::Duration;

/// What a client's `event.data` is for the given data: CRLF and CR become LF.
fn normalize(data: &[u8]) -> String {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' => {
                out.push(b'\n');
                if data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Clone)]
struct Spec {
    data: Option<Vec<u8>>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    comment: Option<String>,
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z \r\n:]{0,12}",
        ".{0,12}",
        Just(String::new()),
        Just("\r\n".to_string()),
        Just("1\n\ndata: forged".to_string()),
        Just("x\revent: evil".to_string()),
        Just("a\0b".to_string()),
        Just(" leading".to_string()),
        Just("trailing\n".to_string()),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::option::of(prop_oneof![
            text().prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..40),
        ]),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(prop_oneof![0u64..10_000, Just(u64::MAX / 1000)]),
        prop::option::of(text()),
    )
        .prop_map(|(data, event, id, retry, comment)| Spec {
            data,
            event,
            id,
            retry,
            comment,
        })
}

fn build(s: &Spec) -> Result<Event, ssekit::error::EventError> {
    let mut b = Event::builder();
    if let Some(d) = &s.data {
        b = b.data(d.clone());
    }
    if let Some(e) = &s.event {
        b = b.event(e.clone());
    }
    if let Some(id) = &s.id {
        b = b.id(id.clone());
    }
    if let Some(r) = s.retry {
        b = b.retry(Duration::from_millis(r));
    }
    if let Some(c) = &s.comment {
        b = b.comment(c.clone());
    }
    b.build()
}

/// What a client following the standard must see for this event.
fn expected(s: &Spec) -> naive::Naive {
    let mut out = Vec::new();
    if let Some(c) = &s.comment {
        for line in normalize(c.as_bytes()).split('\n') {
            out.push(Out::Comment(line.to_string()));
        }
    }
    if let Some(r) = s.retry {
        out.push(Out::Retry(r));
    }
    let id = s.id.clone().unwrap_or_default();
    if let Some(d) = &s.data {
        let t = s
            .event
            .clone()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "message".into());
        out.push(Out::Message {
            event_type: t,
            data: normalize(d),
            last_event_id: id.clone(),
        });
    } else if let Some(id) = &s.id {
        out.push(Out::LastEventId(id.clone()));
    }
    let dispatches = s.data.is_some() || s.event.is_some() || s.id.is_some() || s.retry.is_some();
    naive::Naive {
        out,
        last_event_id: if dispatches { id } else { String::new() },
        retry: s.retry,
    }
}

fn invalid(s: &Spec) -> bool {
    s.event.as_deref().is_some_and(|e| e.contains(['\r', '\n']))
        || s.id
            .as_deref()
            .is_some_and(|i| i.contains(['\r', '\n', '\0']))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn parse_of_encode_is_identity(s in spec(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..5)) {
        match build(&s) {
            Err(_) => prop_assert!(invalid(&s), "refused a valid event: {:?}", s),
            Ok(event) => {
                prop_assert!(!invalid(&s), "accepted an invalid event: {:?}", s);
                let want = expected(&s);
                let wire = event.to_bytes();
                prop_assert_eq!(&naive::parse(&wire), &want, "reference parser on {:?}", wire);
                let cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
                prop_assert_eq!(&parse_chunks(split_at(&wire, &cuts)), &want);
                // The zero-copy encoding writes the same bytes.
                let frame = event.clone().into_frame();
                prop_assert_eq!(frame.into_bytes(), wire.clone());
                // A proxy: parse, convert without copying, re-encode: the same event again.
                let mut p = Parser::new();
                p.feed(wire.clone());
                p.finish();
                if let Some(m) = p.next_message() {
                    let again = m.unwrap().into_event();
                    prop_assert_eq!(again.data().map(normalize), s.data.as_deref().map(normalize));
                    let reparsed = naive::parse(&again.to_bytes());
                    let msgs: Vec<_> = want.out.iter().filter(|o| matches!(o, Out::Message { .. })).cloned().collect();
                    prop_assert_eq!(reparsed.out, msgs);
                }
            }
        }
    }

    #[test]
    fn two_events_stay_two(a in spec(), b in spec()) {
        if let (Ok(ea), Ok(eb)) = (build(&a), build(&b)) {
            let mut wire = ea.to_bytes().to_vec();
            wire.extend_from_slice(&eb.to_bytes());
            let got = naive::parse(&wire);
            let n = |s: &Spec| usize::from(s.data.is_some());
            let msgs = got.out.iter().filter(|o| matches!(o, Out::Message { .. })).count();
            prop_assert_eq!(msgs, n(&a) + n(&b));
        }
    }
}

#[test]
fn hostile_values_are_refused_or_contained() {
    let forged_id = Event::builder().id("1\n\ndata: forged").data("x").build();
    assert_eq!(
        forged_id.unwrap_err().to_string(),
        "invalid event id: line feed at byte 1"
    );
    let evil_type = Event::builder().event("x\revent: evil").data("x").build();
    assert_eq!(
        evil_type.unwrap_err().to_string(),
        "invalid event type: carriage return at byte 1"
    );
    assert!(Event::builder().id("a\0").build().is_err());
    assert!(Event::builder().id("\r\n").build().is_err());
    assert!(Event::builder().event("end\n").build().is_err());
    // The first error is kept even if later values are fine.
    let err = Event::builder()
        .id("\n")
        .id("ok")
        .event("\r")
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid event id: line feed at byte 0");

    // Data cannot forge anything: every line is its own data line.
    let e = Event::builder()
        .data("x\n\nevent: evil\nid: 666\r\rdata: forged\n")
        .build()
        .unwrap();
    let got = naive::parse(&e.to_bytes());
    assert_eq!(
        got.out,
        vec![Out::Message {
            event_type: "message".into(),
            data: "x\n\nevent: evil\nid: 666\n\ndata: forged\n".into(),
            last_event_id: String::new(),
        }]
    );
    assert_eq!(got.last_event_id, "");
    // Comments with line breaks stay comments.
    let e = Event::builder()
        .comment("a\ndata: forged\r\n")
        .build()
        .unwrap();
    assert_eq!(e.to_bytes(), ": a\n: data: forged\n:\n");
    assert!(
        naive::parse(&e.to_bytes())
            .out
            .iter()
            .all(|o| matches!(o, Out::Comment(_)))
    );
}

#[test]
fn data_edge_cases() {
    let cases: &[(&str, &str)] = &[
        ("", "data: \n\n"),
        (" lead", "data:  lead\n\n"),
        ("a\r\nb", "data: a\ndata: b\n\n"),
        ("a\rb", "data: a\ndata: b\n\n"),
        ("a\n", "data: a\ndata: \n\n"),
        ("\r\n", "data: \ndata: \n\n"),
        ("\n\r", "data: \ndata: \ndata: \n\n"),
    ];
    for (data, wire) in cases {
        let e = Event::new(*data);
        assert_eq!(e.to_bytes(), *wire, "{data:?}");
        let got = naive::parse(wire.as_bytes());
        assert_eq!(
            got.out,
            vec![Out::Message {
                event_type: "message".into(),
                data: normalize(data.as_bytes()),
                last_event_id: String::new()
            }],
            "{data:?}"
        );
    }
    // An id with empty data dispatches (resumable streams start with one).
    let e = Event::builder().id("0").data("").build().unwrap();
    assert_eq!(e.to_bytes(), "id: 0\ndata: \n\n");
    assert_eq!(naive::parse(&e.to_bytes()).out.len(), 1);
}

#[test]
fn large_payload_is_not_copied() {
    let payload = Bytes::from(vec![b'x'; 1 << 20]);
    let frame = Event::builder()
        .event("blob")
        .data(payload.clone())
        .build()
        .unwrap()
        .into_frame();
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    let n = frame.chunks_vectored(&mut slices);
    assert_eq!(n, 3);
    assert_eq!(&slices[0][..], b"event: blob\ndata: ");
    assert_eq!(
        slices[1].as_ptr(),
        payload.as_ptr(),
        "the payload itself, by pointer identity"
    );
    assert_eq!(slices[1].len(), payload.len());
    assert_eq!(&slices[2][..], b"\n\n");
    assert_eq!(frame.remaining(), payload.len() + 20);
}

#[test]
fn data_is_kept_as_given_without_copying() {
    static LITERAL: &str = "a static payload";
    let e = Event::new(ssekit::Data::from_static(LITERAL));
    assert_eq!(
        e.data().unwrap().as_ptr(),
        LITERAL.as_ptr(),
        "a literal through from_static is not copied"
    );

    let owned = String::from("{\"token\":\"hi\"}");
    let ptr = owned.as_ptr();
    let e = Event::builder().data(owned).build().unwrap();
    assert_eq!(e.data().unwrap().as_ptr(), ptr, "a String's buffer is kept");

    let shared = Bytes::from(vec![b'b'; 64]);
    let e = Event::new(shared.clone());
    assert_eq!(
        e.data().unwrap().as_ptr(),
        shared.as_ptr(),
        "Bytes are not copied"
    );

    static ID: &str = "static-id";
    static TYPE: &str = "static-type";
    let e = Event::builder()
        .id(ssekit::EventId::from_static(ID))
        .event(ssekit::EventType::from_static(TYPE))
        .build()
        .unwrap();
    assert_eq!(e.id().unwrap().as_str().as_ptr(), ID.as_ptr());
    assert_eq!(e.event_type().unwrap().as_str().as_ptr(), TYPE.as_ptr());
}

#[test]
fn borrowed_text_of_any_lifetime_is_accepted_and_copied() {
    let owned = String::from("goal");
    let borrowed: &str = &owned;
    let event = Event::builder()
        .event(borrowed)
        .id(borrowed)
        .comment(borrowed)
        .data(borrowed)
        .build()
        .unwrap();
    drop(owned);
    assert_eq!(
        event.to_bytes(),
        ": goal\nevent: goal\nid: goal\ndata: goal\n\n"
    );
    let line = String::from("a\nb");
    assert_eq!(Event::new(line.as_str()).to_bytes(), "data: a\ndata: b\n\n");
    assert!(Event::builder().id(line.as_str()).build().is_err());
}
