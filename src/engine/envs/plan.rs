//! What an environment operation writes, planned on a base commit like any
//! change, so the lane can plan it again on whatever tip it lands on: a
//! creation copies the template's directories (`envs::layout`, each file
//! through `envs::substitute`) and appends the registry entry; a
//! destruction removes the environment's directories and its entry; an
//! extension edits the entry's `expires`. Every check that depends on the
//! repo (the name taken meanwhile, `max` reached meanwhile, a directory
//! already there) is made here, on the commit the change is written on.

use super::super::ports::{Plan, RepoError};
use super::super::{Change, Engine, Fail, Operation, Result};
use crate::envs::{self, Copy, Entry, REGISTRY_FILE};
use crate::policy::{Policy, Target};
use hoist_commands::Name;
use std::borrow::Cow;

/// The most bytes one environment's copies may hold in all.
pub(in crate::engine) const MAX_COPY_BYTES: usize = 32 << 20;

/// What an environment operation writes, under the policy it was decided by.
#[derive(Debug, Clone)]
pub(in crate::engine) enum EnvWork {
    Create {
        entry: Entry,
        copies: Vec<Copy>,
        max: u32,
        /// Per app: its target in the template, its file in the new environment.
        apps: Vec<(String, Target, String)>,
    },
    Destroy {
        name: Name,
        /// The environment's directories (one per app, deduplicated).
        dirs: Vec<String>,
        /// A destroy by the runner: the entry must still expire by then.
        expired_by: Option<i64>,
    },
    Extend {
        name: Name,
        expires: i64,
    },
}

/// The registry entry an `env-create` operation writes.
pub(in crate::engine) fn entry_of(op: &Operation) -> Result<Entry> {
    let change = op
        .environment
        .as_ref()
        .ok_or_else(|| Fail::Error(format!("journal: #{} names no environment", op.id)))?;
    Ok(Entry {
        name: super::super::journal_name(&op.env)?,
        template: super::super::journal_name(&change.template)?,
        owner: op.actor.clone(),
        created: op.created_at,
        expires: change.expires,
        operation: (op.id > 0).then_some(op.id),
    })
}

/// The registry's text when it records `name`: destroy and extend act only
/// on environments made with `env create`.
fn recording(
    text: Option<String>,
    entries: &[Entry],
    name: &Name,
) -> std::result::Result<String, RepoError> {
    text.filter(|_| entries.iter().any(|e| &e.name == name))
        .ok_or_else(|| {
            RepoError::Target(format!(
                "`{name}` is not an environment made with `env create`"
            ))
        })
}

