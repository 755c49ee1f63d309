//! The GitOps engines' own object kinds hoist reads (Argo CD `Application`,
//! Flux `Kustomization` and `HelmRelease`) and pokes (those plus Flux
//! `GitRepository`), as dynamic resources: no generated CRD types, only the
//! group/version/kind/plural the API server routes on. Also the trimming of
//! watched objects to the fields the judge reads, which is what keeps a cache
//! of thousands of Applications small (an Argo CD status lists every resource
//! and the sync history).

use crate::policy::Watch;
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

/// A kind hoist watches or pokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Application,
    Kustomization,
    HelmRelease,
    GitRepository,
}

impl Kind {
    /// The kinds that are watched (GitRepository is only poked).
    pub const WATCHED: [Kind; 3] = [Kind::Application, Kind::Kustomization, Kind::HelmRelease];

    pub fn resource(self) -> ApiResource {
        let (group, version, kind, plural) = match self {
            Kind::Application => ("argoproj.io", "v1alpha1", "Application", "applications"),
            Kind::Kustomization => (
                "kustomize.toolkit.fluxcd.io",
                "v1",
                "Kustomization",
                "kustomizations",
            ),
            Kind::HelmRelease => (
                "helm.toolkit.fluxcd.io",
                "v2",
                "HelmRelease",
                "helmreleases",
            ),
            Kind::GitRepository => (
                "source.toolkit.fluxcd.io",
                "v1",
                "GitRepository",
                "gitrepositories",
            ),
        };
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Application => "Application",
            Kind::Kustomization => "Kustomization",
            Kind::HelmRelease => "HelmRelease",
            Kind::GitRepository => "GitRepository",
        }
    }

    /// The engine that owns objects of this kind, for messages.
    pub fn engine(self) -> &'static str {
        match self {
            Kind::Application => "Argo CD",
            _ => "Flux",
        }
    }
}

/// One object: kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind.name(), self.namespace, self.name)
    }
}

impl Key {
    /// The object a policy `watch` names for `env` (`{env}` substituted).
    /// `None` for a Flux kind hoist does not follow.
    pub fn for_watch(watch: &Watch, env: &str) -> Option<Key> {
        let (kind, namespace, name) = match watch {
            Watch::ArgoCd {
                namespace,
                application,
            } => (Kind::Application, namespace, application),
            Watch::Flux {
                kind,
                namespace,
                name,
            } => (
                match kind.as_str() {
                    "Kustomization" => Kind::Kustomization,
                    "HelmRelease" => Kind::HelmRelease,
                    _ => return None,
                },
                namespace,
                name,
            ),
        };
        Some(Key {
            kind,
            namespace: namespace.replace("{env}", env),
            name: name.replace("{env}", env),
        })
    }

    pub fn of(kind: Kind, obj: &DynamicObject) -> Key {
        Key {
            kind,
            namespace: obj.metadata.namespace.clone().unwrap_or_default(),
            name: obj.metadata.name.clone().unwrap_or_default(),
        }
    }
}

/// The Flux Kustomization that applied an object (Flux labels what it applies).
pub fn parent_kustomization(obj: &Value) -> Option<Key> {
    let labels = obj.pointer("/metadata/labels")?;
    let get = |k: &str| labels.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Key {
        kind: Kind::Kustomization,
        name: get("kustomize.toolkit.fluxcd.io/name")?,
        namespace: get("kustomize.toolkit.fluxcd.io/namespace")?,
    })
}

/// The source a Kustomization reads (`spec.sourceRef`), when it is a GitRepository.
pub fn git_source(ks: &Value) -> Option<Key> {
    let source = ks.pointer("/spec/sourceRef")?;
    let kind = source.get("kind").and_then(Value::as_str)?;
    if kind != "GitRepository" {
        return None;
    }
    let name = source.get("name").and_then(Value::as_str)?;
    let own = ks.pointer("/metadata/namespace").and_then(Value::as_str);
    let namespace = source.get("namespace").and_then(Value::as_str).or(own)?;
    Some(Key {
        kind: Kind::GitRepository,
        namespace: namespace.to_string(),
        name: name.to_string(),
    })
}

/// The object as JSON, the shape the judge reads.
pub fn as_json(obj: &DynamicObject) -> Value {
    serde_json::to_value(obj).unwrap_or(Value::Null)
}

