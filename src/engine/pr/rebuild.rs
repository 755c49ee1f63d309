//! A pull request the forge cannot merge (the base moved and conflicts):
//! re-plan on the base's new tip, commit and sign anew, and replace hoist's
//! branch with a lease on the old head. When the change itself (file, old
//! value, new value per target) is no longer the one approved, the
//! approvals are void and the requester told, as for a push.

use super::{Next, words};
use crate::engine::ports::Forge;
use crate::engine::{Engine, Operation, State, render};
use crate::policy::{Environment, Policy};
use std::time::Duration;

impl Engine {
    pub(super) fn rebuild(
        &self,
        forge: &dyn Forge,
        op: &mut Operation,
        policy: &Policy,
        env: &Environment,
        pace: Duration,
    ) -> Result<Next, String> {
        let repo_words = |e: crate::engine::ports::RepoError| crate::engine::ports::report(&e);
        let tip = self.repo.refresh(&op.branch).map_err(repo_words)?;
        if op.base.as_deref() == Some(tip.as_str()) {
            // Already built on this tip: the forge has not caught up yet.
            return Ok(Next::Wait(pace));
        }
        let edits = self.edits_of(op, policy).map_err(words)?;
        let plan = self
            .repo
            .plan(&op.branch, &tip, &edits)
            .map_err(repo_words)?;
        if plan.is_noop() {
            let comment = "hoist: the base branch already has this change; closing";
            let unclosed = self
                .close_pr(op, comment)
                .map(|why| format!(" (it could not be closed: {why}; close it by hand)"))
                .unwrap_or_default();
            self.save(op, State::Unchanged).map_err(words)?;
            let text = format!(
                "#{}: someone else already set this version; the pull request is closed{unclosed}",
                op.id
            );
            self.notify.update(op, &text);
            return Ok(Next::Done);
        }
        let before = render::change_lines(&op.changes);
        let kept = self.rebind(op, &plan);
        let voided = if kept {
            Vec::new()
        } else {
            let voided = std::mem::take(&mut op.approvers);
            crate::engine::write::bind(op, &plan);
            voided
        };
        let old = op.commit.clone().unwrap_or_default();
        self.commit_for_pr(op, &plan).map_err(words)?;
        let new = op.commit.clone().unwrap_or_default();
        let branch = crate::engine::PullRef::branch(op.id);
        self.push_head(&branch, &new, &old).map_err(repo_words)?;
        let (url, number) = op
            .pr
            .as_ref()
            .map(|p| (p.url.clone(), p.number))
            .unwrap_or_default();
        self.save(op, State::PrOpened { url, number })
            .map_err(words)?;
        self.describe_pr(forge, op, env);
        let text = if kept {
            format!(
                "#{}: {} moved, so the pull request was rebuilt on {} as {}; the change is the \
                 same, approvals kept ({} of {})",
                op.id,
                op.branch,
                render::short(&tip),
                render::short(&new),
                op.approvers.len(),
                op.needed
            )
        } else {
            format!(
                "#{id}: {requester}, {branch} changed since your request, so the change is not \
                 the one that was approved. The pull request was rebuilt as {new}; approvals \
                 void{list}. It now needs {needed} fresh approval(s) of:\n{after}\n(was:\n{before})",
                id = op.id,
                requester = op.actor,
                branch = op.branch,
                new = render::short(&new),
                list = if voided.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", voided.join(", "))
                },
                needed = op.needed,
                after = render::change_lines(&op.changes),
            )
        };
        self.notify.update(op, &text);
        Ok(Next::Wait(pace))
    }
}
