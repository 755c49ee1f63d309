//! What the engine keeps in memory while it waits on pull requests: the
//! runner's hold on one ([`PrWait`]: the PR it asked the forge to wake it
//! for, failed looks in a row for the backoff), what was said once in each
//! thread and the ends (deny, cancel, expiry) whose close is to be asked
//! again ([`Said`]), and what one look decided ([`Next`]).

use super::ending;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

/// The longest wait between looks after the forge or git failed.
const RETRY_CAP: Duration = Duration::from_secs(600);

/// The runner's hold on an operation whose pull request is being waited on.
#[derive(Debug)]
pub(in crate::engine) struct PrWait {
    pub(in crate::engine) op: u64,
    /// The PR number the forge was asked to wake for (0: none yet).
    pub(in crate::engine::pr) watched: u64,
    /// Looks that failed in a row (the next waits twice as long).
    pub(in crate::engine::pr) failures: u32,
}

impl PrWait {
    pub(in crate::engine) fn new(op: u64) -> PrWait {
        PrWait {
            op,
            watched: 0,
            failures: 0,
        }
    }

    /// One look outside the runner (a vote's) at PR `number`, whose wake
    /// is the runner's: it is neither set nor cleared.
    pub(in crate::engine) fn looking(op: u64, number: u64) -> PrWait {
        PrWait {
            op,
            watched: number,
            failures: 0,
        }
    }

    /// After a failed look: `first` doubled per failure in a row, at most
    /// [`RETRY_CAP`].
    pub(in crate::engine::pr) fn backoff(&mut self, first: Duration) -> Duration {
        let n = self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        first.saturating_mul(1 << n).min(RETRY_CAP)
    }
}

/// What was said in a PR operation's thread, said once while it waits
/// (the runner's looks and a vote's look share it), and the ends (deny,
/// cancel, expiry) whose close failed, asked again at the next look.
#[derive(Debug, Default)]
pub(in crate::engine) struct Said(
    Mutex<HashMap<u64, HashSet<&'static str>>>,
    Mutex<HashMap<u64, ending::Pending>>,
);

impl Said {
    pub(in crate::engine::pr) fn map(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, HashSet<&'static str>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(in crate::engine::pr) fn ends(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, ending::Pending>> {
        self.1.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Operation `id` is to end as `pending` once its PR is closed.
    pub(in crate::engine::pr) fn pend_end(&self, id: u64, pending: ending::Pending) {
        self.ends().insert(id, pending);
    }

    /// Operation `id` ended (or was found merged): nothing pending.
    pub(in crate::engine::pr) fn settle_end(&self, id: u64) {
        self.ends().remove(&id);
    }

    /// The end pending for operation `id`, if any.
    pub(in crate::engine::pr) fn pending_end(&self, id: u64) -> Option<ending::Pending> {
        self.ends().get(&id).cloned()
    }

    /// Is an end (deny, cancel, expiry) waiting for operation `id`'s PR to close?
    pub(in crate::engine) fn ending(&self, id: u64) -> bool {
        self.ends().contains_key(&id)
    }

    /// True the first time `what` is said about operation `id`.
    pub(in crate::engine::pr) fn once(&self, id: u64, what: &'static str) -> bool {
        self.map().entry(id).or_default().insert(what)
    }

    /// The condition ended: said again if it comes back.
    pub(in crate::engine::pr) fn unsay(&self, id: u64, what: &'static str) {
        if let Some(said) = self.map().get_mut(&id) {
            said.remove(what);
        }
    }

    /// The wait is over.
    pub(in crate::engine::pr) fn end(&self, id: u64) {
        self.map().remove(&id);
        self.settle_end(id);
    }
}

/// What the runner does after one look.
#[derive(Debug)]
pub(in crate::engine) enum Next {
    /// Look again after this long at the latest.
    Wait(Duration),
    /// The PR is merged: follow the rollout.
    Follow,
    /// The operation ended.
    Done,
}
