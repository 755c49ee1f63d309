//! The policy as hoist uses it: environments in promotion order, apps and their
//! targets, groups of people. Built from `hoist.yaml` by `load`; every item
//! remembers where it was written so checks can point at it.

use crate::yaml::Pos;
use hoist_commands::Name;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub signing: Signing,
    pub groups: BTreeMap<String, Vec<Principal>>,
    /// `people:` one human's ids on every platform, by name (an id is in
    /// at most one entry): approvals count people, not ids.
    pub people: BTreeMap<String, Vec<String>>,
    /// In promotion order, as listed.
    pub environments: Vec<Environment>,
    pub apps: Vec<App>,
    /// `policy: { approvals: ... }`: who must approve a change to
    /// `hoist.yaml` itself. It takes effect with pull requests (a PR merged
    /// by hoist whose approvals met the previous trusted version's rule is
    /// trusted); until then only policy signers' signatures make a change trusted.
    pub policy_approvals: Option<Approvals>,
    /// `environments_from:` the rule for environments made from chat
    /// (`env create`); `None`: nobody may make one.
    pub environments_from: Option<EnvironmentsFrom>,
}

/// `environments_from: { template, name, ttl, max, deployers, approvals }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentsFrom {
    /// The environment whose files a new one copies (`staging`).
    pub template: Name,
    /// Where the rule was written.
    pub pos: Pos,
    /// The regular expression a new environment's name must match (on top
    /// of the command language's name rule).
    pub name: String,
    /// How long an environment lives when `env create` says no `for`, and
    /// the longest `for` (or `env extend`) allowed. Default 3 days.
    pub ttl_secs: u64,
    /// How many environments made from templates may exist at once (default 20).
    pub max: u32,
    /// Who may create one (and deploy to it).
    pub deployers: Vec<Principal>,
    /// What a creation needs (and a deploy to one).
    pub approvals: Approvals,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signing {
    #[default]
    Required,
    Optional,
}

/// Someone, or a set of people, named in the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"`: everyone.
    Anyone,
    /// A person: `slack:U123`, `discord:8035`, `console:alice`.
    Actor(String),
    /// A platform group: `slack-group:S0123`, `discord-role:123`.
    PlatformGroup(String),
    /// A group defined under `groups:`.
    Group(String, Pos),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Via {
    #[default]
    Push,
    PullRequest,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Approvals {
    pub count: u32,
    /// Who may approve; empty means the environment's deployers.
    pub from: Vec<Principal>,
    /// How long a request waits for its approvals (default 24 h).
    pub expires_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRule {
    pub required: bool,
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: Name,
    pub pos: Pos,
    pub branch: String,
    pub via: Via,
    pub deployers: Vec<Principal>,
    pub approvals: Approvals,
    pub promote_from: Option<(Name, Pos)>,
    pub soak_secs: Option<u64>,
    pub channels: Vec<String>,
    pub incident_channels: Vec<String>,
    pub break_glass: Option<Approvals>,
    /// Freeze windows, e.g. `Fri 16:00 - Mon 08:00 Europe/Berlin`.
    pub freeze: Vec<super::Freeze>,
    pub timeout_secs: Option<u64>,
    pub ticket: Option<TicketRule>,
    /// Where drift (an Application OutOfSync, a Kustomization failing while
    /// no hoist operation is in flight) is reported, e.g. `slack:C0ALERTS`.
    pub alerts: Option<String>,
    /// How pull requests go (`via: pull-request`): merge method, whether
    /// the forge's own reviews count, deployments, labels.
    pub pr: PrRules,
    /// Set for an environment made by `env create` (an entry of
    /// `hoist-environments.yaml`); `None`: written in `hoist.yaml`.
    pub made: Option<crate::envs::Entry>,
}

/// How a pull request is merged on the forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MergeMethod {
    /// A merge commit (the forge's); hoist's signed commit is its second parent.
    #[default]
    Merge,
    /// One new commit by the forge carrying hoist's message and trailers.
    Squash,
    /// The forge re-commits hoist's commit on the base.
    Rebase,
}

impl MergeMethod {
    /// `merge`, `squash`, `rebase`: the word in `hoist.yaml` and the API.
    pub fn word(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        }
    }
}

