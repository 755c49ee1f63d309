//! The listener of `hoist serve`: an accept loop of its own over hyper's
//! HTTP/1 connections, so that what a client can hold is bounded before any
//! handler runs. Three rules:
//!
//! - **header timeout**: a connection that has not sent a whole request head
//!   within [`Limits::header_timeout`] is closed (hyper's
//!   `header_read_timeout`, driven by tokio's timer). It also bounds a
//!   keep-alive connection's idle time between requests, since hyper starts
//!   the timer as soon as it waits for the next head;
//! - **connection cap**: at most [`Limits::max_connections`] connections are
//!   served at once; one beyond the cap is accepted and closed at once (it
//!   costs a file descriptor for microseconds, not until someone else lets
//!   go), so a flood of idle clients ends within one header timeout and
//!   `/healthz` answers the next probe. Closing rather than leaving excess
//!   connections in the kernel's backlog keeps a probe from queueing behind
//!   hundreds of stalled clients;
//! - **write deadline**: a response the client does not take within
//!   [`Limits::body_timeout`] ends the connection ([`super::stall`]), so a
//!   client that pipelines requests and never reads cannot keep its slot;
//! - the body rules (size and time) are the router's, see [`super::body`].
//!
//! Shutdown is a future passed in: the loop stops accepting, every
//! connection is asked to finish (requests in flight get their answers,
//! idle keep-alive connections close), and `serve` returns once all have.

use super::Metrics;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// What one client may hold, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request head (request line and headers) must arrive within this.
    pub header_timeout: Duration,
    /// A request body must arrive whole within this, counted from the end
    /// of its head.
    pub body_timeout: Duration,
    /// Connections served at once; more are closed as they arrive.
    pub max_connections: usize,
}

impl Default for Limits {
    /// 10 s for a head, 10 s for a body (Slack sends a few KiB at once and
    /// gives up after 3 s), 512 connections.
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 512,
        }
    }
}

/// Serve `router` on `listener` within `limits` until `shutdown` resolves,
/// then let the connections finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Semaphore::MAX_PERMITS is far above any useful cap; the clamp keeps
    // `acquire_many` below within u32.
    let cap = limits.max_connections.clamp(1, u32::MAX as usize >> 3);
    let slots = Arc::new(Semaphore::new(cap));
    let (stop, stopping) = watch::channel(false);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before
                    // it was accepted): wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.refused.inc("connection_cap");
            drop(stream);
            continue;
        };
        // A response must be taken within the body timeout, or the
        // connection ends (a client that pipelines and never reads).
        let stream = super::stall::WriteDeadline::new(stream, limits.body_timeout);
        let conn = builder.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        let mut stopping = stopping.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                // The sender lives until every connection has ended.
                _ = async { stopping.wait_for(|s| *s).await.is_ok() } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                if e.is_timeout() {
                    metrics.refused.inc("header_timeout");
                } else if timed_out(&e) {
                    metrics.refused.inc("write_timeout");
                }
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    // `send` fails only when no connection is left to listen, which is fine.
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: all slots back means done.
    // The semaphore is never closed, so this cannot fail.
    let _ = slots.acquire_many(cap as u32).await;
    Ok(())
}

/// Did the connection end because a write hit its deadline?
fn timed_out(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::TimedOut;
        }
        source = s.source();
    }
    false
}
