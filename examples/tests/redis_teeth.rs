//! The Redis scenarios have teeth: `redis_fanout` built with either of two known bugs injected
//! must fail them.
//!
//! - `no_resume_check`: the channel trusts what the store replays: it checks neither that Redis
//!   still holds the requested id (the anchor) nor that the replay follows it, so a trimmed
//!   history becomes a silent jump. Scenario 2 (history too short) must fail. Injected into a
//!   copy of the `ssekit` crate, under the unchanged store and example. (Removing only the
//!   store's anchor check is not enough: the channel's check of dense ids still announces the
//!   jump.)
//! - `subscribe_after_replay`: the example resumes a client by hand, the classic way: replay
//!   from Redis first, then join the live stream. Events that arrive in between are lost.
//!   Scenario 1 (instance crash) must fail. The hand-written resume below replaces the
//!   example's one call to `subscribe`.
//!
//! Nothing ships with a switch for them: this test copies the sources, rewrites the one place
//! each bug lives (failing loudly if that place is gone, so that the test cannot go stale and
//! pass), and builds the copies as scratch packages with the same dependencies and lock file,
//! under cargo's temp dir for tests.

mod common;

use common::fanout;

use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLE: &str = include_str!("../src/bin/redis_fanout.rs");
const CHANNEL: &str = include_str!("../../src/channel.rs");

/// The resume check of a replay from the store: the store must still hold the id asked
/// after, and the replay is checked to follow it.
const RESUME_CHECK: &str = "            if page.anchor {
                b.prev = b.after;
            } else {
                // The store no longer holds the id: what came between is unknown.
                let next = page.events.first().map(|e| e.id).or(b.until);
                gaps.push((\"trimmed\", b.after, next));
            }";

/// Trusting the replay.
const NO_RESUME_CHECK: &str = "            let _ = page.anchor;";

/// The example's resume: the channel registers the subscriber, then replays.
const SUBSCRIBE: &str = "            match channel.subscribe(id.as_deref()) {
                Ok(events) => events
                    .into_body()";

/// The classic mistake, by hand: replay what Redis holds after the id, then join the live
/// stream. Whatever is published between the two is never sent.
const REPLAY_THEN_SUBSCRIBE: &str =
    "            match replay_then_subscribe(&app, id.as_deref()).await {
                Ok(events) => events";

const REPLAY_THEN_SUBSCRIBE_FN: &str = r#"
async fn replay_then_subscribe(
    app: &App,
    id: Option<&str>,
) -> Result<ssekit::EncodeStream<futures_util::stream::BoxStream<'static, ssekit::encode::Encoded>, ssekit::TokioTimer>, ssekit::channel::SubscribeError> {
    use futures_util::StreamExt;
    use redis::AsyncCommands;
    let mut replayed = Vec::new();
    if let Some(after) = id.and_then(|s| s.parse::<ssekit::channel::Seq>().ok()) {
        let client = redis::Client::open(env("REDIS_URL", String::new())).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let key = env("STREAM_KEY", "live_scores".to_owned());
        let reply: redis::streams::StreamRangeReply =
            con.xrange(&key, format!("({after}"), "+").await.unwrap();
        for entry in reply.ids {
            let field = |name: &str| match entry.map.get(name) {
                Some(redis::Value::BulkString(b)) => String::from_utf8(b.clone()).ok(),
                _ => None,
            };
            let mut event = Event::builder().id(entry.id.clone()).data(field("data").unwrap_or_default());
            if let Some(kind) = field("type") {
                event = event.event(kind);
            }
            replayed.push(ssekit::encode::Encoded::new(&event.build().unwrap()));
        }
    }
    // Writing the backlog to the client takes a while before the code gets to subscribing.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let live = app.fanout.channel().subscribe(None)?;
    let events = futures_util::stream::iter(replayed).chain(live).boxed();
    Ok(ssekit::EncodeStream::new(events).keep_alive_tokio(game::keep_alive()))
}
"#;

/// `source` with `from` replaced by `to`; `from` must occur exactly once.
fn mutate(source: &str, from: &str, to: &str) -> String {
    assert_eq!(
        source.matches(from).count(),
        1,
        "the code this bug is injected into changed; update the test:\n{from}"
    );
    source.replacen(from, to, 1)
}

fn examples_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `[section]` of a manifest, up to the next one.
fn section<'m>(manifest: &'m str, name: &str) -> &'m str {
    manifest
        .split(&format!("\n[{name}]\n"))
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap_or_else(|| panic!("no [{name}] in the manifest"))
}

