//! Reading `hoist.yaml` into a [`Policy`], collecting every problem with its
//! line and column instead of stopping at the first. Unknown keys are problems
//! too: a typo in a policy must never silently loosen it.

use super::model::*;
use crate::yaml::{self, Kind, Limits, Node, Pos};
use hoist_commands::{Duration, Name};
use std::collections::BTreeMap;

mod apps;
mod from;
mod people;
use apps::app;
pub use from::{DEFAULT_MAX, DEFAULT_NAME, MAX_MAX};

/// One thing wrong with the policy, where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "hoist.yaml:{}:{}: {}",
            self.pos.line, self.pos.col, self.message
        )
    }
}

#[derive(Default)]
struct Loader {
    problems: Vec<Problem>,
}

impl Loader {
    fn problem(&mut self, node: &Node, message: impl Into<String>) {
        self.problems.push(Problem {
            pos: node.pos,
            message: message.into(),
        });
    }

    fn entries<'a>(
        &mut self,
        node: &'a Node,
        what: &str,
        allowed: &[&str],
    ) -> Vec<(&'a str, &'a Node, &'a Node)> {
        let Kind::Map(entries) = &node.kind else {
            if !node.is_null() {
                self.problem(
                    node,
                    format!("{what} should be a mapping, found {}", node.describe()),
                );
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(key) = k.as_str() else {
                self.problem(k, format!("keys in {what} must be plain words"));
                continue;
            };
            if !allowed.is_empty() && !allowed.contains(&key) {
                let hint = hoist_commands::nearest(key, allowed.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("; expected one of {}", allowed.join(", ")));
                self.problem(k, format!("unknown key `{key}` in {what}{hint}"));
                continue;
            }
            out.push((key, k, v));
        }
        out
    }

    /// A mapping of text values, as a lookup by key.
    fn texts(
        &mut self,
        node: &Node,
        what: &str,
        keys: &[&str],
    ) -> impl Fn(&str) -> Option<String> + use<> {
        let found: BTreeMap<String, String> = self
            .entries(node, what, keys)
            .into_iter()
            .filter_map(|(k, _, v)| Some((k.to_string(), self.string(v, k)?)))
            .collect();
        move |k: &str| found.get(k).cloned()
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.as_str() {
            Some(s) if !s.is_empty() => Some(s.to_string()),
            _ => {
                self.problem(
                    node,
                    format!("{what} should be a text value, found {}", node.describe()),
                );
                None
            }
        }
    }

    fn name(&mut self, node: &Node, what: &str) -> Option<Name> {
        let s = node.as_str().unwrap_or_default();
        match s.parse() {
            Ok(n) => Some(n),
            Err(e) => {
                self.problem(
                    node,
                    format!("`{s}` is not a valid {what} name: {}", e.rule),
                );
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<u64> {
        let s = node.as_str().unwrap_or_default();
        match s.parse::<Duration>() {
            Ok(d) => Some(d.as_secs()),
            Err(e) => {
                self.problem(
                    node,
                    format!("{what}: `{s}` is not a valid duration: {}", e.rule),
                );
                None
            }
        }
    }

    fn list<'a>(&mut self, node: &'a Node, what: &str) -> Vec<&'a Node> {
        match &node.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ if node.is_null() => Vec::new(),
            _ => {
                self.problem(
                    node,
                    format!("{what} should be a list, found {}", node.describe()),
                );
                Vec::new()
            }
        }
    }

    fn principals(&mut self, node: &Node, what: &str) -> Vec<Principal> {
        let mut out = Vec::new();
        for item in self.list(node, what) {
            let Some(s) = self.string(item, what) else {
                continue;
            };
            out.push(match s.split_once(':') {
                _ if s == "*" => Principal::Anyone,
                Some(("slack-group" | "discord-role", id)) if !id.is_empty() => Principal::PlatformGroup(s),
                Some(("github-team", id)) if super::paths::team_ok(id) => Principal::PlatformGroup(s),
                Some(("github", id)) if super::paths::login_ok(id) => Principal::Actor(s),
                Some(("slack" | "discord" | "console", id)) if !id.is_empty() => Principal::Actor(s),
                Some((platform, _)) => {
                    self.problem(item, format!(
                        "`{s}`: unknown platform `{platform}` (or a malformed id); people are slack:ID, discord:ID, \
                         github:LOGIN or console:NAME, groups slack-group:ID, discord-role:ID or github-team:ORG/SLUG"
                    ));
                    continue;
                }
                None => Principal::Group(s, item.pos),
            });
        }
        out
    }

    fn approvals(&mut self, node: &Node) -> Approvals {
        if let Some(n) = node
            .as_str()
            .filter(|_| matches!(node.kind, Kind::Scalar { .. }))
        {
            return match n.parse() {
                Ok(count) => Approvals {
                    count,
                    ..Approvals::default()
                },
                Err(_) => {
                    self.problem(node, format!("approvals: `{n}` is not a whole number"));
                    Approvals::default()
                }
            };
        }
        let mut approvals = Approvals::default();
        for (key, _, v) in self.entries(node, "approvals", APPROVAL_KEYS) {
            match key {
                "expires" => approvals.expires_secs = self.duration(v, "approvals.expires"),
                "count" => match v.as_str().and_then(|s| s.parse().ok()) {
                    Some(n) => approvals.count = n,
                    None => self.problem(v, "approvals.count should be a whole number"),
                },
                _ => approvals.from = self.principals(v, "approvals.from"),
            }
        }
        approvals
    }
}

