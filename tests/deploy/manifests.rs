//! The Kubernetes manifests in `deploy/` as `kubectl kustomize` renders them:
//! the base, `deploy/` itself and each overlay are rendered, every document is
//! read with hoist's own YAML reader, and the rules a cluster admin relies on
//! are checked: the pod's and every container's security settings, the
//! probes, the journal's volume, what the RBAC grants, which variant exposes
//! what, and that no variant carries a Secret (the example holds placeholders
//! only). Without kubectl on PATH the rendering tests say so and pass, unless
//! `HOIST_REQUIRE_KUBECTL` is set (CI sets it).

#[path = "render.rs"]
mod render;

#[path = "ha.rs"]
mod ha;

use hoist::yaml::{self, Kind, Limits, Node};
use render::*;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn every_container_runs_unprivileged_on_a_read_only_root() {
    for dir in VARIANTS.into_iter().chain([ha::HA]) {
        let Some(docs) = render(dir) else { return };
        let (_, spec) = pod(&docs, dir);
        let pod_says = |path: &str| text(spec, &format!("securityContext.{path}"));
        assert_eq!(pod_says("runAsNonRoot"), Some("true"), "{dir}: pod");
        assert_eq!(pod_says("runAsUser"), Some(UID), "{dir}: pod");
        assert_eq!(
            pod_says("seccompProfile.type"),
            Some("RuntimeDefault"),
            "{dir}: pod"
        );
        for host in ["hostNetwork", "hostPID", "hostIPC"] {
            assert_ne!(text(spec, host), Some("true"), "{dir}: {host}");
        }
        let all = containers(spec);
        assert!(!all.is_empty(), "{dir}: no containers");
        for c in all {
            let who = format!("{dir}: container {}", text(c, "name").unwrap_or("?"));
            let says = |path: &str| text(c, &format!("securityContext.{path}"));
            assert_eq!(says("runAsNonRoot"), Some("true"), "{who}");
            assert_eq!(says("runAsUser"), Some(UID), "{who}");
            assert_eq!(says("readOnlyRootFilesystem"), Some("true"), "{who}");
            assert_eq!(says("allowPrivilegeEscalation"), Some("false"), "{who}");
            assert_ne!(says("privileged"), Some("true"), "{who}");
            assert_eq!(
                texts(c, "securityContext.capabilities.drop"),
                ["ALL"],
                "{who}"
            );
            assert!(
                list(c, "securityContext.capabilities.add").is_empty(),
                "{who}: adds capabilities"
            );
            assert_eq!(says("seccompProfile.type"), Some("RuntimeDefault"), "{who}");
            for bound in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(
                        text(c, &format!("resources.{bound}.{resource}")).is_some(),
                        "{who}: no {bound}.{resource}"
                    );
                }
            }
        }
    }
}

