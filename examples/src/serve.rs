//! How the example servers accept connections, with the limits a server on a network needs:
//!
//! - at most `MAX_CONNECTIONS` open at once (default 12,000): beyond, a new connection is
//!   closed at once (an `EventSource` retries later);
//! - a client has `HEADER_READ_TIMEOUT_SECS` (default 10) to send its request headers, so
//!   that idle sockets cannot pile up;
//! - a socket that takes no byte for `WRITE_TIMEOUT_SECS` (default 30) is closed, so that a
//!   client that stopped reading cannot hold its connection, however little is queued for it.
//!
//! What it does not do, and a deployment must: TLS, real authentication, rate limits per
//! client. Put the server behind a reverse proxy that does.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The limits of [`serve`]; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to send the request headers.
    pub header_read_timeout: Duration,
    /// Time a socket may take no byte while the server writes to it.
    pub write_timeout: Duration,
}

impl Limits {
    /// From `MAX_CONNECTIONS`, `HEADER_READ_TIMEOUT_SECS` and `WRITE_TIMEOUT_SECS`.
    pub fn from_env() -> Limits {
        let max_connections = std::env::var("MAX_CONNECTIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(12_000);
        Limits {
            max_connections,
            header_read_timeout: crate::env_secs(
                "HEADER_READ_TIMEOUT_SECS",
                Duration::from_secs(10),
            ),
            write_timeout: crate::env_secs("WRITE_TIMEOUT_SECS", Duration::from_secs(30)),
        }
    }

    /// An HTTP/1.1 connection builder with the header-read timeout.
    pub fn http1(&self) -> hyper::server::conn::http1::Builder {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        builder
    }
}

/// Serves `service` on every connection `listener` accepts, within `limits`.
pub async fn serve<S, B>(listener: TcpListener, limits: Limits, service: S) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let open = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (tcp, _) = listener.accept().await?;
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            // Full: closing it is the cheapest answer, and the client retries.
            drop(tcp);
            continue;
        };
        let socket = WriteTimeout::new(tcp, limits.write_timeout);
        let connection = limits
            .http1()
            .serve_connection(TokioIo::new(socket), service.clone());
        tokio::spawn(async move {
            // A client that goes away mid-stream ends its connection; nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
}

/// A socket whose writes fail once it has taken no byte for `timeout`: a client that stopped
/// reading is dropped after that long, however few bytes are queued for it (one large event
/// and a quiet stream included), while a slow client that keeps reading is not.
pub struct WriteTimeout<S> {
    inner: S,
    timeout: Duration,
    /// Set while a write waits for the socket; reset by any progress.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteTimeout<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, timeout: Duration) -> Self {
        WriteTimeout {
            inner,
            timeout,
            stalled: None,
        }
    }

    fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let timeout = self.timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if stalled.as_mut().poll(cx).is_ready() {
            eprintln!("dropping a connection: its socket took nothing for {timeout:?}");
            return Poll::Ready(Err(std::io::ErrorKind::TimedOut.into()));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
