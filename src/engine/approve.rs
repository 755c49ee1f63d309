//! Approvals: an operation that needs them rests in AwaitingApproval, bound to
//! its exact change (files, old values, new values). `approve ID` / `deny ID`
//! (or a reaction an adapter maps to them) are votes: the requester never
//! counts, only people in `approvals.from` do, each once, and only before the
//! request expires. Every vote re-plans from the branch tip; if the change is
//! no longer the one people approved (someone else moved the environment),
//! the approvals are void and the requester is told. At quorum, locks and
//! freezes are looked at again, then the change is carried through.

use super::ports::Plan;
use super::{Engine, Fail, Operation, Reply, Request, Result, State, env_of, render};
use crate::policy::{self, Approvals, Environment, Policy};

impl Engine {
    /// Park a fresh operation until its approvals arrive.
    pub(super) fn await_approvals(
        &self,
        op: &mut Operation,
        policy: &Policy,
        notes: &[String],
    ) -> Result<Reply> {
        let needed = op.needed;
        self.save(op, State::AwaitingApproval { needed, have: 0 })?;
        let env = self.env_named(policy, &op.env)?;
        let from = rule_of(op, env).from;
        let who = if from.is_empty() {
            "the environment's deployers".to_string()
        } else {
            from.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut text = format!(
            "#{id} {summary} needs {n} approval(s) from {who} (not the requester). \
             Approve with `approve {id}` (or react ✅), deny with `deny {id}`. \
             Expires {when}.\n{diff}",
            id = op.id,
            summary = op.summary,
            n = op.needed,
            when = op.expires_at.map(render::date).unwrap_or_default() + " UTC",
            diff = render::change_lines(&op.changes)
        );
        for note in notes {
            text.push_str(&format!("\n({note})"));
        }
        self.notify.update(op, &text);
        Ok(render::reply(op, text))
    }

    /// `approve ID` (`deny` = `Some(reason)`).
    pub(super) fn vote(
        &self,
        req: &Request,
        id: u64,
        deny: Option<Option<String>>,
    ) -> Result<Reply> {
        let slot = self.slot(id);
        let _one_at_a_time = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Read after taking the slot: a vote handled meanwhile is in the journal.
        let mut op = self.waiting(id)?;
        let _op = super::trail::op_span(&op).entered();
        let voter = req.actor.as_str();
        let (policy, tip) = self.policy_for_branch(&op.branch)?;
        let policy = match self.rules_for(&op, &policy) {
            Ok(p) => p.into_owned(),
            // The environment being made can no longer be: say so, end it.
            Err(Fail::Refused(why)) => {
                let reason = format!("the policy changed since the request: {why}");
                return self.refuse(&mut op, reason);
            }
            Err(e) => return Err(e),
        };
        let env = self.env_named(&policy, &op.env)?;
        if voter == op.actor && deny.is_some() {
            return Err(Fail::Refused(format!(
                "#{id} is your own request; withdraw it with `cancel {id}`"
            )));
        }
        policy::may_vote(
            &policy,
            env,
            &rule_of(&op, env),
            &op.actor,
            voter,
            &req.memberships,
        )
        .map_err(|r| Fail::Refused(format!("#{id}: not counted: {}", r.0)))?;
        if let Some(was) = op.approvers.iter().find(|a| policy.same_person(a, voter)) {
            let who = if was == voter {
                format!("{voter} already approved")
            } else {
                format!("you already approved as {was}")
            };
            return Err(Fail::Refused(format!(
                "#{id}: {who}; each approver counts once ({} of {})",
                op.approvers.len(),
                op.needed
            )));
        }
        if let Some(reason) = deny {
            let comment = format!(
                "hoist: denied by {voter}{}",
                reason
                    .as_deref()
                    .map(|r| format!(": {}", super::one_line(r, 500)))
                    .unwrap_or_default()
            );
            let end = State::Rejected {
                by: voter.to_string(),
                reason,
            };
            let closing = self.end_pr(&mut op, end, &comment)?;
            if let Some(text) = self.not_ended(&op, &closing, "denied") {
                return Ok(render::reply(&op, text));
            }
            let text = render::summary_line(&op);
            self.notify.update(&op, &text);
            return Ok(render::reply(&op, text));
        }
        if op.pr.is_some() {
            // The PR's mergeability is the runner's to watch.
            return self.pr_approve(&mut op, req, &policy);
        }
        let plan = if op.on_environment() {
            let work = self.env_work(&op, &policy)?;
            match self.env_plan(&op.branch, &tip, &work) {
                Ok((plan, _)) => plan,
                // Its name or a directory was taken meanwhile, or max reached.
                Err(super::ports::RepoError::Target(why)) => return self.refuse(&mut op, why),
                Err(e) => return Err(e.into()),
            }
        } else {
            self.repo
                .plan(&op.branch, &tip, &self.edits_of(&op, &policy)?)?
        };
        if plan.is_noop() {
            self.save(&mut op, State::Unchanged)?;
            let text = format!("#{id}: someone else already set this version; nothing to commit");
            self.notify.update(&op, &text);
            return Ok(render::reply(&op, text));
        }
        if !self.rebind(&mut op, &plan) {
            return self.void_approvals(&mut op, &plan, Some(voter));
        }
        op.approvers.push(voter.to_string());
        op.memberships
            .insert(voter.to_string(), req.memberships.clone());
        let (needed, have) = (op.needed, op.approvers.len() as u32);
        self.save(&mut op, State::AwaitingApproval { needed, have })?;
        if have < op.needed {
            let text = format!(
                "#{id}: approved by {voter} ({have} of {}); waiting for {} more",
                op.needed,
                op.needed - have
            );
            self.notify.update(&op, &text);
            return Ok(render::reply(&op, text));
        }
        self.on_quorum(&mut op, &policy, &tip)
    }

    /// Enough approvals: check the requester and every approver against the
    /// policy as it is now, look at locks and freezes again, then write.
    pub(super) fn on_quorum(
        &self,
        op: &mut Operation,
        policy: &Policy,
        policy_tip: &str,
    ) -> Result<Reply> {
        if let Some(reply) = self.recheck(op, policy)? {
            return Ok(reply);
        }
        if let Some(reply) = self.held_now(op, policy)? {
            return Ok(reply);
        }
        self.save(op, State::Approved)?;
        self.carry(op, policy, policy_tip)
    }

    /// The change moved under the approvers: clear their votes, bind the
    /// operation to the new plan and tell the requester.
    pub(super) fn void_approvals(
        &self,
        op: &mut Operation,
        plan: &Plan,
        voter: Option<&str>,
    ) -> Result<Reply> {
        let before = render::change_lines(&op.changes);
        let voided = std::mem::take(&mut op.approvers);
        let keep = op.needed;
        super::write::bind(op, plan);
        self.save(
            op,
            State::AwaitingApproval {
                needed: keep,
                have: 0,
            },
        )?;
        let not_counted = voter
            .map(|v| format!(" {v}'s approval was not counted either."))
            .unwrap_or_default();
        let text = format!(
            "#{id}: {requester}, the environment changed since your request, so the change is \
             not the one that was approved. Approvals void{list}.{not_counted} \
             It now needs {keep} fresh approval(s) of:\n{after}\n(was:\n{before})",
            id = op.id,
            requester = op.actor,
            list = if voided.is_empty() {
                String::new()
            } else {
                format!(" ({})", voided.join(", "))
            },
            after = render::change_lines(&op.changes),
        );
        self.notify.update(op, &text);
        Ok(render::reply(op, text))
    }

    /// An approver takes their approval back (a removed ✅) while the
    /// operation still waits; after the quorum it is too late and says so.
    pub fn withdraw(&self, actor: &str, id: u64) -> Reply {
        let slot = self.slot(id);
        let _one_at_a_time = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A withdrawal lost to another replica's write is decided again.
        let result = self.decided_again(|| {
            self.waiting(id).and_then(|mut op| {
                let _op = super::trail::op_span(&op).entered();
                let Some(at) = op.approvers.iter().position(|a| a == actor) else {
                    return Err(Fail::Refused(format!("#{id}: {actor} had not approved it")));
                };
                op.approvers.remove(at);
                if op.pr.is_some() {
                    return self.pr_withdraw(&mut op, actor);
                }
                let (needed, have) = (op.needed, op.approvers.len() as u32);
                self.save(&mut op, State::AwaitingApproval { needed, have })?;
                let text = format!("#{id}: {actor} withdrew their approval ({have} of {needed})");
                self.notify.update(&op, &text);
                Ok(render::reply(&op, text))
            })
        });
        super::answer(result)
    }

    /// `cancel ID`: the requester, or someone who could approve, withdraws it.
    pub(super) fn cancel(&self, req: &Request, id: u64) -> Result<Reply> {
        let slot = self.slot(id);
        let _one_at_a_time = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut op = self.waiting(id)?;
        let _op = super::trail::op_span(&op).entered();
        if req.actor != op.actor {
            let (policy, _) = self.policy_for_branch(&op.branch)?;
            let env = self.env_named(&policy, &op.env)?;
            policy::may_vote(
                &policy,
                env,
                &rule_of(&op, env),
                &op.actor,
                &req.actor,
                &req.memberships,
            )
            .map_err(|_| {
                Fail::Refused(format!(
                    "#{id} can be cancelled by {} or by someone who may approve it",
                    op.actor
                ))
            })?;
        }
        let comment = format!("hoist: cancelled by {}", super::one_line(&req.actor, 100));
        let closing = self.end_pr(&mut op, State::Cancelled, &comment)?;
        if let Some(text) = self.not_ended(&op, &closing, "cancelled") {
            return Ok(render::reply(&op, text));
        }
        let text = if op.pr.is_some() {
            format!(
                "#{id} {}: cancelled by {}; the pull request is closed, nothing was merged",
                op.summary, req.actor
            )
        } else {
            format!(
                "#{id} {}: cancelled by {}; nothing was written",
                op.summary, req.actor
            )
        };
        self.notify.update(&op, &text);
        Ok(render::reply(&op, text))
    }

    /// The operation `id`, if it waits for approvals and has not expired.
    fn waiting(&self, id: u64) -> Result<Operation> {
        let mut op = self
            .journal
            .get(id)?
            .ok_or_else(|| Fail::Refused(format!("there is no operation {id}")))?;
        let waits = match op.state {
            State::AwaitingApproval { .. } | State::PrOpened { .. } => true,
            // A PR operation committed and not yet opened waits too.
            State::Committed { .. } => op.pr.is_some(),
            _ => false,
        };
        if !waits || self.pr_said.ending(id) {
            return Err(Fail::Refused(format!(
                "operation {id} is not waiting for approval (it is {})",
                op.state.label()
            )));
        }
        if self.expire_if_due(&mut op)? {
            if op.state != State::Expired {
                return Err(Fail::Refused(format!(
                    "operation {id} is no longer waiting for approval (it is {})",
                    op.state.label()
                )));
            }
            return Err(Fail::Refused(format!(
                "operation {id} expired at {} UTC before it had its approvals; votes after that do \
                 not count and nothing was written. Ask again if it is still wanted.",
                op.expires_at.map(render::date).unwrap_or_default()
            )));
        }
        Ok(op)
    }

    /// Move a waiting operation past its expiry to Expired; true when it
    /// is no longer waiting for votes. A pull request short of its quorum
    /// (opened, or committed and not yet opened) expires too: looked at
    /// first (found merged, it is recorded merged instead), closed, then
    /// journaled, so a restart in between finds it closed, not open and
    /// forgotten; a close that failed leaves it as it was (true: no vote
    /// counts any more), tried again at the runner's next look.
    pub(super) fn expire_if_due(&self, op: &mut Operation) -> Result<bool> {
        let due = op.expires_at.is_some_and(|t| self.clock.now() >= t);
        let short = (op.approvers.len() as u32) < op.needed;
        let waiting = match op.state {
            State::AwaitingApproval { .. } => true,
            State::PrOpened { .. } => short,
            State::Committed { .. } => short && op.pr.is_some(),
            _ => false,
        };
        if !(due && waiting) {
            return Ok(false);
        }
        let comment = "hoist: the approvals did not come in time; expired";
        let closing = self.end_pr(op, State::Expired, comment)?;
        if self.not_ended(op, &closing, "expired").is_none() {
            self.notify.update(op, &render::summary_line(op));
        }
        Ok(true)
    }

    pub(super) fn env_named<'p>(&self, policy: &'p Policy, name: &str) -> Result<&'p Environment> {
        env_of(policy, &super::journal_name(name)?)
    }
}

/// The approval rule an operation is under: break-glass or the usual one.
pub(super) fn rule_of(op: &Operation, env: &Environment) -> Approvals {
    match (&op.break_glass, &env.break_glass) {
        (Some(_), Some(bg)) => bg.clone(),
        _ => env.approvals.clone(),
    }
}
