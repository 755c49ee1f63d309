//! Where a rollback may go, read from the journal (what hoist saw settle),
//! never from commit messages. A version *settled* in an environment when
//! its operation became Healthy there, or, where nothing follows that app's
//! rollout (no cluster, or no Argo CD / Flux object named for it), when it
//! was pushed; a pull request a person merged before hoist's quorum never
//! settles (it was followed, but nobody approved it). A rollback *moves away from* the value it replaces; that value
//! is no rollback target again until it settles anew (someone deploys it).
//!
//! - `rollback APP in ENV` goes to the newest version that settled *before*
//!   the current one, skipping the current value and every value a rollback
//!   moved away from, so a second rollback goes further back instead of
//!   toggling back to the broken version.
//! - `rollback APP in ENV to V` names a version that settled there and was
//!   not rolled back from; anything else is refused (a `deploy`, with every
//!   gate, is the way to put a version that never ran there).
//! - When the journal knows no earlier version, the previous value in git
//!   history is used, but as a gated change: approvals, locks, freezes and
//!   soak apply even from an incident channel, because nobody saw it run.

use super::ports::WatchRequest;
use super::{Engine, Fail, Operation, Result, State};
use crate::policy::{Environment, Policy, Target};
use hoist_commands::{Name, Version};
use std::collections::HashMap;

/// What a value deploys, for comparing values: its digest when it has one
/// (`v1@sha256:x` and `sha256:x` run the same image), else the whole value.
/// A digest-only deploy keeps the tag, so the file reads back `TAG@sha256:...`
/// where the operation asked for `sha256:...`.
pub(super) fn identity(value: &str) -> &str {
    match value.parse::<Version>() {
        // A version with a digest holds `sha256:` exactly once.
        Ok(v) if v.digest().is_some() => value.find("sha256:").map_or(value, |at| &value[at..]),
        // Anything else (a tag, or a value that is no version) is itself.
        _ => value,
    }
}

/// Where a rollback goes, and whether it may use the incident path.
pub(super) struct RollbackTarget {
    pub version: Version,
    /// The journal saw this version settle here: break-glass may apply.
    /// False for a value taken from git history: every gate applies.
    pub settled: bool,
    pub notes: Vec<String>,
}

/// A version that settled: (time, op id, value written, version asked).
type Settled = (i64, u64, String, String);

/// What the journal says about one app in one environment.
#[derive(Debug, Default)]
pub(super) struct Record {
    /// In the order they settled.
    settled: Vec<Settled>,
    /// [`identity`] of a value -> the rollback that moved away from it (and
    /// it did not settle again since).
    rolled_back: HashMap<String, u64>,
}

impl Record {
    fn settled_as(&self, version: &Version) -> Option<&Settled> {
        let v = version.to_string();
        let v = identity(&v);
        self.settled
            .iter()
            .rev()
            .find(|(_, _, value, asked)| identity(asked) == v || identity(value) == v)
    }

    /// The rollback that moved away from `value`, if it did not settle since.
    pub(super) fn rolled_back_by(&self, value: &str) -> Option<u64> {
        self.rolled_back.get(identity(value)).copied()
    }

    /// "v1 (rolled back from by #3), ..." for messages.
    fn skipped(&self) -> String {
        let mut skipped: Vec<String> = self
            .rolled_back
            .iter()
            .map(|(v, by)| format!("{v} (rolled back from by #{by})"))
            .collect();
        skipped.sort();
        skipped.join(", ")
    }
}

impl Engine {
    /// Does the cluster follow `app`'s rollout in `env` under `policy`?
    pub(super) fn followed(&self, policy: &Policy, app: &str, env: &str) -> bool {
        let Some(cluster) = &self.cluster else {
            return false;
        };
        let watch = app
            .parse::<Name>()
            .ok()
            .and_then(|a| policy.app(&a))
            .and_then(|a| a.watch.clone());
        cluster.follows(&WatchRequest {
            app: app.to_string(),
            env: env.to_string(),
            watch,
            revision: String::new(),
            timeout_secs: 0,
        })
    }

    /// When `op` settled `app` in its environment: Healthy, or pushed while
    /// it rests there with nothing following the app's rollout (never once
    /// it ended Degraded, Failed or TimedOut). `None`: it did not (yet).
    pub(super) fn settled_at(&self, op: &Operation, app: &str, policy: &Policy) -> Option<i64> {
        if merged_short(op) {
            return None;
        }
        if let Some(t) = op
            .entered("healthy")
            .or_else(|| super::ordered::settled(op, app))
        {
            return Some(t);
        }
        let resting = matches!(op.state, State::Pushed { .. } | State::Merged { .. });
        (resting && !self.followed(policy, app, &op.env))
            .then(|| out_at(op))
            .flatten()
    }

