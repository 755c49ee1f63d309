//! A deadline on writing to a client. hyper's header timeout only runs while
//! it waits for a request; while it writes a response it waits as long as
//! the client likes, so a client that pipelines requests and never reads
//! (its receive window full) holds a connection slot forever, and graceful
//! shutdown waits on it too. [`WriteDeadline`] fails a write, flush or
//! shutdown that makes no progress for its limit with `TimedOut`, which ends
//! the connection and frees its slot. Any progress starts the clock again,
//! so a slow reader that keeps reading is served.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// An I/O object whose writes must make progress within `limit`.
#[derive(Debug)]
pub struct WriteDeadline<T> {
    inner: T,
    limit: Duration,
    /// Armed when a write first waits; dropped when one makes progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteDeadline<T> {
    pub fn new(inner: T, limit: Duration) -> Self {
        WriteDeadline {
            inner,
            limit,
            stalled: None,
        }
    }

    /// The write waits: keep waiting until the deadline, then fail.
    fn waiting<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let limit = self.limit;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client took nothing for {limit:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress<R>(&mut self, ready: io::Result<R>) -> Poll<io::Result<R>> {
        self.stalled = None;
        Poll::Ready(ready)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => this.progress(r),
            Poll::Pending => this.waiting(cx),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(r) => this.progress(r),
            Poll::Pending => this.waiting(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Ready(r) => this.progress(r),
            Poll::Pending => this.waiting(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WriteDeadline;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_write_nobody_takes_fails_at_the_deadline_and_progress_resets_it() {
        // A pipe with a 64-byte buffer stands for a client that stops reading.
        let (client, server) = tokio::io::duplex(64);
        let mut server = WriteDeadline::new(server, Duration::from_secs(2));
        let mut client = client;
        server.write_all(&[1; 64]).await.unwrap();
        // The buffer is full; the client reads a little after 1.5 s: progress.
        let reader = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let mut got = [0; 32];
            client.read_exact(&mut got).await.unwrap();
            client
        });
        server.write_all(&[2; 32]).await.unwrap();
        let _client = reader.await.unwrap();
        // Now nobody reads: the next write that waits fails after 2 s.
        let started = tokio::time::Instant::now();
        let err = server.write_all(&[3; 64]).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }
}
