//! The journal in memory: the same behaviour as the redb [`super::Store`]
//! (ids never reused, the indexed queries, retention) without a file, for
//! engine tests and `hoist try`-like runs that keep nothing. Both pass the
//! same [`super::conformance`] suite. Nothing survives the process.

use super::index;
use crate::engine::ports::{Clock, Journal, JournalError, Pruned, SystemClock, version_key};
use crate::engine::{Lock, Operation};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

type Result<T, E = JournalError> = std::result::Result<T, E>;

#[derive(Debug, Default)]
struct Inner {
    last_id: u64,
    operations: BTreeMap<u64, Operation>,
    /// (env, app, id), as the store's `by_app` table.
    by_app: BTreeSet<(String, String, u64)>,
    /// (env, app, version key, id), as the store's `by_version` table.
    by_version: BTreeSet<(String, String, String, u64)>,
    unfinished: BTreeSet<u64>,
    /// `env` or `env/app` -> lock.
    locks: BTreeMap<String, Lock>,
    /// key -> first seen.
    dedupe: BTreeMap<String, i64>,
    /// key -> (value, last written).
    notes: BTreeMap<String, (String, i64)>,
}

impl Inner {
    fn index(&mut self, op: &Operation) {
        for app in index::apps(op) {
            self.by_app.insert((op.env.clone(), app.into(), op.id));
        }
        for (app, key) in index::versions(op) {
            let entry = (op.env.clone(), app.into(), key.into(), op.id);
            self.by_version.insert(entry);
        }
        if index::unfinished(op) {
            self.unfinished.insert(op.id);
        }
    }

    fn unindex(&mut self, op: &Operation) {
        for app in index::apps(op) {
            self.by_app.remove(&(op.env.clone(), app.into(), op.id));
        }
        for (app, key) in index::versions(op) {
            let entry = (op.env.clone(), app.into(), key.into(), op.id);
            self.by_version.remove(&entry);
        }
        self.unfinished.remove(&op.id);
    }

    fn put(&mut self, op: &Operation) {
        if let Some(old) = self.operations.insert(op.id, op.clone()) {
            self.unindex(&old);
        }
        self.index(op);
    }

    /// Ids of `env`/`app` in [`Inner::by_app`], oldest first.
    fn app_ids(&self, env: &str, app: &str) -> Vec<u64> {
        let (env, app) = (env.to_string(), app.to_string());
        self.by_app
            .range((env.clone(), app.clone(), 0)..=(env, app, u64::MAX))
            .map(|(_, _, id)| *id)
            .collect()
    }

    fn fetch(&self, ids: impl IntoIterator<Item = u64>) -> Vec<Operation> {
        ids.into_iter()
            .filter_map(|id| self.operations.get(&id).cloned())
            .collect()
    }
}

fn lock_key(env: &str, app: Option<&str>) -> String {
    match app {
        Some(a) => format!("{env}/{a}"),
        None => env.to_string(),
    }
}

/// A journal that lives as long as the process.
pub struct Memory {
    inner: Mutex<Inner>,
    /// When notes are written (what retention compares against).
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("inner", &*self.lock())
            .finish()
    }
}

impl Default for Memory {
    fn default() -> Self {
        Memory::new()
    }
}

impl Memory {
    pub fn new() -> Self {
        Memory::with_clock(Arc::new(SystemClock))
    }

    /// A journal whose notes are stamped by `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Memory {
            inner: Mutex::new(Inner::default()),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is made whole under the lock; a panic elsewhere
        // leaves nothing half written.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Journal for Memory {
    fn put(&self, op: &Operation) -> Result<()> {
        self.lock().put(op);
        Ok(())
    }

    fn create(&self, op: &mut Operation) -> Result<()> {
        let mut inner = self.lock();
        inner.last_id += 1;
        op.id = inner.last_id;
        inner.put(op);
        Ok(())
    }

    fn put_all(&self, ops: &[&Operation]) -> Result<()> {
        let mut inner = self.lock();
        for op in ops {
            inner.put(op);
        }
        Ok(())
    }

    fn get(&self, id: u64) -> Result<Option<Operation>> {
        Ok(self.lock().operations.get(&id).cloned())
    }

    fn list(&self) -> Result<Vec<Operation>> {
        Ok(self.lock().operations.values().cloned().collect())
    }

    fn unfinished(&self) -> Result<Vec<Operation>> {
        let inner = self.lock();
        Ok(inner.fetch(inner.unfinished.iter().copied()))
    }

    fn of_app(&self, env: &str, app: &str) -> Result<Vec<Operation>> {
        let inner = self.lock();
        Ok(inner.fetch(inner.app_ids(env, app)))
    }

    fn latest(&self, env: &str, app: &str) -> Result<Option<Operation>> {
        let inner = self.lock();
        Ok(inner.fetch(inner.app_ids(env, app).pop()).pop())
    }

    fn of_version(&self, env: &str, app: &str, version: &str) -> Result<Vec<Operation>> {
        let inner = self.lock();
        let (env, app, key) = (env.to_string(), app.to_string(), version_key(version));
        let from = (env.clone(), app.clone(), key.to_string(), 0);
        let ids = inner
            .by_version
            .range(from..=(env, app, key.to_string(), u64::MAX))
            .map(|(_, _, _, id)| *id);
        Ok(inner.fetch(ids))
    }

    fn locks(&self) -> Result<Vec<Lock>> {
        Ok(self.lock().locks.values().cloned().collect())
    }

    fn put_lock(&self, lock: &Lock) -> Result<()> {
        let key = lock_key(&lock.env, lock.app.as_deref());
        self.lock().locks.insert(key, lock.clone());
        Ok(())
    }

    fn remove_lock(&self, env: &str, app: Option<&str>) -> Result<Option<Lock>> {
        Ok(self.lock().locks.remove(&lock_key(env, app)))
    }

    fn first_seen(&self, key: &str, now: i64) -> Result<bool> {
        let mut inner = self.lock();
        if inner.dedupe.contains_key(key) {
            return Ok(false);
        }
        inner.dedupe.insert(key.to_string(), now);
        Ok(true)
    }

    fn remember(&self, key: &str, value: &str) -> Result<()> {
        let now = self.clock.now();
        let note = (value.to_string(), now);
        self.lock().notes.insert(key.to_string(), note);
        Ok(())
    }

    fn recall(&self, key: &str) -> Result<Option<String>> {
        Ok(self.lock().notes.get(key).map(|(v, _)| v.clone()))
    }

    fn prune(&self, before: i64) -> Result<Pruned> {
        let mut inner = self.lock();
        let oldest = inner
            .unfinished
            .iter()
            .filter_map(|id| inner.operations.get(id))
            .map(|op| op.created_at)
            .min()
            .unwrap_or(i64::MAX);
        let notes_before = before.min(oldest);
        let (dedupe, notes) = (inner.dedupe.len(), inner.notes.len());
        inner.dedupe.retain(|_, seen| *seen >= before);
        inner
            .notes
            .retain(|_, (_, written)| *written >= notes_before);
        Ok(Pruned {
            dedupe_keys: (dedupe - inner.dedupe.len()) as u64,
            notes: (notes - inner.notes.len()) as u64,
        })
    }
}
