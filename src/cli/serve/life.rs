//! The life cycle of `hoist serve`: the start-up summary of what is on and
//! what is off (naming the variable that would switch it on), and the
//! shutdown. The first SIGTERM or SIGINT makes `/readyz` and the Slack and
//! Discord endpoints answer 503, stops Socket Mode and Discord's gateway,
//! and waits (at most the grace, `HOIST_SHUTDOWN_GRACE`, 30 s) until no
//! acknowledged request is still short of the journal and no commit is
//! between approval and push; a rollout being followed is not waited for
//! (the next start follows it again). Then the listener closes and the process exits 0. A second
//! signal exits at once with 128 + the signal's number (130, 143): the
//! journal is written before every side effect, so the next start carries
//! on from there without doing anything twice.

use crate::server::AppState;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// SIGTERM and SIGINT, caught from start-up on (tokio keeps its handlers
/// for the life of the process, so neither kills it unasked).
#[derive(Debug)]
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    pub fn listen() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next signal: its name and number.
    pub async fn next(&mut self) -> (&'static str, i32) {
        tokio::select! {
            _ = self.term.recv() => ("SIGTERM", 15),
            _ = self.int.recv() => ("SIGINT", 2),
        }
    }
}

/// One line of the start-up summary.
#[derive(Debug)]
pub enum Part {
    On(String),
    /// What is off and what would switch it on.
    Off(String),
}

/// Say `text` on stderr the way the logs are written: a JSON line when the
/// log format is JSON (so a log collector gets one stream it can parse),
/// else a plain `hoist: ...` line.
pub fn tell(warn: bool, text: &str) {
    match crate::logging::installed() {
        Some(crate::logging::Format::Json) if warn => {
            tracing::warn!(target: "hoist::serve", "{text}")
        }
        Some(crate::logging::Format::Json) => tracing::info!(target: "hoist::serve", "{text}"),
        _ => eprintln!("hoist: {text}"),
    }
}

/// The summary, one part per line on stderr.
pub fn summary(parts: &[Part]) {
    tell(
        false,
        &format!(
            "serve {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            crate::server::BUILD_COMMIT
        ),
    );
    for p in parts {
        match p {
            Part::On(what) => tell(false, &format!("  on:  {what}")),
            Part::Off(what) => tell(true, &format!("  off: {what}")),
        }
    }
}

/// What a shutdown still waits for: requests acknowledged over HTTP whose
/// work has not ended, less those only following a rollout, and commits
/// between approval and push.
fn in_flight(s: &AppState) -> (usize, usize) {
    let following = usize::try_from(s.metrics.ops.following()).unwrap_or(0);
    let requests = s.jobs.load(Ordering::Acquire).saturating_sub(following);
    (requests, s.metrics.ops.writing())
}

/// Stop taking work and wait, at most `grace`, for work in flight to reach
/// the journal and the remote. True when nothing was left.
pub async fn drain(s: &AppState, grace: Duration) -> bool {
    s.stopping.store(true, Ordering::Release);
    let start = Instant::now();
    let mut told = false;
    loop {
        let (requests, writes) = in_flight(s);
        if requests == 0 && writes == 0 {
            return true;
        }
        if start.elapsed() >= grace {
            tell(
                true,
                &format!(
                    "gave up waiting after {grace:?}: {requests} request(s) and {writes} \
                     commit(s) still in flight; the next start carries them on"
                ),
            );
            return false;
        }
        if !told {
            tell(
                false,
                &format!(
                    "waiting (at most {grace:?}) for {requests} request(s) and {writes} \
                     commit(s) in flight"
                ),
            );
            told = true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
