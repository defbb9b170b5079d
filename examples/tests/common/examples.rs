//! Running the examples as child processes: cargo builds the package's binaries for its
//! integration tests and tells where (`CARGO_BIN_EXE_<name>`); each prints its URL once it is
//! listening.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `ADMIN_TOKEN` every server started by the tests gets: `/publish` and `/admin/*` take
/// `Authorization: Bearer` it.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The example's binary, as cargo built it for this test run.
pub fn binary(name: &str) -> PathBuf {
    let path = match name {
        "live_scores" => env!("CARGO_BIN_EXE_live_scores"),
        "hyper_server" => env!("CARGO_BIN_EXE_hyper_server"),
        "client" => env!("CARGO_BIN_EXE_client"),
        "llm" => env!("CARGO_BIN_EXE_llm"),
        "proxy" => env!("CARGO_BIN_EXE_proxy"),
        "redis_fanout" => env!("CARGO_BIN_EXE_redis_fanout"),
        other => panic!("no example named {other}"),
    };
    PathBuf::from(path)
}

/// A free port on 127.0.0.1 (free when asked; a test binds it right away).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running example, killed (by its own pid, through `Child`) when dropped.
pub struct Running {
    pub child: Child,
    /// What it printed on stdout, line by line.
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// What it printed on stderr, line by line.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

fn collect<R: std::io::Read + Send + 'static>(pipe: R) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

impl Running {
    /// Starts example `name` with `args` and `env`.
    pub fn start(name: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
        Running::start_path(&binary(name), args, env)
    }

    /// Starts the program at `path` with `args` and `env`.
    pub fn start_path(path: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Running {
        let name = path.display().to_string();
        let mut cmd = Command::new(path);
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let stderr: ChildStderr = child.stderr.take().unwrap();
        Running {
            child,
            stdout: collect(stdout),
            stderr: collect(stderr),
        }
    }

    /// Starts a server example on `port` (`"0"`: a free one) and waits for the URL it prints.
    pub fn server(name: &str, port: &str, env: &[(&str, &str)]) -> (Running, String) {
        Running::server_path(&binary(name), port, env)
    }

    /// [`server`](Self::server) for the program at `path`.
    pub fn server_path(
        path: &std::path::Path,
        port: &str,
        env: &[(&str, &str)],
    ) -> (Running, String) {
        let mut all = vec![("PORT", port), ("ADMIN_TOKEN", ADMIN_TOKEN)];
        all.extend_from_slice(env);
        let running = Running::start_path(path, &[], &all);
        let url = running.wait_stdout(Duration::from_secs(30), |l| l.contains("http://"));
        let url = url[url.find("http://").unwrap()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        // "http://127.0.0.1:PORT/" or ".../events": keep the origin.
        let origin = url
            .trim_end_matches('/')
            .trim_end_matches("/events")
            .to_owned();
        (running, origin)
    }

    /// Waits until a stdout line matches; returns it.
    pub fn wait_stdout(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        wait_line(&self.stdout, &self.stderr, timeout, pred)
    }

    /// Waits until a stderr line matches; returns it.
    pub fn wait_stderr(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        wait_line(&self.stderr, &self.stdout, timeout, pred)
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {timeout:?}; stdout {:?}, stderr {:?}",
                self.stdout_lines(),
                self.stderr_lines()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it now (SIGKILL: a crash, not a shutdown) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_line(
    lines: &Mutex<Vec<String>>,
    other: &Mutex<Vec<String>>,
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(line) = lines.lock().unwrap().iter().find(|l| pred(l)) {
            return line.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no matching line after {timeout:?}: {:?} (other stream: {:?})",
            lines.lock().unwrap(),
            other.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The match the examples play: `(id, event type)` for every event, in order.
/// The id of the match's `n`th event (from 0): `<epoch>-<n>`, the epoch fixed for the match.
pub fn match_id(n: usize) -> String {
    format!("{}-{n}", ssekit_examples::game::EPOCH)
}

pub fn expected_match() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/match.json"),
    )
    .unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    file["events"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let kind = e["kind"].as_str().unwrap();
            let kind = if kind == "commentary" {
                "message"
            } else {
                kind
            };
            (match_id(i), kind.to_owned())
        })
        .collect()
}
