//! `live_scores` in a real browser: headless Chromium driven over WebDriver (chromedriver),
//! checked from the page's DOM. Needs Debian's `chromium` and `chromium-driver` (and
//! `redis-server` for the fan-out page), so the tests are `#[ignore]`d: `cargo test -- --include-ignored`
//! runs them, as `.ci/run` does after installing what they need.

mod common;

use common::{examples, fanout};

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use examples::{expected_match, free_port, Running};
use serde_json::{json, Value};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver, killed (by its own pid) when dropped.
struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group, with the Chromium it started: end the
        // whole group, so that a failed test leaves no browser behind.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Driver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = driver
                .http
                .get(format!("{}/status", driver.url))
                .send()
                .await
            {
                let status: Value = r.json().await.unwrap();
                if status["value"]["ready"] == true {
                    return driver;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            response["value"].get("error").is_none(),
            "WebDriver {path}: {}",
            response["value"]
        );
        response["value"].clone()
    }
}

/// A browser session, deleted when done.
struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl<'d> Session<'d> {
    async fn new(driver: &'d Driver, profile: &Path) -> Session<'d> {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=820,1400",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            }}
        });
        let value = driver
            .call(reqwest::Method::POST, "/session", Some(caps))
            .await;
        Session {
            driver,
            id: value["sessionId"].as_str().unwrap().to_owned(),
        }
    }

    async fn goto(&self, url: &str) {
        let path = format!("/session/{}/url", self.id);
        self.driver
            .call(reqwest::Method::POST, &path, Some(json!({ "url": url })))
            .await;
    }

    async fn eval(&self, script: &str) -> Value {
        let path = format!("/session/{}/execute/sync", self.id);
        let body = json!({ "script": script, "args": [] });
        self.driver
            .call(reqwest::Method::POST, &path, Some(body))
            .await
    }

    async fn screenshot_png(&self) -> Vec<u8> {
        let path = format!("/session/{}/screenshot", self.id);
        let value = self.driver.call(reqwest::Method::GET, &path, None).await;
        base64_decode(value.as_str().unwrap())
    }

    async fn close(self) {
        let path = format!("/session/{}", self.id);
        self.driver.call(reqwest::Method::DELETE, &path, None).await;
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// What the page shows: the timeline in arrival order (it is drawn newest first), the status
/// line and whether full time was reached.
const READ_PAGE: &str = r"
    const items = [...document.querySelectorAll('#timeline li')].reverse()
        .map((li) => [li.dataset.id, li.dataset.type]);
    return {
        items,
        status: document.getElementById('status').dataset.state,
        statusText: document.getElementById('status-text').textContent,
        score: document.getElementById('score').textContent,
        fulltime: document.body.dataset.fulltime === 'true',
        readyState: source.readyState,
    };
";

async fn wait_page(session: &Session<'_>, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let page = session.eval(READ_PAGE).await;
        if pred(&page) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "waiting for {what}; the page shows {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn items(page: &Value) -> Vec<(String, String)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap_or_default().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Fails the test, with the command that installs them, when Chromium or chromedriver is
/// missing. The browser tests are `#[ignore]`d by default and run only when asked for
/// (`--include-ignored`, as `.ci/run` does after installing them), so a missing browser is a
/// failure, never a silent pass.
fn require_browser() {
    assert!(
        Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
        "{CHROMIUM} or {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver (.ci/run does)"
    );
}

/// One browser at a time: two Chromiums on two cores make both tests slow.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); run with --include-ignored"]
async fn browser_gets_every_event_once_across_a_server_side_disconnect() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_browser();
    // About 13 s for the whole match; keep-alives every 2 s.
    let (server, origin) = Running::server(
        "live_scores",
        "0",
        &[("MATCH_SPEED", "500"), ("KEEP_ALIVE_SECS", "2")],
    );
    let profile = std::env::temp_dir().join(format!("ssekit-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let driver = Driver::start().await;
    let session = Session::new(&driver, &profile).await;
    session.goto(&format!("{origin}/")).await;

    // The page is live and events arrive.
    let page = wait_page(&session, "six events", |p| {
        p["items"].as_array().unwrap().len() >= 6
    })
    .await;
    assert_eq!(page["status"], "live", "{page}");
    // Cut every stream from the server side, mid-match.
    let before = reqwest::Client::new()
        .post(format!("{origin}/admin/disconnect"))
        .bearer_auth(examples::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), 204);
    let page = wait_page(&session, "the reconnect", |p| {
        p["statusText"].as_str().unwrap().contains("reconnected")
    })
    .await;
    let at_cut = items(&page).len();
    assert!(at_cut < 40, "the match ended before the cut: {page}");

    // Full time: the browser ends with every event exactly once, in order, with the right
    // names and ids, and the server's 204 closed the stream for good.
    let page = wait_page(&session, "full time and the 204", |p| {
        p["fulltime"] == true && p["status"] == "closed"
    })
    .await;
    assert_eq!(items(&page), expected_match(), "{page}");
    assert_eq!(page["score"], "3–2");
    assert_eq!(page["statusText"], "Full time · stream closed");

    // The browser resumed with Last-Event-ID after the cut (the server logs each connection),
    // and after full time it came back once more with the last id, got `204 No Content` and
    // closed the EventSource for good (readyState 2).
    server.wait_stderr(Duration::from_secs(30), |l| {
        l == "client connected, resuming after event 40"
    });
    wait_page(&session, "the EventSource to close", |p| {
        p["readyState"] == 2
    })
    .await;
    let log = server.stderr_lines();
    let resumes: Vec<u64> = log
        .iter()
        .filter_map(|l| l.strip_prefix("client connected, resuming after event "))
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(resumes.len(), 2, "{log:?}");
    assert!(resumes[0] >= 6 && resumes[0] < 40, "{log:?}");

    // Scroll to the top and keep a picture of full time.
    session.eval("window.scrollTo(0, 0); return null;").await;
    let png = session.screenshot_png().await;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("live_scores.png");
    std::fs::write(&target, &png).unwrap();
    if std::env::var("SSEKIT_UPDATE_SCREENSHOT").is_ok() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/live_scores.png");
        std::fs::write(docs, &png).unwrap();
    }
    session.close().await;
    let _ = std::fs::remove_dir_all(&profile);
}

/// The `redis_fanout` page, opened with an id this history never had: the server sends a `gap`
/// event, the page says so, fetches the current state, and keeps applying events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and redis-server (apt-get install chromium chromium-driver redis-server); run with --include-ignored"]
async fn redis_fanout_page_handles_a_gap() {
    use std::sync::atomic::AtomicBool;
    let _one = ONE_AT_A_TIME.lock().await;
    require_browser();
    fanout::require_redis();
    let redis = fanout::Redis::start(&[]);
    let server = fanout::instance(&examples::binary("redis_fanout"), &redis, "page", &[]).await;
    let urls = [server.url.clone()];
    let alive = [AtomicBool::new(true)];
    let goal = |minute: u32, home: u32| {
        json!({ "minute": minute, "text": format!("Goal at {minute}'"), "team": "home",
                "score": { "home": home, "away": 0 } })
        .to_string()
    };
    for (minute, home) in [(10, 1), (20, 2)] {
        fanout::publish(&urls, &alive, 0, "goal", &goal(minute, home)).await;
    }
    let profile = std::env::temp_dir().join(format!("ssekit-chromium-gap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let driver = Driver::start().await;
    let session = Session::new(&driver, &profile).await;
    // An id from an epoch that never existed here: the server cannot resume it.
    session
        .goto(&format!("{}/?last_event_id=1-0", server.url))
        .await;
    let page = wait_page(&session, "the gap and the backlog", |p| {
        p["items"].as_array().unwrap().len() >= 3 && p["score"] == "2–0"
    })
    .await;
    let types: Vec<String> = items(&page).into_iter().map(|(_, t)| t).collect();
    assert_eq!(types, ["gap", "goal", "goal"], "{page}");
    let gap_text = session
        .eval("return document.querySelector('#timeline li.gap .text').textContent;")
        .await;
    assert!(
        gap_text.as_str().unwrap().contains("new_history"),
        "{gap_text}"
    );
    // Events keep coming after the gap.
    fanout::publish(&urls, &alive, 0, "goal", &goal(30, 3)).await;
    wait_page(&session, "the next goal", |p| {
        p["score"] == "3–0" && p["items"].as_array().unwrap().len() == 4
    })
    .await;
    session.close().await;
    let _ = std::fs::remove_dir_all(&profile);
}
