//! Resume on start: every operation the journal holds that is not at rest is
//! carried on from its last recorded state, re-checking side effects rather
//! than repeating them. The journal is written before each side effect, so
//! the only doubt is "did the last side effect happen?": a `Committed{sha}`
//! whose sha is already on the remote branch was pushed (record it); one that
//! is not was never pushed (hoist pushes only after recording Committed), so
//! plan and commit again. Nothing is committed twice, nothing is forgotten.
//! What is not written yet is checked against the policy as it is now (the
//! requester, every approver): a tightened policy applies to waiting work.
//! Operations that were pushed (or merged) and being followed in a cluster
//! are handed to the runner, which follows them again with what is left of
//! their timeout; a pull request's operation goes back to the runner's wait,
//! which pushes hoist's branch and opens the PR if that was not recorded.

use super::{Engine, Fail, Operation, Reply, Result, State, render};

impl Engine {
    /// Carry on with every unfinished operation; one reply per operation moved.
    pub fn resume(&self) -> Vec<Reply> {
        let ops = match self.journal.unfinished() {
            Ok(ops) => ops,
            Err(e) => return vec![super::Reply::error(e.report())],
        };
        // Rollouts go to the runner, which follows them side by side; this
        // returns once every other operation took its step. Each branch with
        // rollouts is fetched once, not once per rollout.
        let mut branches: Vec<&str> = ops
            .iter()
            .filter(|op| self.refollows(op))
            .map(|op| op.branch.as_str())
            .collect();
        branches.sort_unstable();
        branches.dedup();
        for branch in branches {
            if let Err(e) = self.repo.refresh(branch) {
                tracing::warn!(branch, error = %super::ports::report(&e), "fetching to resume");
            }
        }
        ops.into_iter()
            .filter(|op| !op.state.is_terminal())
            .filter_map(|op| self.resume_op(op))
            .collect()
    }

    /// A pushed operation whose rollout was being followed when hoist stopped.
    pub(super) fn refollows(&self, op: &Operation) -> bool {
        self.cluster.is_some()
            && self.settings.wait
            && matches!(
                op.state,
                State::Pushed { .. } | State::Merged { .. } | State::Reconciling { .. }
            )
    }

    /// Carry on `listed` (as a list answered it) under its slot, from the
    /// journal's copy, unless a request or a look holds it now or it moved
    /// since it was listed.
    pub(super) fn resume_op(&self, listed: Operation) -> Option<Reply> {
        let id = listed.id;
        let slot = self.slot(id);
        let reply = match slot.try_lock() {
            Ok(_held) => self
                .resume_listed(&listed)
                .and_then(|op| self.resume_held(op)),
            Err(_) => None,
        };
        drop(slot);
        self.release_slot(id);
        reply
    }

    fn resume_held(&self, mut op: Operation) -> Option<Reply> {
        let id = op.id;
        let _span = super::trail::op_span(&op).entered();
        match self.resume_one(&mut op) {
            Ok(reply) => reply,
            // The policy no longer allows it (an app or target removed,
            // hoist.yaml broken): it cannot go on, so it ends, visibly.
            Err(Fail::Refused(m)) => {
                let message = format!("could not resume: {m}");
                let ended = self.save(&mut op, State::Failed { message });
                self.notify.update(&op, &render::summary_line(&op));
                Some(match ended {
                    Ok(()) => render::reply(&op, render::summary_line(&op)),
                    Err(Fail::Refused(e) | Fail::Error(e)) => super::Reply::error(e),
                })
            }
            // Git or the journal failed (the remote may be down): keep the
            // operation as it is; the next start tries again.
            Err(Fail::Error(m)) => {
                tracing::warn!(op = id, error = %m, "could not resume; will retry on next start");
                Some(super::Reply::error(format!(
                    "#{id}: could not resume yet: {m}"
                )))
            }
        }
    }

