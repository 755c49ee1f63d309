//! Every edit kind end to end: a policy that names a kustomize image, a Helm
//! values path and a marker line (in a CRLF file), deploys through the
//! engine, and git's own diff of the resulting commit: one line per file,
//! everything else byte-identical.

mod support;

#[path = "edits/files.rs"]
mod files;

use support::git;
use support::harness::{Harness, WEDNESDAY};

const POLICY: &str = "\
environments:
  staging:
    branch: main
    via: push
    deployers: [\"*\"]
apps:
  api:
    targets:
      staging: { file: k/api/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
  worker:
    targets:
      staging: { file: helm/worker/values.yaml, yaml_path: image.tag }
  web:
    targets:
      staging: { file: manifests/web.yaml, marker: web }
";

const KUSTOMIZATION: &str =
    "# api\nimages:\n  - name: ghcr.io/acme/api\n    newTag: \"v1.0.0\" # quoted\n";
const VALUES: &str =
    "image:\n  repository: ghcr.io/acme/worker\n  tag: 1.0.0   # plain\nreplicas: 2\n";
const MANIFEST: &str = "kind: Deployment\r\nspec:\r\n  containers:\r\n    - image: ghcr.io/acme/web:v1 # {\"$hoist\": \"web\"}\r\n";

#[test]
fn each_edit_kind_commits_a_one_line_diff() {
    let h = Harness::new(POLICY, WEDNESDAY);
    h.world.commit_files(
        &[
            ("k/api/kustomization.yaml".into(), KUSTOMIZATION.into()),
            ("helm/worker/values.yaml".into(), VALUES.into()),
            ("manifests/web.yaml".into(), MANIFEST.into()),
        ],
        "apps",
    );
    for (cmd, file, before, after) in [
        (
            "deploy api v1.1.0 to staging",
            "k/api/kustomization.yaml",
            KUSTOMIZATION,
            KUSTOMIZATION.replace("\"v1.0.0\"", "\"v1.1.0\""),
        ),
        (
            "deploy worker 1.10 to staging",
            "helm/worker/values.yaml",
            VALUES,
            VALUES.replace("tag: 1.0.0", "tag: \"1.10\""),
        ),
        (
            "deploy web v2 to staging",
            "manifests/web.yaml",
            MANIFEST,
            MANIFEST.replace("web:v1", "web:v2"),
        ),
    ] {
        let reply = h.say("console:alice", None, cmd);
        assert_eq!(reply.state, "pushed", "{cmd}: {}", reply.message);
        assert_eq!(
            h.world.show("main", file),
            after,
            "{cmd}: only the value's bytes changed"
        );
        assert_ne!(before, after);
        let diff = git(&h.world.origin, &["show", "--format=", "-U0", "main"]);
        let minus = diff
            .lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .count();
        let plus = diff
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .count();
        assert_eq!((minus, plus), (1, 1), "{cmd}: {diff}");
        assert!(
            h.world
                .verify("main", &h.world.allowed_signers)
                .status
                .success()
        );
    }
}

/// `hoist check` judged against git, not the work tree (in `check/from_git.rs`).
#[path = "check/from_git.rs"]
mod from_git;

const D: &str = "sha256:4f2a0c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a10";

#[test]
fn a_digest_deploy_adds_the_missing_digest_line_and_nothing_else() {
    let h = Harness::new(POLICY, WEDNESDAY);
    let crlf = "# api\r\nimages:\r\n  - name: ghcr.io/acme/api\r\n    newTag: v1.0.0 # hoist\r\n    newName: registry.local/api\r\n";
    h.world
        .commit_file("k/api/kustomization.yaml", crlf, "api, no digest");
    let reply = h.say(
        "console:alice",
        None,
        &format!("deploy api v1.1.0@{D} to staging"),
    );
    assert_eq!(reply.state, "pushed", "{}", reply.message);
    assert_eq!(
        h.world.show("main", "k/api/kustomization.yaml"),
        crlf.replace(
            "v1.0.0 # hoist\r\n",
            &format!("v1.1.0 # hoist\r\n    digest: {D}\r\n")
        )
    );
    let diff = git(&h.world.origin, &["show", "--format=", "-U0", "main"]);
    // (`lines()` drops the `\r` of each CRLF line; `show` above kept them.)
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect();
    assert_eq!(
        changed,
        [
            "-    newTag: v1.0.0 # hoist",
            "+    newTag: v1.1.0 # hoist",
            &format!("+    digest: {D}"),
        ],
        "{diff}"
    );
}

#[test]
fn a_policy_whose_target_is_hoist_yaml_is_refused_and_nothing_is_written() {
    let policy = "\
environments:
  dev:
    deployers: [\"*\"]
  prod:
    deployers: [console:carol]
    approvals: { count: 2 }
apps:
  banner:
    targets:
      dev: { file: hoist.yaml, yaml_path: environments.prod.approvals.count }
";
    let h = Harness::new(policy, WEDNESDAY);
    let before = h.world.tip();
    let reply = h.say("console:mallory", None, "deploy banner 0 to dev");
    assert_eq!(reply.state, "refused", "{}", reply.message);
    assert!(
        reply
            .message
            .contains("hoist.yaml:10:20: file `hoist.yaml`: is the policy itself"),
        "{}",
        reply.message
    );
    assert_eq!(h.world.tip(), before);
    assert!(h.world.show("main", "hoist.yaml").contains("count: 2"));
}

#[test]
fn a_deeply_nested_target_file_is_refused_without_killing_the_engine() {
    let h = Harness::new(POLICY, WEDNESDAY);
    let deep = format!(
        "image:\n  tag: v1\nx: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let block = format!("image:\n  tag: v1\nx:\n{}y\n", "- ".repeat(100_000));
    h.world.commit_files(
        &[
            ("helm/worker/values.yaml".into(), block),
            ("k/api/kustomization.yaml".into(), deep),
        ],
        "hostile",
    );
    for (cmd, file) in [
        ("deploy worker v2 to staging", "helm/worker/values.yaml"),
        ("deploy api v2 to staging", "k/api/kustomization.yaml"),
    ] {
        let reply = h.say("console:alice", None, cmd);
        assert_ne!(reply.state, "pushed", "{cmd}");
        assert!(
            reply.message.contains(file)
                && reply.message.contains("nesting deeper than 128 levels"),
            "{cmd}: {}",
            reply.message
        );
    }
    // Still answering.
    let status = h.say("console:alice", None, "status");
    assert_eq!(status.state, "done", "{}", status.message);
}
