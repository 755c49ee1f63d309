//! The redb tables of the journal file and the operation indexes kept in
//! them: names and key types (the file's layout, version [`SCHEMA`]), how
//! records are encoded (operations and locks as JSON), how redb's errors
//! become [`JournalError`]s, and [`Indexes`], which adds and removes one
//! operation's index entries inside a write transaction.

use super::index;
use crate::engine::Operation;
use crate::engine::ports::JournalError;
use redb::{Table, TableDefinition};

pub(super) const OPERATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("operations");
pub(super) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// `env` or `env/app` -> the lock as JSON.
pub(super) const LOCKS: TableDefinition<&str, &[u8]> = TableDefinition::new("locks");
/// Chat event ids already handled -> when they were first seen.
pub(super) const DEDUPE: TableDefinition<&str, i64> = TableDefinition::new("dedupe");
/// Chat adapters' notes: message <-> operation, milestones already posted.
pub(super) const NOTES: TableDefinition<&str, &str> = TableDefinition::new("notes");
/// `schema` -> the layout version of this file (absent: 1, before indexes).
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// (env, app, operation id) for every app an operation changes.
pub(super) const BY_APP: TableDefinition<(&str, &str, u64), ()> = TableDefinition::new("by_app");
/// (env, app, version key, operation id), see [`index::versions`].
pub(super) const BY_VERSION: TableDefinition<(&str, &str, &str, u64), ()> =
    TableDefinition::new("by_version");
/// Ids of operations not in a terminal state.
pub(super) const UNFINISHED: TableDefinition<u64, ()> = TableDefinition::new("unfinished");
/// (first seen, key) for every dedupe key.
pub(super) const DEDUPE_BY_TIME: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("dedupe_by_time");
/// Note key -> when it was last written.
pub(super) const NOTE_WRITTEN: TableDefinition<&str, i64> = TableDefinition::new("note_written");
/// (last written, note key) for every note.
pub(super) const NOTES_BY_TIME: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("notes_by_time");

/// The layout this code reads and writes.
pub(super) const SCHEMA: u64 = 2;

pub(super) fn storage<E: std::error::Error + Send + Sync + 'static>(e: E) -> JournalError {
    JournalError::Storage(Box::new(e))
}

pub(super) fn corrupt(what: String, e: serde_json::Error) -> JournalError {
    JournalError::Corrupt {
        what,
        source: Box::new(e),
    }
}

pub(super) fn encode<T: serde::Serialize>(
    what: impl FnOnce() -> String,
    v: &T,
) -> Result<Vec<u8>, JournalError> {
    serde_json::to_vec(v).map_err(|e| JournalError::Encode {
        what: what(),
        source: Box::new(e),
    })
}

pub(super) fn decode_op(id: u64, bytes: &[u8]) -> Result<Operation, JournalError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(format!("operation {id}"), e))
}

pub(super) type Result<T, E = JournalError> = std::result::Result<T, E>;

/// The operation index tables of one write transaction.
pub(super) struct Indexes<'t> {
    by_app: Table<'t, (&'static str, &'static str, u64), ()>,
    by_version: Table<'t, (&'static str, &'static str, &'static str, u64), ()>,
    unfinished: Table<'t, u64, ()>,
}

impl<'t> Indexes<'t> {
    pub(super) fn open(tx: &'t redb::WriteTransaction) -> Result<Self> {
        Ok(Indexes {
            by_app: tx.open_table(BY_APP).map_err(storage)?,
            by_version: tx.open_table(BY_VERSION).map_err(storage)?,
            unfinished: tx.open_table(UNFINISHED).map_err(storage)?,
        })
    }

    /// Add `op`'s entries.
    pub(super) fn add(&mut self, op: &Operation) -> Result<()> {
        for app in index::apps(op) {
            self.by_app
                .insert((op.env.as_str(), app, op.id), ())
                .map_err(storage)?;
        }
        for (app, key) in index::versions(op) {
            self.by_version
                .insert((op.env.as_str(), app, key, op.id), ())
                .map_err(storage)?;
        }
        if index::unfinished(op) {
            self.unfinished.insert(op.id, ()).map_err(storage)?;
        }
        Ok(())
    }

    /// Remove `op`'s entries.
    pub(super) fn remove(&mut self, op: &Operation) -> Result<()> {
        for app in index::apps(op) {
            self.by_app
                .remove((op.env.as_str(), app, op.id))
                .map_err(storage)?;
        }
        for (app, key) in index::versions(op) {
            self.by_version
                .remove((op.env.as_str(), app, key, op.id))
                .map_err(storage)?;
        }
        self.unfinished.remove(op.id).map_err(storage)?;
        Ok(())
    }
}
