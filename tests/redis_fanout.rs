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

/// The scenarios load the machine (hundreds of clients, several servers): one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn binary() -> std::path::PathBuf {
    examples::binary("redis_fanout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_crash_every_client_gets_every_event_once() {
    let _one = ONE_AT_A_TIME.lock().await;
    if !fanout::redis_available() {
        return;
    }
    fanout::instance_crash(&binary(), 3000).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_too_short_every_jump_is_announced() {
    let _one = ONE_AT_A_TIME.lock().await;
    if !fanout::redis_available() {
        return;
    }
    fanout::history_too_short(&binary()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_is_never_a_silent_jump() {
    let _one = ONE_AT_A_TIME.lock().await;
    if !fanout::redis_available() {
        return;
    }
    fanout::redis_restart(&binary()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_frozen_clients_do_not_hold_back_the_others() {
    let _one = ONE_AT_A_TIME.lock().await;
    if !fanout::redis_available() {
        return;
    }
    fanout::slow_and_frozen(&binary()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_example_surfaces_gaps() {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;
    let _one = ONE_AT_A_TIME.lock().await;
    if !fanout::redis_available() {
        return;
    }
    let redis = fanout::Redis::start(&[]);
    let server = fanout::instance(&binary(), &redis, "client", &[]).await;
    let urls = [server.url.clone()];
    let alive = [AtomicBool::new(true)];
    let mut ids = Vec::new();
    for (n, kind) in ["tick", "tick", "fulltime"].into_iter().enumerate() {
        ids.push(fanout::publish(&urls, &alive, 0, kind, &format!("{{\"n\":{n}}}")).await);
    }
    // Resuming from an id this history never had (an old epoch): the server announces a gap,
    // and the client also tells it by arithmetic (a new epoch).
    let events = format!("{}/events", server.url);
    let mut client = examples::Running::start(
        "client",
        &[&events, "--last-event-id", "1-0", "--until", "fulltime"],
        &[],
    );
    assert!(
        client.wait_exit(Duration::from_secs(60)).success(),
        "{:?}",
        client.stderr_lines()
    );
    let stderr = client.stderr_lines();
    assert!(
        stderr
            .iter()
            .any(|l| l.starts_with("the server announced a gap: ")),
        "{stderr:?}"
    );
    assert!(
        stderr
            .iter()
            .any(|l| l == &format!("gap before {}: NewEpoch", ids[0])),
        "{stderr:?}"
    );
    let got: Vec<String> = client
        .stdout_lines()
        .iter()
        .filter(|l| !l.contains(" event=gap "))
        .filter_map(|l| l.strip_prefix("id=")?.split(' ').next().map(str::to_owned))
        .collect();
    assert_eq!(got, ids);
}
