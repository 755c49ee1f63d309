//! After the push: poke the GitOps engine, then hand the operation to the
//! [runner](super::runner), which follows the rollout of every app through
//! the [`Cluster`](super::ports::Cluster) port until it is final or the
//! environment's `timeout` has passed since the push. Each change of phase is
//! journaled (`reconciling:<phase>` with its time, so Healthy's time is what
//! promotion's `soak` reads) and edits the operation's message with the time
//! since the push. After a restart, following resumes with what is left of
//! the timeout.

use super::ports::{Progress, WatchRequest};
use super::rollout::Rollout;
use super::{Engine, Operation, Reply, State, render};
use crate::policy::Policy;
use hoist_commands::Name;
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

/// A pushed operation the runner follows: its apps, one after another.
#[derive(Debug)]
pub(super) struct Following {
    pub(super) op: u64,
    requests: Vec<WatchRequest>,
    index: usize,
    /// Who reported each app that became healthy.
    labels: Vec<String>,
    /// The environment's timeout, counted from the push.
    timeout: u64,
    rollout: Option<Rollout>,
    /// The end decided but not journaled yet (the write failed): the next
    /// step journals it before anything else, so a verdict is never lost.
    ending: Option<(State, String)>,
    /// The (env, app) of an ordered plan's steps after this one: rolled out
    /// by this operation too, so not drift while it runs.
    later: Vec<(String, String)>,
    /// The forge was asked to record the deployment (the runner's first
    /// step does it, so no request waits on the forge).
    recorded: bool,
}

impl Following {
    /// The (env, app) of every app it follows.
    pub(super) fn apps(&self) -> Vec<(String, String)> {
        self.requests
            .iter()
            .map(|r| (r.env.clone(), r.app.clone()))
            .chain(self.later.iter().cloned())
            .collect()
    }
}

impl Engine {
    /// The watch requests of an operation, with `left` seconds to go.
    fn watch_requests(&self, op: &Operation, policy: &Policy, left: u64) -> Vec<WatchRequest> {
        // An environment made from a template is followed only through
        // objects named after it: one named like the template's would say
        // "ready" for the template.
        let made = op
            .env
            .parse::<Name>()
            .ok()
            .and_then(|e| policy.env(&e))
            .is_some_and(|e| e.made.is_some());
        // An ordered plan's current step only.
        op.changes[op.step_range()]
            .iter()
            .map(|c| WatchRequest {
                app: c.app.clone(),
                env: op.env.clone(),
                watch: c
                    .app
                    .parse::<Name>()
                    .ok()
                    .and_then(|a| policy.app(&a))
                    .and_then(|a| a.watch.clone())
                    .filter(|w| !made || names_env(w)),
                revision: op.revision().unwrap_or_default().to_string(),
                timeout_secs: left,
            })
            .collect()
    }

    /// How long the env gives a rollout, counted from the push.
    fn env_timeout(&self, op: &Operation, policy: &Policy) -> u64 {
        op.env
            .parse::<Name>()
            .ok()
            .and_then(|e| policy.env(&e))
            .and_then(|e| e.timeout_secs)
            .unwrap_or(self.settings.default_timeout_secs)
    }