#[test]
fn one_serve_pod_with_probes_the_journal_on_a_claim_and_a_writable_tmp() {
    for dir in VARIANTS {
        let Some(docs) = render(dir) else { return };
        let (deployment, spec) = pod(&docs, dir);
        assert_eq!(text(deployment, "spec.replicas"), Some("1"), "{dir}");
        // The redb journal has one writer: the old pod must be gone first.
        assert_eq!(
            text(deployment, "spec.strategy.type"),
            Some("Recreate"),
            "{dir}"
        );
        let c = hoist(spec);
        assert_eq!(
            texts(c, "args"),
            ["serve", "--listen", "0.0.0.0:8080"],
            "{dir}"
        );
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            assert_eq!(
                text(c, &format!("{probe}.httpGet.path")),
                Some(path),
                "{dir}: {probe}"
            );
            assert_eq!(
                probe_port(c, probe).as_deref(),
                Some("8080"),
                "{dir}: {probe}"
            );
        }

        // The data dir hoist is told is the claim's mount.
        let data_dir = env(c, "HOIST_DATA_DIR").and_then(|e| text(e, "value"));
        assert_eq!(data_dir, Some(DATA_DIR), "{dir}");
        let claim = text(
            mounted_at(spec, c, DATA_DIR),
            "persistentVolumeClaim.claimName",
        )
        .expect("the data dir is a PersistentVolumeClaim");
        let pvc = all(&docs, "PersistentVolumeClaim");
        assert!(
            pvc.iter().any(|p| name(p) == claim),
            "{dir}: no claim {claim}"
        );
        assert!(
            at(mounted_at(spec, c, "/tmp"), "emptyDir").is_some(),
            "{dir}: /tmp is not an emptyDir"
        );

        // The signing key is a file from the Secret, never a value.
        let key = env(c, "HOIST_SIGNING_KEY")
            .and_then(|e| text(e, "value"))
            .expect("HOIST_SIGNING_KEY is a path");
        let (dir_of_key, file) = key.rsplit_once('/').unwrap();
        let secret = at(mounted_at(spec, c, dir_of_key), "secret").expect("a secret volume");
        assert!(
            list(secret, "items")
                .iter()
                .any(|i| text(i, "path") == Some(file)),
            "{dir}: {key} is not one of the secret's files"
        );
        // No secret sits in the manifest as a literal value.
        for e in list(c, "env") {
            let var = text(e, "name").unwrap();
            if ["TOKEN", "SECRET", "PASSPHRASE"]
                .iter()
                .any(|w| var.contains(w))
            {
                assert!(
                    at(e, "valueFrom.secretKeyRef").is_some(),
                    "{dir}: {var} is not from the Secret"
                );
            }
        }

        // The config repo: set directly or through the ConfigMap.
        let repo_direct = env(c, "HOIST_REPO").is_some();
        let repo_from_map = list(c, "envFrom").iter().any(|from| {
            let Some(map) = text(from, "configMapRef.name") else {
                return false;
            };
            all(&docs, "ConfigMap")
                .iter()
                .any(|m| name(m) == map && text(m, "data.HOIST_REPO").is_some())
        });
        assert!(repo_direct || repo_from_map, "{dir}: no HOIST_REPO");
    }
}

#[test]
fn the_rbac_reads_and_annotates_and_never_creates_deletes_or_wildcards() {
    for dir in VARIANTS {
        let Some(docs) = render(dir) else { return };
        let roles: Vec<&Node> = docs
            .iter()
            .filter(|d| matches!(kind(d), "ClusterRole" | "Role"))
            .collect();
        assert!(!roles.is_empty(), "{dir}: no role");
        for role in roles {
            let rules = list(role, "rules");
            assert!(!rules.is_empty(), "{dir}: {} grants nothing", name(role));
            for rule in rules {
                for verb in texts(rule, "verbs") {
                    assert!(
                        ![
                            "create",
                            "delete",
                            "deletecollection",
                            "*",
                            "escalate",
                            "bind",
                            "impersonate"
                        ]
                        .contains(&verb),
                        "{dir}: {} grants {verb}",
                        name(role)
                    );
                }
                for resource in texts(rule, "resources") {
                    assert!(
                        !resource.contains('*') && resource != "secrets",
                        "{dir}: {} grants resources {resource}",
                        name(role)
                    );
                }
                assert!(!texts(rule, "apiGroups").contains(&"*"), "{dir}");
                assert!(list(rule, "nonResourceURLs").is_empty(), "{dir}");
            }
        }
        // The pod runs as the ServiceAccount the binding names.
        let (deployment, spec) = pod(&docs, dir);
        let sa = text(spec, "serviceAccountName").expect("a service account");
        let ns = text(deployment, "metadata.namespace").expect("a namespace");
        assert!(
            all(&docs, "ServiceAccount")
                .iter()
                .any(|s| name(s) == sa && text(s, "metadata.namespace") == Some(ns)),
            "{dir}: no ServiceAccount {ns}/{sa}"
        );
        let bound = all(&docs, "ClusterRoleBinding").iter().any(|b| {
            list(b, "subjects").iter().any(|s| {
                text(s, "kind") == Some("ServiceAccount")
                    && text(s, "name") == Some(sa)
                    && text(s, "namespace") == Some(ns)
            })
        });
        assert!(bound, "{dir}: {ns}/{sa} is bound to no role");
    }
}

