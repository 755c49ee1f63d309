//! Chores: what a running bot does on its own, without a request. One thread
//! (started by `serve`, never by `exec`) looks, every tick, for drift on the
//! objects the policy names and expires requests whose approvals did not
//! come in time (a pull request's too: it is closed); about once a minute it fetches the default branch, so a
//! `hoist.yaml` change (what is watched for drift, the alert channels, the
//! platform groups, the rules) reaches a running bot without a restart.
//! With replicas, drift and expiry are the leader's alone, and the leader
//! adopts, every couple of seconds, what other replicas handed on ([`super::lead`]).

use super::{Engine, Fail, State};
use crate::policy::Policy;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the default branch is fetched for a changed `hoist.yaml`.
const POLICY_EVERY: Duration = Duration::from_secs(60);

/// How often waiting requests are looked at for expiry (approvals expire
/// in minutes or hours: ten seconds late is on time).
const EXPIRE_EVERY: Duration = Duration::from_secs(10);

/// How often the leader looks for work other replicas handed on (one
/// indexed read of the unfinished operations).
const ADOPT_EVERY: Duration = Duration::from_secs(2);

/// What the chores keep between rounds.
#[derive(Debug, Default)]
pub(super) struct Chores {
    pub(super) drift: super::drift::Tracker,
    /// The policy last read, and the tip it was read at.
    policy: Option<(String, Arc<Policy>)>,
    /// Why the policy could not be read, as last said.
    unreadable: Option<String>,
    /// When expiry was last looked at.
    expired: Option<Instant>,
    /// When the leader last adopted what other replicas handed on.
    adopted: Option<Instant>,
}

impl Engine {
    /// Start the chores thread, one look every `tick`. It ends with the
    /// engine (or when following stops).
    pub fn start_chores(&self, tick: Duration) -> std::io::Result<()> {
        let me = self.me.clone();
        let tick = tick.max(Duration::from_millis(10));
        std::thread::Builder::new()
            .name("hoist-chores".into())
            .spawn(move || {
                let mut fetched: Option<Instant> = None;
                loop {
                    std::thread::sleep(tick);
                    let Some(engine) = me.upgrade() else { return };
                    if engine.runner.stopped() {
                        return;
                    }
                    let fetch = fetched.is_none_or(|t| t.elapsed() >= POLICY_EVERY);
                    if fetch {
                        fetched = Some(Instant::now());
                    }
                    engine.chores(fetch);
                }
            })
            .map(drop)
    }

    /// One round of chores; `fetch`: ask the remote for the policy first.
    pub fn chores(&self, fetch: bool) {
        if !self.leads() {
            // Another replica does drift and expiry; the policy is kept
            // fresh for requests all the same.
            if fetch && let Err(Fail::Refused(m) | Fail::Error(m)) = self.chores_policy(true) {
                tracing::debug!(error = %m, "chores: reading the policy");
            }
            return;
        }
        let adopt = {
            let mut chores = self.chores_state();
            let due = chores.adopted.is_none_or(|t| t.elapsed() >= ADOPT_EVERY);
            if due {
                chores.adopted = Some(Instant::now());
            }
            due
        };
        if adopt {
            self.adopt();
        }
        let due = {
            let mut chores = self.chores_state();
            let due = chores.expired.is_none_or(|t| t.elapsed() >= EXPIRE_EVERY);
            if due {
                chores.expired = Some(Instant::now());
            }
            due
        };
        match self.chores_policy(fetch) {
            Ok(policy) => {
                self.look_for_drift(&policy);
                if due {
                    self.expire_environments(&policy);
                }
            }
            // Fetching failed or hoist.yaml is broken: drift waits for a
            // readable policy (said once per new reason); requests say what
            // is wrong when asked.
            Err(Fail::Refused(m) | Fail::Error(m)) => {
                let mut chores = self.chores_state();
                if chores.unreadable.as_deref() != Some(m.as_str()) {
                    tracing::warn!(error = %m, "chores: no policy to look for drift with");
                    chores.unreadable = Some(m);
                }
            }
        }
        if due {
            self.expire_due();
        }
    }

    fn chores_state(&self) -> std::sync::MutexGuard<'_, Chores> {
        self.chores
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The policy at the default branch's tip, parsed once per tip.
    fn chores_policy(&self, fetch: bool) -> Result<Arc<Policy>, Fail> {
        let branch = self.policy_branch()?;
        let tip = if fetch {
            self.repo.refresh(&branch)?
        } else {
            self.repo.known_tip(&branch)?
        };
        if let Some((at, policy)) = &self.chores_state().policy
            && *at == tip
        {
            return Ok(policy.clone());
        }
        let policy = Arc::new(self.policy_at(&tip)?);
        let mut chores = self.chores_state();
        chores.policy = Some((tip, policy.clone()));
        chores.unreadable = None;
        Ok(policy)
    }

    /// Requests whose approvals did not come in time end as Expired, and
    /// their thread is told, without waiting for anyone to ask.
    fn expire_due(&self) {
        let now = self.clock.now();
        let waiting = match self.journal.unfinished() {
            Ok(ops) => ops,
            Err(e) => {
                tracing::warn!(error = %e.report(), "chores: reading the journal");
                return;
            }
        };
        for op in waiting {
            let due = op.expires_at.is_some_and(|t| now >= t);
            let waiting = match op.state {
                State::AwaitingApproval { .. } | State::PrOpened { .. } => true,
                // A PR not opened yet (the forge failing) expires too.
                State::Committed { .. } => op.pr.is_some(),
                _ => false,
            };
            if !due || !waiting {
                continue;
            }
            let slot = self.slot(op.id);
            let _held = slot.lock().unwrap_or_else(|e| e.into_inner());
            // Judged again on the journal's copy: a vote may have just moved it.
            let Ok(Some(mut op)) = self.journal.get(op.id) else {
                continue;
            };
            if let Err(Fail::Refused(m) | Fail::Error(m)) = self.expire_if_due(&mut op) {
                tracing::warn!(op = op.id, error = %m, "chores: expiring");
            }
            if op.pr.is_some() {
                // Found merged, or its close failed: the runner goes on.
                self.wait_for_pr(op.id);
            }
        }
    }
}
