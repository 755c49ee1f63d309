//! Locks and freezes: the two ways an environment is held still. A lock is
//! taken in chat (`lock [APP in] ENV [for DUR] REASON`), has a holder, a reason
//! and an optional expiry, and is kept in the journal; a freeze is a window
//! written in `hoist.yaml`. Deploys and promotions are refused while either
//! holds (the holder of a lock may still deploy through it); a rollback from an
//! incident channel passes both (break-glass) and then locks the app itself.

use super::render::age;
use super::{Engine, Fail, Reply, Request, Result, env_of};
use crate::policy::{self, Environment, Policy, Verb};
use hoist_commands::{Lock as LockCmd, Name, Unlock};
use serde::{Deserialize, Serialize};

/// A lock on an environment, or on one app in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub env: String,
    /// `None`: the whole environment.
    pub app: Option<String>,
    pub holder: String,
    pub reason: String,
    pub since: i64,
    /// When it lapses by itself; `None`: until unlocked.
    pub until: Option<i64>,
    /// The operation that took it (incident rollbacks), if any.
    pub operation: Option<u64>,
}

impl Lock {
    pub fn in_force(&self, now: i64) -> bool {
        self.until.is_none_or(|u| now < u)
    }

    /// Does this lock hold `app` in `env`?
    pub fn covers(&self, env: &str, app: &str) -> bool {
        self.env == env && self.app.as_deref().is_none_or(|a| a == app)
    }

    /// `env` or `app in env`.
    pub fn scope(&self) -> String {
        match &self.app {
            Some(app) => format!("{app} in {}", self.env),
            None => self.env.clone(),
        }
    }

    /// "locked by console:carol 5m ago: release train, 55m left"
    pub fn describe(&self, now: i64) -> String {
        let until = match self.until {
            Some(u) => format!(", {} left", age(u - now)),
            None => ", until unlocked".into(),
        };
        let when = match now - self.since {
            s if s < 60 => "just now".to_string(),
            s => format!("{} ago", age(s)),
        };
        format!("locked by {} {when}: {}{until}", self.holder, self.reason)
    }
}

impl Engine {
    /// Locks in force now; expired ones are dropped from the journal on the way.
    pub(super) fn live_locks(&self) -> Result<Vec<Lock>> {
        let now = self.clock.now();
        let (live, lapsed): (Vec<Lock>, Vec<Lock>) = self
            .journal
            .locks()?
            .into_iter()
            .partition(|l| l.in_force(now));
        for l in lapsed {
            self.journal.remove_lock(&l.env, l.app.as_deref())?;
        }
        Ok(live)
    }

    /// Refuse when `env` is frozen now, or when a lock held by someone other
    /// than `actor` covers one of `apps`.
    pub(super) fn check_held(&self, env: &Environment, apps: &[Name], actor: &str) -> Result<()> {
        let now = self.clock.now();
        if let Some(f) = env.freeze.iter().find(|f| f.active_at(now)) {
            return Err(Fail::Refused(format!(
                "{} is frozen ({}); deploys and promotions wait until the window ends. \
                 An incident rollback from an incident channel still works.",
                env.name, f.text
            )));
        }
        let locks = self.live_locks()?;
        for app in apps {
            if let Some(l) = locks
                .iter()
                .find(|l| l.covers(env.name.as_str(), app.as_str()) && l.holder != actor)
            {
                return Err(Fail::Refused(format!(
                    "{} is {}. Ask {} to `unlock {}`.",
                    l.scope(),
                    l.describe(now),
                    l.holder,
                    l.scope()
                )));
            }
        }
        Ok(())
    }

    pub(super) fn lock(&self, req: &Request, cmd: &LockCmd) -> Result<Reply> {
        let (policy, _) = self.current_policy()?;
        let env = env_of(&policy, &cmd.env)?;
        if let Some(app) = &cmd.app {
            super::target_of(&policy, app, &cmd.env)?;
        }
        may_lock(&policy, env, req)?;
        let now = self.clock.now();
        let app = cmd.app.as_ref().map(ToString::to_string);
        if let Some(existing) = self
            .live_locks()?
            .into_iter()
            .find(|l| l.env == env.name.as_str() && l.app == app && l.holder != req.actor)
        {
            return Err(Fail::Refused(format!(
                "{} is already {}",
                existing.scope(),
                existing.describe(now)
            )));
        }
        let lock = Lock {
            env: env.name.to_string(),
            app,
            holder: req.actor.clone(),
            reason: cmd
                .reason
                .clone()
                .unwrap_or_else(|| "no reason given".into()),
            since: now,
            until: cmd.duration.as_ref().map(|d| now + d.as_secs() as i64),
            operation: None,
        };
        self.journal.put_lock(&lock)?;
        super::checkpoint("lock taken");
        Ok(Reply::done(format!(
            "{} is {}",
            lock.scope(),
            lock.describe(now)
        )))
    }

    pub(super) fn unlock(&self, req: &Request, cmd: &Unlock) -> Result<Reply> {
        let (policy, _) = self.current_policy()?;
        let env = env_of(&policy, &cmd.env)?;
        may_lock(&policy, env, req)?;
        let app = cmd.app.as_ref().map(|a| a.as_str());
        let scope = match app {
            Some(a) => format!("{a} in {}", env.name),
            None => env.name.to_string(),
        };
        let live = self.live_locks()?;
        let held = live
            .iter()
            .find(|l| l.env == env.name.as_str() && l.app.as_deref() == app);
        if let Some(l) = held {
            policy::may_unlock(&policy, env, &l.holder, &req.actor, &req.memberships).map_err(
                |r| {
                    Fail::Refused(format!(
                        "{scope} is {}; {}",
                        l.describe(self.clock.now()),
                        r.0
                    ))
                },
            )?;
        } else {
            let others: Vec<String> = live
                .iter()
                .filter(|l| l.env == env.name.as_str())
                .map(Lock::scope)
                .collect();
            let hint = if others.is_empty() {
                String::new()
            } else {
                format!(" (locked: {})", others.join(", "))
            };
            return Err(Fail::Refused(format!("{scope} is not locked{hint}")));
        }
        let removed = self.journal.remove_lock(env.name.as_str(), app)?;
        super::checkpoint("lock released");
        let was = removed
            .map(|l| format!(" (was locked by {}: {})", l.holder, l.reason))
            .unwrap_or_default();
        Ok(Reply::done(format!("{scope} is unlocked{was}")))
    }

    /// The LOCK cell of `status` for `app` in `env`.
    pub(super) fn hold_cell(&self, env: &Environment, app: &str, locks: &[Lock]) -> String {
        let now = self.clock.now();
        if let Some(f) = env.freeze.iter().find(|f| f.active_at(now)) {
            return format!("frozen ({})", f.text);
        }
        match locks.iter().find(|l| l.covers(env.name.as_str(), app)) {
            Some(l) => format!("{} by {}: {}", scope_word(l), l.holder, l.reason),
            None => "-".into(),
        }
    }
}

/// Lock and unlock are for those who may deploy or approve in `env`.
fn may_lock(policy: &Policy, env: &Environment, req: &Request) -> Result<()> {
    policy::decide(
        policy,
        env,
        Verb::Lock,
        &req.actor,
        req.channel.as_deref(),
        &req.memberships,
    )
    .map(drop)
    .map_err(|r| Fail::Refused(r.0))
}

fn scope_word(l: &Lock) -> &'static str {
    if l.app.is_some() {
        "app lock"
    } else {
        "env lock"
    }
}
