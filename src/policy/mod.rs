//! The repo's own rules (`hoist.yaml` at the config repo's root): who may do
//! what where. Pure: no I/O. `load` reads the file with positions, `check`
//! cross-references it, `decide` answers "may this actor do this in this
//! environment from this channel, and how many approvals does it need?".

mod decide;
mod freeze;
mod load;
mod model;
mod paths;
mod schema;

pub use decide::{Decision, Refusal, Verb, decide, may_unlock, may_vote};
pub use freeze::Freeze;
pub use load::{Problem, load};
pub use model::*;
pub use paths::{branch_problem, login_ok, target_file_problem};
pub use schema::schema;

use crate::yaml::Pos;

/// What `check` learns about a target from the repository: its file at the
/// tip of the environment's branch, read the way a deploy reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRead {
    /// The file is there and the target's value can be read from it.
    Readable,
    /// There is no such file at that tip.
    Missing,
    /// The branch itself is not in the repository.
    NoBranch,
    /// The file is there, but a deploy could not read or set its value (a
    /// wrong `yaml_path` or image name, not valid YAML, not UTF-8, too big).
    Unreadable(String),
}

/// What is wrong with the `environments_from` rule beyond its groups: a
/// template that is missing or itself made from a template, a name pattern
/// that does not compile (within its size limit), a layout that cannot be
/// copied, a template hoist cannot honour (changed through pull requests, or
/// an app followed through the same object in every environment).
fn environments_from_problems(policy: &Policy, rule: &EnvironmentsFrom) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(why) = crate::envs::name_regex(rule) {
        out.push(why);
    }
    match policy.env(&rule.template) {
        None => out.push(format!(
            "environments_from: template `{}` is not an environment of hoist.yaml",
            rule.template
        )),
        Some(env) if env.made.is_some() => out.push(format!(
            "environments_from: template `{}` was itself made from a template; name an \
             environment written in hoist.yaml",
            rule.template
        )),
        Some(_) => {
            for why in crate::envs::template_problems(policy, &rule.template) {
                out.push(format!("environments_from: {why}"));
            }
            if let Err(why) = crate::envs::sources(policy, &rule.template) {
                out.push(format!("environments_from: {why}"));
            }
        }
    }
    out
}

/// Cross-reference checks on a loaded policy. `read_target` says what each
/// target's file holds at the branch tip of its environment.
pub fn check(
    policy: &Policy,
    read_target: &dyn Fn(&Environment, &Target) -> TargetRead,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut push = |pos: Pos, message: String| problems.push(Problem { pos, message });
    let check_refs = |list: &[Principal], push: &mut dyn FnMut(Pos, String)| {
        for p in list {
            if let Principal::Group(g, pos) = p
                && !policy.groups.contains_key(g)
            {
                let known: Vec<&str> = policy.groups.keys().map(String::as_str).collect();
                let hint = hoist_commands::nearest(g, known.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                push(*pos, format!("unknown group `{g}`{hint}"));
            }
        }
    };
    if let Some(a) = &policy.policy_approvals {
        check_refs(&a.from, &mut push);
    }
    // An environment or app written twice is a duplicate key, reported by `load`.
    for env in &policy.environments {
        check_refs(&env.deployers, &mut push);
        check_refs(&env.approvals.from, &mut push);
        if let Some(bg) = &env.break_glass {
            check_refs(&bg.from, &mut push);
        }
        if let Some((from, pos)) = &env.promote_from {
            if policy.env(from).is_none() {
                push(
                    *pos,
                    format!("promote_from: environment `{from}` does not exist"),
                );
            } else if from == &env.name {
                push(
                    *pos,
                    format!("promote_from: `{from}` cannot promote from itself"),
                );
            }
        }
        if let Some(rule) = &env.ticket
            && let Some(p) = &rule.pattern
            && let Err(e) = regex::Regex::new(p)
        {
            push(
                env.pos,
                format!("ticket.pattern `{p}` is not a valid regular expression: {e}"),
            );
        }
    }
    if let Some(rule) = &policy.environments_from {
        check_refs(&rule.deployers, &mut push);
        check_refs(&rule.approvals.from, &mut push);
        for why in environments_from_problems(policy, rule) {
            push(rule.pos, why);
        }
    }
    for app in &policy.apps {
        if app.targets.is_empty() {
            push(app.pos, format!("app `{}` has no targets", app.name));
        }
        for (env_name, target) in &app.targets {
            match policy.env(env_name) {
                None => push(
                    target.pos,
                    format!(
                        "app `{}`: environment `{env_name}` does not exist",
                        app.name
                    ),
                ),
                Some(env) => {
                    let what = format!("app `{}` in `{env_name}`", app.name);
                    let (file, branch) = (&target.file, &env.branch);
                    match read_target(env, target) {
                        TargetRead::Readable => {}
                        TargetRead::Missing => push(
                            target.pos,
                            format!("{what}: file `{file}` is not in branch `{branch}`"),
                        ),
                        TargetRead::NoBranch => push(
                            target.pos,
                            format!("{what}: branch `{branch}` is not in the repository"),
                        ),
                        TargetRead::Unreadable(why) => push(
                            target.pos,
                            format!("{what}: {file} in branch `{branch}`: {why}"),
                        ),
                    }
                }
            }
        }
    }
    problems
}
