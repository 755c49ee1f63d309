//! Resolving a writing verb (deploy, promote, rollback) into what it means
//! here: the environment, each app's target and the version to set, the
//! request in words. Promotion reads the source environment and checks its
//! soak; rollback goes where [`super::rollback`] says.

use super::rollback::identity;
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
    /// Things the requester should know about how the intent was resolved.
    pub notes: Vec<String>,
    /// Every gate applies even on the incident path (a rollback to a value
    /// nobody saw settle there).
    pub gated: bool,
    /// `edits` are an ordered plan, in dependency order (`super::ordered`).
    pub ordered: bool,
}

impl Intent<'_> {
    /// What to set where, in the form the config repo plans.
    pub fn targets(&self) -> Vec<(Target, Version)> {
        self.edits
            .iter()
            .map(|(_, t, v)| (t.clone(), v.clone()))
            .collect()
    }

    pub fn versions(&self) -> Vec<(Name, Version)> {
        self.edits
            .iter()
            .map(|(a, _, v)| (a.clone(), v.clone()))
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
        break_glass: bool,
    ) -> Result<Intent<'p>> {
        let targets = |apps: &[Name], env: &Name| -> Result<Vec<(Name, Target)>> {
            apps.iter()
                .map(|a| Ok((a.clone(), target_of(policy, a, env)?)))
                .collect()
        };
        Ok(match &req.command {
            Command::Deploy(d) => {
                let env = env_of(policy, &d.env)?;
                let mut notes = Vec::new();
                // `promote_from` holds for deploys too, or it could be sidestepped.
                if let Some((from, _)) = &env.promote_from {
                    for app in &d.apps {
                        notes.extend(self.check_soak(policy, env, app, from, &d.version)?);
                    }
                }
                Intent {
                    env,
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
                    ticket: d.ticket.as_ref().map(ToString::to_string),
                    dry_run: d.dry_run,
                    notes,
                    gated: false,
                    ordered: false,
                }
            }
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
                let mut notes = Vec::new();
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
                    notes.extend(self.check_soak(policy, to, &app, &from.name, &version)?);
                    edits.push((app, target, version));
                }
                let ordered = super::ordered::sort(policy, &mut edits);
                let versions: Vec<String> =
                    edits.iter().map(|(a, _, v)| format!("{a} {v}")).collect();
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
                    ticket: p.ticket.as_ref().map(ToString::to_string),
                    dry_run: p.dry_run,
                    notes,
                    gated: false,
                    ordered,
                }
            }
            Command::Rollback(r) => {
                let env = env_of(policy, &r.env)?;
                // Each app goes back to its own target, by the same rules as one.
                let (mut edits, mut notes, mut gated) = (Vec::new(), Vec::new(), false);
                for app in &r.apps {
                    let target = target_of(policy, app, &r.env)?;
                    let to = self.rollback_target(policy, tip, app, env, &target, r.to.as_ref())?;
                    notes.extend(to.notes);
                    if !to.settled
                        && let Some((from, _)) = &env.promote_from
                    {
                        notes.extend(self.check_soak(policy, env, app, from, &to.version)?);
                    }
                    if break_glass && to.settled {
                        notes.push(format!(
                            "incident path: locks and freezes do not apply; {app} in {} stays locked until `unlock {app} in {}`",
                            env.name, env.name
                        ));
                    }
                    gated |= !to.settled;
                    edits.push((app.clone(), target, to.version));
                }
                let summary = match &edits[..] {
                    [(app, _, version)] => format!("rollback {app} in {} to {version}", r.env),
                    many => format!(
                        "rollback {} in {} ({})",
                        render::names(&r.apps),
                        r.env,
                        many.iter()
                            .map(|(a, _, v)| format!("{a} {v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                Intent {
                    env,
                    summary,
                    edits,
                    reason: r.reason.clone(),
                    ticket: r.ticket.as_ref().map(ToString::to_string),
                    dry_run: r.dry_run,
                    notes,
                    gated,
                    ordered: false,
                }
            }
            _ => unreachable!("intent() is only called for writing verbs"),
        })
    }

    /// `promote_from` + `soak`: the version must have settled in the source
    /// env (Healthy; "pushed" where nothing follows the app's rollout) at
    /// least `soak` ago. Returns a note when "pushed" stood in for "healthy".
    pub(super) fn check_soak(
        &self,
        policy: &Policy,
        to: &Environment,
        app: &Name,
        from: &Name,
        version: &Version,
    ) -> Result<Option<String>> {
        if to.promote_from.is_none() && to.soak_secs.is_none() {
            return Ok(None);
        }
        let soak = to.soak_secs.unwrap_or(0);
        let now = self.clock.now();
        // The newest rollout of this version there decides: an older success
        // does not count after a later failure.
        let wanted = version.to_string();
        let ops = self
            .journal
            .of_version(from.as_str(), app.as_str(), &wanted)?;
        let latest = ops.iter().rev().find(|op| {
            op.env == from.as_str()
                && super::rollback::out_at(op).is_some()
                && op.changes.iter().any(|c| {
                    c.app == app.as_str()
                        && (identity(&c.version) == identity(&wanted)
                            || identity(&c.new_value) == identity(&wanted))
                })
        });
        let settled = match latest {
            Some(op) => match self.settled_at(op, app.as_str(), policy) {
                Some(t) => Some(t),
                None => {
                    return Err(Fail::Refused(format!(
                        "{app} {version}'s latest rollout in {from} (#{}) has not settled there \
                         ({}), so it does not count for {}'s soak",
                        op.id,
                        op.state.label(),
                        to.name
                    )));
                }
            },
            None => None,
        };
        // A version a rollback moved away from there did not prove itself.
        let record = self.rollback_record(policy, &ops, app, from.as_str());
        if let Some(by) = record.rolled_back_by(&version.to_string()) {
            return Err(Fail::Refused(format!(
                "{app} {version} was rolled back from in {from} by #{by}, so it does not count \
                 as settled there"
            )));
        }
        let followed = self.followed(policy, app.as_str(), from.as_str());
        let basis = if followed {
            "healthy"
        } else {
            "pushed (nothing follows its rollout there, so the time since the push counts)"
        };
        match settled {
            Some(t) if now - t >= soak as i64 => Ok((!followed).then(|| {
                format!("nothing follows {app}'s rollout in {from}: {app} {version} counts as settled there since it was pushed")
            })),
            Some(t) => Err(Fail::Refused(format!(
                "{app} {version} has been {basis} in {from} for {}; {} needs {} of soak",
                render::age(now - t),
                to.name,
                render::age(soak as i64)
            ))),
            None => Err(Fail::Refused(format!(
                "{app} {version} was not deployed to {from} by hoist, so its soak in {from} cannot be shown"
            ))),
        }
    }
}
