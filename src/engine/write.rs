//! The write path: deploy, promote and rollback become a plan; the plan
//! passes policy (who, where, ticket, locks, freezes); an operation is
//! journaled and either waits for approvals or is carried through: committed,
//! signed, pushed (re-planned when the branch moved) and followed in the
//! cluster. `carry` is shared with the approval path and with resume-on-start.

use super::intent::Intent;
use super::land::Landed;
use super::ports::{Plan, RepoError};
use super::{Engine, Fail, Lock, Operation, Outcome, Reply, Request, Result, State};
use super::{checkpoint, env_of, render, target_of};
use crate::policy::{self, Decision, Environment, Policy, Signing, Target, Verb, Via};
use hoist_commands::{Command, Version};

impl Engine {
    /// A writing verb. Decided and planned first on the tip the mirror
    /// already knows (no fetch): if the branch moved meanwhile, the push's
    /// compare-and-swap fails and the lane fetches, re-plans and checks that
    /// `hoist.yaml` did not change. Any answer that would not write (a
    /// refusal, "already at", a dry run) is given on a freshly fetched tip, so
    /// nobody is refused or told "nothing to do" on a stale view.
    pub(super) fn write(&self, req: &Request) -> Result<Reply> {
        if req.command.dry_run() {
            return self.write_on(req, true);
        }
        match self.write_on(req, false) {
            Err(Fail::Refused(_)) => self.write_on(req, true),
            Ok(reply) if reply.operation.is_none() => self.write_on(req, true),
            other => other,
        }
    }

    fn write_on(&self, req: &Request, fetch: bool) -> Result<Reply> {
        let (env_name, verb) = match &req.command {
            Command::Deploy(d) => (&d.env, Verb::Deploy),
            Command::Promote(p) => (&p.to, Verb::Promote),
            Command::Rollback(r) => (&r.env, Verb::Rollback),
            _ => unreachable!("write() is only called for writing verbs"),
        };
        let (policy, tip) = self.policy_on(&self.policy_branch()?, fetch)?;
        let branch = env_of(&policy, env_name)?.branch.clone();
        // Rules come from the tip of the branch being written.
        let (policy, tip) = if branch == self.policy_branch()? {
            (policy, tip)
        } else {
            self.policy_on(&branch, fetch)?
        };
        let env = env_of(&policy, env_name)?;
        let mut decision = policy::decide(
            &policy,
            env,
            verb,
            &req.actor,
            req.channel.as_deref(),
            &req.memberships,
        )
        .map_err(|r| Fail::Refused(r.0))?;
        let intent = self.intent(&policy, &tip, req, decision.break_glass)?;
        if intent.gated && decision.break_glass {
            // Nobody saw this version run here: no incident shortcut.
            decision = Decision {
                approvals: env.approvals.clone(),
                break_glass: false,
            };
        }
        self.admit(&policy, env, &intent, &decision, &req.actor)?;
        let plan = self.repo.plan(&env.branch, &tip, &intent.targets())?;
        if plan.is_noop() {
            return Ok(Reply::done(format!(
                "{}: already at {} in {}; nothing to do",
                render::names(&intent.apps()),
                intent.edits[0].2,
                env.name
            )));
        }
        if intent.dry_run {
            let needs = match decision.approvals.count {
                0 => String::new(),
                n => format!(" after {n} approval(s)"),
            };
            let mut reply = Reply::done(format!(
                "dry run of `{}`: this commit would be written{needs}\n{}",
                intent.summary,
                render::diff(&plan)
            ));
            reply.state = "dry-run".into();
            return Ok(reply);
        }
        if !fetch && decision.approvals.count > 0 {
            // It will wait for people: decide it on the rules as they are
            // now, not on the tip this process last saw.
            return self.write_on(req, true);
        }
        let mut op = self.open(req, &intent, &plan, &decision, verb)?;
        // Carried by this request: a leader's adoption leaves it alone.
        let _carried = self.carrying(op.id);
        let _op = super::trail::op_span(&op).entered();
        if op.pr.is_some() {
            return self.open_pr(&mut op, &policy, &tip, &intent.notes);
        }
        if op.needed > 0 {
            return self.await_approvals(&mut op, &policy, &intent.notes);
        }
        let mut reply = self.carry(&mut op, &policy, &tip)?;
        for note in &intent.notes {
            reply.message.push_str(&format!("\n({note})"));
        }
        Ok(reply)
    }

    /// Policy gates beyond who and where (which `decide` answered): the
    /// ticket rule, locks and freezes (not on the break-glass path), signing.
    /// `via: pull-request` needs a forge ([`Engine::set_forge`]).
    fn admit(
        &self,
        policy: &Policy,
        env: &Environment,
        intent: &Intent<'_>,
        decision: &Decision,
        actor: &str,
    ) -> Result<()> {
        if !decision.break_glass {
            self.check_held(env, &intent.apps(), actor)?;
        }
        self.gates(policy, env, intent.ticket.as_deref())
    }

