//! The write path: deploy, promote and rollback become a plan, the plan passes
//! policy, an operation is journaled, and the change is committed, signed,
//! pushed (re-planned when the branch moved) and followed in the cluster.

use super::intent::Intent;
use super::ports::{Plan, Progress, RepoError, WatchRequest};
use super::{Engine, Fail, Operation, Outcome, Reply, Request, Result, State, env_of, render};
use crate::policy::{self, Environment, Policy, Signing, Via};
use hoist_commands::{Command, Name};

impl Engine {
    pub(super) fn write(&self, req: &Request) -> Result<Reply> {
        let (policy, tip) = self.current_policy()?;
        let env_name = match &req.command {
            Command::Deploy(d) => &d.env,
            Command::Promote(p) => &p.to,
            Command::Rollback(r) => &r.env,
            _ => unreachable!("write() is only called for writing verbs"),
        };
        let env = env_of(&policy, env_name)?;
        // Rules come from the tip of the branch being written.
        let (policy, tip) = if env.branch == self.policy_branch()? {
            (policy, tip)
        } else {
            let tip = self.repo.refresh(&env.branch)?;
            (self.policy_at(&tip)?, tip)
        };
        let intent = self.intent(&policy, &tip, req)?;
        self.admit(&policy, intent.env, req, &intent)?;
        let plan = self
            .repo
            .plan(&intent.env.branch, &tip, &intent.targets())?;
        let apps = intent.apps();
        if plan.is_noop() {
            return Ok(Reply::done(format!(
                "{}: already at {} in {}; nothing to do",
                render::names(&apps),
                intent.edits[0].2,
                intent.env.name
            )));
        }
        if intent.dry_run {
            let mut reply = Reply::done(format!(
                "dry run of `{}`: this commit would be written\n{}",
                intent.summary,
                render::diff(&plan)
            ));
            reply.state = "dry-run".into();
            return Ok(reply);
        }
        self.execute(req, &policy, &intent, &apps, plan)
    }

