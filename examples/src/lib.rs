//! What the ssekit examples share: the match engine of `live_scores`, `hyper_server` and
//! `redis_fanout` (`game`), how they accept connections within limits (`serve`), and the page
//! they serve.
//!
//! The examples themselves are the binaries in `src/bin/`; run one with
//! `cargo run --bin live_scores`.

pub mod game;
pub mod serve;

/// The live-scores page: scoreboard, timeline and connection status, fed by `EventSource`.
pub const PAGE: &str = include_str!("index.html");

/// The token that `POST` endpoints which change state (`/publish`, `/admin/*`) require, from
/// `ADMIN_TOKEN`; `None` when it is unset or empty, and then those endpoints refuse every
/// request. This is the least an example can do; a real deployment puts real authentication
/// (and TLS) in front.
pub fn admin_token() -> Option<String> {
    std::env::var("ADMIN_TOKEN").ok().filter(|t| !t.is_empty())
}

/// Whether an `Authorization` header value is `Bearer <token>` for the configured token.
/// `Err` with the status to answer: `403` when no token is configured, `401` otherwise.
pub fn check_bearer(authorization: Option<&[u8]>, token: Option<&str>) -> Result<(), u16> {
    let Some(token) = token else {
        return Err(403);
    };
    let given = authorization
        .and_then(|v| v.strip_prefix(b"Bearer "))
        .unwrap_or_default();
    // Compare every byte, so the time taken does not tell how much of a guess was right.
    let same = given.len() == token.len()
        && given
            .iter()
            .zip(token.as_bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(401)
    }
}

/// The environment variable `name` parsed as a `T`, or `default` when it is unset or does not
/// parse.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A duration in seconds from the environment variable `name`, or `default` when it is unset;
/// a value that is not a finite, non-negative number of seconds is refused with a message.
pub fn env_secs(name: &str, default: std::time::Duration) -> std::time::Duration {
    match std::env::var(name) {
        Err(_) => default,
        Ok(text) => text
            .parse::<f64>()
            .ok()
            .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
            .unwrap_or_else(|| {
                eprintln!("{name}={text:?} is not a number of seconds; using {default:?}");
                default
            }),
    }
}
