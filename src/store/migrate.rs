//! The journal file's layout version and the one-time upgrade to it. A
//! journal written before the indexes existed (layout 1: operations,
//! counters, locks, dedupe keys and notes only) is indexed when opened, in
//! one transaction: every operation into the by-app, by-version and
//! unfinished indexes, every dedupe key by the time it was first seen, and
//! every note stamped as written at the upgrade (older notes carried no
//! time, so they are kept for a full retention from then). A journal from a
//! newer hoist is refused rather than written without its indexes.

use super::tables::{
    BY_APP, BY_VERSION, COUNTERS, DEDUPE, DEDUPE_BY_TIME, Indexes, LOCKS, META, NOTE_WRITTEN,
    NOTES, NOTES_BY_TIME, OPERATIONS, SCHEMA, UNFINISHED, decode_op, storage,
};
use crate::engine::ports::JournalError;
use redb::{Database, ReadableTable};

/// Why a journal cannot be used as it is.
#[derive(Debug)]
pub(super) enum Refused {
    /// Written by a newer hoist, with this layout.
    Newer(u64),
    Journal(JournalError),
}

impl From<JournalError> for Refused {
    fn from(e: JournalError) -> Self {
        Refused::Journal(e)
    }
}

/// Create what is missing and upgrade an older layout; `now` stamps notes
/// that carried no time.
pub(super) fn prepare(db: &Database, now: i64) -> Result<(), Refused> {
    let tx = db.begin_write().map_err(storage)?;
    tx.open_table(OPERATIONS).map_err(storage)?;
    tx.open_table(COUNTERS).map_err(storage)?;
    tx.open_table(LOCKS).map_err(storage)?;
    tx.open_table(DEDUPE).map_err(storage)?;
    tx.open_table(NOTES).map_err(storage)?;
    tx.open_table(BY_APP).map_err(storage)?;
    tx.open_table(BY_VERSION).map_err(storage)?;
    tx.open_table(UNFINISHED).map_err(storage)?;
    tx.open_table(DEDUPE_BY_TIME).map_err(storage)?;
    tx.open_table(NOTE_WRITTEN).map_err(storage)?;
    tx.open_table(NOTES_BY_TIME).map_err(storage)?;
    let mut meta = tx.open_table(META).map_err(storage)?;
    let found = meta.get("schema").map_err(storage)?.map(|v| v.value());
    match found {
        Some(s) if s == SCHEMA => {}
        Some(s) if s > SCHEMA => return Err(Refused::Newer(s)),
        _ => {
            index_all(&tx, now)?;
            meta.insert("schema", SCHEMA).map_err(storage)?;
        }
    }
    drop(meta);
    tx.commit().map_err(storage)?;
    Ok(())
}

/// Build every index from the tables they index.
fn index_all(tx: &redb::WriteTransaction, now: i64) -> Result<(), JournalError> {
    let mut indexes = Indexes::open(tx)?;
    let ops = tx.open_table(OPERATIONS).map_err(storage)?;
    for row in ops.iter().map_err(storage)? {
        let (k, v) = row.map_err(storage)?;
        match decode_op(k.value(), v.value()) {
            Ok(op) => indexes.add(&op)?,
            // Reading it reports it (get, list); it cannot be indexed.
            Err(e) => tracing::warn!(error = %e.report(), "journal: not indexed"),
        }
    }
    let dedupe = tx.open_table(DEDUPE).map_err(storage)?;
    let mut dedupe_by_time = tx.open_table(DEDUPE_BY_TIME).map_err(storage)?;
    for row in dedupe.iter().map_err(storage)? {
        let (k, v) = row.map_err(storage)?;
        dedupe_by_time
            .insert((v.value(), k.value()), ())
            .map_err(storage)?;
    }
    let notes = tx.open_table(NOTES).map_err(storage)?;
    let mut written = tx.open_table(NOTE_WRITTEN).map_err(storage)?;
    let mut notes_by_time = tx.open_table(NOTES_BY_TIME).map_err(storage)?;
    for row in notes.iter().map_err(storage)? {
        let (k, _) = row.map_err(storage)?;
        written.insert(k.value(), now).map_err(storage)?;
        notes_by_time
            .insert((now, k.value()), ())
            .map_err(storage)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::State;
    use crate::engine::ports::{Clock, Journal};
    use crate::store::Store;
    use crate::store::conformance::{At, operation};
    use std::sync::Arc;

    /// A journal as hoist wrote it before the indexes: the five tables only.
    fn layout_1(dir: &std::path::Path) {
        let db = Database::create(dir.join("hoist.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut ops = tx.open_table(OPERATIONS).unwrap();
            let mut a = operation(1, "staging", &["api"], "v1", 10);
            a.state = State::Healthy;
            let mut b = operation(2, "staging", &["api", "web"], "v2", 20);
            b.state = State::Pushed { sha: "abc".into() };
            for op in [a, b] {
                let bytes = serde_json::to_vec(&op).unwrap();
                ops.insert(op.id, bytes.as_slice()).unwrap();
            }
            tx.open_table(COUNTERS)
                .unwrap()
                .insert("operation", 2)
                .unwrap();
            tx.open_table(LOCKS).unwrap();
            tx.open_table(DEDUPE)
                .unwrap()
                .insert("slack:event:Ev1", 5)
                .unwrap();
            tx.open_table(NOTES)
                .unwrap()
                .insert("slack:live:2", "1.2")
                .unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn a_journal_without_indexes_is_indexed_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        layout_1(dir.path());
        let clock = Arc::new(At::new(1_000));
        let s = Store::open_with_clock(dir.path(), clock.clone()).unwrap();
        let ids = |ops: Vec<crate::engine::Operation>| ops.iter().map(|o| o.id).collect::<Vec<_>>();
        assert_eq!(ids(s.unfinished().unwrap()), [2]);
        assert_eq!(ids(s.of_app("staging", "api").unwrap()), [1, 2]);
        assert_eq!(ids(s.of_app("staging", "web").unwrap()), [2]);
        assert_eq!(s.latest("staging", "api").unwrap().map(|o| o.id), Some(2));
        assert_eq!(ids(s.of_version("staging", "api", "v1").unwrap()), [1]);
        assert!(!s.first_seen("slack:event:Ev1", 1_000).unwrap());
        // The old note is stamped at the upgrade: it outlives a retention
        // that ends before then, and operation 2 is unfinished anyway.
        let pruned = s.prune(999).unwrap();
        assert_eq!((pruned.dedupe_keys, pruned.notes), (1, 0));
        assert_eq!(s.recall("slack:live:2").unwrap().as_deref(), Some("1.2"));
        // New ids carry on after the old ones; indexes follow new writes.
        let mut c = operation(0, "prod", &["api"], "v1", clock.now());
        s.create(&mut c).unwrap();
        assert_eq!(c.id, 3);
        assert_eq!(ids(s.unfinished().unwrap()), [2, 3]);
        drop(s);
        // Reopening does not index again (no duplicate answers).
        let s = Store::open_with_clock(dir.path(), clock).unwrap();
        assert_eq!(ids(s.of_app("staging", "api").unwrap()), [1, 2]);
        assert_eq!(ids(s.unfinished().unwrap()), [2, 3]);
    }

    #[test]
    fn a_journal_from_a_newer_hoist_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Database::create(dir.path().join("hoist.redb")).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert("schema", SCHEMA + 1)
                .unwrap();
            tx.commit().unwrap();
        }
        let e = Store::open(dir.path()).unwrap_err();
        assert_eq!(e.kind(), "journal_open");
        assert!(e.report().contains("newer hoist"), "{}", e.report());
    }
}