    /// The settled versions of `app` in environment `env` and what
    /// rollbacks left behind.
    pub(super) fn rollback_record(
        &self,
        policy: &Policy,
        ops: &[Operation],
        app: &Name,
        env: &str,
    ) -> Record {
        // (time, op id, is the settle event, change)
        let mut events = Vec::new();
        for op in ops.iter().filter(|op| op.env == env) {
            for c in op.changes.iter().filter(|c| c.app == app.as_str()) {
                if op.verb == "rollback"
                    && let Some(t) = out_at(op)
                {
                    events.push((t, op.id, false, c));
                }
                if let Some(t) = self.settled_at(op, app.as_str(), policy) {
                    events.push((t, op.id, true, c));
                }
            }
        }
        // A rollback moves away (at its push) before its own value settles.
        events.sort_by_key(|(t, id, settle, _)| (*t, *id, *settle));
        let mut record = Record::default();
        for (t, id, settle, c) in events {
            if settle {
                record.rolled_back.remove(identity(&c.new_value));
                record
                    .settled
                    .push((t, id, c.new_value.clone(), c.version.clone()));
            } else if let Some(old) = &c.old_value {
                record.rolled_back.insert(identity(old).to_string(), id);
            }
        }
        record
    }

    /// Where `rollback app in env [to V]` goes (see the module's rules).
    pub(super) fn rollback_target(
        &self,
        policy: &Policy,
        tip: &str,
        app: &Name,
        env: &Environment,
        target: &Target,
        to: Option<&Version>,
    ) -> Result<RollbackTarget> {
        let ops = self.journal.of_app(env.name.as_str(), app.as_str())?;
        let record = self.rollback_record(policy, &ops, app, env.name.as_str());
        if let Some(v) = to {
            let Some((_, id, value, _)) = record.settled_as(v) else {
                return Err(Fail::Refused(format!(
                    "{app} {v} never settled in {} (hoist saw it neither healthy nor, where nothing \
                     follows the rollout, pushed there), so it is not a rollback target; \
                     `deploy {app} {v} to {}` puts it there with every gate",
                    env.name, env.name
                )));
            };
            if let Some(by) = record.rolled_back_by(value) {
                return Err(Fail::Refused(format!(
                    "{app} {v} was rolled back from in {} by #{by} (after #{id} put it there), \
                     so it is not a rollback target; `deploy {app} {v} to {}` brings it back \
                     with every gate",
                    env.name, env.name
                )));
            }
            return Ok(RollbackTarget {
                version: v.clone(),
                settled: true,
                notes: Vec::new(),
            });
        }
        let current = self.repo.read_value(tip, target)?;
        let current = current.as_deref().map(identity);
        // Only what settled before the current value last settled counts.
        let before = current
            .and_then(|cur| {
                record
                    .settled
                    .iter()
                    .rposition(|(_, _, value, _)| identity(value) == cur)
            })
            .unwrap_or(record.settled.len());
        let found = record.settled[..before]
            .iter()
            .rev()
            .find(|(_, _, value, _)| {
                Some(identity(value)) != current && record.rolled_back_by(value).is_none()
            });
        if let Some((_, _, _, asked)) = found
            && let Ok(version) = asked.parse()
        {
            return Ok(RollbackTarget {
                version,
                settled: true,
                notes: Vec::new(),
            });
        }
        let version = self.previous_version(tip, app, env, target, &record)?;
        Ok(RollbackTarget {
            notes: vec![format!(
                "hoist has no record of an earlier version of {app} settling in {}; {version} is \
                 the previous value in git history, so this rollback passes every gate \
                 (approvals, locks, freezes, soak) like a deploy",
                env.name
            )],
            version,
            settled: false,
        })
    }

    /// The value the target had before its current one, from git history,
    /// skipping values a rollback moved away from.
    fn previous_version(
        &self,
        tip: &str,
        app: &Name,
        env: &Environment,
        target: &Target,
        record: &Record,
    ) -> Result<Version> {
        let revisions = self.repo.history(tip, target, 50)?;
        let current = revisions.first().and_then(|r| r.value.clone());
        let current = current.as_deref().map(identity);
        let previous = revisions.iter().skip(1).find_map(|r| {
            r.value
                .clone()
                .filter(|v| Some(identity(v)) != current && record.rolled_back_by(v).is_none())
        });
        let value = previous.ok_or_else(|| {
            let skipped = record.skipped();
            let skipped = if skipped.is_empty() {
                String::new()
            } else {
                format!("; not a target: {skipped}")
            };
            Fail::Refused(format!(
                "no earlier version of {app} in {} to roll back to in the history of {}{skipped}",
                env.name, target.file
            ))
        })?;
        value.parse().map_err(|_| {
            Fail::Refused(format!(
                "the earlier value of {app} in {} is `{value}`, which is not a version",
                env.name
            ))
        })
    }
}

/// A pull request merged on the forge by a person before hoist's quorum:
/// followed like any merge, but it never settles (it is no soak source,
/// no `promote_from` proof and no rollback target).
pub(super) fn merged_short(op: &Operation) -> bool {
    op.pr.as_ref().is_some_and(|p| p.merged.is_some()) && (op.approvers.len() as u32) < op.needed
}

/// When `op`'s change reached its environment's branch: pushed, or its
/// pull request merged.
pub(super) fn out_at(op: &Operation) -> Option<i64> {
    op.entered("pushed").or_else(|| op.entered("merged"))
}
