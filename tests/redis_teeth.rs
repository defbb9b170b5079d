//! The Redis scenarios have teeth: `redis_fanout` built with each of two planted bugs must fail
//! them. The bugs are compiled in with `SSEKIT_PLANTED_BUG` (read by `option_env!`):
//!
//! - `no_resume_check`: the resume does not check that Redis still holds the requested id, so
//!   a trimmed history becomes a silent jump. Scenario 2 (history too short) must fail.
//! - `subscribe_after_replay`: a resuming client is replayed from Redis first and joins the
//!   live stream afterwards, so events that arrive in between are lost. Scenario 1 (instance
//!   crash) must fail.
//!
//! A separate test binary from `tests/redis_fanout.rs`: cargo runs test binaries one after the
//! other, so rebuilding the example here never swaps it under a running test.

#![cfg(all(
    feature = "http-body",
    feature = "tokio",
    feature = "serde",
    feature = "hub"
))]

#[path = "common/examples.rs"]
mod examples;
#[path = "common/fanout.rs"]
mod fanout;

use std::path::PathBuf;
use std::process::Command;

/// Builds `redis_fanout` with `bug` planted (or none) and returns a copy of the binary.
fn build(bug: Option<&str>) -> PathBuf {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "build",
        "--example",
        "redis_fanout",
        "--all-features",
        "--quiet",
    ])
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    match bug {
        Some(bug) => cmd.env("SSEKIT_PLANTED_BUG", bug),
        None => cmd.env_remove("SSEKIT_PLANTED_BUG"),
    };
    assert!(
        cmd.status().unwrap().success(),
        "building redis_fanout with {bug:?}"
    );
    let built = examples::binary_path("redis_fanout");
    let copy = built.with_file_name(format!("redis_fanout-planted-{}", bug.unwrap_or("none")));
    std::fs::copy(&built, &copy).unwrap();
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_fail_with_planted_bugs() {
    if !fanout::redis_available() {
        return;
    }
    let no_resume_check = build(Some("no_resume_check"));
    let subscribe_after_replay = build(Some("subscribe_after_replay"));
    // Put the example as shipped back in place for everything that runs after this.
    build(None);

    let failed = fanout::history_too_short(&no_resume_check).await;
    println!("history too short, resume check removed: {failed:?}");
    assert!(
        failed.is_err(),
        "scenario 2 passed with the resume check removed"
    );

    let failed = fanout::instance_crash(&subscribe_after_replay, 3000).await;
    println!("instance crash, subscribing after the replay: {failed:?}");
    assert!(
        failed.is_err(),
        "scenario 1 passed with the subscription after the replay"
    );
}
