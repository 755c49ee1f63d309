//! Expiry of environments made from templates: the leader's chore. An hour
//! before an environment expires, its creator's thread is told once (how to
//! keep it); once it has expired, the runner destroys it like `env destroy`
//! would (one signed commit, requested by `hoist:expiry`) and says so in the
//! same thread. "Told once" is a journal note, so a restart or a new leader
//! does not say it again.

use super::super::{Engine, Operation, Request, render};
use super::EXPIRY_ACTOR;
use crate::envs::Entry;
use crate::policy::Policy;
use hoist_commands::{Command, Env, EnvDestroy};

/// How long before expiry the creator is warned.
pub(in crate::engine) const WARN_BEFORE_SECS: i64 = 3600;

impl Engine {
    /// Warn about environments that expire within the hour; destroy those
    /// that expired. Each at most once per round; failures are logged and
    /// tried again next round.
    pub(in crate::engine) fn expire_environments(&self, policy: &Policy) {
        let now = self.clock.now();
        for entry in policy.environments.iter().filter_map(|e| e.made.as_ref()) {
            if now >= entry.expires {
                self.destroy_expired(entry);
            } else if entry.expires - now <= WARN_BEFORE_SECS {
                self.warn_expiring(entry, now);
            }
        }
    }

    /// The operation that created `entry`, whose thread hears about it.
    fn creation_of(&self, entry: &Entry) -> Option<Operation> {
        let id = entry.operation?;
        let op = self.journal.get(id).ok().flatten()?;
        (op.verb == "env-create" && op.env == entry.name.as_str()).then_some(op)
    }

    fn warn_expiring(&self, entry: &Entry, now: i64) {
        let key = format!("env-warned:{}:{}", entry.name, entry.expires);
        if matches!(self.journal.recall(&key), Ok(Some(_))) {
            return;
        }
        let text = format!(
            "{name} expires at {at} UTC (in {left}) and will then be destroyed; \
             `env extend {name} for 1d` keeps it longer",
            name = entry.name,
            at = render::date(entry.expires),
            left = render::age(entry.expires - now),
        );
        match self.creation_of(entry) {
            Some(op) => self.notify.reply(&op, &text),
            None => tracing::info!(env = %entry.name, "{text}"),
        }
        if let Err(e) = self.journal.remember(&key, "1") {
            tracing::warn!(env = %entry.name, error = %e.report(), "noting the expiry warning");
        }
    }

    fn destroy_expired(&self, entry: &Entry) {
        // One destruction at a time: one already under way is left alone.
        let under_way = self.journal.unfinished().map(|ops| {
            ops.iter().any(|o| {
                o.verb == "env-destroy"
                    && o.env == entry.name.as_str()
                    && o.created_at >= entry.created
            })
        });
        match under_way {
            Ok(false) => {}
            Ok(true) => return,
            Err(e) => {
                tracing::warn!(error = %e.report(), "chores: reading the journal");
                return;
            }
        }
        let creation = self.creation_of(entry);
        let req = Request {
            actor: EXPIRY_ACTOR.into(),
            channel: None,
            chat_link: creation.as_ref().map(|o| o.chat.clone()),
            memberships: Vec::new(),
            command: Command::Env(Env::Destroy(EnvDestroy {
                name: entry.name.clone(),
                reason: None,
            })),
        };
        let reason = Some(format!(
            "expired at {} UTC (made by {})",
            render::date(entry.expires),
            super::super::one_line(&entry.owner, 80)
        ));
        let reply = super::super::answer(self.env_change(
            &req,
            &entry.name,
            "env-destroy",
            None,
            reason,
            true,
        ));
        let done = reply.state == "done";
        let text = if done {
            format!(
                "{} expired and was destroyed: {}",
                entry.name,
                reply.message.lines().next().unwrap_or_default()
            )
        } else {
            format!(
                "{} expired, but destroying it failed: {}",
                entry.name,
                super::super::one_line(&reply.message, 300)
            )
        };
        if !done {
            // Tried again next round; said in the log, not in the thread each time.
            tracing::warn!(env = %entry.name, "{text}");
            return;
        }
        tracing::info!(env = %entry.name, "{text}");
        if let Some(op) = &creation {
            self.notify.reply(op, &text);
        }
    }
}
