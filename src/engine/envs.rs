//! Environments made from templates, as operations (`env create`, `env
//! destroy`, `env extend`) and a read (`env list`). An environment is
//! decided like a deploy to it would be: `environments_from`'s deployers
//! may create one (its approvals, when it asks for any, are collected like
//! any other), its owner or whoever may approve there may destroy or extend
//! it. The operation is journaled and carried through the branch's lane as
//! one signed commit with the usual trailers ([`plan`] says what it writes);
//! a creation is then followed like a deploy of every app it copies, so its
//! thread ends with "pr-123 is ready". Expiry is the leader's chore
//! ([`expiry`]); `env list` is [`list`]; which registry entries count as
//! made by this hoist is [`made`].

mod expiry;
mod list;
mod made;
pub(super) mod plan;

use list::people;
pub(super) use made::Made;

use super::{Engine, EnvChange, Fail, Operation, Reply, Request, Result, State, render};
use crate::envs::{self, Entry};
use crate::policy::{self, Environment, Policy};
use hoist_commands::{Env, EnvCreate, Name};

/// The actor the runner writes as when an environment expires.
pub(super) const EXPIRY_ACTOR: &str = "hoist:expiry";

impl Engine {
    /// `env create|destroy|extend|list`.
    pub(super) fn env(&self, req: &Request, cmd: &Env) -> Result<Reply> {
        match cmd {
            Env::List => self.env_list(),
            Env::Create(c) => self.env_create(req, c),
            Env::Destroy(d) => {
                self.env_change(req, &d.name, "env-destroy", None, d.reason.clone(), false)
            }
            Env::Extend(e) => {
                let secs = e.ttl.as_secs();
                self.env_change(req, &e.name, "env-extend", Some(secs), None, false)
            }
        }
    }

    fn env_create(&self, req: &Request, c: &EnvCreate) -> Result<Reply> {
        let (policy, tip) = self.policy_on(&self.policy_branch()?, true)?;
        let rule = policy.environments_from.clone().ok_or_else(|| {
            Fail::Refused(
                "environments cannot be made here: hoist.yaml has no `environments_from` rule"
                    .into(),
            )
        })?;
        if let Some(from) = &c.from
            && from != &rule.template
        {
            return Err(Fail::Refused(format!(
                "environments are made from {} (environments_from.template), not from {from}",
                rule.template
            )));
        }
        if !policy.includes(&rule.deployers, &req.actor, &req.memberships) {
            return Err(Fail::Refused(format!(
                "{} may not create environments: environments_from.deployers are {}",
                req.actor,
                people(&rule.deployers)
            )));
        }
        envs::check_name(&policy, &c.name).map_err(Fail::Refused)?;
        self.template_writable(&policy, &rule.template)?;
        let made = policy
            .environments
            .iter()
            .filter(|e| e.made.is_some())
            .count();
        if made >= rule.max as usize {
            return Err(Fail::Refused(format!(
                "at most {} environments may be made from templates and {made} exist; \
                 destroy one first (`env list`)",
                rule.max
            )));
        }
        let ttl = c.ttl.map_or(rule.ttl_secs, |d| d.as_secs());
        if ttl > rule.ttl_secs {
            return Err(Fail::Refused(format!(
                "an environment lives at most {} (environments_from.ttl); ask for less, \
                 then `env extend` it",
                render::age(rule.ttl_secs as i64)
            )));
        }
        let now = self.clock.now();
        let entry = Entry {
            name: c.name.clone(),
            template: rule.template.clone(),
            owner: req.actor.clone(),
            created: now,
            expires: now + ttl as i64,
            operation: None,
        };
        let mut with = policy;
        envs::add(&mut with, &entry).map_err(Fail::Refused)?;
        let env = super::env_of(&with, &c.name)?.clone();
        let decision = policy::decide(
            &with,
            &env,
            policy::Verb::Deploy,
            &req.actor,
            req.channel.as_deref(),
            &req.memberships,
        )
        .map_err(|r| Fail::Refused(r.0))?;
        self.check_held(&env, &[], &req.actor)?;
        self.signing_gate(&with)?;
        let mut summary = format!("env create {} from {}", c.name, rule.template);
        if let Some(d) = c.ttl {
            summary.push_str(&format!(" for {d}"));
        }
        let mut op = self.env_op(req, &env, "env-create", summary, c.reason.clone());
        op.environment = Some(EnvChange {
            template: rule.template.to_string(),
            expires: entry.expires,
            dirs: Vec::new(),
            expired: false,
        });
        op.needed = decision.approvals.count;
        // Planned now: a layout that cannot be copied, or a name taken on
        // the branch, is refused before anything is journaled.
        let work = self.env_work(&op, &with)?;
        let (plan, changes) = self.env_plan(&env.branch, &tip, &work)?;
        op.base = Some(plan.base);
        op.changes = changes.unwrap_or_default();
        if op.needed > 0 {
            let expiry = decision
                .approvals
                .expires_secs
                .unwrap_or(self.settings.approval_expiry_secs);
            op.expires_at = Some(now + expiry as i64);
        }
        self.open_env(&mut op)?;
        let _carried = self.carrying(op.id);
        let _span = super::trail::op_span(&op).entered();
        if op.needed > 0 {
            return self.await_approvals(&mut op, &with, &[]);
        }
        self.carry(&mut op, &with, &tip)
    }

