//! What `hoist check` says about `environments_from`: what `env create`
//! would write for a sample name the rule accepts (each app's template
//! directory, where its copy would go and how many files it holds, and the
//! entry in `hoist-environments.yaml`), and the problems only a name shows
//! (a copy landing on another environment's files, a directory too big or
//! holding what hoist cannot copy). And whether `hoist-environments.yaml`
//! reads, and each environment it records still fits the policy.

use crate::envs;
use crate::policy::{Environment, Policy, Problem};

/// The lines to print and the problems found.
pub(super) fn preview(
    policy: &Policy,
    list: &dyn Fn(&Environment, &str) -> anyhow::Result<Vec<String>>,
) -> (Vec<String>, Vec<Problem>) {
    let (mut lines, mut problems) = (Vec::new(), Vec::new());
    let Some(rule) = &policy.environments_from else {
        return (lines, problems);
    };
    let Some(template) = policy.env(&rule.template) else {
        return (lines, problems); // reported by `policy::check`
    };
    if envs::sources(policy, &rule.template).is_err() || envs::name_regex(rule).is_err() {
        return (lines, problems); // reported by `policy::check`
    }
    let Some(sample) = envs::sample_name(rule) else {
        lines.push(
            "env create: environments_from.name accepts none of the sample names hoist tries \
             (pr-1, test, demo, ...), so it cannot show what a creation would write"
                .into(),
        );
        return (lines, problems);
    };
    let mut problem = |message: String| {
        problems.push(Problem {
            pos: rule.pos,
            message: format!("environments_from: {message}"),
        })
    };
    let copies = match envs::layout(policy, &rule.template, &sample) {
        Ok(copies) => copies,
        Err(why) => {
            problem(format!("env create {sample}: {why}"));
            return (lines, problems);
        }
    };
    lines.push(format!(
        "env create {sample} from {} would copy:",
        rule.template
    ));
    for copy in copies {
        let count = match list(template, &copy.from) {
            Ok(files) if files.len() > crate::engine::ports::MAX_LISTED_FILES => {
                problem(format!(
                    "{}/ holds more than {} files; hoist copies at most that many per app",
                    copy.from,
                    crate::engine::ports::MAX_LISTED_FILES
                ));
                continue;
            }
            Ok(files) => files.len(),
            Err(e) => {
                problem(format!("app `{}`: {}/: {e:#}", copy.app, copy.from));
                continue;
            }
        };
        let s = if count == 1 { "" } else { "s" };
        lines.push(format!(
            "  {}/ -> {}/ ({count} file{s})",
            copy.from, copy.to
        ));
    }
    lines.push(format!("  and record it in {}", envs::REGISTRY_FILE));
    (lines, problems)
}

/// Problems with the registry, one line each (none when it is absent).
pub(super) fn registry(bytes: anyhow::Result<Option<Vec<u8>>>, policy: &Policy) -> Vec<String> {
    let file = envs::REGISTRY_FILE;
    let text = match bytes {
        Ok(None) => return Vec::new(),
        Err(e) => return vec![format!("{file}: cannot read it: {e:#}")],
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => return vec![format!("{file}: not UTF-8 text")],
        },
    };
    match envs::parse_registry(&text) {
        Err(why) => vec![why],
        Ok(entries) => envs::merge(&mut policy.clone(), &entries),
    }
}
