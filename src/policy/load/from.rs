//! The `environments_from:` rule of `hoist.yaml`: which environment a new
//! one made from chat (`env create`) copies, what its name may be, how long
//! it lives, how many may exist and who may make one. Read here with
//! positions like every other part of the policy; `check` then judges the
//! template and the layout against the rest of it.

use super::{FROM_KEYS, Loader};
use crate::policy::model::{Approvals, EnvironmentsFrom};
use crate::yaml::Node;

/// A new environment's name when the rule says none: a short lowercase word.
pub const DEFAULT_NAME: &str = "^[a-z][a-z0-9-]{1,30}$";
/// How long one lives unless `env create ... for` says otherwise: 3 days.
pub const DEFAULT_TTL_SECS: u64 = 3 * 86_400;
/// The longest `ttl` accepted: 90 days.
pub const MAX_TTL_SECS: u64 = 90 * 86_400;
/// How many may exist at once unless the rule says otherwise.
pub const DEFAULT_MAX: u32 = 20;
/// The largest `max` accepted (the registry holds at most this many).
pub const MAX_MAX: u32 = 1000;

pub(super) fn environments_from(l: &mut Loader, node: &Node) -> Option<EnvironmentsFrom> {
    let mut template = None;
    let mut deployers = None;
    let mut rule = EnvironmentsFrom {
        template: "staging".parse().expect("a constant, valid name"),
        pos: node.pos,
        name: DEFAULT_NAME.into(),
        ttl_secs: DEFAULT_TTL_SECS,
        max: DEFAULT_MAX,
        deployers: Vec::new(),
        approvals: Approvals::default(),
    };
    if !matches!(node.kind, crate::yaml::Kind::Map(_)) {
        l.problem(
            node,
            format!(
                "environments_from should be a mapping ({{ template: staging, deployers: [devs] }}), found {}",
                node.describe()
            ),
        );
        return None;
    }
    for (key, _, v) in l.entries(node, "environments_from", FROM_KEYS) {
        match key {
            "template" => template = l.name(v, "environment"),
            "name" => {
                if let Some(s) = l.string(v, "environments_from.name") {
                    rule.name = s;
                }
            }
            "ttl" => match l.duration(v, "environments_from.ttl") {
                Some(0) => l.problem(v, "environments_from.ttl must be longer than 0"),
                Some(s) if s > MAX_TTL_SECS => l.problem(
                    v,
                    "environments_from.ttl is at most 90d (an environment nobody uses should not live forever)",
                ),
                Some(s) => rule.ttl_secs = s,
                None => {}
            },
            "max" => match v.as_str().and_then(|s| s.parse::<u32>().ok()) {
                Some(n) if (1..=MAX_MAX).contains(&n) => rule.max = n,
                _ => l.problem(
                    v,
                    format!("environments_from.max should be a whole number from 1 to {MAX_MAX}"),
                ),
            },
            "deployers" => deployers = Some(l.principals(v, "environments_from.deployers")),
            _ => rule.approvals = l.approvals(v),
        }
    }
    if template.is_none() && node.get("template").is_none() {
        l.problem(
            node,
            "environments_from needs `template:` (the environment a new one copies, e.g. staging)",
        );
    }
    if deployers.is_none() && node.get("deployers").is_none() {
        l.problem(
            node,
            "environments_from needs `deployers:` (who may create an environment)",
        );
    }
    rule.template = template?;
    rule.deployers = deployers?;
    Some(rule)
}

#[cfg(test)]
mod tests;