    /// Environments are written by push on the branch `hoist.yaml` (and so
    /// the registry) is read from: a template that changes through pull
    /// requests, or lives on another branch, cannot be copied by hoist.
    fn template_writable(&self, policy: &Policy, template: &Name) -> Result<()> {
        let env = super::env_of(policy, template)?;
        if env.via == policy::Via::PullRequest {
            return Err(Fail::Refused(format!(
                "environments are written by push, and {template} changes through pull requests (via: pull-request): hoist cannot make environments from it"
            )));
        }
        let branch = self.policy_branch()?;
        if env.branch != branch {
            return Err(Fail::Refused(format!(
                "{template} lives on branch {}, and hoist-environments.yaml is kept beside hoist.yaml on {branch}: hoist makes environments only from one on {branch}",
                env.branch
            )));
        }
        Ok(())
    }

    /// `env destroy` and `env extend`: by the owner, or by someone who may
    /// approve in the environment (the rule's `approvals.from`, else its
    /// deployers). No approvals: the environment is theirs. `by_runner`:
    /// the runner destroys an expired environment (no person decides).
    pub(super) fn env_change(
        &self,
        req: &Request,
        name: &Name,
        verb: &str,
        extend_secs: Option<u64>,
        reason: Option<String>,
        by_runner: bool,
    ) -> Result<Reply> {
        let (policy, tip) = self.policy_on(&self.policy_branch()?, true)?;
        let env = super::env_of(&policy, name)?.clone();
        let entry = env.made.clone().ok_or_else(|| {
            Fail::Refused(format!(
                "{name} is written in hoist.yaml, not made with `env create`: change it there"
            ))
        })?;
        let now = self.clock.now();
        if by_runner && entry.expires > now {
            return Err(Fail::Refused(format!(
                "{name} was extended: it now expires at {} UTC",
                render::date(entry.expires)
            )));
        }
        if !by_runner {
            policy::may_unlock(&policy, &env, &entry.owner, &req.actor, &req.memberships).map_err(
                |_| {
                    Fail::Refused(format!(
                        "only {} (who made {name}) or someone who may approve in it may {} it",
                        entry.owner,
                        verb.trim_start_matches("env-")
                    ))
                },
            )?;
        }
        self.signing_gate(&policy)?;
        let rule = policy.environments_from.as_ref().ok_or_else(|| {
            Fail::Refused("hoist.yaml no longer has an environments_from rule".into())
        })?;
        let (summary, expires) = match extend_secs {
            Some(secs) if secs > rule.ttl_secs => {
                return Err(Fail::Refused(format!(
                    "an environment is extended by at most {} at a time (environments_from.ttl)",
                    render::age(rule.ttl_secs as i64)
                )));
            }
            Some(secs) => (
                format!("env extend {name} for {}", render::age(secs as i64)),
                now + secs as i64,
            ),
            None => (format!("env destroy {name}"), entry.expires),
        };
        let mut op = self.env_op(req, &env, verb, summary, reason);
        op.environment = Some(EnvChange {
            template: entry.template.to_string(),
            expires,
            dirs: Vec::new(),
            expired: by_runner,
        });
        let work = self.env_work(&op, &policy)?;
        let (plan, _) = self.env_plan(&env.branch, &tip, &work)?;
        if plan.is_noop() {
            return Ok(Reply::done(format!(
                "{name} already expires at {} UTC; nothing to do",
                render::date(expires)
            )));
        }
        op.base = Some(plan.base);
        self.open_env(&mut op)?;
        let _carried = self.carrying(op.id);
        let _span = super::trail::op_span(&op).entered();
        self.carry(&mut op, &policy, &tip)
    }

