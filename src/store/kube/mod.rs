//! The journal in the Kubernetes API (`HOIST_STORE=kubernetes`), shared by
//! every replica of `hoist serve`: operations, locks, dedupe keys and notes
//! as custom resources of group `hoist.dev` (`deploy/crds/`) in hoist's
//! namespace. Safety across replicas comes from compare-and-swap: this
//! process remembers the `resourceVersion` it last read or wrote of each
//! object, and every update is sent with it, so a write based on a stale
//! read is refused by the API (409) and answered as
//! [`JournalError::Conflict`] (nothing written; read again, decide again).
//! Nothing is ever overwritten blindly: writing an object this process has
//! not read creates it, and that fails too when it exists. A list notes a
//! version only where none is known (`api::Objects::listed`): changes are
//! decided on a `get`, and a list must not move this process past a write
//! of another replica that a decision in flight has not seen.
//!
//! - `objects`: the kinds, their specs, the names and labels (ids and hex only);
//! - `codec`: records as objects and back, size limits, forgery checks;
//! - `api`: the bounded calls and the remembered versions;
//! - `operations`: ids, operations and the indexed queries (label selectors);
//! - `keys`: locks, dedupe keys, notes and retention;
//! - `seal`: every object sealed with the journal key (`HOIST_JOURNAL_KEY`),
//!   so only hoist writes records it will act on (and what a seal cannot
//!   stop: an older sealed version of the same object put back).
//!
//! Limits of the API, said plainly: there is no transaction across objects,
//! so [`Journal::put_all`] writes each operation in turn (each one a
//! compare-and-swap; an error stops it with the earlier ones written), and
//! [`Journal::prune`] deletes objects one by one; an object is at most
//! [`objects::MAX_OBJECT`] (1 MiB) as sent, a larger record is an
//! [`JournalError::Encode`] error. A call whose answer is lost (a timeout)
//! may have been applied: a `put` then finds its remembered version stale
//! (a `Conflict`: read again, and the write is there), a `create` may have
//! made an operation the caller was told failed (its id is not handed out
//! twice: the next create is told 409 and moves on).

mod api;
mod codec;
mod keys;
pub mod objects;
mod operations;
pub mod seal;
#[cfg(test)]
mod tests;

use crate::engine::ports::{Clock, Journal, JournalError, Pruned};
use crate::engine::{Lock, Operation};
use crate::ha::Kube;
use std::sync::{Arc, Mutex};

type Result<T, E = JournalError> = std::result::Result<T, E>;

/// The journal kept as objects in the Kubernetes API.
pub struct KubeJournal {
    objects: api::Objects,
    /// Seals what is written and checks what is read.
    sealer: seal::Sealer,
    /// Stamps notes (what retention compares against).
    clock: Arc<dyn Clock>,
    /// The highest operation id this process has seen, once learned by
    /// listing the operations (the first `create`).
    highest: Mutex<Option<u64>>,
    namespace: String,
}

impl std::fmt::Debug for KubeJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeJournal")
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl KubeJournal {
    /// The journal in `kube`'s namespace, notes stamped by `clock`, every
    /// object sealed with `key` (the journal key, at least
    /// [`seal::MIN_KEY`] bytes, shared by every replica; a shorter one is
    /// refused). Makes no call yet: the first operation that needs the API
    /// finds out whether it answers (and whether the CRDs are installed).
    pub fn new(kube: Arc<Kube>, clock: Arc<dyn Clock>, key: &[u8]) -> Result<KubeJournal> {
        if key.len() < seal::MIN_KEY {
            return Err(JournalError::Storage(
                format!(
                    "the journal key is {} bytes; at least {} are needed to seal records",
                    key.len(),
                    seal::MIN_KEY
                )
                .into(),
            ));
        }
        let namespace = kube.namespace().to_string();
        Ok(KubeJournal {
            sealer: seal::Sealer::new(key),
            objects: api::Objects::new(kube),
            clock,
            highest: Mutex::new(None),
            namespace,
        })
    }
}

impl Journal for KubeJournal {
    fn put(&self, op: &Operation) -> Result<()> {
        self.put_operation(op)
    }

    fn create(&self, op: &mut Operation) -> Result<()> {
        self.create_operation(op)
    }

    /// Each operation in turn, each a compare-and-swap: the Kubernetes API
    /// has no transaction across objects, so an error (a `Conflict` on the
    /// second) leaves the ones before it written.
    fn put_all(&self, ops: &[&Operation]) -> Result<()> {
        ops.iter().try_for_each(|op| self.put_operation(op))
    }

    fn get(&self, id: u64) -> Result<Option<Operation>> {
        self.get_operation(id)
    }

    fn list(&self) -> Result<Vec<Operation>> {
        self.query(None, |_| true)
    }

    fn unfinished(&self) -> Result<Vec<Operation>> {
        self.query(
            Some(codec::unfinished_selector()),
            crate::store::index::unfinished,
        )
    }

    fn of_app(&self, env: &str, app: &str) -> Result<Vec<Operation>> {
        self.query(Some(codec::app_selector(env, app)), |op| {
            crate::store::index::touches(op, env, app)
        })
    }

    fn latest(&self, env: &str, app: &str) -> Result<Option<Operation>> {
        Ok(self.of_app(env, app)?.pop())
    }

    fn of_version(&self, env: &str, app: &str, version: &str) -> Result<Vec<Operation>> {
        self.query(Some(codec::app_selector(env, app)), |op| {
            crate::store::index::mentions(op, env, app, version)
        })
    }

    fn locks(&self) -> Result<Vec<Lock>> {
        self.all_locks()
    }

    fn put_lock(&self, lock: &Lock) -> Result<()> {
        self.write_lock(lock)
    }

    fn remove_lock(&self, env: &str, app: Option<&str>) -> Result<Option<Lock>> {
        self.release_lock(env, app)
    }

    fn first_seen(&self, key: &str, now: i64) -> Result<bool> {
        self.see(key, now)
    }

    fn remember(&self, key: &str, value: &str) -> Result<()> {
        self.note(key, value)
    }

    fn recall(&self, key: &str) -> Result<Option<String>> {
        self.read_note(key)
    }

    /// Dedupe keys and notes are deleted one by one, each only if it did
    /// not change since it was listed (a note rewritten meanwhile stays).
    fn prune(&self, before: i64) -> Result<Pruned> {
        self.drop_old(before)
    }
}