#[test]
fn http_mode_serves_8080_and_socket_mode_admits_nothing() {
    let Some(base) = render("deploy/base") else {
        return;
    };
    let Some(socket) = render("deploy/overlays/socket-mode") else {
        return;
    };
    // `deploy/` is the base.
    assert_eq!(kustomize("deploy"), kustomize("deploy/base"));

    let (deployment, _) = pod(&base, "base");
    let labels = pairs(deployment, "spec.template.metadata.labels");
    let selects_pod = |node: &Node, path: &str| {
        let want = pairs(node, path);
        !want.is_empty() && want.iter().all(|kv| labels.contains(kv))
    };

    let service = one(&base, "Service", "base");
    assert!(
        selects_pod(service, "spec.selector"),
        "the Service misses the pod"
    );
    let ports = list(service, "spec.ports");
    assert_eq!(ports.len(), 1);
    assert_eq!(text(&ports[0], "port"), Some("8080"));
    assert!(matches!(
        text(&ports[0], "targetPort"),
        Some("http" | "8080")
    ));

    let policy = one(&base, "NetworkPolicy", "base");
    assert!(selects_pod(policy, "spec.podSelector.matchLabels"));
    assert_eq!(texts(policy, "spec.policyTypes"), ["Ingress", "Egress"]);
    let ingress = list(policy, "spec.ingress");
    assert!(!ingress.is_empty(), "HTTP mode admits Slack");
    for rule in ingress {
        let ports: Vec<&str> = list(rule, "ports")
            .iter()
            .filter_map(|p| text(p, "port"))
            .collect();
        assert_eq!(ports, ["8080"], "ingress beyond 8080");
    }
    let egress: BTreeSet<&str> = list(policy, "spec.egress")
        .iter()
        .flat_map(|r| list(r, "ports"))
        .filter_map(|p| text(p, "port"))
        .collect();
    assert_eq!(
        egress,
        BTreeSet::from(["22", "443", "53", "6443"]),
        "egress: DNS, API server, HTTPS, SSH and nothing else"
    );
    for rule in list(policy, "spec.egress") {
        assert!(
            !list(rule, "ports").is_empty(),
            "an egress rule open on every port"
        );
    }

    // Socket Mode: no Service, the same egress, no ingress at all.
    assert!(
        all(&socket, "Service").is_empty(),
        "socket mode has a Service"
    );
    let policy = one(&socket, "NetworkPolicy", "socket-mode");
    assert!(texts(policy, "spec.policyTypes").contains(&"Ingress"));
    assert!(
        matches!(at(policy, "spec.ingress").map(|n| &n.kind), Some(Kind::Seq(rules)) if rules.is_empty()),
        "socket mode admits ingress"
    );
    let c = hoist(pod(&socket, "socket-mode").1);
    assert!(env(c, "SLACK_SIGNING_SECRET").is_none());
    let app_token = env(c, "SLACK_APP_TOKEN").expect("SLACK_APP_TOKEN");
    assert_eq!(
        text(app_token, "valueFrom.secretKeyRef.key"),
        Some("SLACK_APP_TOKEN")
    );
    assert_ne!(
        text(app_token, "valueFrom.secretKeyRef.optional"),
        Some("true"),
        "socket mode must not start without its token"
    );
    let base_c = hoist(pod(&base, "base").1);
    assert!(
        env(base_c, "SLACK_APP_TOKEN").is_none(),
        "HTTP mode opens a socket too"
    );
    assert!(env(base_c, "SLACK_SIGNING_SECRET").is_some());
}

#[test]
fn every_object_is_labelled_and_none_is_a_secret() {
    for dir in VARIANTS
        .into_iter()
        .chain(["deploy/overlays/argocd-app", ha::HA])
    {
        let Some(docs) = render(dir) else { return };
        for doc in &docs {
            let labels = pairs(doc, "metadata.labels");
            for label in ["app.kubernetes.io/name", "app.kubernetes.io/part-of"] {
                assert!(
                    labels.contains(&(label, "hoist")),
                    "{dir}: {} {} lacks {label}: hoist",
                    kind(doc),
                    name(doc)
                );
            }
            // Applying a variant never replaces the real Secret.
            assert_ne!(kind(doc), "Secret", "{dir} renders a Secret");
        }
    }
}

