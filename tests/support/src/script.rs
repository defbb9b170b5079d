//! A scripted HTTP/1.1 server for client tests: each connection gets one request, and the
//! test's script decides the reply step by step (bytes, pauses, a cut, a hang). Everything it
//! was sent is recorded. It binds 127.0.0.1 only; pauses use tokio's clock, so a test on a
//! paused clock waits no real time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: String,
    /// The path and query.
    pub path: String,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (by `Content-Length`).
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Last-Event-ID` header.
    pub fn last_event_id(&self) -> Option<&str> {
        self.header("last-event-id")
    }
}

/// One step of a reply body.
#[derive(Debug, Clone)]
pub enum Step {
    /// One chunk of the body.
    Send(Vec<u8>),
    /// Nothing for a while.
    Sleep(Duration),
    /// Close the connection mid-body (a chunked body left unfinished: a transport error).
    Cut,
    /// Keep the connection open and silent until the client closes it.
    Hang,
    /// `total` bytes of one line that never ends, in chunks of `chunk` bytes.
    EndlessLine {
        /// Bytes per chunk.
        chunk: usize,
        /// Bytes in all (bounded: the server stops there and hangs).
        total: usize,
    },
}

/// A scripted reply.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    head_delay: Duration,
    steps: Vec<Step>,
    body: Option<Vec<u8>>,
}

impl Reply {
    /// `200 OK`, `Content-Type: text/event-stream`, a chunked body of the steps that follow;
    /// it ends normally after the last one unless that is a cut or a hang.
    pub fn stream() -> Reply {
        Reply::status(200).header("content-type", "text/event-stream")
    }

    /// A reply with this status and an empty body (unless [`body`](Self::body) or steps).
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            head_delay: Duration::ZERO,
            steps: Vec::new(),
            body: None,
        }
    }

    /// A header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A whole body, sent with `Content-Length`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = Some(body.into());
        self
    }

    /// Waits this long before the status line.
    pub fn head_delay(mut self, delay: Duration) -> Reply {
        self.head_delay = delay;
        self
    }

    /// Sends a chunk.
    pub fn send(mut self, bytes: impl AsRef<[u8]>) -> Reply {
        self.steps.push(Step::Send(bytes.as_ref().to_vec()));
        self
    }

    /// Pauses.
    pub fn sleep(mut self, d: Duration) -> Reply {
        self.steps.push(Step::Sleep(d));
        self
    }

    /// Cuts the connection.
    pub fn cut(mut self) -> Reply {
        self.steps.push(Step::Cut);
        self
    }

    /// Hangs, silent, until the client closes.
    pub fn hang(mut self) -> Reply {
        self.steps.push(Step::Hang);
        self
    }

    /// Any step.
    pub fn step(mut self, step: Step) -> Reply {
        self.steps.push(step);
        self
    }
}

type Script = dyn Fn(usize, &Request) -> Reply + Send + Sync;

/// The server. It stops when dropped.
pub struct ScriptServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    closed: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptServer {
    /// Starts a server whose script gets each request with its number (from 0).
    pub async fn start(
        script: impl Fn(usize, &Request) -> Reply + Send + Sync + 'static,
    ) -> ScriptServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let task = {
            let requests = requests.clone();
            let closed = closed.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((socket, _)) = listener.accept().await else {
                        continue;
                    };
                    let (requests, closed, script) =
                        (requests.clone(), closed.clone(), script.clone());
                    tokio::spawn(async move {
                        let _ = serve(socket, &requests, &closed, &*script).await;
                    });
                }
            })
        };
        ScriptServer {
            addr,
            requests,
            closed,
            task,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The `Last-Event-ID` each request sent, in order; `-` for none.
    pub fn last_event_ids(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.last_event_id().unwrap_or("-").to_owned())
            .collect()
    }

    /// How many hanging (or flooding) connections the client has closed.
    pub fn closed_by_client(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }

    /// Waits (on tokio's clock, so a paused clock moves on when nothing else can happen)
    /// until the client has closed `n` hanging connections; false after `limit`.
    pub async fn wait_closed(&self, n: usize, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.closed_by_client() < n {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        true
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1024 * 1024;

async fn read_request(socket: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let mut chunk = [0u8; 4096];
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_owned();
    let path = first.next().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let mut chunk = [0u8; 4096];
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

async fn serve(
    mut socket: TcpStream,
    requests: &Mutex<Vec<Request>>,
    closed: &AtomicUsize,
    script: &Script,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut socket).await? else {
        return Ok(());
    };
    let number = {
        let mut all = requests.lock().unwrap();
        all.push(request.clone());
        all.len() - 1
    };
    let reply = script(number, &request);
    tokio::time::sleep(reply.head_delay).await;
    let mut head = format!(
        "HTTP/1.1 {} Scripted\r\nconnection: close\r\n",
        reply.status
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let chunked = reply.body.is_none();
    if let Some(body) = &reply.body {
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        socket.write_all(head.as_bytes()).await?;
        socket.write_all(body).await?;
        return socket.shutdown().await;
    }
    head.push_str("transfer-encoding: chunked\r\n\r\n");
    socket.write_all(head.as_bytes()).await?;
    debug_assert!(chunked);
    for step in reply.steps {
        match step {
            Step::Send(bytes) => write_chunk(&mut socket, &bytes).await?,
            Step::Sleep(d) => tokio::time::sleep(d).await,
            Step::Cut => return Ok(()),
            Step::Hang => return hang(socket, closed).await,
            Step::EndlessLine { chunk, total } => {
                let mut sent = 0;
                write_chunk(&mut socket, b"data: ").await?;
                while sent < total {
                    let n = chunk.min(total - sent);
                    if write_chunk(&mut socket, &vec![b'x'; n]).await.is_err() {
                        // The client closed the connection mid-flood.
                        closed.fetch_add(1, Ordering::SeqCst);
                        return Ok(());
                    }
                    sent += n;
                }
                return hang(socket, closed).await;
            }
        }
    }
    socket.write_all(b"0\r\n\r\n").await?;
    socket.shutdown().await
}

async fn write_chunk(socket: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut frame = format!("{:x}\r\n", bytes.len()).into_bytes();
    frame.extend_from_slice(bytes);
    frame.extend_from_slice(b"\r\n");
    socket.write_all(&frame).await
}

async fn hang(mut socket: TcpStream, closed: &AtomicUsize) -> std::io::Result<()> {
    let mut sink = [0u8; 1024];
    loop {
        match socket.read(&mut sink).await {
            Ok(0) | Err(_) => {
                closed.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            }
            Ok(_) => {}
        }
    }
}