/// An environment's pull-request rules (`merge`, `github_reviews`,
/// `github_deployments`, `labels` in `hoist.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrRules {
    pub merge: MergeMethod,
    /// GitHub `APPROVED` reviews by people the policy names (`github:<login>`,
    /// `github-team:<org>/<slug>`) count toward the quorum.
    pub github_reviews: bool,
    /// Each push or merge hoist follows is recorded as a GitHub Deployment.
    pub github_deployments: bool,
    /// Labels of hoist's PRs; `env:<env>` is always added.
    pub labels: Vec<String>,
}

impl Default for PrRules {
    fn default() -> Self {
        PrRules {
            merge: MergeMethod::Merge,
            github_reviews: false,
            github_deployments: true,
            labels: vec!["hoist".into()],
        }
    }
}

/// How to find the version inside a target file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// kustomize `images[]` entry with this `name`.
    KustomizeImage(String),
    /// A YAML path such as `image.tag` or `a.b[2].c`.
    YamlPath(String),
    /// The image reference on the line of any text file that carries the
    /// comment `# {"$hoist": "NAME"}` (Flux's `$imagepolicy` convention).
    Marker(String),
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locator::KustomizeImage(image) => write!(f, "kustomize image `{image}`"),
            Locator::YamlPath(path) => write!(f, "YAML path `{path}`"),
            Locator::Marker(name) => write!(f, "marker `{{\"$hoist\": \"{name}\"}}`"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub file: String,
    pub locator: Locator,
    pub pos: Pos,
}

/// Which GitOps engine object reports on an app (`{env}` is substituted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    ArgoCd {
        namespace: String,
        application: String,
    },
    Flux {
        kind: String,
        namespace: String,
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub name: Name,
    pub pos: Pos,
    pub targets: BTreeMap<Name, Target>,
    pub watch: Option<Watch>,
    /// Apps that must be out and healthy before this one in an ordered
    /// promotion (`depends_on: [api]`), each where it was written.
    pub depends_on: Vec<(Name, Pos)>,
}

impl Policy {
    pub fn env(&self, name: &Name) -> Option<&Environment> {
        self.environments.iter().find(|e| &e.name == name)
    }

    pub fn app(&self, name: &Name) -> Option<&App> {
        self.apps.iter().find(|a| &a.name == name)
    }

    /// Every platform group (`slack-group:S1`, `discord-role:2`) the policy
    /// names anywhere, so an adapter knows which memberships to resolve.
    pub fn platform_groups(&self) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        let mut add = |list: &[Principal]| {
            for p in list {
                if let Principal::PlatformGroup(g) = p {
                    out.insert(g.clone());
                }
            }
        };
        for members in self.groups.values() {
            add(members);
        }
        if let Some(a) = &self.policy_approvals {
            add(&a.from);
        }
        for env in &self.environments {
            add(&env.deployers);
            add(&env.approvals.from);
            if let Some(bg) = &env.break_glass {
                add(&bg.from);
            }
        }
        out
    }

    /// The person `actor` is: `person:<name>` when `people:` lists the id,
    /// else the id itself.
    pub fn person(&self, actor: &str) -> String {
        self.people
            .iter()
            .find(|(_, ids)| ids.iter().any(|id| id == actor))
            .map_or_else(|| actor.to_string(), |(name, _)| format!("person:{name}"))
    }

    /// Are `a` and `b` one human (the same id, or two ids `people:` links)?
    pub fn same_person(&self, a: &str, b: &str) -> bool {
        a == b || self.person(a) == self.person(b)
    }

    /// Is `actor` one of `principals` (directly, through `*` or a group)?
    /// `*` means anyone who can talk to hoist; it never matches a GitHub
    /// login (on a public repository anybody can leave a review), which
    /// counts only when named, directly or through a group.
    /// Platform groups (`slack-group:`) are resolved by the chat adapter, which
    /// passes the actor's memberships in `memberships`.
    pub fn includes(&self, principals: &[Principal], actor: &str, memberships: &[String]) -> bool {
        // Groups hold people, never other groups (`check` reports nesting), so one level.
        let direct = |p: &Principal| match p {
            Principal::Anyone => !actor.starts_with("github:"),
            Principal::Actor(a) => a == actor,
            Principal::PlatformGroup(g) => memberships.iter().any(|m| m == g),
            Principal::Group(..) => false,
        };
        principals.iter().any(|p| match p {
            Principal::Group(g, _) => self.groups.get(g).is_some_and(|m| m.iter().any(direct)),
            other => direct(other),
        })
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Anyone => f.write_str("*"),
            Principal::Actor(a) | Principal::PlatformGroup(a) | Principal::Group(a, _) => {
                f.write_str(a)
            }
        }
    }
}
