//! The names of environments made from templates: the rule's regular
//! expression (compiled with a size limit: `hoist.yaml` is outside text),
//! whether a name may be taken, and a sample name `hoist check` can show.
//!
//! A new name replaces the template's wherever it is a whole YAML value or
//! a kustomize `namespace`, so `namespace: staging` becomes `namespace: NAME`.
//! A name is therefore refused when that would land the copies in a
//! namespace the cluster or its tools own ([`RESERVED_NAMES`],
//! [`RESERVED_PREFIXES`]), in one named after an app or another environment,
//! or when YAML would read the new value as something other than text
//! (`true`, `null`, `123`, `1e3`, `2026-12-01`).

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

/// Namespaces Kubernetes itself or the tools commonly installed beside a
/// GitOps engine use; no environment made from chat may take their name.
/// Kept short on purpose: the rule's `name` pattern is where a team narrows
/// names further.
pub const RESERVED_NAMES: &[&str] = &[
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "argocd",
    "flux-system",
    "cert-manager",
    "ingress-nginx",
    "monitoring",
    "istio-system",
    "gatekeeper-system",
    "openshift",
];

/// Prefixes of namespaces the platform owns (`kube-*`, `openshift-*`).
pub const RESERVED_PREFIXES: &[&str] = &["kube-", "openshift-"];

/// What a YAML 1.1 or 1.2 (core schema) reader takes `plain`, written
/// unquoted, to be when it is not text: `null`, `boolean`, `number` or
/// `date`. Case-insensitive. `None`: it stays a string.
pub fn yaml_type(plain: &str) -> Option<&'static str> {
    static FORMS: std::sync::OnceLock<[(regex::Regex, &'static str); 4]> =
        std::sync::OnceLock::new();
    let forms = FORMS.get_or_init(|| {
        let re = |s: &str| regex::Regex::new(s).expect("a constant, valid pattern");
        [
            (re(r"^(?:~|null|)$"), "null"),
            (re(r"^(?:y|yes|n|no|true|false|on|off)$"), "boolean"),
            (
                re(concat!(
                    // Integers: binary, 1.2 octal, hex, decimal or 1.1
                    // octal, 1.1 base 60 (`1:30`).
                    r"^[-+]?(?:0b[01_]+|0o[0-7]+|0x[0-9a-f_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*)$",
                    // Floats: `1.5`, `.5`, `1e3`, `1.5e-3`, base 60, infinities, NaN.
                    r"|^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?)(?:e[-+]?[0-9]+)?$",
                    r"|^[-+]?\.inf$|^\.nan$",
                )),
                "number",
            ),
            // Dates, alone or with a time (`2026-12-01`, `2026-12-01t10:00:00z`).
            (
                re(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:t|[ \t]+)[0-9]{1,2}:.*)?$"),
                "date",
            ),
        ]
    });
    let plain = plain.to_ascii_lowercase();
    forms
        .iter()
        .find(|(re, _)| re.is_match(&plain))
        .map(|(_, kind)| *kind)
}

/// Why `name` can never name an environment made from `template`, whatever
/// the policy holds: a reserved namespace, or not text to YAML.
fn refused_form(template: &Name, name: &Name) -> Option<String> {
    let becomes = format!("the copies' `namespace: {template}` would become `namespace: {name}`");
    let n = name.as_str();
    if RESERVED_NAMES.contains(&n) || RESERVED_PREFIXES.iter().any(|p| n.starts_with(p)) {
        return Some(format!(
            "`{name}` is reserved: clusters or the tools running in them use a namespace of \
             that name, and {becomes}; choose another name"
        ));
    }
    yaml_type(n).map(|kind| {
        format!(
            "`{name}` cannot name an environment: YAML reads `{name}` as a {kind}, not text, \
             so {becomes} and no longer name a namespace; choose another name"
        )
    })
}

/// May an environment called `name` be made now? `Err` holds the refusal:
/// no rule, a name taken by an environment (written or made) or an app, a
/// reserved namespace, a value YAML does not read as text, or a name the
/// rule's pattern does not match.
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
    if policy.app(name).is_some() {
        return Err(format!(
            "`{name}` is reserved: it is the name of app `{name}`, and the copies' \
             `namespace: {}` would become `namespace: {name}`, which may be that app's own; \
             choose another name",
            rule.template
        ));
    }
    if let Some(why) = refused_form(&rule.template, name) {
        return Err(why);
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
/// it, else the first of a few short ones it does (and no name is refused
/// for its form), else `None`.
pub fn sample_name(rule: &EnvironmentsFrom) -> Option<Name> {
    let re = name_regex(rule).ok()?;
    [
        "pr-1", "pr1", "test", "demo", "dev-1", "preview", "sample", "a1", "x",
    ]
    .into_iter()
    .filter(|n| re.is_match(n))
    .filter_map(|n| n.parse().ok())
    .find(|n| refused_form(&rule.template, n).is_none())
}

/// The rule's pattern for a message: escaped, on one line, bounded.
fn shown(pattern: &str) -> String {
    crate::engine::one_line(&pattern.escape_debug().to_string(), 120)
}

#[cfg(test)]
mod tests;
