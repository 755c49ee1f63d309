//! `deploy/overlays/ha` as `kubectl kustomize` renders it: two replicas on
//! the Kubernetes journal with the downward API's identity and namespace, no
//! claim (the data dir is a cache), a PodDisruptionBudget and anti-affinity
//! that select hoist's pods, the CRDs, and a namespaced Role granting exactly
//! the calls the journal (`src/store/kube`) and the Lease (`src/ha`) make:
//! the expected grants are written here, and the Kubernetes calls found in
//! those sources must all be among them, so a new call fails this test until
//! the Role grants it.

use super::render::*;
use hoist::yaml::Node;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub(super) const HA: &str = "deploy/overlays/ha";

/// What the Role must grant: (API group, resource) -> verbs.
fn needed() -> BTreeMap<(String, String), BTreeSet<String>> {
    let verbs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let mut need = BTreeMap::new();
    need.insert(
        ("coordination.k8s.io".into(), "leases".into()),
        verbs(&["get", "create", "update"]),
    );
    for journal in ["hoistoperations", "hoistlocks", "hoistkeys"] {
        need.insert(
            ("hoist.dev".into(), journal.into()),
            verbs(&["get", "list", "create", "update", "delete"]),
        );
    }
    need
}

/// What `rules` grant: (API group, resource) -> verbs.
fn granted(rules: &[Node]) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut got: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for rule in rules {
        for group in texts(rule, "apiGroups") {
            for resource in texts(rule, "resources") {
                got.entry((group.into(), resource.into()))
                    .or_default()
                    .extend(texts(rule, "verbs").into_iter().map(String::from));
            }
        }
    }
    got
}

/// The API verbs kube calls in the `.rs` files under `dir` ask for.
fn verbs_called(dir: &str) -> BTreeSet<&'static str> {
    let call = regex::Regex::new(r"\bapi\s*\.\s*([a-z_]+)\s*\(").unwrap();
    let mut verbs = BTreeSet::new();
    let mut files = vec![Path::new(ROOT).join(dir)];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        for m in call.captures_iter(&src) {
            let verb = match &m[1] {
                "get" | "get_opt" | "get_metadata" => "get",
                "list" | "list_metadata" => "list",
                "create" => "create",
                "replace" | "replace_status" => "update",
                "patch" | "patch_status" | "patch_metadata" => "patch",
                "delete" => "delete",
                "delete_collection" => "deletecollection",
                "watch" | "watch_metadata" => "watch",
                _ => continue,
            };
            verbs.insert(verb);
        }
        if src.contains("watcher(") {
            verbs.insert("watch");
        }
    }
    verbs
}

#[test]
fn the_ha_overlay_runs_two_replicas_on_the_kubernetes_journal_without_a_claim() {
    let Some(docs) = render(HA) else { return };
    let (deployment, spec) = pod(&docs, HA);
    assert_eq!(text(deployment, "spec.replicas"), Some("2"));
    // Both replicas may run at once, so an update never drops below two.
    assert_eq!(
        text(deployment, "spec.strategy.type"),
        Some("RollingUpdate")
    );
    assert_eq!(
        text(deployment, "spec.strategy.rollingUpdate.maxUnavailable"),
        Some("0")
    );
    assert_ne!(
        text(deployment, "spec.strategy.rollingUpdate.maxSurge"),
        Some("0"),
        "maxUnavailable 0 needs a surge"
    );

    let c = hoist(spec);
    let value = |var: &str| env(c, var).and_then(|e| text(e, "value"));
    assert_eq!(value("HOIST_STORE"), Some("kubernetes"));
    for (var, field) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
    ] {
        let e = env(c, var).unwrap_or_else(|| panic!("no {var}"));
        assert_eq!(
            text(e, "valueFrom.fieldRef.fieldPath"),
            Some(field),
            "{var}"
        );
    }
    // The Lease's timing keeps hoist's defaults: set nowhere.
    let maps: Vec<&Node> = all(&docs, "ConfigMap");
    for var in [
        "HOIST_LEASE_NAME",
        "HOIST_LEASE_DURATION",
        "HOIST_LEASE_RENEW_DEADLINE",
        "HOIST_LEASE_RETRY_PERIOD",
    ] {
        assert!(env(c, var).is_none(), "{var} set on the container");
        for m in &maps {
            assert!(text(m, &format!("data.{var}")).is_none(), "{var} in a map");
        }
    }

    // No claim anywhere; the data dir is an emptyDir.
    assert!(all(&docs, "PersistentVolumeClaim").is_empty(), "a claim");
    for v in list(spec, "volumes") {
        assert!(
            at(v, "persistentVolumeClaim").is_none(),
            "volume {} is a claim",
            text(v, "name").unwrap_or("?")
        );
    }
    assert_eq!(value("HOIST_DATA_DIR"), Some(DATA_DIR));
    let data = mounted_at(spec, c, DATA_DIR);
    assert!(
        at(data, "emptyDir").is_some(),
        "the data dir is no emptyDir"
    );
    assert!(
        text(data, "emptyDir.sizeLimit").is_some(),
        "the data dir is unbounded"
    );
}