    /// Policy gates. Anything the policy asks for that this version cannot
    /// enforce refuses the request rather than silently skipping the rule.
    fn admit(
        &self,
        policy: &Policy,
        env: &Environment,
        req: &Request,
        intent: &Intent<'_>,
    ) -> Result<()> {
        policy::may_deploy(
            policy,
            env,
            &req.actor,
            req.channel.as_deref(),
            &req.memberships,
        )
        .map_err(|r| Fail::Refused(r.0))?;
        if let Some(rule) = &env.ticket {
            match (&intent.ticket, &rule.pattern) {
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
        let cannot = |what: String| {
            Err(Fail::Refused(format!(
                "{what}, which this version of hoist cannot do yet; nothing was written"
            )))
        };
        if env.approvals.count > 0 {
            return cannot(format!(
                "{} requires {} approval(s)",
                env.name, env.approvals.count
            ));
        }
        if env.via == Via::PullRequest {
            return cannot(format!("{} is configured `via: pull-request`", env.name));
        }
        if !env.freeze.is_empty() {
            return cannot(format!("{} has freeze windows to evaluate", env.name));
        }
        if policy.signing == Signing::Required && !self.repo.can_sign() {
            return Err(Fail::Refused("no signing key is configured (HOIST_SIGNING_KEY) and hoist.yaml does not say `signing: optional`".into()));
        }
        Ok(())
    }

    fn save(&self, op: &mut Operation, state: State) -> Result<()> {
        op.enter(state, self.clock.now());
        self.journal.put(op).map_err(Fail::Error)
    }

    /// Journal, commit, push (re-planning when the branch moved), follow.
    fn execute(
        &self,
        req: &Request,
        policy: &Policy,
        intent: &Intent<'_>,
        apps: &[Name],
        mut plan: Plan,
    ) -> Result<Reply> {
        let id = self.journal.next_id().map_err(Fail::Error)?;
        let mut op = Operation {
            id,
            summary: intent.summary.clone(),
            actor: req.actor.clone(),
            channel: req.channel.clone(),
            env: intent.env.name.to_string(),
            reason: intent.reason.clone(),
            ticket: intent.ticket.clone(),
            created_at: self.clock.now(),
            state: State::Requested,
            branch: intent.env.branch.clone(),
            base: Some(plan.base.clone()),
            changes: render::changes(apps, &plan),
            commit: None,
            transitions: Vec::new(),
        };
        self.save(&mut op, State::Requested)?;
        self.save(&mut op, State::Approved)?;
        // `admit` refused already if the policy requires signing and no key is set.
        let sign = self.repo.can_sign();
        let edits = intent.targets();
        let mut attempt = 1;
        let sha = loop {
            let message = render::commit_message(&op, req, &[]);
            let sha = match self.repo.commit(&plan, &message, sign) {
                Ok(sha) => sha,
                Err(e) => return self.fail(&mut op, e),
            };
            op.commit = Some(sha.clone());
            self.save(&mut op, State::Committed { sha: sha.clone() })?;
            match self.repo.push(&op.branch, &sha, &plan.base) {
                Ok(()) => break sha,
                Err(RepoError::Stale(why)) if attempt < self.settings.push_attempts => {
                    tracing::info!(op = id, attempt, %why, "branch moved; re-planning");
                    attempt += 1;
                    let tip = self.repo.refresh(&op.branch)?;
                    plan = self.repo.plan(&op.branch, &tip, &edits)?;
                    if plan.is_noop() {
                        self.save(&mut op, State::Unchanged)?;
                        return Ok(render::reply(
                            &op,
                            format!(
                                "#{id}: someone else already set this version; nothing to commit"
                            ),
                        ));
                    }
                    op.base = Some(plan.base.clone());
                    op.changes = render::changes(apps, &plan);
                }
                Err(e) => return self.fail(&mut op, e),
            }
        };
        self.save(&mut op, State::Pushed { sha: sha.clone() })?;
        self.notify.update(
            &op,
            &format!(
                "#{id} pushed {}\n{}",
                render::short(&sha),
                render::diff(&plan)
            ),
        );
        if let (Some(cluster), true) = (&self.cluster, self.settings.wait) {
            self.follow(&mut op, policy, intent, cluster.as_ref())?;
        }
        let text = render::summary_line(&op);
        Ok(render::reply(&op, text))
    }

    fn fail(&self, op: &mut Operation, e: RepoError) -> Result<Reply> {
        let message = e.to_string();
        self.save(
            op,
            State::Failed {
                message: message.clone(),
            },
        )?;
        let mut reply = render::reply(op, format!("#{}: {message}", op.id));
        reply.outcome = Outcome::Error;
        Ok(reply)
    }

    fn follow(
        &self,
        op: &mut Operation,
        policy: &Policy,
        intent: &Intent<'_>,
        cluster: &dyn super::ports::Cluster,
    ) -> Result<()> {
        let timeout = intent
            .env
            .timeout_secs
            .unwrap_or(self.settings.default_timeout_secs);
        let sha = op.commit.clone().unwrap_or_default();
        for (app, ..) in &intent.edits {
            let request = WatchRequest {
                app: app.to_string(),
                env: intent.env.name.to_string(),
                watch: policy.app(app).and_then(|a| a.watch.clone()),
                revision: sha.clone(),
                timeout_secs: timeout,
            };
            let mut failed = None;
            let last = cluster.follow(&request, &mut |p: &Progress| {
                let state = match p {
                    Progress::Healthy
                    | Progress::Degraded(_)
                    | Progress::Failed(_)
                    | Progress::Stalled(_)
                    | Progress::TimedOut => return,
                    other => State::Reconciling {
                        phase: render::phase(other).into(),
                    },
                };
                if let Err(e) = self.save(op, state) {
                    failed = Some(e);
                }
                self.notify.update(
                    op,
                    &format!(
                        "#{} {app}: {} ({})",
                        op.id,
                        render::phase(p),
                        cluster.label()
                    ),
                );
            });
            if let Some(e) = failed {
                return Err(e);
            }
            let end = match last {
                Progress::Healthy => continue,
                Progress::Degraded(m) => State::Degraded { message: m },
                Progress::Failed(m) | Progress::Stalled(m) => State::Failed { message: m },
                _ => State::TimedOut,
            };
            self.save(op, end)?;
            self.notify.update(op, &render::summary_line(op));
            return Ok(());
        }
        self.save(op, State::Healthy)?;
        self.notify
            .update(op, &format!("#{} healthy ({})", op.id, cluster.label()));
        Ok(())
    }
}
