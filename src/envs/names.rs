//! The names of environments made from templates: the rule's regular
//! expression (compiled with a size limit: `hoist.yaml` is outside text),
//! whether a name may be taken, and a sample name `hoist check` can show.

use crate::policy::{EnvironmentsFrom, Policy};
use hoist_commands::Name;

/// The most memory the compiled name pattern may take (bytes): far above
/// any sensible pattern, far below what a hostile one could ask for.
pub const NAME_REGEX_LIMIT: usize = 1 << 20;

/// The rule's `name` pattern, compiled within [`NAME_REGEX_LIMIT`].
pub fn name_regex(rule: &EnvironmentsFrom) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&rule.name)
        .size_limit(NAME_REGEX_LIMIT)
        .dfa_size_limit(NAME_REGEX_LIMIT)
        .build()
        .map_err(|e| {
            format!(
                "environments_from.name `{}` is not a usable regular expression: {}",
                shown(&rule.name),
                crate::engine::one_line(&e.to_string(), 300)
            )
        })
}

/// May an environment called `name` be made now? `Err` holds the refusal.
pub fn check_name(policy: &Policy, name: &Name) -> Result<(), String> {
    let Some(rule) = &policy.environments_from else {
        return Err(
            "environments cannot be made here: hoist.yaml has no `environments_from` rule".into(),
        );
    };
    if let Some(env) = policy.env(name) {
        return Err(match &env.made {
            None => format!("an environment named `{name}` already exists (in hoist.yaml)"),
            Some(e) => format!(
                "an environment named `{name}` already exists (made from {} by {})",
                e.template, e.owner
            ),
        });
    }
    if !name_regex(rule)?.is_match(name.as_str()) {
        return Err(format!(
            "`{name}` is not a name environments_from allows: it must match `{}`",
            shown(&rule.name)
        ));
    }
    Ok(())
}

/// A name to show what a creation would write: `pr-1` if the rule accepts
/// it, else the first of a few short ones it does, else `None`.
pub fn sample_name(rule: &EnvironmentsFrom) -> Option<Name> {
    let re = name_regex(rule).ok()?;
    [
        "pr-1", "pr1", "test", "demo", "dev-1", "preview", "sample", "a1", "x", "1",
    ]
    .into_iter()
    .filter(|n| re.is_match(n))
    .find_map(|n| n.parse().ok())
}

/// The rule's pattern for a message: escaped, on one line, bounded.
fn shown(pattern: &str) -> String {
    crate::engine::one_line(&pattern.escape_debug().to_string(), 120)
}
