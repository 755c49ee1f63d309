//! Leadership: with more than one replica, one of them (the leader, elected
//! outside the engine by a Lease) does the singleton work: following
//! rollouts, waiting on pull requests, drift and approval expiry. Every
//! replica still serves requests. A replica starts on standby
//! ([`Engine::stand_by`]); becoming the leader ([`Engine::lead`]) resumes
//! every unfinished operation from the shared journal; losing it
//! ([`Engine::step_down`]) lets go of everything the runner held, at once,
//! so two replicas never follow the same operation for longer than a step.
//! While leading, the chores adopt ([`Engine::adopt`]) what other replicas
//! pushed or opened as a pull request since: they answered the request and
//! leave the rest to the leader. One process alone always leads.

use super::{Engine, Operation, State};
use std::sync::atomic::Ordering;

/// How long an operation may sit, unmoved, in a state a request passes
/// through (approved, committed) before the leader takes it as left behind
/// by a replica that stopped, and carries it on.
const LEFT_BEHIND_SECS: i64 = 120;

impl Engine {
    /// Does this replica do the singleton work now?
    pub fn leads(&self) -> bool {
        self.leading.load(Ordering::Acquire)
    }

    /// Start as a replica that does not lead (before any work): requests are
    /// served, the singleton work waits for [`Engine::lead`].
    pub fn stand_by(&self) {
        self.leading.store(false, Ordering::Release);
        for mut work in self.runner.stand_by(true) {
            self.unwatch(&mut work);
        }
    }

    /// This replica became the leader: carry on every unfinished operation
    /// the journal holds (as a restart does). Returns what resuming said.
    pub fn lead(&self) -> Vec<super::Reply> {
        self.runner.stand_by(false);
        self.leading.store(true, Ordering::Release);
        tracing::info!(target: "hoist::lease", "leading: resuming unfinished operations");
        self.resume()
    }

    /// This replica is no longer the leader: stop the singleton work now.
    pub fn step_down(&self) {
        tracing::info!(target: "hoist::lease", "not leading: letting go of followed work");
        self.stand_by();
    }

    /// Take over what other replicas handed on: pushed or merged operations
    /// nobody here follows, pull requests nobody here waits on, and
    /// operations left behind mid-request by a replica that stopped. Only
    /// while leading; the runner refuses what it already holds.
    pub fn adopt(&self) {
        if !self.leads() {
            return;
        }
        let ops = match self.journal.unfinished() {
            Ok(ops) => ops,
            Err(e) => {
                tracing::warn!(error = %e.report(), "adopting: reading the journal");
                return;
            }
        };
        let now = self.clock.now();
        for op in ops {
            if !self.leads() {
                return;
            }
            if self.runner.holds(op.id) {
                continue;
            }
            if self.runner_owns(&op) || left_behind(&op, now) {
                tracing::info!(op = op.id, state = op.state.label(), "adopting");
                if let Some(reply) = self.resume_op(op) {
                    tracing::info!(op = reply.operation, "{}", reply.message);
                }
            }
        }
    }

    /// Work the runner carries once its request was answered.
    fn runner_owns(&self, op: &Operation) -> bool {
        self.refollows(op)
            || (op.pr.is_some()
                && self.forge().is_some()
                && matches!(op.state, State::Committed { .. } | State::PrOpened { .. }))
    }
}

/// In a state a request only passes through, and unmoved for long.
fn left_behind(op: &Operation, now: i64) -> bool {
    let passing = match op.state {
        State::Approved => true,
        State::Committed { .. } => op.pr.is_none(),
        State::Requested => op.needed == 0,
        _ => false,
    };
    let since = op.transitions.last().map_or(op.created_at, |(at, _)| *at);
    passing && now.saturating_sub(since) >= LEFT_BEHIND_SECS
}
