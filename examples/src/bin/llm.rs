//! Streams a chat completion from an OpenAI-compatible API (OpenAI, vLLM, llama.cpp's
//! server, Ollama's `/v1`) and prints its text as it comes: a `POST`, read once, each
//! `data:` a JSON chunk decoded with `.json()`, ended by `data: [DONE]`.
//!
//! ```sh
//! cargo run --bin llm -- http://127.0.0.1:8080/v1/chat/completions "Write a haiku about offside"
//! ```
//!
//! `LLM_API_KEY` is sent as a bearer token if set; `LLM_MODEL` names the model (default
//! `gpt-4o-mini`). This package builds reqwest without TLS, for a local server (llama.cpp,
//! vLLM, Ollama); for a hosted API over `https`, enable reqwest's `rustls` feature.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use ssekit::client::{ClientConfig, Update};
use ssekit::error::Report;
use ssekit::reconnect::ReconnectConfig;
use ssekit::EventSource;

/// The part of a streamed chat-completion chunk this program reads.
#[derive(Deserialize)]
struct Chunk {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    delta: Delta,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(prompt)) = (args.next(), args.next()) else {
        eprintln!("usage: llm URL PROMPT");
        return ExitCode::from(2);
    };
    let model = std::env::var("LLM_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    let body = serde_json::json!({
        "model": model,
        "stream": true,
        "messages": [{ "role": "user", "content": prompt }],
    });
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .expect("a client with default TLS settings");
    let mut request = http.post(url).json(&body);
    if let Ok(key) = std::env::var("LLM_API_KEY") {
        request = request.bearer_auth(key);
    }
    let reconnect = ReconnectConfig::new()
        .with_one_shot(true)
        // A completion cannot be resumed: a failure is the end, not a second (billed) run.
        .with_max_attempts(Some(0))
        .with_idle_timeout(Some(Duration::from_secs(60)));
    let config = ClientConfig::new()
        .with_reconnect(reconnect)
        .with_first_event_timeout(Some(Duration::from_secs(120)))
        .with_sentinel("[DONE]");
    let mut events = EventSource::new(request)
        .expect("a JSON body can be sent again")
        .with_config(config);

    while let Some(update) = events.next().await {
        match update {
            Ok(Update::Message(m)) => match m.json::<Chunk>() {
                Ok(chunk) => {
                    let text = chunk
                        .choices
                        .first()
                        .and_then(|c| c.delta.content.as_deref());
                    print!("{}", text.unwrap_or(""));
                }
                Err(e) => {
                    eprintln!("\n{}", Report::new(&e));
                    return ExitCode::FAILURE;
                }
            },
            Ok(_) => {}
            Err(e) => {
                eprintln!("{}", Report::new(&e));
                if let Some(response) = e.into_response() {
                    let body = error_body(response).await;
                    if !body.trim().is_empty() {
                        eprintln!("the server said: {body}");
                    }
                }
                return ExitCode::FAILURE;
            }
        }
        let _ = std::io::stdout().flush();
    }
    println!();
    ExitCode::SUCCESS
}

/// The start of an error response's body: at most 4 KiB and 10 seconds, whatever the server
/// sends.
async fn error_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= 4096 {
                body.truncate(4096);
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    String::from_utf8_lossy(&body).into_owned()
}
