//! `redis_fanout` against a real Redis: instances as child processes on free ports, Redis
//! started by the test on a free port with persistence off. Needs Debian's `redis-server`
//! (`.ci/run` installs it); without it the tests are skipped with a printed reason, except under
//! `CI=true`, where a missing Redis is a failure.

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

use std::sync::Mutex;

/// The scenarios load the machine (hundreds of clients, several servers): one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn binary() -> std::path::PathBuf {
    examples::binary("redis_fanout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_crash_every_client_gets_every_event_once() {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !fanout::redis_available() {
        return;
    }
    fanout::instance_crash(&binary(), 3000).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_too_short_every_jump_is_announced() {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !fanout::redis_available() {
        return;
    }
    fanout::history_too_short(&binary()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_is_never_a_silent_jump() {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !fanout::redis_available() {
        return;
    }
    fanout::redis_restart(&binary()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_frozen_clients_do_not_hold_back_the_others() {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !fanout::redis_available() {
        return;
    }
    fanout::slow_and_frozen(&binary()).await.unwrap();
}
