//! Chat votes on a change waiting in a pull request: the same rules as for
//! one waiting to be pushed (the requester never counts, each approver
//! once, only before expiry). An approval is recorded and written into the
//! PR's description; at quorum the PR is looked at once at once (checks,
//! mergeability, the policy as it is now) and merged when it can be, else
//! the runner merges it when it can.

use super::{Next, PrWait};
use crate::engine::{Engine, Operation, Reply, Request, Result, render};
use crate::policy::Policy;

impl Engine {
    /// `approve ID` on a PR operation, the vote already found to count.
    pub(in crate::engine) fn pr_approve(
        &self,
        op: &mut Operation,
        req: &Request,
        policy: &Policy,
    ) -> Result<Reply> {
        let voter = req.actor.as_str();
        let env = self.env_named(policy, &op.env)?;
        let Some(forge) = self.forge().cloned() else {
            return Err(crate::engine::Fail::Refused(super::no_forge(&op.env)));
        };
        op.approvers.push(voter.to_string());
        op.memberships
            .insert(voter.to_string(), req.memberships.clone());
        self.journal.put(op)?;
        let (needed, have) = (op.needed, op.approvers.len() as u32);
        self.describe_pr(&*forge, op, env);
        if have < needed {
            let text = format!(
                "#{}: approved by {voter} ({have} of {needed}); waiting for {} more",
                op.id,
                needed - have
            );
            self.notify.update(op, &text);
            return Ok(render::reply(op, text));
        }
        let text = format!("#{}: approved by {voter} ({have} of {needed})", op.id);
        self.notify.update(op, &text);
        // One look now, so the answer says whether it merged. The forge's
        // wake for this PR is the runner's: this look neither sets nor
        // clears it.
        let number = op.pr.as_ref().map_or(0, |p| p.number);
        let mut wait = PrWait::looking(op.id, number);
        let next = self.pr_advance(&*forge, op, &mut wait);
        let text = match next {
            Ok(Next::Follow) => {
                if self.settings.wait {
                    self.follow(op, policy);
                }
                // The runner may hold its PR wait: it follows from its own look.
                self.runner.wake(op.id);
                format!("{text}; {}", render::summary_line(op))
            }
            Ok(Next::Done) => render::summary_line(op),
            Ok(Next::Wait(_)) => {
                self.wait_for_pr(op.id);
                format!(
                    "{text}; hoist merges the pull request once the forge can merge it and its \
                     checks pass"
                )
            }
            Err(why) => {
                self.wait_for_pr(op.id);
                format!("{text}; could not look at the pull request yet ({why}); hoist tries again")
            }
        };
        Ok(render::reply(op, text))
    }

    /// A PR operation's approver takes their approval back.
    pub(in crate::engine) fn pr_withdraw(&self, op: &mut Operation, actor: &str) -> Result<Reply> {
        self.journal.put(op)?;
        let (needed, have) = (op.needed, op.approvers.len() as u32);
        if let (Some(forge), Ok((policy, _))) =
            (self.forge().cloned(), self.policy_for_branch(&op.branch))
            && let Ok(env) = self.env_named(&policy, &op.env)
        {
            self.describe_pr(&*forge, op, env);
        }
        let text = format!(
            "#{}: {actor} withdrew their approval ({have} of {needed})",
            op.id
        );
        self.notify.update(op, &text);
        Ok(render::reply(op, text))
    }
}
