//! Judging revision R from what Argo CD and Flux write in their objects'
//! status, by the rules in ARCHITECTURE.md ("Following the reconcile"). Pure
//! functions over the objects as JSON (what a watcher receives), so every rule
//! is tested on realistic objects without a cluster. "Contains R" means R or a
//! descendant of R: a later commit that includes R counts, an older revision
//! reported Healthy does not. The caller answers that question (the mirror:
//! `git merge-base --is-ancestor R X`). The verdict is the engine's own
//! [`Progress`](crate::engine::ports::Progress); `TimedOut` is never judged
//! from an object (the engine owns the environment's timeout). Words taken
//! from an object (a condition's reason and message) end up in chat, so they
//! pass [`said`]: one line, at most [`SAID_MAX`] characters.

use crate::engine::ports::Progress;
use serde_json::Value;

/// The most of a controller's message that reaches chat.
pub const SAID_MAX: usize = 300;

/// `parts` joined by `: ` as one line of at most [`SAID_MAX`] characters:
/// controls and separators become spaces, invisible format characters go,
/// the rest is cut with `…`.
pub(super) fn said(parts: &[&str]) -> String {
    crate::engine::one_line(&parts.join(": "), SAID_MAX)
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

/// The condition of `kind` in `status.conditions`: (status, reason, message).
fn condition<'a>(obj: &'a Value, kind: &str) -> Option<(&'a str, &'a str, &'a str)> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        .map(|c| {
            let f = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
            (f("status"), f("reason"), f("message"))
        })
}

/// The commit of a Flux revision: `main@sha1:<hex>` (v2) or `main/<hex>` (v1).
pub fn flux_commit(revision: &str) -> &str {
    if let Some((_, digest)) = revision.rsplit_once('@') {
        return digest.split_once(':').map_or(digest, |(_, hex)| hex);
    }
    revision.rsplit_once('/').map_or(revision, |(_, hex)| hex)
}

/// Is `a` (RFC 3339) at or after `b`? Unparseable times are not trusted.
fn not_before(a: Option<&str>, b: Option<&str>) -> bool {
    let parse = |t: Option<&str>| t?.parse::<jiff::Timestamp>().ok();
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a >= b,
        _ => false,
    }
}

/// An Argo CD `Application` (argoproj.io/v1alpha1) against R.
pub fn argo_application(app: &Value, contains: &dyn Fn(&str) -> bool) -> Progress {
    let has = |r: Option<&str>| r.is_some_and(|r| !r.is_empty() && contains(r));
    for kind in ["SyncError", "ComparisonError"] {
        if let Some(c) = app
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
            })
        {
            let message = c.get("message").and_then(Value::as_str).unwrap_or(kind);
            return Progress::Failed(said(&[kind, message]));
        }
    }
    let op = app
        .pointer("/status/operationState")
        .unwrap_or(&Value::Null);
    let phase = text(op, &["phase"]).unwrap_or("");
    let op_revision = text(op, &["syncResult", "revision"])
        .or_else(|| text(op, &["operation", "sync", "revision"]));
    let sync_status = text(app, &["status", "sync", "status"]).unwrap_or("");
    let sync_revision = text(app, &["status", "sync", "revision"]);
    match phase {
        "Failed" | "Error" if has(op_revision) => {
            let message = text(op, &["message"]).unwrap_or("the sync failed");
            return Progress::Failed(said(&[message]));
        }
        "Running" | "Terminating" if has(op_revision) || has(sync_revision) => {
            return Progress::Syncing;
        }
        _ => {}
    }
    let applied =
        phase == "Succeeded" && has(op_revision) && sync_status == "Synced" && has(sync_revision);
    if !applied {
        return if has(sync_revision) {
            Progress::Syncing
        } else {
            Progress::NotSeenYet
        };
    }
    // Health from before the sync finished describes the old revision.
    if !not_before(
        text(app, &["status", "reconciledAt"]),
        text(op, &["finishedAt"]),
    ) {
        return Progress::Applied;
    }
    let message = text(app, &["status", "health", "message"]).unwrap_or("");
    match text(app, &["status", "health", "status"]).unwrap_or("") {
        "Healthy" => Progress::Healthy,
        "Progressing" | "Suspended" => Progress::Progressing,
        h @ ("Degraded" | "Missing") => Progress::Degraded(if message.is_empty() {
            h.to_string()
        } else {
            said(&[h, message])
        }),
        _ => Progress::Applied,
    }
}

/// Flux objects are trusted only once the controller has seen their spec.
fn observed(obj: &Value) -> bool {
    let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
    let observed = obj
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64);
    generation.is_some() && generation == observed
}

/// A Flux `Kustomization` (kustomize.toolkit.fluxcd.io/v1) against R.
/// Flux retries a failing apply or health check, so `Ready=False` at R is
/// [`Progress::Retrying`]; only `Stalled=True` ends it.
pub fn flux_kustomization(ks: &Value, contains: &dyn Fn(&str) -> bool) -> Progress {
    if !observed(ks) {
        return Progress::NotSeenYet;
    }
    let has = |r: Option<&str>| r.is_some_and(|r| !r.is_empty() && contains(flux_commit(r)));
    if let Some(("True", reason, message)) = condition(ks, "Stalled") {
        return Progress::Stalled(said(&[reason, message]));
    }
    let applied = text(ks, &["status", "lastAppliedRevision"]);
    let attempted = text(ks, &["status", "lastAttemptedRevision"]);
    let ready = condition(ks, "Ready");
    if has(applied) && matches!(ready, Some(("True", ..))) {
        return Progress::Healthy;
    }
    if let Some(("False", reason, message)) = ready
        && has(attempted)
    {
        return Progress::Retrying(said(&[reason, message]));
    }
    let reconciling = matches!(condition(ks, "Reconciling"), Some(("True", ..)));
    if (reconciling || matches!(ready, Some(("Unknown", ..)))) && (has(attempted) || has(applied)) {
        return Progress::Progressing;
    }
    if has(applied) {
        return Progress::Applied;
    }
    Progress::NotSeenYet
}

/// A Flux `HelmRelease` (helm.toolkit.fluxcd.io/v2): its status names a
/// chart version, not R, so it is judged after its parent Kustomization
/// (`parent`) has applied R.
pub fn flux_helm_release(hr: &Value, parent: &Progress) -> Progress {
    match parent {
        Progress::Healthy | Progress::Applied => {}
        other => return other.clone(),
    }
    if !observed(hr) {
        return Progress::Applied;
    }
    if let Some(("True", reason, message)) = condition(hr, "Stalled") {
        return Progress::Stalled(said(&[reason, message]));
    }
    match (condition(hr, "Ready"), condition(hr, "Released")) {
        (Some(("True", ..)), _) => Progress::Healthy,
        (_, Some(("False", reason, message))) | (Some(("False", reason, message)), _) => {
            Progress::Retrying(said(&[reason, message]))
        }
        // Reconciling, or Ready=Unknown while the release is installed/upgraded.
        _ => Progress::Progressing,
    }
}

#[cfg(test)]
mod tests;