#[test]
fn the_example_secret_holds_placeholders_for_exactly_the_keys_the_pod_reads() {
    let path = Path::new(ROOT).join("deploy/base/secret.example.yaml");
    let src = std::fs::read_to_string(&path).unwrap();
    let docs = yaml::load(&src, Limits::TARGET).unwrap();
    assert_eq!(docs.len(), 1);
    let secret = &docs[0];
    assert_eq!(kind(secret), "Secret");
    assert_eq!(name(secret), "hoist-secrets");
    assert!(
        at(secret, "data").is_none(),
        "base64 `data` hides what is in it"
    );
    let values = pairs(secret, "stringData");
    assert!(!values.is_empty());
    for (key, value) in &values {
        assert!(value.contains("REPLACE_ME"), "{key} is not a placeholder");
        for real in ["xox", "xapp-", "ghp_", "github_pat_", "glpat-", "BEGIN"] {
            assert!(!value.contains(real), "{key} looks like a real secret");
        }
    }
    // Rendered variants only: the key list is checked against the pods.
    let mut read = Vec::new();
    for dir in VARIANTS.into_iter().chain([ha::HA]) {
        let Some(docs) = render(dir) else { return };
        read.extend(secret_keys(pod(&docs, dir).1));
    }
    let example: BTreeSet<&str> = values.iter().map(|(k, _)| *k).collect();
    for (key, optional) in &read {
        assert!(
            *optional || example.contains(key.as_str()),
            "the pod needs {key}; the example lacks it"
        );
    }
    for key in &example {
        assert!(
            read.iter().any(|(k, _)| k == key),
            "the example has {key}, which no variant reads"
        );
    }
}

#[test]
fn argo_cd_deploys_the_base_into_hoists_namespace_and_keeps_the_journal() {
    let Some(docs) = render("deploy/overlays/argocd-app") else {
        return;
    };
    let Some(base) = render("deploy/base") else {
        return;
    };
    assert_eq!(docs.len(), 1, "the overlay renders the Application only");
    let app = one(&docs, "Application", "argocd-app");
    assert_eq!(text(app, "apiVersion"), Some("argoproj.io/v1alpha1"));
    let path = text(app, "spec.source.path").expect("a source path");
    assert_eq!(path, "deploy/base");
    assert!(
        Path::new(ROOT)
            .join(path)
            .join("kustomization.yaml")
            .is_file()
    );
    assert!(
        text(app, "spec.source.repoURL").is_some_and(|u| u.contains("REPLACE_ME")),
        "the repo URL is a placeholder to set"
    );
    let (deployment, _) = pod(&base, "base");
    assert_eq!(
        text(app, "spec.destination.namespace"),
        text(deployment, "metadata.namespace")
    );
    assert_eq!(text(app, "spec.syncPolicy.automated.prune"), Some("true"));
    assert_eq!(
        text(app, "spec.syncPolicy.automated.selfHeal"),
        Some("true")
    );
    // Pruning or deleting the Application never takes the journal with it.
    for pvc in all(&base, "PersistentVolumeClaim") {
        let options = pairs(pvc, "metadata.annotations")
            .into_iter()
            .find(|(k, _)| *k == "argocd.argoproj.io/sync-options")
            .map(|(_, v)| v)
            .unwrap_or("");
        for keep in ["Delete=false", "Prune=false"] {
            assert!(
                options.split(',').any(|o| o.trim() == keep),
                "{}: {keep}",
                name(pvc)
            );
        }
    }
}

#[test]
fn the_image_runs_as_the_user_and_with_the_data_dir_the_pod_expects() {
    let dockerfile = std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).unwrap();
    let line = |prefix: &str| -> Vec<&str> {
        dockerfile
            .lines()
            .filter(|l| l.starts_with(prefix))
            .collect()
    };
    assert_eq!(line("USER "), [format!("USER {UID}:{UID}").as_str()]);
    assert_eq!(
        line("ENTRYPOINT "),
        [r#"ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/hoist"]"#]
    );
    assert_eq!(line("CMD "), [r#"CMD ["serve"]"#]);
    assert!(dockerfile.contains(&format!("HOIST_DATA_DIR={DATA_DIR}")));
    assert!(
        dockerfile.contains(&format!("HOME={DATA_DIR}/home")),
        "HOME on the volume"
    );
    assert_eq!(
        line("VOLUME "),
        [format!(r#"VOLUME ["{DATA_DIR}"]"#).as_str()]
    );
    assert!(line("HEALTHCHECK ").len() == 1 && dockerfile.contains("/healthz"));
    for label in ["title", "source", "licenses", "version", "revision"] {
        assert!(
            dockerfile.contains(&format!("org.opencontainers.image.{label}=")),
            "label {label}"
        );
    }
    let Some(docs) = render("deploy/base") else {
        return;
    };
    let (_, spec) = pod(&docs, "base");
    assert_eq!(text(spec, "securityContext.runAsUser"), Some(UID));
    assert_eq!(
        text(spec, "securityContext.fsGroup"),
        Some(UID),
        "the claim is writable"
    );
}
