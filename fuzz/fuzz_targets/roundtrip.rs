//! Arbitrary event fields: the builder refuses exactly the values that could inject a line,
//! and whatever it accepts parses back (through the reference parser and through ours, in
//! chunks) to the same data, type, id and retry.
#![no_main]

use std::time::Duration;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ssekit::{Event, Parser};

use ssekit_test_support::naive;

fn normalize(data: &[u8]) -> String {
    let s = String::from_utf8_lossy(data);
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fuzz_target!(|input: &[u8]| {
    // Fields separated by 0xFF bytes: data, event, id, retry digits.
    let mut parts = input.split(|&b| b == 0xFF);
    let data = parts.next().unwrap_or_default();
    let event = parts
        .next()
        .map(|e| String::from_utf8_lossy(e).into_owned());
    let id = parts
        .next()
        .map(|i| String::from_utf8_lossy(i).into_owned());
    let retry = parts.next().map(|r| {
        r.iter()
            .fold(0u64, |a, &b| a.wrapping_mul(31).wrapping_add(u64::from(b)))
            % 1_000_000_000
    });

    let mut b = Event::builder().data(Bytes::copy_from_slice(data));
    if let Some(e) = &event {
        b = b.event(e.clone());
    }
    if let Some(i) = &id {
        b = b.id(i.clone());
    }
    if let Some(r) = retry {
        b = b.retry(Duration::from_millis(r));
    }
    let bad = event.as_deref().is_some_and(|e| e.contains(['\r', '\n']))
        || id
            .as_deref()
            .is_some_and(|i| i.contains(['\r', '\n', '\0']));
    let Ok(ev) = b.build() else {
        assert!(bad, "refused a valid event");
        return;
    };
    assert!(!bad, "accepted an invalid event");

    let wire = ev.to_bytes();
    assert_eq!(ev.clone().into_frame().into_bytes(), wire);
    let want_type = event
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "message".into());
    let want_id = id.unwrap_or_default();
    let reference = naive::parse(&wire);
    let msgs: Vec<_> = reference
        .out
        .iter()
        .filter(|o| matches!(o, naive::Out::Message { .. }))
        .collect();
    assert_eq!(
        msgs,
        [&naive::Out::Message {
            event_type: want_type.clone(),
            data: normalize(data),
            last_event_id: want_id.clone()
        }]
    );
    assert_eq!(reference.retry, retry);

    let mut p = Parser::new();
    for chunk in wire.chunks(7) {
        p.feed(Bytes::copy_from_slice(chunk));
    }
    p.finish();
    let m = p
        .next_message()
        .expect("one message")
        .expect("no limit reached");
    assert_eq!(
        (m.event_type(), m.data(), m.last_event_id().as_str()),
        (
            want_type.as_str(),
            normalize(data).as_str(),
            want_id.as_str()
        )
    );
    assert_eq!(p.retry(), retry.map(Duration::from_millis));
});