    /// A new environment operation in `env`, not journaled yet.
    fn env_op(
        &self,
        req: &Request,
        env: &Environment,
        verb: &str,
        summary: String,
        reason: Option<String>,
    ) -> Operation {
        let chat = req
            .chat_link
            .clone()
            .or_else(|| req.channel.clone())
            .unwrap_or_else(|| "cli".into());
        Operation {
            id: 0,
            verb: verb.into(),
            summary,
            actor: req.actor.clone(),
            channel: req.channel.clone(),
            chat,
            env: env.name.to_string(),
            reason,
            ticket: None,
            created_at: self.clock.now(),
            state: State::Requested,
            branch: env.branch.clone(),
            base: None,
            changes: Vec::new(),
            commit: None,
            needed: 0,
            approvers: Vec::new(),
            expires_at: None,
            break_glass: None,
            transitions: Vec::new(),
            memberships: [(req.actor.clone(), req.memberships.clone())].into(),
            ordered: None,
            pr: None,
            deployment: None,
            environment: None,
        }
    }

    /// Journal a new environment operation: its id, the request and (with
    /// nothing to wait for) its approval in one write.
    fn open_env(&self, op: &mut Operation) -> Result<()> {
        let now = self.clock.now();
        op.enter(State::Requested, now);
        if op.needed == 0 {
            op.enter(State::Approved, now);
        }
        self.journal.create(op)?;
        super::trail::log_opened(op);
        super::checkpoint(op.state.name());
        Ok(())
    }

    /// Signing is the one gate an environment operation shares with deploys.
    fn signing_gate(&self, policy: &Policy) -> Result<()> {
        if policy.signing == policy::Signing::Required && !self.repo.can_sign() {
            return Err(Fail::Refused("no signing key is configured (HOIST_SIGNING_KEY) and hoist.yaml does not say `signing: optional`".into()));
        }
        Ok(())
    }

    /// An environment operation under the policy as it is now: a creation's
    /// requester must still be one of the rule's deployers (on the new
    /// environment's channels), a destroy's or extend's the owner or an
    /// approver (the runner's expiry needs nobody); signing still possible.
    pub(super) fn env_still_allowed(
        &self,
        op: &Operation,
        policy: &Policy,
        env: &Environment,
    ) -> std::result::Result<(), String> {
        let groups = op.memberships.get(&op.actor).cloned().unwrap_or_default();
        let rule = policy
            .environments_from
            .as_ref()
            .ok_or("hoist.yaml no longer has an environments_from rule")?;
        if op.verb == "env-create" {
            if !policy.includes(&rule.deployers, &op.actor, &groups) {
                return Err(format!("{} may no longer create environments", op.actor));
            }
            policy::decide(
                policy,
                env,
                policy::Verb::Deploy,
                &op.actor,
                op.channel.as_deref(),
                &groups,
            )
            .map_err(|r| r.0)?;
        } else if !op.environment.as_ref().is_some_and(|c| c.expired) {
            let owner = env
                .made
                .as_ref()
                .map(|m| m.owner.as_str())
                .unwrap_or_default();
            policy::may_unlock(policy, env, owner, &op.actor, &groups).map_err(|r| r.0)?;
        }
        self.signing_gate(policy).map_err(|f| match f {
            Fail::Refused(m) | Fail::Error(m) => m,
        })
    }
}
