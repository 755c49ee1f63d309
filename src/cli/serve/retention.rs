//! Retention for `hoist serve`: at start and then every hour, a thread of
//! its own asks the journal to drop the dedupe keys and chat notes older
//! than `HOIST_JOURNAL_RETENTION` ([`Journal::prune`] says what is kept:
//! every operation, and every note an unfinished operation may need). It
//! holds the journal only while pruning, so shutting down can close it.

use crate::engine::ports::{Clock, Journal};
use anyhow::Context;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the journal is pruned after the first time.
const EVERY: Duration = Duration::from_secs(3600);

/// Prune now and every [`EVERY`] while the journal is open.
pub fn start(
    store: Weak<dyn Journal>,
    clock: Arc<dyn Clock>,
    keep: Duration,
) -> anyhow::Result<()> {
    let keep = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
    std::thread::Builder::new()
        .name("hoist-prune".into())
        .spawn(move || {
            while let Some(journal) = store.upgrade() {
                match journal.prune(clock.now().saturating_sub(keep)) {
                    Ok(p) if p.dedupe_keys + p.notes > 0 => tracing::info!(
                        dedupe_keys = p.dedupe_keys,
                        notes = p.notes,
                        "journal: dropped what is past its retention"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(kind = e.kind(), error = %e.report(), "journal: pruning")
                    }
                }
                drop(journal);
                std::thread::sleep(EVERY);
            }
        })
        .context("starting the journal's pruning thread")?;
    Ok(())
}
