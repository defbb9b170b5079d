//! What the ssekit examples share: the match engine of `live_scores`, `hyper_server` and
//! `redis_fanout` (`game`), and the page they serve.
//!
//! The examples themselves are the binaries in `src/bin/`; run one with
//! `cargo run --bin live_scores`.

pub mod game;

/// The live-scores page: scoreboard, timeline and connection status, fed by `EventSource`.
pub const PAGE: &str = include_str!("index.html");
