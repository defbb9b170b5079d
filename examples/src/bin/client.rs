//! Reads any SSE URL with reqwest and prints each message, reconnecting the way `EventSource`
//! does (the crate's [`Reconnect`] policy): after the server's `retry` time, with capped,
//! jittered backoff while the server is down, resuming with `Last-Event-ID`.
//!
//! ```sh
//! cargo run --bin client                # live_scores' /events
//! cargo run --bin client -- http://127.0.0.1:3000/report --once
//! ```
//!
//! Options: `--once` reads a one-shot, LLM-style stream: it prints the text of each
//! chat-completion delta as it comes and stops at `data: [DONE]` or at the end of the stream,
//! without reconnecting. `--idle SECS` treats a connection silent for that long (not even a
//! keep-alive) as dead. `--max-attempts N` gives up after N failed attempts in a row.
//! `--last-event-id ID` resumes from a stored position; `--until TYPE` stops after the first
//! event of that type.
//!
//! Each message is printed as one line: `id=<last event id> event=<type> data=<data>` (data
//! lines joined with `\n`). What happens to the connection goes to stderr, and so do gaps:
//! a `gap` event from the server, or (for `<epoch>-<offset>` ids, as `redis_fanout` sends) a
//! jump that [`Sequence`] tells by arithmetic.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use ssekit::error::Report;
use ssekit::reconnect::{Action, Reconnect, ReconnectConfig, Stop};
use ssekit::sequence::Sequence;
use ssekit::{Item, ItemStream, ParserConfig};
use tokio::time::Instant;

struct Options {
    url: String,
    once: bool,
    last_event_id: Option<String>,
    until: Option<String>,
    idle: Option<Duration>,
    max_attempts: Option<u32>,
}

fn options() -> Result<Options, String> {
    let mut opts = Options {
        url: "http://127.0.0.1:3000/events".into(),
        once: false,
        last_event_id: None,
        until: None,
        idle: None,
        max_attempts: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--once" => opts.once = true,
            "--last-event-id" => opts.last_event_id = Some(value("--last-event-id")?),
            "--until" => opts.until = Some(value("--until")?),
            "--idle" => {
                let secs: f64 = value("--idle")?
                    .parse()
                    .map_err(|e| format!("--idle: {e}"))?;
                opts.idle =
                    Some(Duration::try_from_secs_f64(secs).map_err(|e| format!("--idle: {e}"))?);
            }
            "--max-attempts" => {
                let n = value("--max-attempts")?
                    .parse()
                    .map_err(|e| format!("--max-attempts: {e}"))?;
                opts.max_attempts = Some(n);
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            url => opts.url = url.to_owned(),
        }
    }
    Ok(opts)
}

/// Reads one open stream until it ends, fails or goes silent; answers what to do next.
async fn read(
    response: reqwest::Response,
    policy: &mut Reconnect<Instant>,
    sequence: &mut Sequence,
    once: bool,
    until: Option<&str>,
    out: &mut impl Write,
) -> Action {
    // Comments are asked for: a keep-alive is the sign of life the idle timeout waits for.
    let config = ParserConfig::new().with_comments(true);
    let mut items = ItemStream::with_config(response.bytes_stream(), config);
    loop {
        let next = match policy.deadline() {
            Some(deadline) => match tokio::time::timeout_at(deadline, items.next()).await {
                Ok(next) => next,
                Err(_) => {
                    if let Some(action) = policy.on_tick(Instant::now()) {
                        eprintln!("no sign of life: dropping the connection");
                        return action;
                    }
                    continue;
                }
            },
            None => items.next().await,
        };
        let now = Instant::now();
        match next {
            Some(Ok(item)) => {
                policy.on_item(now, &item);
                if let Item::Message(m) = item {
                    // Servers whose ids are `<epoch>-<offset>` (redis_fanout) let a client
                    // tell a gap by arithmetic; a `gap` event is the server saying so itself.
                    if m.event_type() == "gap" {
                        eprintln!("the server announced a gap: {}", m.data());
                    } else if m.has_own_id() {
                        let continuity = sequence.observe(m.last_event_id());
                        if continuity.is_gap() {
                            eprintln!("gap before {}: {continuity:?}", m.last_event_id());
                        }
                    }
                    if once {
                        if m.data() == "[DONE]" {
                            return policy.on_end(now);
                        }
                        print_delta(out, m.data());
                    } else {
                        let data = m.data().replace('\n', "\\n");
                        let _ = writeln!(
                            out,
                            "id={} event={} data={data}",
                            m.last_event_id(),
                            m.event_type()
                        );
                        if until == Some(m.event_type()) {
                            let _ = out.flush();
                            return Action::Stop(Stop::Finished);
                        }
                    }
                    let _ = out.flush();
                }
            }
            Some(Err(e)) => {
                eprintln!("stream failed: {}", Report::new(&e));
                return policy.on_error(now);
            }
            None => {
                eprintln!("stream ended");
                return policy.on_end(now);
            }
        }
    }
}

/// Prints the text of an OpenAI-style chat-completion chunk, or the raw data if it is not one.
fn print_delta(out: &mut impl Write, data: &str) {
    let text = serde_json::from_str::<serde_json::Value>(data)
        .ok()
        .and_then(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        });
    let _ = write!(out, "{}", text.as_deref().unwrap_or(data));
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
    let config = ReconnectConfig::new()
        .with_one_shot(opts.once)
        .with_idle_timeout(opts.idle)
        .with_max_attempts(opts.max_attempts)
        // A restarting server behind a proxy answers 502/503 for a moment: wait, don't give up.
        .with_reconnect_on_server_error(true);
    let mut policy: Reconnect<Instant> = Reconnect::new(config);
    let client = reqwest::Client::new();
    let mut out = std::io::stdout().lock();
    let mut sequence = Sequence::new();
    if let Some(id) = &opts.last_event_id {
        match ssekit::EventId::try_from(id.clone()) {
            Ok(id) => policy.set_last_event_id(&id),
            Err(e) => {
                eprintln!("--last-event-id: {e}");
                return ExitCode::from(2);
            }
        }
        sequence = Sequence::starting_after(id).unwrap_or_default();
    }
    let stop = loop {
        let mut request = client.get(&opts.url).header(ACCEPT, "text/event-stream");
        if let Some(id) = policy.last_event_id_header() {
            request = request.header("last-event-id", id);
        }
        eprintln!(
            "connecting to {} (Last-Event-ID: {:?})",
            opts.url,
            policy.last_event_id().map(|i| i.as_str())
        );
        let action = match request.send().await {
            Err(e) => {
                eprintln!("could not connect: {}", Report::new(&e));
                policy.on_error(Instant::now())
            }
            Ok(response) => {
                let content_type = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .map(|v| v.as_bytes().to_vec());
                let status = response.status().as_u16();
                match policy.on_open(Instant::now(), status, content_type.as_deref()) {
                    Action::Read => {
                        let until = opts.until.as_deref();
                        read(
                            response,
                            &mut policy,
                            &mut sequence,
                            opts.once,
                            until,
                            &mut out,
                        )
                        .await
                    }
                    other => other,
                }
            }
        };
        match action {
            Action::Reconnect { delay, .. } => {
                eprintln!("reconnecting in {} ms", delay.as_millis());
                tokio::time::sleep(delay).await;
            }
            Action::Stop(stop) => break stop,
            Action::Read => unreachable!("read() returns only when the stream is over"),
        }
    };
    if opts.once {
        let _ = writeln!(out);
    }
    eprintln!("stopped: {stop}");
    match stop {
        Stop::NoContent | Stop::Finished => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