    fn resume_one(&self, op: &mut Operation) -> Result<Option<Reply>> {
        let (policy, tip) = match op.state.clone() {
            _ if self.refollows(op) => {
                // Fetched once for every rollout of the branch (`resume`).
                let (policy, _) = self.policy_on(&op.branch, false)?;
                tracing::info!(op = op.id, "following the rollout again");
                // Nothing to follow (no argocd/flux entry): it rests as it was.
                let followed = self.follow(op, &policy);
                if !followed && op.steps_left() {
                    // An ordered plan's step that nothing follows: go on.
                    return self.next_step(op).map(Some);
                }
                let text = format!("#{}: following its rollout again", op.id);
                return Ok(followed.then(|| render::reply(op, text)));
            }
            // A PR: published or not, the runner looks first (the push and
            // the open are idempotent; a merge done but not recorded is
            // found merged).
            State::Committed { .. } | State::PrOpened { .. } if op.pr.is_some() => {
                let text = format!("#{}: waiting on its pull request again", op.id);
                return Ok(self.wait_for_pr(op.id).then(|| render::reply(op, text)));
            }
            // An ordered plan stopped after a step that nothing follows.
            State::Pushed { .. } if op.steps_left() => return self.next_step(op).map(Some),
            // A destroy or extend is done once pushed (nothing follows it).
            State::Pushed { .. } if matches!(op.verb.as_str(), "env-destroy" | "env-extend") => {
                self.save(op, State::Done)?;
                return Ok(Some(render::reply(op, render::summary_line(op))));
            }
            // Resting states: nothing to redo (no cluster to follow them in).
            State::Pushed { .. }
            | State::PrOpened { .. }
            | State::Merged { .. }
            | State::Reconciling { .. } => return Ok(None),
            State::AwaitingApproval { .. } if self.expire_if_due(op)? => {
                return Ok(Some(render::reply(op, render::summary_line(op))));
            }
            State::AwaitingApproval { needed, .. } if op.approvers.len() < needed as usize => {
                return Ok(None);
            }
            _ => self.policy_for_branch(&op.branch)?,
        };
        // A creation not written yet is judged as the environment it makes.
        let policy = self.rules_for(op, &policy)?.into_owned();
        tracing::info!(op = op.id, state = op.state.label(), "resuming");
        let reply = match op.state.clone() {
            // A PR is opened before its approvals: judged again, then opened.
            State::Requested | State::Approved if op.pr.is_some() => {
                let env = self.env_named(&policy, &op.env)?;
                if let Err(why) = self.still_allowed(op, &policy, env) {
                    let reason = format!("the policy changed since the request: {why}");
                    return self.refuse(op, reason).map(Some);
                }
                match self.held_now(op, &policy)? {
                    Some(reply) => reply,
                    None => self.open_pr(op, &policy, &tip, &[])?,
                }
            }
            State::Requested if op.needed > 0 => self.await_approvals(op, &policy, &[])?,
            State::AwaitingApproval { .. } => self.on_quorum(op, &policy, &tip)?,
            State::Committed { sha } if self.repo.contains(&tip, &sha)? => {
                self.pushed(op)?;
                if op.ordered.is_some() {
                    // One step of a plan is out: follow it, or go on.
                    return self.resume_plan(op, &policy).map(Some);
                }
                if matches!(op.verb.as_str(), "env-destroy" | "env-extend") {
                    self.save(op, State::Done)?;
                }
                render::reply(op, render::summary_line(op))
            }
            // Not written yet: the policy as it is now decides again.
            _ => match self.recheck(op, &policy)? {
                Some(reply) => reply,
                None => match self.held_now(op, &policy)? {
                    Some(reply) => reply,
                    None => {
                        if op.state == State::Requested {
                            self.save(op, State::Approved)?;
                        }
                        self.carry(op, &policy, &tip)?
                    }
                },
            },
        };
        Ok(Some(reply))
    }
}
