//! Argo CD and Flux objects shaped like what their controllers write (field
//! names and layouts from argoproj.io/v1alpha1 Application,
//! kustomize.toolkit.fluxcd.io/v1 Kustomization, helm.toolkit.fluxcd.io/v2
//! HelmRelease, source.toolkit.fluxcd.io/v1 GitRepository), and the statuses
//! a rollout walks through, for the fake API server to serve.

use serde_json::{Value, json};

pub const ARGO: &str = "argoproj.io/v1alpha1";
pub const KS: &str = "kustomize.toolkit.fluxcd.io/v1";
pub const HR: &str = "helm.toolkit.fluxcd.io/v2";
pub const GIT: &str = "source.toolkit.fluxcd.io/v1";

/// RFC 3339 now, plus `plus` seconds.
pub fn at(plus: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(plus)).to_string()
}

/// An Application in sync and healthy at `revision`, with the resource list
/// and sync history a real one carries.
pub fn application(ns: &str, name: &str, revision: &str) -> Value {
    json!({
        "apiVersion": ARGO, "kind": "Application",
        "metadata": {"name": name, "namespace": ns, "generation": 7,
            "labels": {"team": "payments"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\"}"}},
        "spec": {"project": "default",
            "source": {"repoURL": "https://github.com/acme/config", "path": format!("apps/{name}"), "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}},
        "status": argo_healthy(revision),
    })
}

fn resources(name: &str) -> Value {
    json!([
        {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": name, "name": name, "status": "Synced", "health": {"status": "Healthy"}},
        {"version": "v1", "kind": "Service", "namespace": name, "name": name, "status": "Synced", "health": {"status": "Healthy"}},
        {"version": "v1", "kind": "ConfigMap", "namespace": name, "name": format!("{name}-config"), "status": "Synced"}
    ])
}

fn operation(phase: &str, revision: &str, message: &str, finished: Option<String>) -> Value {
    let mut op = json!({
        "operation": {"sync": {"revision": revision}, "initiatedBy": {"automated": true}},
        "phase": phase, "message": message, "startedAt": at(-2),
        "syncResult": {"revision": revision, "source": {"repoURL": "https://github.com/acme/config", "path": "apps"},
            "resources": [{"group": "apps", "version": "v1", "kind": "Deployment", "name": "api", "status": "Synced", "message": "deployment.apps/api configured"}]}
    });
    if let Some(f) = finished {
        op["finishedAt"] = json!(f);
    }
    op
}

fn argo(sync: &str, revision: &str, health: &str, health_message: &str, op: Value) -> Value {
    json!({
        "sync": {"status": sync, "revision": revision, "comparedTo": {"source": {"repoURL": "https://github.com/acme/config"}}},
        "health": {"status": health, "message": health_message},
        "operationState": op,
        "reconciledAt": at(1),
        "resources": resources("api"),
        "history": [{"id": 1, "revision": revision, "deployedAt": at(-600)}],
        "summary": {"images": ["ghcr.io/acme/api:v1.2.3"]},
        "sourceType": "Kustomize",
    })
}

pub fn argo_healthy(revision: &str) -> Value {
    argo(
        "Synced",
        revision,
        "Healthy",
        "",
        operation(
            "Succeeded",
            revision,
            "successfully synced (all tasks run)",
            Some(at(0)),
        ),
    )
}

/// Argo CD noticed R (after a refresh) and is syncing to it.
pub fn argo_syncing(old: &str, r: &str) -> Value {
    let mut s = argo(
        "OutOfSync",
        r,
        "Healthy",
        "",
        operation("Succeeded", old, "successfully synced", Some(at(-60))),
    );
    s["operationState"] = operation(
        "Running",
        r,
        "waiting for healthy state of apps/Deployment/api",
        None,
    );
    s
}

pub fn argo_progressing(r: &str) -> Value {
    argo(
        "Synced",
        r,
        "Progressing",
        "Waiting for rollout to finish: 1 of 3 updated replicas are available...",
        operation(
            "Succeeded",
            r,
            "successfully synced (all tasks run)",
            Some(at(0)),
        ),
    )
}

pub fn argo_degraded(r: &str) -> Value {
    argo(
        "Synced",
        r,
        "Degraded",
        "Deployment \"api\" exceeded its progress deadline",
        operation(
            "Succeeded",
            r,
            "successfully synced (all tasks run)",
            Some(at(0)),
        ),
    )
}

pub fn argo_sync_failed(r: &str) -> Value {
    argo(
        "OutOfSync",
        r,
        "Healthy",
        "",
        operation(
            "Failed",
            r,
            "one or more objects failed to apply, reason: admission webhook \"validate.kyverno.svc\" denied the request",
            Some(at(0)),
        ),
    )
}

pub fn argo_out_of_sync(revision: &str) -> Value {
    let mut s = argo_healthy(revision);
    s["sync"]["status"] = json!("OutOfSync");
    s
}

fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": at(0), "observedGeneration": 1})
}

/// A Kustomization reading GitRepository `flux-system`, ready at `revision`.
pub fn kustomization(ns: &str, name: &str, revision: &str) -> Value {
    json!({
        "apiVersion": KS, "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {"interval": "10m", "path": format!("./apps/{name}"), "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": ks_ready(revision),
    })
}

pub fn git_repository(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": GIT, "kind": "GitRepository",
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {"interval": "1m", "url": "https://github.com/acme/config", "ref": {"branch": "main"}},
        "status": {"observedGeneration": 1, "conditions": [condition("Ready", "True", "Succeeded", "stored artifact")]},
    })
}