/// The keys each mapping of `hoist.yaml` accepts (also what `schema` lists).
pub const TOP_KEYS: &[&str] = &[
    "signing",
    "groups",
    "people",
    "environments",
    "apps",
    "policy",
    "environments_from",
];
pub const FROM_KEYS: &[&str] = &["template", "name", "ttl", "max", "deployers", "approvals"];
pub const POLICY_KEYS: &[&str] = &["approvals"];
pub const APPROVAL_KEYS: &[&str] = &["count", "from", "expires"];
pub const TICKET_KEYS: &[&str] = &["required", "pattern"];
pub const APP_KEYS: &[&str] = &["targets", "argocd", "flux", "depends_on"];
pub const TARGET_KEYS: &[&str] = &["file", "kustomize_image", "yaml_path", "marker"];
pub const ARGOCD_KEYS: &[&str] = &["namespace", "application"];
pub const FLUX_KEYS: &[&str] = &["kind", "namespace", "name"];

pub const ENV_KEYS: &[&str] = &[
    "branch",
    "via",
    "deployers",
    "approvals",
    "promote_from",
    "soak",
    "channels",
    "incident_channels",
    "break_glass",
    "freeze",
    "timeout",
    "ticket",
    "alerts",
    "merge",
    "github_reviews",
    "github_deployments",
    "labels",
];

fn environment(l: &mut Loader, name: Name, key: &Node, node: &Node) -> Environment {
    let mut env = Environment {
        name,
        pos: key.pos,
        branch: "main".into(),
        via: Via::Push,
        deployers: Vec::new(),
        approvals: Approvals::default(),
        promote_from: None,
        soak_secs: None,
        channels: Vec::new(),
        incident_channels: Vec::new(),
        break_glass: None,
        freeze: Vec::new(),
        timeout_secs: None,
        ticket: None,
        alerts: None,
        pr: PrRules::default(),
        made: None,
    };
    for (k, _, v) in l.entries(node, &format!("environment `{}`", env.name), ENV_KEYS) {
        match k {
            "branch" => {
                if let Some(b) = l.string(v, "branch") {
                    match super::paths::branch_problem(&b) {
                        Some(why) => l.problem(v, why),
                        None => env.branch = b,
                    }
                }
            }
            "via" => match v.as_str() {
                Some("push") => env.via = Via::Push,
                Some("pull-request") => env.via = Via::PullRequest,
                _ => l.problem(v, "via should be `push` or `pull-request`"),
            },
            "deployers" => env.deployers = l.principals(v, "deployers"),
            "approvals" => env.approvals = l.approvals(v),
            "promote_from" => env.promote_from = l.name(v, "environment").map(|n| (n, v.pos)),
            "soak" => env.soak_secs = l.duration(v, "soak"),
            "timeout" => env.timeout_secs = l.duration(v, "timeout"),
            "alerts" => env.alerts = l.string(v, "alerts"),
            "merge" => match v.as_str() {
                Some("merge") => env.pr.merge = MergeMethod::Merge,
                Some("squash") => env.pr.merge = MergeMethod::Squash,
                Some("rebase") => env.pr.merge = MergeMethod::Rebase,
                _ => l.problem(v, "merge should be `merge`, `squash` or `rebase`"),
            },
            "github_reviews" | "github_deployments" => {
                let b = match v.as_str() {
                    Some("true") => true,
                    Some("false") => false,
                    _ => {
                        l.problem(v, format!("{k} should be true or false"));
                        continue;
                    }
                };
                if k == "github_reviews" {
                    env.pr.github_reviews = b
                } else {
                    env.pr.github_deployments = b
                }
            }
            "labels" => {
                let mut labels = Vec::new();
                for item in l.list(v, "labels") {
                    if let Some(label) = l.string(item, "a label") {
                        match super::paths::label_problem(&label) {
                            Some(why) => l.problem(item, why),
                            None => labels.push(label),
                        }
                    }
                }
                env.pr.labels = labels;
            }
            "channels" | "incident_channels" => {
                let list: Vec<String> = l
                    .list(v, k)
                    .into_iter()
                    .filter_map(|c| l.string(c, k))
                    .collect();
                if k == "channels" {
                    env.channels = list
                } else {
                    env.incident_channels = list
                }
            }
            "break_glass" => {
                let mut bg = Approvals::default();
                for (_, _, a) in l.entries(v, "break_glass", &["approvals"]) {
                    bg = l.approvals(a);
                }
                env.break_glass = Some(bg);
            }
            "freeze" => {
                for w in l.list(v, "freeze") {
                    if let Some(s) = l.string(w, "a freeze window") {
                        match super::Freeze::parse(&s) {
                            Ok(f) => env.freeze.push(f),
                            Err(e) => l.problem(w, e),
                        }
                    }
                }
            }
            _ => {
                let mut rule = TicketRule {
                    required: false,
                    pattern: None,
                };
                for (tk, _, tv) in l.entries(v, "ticket", TICKET_KEYS) {
                    match (tk, tv.as_str()) {
                        ("required", Some("true")) => rule.required = true,
                        ("required", Some("false")) => rule.required = false,
                        ("required", _) => l.problem(tv, "ticket.required should be true or false"),
                        (_, _) => rule.pattern = l.string(tv, "ticket.pattern"),
                    }
                }
                env.ticket = Some(rule);
            }
        }
    }
    env
}

