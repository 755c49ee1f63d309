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

/// Drop what the judge never reads before the object is cached: managed
/// fields, annotations (the last-applied copy of the whole object lives
/// there), Argo CD's resource list, sync history and summary.
pub fn slim(obj: &mut DynamicObject) {
    obj.metadata.managed_fields = None;
    obj.metadata.annotations = None;
    if let Some(status) = obj.data.get_mut("status").and_then(Value::as_object_mut) {
        for heavy in [
            "resources",
            "history",
            "summary",
            "sourceTypes",
            "inventory",
        ] {
            status.remove(heavy);
        }
        if let Some(result) = status
            .get_mut("operationState")
            .and_then(|o| o.get_mut("syncResult"))
            .and_then(Value::as_object_mut)
        {
            result.remove("resources");
            result.remove("managedNamespaceMetadata");
        }
    }
    if let Some(spec) = obj.data.get_mut("spec").and_then(Value::as_object_mut) {
        // Helm values can be large; sourceRef/interval are what is read.
        spec.remove("values");
        spec.remove("postBuild");
        spec.remove("patches");
    }
}
