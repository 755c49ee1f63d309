//! The journal on disk: a redb database, `DATA_DIR/hoist.redb`. Every write
//! is one ACID transaction, durable (fsync) when it returns, and keeps the
//! secondary indexes (operations by environment and app, by version key,
//! unfinished ones; dedupe keys and notes by time) in that same transaction,
//! so an index never disagrees with what it indexes after a crash.
//! Operations are stored as JSON so the journal stays readable across
//! versions. A journal written before the indexes existed is indexed once
//! when opened ([`super::migrate`]).

use super::index;
use super::tables::{
    BY_APP, BY_VERSION, COUNTERS, DEDUPE, DEDUPE_BY_TIME, Indexes, LOCKS, NOTE_WRITTEN, NOTES,
    NOTES_BY_TIME, OPERATIONS, Result, SCHEMA, UNFINISHED, corrupt, decode_op, encode, storage,
};
use crate::engine::ports::{Clock, Journal, JournalError, Pruned, SystemClock, version_key};
use crate::engine::{Lock, Operation};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;

fn lock_key(env: &str, app: Option<&str>) -> String {
    match app {
        Some(a) => format!("{env}/{a}"),
        None => env.to_string(),
    }
}

/// The journal in `DATA_DIR/hoist.redb`.
pub struct Store {
    db: Database,
    /// When notes are written (what retention compares against).
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("db", &self.db).finish()
    }
}

/// The next operation id, counted inside `tx`.
fn take_id(tx: &redb::WriteTransaction) -> Result<u64> {
    let mut t = tx.open_table(COUNTERS).map_err(storage)?;
    let id = t
        .get("operation")
        .map_err(storage)?
        .map(|v| v.value())
        .unwrap_or(0)
        + 1;
    t.insert("operation", id).map_err(storage)?;
    Ok(id)
}

impl Store {
    /// Open (or create) the journal under `data_dir`, indexing a journal
    /// written by an older hoist first.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Store::open_with_clock(data_dir, Arc::new(SystemClock))
    }

    /// [`Store::open`] with the clock notes are stamped with.
    pub fn open_with_clock(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        let path = data_dir.join("hoist.redb");
        let open = |e: Box<dyn std::error::Error + Send + Sync>| JournalError::Open {
            path: path.clone(),
            source: e,
        };
        std::fs::create_dir_all(data_dir).map_err(|e| open(Box::new(e)))?;
        let db = Database::create(&path).map_err(|e| open(Box::new(e)))?;
        super::migrate::prepare(&db, clock.now()).map_err(|e| match e {
            super::migrate::Refused::Newer(found) => open(
                format!("written by a newer hoist (layout {found}; this one knows {SCHEMA})")
                    .into(),
            ),
            super::migrate::Refused::Journal(e) => e,
        })?;
        Ok(Store { db, clock })
    }

    fn read<T>(&self, f: impl FnOnce(&redb::ReadTransaction) -> Result<T>) -> Result<T> {
        let tx = self.db.begin_read().map_err(storage)?;
        f(&tx)
    }

    fn write<T>(&self, f: impl FnOnce(&redb::WriteTransaction) -> Result<T>) -> Result<T> {
        let tx = self.db.begin_write().map_err(storage)?;
        let out = f(&tx)?;
        tx.commit().map_err(storage)?;
        Ok(out)
    }

    /// The operations `ids` name, in that order, that `keep` accepts.
    fn fetch(
        tx: &redb::ReadTransaction,
        ids: impl IntoIterator<Item = u64>,
        keep: impl Fn(&Operation) -> bool,
    ) -> Result<Vec<Operation>> {
        let t = tx.open_table(OPERATIONS).map_err(storage)?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(v) = t.get(id).map_err(storage)? {
                let op = decode_op(id, v.value())?;
                if keep(&op) {
                    out.push(op);
                }
            }
        }
        Ok(out)
    }

    /// Ids in `env`/`app`'s part of [`BY_APP`], oldest first.
    fn app_ids(tx: &redb::ReadTransaction, env: &str, app: &str) -> Result<Vec<u64>> {
        let t = tx.open_table(BY_APP).map_err(storage)?;
        let mut ids = Vec::new();
        for row in t
            .range((env, app, 0)..=(env, app, u64::MAX))
            .map_err(storage)?
        {
            ids.push(row.map_err(storage)?.0.value().2);
        }
        Ok(ids)
    }
}

