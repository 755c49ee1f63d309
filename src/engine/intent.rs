//! Resolving a writing verb (deploy, promote, rollback) into what it means
//! here: the environment, each app's target and the version to set, the
//! request in words. Promotion reads the source environment and checks its
//! soak; rollback finds the previous value in history.

use super::{Engine, Fail, Request, Result, env_of, render, target_of};
use crate::policy::{Environment, Policy, Target};
use hoist_commands::{Command, Name, Version};

/// What a write request resolved to before planning.
pub(super) struct Intent<'p> {
    pub env: &'p Environment,
    pub edits: Vec<(Name, Target, Version)>,
    pub summary: String,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub dry_run: bool,
}

impl Intent<'_> {
    /// What to set where, in the form the config repo plans.
    pub fn targets(&self) -> Vec<(Target, Version)> {
        self.edits
            .iter()
            .map(|(_, t, v)| (t.clone(), v.clone()))
            .collect()
    }

    pub fn apps(&self) -> Vec<Name> {
        self.edits.iter().map(|(a, ..)| a.clone()).collect()
    }
}

impl Engine {
    /// Resolve the verb into environment, targets and versions.
    pub(super) fn intent<'p>(
        &self,
        policy: &'p Policy,
        tip: &str,
        req: &Request,
    ) -> Result<Intent<'p>> {
        let targets = |apps: &[Name], env: &Name| -> Result<Vec<(Name, Target)>> {
            apps.iter()
                .map(|a| Ok((a.clone(), target_of(policy, a, env)?)))
                .collect()
        };
        Ok(match &req.command {
            Command::Deploy(d) => Intent {
                env: env_of(policy, &d.env)?,
                edits: targets(&d.apps, &d.env)?
                    .into_iter()
                    .map(|(a, t)| (a, t, d.version.clone()))
                    .collect(),
                summary: format!(
                    "deploy {} {} to {}",
                    render::names(&d.apps),
                    d.version,
                    d.env
                ),
                reason: d.reason.clone(),
                ticket: d.ticket.clone(),
                dry_run: d.dry_run,
            },
            Command::Promote(p) => {
                let from = env_of(policy, &p.from)?;
                let to = env_of(policy, &p.to)?;
                if let Some((expected, _)) = &to.promote_from
                    && expected != &from.name
                {
                    return Err(Fail::Refused(format!(
                        "{} takes promotions from {expected}, not from {}",
                        to.name, from.name
                    )));
                }
                let from_tip = if from.branch == to.branch {
                    tip.to_string()
                } else {
                    self.repo.refresh(&from.branch)?
                };
                let mut edits = Vec::new();
                let mut versions = Vec::new();
                for (app, target) in targets(&p.apps, &p.to)? {
                    let source = target_of(policy, &app, &p.from)?;
                    let value = self.repo.read_value(&from_tip, &source)?.ok_or_else(|| {
                        Fail::Refused(format!("{app} has no version in {}", from.name))
                    })?;
                    let version: Version = value.parse().map_err(|_| {
                        Fail::Refused(format!(
                            "{app} in {} holds `{value}`, which is not a version hoist can promote",
                            from.name
                        ))
                    })?;
                    self.check_soak(to, &app, &from.name, &version)?;
                    versions.push(format!("{app} {version}"));
                    edits.push((app, target, version));
                }
                Intent {
                    env: to,
                    edits,
                    summary: format!(
                        "promote {} from {} to {} ({})",
                        render::names(&p.apps),
                        p.from,
                        p.to,
                        versions.join(", ")
                    ),
                    reason: p.reason.clone(),
                    ticket: p.ticket.clone(),
                    dry_run: p.dry_run,
                }
            }
            Command::Rollback(r) => {
                let env = env_of(policy, &r.env)?;
                let target = target_of(policy, &r.app, &r.env)?;
                let version = match &r.to {
                    Some(v) => v.clone(),
                    None => self.previous_version(tip, &r.app, env, &target)?,
                };
                Intent {
                    env,
                    summary: format!("rollback {} in {} to {version}", r.app, r.env),
                    edits: vec![(r.app.clone(), target, version)],
                    reason: r.reason.clone(),
                    ticket: r.ticket.clone(),
                    dry_run: r.dry_run,
                }
            }
            _ => unreachable!("intent() is only called for writing verbs"),
        })
    }

    /// The value the target had before its current one, from history.
    fn previous_version(
        &self,
        tip: &str,
        app: &Name,
        env: &Environment,
        target: &Target,
    ) -> Result<Version> {
        let revisions = self.repo.history(tip, target, 50)?;
        let current = revisions.first().and_then(|r| r.value.clone());
        let previous = revisions
            .iter()
            .skip(1)
            .find_map(|r| r.value.clone().filter(|v| Some(v) != current.as_ref()));
        let value = previous.ok_or_else(|| {
            Fail::Refused(format!(
                "no earlier version of {app} in {} in the history of {}",
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

    /// `promote_from` + `soak`: the version must have rested in the source env.
    fn check_soak(
        &self,
        to: &Environment,
        app: &Name,
        from: &Name,
        version: &Version,
    ) -> Result<()> {
        let Some(soak) = to.soak_secs else {
            return Ok(());
        };
        let now = self.clock.now();
        let ops = self.journal.list().map_err(Fail::Error)?;
        let settled = ops.iter().rev().find_map(|op| {
            let matches = op.env == from.as_str()
                && op
                    .changes
                    .iter()
                    .any(|c| c.app == app.as_str() && c.new_value == version.to_string());
            let since = if self.cluster.is_some() {
                op.entered("healthy")
            } else {
                op.entered("pushed")
            };
            matches.then_some(since).flatten()
        });
        match settled {
            Some(t) if now - t >= soak as i64 => Ok(()),
            Some(t) => Err(Fail::Refused(format!(
                "{app} {version} has been in {from} for {}s; {} needs {}s",
                now - t,
                to.name,
                soak
            ))),
            None => Err(Fail::Refused(format!(
                "{app} {version} was not deployed to {from} by hoist, so its soak in {from} cannot be shown"
            ))),
        }
    }
}
