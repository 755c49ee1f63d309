//! The merge of a pull request at quorum: the checks must pass and the
//! forge must say it can merge; then, and only then, the environment's
//! branch is fetched (not on every look), hoist's change must still stand
//! on it (a base force-pushed under the PR is rebuilt on, never merged
//! into), the policy at that fresh tip judges the requester and every
//! approver again, and the merge is asked with the expected head. Refused
//! then (the policy changed, a lock or a freeze), the PR is closed.

use super::{Next, PrWait, words};
use crate::engine::ports::{Checks, Forge, ForgeError, Merged, PrLook, RepoError, report};
use crate::engine::{Engine, Operation, State, one_line, render};
use crate::policy::{Environment, Policy};
use std::time::Duration;

impl Engine {
    /// At quorum, with hoist's head on the PR: merge when it can be.
    pub(super) fn merge_when_ready(
        &self,
        forge: &dyn Forge,
        op: &mut Operation,
        look: &PrLook,
        wait: &mut PrWait,
        pace: Duration,
    ) -> Result<Next, String> {
        match &look.checks {
            Checks::Failing(what) => {
                if self.pr_said.once(op.id, "checks-failing") {
                    let text = format!(
                        "#{}: approved, but a required check failed on the pull request: {}; \
                         hoist merges once the checks pass (re-run them on {})",
                        op.id,
                        one_line(what, 200),
                        forge.name()
                    );
                    self.notify.update(op, &text);
                }
                return Ok(Next::Wait(pace));
            }
            Checks::Pending(_) => return Ok(Next::Wait(pace)),
            Checks::Passing => self.pr_said.unsay(op.id, "checks-failing"),
        }
        if look.mergeable != Some(true) {
            return Ok(Next::Wait(pace));
        }
        // Fetched now, right before the merge: the base as it is, and the
        // policy at its tip.
        let repo_words = |e: RepoError| report(&e);
        let tip = self.repo.refresh(&op.branch).map_err(repo_words)?;
        let (policy, _) = self.policy_on(&op.branch, false).map_err(words)?;
        let env = self.env_named(&policy, &op.env).map_err(words)?;
        if let Some(base) = op.base.clone()
            && !self.repo.contains(&tip, &base).map_err(repo_words)?
        {
            // The base was rewritten under the PR: hoist's change no
            // longer stands on it. Built again on the new tip, not merged.
            tracing::info!(
                op = op.id,
                "the base no longer holds the PR's base; rebuilding"
            );
            return self.rebuild(forge, op, &policy, env, pace);
        }
        if self.target_files_moved(op, &policy, &tip)? {
            // Someone changed a file hoist's commit edits since it was
            // planned, without a conflict: GitHub's three-way merge would
            // write a file hoist never signed (and `audit` would call the
            // change out of band). Built again on the new tip: the same
            // change keeps its approvals.
            tracing::info!(op = op.id, "a target file moved on the base; rebuilding");
            return self.rebuild(forge, op, &policy, env, pace);
        }
        if let Some(next) = self.pr_recheck(op, &policy, env)? {
            return Ok(next);
        }
        let number = op.pr.as_ref().map_or(0, |p| p.number);
        let head = op.commit.clone().unwrap_or_default();
        let title = one_line(&op.summary, 200);
        let message = crate::engine::ordered::commit_message(op);
        match forge.merge(number, &head, env.pr.merge, &title, &message) {
            Ok(Merged::Merged { sha }) => {
                crate::engine::checkpoint("merged, not yet recorded");
                self.pr_said.unsay(op.id, "not-mergeable");
                self.pr_merged(op, &sha, None).map_err(words)?;
                Ok(Next::Follow)
            }
            Ok(Merged::NotMergeable(why)) => {
                let why = one_line(&why, 200);
                tracing::info!(op = op.id, %why, "not merged; looking again");
                if self.pr_said.once(op.id, "not-mergeable") {
                    let text = format!(
                        "#{}: approved, but {} did not merge the pull request: {}; hoist \
                         looks again",
                        op.id,
                        forge.name(),
                        why.replace('`', "'")
                    );
                    self.notify.update(op, &text);
                }
                Ok(Next::Wait(pace))
            }
            Ok(Merged::HeadMoved(why)) => {
                tracing::info!(op = op.id, why = %one_line(&why, 200), "head moved; looking again");
                Ok(Next::Wait(pace))
            }
            Err(ForgeError::RateLimited { forge, wait: after }) => {
                let why = format!("{forge} asked hoist to wait {}s", after.as_secs());
                self.say_wait(op, wait, &one_line(&why, 200));
                Ok(Next::Wait(after))
            }
            Err(e) => Err(one_line(&report(&e), 300)),
        }
    }

    /// Does a file hoist's commit edits differ at `tip` from the base the
    /// commit was planned on?
    fn target_files_moved(
        &self,
        op: &Operation,
        policy: &Policy,
        tip: &str,
    ) -> Result<bool, String> {
        let Some(base) = op.base.as_deref() else {
            return Ok(false);
        };
        if base == tip {
            return Ok(false);
        }
        let edits = self.edits_of(op, policy).map_err(words)?;
        for (target, _) in &edits {
            let read = |at: &str| {
                self.repo
                    .read_file(at, &target.file)
                    .map_err(|e| report(&e))
            };
            if read(base)? != read(tip)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// At quorum: the requester, the gates and every approver judged by the
    /// policy as it is now, and locks and freezes looked at again. `Some`
    /// when it cannot merge now: refused (the PR closed) or short again.
    pub(super) fn pr_recheck(
        &self,
        op: &mut Operation,
        policy: &Policy,
        env: &Environment,
    ) -> Result<Option<Next>, String> {
        if let Err(why) = self.still_allowed(op, policy, env) {
            let why = format!("the policy changed since the request: {why}");
            return self.pr_refused(op, why).map(Some);
        }
        let dropped = self.prune_approvers(op, policy, env);
        if !dropped.is_empty() {
            self.journal.put(op).map_err(|e| e.report())?;
            let (needed, have) = (op.needed, op.approvers.len() as u32);
            let text = format!(
                "#{}: the policy changed since the votes: {} no longer count(s) as \
                 approver(s); {} needs {needed} approval(s), has {have}",
                op.id,
                dropped.join(", "),
                env.name
            );
            self.notify.update(op, &text);
            if have < needed {
                return Ok(Some(Next::Wait(self.settings.pr_poll)));
            }
        }
        if op.break_glass.is_none() {
            let apps: Vec<hoist_commands::Name> = op
                .changes
                .iter()
                .filter_map(|c| c.app.parse().ok())
                .collect();
            if let Err(f) = self.check_held(env, &apps, &op.actor) {
                return self
                    .pr_refused(op, format!("approved, but {}", words(f)))
                    .map(Some);
            }
        }
        Ok(None)
    }

    /// End a PR operation as refused: close the PR, journal, say so (found
    /// merged: followed; not closed: tried again at the next look).
    fn pr_refused(&self, op: &mut Operation, reason: String) -> Result<Next, String> {
        let comment = format!("hoist: refused: {}", one_line(&reason, 500));
        let closing = self
            .end_pr(op, State::Denied { reason }, &comment)
            .map_err(words)?;
        match closing {
            super::Closing::Closed => {
                self.notify.update(op, &render::summary_line(op));
                Ok(Next::Done)
            }
            super::Closing::Merged => Ok(Next::Follow),
            // Tried again at the next look, later each time.
            super::Closing::Unclosed(why) => Err(format!("closing a refused pull request: {why}")),
        }
    }
}
