//! The config repo the environment tests start from: the example repo with an
//! `environments_from` rule over staging, and template directories that hold
//! more than the target files (a ConfigMap naming staging as a value, as a
//! key and in comments, a README, a file in a subdirectory), so a test can
//! tell a copy that substitutes only whole values from one that rewrites
//! every `staging` it sees. Also the registry's judge: `hoist-environments.yaml`
//! read with the generic YAML reader, not with the code that writes it.

use crate::support::World;

/// The rule the issue names, for `devs` (console:alice and console:bob).
pub const RULE: &str = "\
environments_from:
  template: staging
  name: \"^pr-[0-9]+$|^[a-z][a-z0-9-]{2,30}$\"
  ttl: 3d
  max: 20
  deployers: [devs]
  approvals: 0
";

/// api's staging overlay: the example's, with a `namePrefix` and one more
/// resource. `namespace: api-staging` holds the template's name inside a
/// kustomize value; the comment names it too.
pub const API_KUSTOMIZATION: &str = "\
# api in staging. hoist edits only the newTag below; keep comments here.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: api-staging
namePrefix: staging-
resources:
  - ../../base
  - settings.yaml
images:
  - name: ghcr.io/acme/api
    newTag: v1.2.3   # managed by hoist
  - name: ghcr.io/acme/sidecar
    newTag: \"2.0.1\"
replicas:
  - name: api
    count: 2
";

/// What the copy of [`API_KUSTOMIZATION`] for pr-123 must be.
pub const API_KUSTOMIZATION_PR_123: &str = "\
# api in staging. hoist edits only the newTag below; keep comments here.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: api-pr-123
namePrefix: pr-123-
resources:
  - ../../base
  - settings.yaml
images:
  - name: ghcr.io/acme/api
    newTag: v1.2.3   # managed by hoist
  - name: ghcr.io/acme/sidecar
    newTag: \"2.0.1\"
replicas:
  - name: api
    count: 2
";

/// A ConfigMap beside it: `staging` as whole values (plain and quoted, in a
/// list), as a key, inside longer values and in comments.
pub const API_SETTINGS: &str = "\
# staging only: the settings api reads in staging
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-settings
data:
  environment: staging
  tier: \"staging\"
  staging: \"true\"   # staging is where we try things
  url: https://staging.example.com
  queue: jobs-staging
tags:
  - staging
  - canary
";

pub const API_SETTINGS_PR_123: &str = "\
# staging only: the settings api reads in staging
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-settings
data:
  environment: pr-123
  tier: \"pr-123\"
  staging: \"true\"   # staging is where we try things
  url: https://staging.example.com
  queue: jobs-staging
tags:
  - pr-123
  - canary
";

/// Not YAML: copied byte for byte, `staging` and all.
pub const API_NOTES: &str = "Overrides for staging.\nstaging\n";

/// worker's staging values: the example's, with the environment's name as a
/// whole value (`name: jobs-staging` is not one).
pub const WORKER_VALUES: &str = "\
# Helm values for the worker chart in staging.
replicaCount: 3
environment: staging

image:
  repository: ghcr.io/acme/worker
  # hoist sets this tag; everything else is edited by hand.
  tag: 2.8.0
  pullPolicy: IfNotPresent

resources:
  limits: { cpu: 500m, memory: 512Mi }

queue:
  name: jobs-staging   # the queue this worker drains
  concurrency: 8
";

pub const WORKER_VALUES_PR_123: &str = "\
# Helm values for the worker chart in staging.
replicaCount: 3
environment: pr-123

image:
  repository: ghcr.io/acme/worker
  # hoist sets this tag; everything else is edited by hand.
  tag: 2.8.0
  pullPolicy: IfNotPresent

resources:
  limits: { cpu: 500m, memory: 512Mi }

queue:
  name: jobs-staging   # the queue this worker drains
  concurrency: 8
";

/// In a subdirectory of the worker's template directory; not YAML.
pub const WORKER_EXTRA: &str = "queue = jobs-staging\nenv = staging\n";

/// web's staging overlay as the example has it.
pub const WEB_KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: web-staging
resources:
  - ../../base
images:
- name: ghcr.io/acme/web
  newTag: \"3.4.1\"
";

pub const WEB_KUSTOMIZATION_PR_123: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: web-pr-123
resources:
  - ../../base
images:
- name: ghcr.io/acme/web
  newTag: \"3.4.1\"
