//! Where an environment made from a template puts its files, and the
//! environment itself as the policy sees it. For each app with a target in
//! the template, the directory holding that target file is copied, the
//! template's name replaced in its path (`apps/api/overlays/staging/` ->
//! `apps/api/overlays/pr-123/`). A layout where that cannot work is refused
//! with words saying why: a target not in a directory named after the
//! template, a directory that also holds another environment's target (the
//! copy would carry that environment's files too), or a copy landing where
//! an environment already lives. A template hoist cannot honour is refused
//! too: one changed through pull requests (environments are written by
//! push), or an app followed through one object in every environment.

use super::{Copy, Entry};
use crate::policy::{Environment, Policy, Target, Via, Watch};
use hoist_commands::Name;

/// The directory of `file` (`""` for a file at the root).
fn dir_of(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// `dir` with every segment equal to `from` replaced by `to`, or `None`
/// when no segment is.
fn moved(dir: &str, from: &str, to: &str) -> Option<String> {
    if dir.is_empty() || !dir.split('/').any(|s| s == from) {
        return None;
    }
    Some(
        dir.split('/')
            .map(|s| if s == from { to } else { s })
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// Is `file` inside directory `dir` (at any depth)?
fn under(file: &str, dir: &str) -> bool {
    file.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Every target file of the policy: (env, app, file).
fn targets(policy: &Policy) -> impl Iterator<Item = (&Name, &Name, &str)> {
    policy.apps.iter().flat_map(|app| {
        app.targets
            .iter()
            .map(move |(env, t)| (env, &app.name, t.file.as_str()))
    })
}

/// The template's directories, one per app (deduplicated, first app kept):
/// (app, directory), or why the layout cannot be copied. Independent of the
/// new name, so `check` can judge a layout before anyone asks for one.
pub fn sources(policy: &Policy, template: &Name) -> Result<Vec<(Name, String)>, String> {
    let mut out: Vec<(Name, String)> = Vec::new();
    for app in &policy.apps {
        let Some(target) = app.targets.get(template) else {
            continue;
        };
        let dir = dir_of(&target.file);
        if moved(dir, template.as_str(), template.as_str()).is_none() {
            return Err(format!(
                "app `{}`: its {template} target {} is not in a directory named after {template}, \
                 so hoist cannot copy it for a new environment",
                app.name, target.file
            ));
        }
        for (env, other_app, file) in targets(policy) {
            if env != template && under(file, dir) {
                return Err(format!(
                    "app `{}`: its {template} directory {dir}/ also holds {env}'s target {file} \
                     (app `{other_app}`), so a copy of it would carry {env}'s files; give each \
                     environment a directory of its own",
                    app.name
                ));
            }
        }
        if !out.iter().any(|(_, d)| d == dir) {
            out.push((app.name.clone(), dir.to_string()));
        }
    }
    // A directory inside another one is copied with it, not twice.
    let all: Vec<String> = out.iter().map(|(_, d)| d.clone()).collect();
    out.retain(|(_, d)| !all.iter().any(|outer| under(d, outer)));
    if out.is_empty() {
        return Err(format!(
            "no app has a target in {template}, so an environment made from it would hold nothing"
        ));
    }
    Ok(out)
}

/// Why environments cannot be made from `template` as the policy stands,
/// beyond its layout ([`sources`]): one line each, in the words `check`
/// shows at the rule and `env create` refuses with. Empty when `template`
/// is not an environment (said elsewhere). Whether the template's branch
/// is the one `hoist.yaml` lives on needs the remote, so the engine judges
/// that.
pub fn template_problems(policy: &Policy, template: &Name) -> Vec<String> {
    let Some(env) = policy.env(template) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if env.via == Via::PullRequest {
        out.push(format!(
            "environments are written by push; {template} changes through pull requests, so \
             hoist cannot make environments from it"
        ));
    }
    for app in &policy.apps {
        if !app.targets.contains_key(template) {
            continue;
        }
        // The object must differ per environment: `{env}` in its name (or
        // in its namespace, which makes it another object too).
        let (namespace, name) = match &app.watch {
            None => continue,
            Some(Watch::ArgoCd {
                namespace,
                application,
            }) => (namespace, application),
            Some(Watch::Flux {
                namespace, name, ..
            }) => (namespace, name),
        };
        if !name.contains("{env}") && !namespace.contains("{env}") {
            out.push(format!(
                "app `{}` is followed through `{}` in every environment; environments made \
                 from {template} need `{{env}}` in its name so each is followed on its own",
                app.name,
                crate::engine::one_line(name, 80)
            ));
        }
    }
    out
}

/// What `env create NAME from TEMPLATE` copies: one [`Copy`] per directory,
/// in the policy's app order, or why it cannot.
pub fn layout(policy: &Policy, template: &Name, name: &Name) -> Result<Vec<Copy>, String> {
    let mut out = Vec::new();
    for (app, from) in sources(policy, template)? {
        let to = moved(&from, template.as_str(), name.as_str())
            .expect("sources keeps only directories named after the template");
        if let Some((env, other_app, file)) = targets(policy).find(|(_, _, f)| under(f, &to)) {
            return Err(format!(
                "app `{app}`: {name}'s copy of {from}/ would go to {to}/, where {env}'s target \
                 {file} (app `{other_app}`) already is"
            ));
        }
        out.push(Copy { app, from, to });
    }
    Ok(out)
}

/// The target `target` (of the template) for an environment named `name`:
/// the same file name and locator in the moved directory.
fn moved_target(target: &Target, template: &Name, name: &Name) -> Option<Target> {
    let dir = dir_of(&target.file);
    let file_name = target.file.get(dir.len() + 1..)?;
    let to = moved(dir, template.as_str(), name.as_str())?;
    Some(Target {
        file: format!("{to}/{file_name}"),
        locator: target.locator.clone(),
        pos: target.pos,
    })
}

/// Add the environment `entry` records to `policy`, as `env create` made it:
/// the template's settings with the rule's deployers and approvals, no
/// promotion, soak, break-glass, incident channels, alerts or ticket rule of
/// its own, and a target for every app the template has one for, in its
/// copied directory. The ticket rule is cleared because `env create` takes
/// no `--ticket`: the rule's `approvals` govern made environments instead.
/// Refused when the name is not allowed ([`check_name`](super::check_name)),
/// the layout cannot be copied ([`layout`]) or the template cannot be
/// honoured ([`template_problems`]), in their words.
pub fn add(policy: &mut Policy, entry: &Entry) -> Result<(), String> {
    let Some(rule) = &policy.environments_from else {
        return Err(format!(
            "`{}` was made from a template, but hoist.yaml has no environments_from now",
            entry.name
        ));
    };
    if rule.template != entry.template {
        return Err(format!(
            "`{}` was made from {}, but environments_from's template is {} now",
            entry.name, entry.template, rule.template
        ));
    }
    super::check_name(policy, &entry.name)?;
    if let Some(why) = template_problems(policy, &entry.template)
        .into_iter()
        .next()
    {
        return Err(why);
    }
    layout(policy, &entry.template, &entry.name)?;
    let template = policy.env(&entry.template).ok_or_else(|| {
        format!(
            "`{}`'s template {} is not an environment",
            entry.name, entry.template
        )
    })?;
    let env = Environment {
        name: entry.name.clone(),
        pos: rule.pos,
        deployers: rule.deployers.clone(),
        approvals: rule.approvals.clone(),
        promote_from: None,
        soak_secs: None,
        break_glass: None,
        incident_channels: Vec::new(),
        alerts: None,
        ticket: None,
        made: Some(entry.clone()),
        ..template.clone()
    };
    policy.environments.push(env);
    let (template, name) = (&entry.template, &entry.name);
    for app in &mut policy.apps {
        if let Some(t) = app
            .targets
            .get(template)
            .and_then(|t| moved_target(t, template, name))
        {
            app.targets.insert(name.clone(), t);
        }
    }
    Ok(())
}

/// Add every entry of the registry; the problems of those skipped (one
/// line each, naming the entry).
pub fn merge(policy: &mut Policy, entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| {
            add(policy, e).err().map(|why| {
                format!(
                    "{}: environment `{}` skipped: {why}",
                    super::REGISTRY_FILE,
                    e.name
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
