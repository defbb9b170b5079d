//! Bare hyper 1.x, no framework: the crate's `EncodeStream` is the response body.
//!
//! ```sh
//! cargo run --example hyper --features http-body,tokio
//! curl -N http://127.0.0.1:3000/
//! ```

use std::convert::Infallible;
use std::time::Duration;

use futures_util::{stream, StreamExt};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use ssekit::{EncodeStream, Event};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("streaming at http://{}/", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service = service_fn(|_req| async {
                let events = stream::iter(1..=10u64).then(|n| async move {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    Event::builder().id(n).data(format!("{n} of 10")).build()
                });
                let bye = Event::builder().event("done").data("").build().ok();
                let body = EncodeStream::new(events.chain(stream::iter(bye.map(Ok))))
                    .keep_alive_tokio(Duration::from_secs(15));
                Ok::<_, Infallible>(body.into_response())
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await
            {
                eprintln!("connection ended: {e}");
            }
        });
    }
}
