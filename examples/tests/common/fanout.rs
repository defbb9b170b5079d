//! The `redis_fanout` scenarios against a real Redis, shared by `tests/redis_fanout.rs` (the
//! example as shipped) and `tests/redis_teeth.rs` (copies with injected bugs, which must fail).
//! Each scenario returns `Err` with what went wrong instead of panicking, so that the teeth
//! test can assert that it fails.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ssekit::reconnect::{Action, Reconnect, ReconnectConfig};
use ssekit::sequence::{Continuity, Sequence};
use ssekit::{Item, ItemStream};

use super::examples::{free_port, Running};

/// Fails the test, with the command that installs it, when `redis-server` is missing. The
/// tests that call it are `#[ignore]`d by default, so they run only when asked for
/// (`--include-ignored`, as `.ci/run` does after installing Redis): a missing Redis then is a
/// failure, never a silent pass.
pub fn require_redis() {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "redis-server is missing: apt-get install redis-server (.ci/run does)"
    );
}

/// A `redis-server` of the test's own, on 127.0.0.1, persistence off; killed (by its pid)
/// when dropped.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

impl Redis {
    pub fn start(extra: &[&str]) -> Redis {
        let dir = std::env::temp_dir().join(format!(
            "ssekit-redis-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Redis {
            child: None,
            port: free_port(),
            dir,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: everything in memory is lost).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port and waits until it answers `PING`.
    pub fn restart(&mut self) {
        self.kill();
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory-policy",
                "noeviction",
            ])
            .args(["--dir", &self.dir.display().to_string()])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.child = Some(cmd.spawn().expect("starting redis-server"));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut reply = [0u8; 7];
                if tcp.write_all(b"PING\r\n").is_ok()
                    && tcp.read_exact(&mut reply).is_ok()
                    && &reply == b"+PONG\r\n"
                {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not answer");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running `redis_fanout` instance.
pub struct Instance {
    pub run: Running,
    pub url: String,
}

/// Starts an instance of `binary` against `redis` and waits until its tail loop reads Redis.
pub async fn instance(binary: &Path, redis: &Redis, key: &str, env: &[(&str, &str)]) -> Instance {
    let redis_url = redis.url();
    let mut all = vec![
        ("REDIS_URL", redis_url.as_str()),
        ("STREAM_KEY", key),
        ("KEEP_ALIVE_SECS", "1"),
    ];
    all.extend_from_slice(env);
    let (run, url) = Running::server_path(binary, "0", &all);
    let instance = Instance { run, url };
    wait_health(&instance.url, Duration::from_secs(30), |h| {
        h["redis"] == true
    })
    .await;
    instance
}

pub async fn health(url: &str) -> Result<serde_json::Value, String> {
    let response = reqwest::get(format!("{url}/health"))
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("health answered {}", response.status()));
    }
    response.json().await.map_err(|e| e.to_string())
}

pub async fn wait_health(url: &str, timeout: Duration, pred: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(h) = health(url).await {
            if pred(&h) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{url} not ready: {:?}",
            health(url).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the instances have `n` subscribers between them.
pub async fn wait_subscribers(urls: &[String], n: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut total = 0;
        for url in urls {
            total += health(url)
                .await
                .map(|h| h["subscribers"].as_u64().unwrap_or(0))
                .unwrap_or(0);
        }
        if total >= n {
            return;
        }
        assert!(Instant::now() < deadline, "only {total} of {n} subscribers");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `POST /publish?event=kind` on the first live instance from `start`, retrying (other
/// instances, Redis down) until it is stored. Returns the id.
pub async fn publish(
    urls: &[String],
    alive: &[AtomicBool],
    start: usize,
    kind: &str,
    data: &str,
) -> String {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut i = start;
    loop {
        let k = i % urls.len();
        i += 1;
        if !alive[k].load(Ordering::Relaxed) {
            continue;
        }
        let sent = client
            .post(format!("{}/publish?event={kind}", urls[k]))
            .bearer_auth(super::examples::ADMIN_TOKEN)
            .body(data.to_owned())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        if let Ok(r) = sent {
            if r.status() == 200 {
                return r.text().await.unwrap().trim().to_owned();
            }
        }
        assert!(Instant::now() < deadline, "could not publish for 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// An event: its id and type.
    Event(String, String),
    /// A `gap` announcement (its JSON).
    Gap(String),
}

/// The crate's reconnecting client: reads the stream from `urls[first]`, and on every
/// disconnect moves to the next live instance, resuming with `Last-Event-ID`. Stops at an
/// event of type `until`.
pub async fn reconnecting_client(
    urls: Arc<Vec<String>>,
    alive: Arc<Vec<AtomicBool>>,
    first: usize,
    until: &str,
    timeout: Duration,
) -> Result<Vec<Got>, String> {
    slow_client(urls, alive, first, until, timeout, Duration::ZERO).await
}

/// [`reconnecting_client`] that takes `pause` after each event.
pub async fn slow_client(
    urls: Arc<Vec<String>>,
    alive: Arc<Vec<AtomicBool>>,
    first: usize,
    until: &str,
    timeout: Duration,
    pause: Duration,
) -> Result<Vec<Got>, String> {
    let http = reqwest::Client::new();
    let mut policy: Reconnect<tokio::time::Instant> =
        Reconnect::new(ReconnectConfig::new().with_initial_retry(Duration::from_millis(300)));
    let mut got = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut k = first;
    loop {
        if Instant::now() > deadline {
            return Err(format!(
                "no `{until}` within {timeout:?}; got {} items",
                got.len()
            ));
        }
        while !alive[k % urls.len()].load(Ordering::Relaxed) {
            k += 1;
        }
        let mut request = http.get(format!("{}/events", urls[k % urls.len()]));
        if let Some(id) = policy.last_event_id_header() {
            request = request.header("last-event-id", id);
        }
        let action = match request.send().await {
            Err(_) => policy.on_error(tokio::time::Instant::now()),
            Ok(response) => {
                let ct = response
                    .headers()
                    .get("content-type")
                    .map(|v| v.as_bytes().to_vec());
                match policy.on_open(
                    tokio::time::Instant::now(),
                    response.status().as_u16(),
                    ct.as_deref(),
                ) {
                    Action::Read => {
                        let mut items = ItemStream::new(response.bytes_stream());
                        loop {
                            let next = tokio::time::timeout_at(deadline.into(), items.next()).await;
                            let now = tokio::time::Instant::now();
                            match next {
                                Err(_) => {
                                    return Err(format!(
                                        "timed out reading; got {} items",
                                        got.len()
                                    ))
                                }
                                Ok(Some(Ok(item))) => {
                                    policy.on_item(now, &item);
                                    if let Item::Message(m) = item {
                                        if m.event_type() == "gap" {
                                            got.push(Got::Gap(m.data().to_owned()));
                                        } else {
                                            got.push(Got::Event(
                                                m.last_event_id().to_string(),
                                                m.event_type().to_owned(),
                                            ));
                                            if m.event_type() == until {
                                                return Ok(got);
                                            }
                                            if !pause.is_zero() {
                                                tokio::time::sleep(pause).await;
                                            }
                                        }
                                    }
                                }
                                Ok(Some(Err(_))) => break policy.on_error(now),
                                Ok(None) => break policy.on_end(now),
                            }
                        }
                    }
                    other => other,
                }
            }
        };
        match action {
            Action::Reconnect { delay, .. } => {
                k += 1; // another instance, as a load balancer without sticky sessions would
                tokio::time::sleep(delay).await;
            }
            other => return Err(format!("client stopped: {other:?}")),
        }
    }
}

/// Starts `n` reconnecting clients, client `c` first on instance `c`.
pub fn spawn_clients(
    n: usize,
    urls: &Arc<Vec<String>>,
    alive: &Arc<Vec<AtomicBool>>,
    timeout: Duration,
) -> Vec<tokio::task::JoinHandle<Result<Vec<Got>, String>>> {
    (0..n)
        .map(|c| {
            let (urls, alive) = (Arc::clone(urls), Arc::clone(alive));
            tokio::spawn(
                async move { reconnecting_client(urls, alive, c, "fulltime", timeout).await },
            )
        })
        .collect()
}

/// The ids of the events received, without the gap announcements.
pub fn event_ids(got: &[Got]) -> Vec<String> {
    got.iter()
        .filter_map(|g| match g {
            Got::Event(id, _) => Some(id.clone()),
            Got::Gap(_) => None,
        })
        .collect()
}

/// Every jump in the ids must come right after a `gap` announcement; nothing may repeat.
/// Returns the event ids in order.
pub fn check_no_silent_jump(got: &[Got]) -> Result<Vec<String>, String> {
    let mut seq = Sequence::new();
    let mut ids = Vec::new();
    let mut announced = false;
    for item in got {
        match item {
            Got::Gap(_) => announced = true,
            Got::Event(id, _) => {
                match seq.observe(id) {
                    Continuity::Next => {}
                    c if c.is_gap() && announced => {}
                    c => {
                        return Err(format!(
                            "{c:?} at {id} (after {:?}) with no gap event",
                            ids.last()
                        ))
                    }
                }
                announced = false;
                ids.push(id.clone());
            }
        }
    }
    Ok(ids)
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// Scenario 1: three instances, 200 reconnecting clients spread over them, a match of
/// `events` events published at a steady pace; one instance is killed mid-match. Every client
/// must end with every event exactly once, in order, and no gap.
pub async fn instance_crash(binary: &Path, events: usize) -> Result<(), String> {
    let redis = Redis::start(&[]);
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(instance(binary, &redis, "crash", &[]).await);
    }
    let urls: Arc<Vec<String>> = Arc::new(instances.iter().map(|i| i.url.clone()).collect());
    let alive: Arc<Vec<AtomicBool>> = Arc::new((0..3).map(|_| AtomicBool::new(true)).collect());
    let clients = spawn_clients(200, &urls, &alive, Duration::from_secs(240));
    wait_subscribers(&urls, 200).await;

    let mut published = Vec::new();
    let started = Instant::now();
    for n in 0..events {
        if n == events / 3 {
            instances[0].run.kill();
            alive[0].store(false, Ordering::Relaxed);
        }
        let kind = if n + 1 == events { "fulltime" } else { "tick" };
        published.push(publish(&urls, &alive, n, kind, &format!("{{\"n\":{n}}}")).await);
        // A steady pace, so that reconnects happen while events keep coming.
        let due = started + Duration::from_millis(2 * (n as u64 + 1));
        tokio::time::sleep_until(due.into()).await;
    }
    for (c, client) in clients.into_iter().enumerate() {
        let got = client
            .await
            .unwrap()
            .map_err(|e| format!("client {c}: {e}"))?;
        let gaps = got.iter().filter(|g| matches!(g, Got::Gap(_))).count();
        ensure(gaps == 0, || format!("client {c}: {gaps} gaps"))?;
        let ids: Vec<String> = event_ids(&got);
        if ids != published {
            let missing = published.iter().filter(|p| !ids.contains(p)).count();
            let extra = ids.len() as isize - published.len() as isize + missing as isize;
            return Err(format!(
                "client {c}: {} events for {} published ({missing} missing, {extra} repeated or unknown)",
                ids.len(),
                published.len()
            ));
        }
    }
    Ok(())
}

/// Scenario 2: a tiny history (MAXLEN) and ring; clients that go away for longer than the
/// history lasts. Every jump in a client's sequence must be announced by a gap event, and
/// nothing else may be missing.
pub async fn history_too_short(binary: &Path) -> Result<(), String> {
    let redis = Redis::start(&["--stream-node-max-entries", "4"]);
    let env = [("MAXLEN", "20"), ("RING", "8")];
    let a = instance(binary, &redis, "short", &env).await;
    let b = instance(binary, &redis, "short", &env).await;
    let urls = vec![a.url.clone(), b.url.clone()];
    let alive: Vec<AtomicBool> = (0..2).map(|_| AtomicBool::new(true)).collect();
    let published = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));

    // Each client reads a few events, goes away until 100 more were published (far more than
    // the history keeps), and comes back to the other instance with its Last-Event-ID.
    let clients: Vec<_> = (0..10)
        .map(|c| {
            let urls = urls.clone();
            let (published, stop) = (Arc::clone(&published), Arc::clone(&stop));
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut got = Vec::new();
                let mut last: Option<String> = None;
                let mut gaps_seen = 0;
                for round in 0..4 {
                    let mut request = http.get(format!("{}/events", urls[(c + round) % 2]));
                    if let Some(id) = &last {
                        request = request.header("last-event-id", id.as_str());
                    }
                    let response = request.send().await.map_err(|e| e.to_string())?;
                    let mut items = ItemStream::new(response.bytes_stream());
                    let mut events = 0;
                    while events < 5 {
                        let Ok(Some(item)) =
                            tokio::time::timeout(Duration::from_secs(30), items.next()).await
                        else {
                            return Err(format!("client {c}: stream stalled"));
                        };
                        if let Item::Message(m) = item.map_err(|e| e.to_string())? {
                            if m.event_type() == "gap" {
                                gaps_seen += 1;
                                got.push(Got::Gap(m.data().to_owned()));
                            } else {
                                events += 1;
                                got.push(Got::Event(
                                    m.last_event_id().to_string(),
                                    m.event_type().to_owned(),
                                ));
                            }
                        }
                    }
                    last = Some(items.last_event_id().as_str().to_owned());
                    drop(items);
                    let until = published.load(Ordering::Relaxed) + 100;
                    while published.load(Ordering::Relaxed) < until && !stop.load(Ordering::Relaxed)
                    {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                Ok::<_, String>((got, gaps_seen))
            })
        })
        .collect();
    wait_subscribers(&urls, 10).await;
    let publisher = {
        let (published, stop) = (Arc::clone(&published), Arc::clone(&stop));
        let urls = urls.clone();
        tokio::spawn(async move {
            let alive: Vec<AtomicBool> = (0..2).map(|_| AtomicBool::new(true)).collect();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                publish(&urls, &alive, n, "tick", &format!("{{\"n\":{n}}}")).await;
                n += 1;
                published.store(n, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let _ = alive;
    let mut total_gaps = 0;
    let mut result = Ok(());
    for (c, client) in clients.into_iter().enumerate() {
        match client.await.unwrap() {
            Ok((got, gaps)) => {
                total_gaps += gaps;
                if let Err(e) = check_no_silent_jump(&got) {
                    result = Err(format!("client {c}: {e}"));
                    break;
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    publisher.await.unwrap();
    result?;
    ensure(total_gaps > 0, || {
        "no client was told of a gap: the scenario did not trim".to_owned()
    })
}

/// Scenario 3: Redis is killed mid-match and started again empty (no persistence). The
/// instances stay up, answer `200` with keep-alives while Redis is away, and resume when it is
/// back; the restart that lost history reaches every client as a gap, never a silent jump.
pub async fn redis_restart(binary: &Path) -> Result<(), String> {
    let mut redis = Redis::start(&[]);
    let a = instance(binary, &redis, "restart", &[]).await;
    let b = instance(binary, &redis, "restart", &[]).await;
    let urls: Arc<Vec<String>> = Arc::new(vec![a.url.clone(), b.url.clone()]);
    let alive: Arc<Vec<AtomicBool>> = Arc::new((0..2).map(|_| AtomicBool::new(true)).collect());
    let clients = spawn_clients(20, &urls, &alive, Duration::from_secs(120));
    wait_subscribers(&urls, 20).await;
    let mut published = Vec::new();
    for n in 0..600 {
        if n == 200 {
            redis.kill();
            // Both instances notice, and keep serving: health answers, a new client gets 200
            // and keep-alives.
            for url in urls.iter() {
                wait_health(url, Duration::from_secs(30), |h| h["redis"] == false).await;
            }
            let response = reqwest::get(format!("{}/events", urls[1]))
                .await
                .map_err(|e| e.to_string())?;
            ensure(response.status() == 200, || {
                format!("{} while Redis is down", response.status())
            })?;
            let config = ssekit::ParserConfig::new().with_comments(true);
            let mut items = ItemStream::with_config(response.bytes_stream(), config);
            let mut keep_alive = false;
            while let Ok(Some(Ok(item))) =
                tokio::time::timeout(Duration::from_secs(5), items.next()).await
            {
                if matches!(item, Item::Comment(_)) {
                    keep_alive = true;
                    break;
                }
            }
            ensure(keep_alive, || {
                "no keep-alive while Redis is down".to_owned()
            })?;
            let refused = reqwest::Client::new()
                .post(format!("{}/publish", urls[0]))
                .bearer_auth(super::examples::ADMIN_TOKEN)
                .body("{}")
                .send()
                .await
                .map_err(|e| e.to_string())?;
            ensure(refused.status() == 503, || {
                format!("publish answered {} with Redis down", refused.status())
            })?;
            redis.restart();
        }
        let kind = if n == 599 { "fulltime" } else { "tick" };
        published.push(publish(&urls, &alive, n, kind, &format!("{{\"n\":{n}}}")).await);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let epochs: std::collections::BTreeSet<&str> = published
        .iter()
        .map(|id| id.split('-').next().unwrap())
        .collect();
    ensure(epochs.len() == 2, || {
        format!("expected a new epoch after the restart: {epochs:?}")
    })?;
    for (c, client) in clients.into_iter().enumerate() {
        let got = client
            .await
            .unwrap()
            .map_err(|e| format!("client {c}: {e}"))?;
        let ids = check_no_silent_jump(&got).map_err(|e| format!("client {c}: {e}"))?;
        ensure(ids.iter().all(|id| published.contains(id)), || {
            format!("client {c}: unknown ids")
        })?;
        // It saw the new epoch and was told of it.
        ensure(got.iter().any(|g| matches!(g, Got::Gap(_))), || {
            format!("client {c}: no gap announced")
        })?;
    }
    for (i, instance) in [a, b].iter_mut().enumerate() {
        ensure(instance.run.child.try_wait().unwrap().is_none(), || {
            format!("instance {i} exited")
        })?;
    }
    Ok(())
}

fn rss_kib(pid: u32) -> u64 {
    ssekit_test_support::rss_kib(pid).unwrap_or(0)
}

/// A client that never reads: a small receive buffer, a request for the stream, and nothing
/// more.
async fn frozen_client(url: &str) -> Result<tokio::net::TcpStream, String> {
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut frozen = socket.connect(addr).await.map_err(|e| e.to_string())?;
    tokio::io::AsyncWriteExt::write_all(&mut frozen, b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    Ok(frozen)
}

/// Whether the server closed a frozen client's connection: reading it now drains what the
/// kernel holds, then meets the end (within 10 s of silence).
async fn closed_by_the_server(frozen: &mut tokio::net::TcpStream) -> bool {
    let mut sink = vec![0u8; 1 << 16];
    loop {
        match tokio::time::timeout(
            Duration::from_secs(10),
            tokio::io::AsyncReadExt::read(frozen, &mut sink),
        )
        .await
        {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// Scenario 4: a frozen client (it never reads its socket) and a slow one beside ten normal
/// ones, 2,000 events of 16 KiB. The normal ones get everything at once, the frozen one is
/// dropped, the slow one catches up or is told of the gap, and the instance's memory stays
/// bounded (the frozen client's 32 MiB backlog is not buffered).
pub async fn slow_and_frozen(binary: &Path) -> Result<(), String> {
    let redis = Redis::start(&[]);
    let env = [
        ("SEND_TIMEOUT_SECS", "2"),
        ("RING", "256"),
        ("MAXLEN", "100000"),
    ];
    let server = instance(binary, &redis, "slow", &env).await;
    let urls: Arc<Vec<String>> = Arc::new(vec![server.url.clone()]);
    let alive: Arc<Vec<AtomicBool>> = Arc::new(vec![AtomicBool::new(true)]);
    let normal = spawn_clients(10, &urls, &alive, Duration::from_secs(120));
    let slow = {
        let (urls, alive) = (Arc::clone(&urls), Arc::clone(&alive));
        tokio::spawn(async move {
            slow_client(
                urls,
                alive,
                0,
                "fulltime",
                Duration::from_secs(240),
                Duration::from_millis(5),
            )
            .await
        })
    };
    let mut frozen = frozen_client(&server.url).await?;
    wait_subscribers(&urls, 12).await;

    let pid = server.run.child.id();
    let baseline = rss_kib(pid);
    let mut peak = baseline;
    let payload = "x".repeat(16 * 1024);
    let mut published = Vec::new();
    let started = Instant::now();
    for n in 0..2000 {
        let kind = if n == 1999 { "fulltime" } else { "tick" };
        let data = format!("{{\"n\":{n},\"pad\":\"{payload}\"}}");
        published.push(publish(&urls, &alive, 0, kind, &data).await);
        if n % 50 == 0 {
            peak = peak.max(rss_kib(pid));
        }
    }
    let publish_time = started.elapsed();
    for (c, client) in normal.into_iter().enumerate() {
        let got = client
            .await
            .unwrap()
            .map_err(|e| format!("normal client {c}: {e}"))?;
        let ids: Vec<String> = event_ids(&got);
        ensure(ids == published && got.len() == ids.len(), || {
            format!(
                "normal client {c}: {} items for {} published",
                got.len(),
                published.len()
            )
        })?;
    }
    let normal_done = started.elapsed();
    // The frozen connection was dropped by the server: reading it now drains what the kernel
    // holds, then meets the end.
    let closed = closed_by_the_server(&mut frozen).await;
    ensure(closed, || "the frozen connection is still open".to_owned())?;
    ensure(
        server
            .run
            .stderr_lines()
            .iter()
            .any(|l| l.starts_with("dropping a connection")),
        || "the server did not report dropping the frozen connection".to_owned(),
    )?;
    let slow_got = slow
        .await
        .unwrap()
        .map_err(|e| format!("slow client: {e}"))?;
    let slow_ids = check_no_silent_jump(&slow_got).map_err(|e| format!("slow client: {e}"))?;
    ensure(slow_ids.last() == published.last(), || {
        "the slow client did not reach the end".to_owned()
    })?;
    peak = peak.max(rss_kib(pid));
    println!(
        "slow and frozen: published in {publish_time:?}, normal clients done at {normal_done:?}; \
         RSS {baseline} KiB before, {peak} KiB at peak"
    );
    // What the instance holds is bounded whatever is published: the ring (256 frames of
    // 16 KiB: 4 MiB), up to 16 frames queued per connection, a socket's write buffer, and a
    // page of 64 Redis entries read at a time. Thirty runs grew by 5.2 to 8.0 MiB (median
    // 5.5); before Redis pages were bounded, up to 27 MiB.
    ensure(peak < baseline + 16 * 1024, || {
        format!("RSS grew from {baseline} KiB to {peak} KiB")
    })
}

/// Scenario 5: a client that never reads, one large frame, then a quiet stream (keep-alives
/// only every 15 s). The client must be dropped within about the send timeout, not once enough
/// frames have queued behind the large one.
pub async fn frozen_behind_one_large_frame(binary: &Path) -> Result<Duration, String> {
    let redis = Redis::start(&[]);
    let env = [
        ("SEND_TIMEOUT_SECS", "2"),
        ("KEEP_ALIVE_SECS", "15"),
        ("MAX_EVENT_BYTES", "33554432"),
        ("RING_BYTES", "67108864"),
    ];
    let server = instance(binary, &redis, "large", &env).await;
    // Publishing takes the token, and a body past MAX_EVENT_BYTES is refused unread.
    let http = reqwest::Client::new();
    let publish_url = format!("{}/publish?event=tick", server.url);
    let anonymous = http
        .post(&publish_url)
        .body("{}")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ensure(anonymous.status() == 401, || {
        format!("without the token: {}", anonymous.status())
    })?;
    let huge = http
        .post(&publish_url)
        .bearer_auth(super::examples::ADMIN_TOKEN)
        .body(vec![b'x'; 33 << 20])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ensure(huge.status() == 413, || {
        format!("33 MiB: {}", huge.status())
    })?;
    // The gap event is the server's own: nobody can publish one.
    let forged = http
        .post(format!("{}/publish?event=gap", server.url))
        .bearer_auth(super::examples::ADMIN_TOKEN)
        .body("{\"reason\":\"forged\"}")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ensure(forged.status() == 400, || {
        format!("publishing a gap event: {}", forged.status())
    })?;
    let urls = vec![server.url.clone()];
    let alive = vec![AtomicBool::new(true)];
    let mut frozen = frozen_client(&server.url).await?;
    wait_subscribers(&urls, 1).await;
    let large = format!("{{\"pad\":\"{}\"}}", "x".repeat(20 << 20));
    publish(&urls, &alive, 0, "tick", &large).await;
    let published = Instant::now();
    // Wait for the server to say it dropped the connection; then the socket must be closed.
    let deadline = published + Duration::from_secs(30);
    let dropped = loop {
        if server
            .run
            .stderr_lines()
            .iter()
            .any(|l| l.starts_with("dropping a connection"))
        {
            break published.elapsed();
        }
        if Instant::now() > deadline {
            return Err("the frozen client was not dropped within 30 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let closed = closed_by_the_server(&mut frozen).await;
    ensure(closed, || "the frozen connection is still open".to_owned())?;
    println!("frozen behind one large frame: dropped {dropped:?} after the publish");
    ensure(dropped < Duration::from_secs(10), || {
        format!("dropped only after {dropped:?} (send timeout 2 s)")
    })?;
    Ok(dropped)
}
