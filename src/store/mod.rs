//! The embedded store: a redb database under the data dir holding the
//! operation journal (and, as the engine grows, votes, locks and dedupe keys).
//! Every write is its own ACID transaction, durable (fsync) when it returns.
//! Operations are stored as JSON so the journal stays readable across versions.

use crate::engine::Operation;
use crate::engine::ports::Journal;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

const OPERATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("operations");
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

/// The journal in `DATA_DIR/hoist.redb`.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

fn err(e: impl std::fmt::Display) -> String {
    format!("journal: {e}")
}

impl Store {
    pub fn open(data_dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(data_dir).map_err(err)?;
        let db = Database::create(data_dir.join("hoist.redb")).map_err(err)?;
        let tx = db.begin_write().map_err(err)?;
        tx.open_table(OPERATIONS).map_err(err)?;
        tx.open_table(COUNTERS).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Store { db })
    }
}

impl Journal for Store {
    fn next_id(&self) -> Result<u64, String> {
        let tx = self.db.begin_write().map_err(err)?;
        let id = {
            let mut t = tx.open_table(COUNTERS).map_err(err)?;
            let id = t
                .get("operation")
                .map_err(err)?
                .map(|v| v.value())
                .unwrap_or(0)
                + 1;
            t.insert("operation", id).map_err(err)?;
            id
        };
        tx.commit().map_err(err)?;
        Ok(id)
    }

    fn put(&self, op: &Operation) -> Result<(), String> {
        let bytes = serde_json::to_vec(op).map_err(err)?;
        let tx = self.db.begin_write().map_err(err)?;
        tx.open_table(OPERATIONS)
            .map_err(err)?
            .insert(op.id, bytes.as_slice())
            .map_err(err)?;
        tx.commit().map_err(err)
    }

    fn get(&self, id: u64) -> Result<Option<Operation>, String> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(OPERATIONS).map_err(err)?;
        match t.get(id).map_err(err)? {
            Some(v) => serde_json::from_slice(v.value()).map(Some).map_err(err),
            None => Ok(None),
        }
    }

    fn list(&self) -> Result<Vec<Operation>, String> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(OPERATIONS).map_err(err)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(err)? {
            let (_, v) = row.map_err(err)?;
            out.push(serde_json::from_slice(v.value()).map_err(err)?);
        }
        Ok(out)
    }
}