#[test]
fn the_ha_overlay_keeps_a_replica_through_drains_and_spreads_them_over_nodes() {
    let Some(docs) = render(HA) else { return };
    let (deployment, spec) = pod(&docs, HA);
    let labels = pairs(deployment, "spec.template.metadata.labels");
    let selects_pods = |node: &Node, path: &str| {
        let want = pairs(node, path);
        !want.is_empty() && want.iter().all(|kv| labels.contains(kv))
    };

    let pdb = one(&docs, "PodDisruptionBudget", HA);
    assert_eq!(text(pdb, "apiVersion"), Some("policy/v1"));
    assert_eq!(text(pdb, "spec.minAvailable"), Some("1"));
    assert!(at(pdb, "spec.maxUnavailable").is_none());
    assert!(
        selects_pods(pdb, "spec.selector.matchLabels"),
        "the PDB misses the pods"
    );
    assert_eq!(
        text(pdb, "metadata.namespace"),
        text(deployment, "metadata.namespace")
    );

    let anti = "affinity.podAntiAffinity";
    let preferred = list(
        spec,
        &format!("{anti}.preferredDuringSchedulingIgnoredDuringExecution"),
    );
    let required = list(
        spec,
        &format!("{anti}.requiredDuringSchedulingIgnoredDuringExecution"),
    );
    let terms: Vec<&Node> = preferred
        .iter()
        .filter_map(|p| at(p, "podAffinityTerm"))
        .chain(required)
        .collect();
    assert!(
        terms
            .iter()
            .any(|t| text(t, "topologyKey") == Some("kubernetes.io/hostname")
                && selects_pods(t, "labelSelector.matchLabels")),
        "no anti-affinity between hoist's pods per node"
    );
}

#[test]
fn the_ha_role_grants_exactly_the_lease_and_journal_calls_in_its_namespace() {
    let Some(docs) = render(HA) else { return };
    let Some(base) = render("deploy/base") else {
        return;
    };
    let (deployment, spec) = pod(&docs, HA);
    let ns = text(deployment, "metadata.namespace").expect("a namespace");
    let sa = text(spec, "serviceAccountName").expect("a service account");

    let role = one(&docs, "Role", HA);
    assert_eq!(text(role, "metadata.namespace"), Some(ns));
    let rules = list(role, "rules");
    for rule in rules {
        for field in ["apiGroups", "resources", "verbs"] {
            assert!(!texts(rule, field).contains(&"*"), "a wildcard in {field}");
        }
        assert!(list(rule, "nonResourceURLs").is_empty());
    }
    let got = granted(rules);
    assert_eq!(got, needed(), "the Role grants other than the calls need");

    // Every call the journal and the Lease make is granted.
    for (dir, group, resources) in [
        (
            "src/store/kube",
            "hoist.dev",
            vec!["hoistoperations", "hoistlocks", "hoistkeys"],
        ),
        ("src/ha", "coordination.k8s.io", vec!["leases"]),
    ] {
        let called = verbs_called(dir);
        assert!(called.contains("get"), "{dir}: no calls found");
        for resource in resources {
            let verbs = &got[&(group.to_string(), resource.to_string())];
            for verb in &called {
                assert!(
                    verbs.contains(*verb),
                    "{dir} calls {verb} on {resource}: not granted"
                );
            }
        }
    }

    // Every journal CRD rendered is covered, and nothing else of hoist.dev.
    let crds: BTreeSet<String> = all(&docs, "CustomResourceDefinition")
        .iter()
        .filter(|c| text(c, "spec.group") == Some("hoist.dev"))
        .filter_map(|c| text(c, "spec.names.plural").map(String::from))
        .collect();
    let journal: BTreeSet<String> = got
        .keys()
        .filter(|(g, _)| g == "hoist.dev")
        .map(|(_, r)| r.clone())
        .collect();
    assert_eq!(crds, journal);
    for crd in all(&docs, "CustomResourceDefinition") {
        assert_eq!(text(crd, "spec.scope"), Some("Namespaced"), "{}", name(crd));
    }

    // Bound to the pod's ServiceAccount, in the same namespace only.
    let binding = one(&docs, "RoleBinding", HA);
    assert_eq!(text(binding, "metadata.namespace"), Some(ns));
    assert_eq!(text(binding, "roleRef.kind"), Some("Role"));
    assert_eq!(text(binding, "roleRef.name"), Some(name(role)));
    let subjects = list(binding, "subjects");
    assert_eq!(subjects.len(), 1);
    assert_eq!(text(&subjects[0], "kind"), Some("ServiceAccount"));
    assert_eq!(text(&subjects[0], "name"), Some(sa));
    assert_eq!(text(&subjects[0], "namespace"), Some(ns));

    // The ClusterRole for Argo CD / Flux is the base's, unchanged.
    let cluster = |d: &[Node]| granted(list(one(d, "ClusterRole", "ClusterRole"), "rules"));
    assert_eq!(cluster(&docs), cluster(&base));
    assert!(
        cluster(&docs)
            .keys()
            .all(|(g, r)| g != "hoist.dev" && r != "leases"),
        "the ClusterRole grants hoist's own objects cluster-wide"
    );
}
