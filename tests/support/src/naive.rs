//! A deliberately simple reference parser, written straight from the WHATWG HTML standard
//! (§9.2.6 "Interpreting an event stream"): decode the whole input, split it into lines, and
//! run the field algorithm. No streaming, no zero-copy, no limits — just the spec, to check
//! the real parser against.

#![allow(dead_code)]

/// What the reference parser observes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    Message {
        event_type: String,
        data: String,
        last_event_id: String,
    },
    Retry(u64),
    Comment(String),
    /// A block set the last event ID (an `id:` line) and dispatched no message.
    LastEventId(String),
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Naive {
    pub out: Vec<Out>,
    /// The event source's last event ID string, as set by dispatches.
    pub last_event_id: String,
    pub retry: Option<u64>,
}

pub fn parse(input: &[u8]) -> Naive {
    // "Streams must be decoded using the UTF-8 decode algorithm": one leading BOM is
    // stripped, invalid sequences become U+FFFD.
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = String::from_utf8_lossy(input).into_owned();

    // Split into lines; CRLF, LF and CR end a line. The last piece has no line end: it is
    // an incomplete line, discarded at the end of the stream.
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }

    let mut st = Naive::default();
    let mut data = String::new();
    let mut event_type = String::new();
    let mut id_buffer = String::new();
    let mut id_in_block = false;
    for line in lines {
        if line.is_empty() {
            // Dispatch.
            st.last_event_id = id_buffer.clone();
            if data.is_empty() {
                // No event fires, but the last event ID changed: reported, so that whoever
                // reads the stream (a proxy, a reconnecting client) can carry it on.
                if std::mem::take(&mut id_in_block) {
                    st.out.push(Out::LastEventId(id_buffer.clone()));
                }
                event_type.clear();
                continue;
            }
            id_in_block = false;
            if data.ends_with('\n') {
                data.pop();
            }
            let t = if event_type.is_empty() {
                "message".to_string()
            } else {
                event_type.clone()
            };
            st.out.push(Out::Message {
                event_type: t,
                data: std::mem::take(&mut data),
                last_event_id: id_buffer.clone(),
            });
            event_type.clear();
            continue;
        }
        if let Some(comment) = line.strip_prefix(':') {
            st.out.push(Out::Comment(
                comment.strip_prefix(' ').unwrap_or(comment).to_string(),
            ));
            continue;
        }
        let (name, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&line[..], ""),
        };
        match name {
            "event" => event_type = value.to_string(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            // "If the field value does not contain U+0000 NULL, set the last event ID buffer."
            "id" if !value.contains('\0') => {
                id_buffer = value.to_string();
                id_in_block = true;
            }
            // "If the field value consists of only ASCII digits, … set the reconnection time."
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // Large values saturate (the spec does not bound them).
                let ms = value.bytes().fold(0u64, |a, d| {
                    a.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                });
                st.retry = Some(ms);
                st.out.push(Out::Retry(ms));
            }
            _ => {}
        }
    }
    st
}