impl Engine {
    /// The rules `op` is judged by: `policy`, plus, for a creation not yet
    /// written, the environment it makes (so who may approve it, its gates
    /// and what is followed are the new environment's, as the rule says).
    pub(in crate::engine) fn rules_for<'p>(
        &self,
        op: &Operation,
        policy: &'p Policy,
    ) -> Result<Cow<'p, Policy>> {
        let name = super::super::journal_name(&op.env)?;
        if op.verb != "env-create" || policy.env(&name).is_some() {
            return Ok(Cow::Borrowed(policy));
        }
        let mut with = policy.clone();
        envs::add(&mut with, &entry_of(op)?).map_err(Fail::Refused)?;
        Ok(Cow::Owned(with))
    }

    /// What `op` writes under `policy` (which already holds the environment
    /// a creation makes: see [`Engine::rules_for`]).
    pub(in crate::engine) fn env_work(&self, op: &Operation, policy: &Policy) -> Result<EnvWork> {
        let name = super::super::journal_name(&op.env)?;
        let rule = policy.environments_from.as_ref().ok_or_else(|| {
            Fail::Refused("hoist.yaml no longer has an environments_from rule".into())
        })?;
        match op.verb.as_str() {
            "env-create" => {
                let entry = entry_of(op)?;
                if policy.env(&name).is_some_and(|e| e.made.is_none()) {
                    return Err(Fail::Refused(format!(
                        "an environment named `{name}` is now written in hoist.yaml"
                    )));
                }
                // The layout as the template is now, without the new environment.
                let mut without = policy.clone();
                without.environments.retain(|e| e.name != name);
                for app in &mut without.apps {
                    app.targets.remove(&name);
                }
                let copies =
                    envs::layout(&without, &entry.template, &name).map_err(Fail::Refused)?;
                let apps = policy
                    .apps
                    .iter()
                    .filter_map(|a| {
                        let from = a.targets.get(&entry.template)?;
                        let to = a.targets.get(&name)?;
                        Some((a.name.to_string(), from.clone(), to.file.clone()))
                    })
                    .collect();
                Ok(EnvWork::Create {
                    entry,
                    copies,
                    max: rule.max,
                    apps,
                })
            }
            "env-destroy" => {
                // What the creation wrote, when the journal knows it; else
                // where the environment's targets are now.
                let made = policy.env(&name).and_then(|e| e.made.as_ref());
                let written = made
                    .and_then(|m| m.operation)
                    .and_then(|id| self.journal.get(id).ok().flatten())
                    .filter(|c| c.verb == "env-create" && c.env == op.env)
                    .and_then(|c| c.environment)
                    .map(|c| c.dirs)
                    .unwrap_or_default();
                let mut dirs: Vec<String> = if written.is_empty() {
                    policy
                        .apps
                        .iter()
                        .filter_map(|a| a.targets.get(&name))
                        .filter_map(|t| t.file.rsplit_once('/').map(|(dir, _)| dir.to_string()))
                        .collect()
                } else {
                    written
                };
                dirs.sort();
                dirs.dedup();
                let change = op.environment.as_ref();
                let expired_by = change.filter(|c| c.expired).map(|c| c.expires);
                Ok(EnvWork::Destroy {
                    name,
                    dirs,
                    expired_by,
                })
            }
            "env-extend" => {
                let expires = op.environment.as_ref().map_or(0, |c| c.expires);
                Ok(EnvWork::Extend { name, expires })
            }
            other => Err(Fail::Error(format!(
                "journal: `{other}` is not an env verb"
            ))),
        }
    }

    /// The commit `work` makes on `base`, and for a creation the apps'
    /// versions in the new environment (the template's at `base`).
    pub(in crate::engine) fn env_plan(
        &self,
        branch: &str,
        base: &str,
        work: &EnvWork,
    ) -> std::result::Result<(Plan, Option<Vec<Change>>), RepoError> {
        let registry = self.repo.read_file(base, REGISTRY_FILE)?;
        let text = registry
            .map(String::from_utf8)
            .transpose()
            .map_err(|_| RepoError::Target(format!("{REGISTRY_FILE} is not UTF-8")))?;
        let entries = match &text {
            Some(t) => envs::parse_registry(t)
                .map_err(|e| RepoError::Target(format!("{REGISTRY_FILE}: {e}")))?,
            None => Vec::new(),
        };
        let registry_err = |e: String| RepoError::Target(format!("{REGISTRY_FILE}: {e}"));
        let mut plan = Plan {
            branch: branch.to_string(),
            base: base.to_string(),
            files: Vec::new(),
            writes: Vec::new(),
            removes: Vec::new(),
        };
        let changes = match work {
            EnvWork::Create {
                entry,
                copies,
                max,
                apps,
            } => {
                if entries.iter().any(|e| e.name == entry.name) {
                    return Err(RepoError::Target(format!(
                        "`{}` is already an environment (made meanwhile); nothing was written",
                        entry.name
                    )));
                }
                if entries.len() >= *max as usize {
                    return Err(RepoError::Target(format!(
                        "at most {max} environments may be made from templates and {} exist; \
                         destroy one first",
                        entries.len()
                    )));
                }
                self.copy_into(&mut plan, base, entry, copies)?;
                let text = envs::append_entry(text.as_deref(), entry).map_err(registry_err)?;
                plan.writes
                    .push((REGISTRY_FILE.to_string(), text.into_bytes()));
                Some(self.versions_of(base, apps)?)
            }
            EnvWork::Destroy {
                name,
                dirs,
                expired_by,
            } => {
                if let Some(bound) = expired_by
                    && let Some(e) = entries.iter().find(|e| &e.name == name)
                    && e.expires > *bound
                {
                    return Err(RepoError::Target(format!(
                        "{name} was extended meanwhile (it expires at {} UTC); not destroyed",
                        crate::engine::render::date(e.expires)
                    )));
                }
                let text = recording(text, &entries, name)?;
                for dir in dirs {
                    plan.removes.extend(self.repo.list_files(base, dir)?);
                }
                let text = envs::remove_entry(&text, name.as_str()).map_err(registry_err)?;
                plan.writes
                    .push((REGISTRY_FILE.to_string(), text.into_bytes()));
                None
            }
            EnvWork::Extend { name, expires } => {
                let text = recording(text, &entries, name)?;
                let new =
                    envs::set_expires(&text, name.as_str(), *expires).map_err(registry_err)?;
                if new != text {
                    plan.writes
                        .push((REGISTRY_FILE.to_string(), new.into_bytes()));
                }
                None
            }
        };
        Ok((plan, changes))
    }

    /// Every file of each copy's template directory, written under its new
    /// directory with the template's name substituted.
    fn copy_into(
        &self,
        plan: &mut Plan,
        base: &str,
        entry: &Entry,
        copies: &[Copy],
    ) -> std::result::Result<(), RepoError> {
        let mut bytes = 0usize;
        for copy in copies {
            if !self.repo.list_files(base, &copy.to)?.is_empty() {
                return Err(RepoError::Target(format!(
                    "{}/ already exists; choose another name (nothing was written)",
                    copy.to
                )));
            }
            let files = self.repo.list_files(base, &copy.from)?;
            if files.is_empty() {
                return Err(RepoError::Target(format!("{}/ holds no files", copy.from)));
            }
            for path in files {
                let Some(rest) = path.strip_prefix(&copy.from) else {
                    continue;
                };
                let data = self.repo.read_file(base, &path)?.unwrap_or_default();
                bytes += data.len();
                if bytes > MAX_COPY_BYTES {
                    return Err(RepoError::Target(format!(
                        "the template's directories hold more than {} MiB; hoist copies less",
                        MAX_COPY_BYTES >> 20
                    )));
                }
                let to = format!("{}{rest}", copy.to);
                if let Some(why) = crate::policy::target_file_problem(&to) {
                    return Err(RepoError::Target(format!("{to}: {why}")));
                }
                let data =
                    envs::substitute(&path, &data, entry.template.as_str(), entry.name.as_str());
                plan.writes.push((to, data));
            }
        }
        Ok(())
    }

    /// Each app's version in the new environment: its template's value at
    /// `base` (the copy is byte-identical there).
    fn versions_of(
        &self,
        base: &str,
        apps: &[(String, Target, String)],
    ) -> std::result::Result<Vec<Change>, RepoError> {
        apps.iter()
            .map(|(app, from, to)| {
                let value = self.repo.read_value(base, from)?.unwrap_or_default();
                Ok(Change {
                    app: app.clone(),
                    version: value.clone(),
                    file: to.clone(),
                    old_value: None,
                    new_value: value,
                    lines: Vec::new(),
                })
            })
            .collect()
    }
}
