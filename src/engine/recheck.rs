//! Checking work that waits against the policy as it is now. The policy
//! may tighten while a request waits for approvals, while a process is down,
//! or between a decision and its push: the requester must still be allowed
//! (on the same path), the request must still pass its gates (ticket, `via`,
//! signing, soak), and only approvers who still count are counted. Used at
//! quorum, on resume, and by the lane when `hoist.yaml` moved under it.

use super::approve::rule_of;
use super::{Engine, Fail, Operation, Reply, Result, State, render};
use crate::policy::{self, Environment, Policy};
use hoist_commands::Name;

impl Engine {
    /// May `op` still go on under `policy`, as far as its requester and its
    /// gates go: the requester may still ask (with the groups recorded when
    /// they asked), on the same path (an incident rollback whose channel is no
    /// longer an incident channel may not), and the ticket rule, `via`,
    /// signing and soak still pass. The reason when not. No side effects.
    pub(super) fn still_allowed(
        &self,
        op: &Operation,
        policy: &Policy,
        env: &Environment,
    ) -> Result<(), String> {
        if op.on_environment() {
            return self.env_still_allowed(op, policy, env);
        }
        let verb = match op.verb.as_str() {
            "promote" => policy::Verb::Promote,
            "rollback" => policy::Verb::Rollback,
            _ => policy::Verb::Deploy,
        };
        let groups = op.memberships.get(&op.actor).cloned().unwrap_or_default();
        match policy::decide(policy, env, verb, &op.actor, op.channel.as_deref(), &groups) {
            Err(r) => Err(r.0),
            Ok(d) if op.break_glass.is_some() && !d.break_glass => Err(format!(
                "{} is no longer an incident channel for {}",
                op.channel.as_deref().unwrap_or("-"),
                env.name
            )),
            Ok(_) => self.still_admitted(op, policy, env),
        }
    }

    /// Keep only the approvers who still count under `policy` and set the
    /// count the rule asks for now; the ones dropped. Each person counts
    /// once (`people:` may have linked two approvers' ids since they
    /// voted: the first stays), and a GitHub review counts only while the
    /// environment's `github_reviews` is on.
    pub(super) fn prune_approvers(
        &self,
        op: &mut Operation,
        policy: &Policy,
        env: &Environment,
    ) -> Vec<String> {
        let rule = rule_of(op, env);
        let groups = |who: &str| op.memberships.get(who).cloned().unwrap_or_default();
        let mut kept: Vec<String> = Vec::new();
        let mut dropped = Vec::new();
        for a in &op.approvers {
            let counts = (env.pr.github_reviews || !a.starts_with("github:"))
                && !kept.iter().any(|k| policy.same_person(k, a))
                && policy::may_vote(policy, env, &rule, &op.actor, a, &groups(a)).is_ok();
            if counts {
                kept.push(a.clone());
            } else {
                dropped.push(a.clone());
            }
        }
        op.approvers = kept;
        op.needed = rule.count;
        dropped
    }

    /// Do `op`'s approvals still meet `policy`'s rule? Approvers who no
    /// longer count are dropped from the operation (they are not written as
    /// `Hoist-Approved-By`). The reason when too few are left.
    pub(super) fn approvals_hold(
        &self,
        op: &mut Operation,
        policy: &Policy,
        env: &Environment,
    ) -> Result<(), String> {
        self.prune_approvers(op, policy, env);
        let have = op.approvers.len() as u32;
        if have >= op.needed {
            return Ok(());
        }
        Err(format!(
            "{} now needs {} approval(s) and this change has {have} that count",
            env.name, op.needed
        ))
    }