impl Journal for Store {
    fn create(&self, op: &mut Operation) -> Result<()> {
        self.write(|tx| {
            op.id = take_id(tx)?;
            let bytes = encode(|| format!("operation {}", op.id), &*op)?;
            tx.open_table(OPERATIONS)
                .map_err(storage)?
                .insert(op.id, bytes.as_slice())
                .map_err(storage)?;
            Indexes::open(tx)?.add(op)
        })
    }

    fn put(&self, op: &Operation) -> Result<()> {
        self.put_all(&[op])
    }

    fn put_all(&self, ops: &[&Operation]) -> Result<()> {
        self.write(|tx| {
            let mut table = tx.open_table(OPERATIONS).map_err(storage)?;
            let mut indexes = Indexes::open(tx)?;
            for op in ops {
                let bytes = encode(|| format!("operation {}", op.id), op)?;
                let old = table.insert(op.id, bytes.as_slice()).map_err(storage)?;
                // What the old record indexed goes first. One that no longer
                // decodes leaves its entries behind: queries check each
                // operation they return against what was asked.
                if let Some(Ok(old)) = old.map(|v| decode_op(op.id, v.value())) {
                    indexes.remove(&old)?;
                }
                indexes.add(op)?;
            }
            Ok(())
        })
    }

    fn get(&self, id: u64) -> Result<Option<Operation>> {
        self.read(|tx| Ok(Store::fetch(tx, [id], |_| true)?.pop()))
    }

    fn list(&self) -> Result<Vec<Operation>> {
        self.read(|tx| {
            let t = tx.open_table(OPERATIONS).map_err(storage)?;
            let mut out = Vec::new();
            for row in t.iter().map_err(storage)? {
                let (k, v) = row.map_err(storage)?;
                out.push(decode_op(k.value(), v.value())?);
            }
            Ok(out)
        })
    }

    fn unfinished(&self) -> Result<Vec<Operation>> {
        self.read(|tx| {
            let t = tx.open_table(UNFINISHED).map_err(storage)?;
            let mut ids = Vec::new();
            for row in t.iter().map_err(storage)? {
                ids.push(row.map_err(storage)?.0.value());
            }
            Store::fetch(tx, ids, index::unfinished)
        })
    }

    fn of_app(&self, env: &str, app: &str) -> Result<Vec<Operation>> {
        self.read(|tx| {
            let ids = Store::app_ids(tx, env, app)?;
            Store::fetch(tx, ids, |op| index::touches(op, env, app))
        })
    }

    fn latest(&self, env: &str, app: &str) -> Result<Option<Operation>> {
        self.read(|tx| {
            let t = tx.open_table(BY_APP).map_err(storage)?;
            let rows = t
                .range((env, app, 0)..=(env, app, u64::MAX))
                .map_err(storage)?;
            // Newest first; a stale entry (see put_all) is passed over.
            for row in rows.rev() {
                let id = row.map_err(storage)?.0.value().2;
                if let Some(op) = Store::fetch(tx, [id], |op| index::touches(op, env, app))?.pop() {
                    return Ok(Some(op));
                }
            }
            Ok(None)
        })
    }

    fn of_version(&self, env: &str, app: &str, version: &str) -> Result<Vec<Operation>> {
        let key = version_key(version);
        self.read(|tx| {
            let t = tx.open_table(BY_VERSION).map_err(storage)?;
            let mut ids = Vec::new();
            let rows = t
                .range((env, app, key, 0)..=(env, app, key, u64::MAX))
                .map_err(storage)?;
            for row in rows {
                ids.push(row.map_err(storage)?.0.value().3);
            }
            Store::fetch(tx, ids, |op| index::mentions(op, env, app, version))
        })
    }

    fn locks(&self) -> Result<Vec<Lock>> {
        self.read(|tx| {
            let t = tx.open_table(LOCKS).map_err(storage)?;
            let mut out = Vec::new();
            for row in t.iter().map_err(storage)? {
                let (k, v) = row.map_err(storage)?;
                let lock = serde_json::from_slice(v.value())
                    .map_err(|e| corrupt(format!("lock {}", k.value()), e))?;
                out.push(lock);
            }
            Ok(out)
        })
    }

    fn put_lock(&self, lock: &Lock) -> Result<()> {
        let key = lock_key(&lock.env, lock.app.as_deref());
        let bytes = encode(|| format!("lock {key}"), lock)?;
        self.write(|tx| {
            tx.open_table(LOCKS)
                .map_err(storage)?
                .insert(key.as_str(), bytes.as_slice())
                .map_err(storage)?;
            Ok(())
        })
    }

