//! After the push: poke the GitOps engine, then follow the rollout of every
//! app of the operation through the [`Cluster`](super::ports::Cluster) port
//! until it is final or the environment's `timeout` has passed since the
//! push. Each change of phase is journaled (`reconciling:<phase>` with its
//! time, so Healthy's time is what promotion's `soak` reads) and edits the
//! operation's message with the time since the push. After a restart,
//! following resumes with what is left of the timeout.

use super::ports::{Progress, WatchRequest};
use super::{Engine, Operation, Result, State, render};
use crate::policy::Policy;
use hoist_commands::Name;
use std::cell::RefCell;
use std::collections::HashMap;

impl Engine {
    /// The watch requests of an operation, with `left` seconds to go.
    fn watch_requests(&self, op: &Operation, policy: &Policy, left: u64) -> Vec<WatchRequest> {
        op.changes
            .iter()
            .map(|c| WatchRequest {
                app: c.app.clone(),
                env: op.env.clone(),
                watch: c
                    .app
                    .parse::<Name>()
                    .ok()
                    .and_then(|a| policy.app(&a))
                    .and_then(|a| a.watch.clone()),
                revision: op.commit.clone().unwrap_or_default(),
                timeout_secs: left,
            })
            .collect()
    }

    /// The env's timeout less the time since the push.
    fn time_left(&self, op: &Operation, policy: &Policy) -> u64 {
        let timeout = op
            .env
            .parse::<Name>()
            .ok()
            .and_then(|e| policy.env(&e))
            .and_then(|e| e.timeout_secs)
            .unwrap_or(self.settings.default_timeout_secs);
        timeout.saturating_sub(self.since_push(op) as u64)
    }

    /// Ask the GitOps engine to look now. Best effort: a failed poke means
    /// waiting for the engine's next poll, which the thread is told.
    pub(super) fn poke(&self, op: &Operation, policy: &Policy) {
        let Some(cluster) = &self.cluster else { return };
        for request in self.watch_requests(op, policy, 0) {
            if let Err(e) = cluster.poke(&request) {
                tracing::warn!(op = op.id, app = %request.app, error = %e, "poke failed");
                self.notify.update(
                    op,
                    &format!(
                        "#{} {}: could not ask {} to look now ({e}); waiting for its next poll",
                        op.id,
                        request.app,
                        cluster.label(&request)
                    ),
                );
            }
        }
    }

    /// Follow every app of a pushed operation to a final state. False when
    /// there was nothing to follow (no cluster, or no app names an object):
    /// the operation rests as it was.
    pub(super) fn follow(&self, op: &mut Operation, policy: &Policy) -> Result<bool> {
        let Some(cluster) = self.cluster.clone() else {
            return Ok(false);
        };
        let requests: Vec<WatchRequest> = self
            .watch_requests(op, policy, self.time_left(op, policy))
            .into_iter()
            .filter(|r| cluster.follows(r))
            .collect();
        if requests.is_empty() {
            return Ok(false);
        }
        let sha = op.commit.clone().unwrap_or_default();
        let branch = op.branch.clone();
        let mut labels = Vec::new();
        for mut request in requests {
            // Apps are followed one after another, all within the one timeout.
            request.timeout_secs = self.time_left(op, policy);
            let request = &request;
            let label = cluster.label(request);
            let contains = self.contains_fn(&branch, &sha);
            let mut failed = None;
            let last = cluster.follow(request, &contains, &mut |p: &Progress| {
                if p.is_final() {
                    return;
                }
                let phase = render::phase(p);
                if let Err(e) = self.save(
                    op,
                    State::Reconciling {
                        phase: phase.into(),
                    },
                ) {
                    failed = Some(e);
                }
                let since = render::age(self.since_push(op));
                let detail = match p {
                    Progress::Retrying(why) => format!(": {why}"),
                    _ => String::new(),
                };
                self.notify.update(
                    op,
                    &format!(
                        "#{} {}: {phase} ({label}, {since} since push){detail}",
                        op.id, request.app
                    ),
                );
            });
            if let Some(e) = failed {
                return Err(e);
            }
            let end = match last {
                Progress::Healthy => {
                    labels.push(label);
                    continue;
                }
                Progress::Degraded(m) => State::Degraded { message: m },
                Progress::Failed(m) | Progress::Stalled(m) => State::Failed { message: m },
                _ => State::TimedOut,
            };
            self.save(op, end)?;
            let text = format!("{} ({label})", render::summary_line(op));
            self.notify.update(op, &text);
            return Ok(true);
        }
        self.save(op, State::Healthy)?;
        let text = format!(
            "#{} healthy ({}): {}",
            op.id,
            labels.join(", "),
            render::timings(op)
        );
        self.notify.update(op, &text);
        Ok(true)
    }

    fn since_push(&self, op: &Operation) -> i64 {
        op.entered("pushed")
            .map_or(0, |t| (self.clock.now() - t).max(0))
    }

    /// "Is revision x R or a descendant of R?", asked of the mirror. A
    /// revision the mirror does not have yet (someone pushed after hoist) is
    /// fetched once; answers are remembered for the rollout.
    fn contains_fn<'a>(&'a self, branch: &'a str, sha: &'a str) -> impl Fn(&str) -> bool + 'a {
        let seen: RefCell<HashMap<String, bool>> = RefCell::new(HashMap::new());
        move |x: &str| {
            let hex = (7..=64).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex {
                return false;
            }
            if let Some(known) = seen.borrow().get(x) {
                return *known;
            }
            let answer = match self.repo.contains(x, sha) {
                Ok(b) => b,
                Err(_) => {
                    let _ = self.repo.refresh(branch);
                    self.repo.contains(x, sha).unwrap_or(false)
                }
            };
            seen.borrow_mut().insert(x.to_string(), answer);
            answer
        }
    }
}