/// Copies a package's manifest (its package, features and dependencies) and `src/` to `to`,
/// with its path dependencies pointed at `paths` and its workspace fields spelled out.
fn copy_package(from: &Path, to: &Path, paths: &[(&str, &Path)]) {
    let manifest = std::fs::read_to_string(from.join("Cargo.toml")).unwrap();
    let mut package = section(&format!("\n{manifest}"), "package")
        .replace("edition.workspace = true", "edition = \"2021\"")
        .replace("rust-version.workspace = true", "rust-version = \"1.85\"")
        .replace(
            "license.workspace = true",
            "license = \"MIT OR Apache-2.0\"",
        );
    package.push('\n');
    let mut copy = format!("[package]\n{package}");
    if manifest.contains("\n[features]\n") {
        copy += &format!("[features]\n{}\n", section(&manifest, "features"));
    }
    let mut dependencies = section(&manifest, "dependencies").to_owned();
    for (path, to) in paths {
        dependencies = dependencies.replace(&format!("path = {path:?}"), &format!("path = {to:?}"));
    }
    copy += &format!("[dependencies]\n{dependencies}\n");
    std::fs::create_dir_all(to).unwrap();
    std::fs::write(to.join("Cargo.toml"), copy).unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(from.join("src"))
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "copying {from:?}");
}

/// Builds `example` as the `redis_fanout` binary of a scratch package that depends on what the
/// examples package depends on: with `channel` as `ssekit`'s `src/channel.rs`, on copies of
/// `ssekit` and `ssekit-redis`; without, on the crates themselves.
fn build(bug: &str, example: &str, channel: Option<&str>) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("planted-{bug}"));
    let root = examples_dir().parent().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let (core, store) = match channel {
        Some(channel) => {
            let (core, store) = (dir.join("ssekit"), dir.join("ssekit-redis"));
            copy_package(root, &core, &[]);
            std::fs::write(core.join("src/channel.rs"), channel).unwrap();
            copy_package(&root.join("redis"), &store, &[("..", &core)]);
            (core, store)
        }
        None => (root.to_owned(), root.join("redis")),
    };
    let members = if channel.is_some() {
        "[\"ssekit\", \"ssekit-redis\"]"
    } else {
        "[]"
    };
    // The example, as a package of its own.
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let lib = examples_dir().join("src/lib.rs");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"planted-{bug}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [workspace]\nmembers = {members}\n\n[lib]\nname = \"ssekit_examples\"\npath = {lib:?}\n\n\
             [[bin]]\nname = \"redis_fanout\"\npath = \"src/main.rs\"\n\n[dependencies]\n{}",
            section(
                &std::fs::read_to_string(examples_dir().join("Cargo.toml")).unwrap(),
                "dependencies"
            )
            .replace("path = \"..\"", &format!("path = {core:?}"))
            .replace("path = \"../redis\"", &format!("path = {store:?}"))
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), example).unwrap();
    // The workspace's lock file, so that the copy builds the same versions offline.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--offline", "--bin", "redis_fanout"])
        .env("CARGO_TARGET_DIR", target_dir())
        .current_dir(&dir)
        .status()
        .expect("running cargo");
    assert!(status.success(), "building redis_fanout with {bug}");
    let copy = dir.join("redis_fanout");
    std::fs::copy(target_dir().join("debug/redis_fanout"), &copy).unwrap();
    copy
}

/// One target directory for both copies: they share every dependency, built once.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("planted-target")
}

fn no_resume_check() -> String {
    mutate(CHANNEL, RESUME_CHECK, NO_RESUME_CHECK)
}

fn subscribe_after_replay() -> String {
    mutate(EXAMPLE, SUBSCRIBE, REPLAY_THEN_SUBSCRIBE) + REPLAY_THEN_SUBSCRIBE_FN
}

#[test]
fn the_bugs_are_injected_where_they_live() {
    assert!(!no_resume_check().contains("gaps.push((\"trimmed\", b.after, next));"));
    let late = subscribe_after_replay();
    assert!(late.contains("replay_then_subscribe(&app, id.as_deref())"));
    assert!(!late.contains("channel.subscribe(id.as_deref())"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (apt-get install redis-server); run with --include-ignored"]
async fn scenarios_fail_with_injected_bugs() {
    fanout::require_redis();
    let no_check = build("no_resume_check", EXAMPLE, Some(&no_resume_check()));
    let late = build("subscribe_after_replay", &subscribe_after_replay(), None);

    let failed = fanout::history_too_short(&no_check).await;
    println!("history too short, resume check removed: {failed:?}");
    assert!(
        failed.is_err(),
        "scenario 2 passed with the resume check removed"
    );

    let failed = fanout::instance_crash(&late, 3000).await;
    println!("instance crash, subscribing after the replay: {failed:?}");
    assert!(
        failed.is_err(),
        "scenario 1 passed with the subscription after the replay"
    );
}