/// Keep only what the judge and drift read before the object is cached:
/// name, namespace, generation, labels, `spec.sourceRef`, and the status
/// fields of the judge's rules (`judge.rs`). Everything else (managed fields, the
/// last-applied annotation, Argo CD's resource list and sync history, Helm
/// values, Flux inventories) is dropped, whatever a controller version adds.
pub fn slim(obj: &mut DynamicObject) {
    const STATUS: &[&str] = &[
        "sync",
        "health",
        "operationState",
        "reconciledAt",
        "conditions",
        "observedGeneration",
        "lastAppliedRevision",
        "lastAttemptedRevision",
    ];
    let m = &mut obj.metadata;
    m.managed_fields = None;
    m.annotations = None;
    m.owner_references = None;
    m.finalizers = None;
    let status = obj.data.get_mut("status").map(Value::take);
    let source = obj.data.pointer_mut("/spec/sourceRef").map(Value::take);
    let mut kept = serde_json::Map::new();
    if let Some(Value::Object(mut status)) = status {
        status.retain(|k, _| STATUS.contains(&k.as_str()));
        if let Some(Value::Object(op)) = status.get_mut("operationState") {
            op.retain(|k, _| {
                matches!(
                    k.as_str(),
                    "phase" | "message" | "finishedAt" | "syncResult" | "operation"
                )
            });
            if let Some(Value::Object(result)) = op.get_mut("syncResult") {
                result.retain(|k, _| k == "revision");
            }
            if let Some(Value::Object(operation)) = op.get_mut("operation") {
                operation.retain(|k, _| k == "sync");
                if let Some(Value::Object(sync)) = operation.get_mut("sync") {
                    sync.retain(|k, _| k == "revision");
                }
            }
        }
        if let Some(Value::Object(sync)) = status.get_mut("sync") {
            sync.retain(|k, _| matches!(k.as_str(), "status" | "revision"));
        }
        kept.insert("status".into(), Value::Object(status));
    }
    if let Some(source) = source {
        kept.insert("spec".into(), serde_json::json!({ "sourceRef": source }));
    }
    obj.data = Value::Object(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slim_keeps_what_the_judge_reads_and_judges_the_same() {
        let full = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "api-prod", "namespace": "argocd", "generation": 3,
                "labels": {"team": "payments"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
                "managedFields": [{"manager": "argocd-controller"}]},
            "spec": {"project": "default", "source": {"repoURL": "https://github.com/acme/config"}},
            "status": {
                "sync": {"status": "Synced", "revision": "bbb", "comparedTo": {"source": {}}},
                "health": {"status": "Healthy", "message": ""},
                "operationState": {"phase": "Succeeded", "finishedAt": "2026-11-22T10:00:03Z", "startedAt": "x",
                    "syncResult": {"revision": "bbb", "resources": [{"kind": "Deployment"}]},
                    "operation": {"sync": {"revision": "bbb", "prune": true}, "initiatedBy": {}}},
                "reconciledAt": "2026-11-22T10:00:04Z",
                "resources": [{"kind": "Deployment"}], "history": [{"id": 1}], "summary": {}
            }
        });
        let mut obj: DynamicObject = serde_json::from_value(full.clone()).unwrap();
        slim(&mut obj);
        let slimmed = as_json(&obj);
        assert_eq!(slimmed["metadata"]["labels"]["team"], "payments");
        assert!(slimmed["metadata"].get("annotations").is_none());
        assert!(slimmed.get("spec").is_none());
        assert!(slimmed["status"].get("resources").is_none());
        assert!(
            slimmed["status"]["operationState"]["syncResult"]
                .get("resources")
                .is_none()
        );
        let contains = |r: &str| r == "bbb";
        assert_eq!(
            crate::cluster::judge::argo_application(&slimmed, &contains),
            crate::cluster::judge::argo_application(&full, &contains)
        );
        assert!(slimmed.to_string().len() < full.to_string().len());
        let ks: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system", "generation": 1},
            "spec": {"path": "./apps", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
            "status": {"observedGeneration": 1, "inventory": {"entries": []}}
        }))
        .unwrap();
        let mut ks = ks;
        slim(&mut ks);
        assert_eq!(git_source(&as_json(&ks)).unwrap().name, "flux-system");
    }
}
