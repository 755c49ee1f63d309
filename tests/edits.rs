//! Every edit kind end to end: a policy that names a kustomize image, a Helm
//! values path and a marker line (in a CRLF file), deploys through the
//! engine, and git's own diff of the resulting commit: one line per file,
//! everything else byte-identical.

mod support;

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