    /// The gates that do not depend on time or holders: the ticket rule,
    /// `via`, signing. Asked when a request comes and again at quorum.
    pub(super) fn gates(
        &self,
        policy: &Policy,
        env: &Environment,
        ticket: Option<&str>,
    ) -> Result<()> {
        if let Some(rule) = &env.ticket {
            match (ticket, &rule.pattern) {
                (None, _) if rule.required => {
                    return Err(Fail::Refused(format!(
                        "{} needs a ticket: add --ticket KEY",
                        env.name
                    )));
                }
                (Some(t), Some(p)) => {
                    let re = regex::Regex::new(p)
                        .map_err(|e| Fail::Refused(format!("ticket.pattern in hoist.yaml: {e}")))?;
                    if !re.is_match(t) {
                        return Err(Fail::Refused(format!(
                            "ticket `{t}` does not match {}'s pattern `{p}`",
                            env.name
                        )));
                    }
                }
                _ => {}
            }
        }
        if env.via == Via::PullRequest && self.forge().is_none() {
            return Err(Fail::Refused(super::pr::no_forge(env.name.as_str())));
        }
        if policy.signing == Signing::Required && !self.repo.can_sign() {
            return Err(Fail::Refused("no signing key is configured (HOIST_SIGNING_KEY) and hoist.yaml does not say `signing: optional`".into()));
        }
        Ok(())
    }

    /// Journal a new operation bound to `plan` (state Requested).
    fn open(
        &self,
        req: &Request,
        intent: &Intent<'_>,
        plan: &Plan,
        decision: &Decision,
        verb: Verb,
    ) -> Result<Operation> {
        let now = self.clock.now();
        let expiry = decision
            .approvals
            .expires_secs
            .unwrap_or(self.settings.approval_expiry_secs);
        let chat = req
            .chat_link
            .clone()
            .or_else(|| req.channel.clone())
            .unwrap_or_else(|| "cli".into());
        let break_glass = decision.break_glass.then(|| {
            let place = req.channel.as_deref().unwrap_or("an incident channel");
            match &intent.reason {
                Some(r) => format!("incident rollback by {} in {place}: {r}", req.actor),
                None => format!("incident rollback by {} in {place}", req.actor),
            }
        });
        let via_pr = intent.env.via == Via::PullRequest;
        let mut op = Operation {
            id: 0, // the journal assigns it in `create`
            verb: format!("{verb:?}").to_lowercase(),
            summary: intent.summary.clone(),
            actor: req.actor.clone(),
            channel: req.channel.clone(),
            chat,
            env: intent.env.name.to_string(),
            reason: intent.reason.clone(),
            ticket: intent.ticket.clone(),
            created_at: now,
            state: State::Requested,
            branch: intent.env.branch.clone(),
            base: Some(plan.base.clone()),
            changes: render::changes(&intent.versions(), plan),
            commit: None,
            needed: decision.approvals.count,
            approvers: Vec::new(),
            expires_at: (decision.approvals.count > 0).then_some(now + expiry as i64),
            break_glass,
            transitions: Vec::new(),
            memberships: [(req.actor.clone(), req.memberships.clone())].into(),
            // A pull request carries the whole change at once.
            ordered: (intent.ordered && !via_pr).then_some(0),
            pr: via_pr.then(super::PullRef::default),
            deployment: None,
            environment: None,
        };
        // The id, the request and (with nothing to wait for) its approval go
        // to disk as one write.
        op.enter(State::Requested, now);
        if op.needed == 0 {
            op.enter(State::Approved, now);
        }
        self.journal.create(&mut op)?;
        super::trail::log_opened(&op);
        checkpoint(op.state.name());
        Ok(op)
    }

    /// The (target, version) pairs of a journaled operation, under `policy`.
    pub(super) fn edits_of(
        &self,
        op: &Operation,
        policy: &Policy,
    ) -> Result<Vec<(Target, Version)>> {
        let env = super::journal_name(&op.env)?;
        op.changes[op.step_range()]
            .iter()
            .map(|c| {
                let app = super::journal_name(&c.app)?;
                let version = c
                    .version
                    .parse()
                    .map_err(|_| Fail::Error(format!("journal: bad version `{}`", c.version)))?;
                Ok((target_of(policy, &app, &env)?, version))
            })
            .collect()
    }