    /// Ask the GitOps engine to look now. Best effort: a failed poke means
    /// waiting for the engine's next poll, which the thread is told.
    pub(super) fn poke(&self, op: &Operation, policy: &Policy) {
        let Some(cluster) = &self.cluster else { return };
        for request in self.watch_requests(op, policy, 0) {
            if let Err(e) = cluster.poke(&request) {
                let e = super::ports::report(&e);
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

    /// Hand a pushed operation to the runner, which follows every app to a
    /// final state. False when there is nothing to follow (no cluster, or no
    /// app names an object): the operation rests as it was.
    pub(super) fn follow(&self, op: &mut Operation, policy: &Policy) -> bool {
        let Some(following) = self.following_of(op, policy) else {
            return false;
        };
        self.runner.hand(
            &self.me,
            super::runner::Work::Follow(Box::new(following)),
            self.settings.followers,
        );
        true
    }

    /// What the runner follows of `op`, if anything can be followed.
    pub(super) fn following_of(&self, op: &Operation, policy: &Policy) -> Option<Following> {
        let cluster = self.cluster.clone()?;
        let requests: Vec<WatchRequest> = self
            .watch_requests(op, policy, 0)
            .into_iter()
            .filter(|r| cluster.follows(r))
            .collect();
        if requests.is_empty() {
            return None;
        }
        Some(Following {
            op: op.id,
            requests,
            index: 0,
            labels: Vec::new(),
            timeout: self.env_timeout(op, policy),
            rollout: None,
            ending: None,
            recorded: false,
            later: op.changes[op.step_range().end..]
                .iter()
                .map(|c| (op.env.clone(), c.app.clone()))
                .collect(),
        })
    }

    /// Look at a followed operation once: report what changed, record its
    /// end. `Some(t)`: look again at `t` at the latest; `None`: it is over.
    pub(super) fn follow_step(
        &self,
        f: &mut Following,
    ) -> std::result::Result<Option<Instant>, String> {
        let fail = |e: super::Fail| match e {
            super::Fail::Refused(m) | super::Fail::Error(m) => m,
        };
        let Some(cluster) = self.cluster.clone() else {
            return Ok(None);
        };
        let slot = self.slot(f.op);
        let _held = slot.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut op) = self.journal.get(f.op).map_err(|e| e.report())? else {
            return Ok(None);
        };
        if !matches!(
            op.state,
            State::Pushed { .. } | State::Merged { .. } | State::Reconciling { .. }
        ) {
            // Ended elsewhere (another process, an operator): nothing to say.
            if let Some(r) = &mut f.rollout {
                r.stop(&*cluster);
            }
            return Ok(None);
        }
        if let Some((state, label)) = f.ending.clone() {
            return self.end_following(f, &mut op, state, &label);
        }
        if !f.recorded {
            f.recorded = true;
            if op.deployment.is_none()
                && self.forge().is_some()
                && let Ok((policy, _)) = self.policy_on(&op.branch, false)
            {
                self.deployment_start(&mut op, &policy);
            }
        }
        let sha = op.revision().unwrap_or_default().to_string();
        let branch = op.branch.clone();
        let contains = self.contains_fn(&branch, &sha);
        loop {
            let mut request = f.requests[f.index].clone();
            let label = cluster.label(&request);
            // Apps are followed one after another, all within the one timeout.
            request.timeout_secs = f.timeout.saturating_sub(self.since_push(&op) as u64);
            let wake = self.runner.waker(f.op);
            let rollout = f
                .rollout
                .get_or_insert_with(|| Rollout::start(&*cluster, &request, wake));
            let step = rollout.step(&*cluster, &contains);
            if let Some(p) = step.news.as_ref().filter(|p| !p.is_final()) {
                let phase = render::phase(p);
                let state = State::Reconciling {
                    phase: phase.into(),
                };
                self.save(&mut op, state).map_err(fail)?;
                let since = render::age(self.since_push(&op));
                let detail = match p {
                    Progress::Retrying(why) => format!(": {why}"),
                    _ => String::new(),
                };
                self.notify.update(
                    &op,
                    &format!(
                        "#{} {}: {phase} ({label}, {since} since push){detail}{}",
                        op.id,
                        request.app,
                        super::ordered::plan_note(&op)
                    ),
                );
            }
            let end = match step.end {
                None => return Ok(Some(rollout.next_look())),
                Some(Progress::Healthy) => {
                    f.labels.push(label);
                    f.rollout = None;
                    f.index += 1;
                    if f.index < f.requests.len() {
                        continue;
                    }
                    if op.steps_left() {
                        return self.advance(&mut op, f);
                    }
                    (State::Healthy, f.labels.join(", "))
                }
                Some(Progress::Degraded(m)) => (State::Degraded { message: m }, label),
                Some(Progress::Failed(m) | Progress::Stalled(m)) => {
                    (State::Failed { message: m }, label)
                }
                Some(_) => (State::TimedOut, label),
            };
            f.ending = Some(end.clone());
            return self.end_following(f, &mut op, end.0, &end.1);
        }
    }

    /// Journal where a followed operation ended, then say it. A failed write
    /// keeps the end for the next step.
    fn end_following(
        &self,
        f: &mut Following,
        op: &mut Operation,
        state: State,
        label: &str,
    ) -> std::result::Result<Option<Instant>, String> {
        let healthy = state == State::Healthy;
        self.save(op, state).map_err(|e| match e {
            super::Fail::Refused(m) | super::Fail::Error(m) => m,
        })?;
        f.ending = None;
        self.deployment_end(op);
        let text = if healthy {
            format!(
                "#{} healthy ({label}): {}{}",
                op.id,
                render::timings(op),
                super::ordered::plan_note(op)
            )
        } else {
            format!("{} ({label})", render::summary_line(op))
        };
        self.notify.update(op, &text);
        Ok(None)
    }

    /// Point `f` at the current step of an ordered plan (carried by the
    /// worker that follows it). False when nothing follows that step.
    pub(super) fn retarget(&self, f: &mut Following, op: &Operation, policy: &Policy) -> bool {
        let Some(cluster) = self.cluster.clone() else {
            return false;
        };
        f.requests = self
            .watch_requests(op, policy, 0)
            .into_iter()
            .filter(|r| cluster.follows(r))
            .collect();
        f.index = 0;
        f.labels.clear();
        f.rollout = None;
        !f.requests.is_empty()
    }

    /// Stop following: the runner's threads end after the step they are
    /// taking, and what they followed is no longer watched. The journal
    /// still says where each operation is; the next start follows it again.
    pub fn stop_following(&self) {
        let left = self.runner.stop();
        for mut work in left {
            self.unwatch(&mut work);
        }
    }

    /// Stop watching what `f` watches.
    pub(super) fn unwatch_following(&self, f: &mut Following) {
        if let (Some(cluster), Some(r)) = (&self.cluster, &mut f.rollout) {
            r.stop(&**cluster);
        }
    }

    /// Wait until the operation `reply` names is no longer followed here,
    /// then answer with where it ended. Other replies come back unchanged.
    pub fn wait(&self, reply: Reply) -> Reply {
        let Some(id) = reply.operation else {
            return reply;
        };
        if !matches!(reply.state.as_str(), "pushed" | "merged" | "reconciling") {
            return reply;
        }
        self.runner.wait(id);
        match self.journal.get(id) {
            Ok(Some(op)) if op.state.label() != reply.state => {
                render::reply(&op, render::summary_line(&op))
            }
            _ => reply,
        }
    }

    /// How many operations the runner follows now.
    pub fn following(&self) -> usize {
        self.runner.in_flight()
    }

    fn since_push(&self, op: &Operation) -> i64 {
        // The last push (an ordered plan pushes once per step), or the merge.
        let pushed = op
            .transitions
            .iter()
            .rev()
            .find(|(_, l)| l == "pushed" || l == "merged");
        pushed.map_or(0, |(t, _)| (self.clock.now() - t).max(0))
    }

    /// "Is revision x R or a descendant of R?", asked of the mirror. A
    /// revision the mirror does not have yet (someone pushed after hoist) is
    /// fetched once; git's answers are remembered by the runner for every
    /// later step (of any operation at R), not asked again per step.
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
            let answer = match self.runner.known_ancestry(x, sha) {
                Some(known) => known,
                None => {
                    let asked = self.repo.contains(x, sha).or_else(|_| {
                        let _ = self.repo.refresh(branch);
                        self.repo.contains(x, sha)
                    });
                    // A revision git could not place may be fetched later:
                    // only its answers are kept beyond this step.
                    if let Ok(b) = asked {
                        self.runner.learn_ancestry(x, sha, b);
                    }
                    asked.unwrap_or(false)
                }
            };
            seen.borrow_mut().insert(x.to_string(), answer);
            answer
        }
    }
}

/// Does `watch` name its object after the environment (`{env}`)?
fn names_env(watch: &crate::policy::Watch) -> bool {
    match watch {
        crate::policy::Watch::ArgoCd { application, .. } => application.contains("{env}"),
        crate::policy::Watch::Flux { name, .. } => name.contains("{env}"),
    }
}
