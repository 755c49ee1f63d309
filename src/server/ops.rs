//! What `/metrics` says about operations, observed from outside the engine:
//! `hoist serve` hands the engine its ports wrapped in [`Observed`], so the
//! engine names no metrics type and every figure comes from what it already
//! does through its ports.
//!
//! - the **journal** sees every transition, once and durably (the engine
//!   journals before it announces): operations by the state they reached,
//!   the command-to-push, push-to-healthy and approval-wait histograms, and
//!   which operations are being written right now (what a shutdown waits for);
//! - the **config repo** sees every push the remote turns down because the
//!   branch moved (each is re-planned and pushed again);
//! - the **cluster** sees every rollout being followed;
//! - the **forge** (GitHub) sees its own failures, counted like the others;
//! - every port's failures are counted by their stable kind.
//!
//! Times are the journal's, in whole seconds.

use crate::engine::Operation;
use crate::metrics::{Counters, Histograms, SECONDS_BUCKETS, family, gauge, label_value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The journal labels (`State::name`) that end an operation.
mod observed;
pub use observed::Observed;

const FINAL: &[&str] = &[
    "refused",
    "expired",
    "rejected",
    "cancelled",
    "healthy",
    "degraded",
    "failed",
    "timed-out",
    "done",
];

/// Operation figures, filled by the [`Observed`] ports.
#[derive(Debug)]
pub struct Ops {
    /// (verb, env, state reached): `pushed` and every final state.
    reached: Counters<(String, String, &'static str)>,
    command_to_push: Histograms<String>,
    push_to_healthy: Histograms<String>,
    approval_wait: Histograms<String>,
    push_retries: AtomicU64,
    following: AtomicI64,
    /// Failures at the engine's ports, by kind (`repo_git`, `journal_storage`, ...).
    errors: Counters<&'static str>,
    /// Transitions already journaled, per unfinished operation seen here.
    seen: Mutex<HashMap<u64, usize>>,
    /// Operations approved or committed but not yet pushed (or ended).
    writing: Mutex<HashSet<u64>>,
}

impl Default for Ops {
    fn default() -> Self {
        Ops {
            reached: Counters::default(),
            command_to_push: Histograms::new(SECONDS_BUCKETS),
            push_to_healthy: Histograms::new(SECONDS_BUCKETS),
            approval_wait: Histograms::new(SECONDS_BUCKETS),
            push_retries: AtomicU64::new(0),
            following: AtomicI64::new(0),
            errors: Counters::default(),
            seen: Mutex::new(HashMap::new()),
            writing: Mutex::new(HashSet::new()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ops {
    /// Operations being written (approved, committed, not yet pushed): a
    /// shutdown lets these reach the remote before it exits.
    pub fn writing(&self) -> usize {
        lock(&self.writing).len()
    }

    /// Rollouts being followed now.
    pub fn following(&self) -> i64 {
        self.following.load(Ordering::Relaxed)
    }

    /// `op` was journaled; its transitions from index `before` on are new.
    fn journaled(&self, op: &Operation, before: usize) {
        let new = op.transitions.get(before..).unwrap_or_default();
        for (at, label) in new {
            let env = op.env.clone();
            match label.as_str() {
                "pushed" => {
                    self.count(op, "pushed");
                    let waited = (*at - op.created_at).max(0);
                    self.command_to_push.observe(env, waited as f64);
                }
                "approved" => {
                    if let Some(asked) = op.entered("awaiting-approval") {
                        self.approval_wait.observe(env, (*at - asked).max(0) as f64);
                    }
                }
                "healthy" => {
                    if let Some(pushed) = op.entered("pushed") {
                        self.push_to_healthy
                            .observe(env, (*at - pushed).max(0) as f64);
                    }
                }
                _ => {}
            }
            if let Some(state) = FINAL.iter().find(|s| **s == label) {
                self.count(op, state);
            }
        }
        let last = op.transitions.last().map(|(_, l)| l.as_str());
        let mut writing = lock(&self.writing);
        if matches!(last, Some("approved" | "committed")) {
            writing.insert(op.id);
        } else {
            writing.remove(&op.id);
        }
        drop(writing);
        let mut seen = lock(&self.seen);
        if op.state.is_terminal() {
            seen.remove(&op.id);
        } else {
            seen.insert(op.id, op.transitions.len());
        }
    }

    fn count(&self, op: &Operation, state: &'static str) {
        self.reached.inc((op.verb.clone(), op.env.clone(), state));
    }

    /// Append every operation family in Prometheus text form.
    pub fn render(&self, out: &mut String) {
        let reached = self.reached.snapshot().into_iter();
        family(
            out,
            "hoist_operations_total",
            "Operations by verb, environment and the state they reached: pushed (the commit is \
             on the remote) and each final state (healthy, degraded, failed, timed-out, refused, \
             rejected, expired, cancelled, done = already at that version).",
            reached.map(|((verb, env, state), n)| {
                let (verb, env) = (label_value(&verb), label_value(&env));
                (
                    format!("verb=\"{verb}\",env=\"{env}\",state=\"{state}\""),
                    n,
                )
            }),
        );
        let env = |e: &String| format!("env=\"{}\"", label_value(e));
        self.command_to_push.render(
            out,
            "hoist_command_to_push_seconds",
            "From the request to its commit on the remote (approvals included).",
            env,
        );
        self.push_to_healthy.render(
            out,
            "hoist_push_to_healthy_seconds",
            "From the push to the rollout being healthy.",
            env,
        );
        self.approval_wait.render(
            out,
            "hoist_approval_wait_seconds",
            "From asking for approvals to having them.",
            env,
        );
        let retries = self.push_retries.load(Ordering::Relaxed);
        family(
            out,
            "hoist_push_retries_total",
            "Pushes the remote turned down because the branch had moved; each is re-planned and \
             pushed again until HOIST_PUSH_ATTEMPTS are used.",
            [(String::new(), retries)],
        );
        family(
            out,
            "hoist_errors_total",
            "Failures at the engine's ports by kind: repo_git, repo_target, repo_refused, \
             repo_signing, journal_*, cluster_missing, cluster_config, cluster_api, \
             forge_rate_limited, forge_missing, forge_refused, forge_api.",
            self.errors
                .snapshot()
                .into_iter()
                .map(|(kind, n)| (format!("kind=\"{kind}\""), n)),
        );
        gauge(
            out,
            "hoist_rollouts_in_flight",
            "Rollouts being followed now.",
            "",
            self.following(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::State;

    fn op(id: u64, transitions: &[(i64, &str)], state: State) -> Operation {
        let json = serde_json::json!({
            "id": id, "verb": "deploy", "summary": "deploy api v2 to prod", "actor": "console:a",
            "channel": null, "chat": "cli", "env": "prod", "reason": null, "ticket": null,
            "created_at": 100, "state": state, "branch": "main", "base": null, "changes": [],
            "commit": null, "needed": 1, "approvers": [], "expires_at": null, "break_glass": null,
            "transitions": transitions,
        });
        serde_json::from_value(json).expect("an operation in the journal's shape")
    }

    #[test]
    fn each_transition_is_observed_once_and_writes_in_flight_are_known() {
        let ops = Ops::default();
        let waiting = op(
            7,
            &[(100, "requested"), (100, "awaiting-approval")],
            State::AwaitingApproval { needed: 1, have: 0 },
        );
        ops.journaled(&waiting, 0);
        let mut t = waiting.transitions.clone();
        t.extend([
            (160, "approved".to_string()),
            (161, "committed".to_string()),
        ]);
        let committed = Operation {
            transitions: t.clone(),
            state: State::Committed { sha: "a".into() },
            ..waiting
        };
        ops.journaled(&committed, 2);
        assert_eq!(ops.writing(), 1, "committed, not pushed: being written");
        t.push((163, "pushed".to_string()));
        t.push((200, "healthy".to_string()));
        let healthy = Operation {
            transitions: t,
            state: State::Healthy,
            ..committed
        };
        // The same write seen twice (a retried put) counts once: `before` moves on.
        ops.journaled(&healthy, 4);
        ops.journaled(&healthy, healthy.transitions.len());
        assert_eq!(ops.writing(), 0);
        let mut out = String::new();
        ops.render(&mut out);
        for row in [
            "hoist_operations_total{verb=\"deploy\",env=\"prod\",state=\"pushed\"} 1\n",
            "hoist_operations_total{verb=\"deploy\",env=\"prod\",state=\"healthy\"} 1\n",
            "hoist_command_to_push_seconds_bucket{env=\"prod\",le=\"60\"} 0\n",
            "hoist_command_to_push_seconds_bucket{env=\"prod\",le=\"120\"} 1\n",
            "hoist_command_to_push_seconds_sum{env=\"prod\"} 63\n",
            "hoist_push_to_healthy_seconds_sum{env=\"prod\"} 37\n",
            "hoist_approval_wait_seconds_sum{env=\"prod\"} 60\n",
            "hoist_push_retries_total 0\n",
            "hoist_rollouts_in_flight 0\n",
        ] {
            assert!(out.contains(row), "{row} missing from\n{out}");
        }
        assert!(lock(&ops.seen).is_empty(), "ended operations are forgotten");
    }
}
