//! `redis_fanout` against a real Redis: instances as child processes on free ports, Redis
//! started by the test on a free port with persistence off. Needs Debian's `redis-server`, so
//! the tests are `#[ignore]`d: `cargo test -- --include-ignored` runs them, as `.ci/run` does
//! after installing Redis.

mod common;

use common::{examples, fanout};

/// The scenarios load the machine (hundreds of clients, several servers): one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn binary() -> std::path::PathBuf {
    examples::binary("redis_fanout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (apt-get install redis-server); run with --include-ignored"]
async fn instance_crash_every_client_gets_every_event_once() {
    let _one = ONE_AT_A_TIME.lock().await;
    fanout::require_redis();
    fanout::instance_crash(&binary(), 3000).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (apt-get install redis-server); run with --include-ignored"]
async fn history_too_short_every_jump_is_announced() {
    let _one = ONE_AT_A_TIME.lock().await;
    fanout::require_redis();
    fanout::history_too_short(&binary()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (apt-get install redis-server); run with --include-ignored"]
async fn redis_restart_is_never_a_silent_jump() {
    let _one = ONE_AT_A_TIME.lock().await;
    fanout::require_redis();
    fanout::redis_restart(&binary()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (apt-get install redis-server); run with --include-ignored"]
async fn a_client_frozen_behind_one_large_frame_is_dropped_at_the_send_timeout() {
    let _one = ONE_AT_A_TIME.lock().await;
    fanout::require_redis();
    fanout::frozen_behind_one_large_frame(&binary())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (apt-get install redis-server); run with --include-ignored"]
async fn slow_and_frozen_clients_do_not_hold_back_the_others() {
    let _one = ONE_AT_A_TIME.lock().await;
    fanout::require_redis();
    fanout::slow_and_frozen(&binary()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (apt-get install redis-server); run with --include-ignored"]
async fn client_example_surfaces_gaps() {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;
    let _one = ONE_AT_A_TIME.lock().await;
    fanout::require_redis();
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

/// The match player publishes the whole match; a new client first gets the head id (no
/// data), so it can resume before its first event; the id is taken from the header or the
/// `last_event_id` query parameter, and the header wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (apt-get install redis-server); run with --include-ignored"]
async fn player_head_id_and_where_the_id_comes_from() {
    use futures_util::StreamExt;
    use ssekit::{Item, ItemStream};
    use std::time::Duration;
    let _one = ONE_AT_A_TIME.lock().await;
    fanout::require_redis();
    let redis = fanout::Redis::start(&[]);
    let player = fanout::instance(
        &binary(),
        &redis,
        "play",
        &[("PLAY", "1"), ("MATCH_SPEED", "0")],
    )
    .await;
    let other = fanout::instance(&binary(), &redis, "play", &[]).await;
    let match_len = examples::expected_match().len();
    fanout::wait_health(&other.url, Duration::from_secs(60), |h| {
        h["head"]
            .as_str()
            .is_some_and(|head| head.ends_with(&format!("-{}", match_len - 1)))
    })
    .await;
    let head = fanout::health(&other.url).await.unwrap()["head"]
        .as_str()
        .unwrap()
        .to_owned();
    let epoch = head.split('-').next().unwrap().to_owned();

    // Everything the player published, from the other instance, with the match's types.
    let mut got = Vec::new();
    let response = reqwest::Client::new()
        .get(format!("{}/events", other.url))
        .header("last-event-id", format!("{epoch}-0"))
        .send()
        .await
        .unwrap();
    let mut items = ItemStream::new(response.bytes_stream());
    while got.len() < match_len - 1 {
        let item = tokio::time::timeout(Duration::from_secs(30), items.next())
            .await
            .unwrap();
        if let Some(Ok(Item::Message(m))) = item {
            got.push((m.last_event_id().to_string(), m.event_type().to_owned()));
        }
    }
    let expected: Vec<(String, String)> = examples::expected_match()
        .into_iter()
        .enumerate()
        .skip(1)
        .map(|(i, (_, kind))| (format!("{epoch}-{i}"), kind))
        .collect();
    assert_eq!(got, expected);

    // A new client: the head id comes first, with no data (and the `retry` on the same block).
    let response = reqwest::get(format!("{}/events", player.url))
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let mut text = String::new();
    while !text.ends_with("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(30), body.next())
            .await
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk.unwrap().unwrap()).unwrap());
    }
    assert_eq!(text, format!("retry: 1000\nid: {head}\n\n"));

    // The query parameter resumes; the header wins over it.
    let first_after = |url: String, header: Option<String>| async move {
        let mut request = reqwest::Client::new().get(url);
        if let Some(h) = header {
            request = request.header("last-event-id", h);
        }
        let response = request.send().await.unwrap();
        let mut items = ItemStream::new(response.bytes_stream());
        loop {
            let item = tokio::time::timeout(Duration::from_secs(30), items.next())
                .await
                .unwrap();
            if let Some(Ok(Item::Message(m))) = item {
                return m.last_event_id().to_string();
            }
        }
    };
    let events = format!("{}/events", other.url);
    assert_eq!(
        first_after(format!("{events}?last_event_id={epoch}-30"), None).await,
        format!("{epoch}-31")
    );
    assert_eq!(
        first_after(
            format!("{events}?last_event_id={epoch}-30"),
            Some(format!("{epoch}-35"))
        )
        .await,
        format!("{epoch}-36")
    );
}