    /// Locks and freezes as they are now, for work not yet written (not on
    /// the break-glass path): `Some(reply)` when one holds it (refused).
    pub(super) fn held_now(&self, op: &mut Operation, policy: &Policy) -> Result<Option<Reply>> {
        if op.break_glass.is_some() {
            return Ok(None);
        }
        let env = self.env_named(policy, &op.env)?;
        let apps: Vec<Name> = op
            .changes
            .iter()
            .filter_map(|c| c.app.parse().ok())
            .collect();
        match self.check_held(env, &apps, &op.actor) {
            Err(Fail::Refused(why)) => {
                // A request resumed before anyone approved it was not approved.
                let reason = if op.approvers.is_empty() && op.state == State::Requested {
                    format!("not carried on after a restart: {why}")
                } else {
                    format!("approved, but {why}")
                };
                self.refuse(op, reason).map(Some)
            }
            Err(e) => Err(e),
            Ok(()) => Ok(None),
        }
    }

    /// The request's other gates under `policy`: ticket, `via`, signing,
    /// and for deploys and promotions into a `promote_from` environment the
    /// soak of each version there. The refusal's words when one fails.
    fn still_admitted(
        &self,
        op: &Operation,
        policy: &Policy,
        env: &Environment,
    ) -> Result<(), String> {
        let words = |f: Fail| match f {
            Fail::Refused(m) | Fail::Error(m) => m,
        };
        self.gates(policy, env, op.ticket.as_deref())
            .map_err(words)?;
        let Some((from, _)) = &env.promote_from else {
            return Ok(());
        };
        if op.verb == "rollback" {
            return Ok(());
        }
        for c in &op.changes {
            let app: Name = super::journal_name(&c.app).map_err(words)?;
            let version = c
                .version
                .parse()
                .map_err(|_| format!("journal: bad version `{}`", c.version))?;
            self.check_soak(policy, env, &app, from, &version)
                .map_err(words)?;
        }
        Ok(())
    }

    /// End a waiting operation as refused, tell its thread, answer so.
    pub(super) fn refuse(&self, op: &mut Operation, reason: String) -> Result<Reply> {
        self.save(op, State::Denied { reason })?;
        let text = render::summary_line(op);
        self.notify.update(op, &text);
        let mut reply = render::reply(op, text);
        reply.outcome = super::Outcome::Refused;
        Ok(reply)
    }

    /// The policy may have tightened since the request and the votes: the
    /// requester must still be allowed (on the same path: an incident
    /// rollback whose channel is no longer an incident channel is refused),
    /// the request must still pass its gates (ticket, `via`, signing, soak),
    /// and only approvers who still count are kept, against the rule's count
    /// as it is now. `Some(reply)` when the operation cannot go on as it is:
    /// refused (terminal) or back to waiting for approvals.
    pub(super) fn recheck(&self, op: &mut Operation, policy: &Policy) -> Result<Option<Reply>> {
        let env = self.env_named(policy, &op.env)?;
        if let Err(why) = self.still_allowed(op, policy, env) {
            let reason = format!("the policy changed since the request: {why}");
            return self.refuse(op, reason).map(Some);
        }
        let dropped = self.prune_approvers(op, policy, env);
        let (needed, have) = (op.needed, op.approvers.len() as u32);
        if have >= needed {
            return Ok(None);
        }
        if op.expires_at.is_none() {
            // It needed nobody when it was asked for: its wait starts now.
            let rule = rule_of(op, env);
            let secs = rule
                .expires_secs
                .unwrap_or(self.settings.approval_expiry_secs);
            op.expires_at = Some(self.clock.now() + secs as i64);
        }
        self.save(op, State::AwaitingApproval { needed, have })?;
        let who = if dropped.is_empty() {
            String::new()
        } else {
            format!(" {} no longer count(s) as approver(s);", dropped.join(", "))
        };
        let text = format!(
            "#{}: the policy changed since the votes:{who} {} needs {needed} approval(s), \
             has {have}; waiting for {} more",
            op.id,
            env.name,
            needed - have
        );
        self.notify.update(op, &text);
        Ok(Some(render::reply(op, text)))
    }
}