/// Parse `hoist.yaml`. Returns the policy (as much as could be read) and every
/// problem found by reading alone; [`super::check`] adds the cross-references.
pub fn load(src: &str) -> (Policy, Vec<Problem>) {
    let mut l = Loader::default();
    let mut policy = Policy::default();
    let docs = match yaml::load(src, Limits::POLICY) {
        Ok(d) => d,
        Err(e) => {
            let pos = Pos {
                line: e.pos_line,
                col: e.pos_col,
            };
            let message = if e.over_limit {
                e.message
            } else {
                format!("not valid YAML: {}", e.message)
            };
            return (policy, vec![Problem { pos, message }]);
        }
    };
    let Some(root) = docs.first() else {
        return (
            policy,
            vec![Problem {
                pos: Pos { line: 1, col: 1 },
                message: "hoist.yaml is empty".into(),
            }],
        );
    };
    if docs.len() > 1 {
        l.problem(
            &docs[1],
            "hoist.yaml holds more than one document; only one policy is read",
        );
    }
    for (first, dup) in yaml::duplicate_keys(root) {
        let key = dup.as_str().unwrap_or_default();
        l.problem(
            dup,
            format!(
                "duplicate key `{key}` (first at {}:{})",
                first.pos.line, first.pos.col
            ),
        );
    }
    for (key, _, v) in l.entries(root, "hoist.yaml", TOP_KEYS) {
        match key {
            "signing" => match v.as_str() {
                Some("required") => policy.signing = Signing::Required,
                Some("optional") => policy.signing = Signing::Optional,
                _ => l.problem(v, "signing should be `required` or `optional`"),
            },
            "groups" => {
                for (g, _, members) in l.entries(v, "groups", &[]) {
                    let members = l.principals(members, "a group");
                    for m in &members {
                        if let Principal::Group(name, pos) = m {
                            l.problems.push(Problem { pos: *pos, message: format!("group `{g}` lists `{name}`: groups hold people (slack:ID, ...), not other groups") });
                        }
                    }
                    policy.groups.insert(g.to_string(), members);
                }
            }
            "people" => people::people(&mut l, v, &mut policy),
            "environments_from" => policy.environments_from = from::environments_from(&mut l, v),
            "policy" => {
                for (_, _, a) in l.entries(v, "policy", POLICY_KEYS) {
                    policy.policy_approvals = Some(l.approvals(a));
                }
            }
            "environments" => {
                for (_, k, e) in l.entries(v, "environments", &[]) {
                    if let Some(name) = l.name(k, "environment") {
                        let env = environment(&mut l, name, k, e);
                        policy.environments.push(env);
                    }
                }
            }
            _ => {
                for (_, k, a) in l.entries(v, "apps", &[]) {
                    if let Some(name) = l.name(k, "app") {
                        let app = app(&mut l, name, k, a);
                        policy.apps.push(app);
                    }
                }
            }
        }
    }
    apps::dependencies(&mut l, &policy.apps);
    (policy, l.problems)
}

#[cfg(test)]
mod tests;
