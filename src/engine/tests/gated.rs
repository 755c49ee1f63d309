//! The in-memory journal behind a gate: every operation write (`put`,
//! `put_all`) is first shown to a test's rule, which may refuse it with the
//! error a real journal would give (a full disk, a compare-and-swap lost to
//! another replica). Everything else goes straight through.

use super::super::ports::{Journal, JournalError, Pruned};
use super::super::{Lock, Operation};

/// A test's rule: the journal as it is, the operations about to be written.
pub type Rule =
    dyn Fn(&crate::store::Memory, &[&Operation]) -> Result<(), JournalError> + Send + Sync;

pub struct Gated {
    pub inner: crate::store::Memory,
    rule: Box<Rule>,
}

impl Gated {
    pub fn new(inner: crate::store::Memory, rule: Box<Rule>) -> Gated {
        Gated { inner, rule }
    }
}

impl Journal for Gated {
    fn put(&self, op: &Operation) -> Result<(), JournalError> {
        (self.rule)(&self.inner, &[op])?;
        self.inner.put(op)
    }
    fn create(&self, op: &mut Operation) -> Result<(), JournalError> {
        self.inner.create(op)
    }
    fn put_all(&self, ops: &[&Operation]) -> Result<(), JournalError> {
        (self.rule)(&self.inner, ops)?;
        self.inner.put_all(ops)
    }
    fn get(&self, id: u64) -> Result<Option<Operation>, JournalError> {
        self.inner.get(id)
    }
    fn list(&self) -> Result<Vec<Operation>, JournalError> {
        self.inner.list()
    }
    fn unfinished(&self) -> Result<Vec<Operation>, JournalError> {
        self.inner.unfinished()
    }
    fn of_app(&self, env: &str, app: &str) -> Result<Vec<Operation>, JournalError> {
        self.inner.of_app(env, app)
    }
    fn latest(&self, env: &str, app: &str) -> Result<Option<Operation>, JournalError> {
        self.inner.latest(env, app)
    }
    fn of_version(&self, env: &str, app: &str, v: &str) -> Result<Vec<Operation>, JournalError> {
        self.inner.of_version(env, app, v)
    }
    fn locks(&self) -> Result<Vec<Lock>, JournalError> {
        self.inner.locks()
    }
    fn put_lock(&self, lock: &Lock) -> Result<(), JournalError> {
        self.inner.put_lock(lock)
    }
    fn remove_lock(&self, env: &str, app: Option<&str>) -> Result<Option<Lock>, JournalError> {
        self.inner.remove_lock(env, app)
    }
    fn first_seen(&self, key: &str, now: i64) -> Result<bool, JournalError> {
        self.inner.first_seen(key, now)
    }
    fn remember(&self, key: &str, value: &str) -> Result<(), JournalError> {
        self.inner.remember(key, value)
    }
    fn recall(&self, key: &str) -> Result<Option<String>, JournalError> {
        self.inner.recall(key)
    }
    fn prune(&self, before: i64) -> Result<Pruned, JournalError> {
        self.inner.prune(before)
    }
}
