//! Leadership: with more than one replica, one of them (the leader, elected
//! outside the engine by a Lease) does the singleton work: following
//! rollouts, waiting on pull requests, drift and approval expiry. Every
//! replica still serves requests. A replica starts on standby
//! ([`Engine::stand_by`]); becoming the leader ([`Engine::lead`]) takes
//! over, at once, every operation the runner carries (pushed or merged and
//! followed, a pull request waited on); losing it ([`Engine::step_down`], or
//! the lease check [`Engine::check_lease_with`] saying no, which needs no
//! thread to run) lets go of everything the runner held, at once.
//!
//! An operation in a state a request only passes through (approved,
//! committed, a full quorum not yet acted on) may be in the hands of a
//! request on another replica right now, so it is carried on only once it
//! has not moved for [`LEFT_BEHIND`] as this replica saw it (its own
//! monotonic clock, from when it first saw that state: no two machines'
//! clocks compared). While leading, the chores adopt ([`Engine::adopt`])
//! every couple of seconds what other replicas handed on. Nothing is taken
//! that a request of this process holds, and one takeover runs at a time.
//! One process alone (the embedded journal) always leads and adopts nothing:
//! it resumes everything once, at start.

use super::{Engine, Operation, State};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an operation in a passing state must sit unmoved, as the leader
/// saw it, before it is taken as left behind by a replica that stopped.
pub(super) const LEFT_BEHIND: Duration = Duration::from_secs(120);

/// What the engine keeps about leadership.
#[derive(Default)]
pub(super) struct Lead {
    /// False while another replica leads.
    leading: AtomicBool,
    /// Set once [`Engine::stand_by`] is called: one of several replicas.
    replicas: AtomicBool,
    /// Whether the Lease is still held, asked before each piece of work
    /// (set by `serve`; absent: the flag alone decides).
    lease: OnceLock<Arc<dyn Fn() -> bool + Send + Sync>>,
    /// Operations a request of this process is carrying now.
    carried: Mutex<HashSet<u64>>,
    /// One takeover or adoption round at a time.
    adopting: Mutex<()>,
    /// Passing-state operations as first seen: (state, transitions, since).
    seen: Mutex<HashMap<u64, (String, usize, Instant)>>,
}

impl Lead {
    pub(super) fn new() -> Lead {
        Lead {
            leading: AtomicBool::new(true),
            ..Lead::default()
        }
    }
}

/// Operation `id` is carried by a request of this process until dropped.
pub(super) struct Carried<'e> {
    lead: &'e Lead,
    id: u64,
}

impl Drop for Carried<'_> {
    fn drop(&mut self) {
        lock(&self.lead.carried).remove(&self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Engine {
    /// Does this replica do the singleton work now? False as soon as the
    /// Lease is lost, whatever thread is busy.
    pub fn leads(&self) -> bool {
        self.lead.leading.load(Ordering::Acquire) && self.lead.lease.get().is_none_or(|held| held())
    }

    /// Ask `held` before each piece of singleton work: leading needs both
    /// [`Engine::lead`] and `held()` (the Lease is still this replica's).
    pub fn check_lease_with(&self, held: Arc<dyn Fn() -> bool + Send + Sync>) {
        let _ = self.lead.lease.set(held);
    }

    /// Start as a replica that does not lead (before any work): requests are
    /// served, the singleton work waits for [`Engine::lead`].
    pub fn stand_by(&self) {
        self.lead.replicas.store(true, Ordering::Release);
        self.lead.leading.store(false, Ordering::Release);
        for mut work in self.runner.stand_by(true) {
            self.unwatch(&mut work);
        }
    }

    /// This replica became the leader: take over what the runner carries
    /// (and what was left behind, see [`Engine::adopt`]). What it said.
    pub fn lead(&self) -> Vec<super::Reply> {
        self.runner.stand_by(false);
        self.lead.leading.store(true, Ordering::Release);
        tracing::info!(target: "hoist::lease", "leading: taking over unfinished operations");
        self.adopt()
    }

    /// This replica is no longer the leader: stop the singleton work now.
    pub fn step_down(&self) {
        tracing::info!(target: "hoist::lease", "not leading: letting go of followed work");
        self.stand_by();
    }

    /// A request of this process carries operation `id` until the guard drops.
    pub(super) fn carrying(&self, id: u64) -> Carried<'_> {
        lock(&self.lead.carried).insert(id);
        Carried {
            lead: &self.lead,
            id,
        }
    }

    /// Take over what other replicas handed on: pushed or merged operations
    /// nobody here follows, pull requests nobody here waits on, and
    /// operations left behind mid-request. Only with replicas, only while
    /// leading, one round at a time. What resuming said.
    pub fn adopt(&self) -> Vec<super::Reply> {
        if !self.lead.replicas.load(Ordering::Acquire) || !self.leads() {
            return Vec::new();
        }
        let Ok(_one_round) = self.lead.adopting.try_lock() else {
            return Vec::new();
        };
        let ops = match self.journal.unfinished() {
            Ok(ops) => ops,
            Err(e) => {
                tracing::warn!(error = %e.report(), "adopting: reading the journal");
                return Vec::new();
            }
        };
        let now = Instant::now();
        let mut said = Vec::new();
        let mut passing = HashSet::new();
        for op in ops {
            if !self.leads() {
                break;
            }
            if self.runner.holds(op.id) || lock(&self.lead.carried).contains(&op.id) {
                continue;
            }
            let take = if self.runner_owns(&op) {
                true
            } else if passing_state(&op) {
                passing.insert(op.id);
                self.unmoved_since(&op, now) >= LEFT_BEHIND
            } else {
                false
            };
            if take {
                tracing::info!(op = op.id, state = op.state.label(), "adopting");
                said.extend(self.resume_op(op));
            }
        }
        // Forget what is no longer passing (moved on, or ended).
        lock(&self.lead.seen).retain(|id, _| passing.contains(id));
        said
    }

    /// How long `op` has been in its state and step as this replica saw it.
    fn unmoved_since(&self, op: &Operation, now: Instant) -> Duration {
        let mut seen = lock(&self.lead.seen);
        let here = (op.state.label().to_string(), op.transitions.len());
        let entry = seen.entry(op.id).or_insert((here.0.clone(), here.1, now));
        if (entry.0.as_str(), entry.1) != (here.0.as_str(), here.1) {
            *entry = (here.0, here.1, now);
        }
        now.saturating_duration_since(entry.2)
    }

    /// Work the runner carries once its request was answered.
    fn runner_owns(&self, op: &Operation) -> bool {
        self.refollows(op)
            || (op.pr.is_some()
                && self.forge().is_some()
                && matches!(op.state, State::Committed { .. } | State::PrOpened { .. }))
    }

    /// Resume `listed` (as a list answered it) only if no request of this
    /// process holds it and the journal still holds it as listed: the copy
    /// carried on is read again under its slot.
    pub(super) fn resume_listed(&self, listed: &Operation) -> Option<Operation> {
        if lock(&self.lead.carried).contains(&listed.id) {
            return None;
        }
        let fresh = self.journal.get(listed.id).ok()??;
        (fresh.state == listed.state && fresh.transitions.len() == listed.transitions.len())
            .then_some(fresh)
    }
}

/// A state a request only passes through (or rests in for a moment).
fn passing_state(op: &Operation) -> bool {
    match op.state {
        State::Approved => true,
        State::Committed { .. } => op.pr.is_none(),
        State::Requested => true,
        // A full quorum not yet acted on (its voter stopped in between).
        State::AwaitingApproval { needed, .. } => op.approvers.len() >= needed as usize,
        _ => false,
    }
}
