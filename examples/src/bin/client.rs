//! Reads any SSE URL and prints each message, reconnecting the way a browser's `EventSource`
//! does: after the server's `retry`, with capped, jittered backoff while the server is down,
//! resuming with `Last-Event-ID`. All of that is [`EventSource`]; this file is the printing.
//!
//! ```sh
//! cargo run --bin client                # live_scores' /events
//! cargo run --bin client -- http://127.0.0.1:3000/report --once
//! ```
//!
//! Options: `--once` reads a one-shot stream: it prints the text of each chat-completion
//! delta (or the raw data) and stops at `data: [DONE]` or at the end, without reconnecting.
//! `--idle SECS` drops a connection silent that long, not even a keep-alive (default 60; `0`
//! never does).
//! `--max-attempts N` gives up when N reconnects in a row have failed. `--last-event-id ID` resumes
//! from a stored position; `--until TYPE` stops after the first event of that type.
//!
//! Each message is one line on stdout: `id=<last event id> event=<type> data=<data>` (data
//! lines joined with `\n`). The connection's story goes to stderr, and so do gaps: a `gap`
//! event from the server, or a jump in `<epoch>-<offset>` ids that [`Sequence`] tells.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use ssekit::client::{ClientConfig, Update};
use ssekit::error::Report;
use ssekit::reconnect::ReconnectConfig;
use ssekit::sequence::Sequence;
use ssekit::{EventId, EventSource};

#[derive(Default)]
struct Options {
    url: Option<String>,
    once: bool,
    idle: Option<Duration>,
    max_attempts: Option<u32>,
    last_event_id: Option<EventId>,
    until: Option<String>,
}

fn options() -> Result<Options, String> {
    // live_scores sends a keep-alive every 15 s: a minute of nothing is a dead peer.
    let mut opts = Options {
        idle: Some(Duration::from_secs(60)),
        ..Options::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--once" => opts.once = true,
            "--idle" => {
                let secs = value()?
                    .parse::<f64>()
                    .map_err(|e| format!("--idle: {e}"))?;
                let idle = Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())?;
                opts.idle = (!idle.is_zero()).then_some(idle);
            }
            "--max-attempts" => {
                opts.max_attempts = Some(value()?.parse().map_err(|e| format!("{arg}: {e}"))?)
            }
            "--last-event-id" => {
                opts.last_event_id = Some(EventId::try_from(value()?).map_err(|e| e.to_string())?)
            }
            "--until" => opts.until = Some(value()?),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            url => opts.url = Some(url.to_owned()),
        }
    }
    Ok(opts)
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match options() {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("{e}\nusage: client [URL] [--once] [--idle SECS] [--max-attempts N] [--last-event-id ID] [--until TYPE]");
            return ExitCode::from(2);
        }
    };
    let reconnect = ReconnectConfig::new()
        .with_one_shot(opts.once)
        .with_idle_timeout(opts.idle)
        .with_max_attempts(opts.max_attempts)
        // A restarting server behind a proxy answers 502/503 for a moment: wait, don't give up.
        .with_reconnect_on_server_error(true);
    let mut config = ClientConfig::new().with_reconnect(reconnect);
    if opts.once {
        config = config.with_sentinel("[DONE]");
    }
    let url = opts
        .url
        .as_deref()
        .unwrap_or("http://127.0.0.1:3000/events");
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .expect("a client with default settings");
    let mut events = EventSource::new(http.get(url))
        .expect("a GET can be sent again")
        .with_config(config)
        .with_reconnect_updates(true);
    let mut sequence = Sequence::new();
    if let Some(id) = &opts.last_event_id {
        events = events.with_last_event_id(id);
        sequence = Sequence::starting_after(id).unwrap_or_default();
    }

    let mut out = std::io::stdout().lock();
    while let Some(update) = events.next().await {
        match update {
            Ok(Update::Open(open)) => eprintln!(
                "connected to {} (Last-Event-ID: {:?})",
                open.url(),
                open.last_event_id().map(|id| id.as_str())
            ),
            Ok(Update::Reconnecting(r)) => eprintln!(
                "reconnecting in {} ms (attempt {}): {}",
                r.delay().as_millis(),
                r.attempt(),
                Report::new(r.cause())
            ),
            Ok(Update::Message(m)) if opts.once => {
                // An OpenAI-style chunk's text, or the data as it is.
                let chunk: Option<serde_json::Value> = m.json().ok();
                let text = chunk
                    .as_ref()
                    .and_then(|c| c["choices"][0]["delta"]["content"].as_str());
                let _ = write!(out, "{}", text.unwrap_or(m.data()));
            }
            Ok(Update::Message(m)) => {
                if m.event_type() == "gap" {
                    eprintln!("the server announced a gap: {}", m.data());
                } else if m.has_own_id() {
                    let continuity = sequence.observe(m.last_event_id());
                    if continuity.is_gap() {
                        eprintln!("gap before {}: {continuity:?}", m.last_event_id());
                    }
                }
                let data = m.data().replace('\n', "\\n");
                let _ = writeln!(
                    out,
                    "id={} event={} data={data}",
                    m.last_event_id(),
                    m.event_type()
                );
                if opts.until.as_deref() == Some(m.event_type()) {
                    events.close();
                }
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("stopped: {}", Report::new(&e));
                return ExitCode::FAILURE;
            }
        }
        let _ = out.flush();
    }
    if opts.once {
        let _ = writeln!(out);
    }
    if let Some(stop) = events.stopped() {
        eprintln!("stopped: {stop}");
    }
    ExitCode::SUCCESS
}