fn flux_rev(sha: &str) -> String {
    format!("main@sha1:{sha}")
}

pub fn ks_ready(revision: &str) -> Value {
    json!({"observedGeneration": 1, "lastAppliedRevision": flux_rev(revision), "lastAttemptedRevision": flux_rev(revision),
        "conditions": [condition("Ready", "True", "ReconciliationSucceeded", &format!("Applied revision: {}", flux_rev(revision)))],
        "inventory": {"entries": [{"id": "apps_worker_apps_Deployment", "v": "v1"}]}})
}

pub fn ks_progressing(old: &str, r: &str) -> Value {
    json!({"observedGeneration": 1, "lastAppliedRevision": flux_rev(old), "lastAttemptedRevision": flux_rev(r),
        "conditions": [condition("Reconciling", "True", "Progressing", &format!("Building manifests for revision {}", flux_rev(r))),
                       condition("Ready", "Unknown", "Progressing", "Reconciliation in progress")]})
}

pub fn ks_health_check_failed(old: &str, r: &str) -> Value {
    json!({"observedGeneration": 1, "lastAppliedRevision": flux_rev(old), "lastAttemptedRevision": flux_rev(r),
        "conditions": [condition("Ready", "False", "HealthCheckFailed", "health check failed after 30s: timeout waiting for: [Deployment/apps/worker status: 'InProgress']")]})
}

pub fn ks_stalled(old: &str, r: &str) -> Value {
    json!({"observedGeneration": 1, "lastAppliedRevision": flux_rev(old), "lastAttemptedRevision": flux_rev(r),
        "conditions": [condition("Ready", "False", "BuildFailed", "kustomize build failed"),
                       condition("Stalled", "True", "BuildFailed", "kustomize build failed: accumulating resources: 'apps/worker/missing.yaml' not found")]})
}

/// A HelmRelease applied by Kustomization `parent` (Flux labels it so).
pub fn helm_release(ns: &str, name: &str, parent_ns: &str, parent: &str) -> Value {
    json!({
        "apiVersion": HR, "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": ns, "generation": 1,
            "labels": {"kustomize.toolkit.fluxcd.io/name": parent, "kustomize.toolkit.fluxcd.io/namespace": parent_ns}},
        "spec": {"interval": "5m", "chart": {"spec": {"chart": "worker", "version": "1.x", "sourceRef": {"kind": "HelmRepository", "name": "acme"}}},
            "values": {"image": {"tag": "v1"}}},
        "status": hr_ready(1),
    })
}

pub fn hr_ready(generation: i64) -> Value {
    json!({"observedGeneration": generation, "lastAttemptedRevision": "1.4.0",
        "conditions": [condition("Ready", "True", "UpgradeSucceeded", "Helm upgrade succeeded for release apps/worker.v4 with chart worker@1.4.0"),
                       condition("Released", "True", "UpgradeSucceeded", "Helm upgrade succeeded")]})
}

pub fn hr_upgrading(generation: i64) -> Value {
    json!({"observedGeneration": generation, "lastAttemptedRevision": "1.4.0",
        "conditions": [condition("Reconciling", "True", "Progressing", "Running 'upgrade' action with timeout of 5m0s"),
                       condition("Ready", "Unknown", "Progressing", "Running 'upgrade' action with timeout of 5m0s")]})
}