";

/// Every file of the template's directories: (path in staging, its text,
/// path in pr-123, the copy's expected text).
pub fn template_files() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    vec![
        (
            "apps/api/overlays/staging/README.md",
            API_NOTES,
            "apps/api/overlays/pr-123/README.md",
            API_NOTES,
        ),
        (
            "apps/api/overlays/staging/kustomization.yaml",
            API_KUSTOMIZATION,
            "apps/api/overlays/pr-123/kustomization.yaml",
            API_KUSTOMIZATION_PR_123,
        ),
        (
            "apps/api/overlays/staging/settings.yaml",
            API_SETTINGS,
            "apps/api/overlays/pr-123/settings.yaml",
            API_SETTINGS_PR_123,
        ),
        (
            "apps/web/overlays/staging/kustomization.yaml",
            WEB_KUSTOMIZATION,
            "apps/web/overlays/pr-123/kustomization.yaml",
            WEB_KUSTOMIZATION_PR_123,
        ),
        (
            "apps/worker/staging/extra/queue.conf",
            WORKER_EXTRA,
            "apps/worker/pr-123/extra/queue.conf",
            WORKER_EXTRA,
        ),
        (
            "apps/worker/staging/values.yaml",
            WORKER_VALUES,
            "apps/worker/pr-123/values.yaml",
            WORKER_VALUES_PR_123,
        ),
    ]
}

/// The example repo's `hoist.yaml` with its own `environments_from` rule,
/// if it has one, replaced by `rule`: the tests judge the rule they show.
pub fn policy_with(rule: &str) -> String {
    let example = hoist::cli::example::FILES
        .iter()
        .find(|(path, _)| *path == "hoist.yaml")
        .map(|(_, text)| *text)
        .expect("the example repo has a hoist.yaml");
    let mut out = String::new();
    let mut inside = false;
    for line in example.split_inclusive('\n') {
        if line.starts_with("environments_from:") {
            inside = true;
            continue;
        }
        // The block goes on while lines are indented (or blank).
        inside = inside && (line.starts_with(' ') || line.trim().is_empty());
        if !inside {
            out.push_str(line);
        }
    }
    format!("{out}\n{rule}")
}

/// The example repo with [`RULE`] and the template files above, in one
/// plain commit on origin's main.
pub fn world() -> World {
    world_with(&policy_with(RULE))
}

/// The same with `policy` as `hoist.yaml`.
pub fn world_with(policy: &str) -> World {
    let w = World::new();
    let mut files = vec![("hoist.yaml".to_string(), policy.to_string())];
    for (path, text, _, _) in template_files() {
        files.push((path.to_string(), text.to_string()));
    }
    w.commit_files(&files, "environments from staging");
    w
}

/// One environment as `hoist-environments.yaml` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub name: String,
    pub template: String,
    pub owner: String,
    pub created: jiff::Timestamp,
    pub expires: jiff::Timestamp,
}

/// Every environment the registry text records, read with the generic YAML
/// reader: `environments:`, a list of mappings.
pub fn recorded(text: &str) -> Vec<Recorded> {
    use hoist::yaml::{Kind, Limits, Node, load};
    let field = |node: &Node, key: &str| -> String {
        node.get(key)
            .and_then(Node::as_str)
            .unwrap_or_else(|| panic!("no `{key}` in {node:?}"))
            .to_string()
    };
    let time = |node: &Node, key: &str| -> jiff::Timestamp {
        let text = field(node, key);
        text.parse()
            .unwrap_or_else(|e| panic!("`{key}: {text}` is not an RFC 3339 time: {e}"))
    };
    let docs = load(text, Limits::POLICY)
        .unwrap_or_else(|e| panic!("hoist-environments.yaml does not parse: {e}\n{text}"));
    assert_eq!(docs.len(), 1, "one document: {text}");
    let items = match docs[0].get("environments") {
        // No environment (left): no key, no value.
        None => Vec::new(),
        Some(n) if n.is_null() => Vec::new(),
        Some(Node {
            kind: Kind::Seq(items),
            ..
        }) => items.clone(),
        Some(other) => panic!("`environments:` is not a list: {other:?}\n{text}"),
    };
    items
        .iter()
        .map(|n| Recorded {
            name: field(n, "name"),
            template: field(n, "template"),
            owner: field(n, "owner"),
            created: time(n, "created"),
            expires: time(n, "expires"),
        })
        .collect()
}