    /// Commit and push through the branch's lane (re-planned on the tip the
    /// lane writes on), lock on the incident path, then hand it to the runner.
    /// `policy_tip` is the commit whose `hoist.yaml` allowed the change.
    pub(super) fn carry(
        &self,
        op: &mut Operation,
        policy: &Policy,
        policy_tip: &str,
    ) -> Result<Reply> {
        if op.pr.is_some() {
            // Resumed before its PR was opened: the runner looks, not the lane.
            let tip = self.repo.known_tip(&op.branch)?;
            return self.open_pr(op, policy, &tip, &[]);
        }
        let work = if op.on_environment() {
            super::land::Work::Env(self.env_work(op, policy)?)
        } else {
            super::land::Work::Edits(self.edits_of(op, policy)?)
        };
        match self.land(op, work, policy_tip)? {
            Landed::Pushed => {}
            // This step's app already had its version: on to the next one.
            Landed::Unchanged if op.ordered.is_some() => return self.step_unchanged(op),
            Landed::Unchanged => {
                self.save(op, State::Unchanged)?;
                let text = format!(
                    "#{}: someone else already set this version; nothing to commit",
                    op.id
                );
                return Ok(render::reply(op, text));
            }
            Landed::Voided(plan) => return self.void_approvals(op, &plan, None),
            Landed::Failed(e) => return self.fail(op, e),
            Landed::Refused(why) => return self.refuse(op, why),
        }
        self.notify.update(
            op,
            &format!(
                "#{} pushed {}\n{}{}",
                op.id,
                render::short(op.commit.as_deref().unwrap_or_default()),
                render::change_lines(&op.changes[op.step_range()]),
                super::ordered::plan_note(op)
            ),
        );
        if matches!(op.verb.as_str(), "env-destroy" | "env-extend") {
            // Nothing to follow: the directories are gone, or only the date moved.
            self.save(op, State::Done)?;
            let text = render::summary_line(op);
            self.notify.update(op, &text);
            return Ok(render::reply(op, text));
        }
        self.poke(op, policy);
        // The runner follows it from here; nothing to follow leaves it
        // resting at Pushed, or an ordered plan goes on with its next step.
        // Not following a cluster it could (`exec --no-wait`), a plan rests
        // at its step: the next start that follows it carries on.
        let followed = self.settings.wait && self.follow(op, policy);
        let resting = !self.settings.wait && self.cluster.is_some();
        if !followed && !resting && op.steps_left() {
            return self.next_step(op);
        }
        let text = render::summary_line(op);
        Ok(render::reply(op, text))
    }

    /// The commit is on the remote: take the incident lock, record Pushed.
    pub(super) fn pushed(&self, op: &mut Operation) -> Result<()> {
        self.incident_lock(op)?;
        let sha = op.commit.clone().unwrap_or_default();
        self.save(op, State::Pushed { sha })
    }

    /// An incident rollback locks what it rolled back until someone unlocks.
    /// Someone else's lock on the app is never replaced (that would hand it
    /// to the rollback's requester, who could then lift it): it stays theirs,
    /// holds until unlocked, and says the rollback happened.
    pub(super) fn incident_lock(&self, op: &Operation) -> Result<()> {
        if op.break_glass.is_some() && op.verb == "rollback" {
            let live = self.live_locks()?;
            for c in &op.changes {
                let mark = format!("incident rollback by {} (#{})", op.actor, op.id);
                let theirs = live.iter().find(|l| {
                    l.env == op.env
                        && l.app.as_deref() == Some(c.app.as_str())
                        && l.holder != op.actor
                });
                let lock = match theirs {
                    Some(l) if l.reason.contains(&mark) => continue,
                    Some(l) => Lock {
                        reason: format!("{}; then an {mark}", l.reason),
                        until: None,
                        ..l.clone()
                    },
                    None => Lock {
                        env: op.env.clone(),
                        app: Some(c.app.clone()),
                        holder: op.actor.clone(),
                        reason: format!("incident rollback by {}", op.actor),
                        since: self.clock.now(),
                        until: None,
                        operation: Some(op.id),
                    },
                };
                self.journal.put_lock(&lock)?;
            }
            checkpoint("incident lock taken");
        }
        Ok(())
    }

    /// Is `plan` the change the operation was approved for? The same files go
    /// from the same old values to the same new ones (an unrelated commit on
    /// the branch moves the base, not the change). Rebinds the operation to
    /// `plan` and returns true when it is, or when nobody has to approve it;
    /// false when the approvers would be looking at a different change.
    pub(super) fn rebind(&self, op: &mut Operation, plan: &Plan) -> bool {
        if op.on_environment() {
            // Approved by name: the copies are the template's as it is now.
            op.base = Some(plan.base.clone());
            return true;
        }
        let changes = &op.changes[op.step_range()];
        let same = changes.len() == plan.files.len()
            && changes.iter().zip(&plan.files).all(|(c, f)| {
                c.file == f.path && c.old_value == f.old_value && c.new_value == f.new_value
            });
        if same || op.needed == 0 {
            bind(op, plan);
            return true;
        }
        false
    }

    fn fail(&self, op: &mut Operation, e: RepoError) -> Result<Reply> {
        let message = e.to_string();
        self.save(
            op,
            State::Failed {
                message: message.clone(),
            },
        )?;
        self.notify.update(op, &render::summary_line(op));
        let mut reply = render::reply(op, format!("#{}: {message}", op.id));
        reply.outcome = Outcome::Error;
        Ok(reply)
    }
}

/// Point the operation at `plan`: its base, and per app the file, values and
/// changed lines. Plans are made from `edits_of(op)`, so files follow the
/// order of `op.changes` (of its current step, for an ordered plan).
pub(super) fn bind(op: &mut Operation, plan: &Plan) {
    op.base = Some(plan.base.clone());
    let steps = op.step_range();
    for (c, f) in op.changes[steps].iter_mut().zip(&plan.files) {
        c.file.clone_from(&f.path);
        c.old_value.clone_from(&f.old_value);
        c.new_value.clone_from(&f.new_value);
        c.lines.clone_from(&f.lines);
    }
}