    fn remove_lock(&self, env: &str, app: Option<&str>) -> Result<Option<Lock>> {
        let key = lock_key(env, app);
        self.write(|tx| {
            let mut t = tx.open_table(LOCKS).map_err(storage)?;
            let old = t.remove(key.as_str()).map_err(storage)?;
            match old {
                Some(v) => serde_json::from_slice(v.value())
                    .map(Some)
                    .map_err(|e| corrupt(format!("lock {key}"), e)),
                None => Ok(None),
            }
        })
    }

    fn first_seen(&self, key: &str, now: i64) -> Result<bool> {
        self.write(|tx| {
            let mut t = tx.open_table(DEDUPE).map_err(storage)?;
            if t.get(key).map_err(storage)?.is_some() {
                return Ok(false);
            }
            t.insert(key, now).map_err(storage)?;
            tx.open_table(DEDUPE_BY_TIME)
                .map_err(storage)?
                .insert((now, key), ())
                .map_err(storage)?;
            Ok(true)
        })
    }

    fn remember(&self, key: &str, value: &str) -> Result<()> {
        let now = self.clock.now();
        self.write(|tx| {
            tx.open_table(NOTES)
                .map_err(storage)?
                .insert(key, value)
                .map_err(storage)?;
            let mut by_time = tx.open_table(NOTES_BY_TIME).map_err(storage)?;
            let old = tx
                .open_table(NOTE_WRITTEN)
                .map_err(storage)?
                .insert(key, now)
                .map_err(storage)?
                .map(|v| v.value());
            if let Some(old) = old {
                by_time.remove((old, key)).map_err(storage)?;
            }
            by_time.insert((now, key), ()).map_err(storage)?;
            Ok(())
        })
    }

    fn recall(&self, key: &str) -> Result<Option<String>> {
        self.read(|tx| {
            let t = tx.open_table(NOTES).map_err(storage)?;
            Ok(t.get(key).map_err(storage)?.map(|v| v.value().to_string()))
        })
    }

    fn prune(&self, before: i64) -> Result<Pruned> {
        self.write(|tx| {
            let ids: Vec<u64> = {
                let t = tx.open_table(UNFINISHED).map_err(storage)?;
                let rows = t.iter().map_err(storage)?;
                rows.map(|r| r.map(|(k, _)| k.value()))
                    .collect::<Result<_, _>>()
                    .map_err(storage)?
            };
            let mut oldest = i64::MAX;
            {
                let ops = tx.open_table(OPERATIONS).map_err(storage)?;
                for id in ids {
                    if let Some(v) = ops.get(id).map_err(storage)? {
                        oldest = oldest.min(decode_op(id, v.value())?.created_at);
                    }
                }
            }
            let dedupe = drain(tx, DEDUPE_BY_TIME, before)?;
            let mut t = tx.open_table(DEDUPE).map_err(storage)?;
            for key in &dedupe {
                t.remove(key.as_str()).map_err(storage)?;
            }
            let notes = drain(tx, NOTES_BY_TIME, before.min(oldest))?;
            let mut values = tx.open_table(NOTES).map_err(storage)?;
            let mut written = tx.open_table(NOTE_WRITTEN).map_err(storage)?;
            for key in &notes {
                values.remove(key.as_str()).map_err(storage)?;
                written.remove(key.as_str()).map_err(storage)?;
            }
            let (dedupe_keys, notes) = (dedupe.len() as u64, notes.len() as u64);
            Ok(Pruned { dedupe_keys, notes })
        })
    }
}

/// Remove every (time, key) of `table` older than `before`; their keys.
fn drain(
    tx: &redb::WriteTransaction,
    table: TableDefinition<(i64, &str), ()>,
    before: i64,
) -> Result<Vec<String>> {
    let old: Vec<(i64, String)> = {
        let t = tx.open_table(table).map_err(storage)?;
        let rows = t.range(..(before, "")).map_err(storage)?;
        rows.map(|r| r.map(|(k, _)| (k.value().0, k.value().1.to_string())))
            .collect::<Result<_, _>>()
            .map_err(storage)?
    };
    let mut t = tx.open_table(table).map_err(storage)?;
    for (time, key) in &old {
        t.remove((*time, key.as_str())).map_err(storage)?;
    }
    Ok(old.into_iter().map(|(_, key)| key).collect())
}
