//! The embedded store: a redb database under the data dir holding the
//! operation journal (votes live inside their operation's record, so a vote
//! and the state it moves the operation to are one transaction), the locks
//! and the dedupe keys of chat events.
//! Every write is its own ACID transaction, durable (fsync) when it returns.
//! Operations are stored as JSON so the journal stays readable across versions.

use crate::engine::ports::Journal;
use crate::engine::{Lock, Operation};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

const OPERATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("operations");
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// `env` or `env/app` -> the lock as JSON.
const LOCKS: TableDefinition<&str, &[u8]> = TableDefinition::new("locks");
/// Chat event ids already handled -> when they were first seen.
const DEDUPE: TableDefinition<&str, i64> = TableDefinition::new("dedupe");
/// Chat adapters' notes: message <-> operation, milestones already posted.
const NOTES: TableDefinition<&str, &str> = TableDefinition::new("notes");

fn lock_key(env: &str, app: Option<&str>) -> String {
    match app {
        Some(a) => format!("{env}/{a}"),
        None => env.to_string(),
    }
}

/// The journal in `DATA_DIR/hoist.redb`.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

/// The next operation id, counted inside `tx`.
fn take_id(tx: &redb::WriteTransaction) -> Result<u64, String> {
    let mut t = tx.open_table(COUNTERS).map_err(err)?;
    let id = t
        .get("operation")
        .map_err(err)?
        .map(|v| v.value())
        .unwrap_or(0)
        + 1;
    t.insert("operation", id).map_err(err)?;
    Ok(id)
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
        tx.open_table(LOCKS).map_err(err)?;
        tx.open_table(DEDUPE).map_err(err)?;
        tx.open_table(NOTES).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Store { db })
    }
}

impl Journal for Store {
    fn create(&self, op: &mut Operation) -> Result<(), String> {
        let tx = self.db.begin_write().map_err(err)?;
        op.id = take_id(&tx)?;
        let bytes = serde_json::to_vec(&*op).map_err(err)?;
        tx.open_table(OPERATIONS)
            .map_err(err)?
            .insert(op.id, bytes.as_slice())
            .map_err(err)?;
        tx.commit().map_err(err)
    }

    fn put(&self, op: &Operation) -> Result<(), String> {
        self.put_all(&[op])
    }

    fn put_all(&self, ops: &[&Operation]) -> Result<(), String> {
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut table = tx.open_table(OPERATIONS).map_err(err)?;
            for op in ops {
                let bytes = serde_json::to_vec(op).map_err(err)?;
                table.insert(op.id, bytes.as_slice()).map_err(err)?;
            }
        }
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

    fn locks(&self) -> Result<Vec<Lock>, String> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(LOCKS).map_err(err)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(err)? {
            let (_, v) = row.map_err(err)?;
            out.push(serde_json::from_slice(v.value()).map_err(err)?);
        }
        Ok(out)
    }

    fn put_lock(&self, lock: &Lock) -> Result<(), String> {
        let bytes = serde_json::to_vec(lock).map_err(err)?;
        let key = lock_key(&lock.env, lock.app.as_deref());
        let tx = self.db.begin_write().map_err(err)?;
        tx.open_table(LOCKS)
            .map_err(err)?
            .insert(key.as_str(), bytes.as_slice())
            .map_err(err)?;
        tx.commit().map_err(err)
    }

    fn remove_lock(&self, env: &str, app: Option<&str>) -> Result<Option<Lock>, String> {
        let key = lock_key(env, app);
        let tx = self.db.begin_write().map_err(err)?;
        let removed = {
            let mut t = tx.open_table(LOCKS).map_err(err)?;
            let old = t.remove(key.as_str()).map_err(err)?;
            match old {
                Some(v) => Some(serde_json::from_slice(v.value()).map_err(err)?),
                None => None,
            }
        };
        tx.commit().map_err(err)?;
        Ok(removed)
    }

    fn first_seen(&self, key: &str, now: i64) -> Result<bool, String> {
        let tx = self.db.begin_write().map_err(err)?;
        let fresh = {
            let mut t = tx.open_table(DEDUPE).map_err(err)?;
            let seen = t.get(key).map_err(err)?.is_some();
            if !seen {
                t.insert(key, now).map_err(err)?;
            }
            !seen
        };
        tx.commit().map_err(err)?;
        Ok(fresh)
    }

    fn remember(&self, key: &str, value: &str) -> Result<(), String> {
        let tx = self.db.begin_write().map_err(err)?;
        tx.open_table(NOTES)
            .map_err(err)?
            .insert(key, value)
            .map_err(err)?;
        tx.commit().map_err(err)
    }

    fn recall(&self, key: &str) -> Result<Option<String>, String> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(NOTES).map_err(err)?;
        Ok(t.get(key).map_err(err)?.map(|v| v.value().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(env: &str, app: Option<&str>, holder: &str) -> Lock {
        Lock {
            env: env.into(),
            app: app.map(Into::into),
            holder: holder.into(),
            reason: "release".into(),
            since: 10,
            until: Some(100),
            operation: None,
        }
    }

    #[test]
    fn locks_and_dedupe_keys_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            s.put_lock(&lock("prod", None, "console:carol")).unwrap();
            s.put_lock(&lock("prod", Some("api"), "console:dave"))
                .unwrap();
            // Taking the same scope again replaces, never duplicates.
            s.put_lock(&lock("prod", Some("api"), "console:erin"))
                .unwrap();
            assert!(s.first_seen("slack:Ev1", 5).unwrap());
            assert!(!s.first_seen("slack:Ev1", 6).unwrap(), "a retry is not new");
            s.remember("slack:live:7", "C0DEPLOY/1.2").unwrap();
            s.remember("slack:live:7", "C0DEPLOY/1.3").unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let mut locks = s.locks().unwrap();
        locks.sort_by(|a, b| a.app.cmp(&b.app));
        assert_eq!(locks.len(), 2);
        assert_eq!(locks[1].holder, "console:erin");
        assert!(!s.first_seen("slack:Ev1", 7).unwrap());
        assert_eq!(
            s.recall("slack:live:7").unwrap().as_deref(),
            Some("C0DEPLOY/1.3"),
            "a note survives reopening; the last one written wins"
        );
        assert_eq!(s.recall("slack:live:8").unwrap(), None);
        let removed = s.remove_lock("prod", Some("api")).unwrap();
        assert_eq!(removed.map(|l| l.holder).as_deref(), Some("console:erin"));
        assert_eq!(s.remove_lock("prod", Some("api")).unwrap(), None);
        assert_eq!(s.locks().unwrap().len(), 1, "the env lock is untouched");
    }

    fn operation() -> Operation {
        Operation {
            id: 0,
            verb: "deploy".into(),
            summary: "deploy api v1 to staging".into(),
            actor: "console:alice".into(),
            channel: None,
            chat: "cli".into(),
            env: "staging".into(),
            reason: None,
            ticket: None,
            created_at: 10,
            state: crate::engine::State::Requested,
            branch: "main".into(),
            base: None,
            changes: Vec::new(),
            commit: None,
            needed: 0,
            approvers: Vec::new(),
            expires_at: None,
            break_glass: None,
            transitions: Vec::new(),
            memberships: Default::default(),
        }
    }

    #[test]
    fn operation_ids_are_never_reused_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = operation();
        Store::open(dir.path()).unwrap().create(&mut first).unwrap();
        let mut second = operation();
        let s = Store::open(dir.path()).unwrap();
        s.create(&mut second).unwrap();
        assert_eq!((first.id, second.id), (1, 2));
        assert_eq!(s.get(1).unwrap(), Some(first), "created means stored");
    }
}
