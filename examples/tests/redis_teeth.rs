//! The Redis scenarios have teeth: `redis_fanout` with either of two known bugs injected must
//! fail them.
//!
//! - `no_resume_check`: the resume does not check that Redis still holds the requested id, so
//!   a trimmed history becomes a silent jump. Scenario 2 (history too short) must fail.
//! - `subscribe_after_replay`: a resuming client is replayed from Redis first and joins the
//!   live stream afterwards, so events that arrive in between are lost. Scenario 1 (instance
//!   crash) must fail.
//!
//! The shipped example has no switch for them: this test copies its source, rewrites the one
//! place each bug lives (failing loudly if that place is gone, so that the test cannot go stale
//! and pass), and builds the copy as a scratch package with the same dependencies and lock
//! file, under cargo's temp dir for tests.

mod common;

use common::fanout;

use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = include_str!("../src/bin/redis_fanout.rs");

/// The resume check of the backfill: a requested id that Redis no longer holds is a gap.
const RESUME_CHECK: &str = "            } else {
                let next = entries.peek().map(|(id, _)| *id).or(until);
                out.gap(\"trimmed_or_unknown\", Some(after), next).await?;
            }";

/// The join: register with the hub first, then replay what the client missed.
const SUBSCRIBE_FIRST: &str = "    let join = register(&app, after.as_ref())?;
    let mut cursor = join.cursor;
    match (join.position, after) {";

/// The classic mistake: replay first, then join the live stream. Whatever the hub got between
/// the two is never sent.
const SUBSCRIBE_AFTER_REPLAY: &str = "    if let Some(after) = after {
        backfill(&app, &mut out, after, None).await?;
    }
    let join = register(&app, None)?;
    let mut cursor = join.cursor;
    match (join.position, None::<Id>) {";

/// The example's source with `from` replaced by `to`; `from` must occur exactly once.
fn mutate(from: &str, to: &str) -> String {
    assert_eq!(
        SOURCE.matches(from).count(),
        1,
        "the code this bug is injected into changed; update the test:\n{from}"
    );
    SOURCE.replacen(from, to, 1)
}

/// Builds `source` as the `redis_fanout` binary of a scratch package that depends on what the
/// examples package depends on, and returns the binary.
fn build(bug: &str, source: &str) -> PathBuf {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("planted-{bug}"));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = std::fs::read_to_string(examples.join("Cargo.toml")).unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("the examples manifest has a [dependencies] table")
        .replace(
            "path = \"..\"",
            &format!("path = {:?}", examples.parent().unwrap()),
        );
    let lib = examples.join("src/lib.rs");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"planted-{bug}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [workspace]\n\n[lib]\nname = \"ssekit_examples\"\npath = {lib:?}\n\n\
             [[bin]]\nname = \"redis_fanout\"\npath = \"src/main.rs\"\n\n[dependencies]{deps}"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), source).unwrap();
    // The workspace's lock file, so that the copy builds the same versions offline.
    std::fs::copy(
        examples.parent().unwrap().join("Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--offline", "--bin", "redis_fanout"])
        .env("CARGO_TARGET_DIR", target_dir())
        .current_dir(&dir)
        .status()
        .expect("running cargo");
    assert!(status.success(), "building redis_fanout with {bug}");
    let built = target_dir().join("debug/redis_fanout");
    let copy = dir.join("redis_fanout");
    std::fs::copy(built, &copy).unwrap();
    copy
}

/// One target directory for both copies: they share every dependency, built once.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("planted-target")
}

#[test]
fn the_bugs_are_injected_where_they_live() {
    let no_check = mutate(RESUME_CHECK, "            }");
    assert!(!no_check.contains("\"trimmed_or_unknown\""));
    let late = mutate(SUBSCRIBE_FIRST, SUBSCRIBE_AFTER_REPLAY);
    assert!(late.contains("backfill(&app, &mut out, after, None)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (apt-get install redis-server); run with --include-ignored"]
async fn scenarios_fail_with_injected_bugs() {
    fanout::require_redis();
    let no_resume_check = build("no_resume_check", &mutate(RESUME_CHECK, "            }"));
    let subscribe_after_replay = build(
        "subscribe_after_replay",
        &mutate(SUBSCRIBE_FIRST, SUBSCRIBE_AFTER_REPLAY),
    );

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
