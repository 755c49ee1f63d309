//! The repo's own rules (`hoist.yaml` at the config repo's root): who may do
//! what where. Pure: no I/O. `load` reads the file with positions, `check`
//! cross-references it, `decide` answers "may this actor do this in this
//! environment from this channel, and how many approvals does it need?".

mod decide;
mod freeze;
mod load;
mod model;
mod schema;

pub use decide::{Decision, Refusal, Verb, decide, may_unlock, may_vote};
pub use freeze::Freeze;
pub use load::{Problem, load};
pub use model::*;
pub use schema::schema;

use crate::yaml::Pos;

/// Cross-reference checks on a loaded policy. `file_exists` answers whether a
/// target file exists at the branch tip of its environment.
pub fn check(policy: &Policy, file_exists: &dyn Fn(&Environment, &str) -> bool) -> Vec<Problem> {
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
    let mut seen = std::collections::BTreeSet::new();
    for env in &policy.environments {
        if !seen.insert(&env.name) {
            push(
                env.pos,
                format!("environment `{}` is defined twice", env.name),
            );
        }
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
                Some(env) if !file_exists(env, &target.file) => push(
                    target.pos,
                    format!(
                        "app `{}` in `{env_name}`: file `{}` is not in branch `{}`",
                        app.name, target.file, env.branch
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    problems
}
