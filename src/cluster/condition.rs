//! An object's condition apart from any rollout: an Argo CD Application
//! OutOfSync, or a Flux Kustomization/HelmRelease failing or stalled. This is
//! what the cluster reports; whether it is drift (nobody asked hoist for the
//! change, and it lasted) is the engine's to decide.

use super::kinds::Kind;
use serde_json::Value;

/// Why an object is out of sync or failing, or `None` when it is fine.
pub fn drifting(kind: Kind, obj: &Value) -> Option<String> {
    // Controller words reach a chat post and the log: one line, bounded.
    raw(kind, obj).map(|why| super::judge::said(&[&why]))
}

fn raw(kind: Kind, obj: &Value) -> Option<String> {
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str);
    match kind {
        Kind::Application => (text("/status/sync/status") == Some("OutOfSync")).then(|| {
            let health = text("/status/health/status").unwrap_or("Unknown");
            format!("is OutOfSync (health {health})")
        }),
        Kind::Kustomization | Kind::HelmRelease => {
            let conditions = obj.pointer("/status/conditions")?.as_array()?;
            let find = |t: &str| {
                conditions
                    .iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some(t))
            };
            fn said<'a>(c: &'a Value, k: &str) -> &'a str {
                c.get(k).and_then(Value::as_str).unwrap_or("")
            }
            if let Some(c) = find("Stalled").filter(|c| said(c, "status") == "True") {
                return Some(format!(
                    "is stalled: {}: {}",
                    said(c, "reason"),
                    said(c, "message")
                ));
            }
            find("Ready")
                .filter(|c| said(c, "status") == "False")
                .map(|c| format!("is failing: {}: {}", said(c, "reason"), said(c, "message")))
        }
        Kind::GitRepository => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn argo_out_of_sync_and_flux_failing_or_stalled_count() {
        let ks = json!({"status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "HealthCheckFailed", "message": "timeout waiting for: [Deployment/apps/worker status: 'InProgress']"}
        ]}});
        let why = drifting(Kind::Kustomization, &ks).unwrap();
        assert!(why.starts_with("is failing: HealthCheckFailed"), "{why}");
        let stalled = json!({"status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "ArtifactFailed", "message": "x"},
            {"type": "Stalled", "status": "True", "reason": "InvalidPath", "message": "no such path"}
        ]}});
        assert!(
            drifting(Kind::Kustomization, &stalled)
                .unwrap()
                .starts_with("is stalled: InvalidPath")
        );
        let app = |sync: &str| json!({"status": {"sync": {"status": sync}, "health": {"status": "Degraded"}}});
        assert_eq!(
            drifting(Kind::Application, &app("OutOfSync")).as_deref(),
            Some("is OutOfSync (health Degraded)")
        );
        assert_eq!(drifting(Kind::Application, &app("Synced")), None);
        assert_eq!(drifting(Kind::GitRepository, &app("OutOfSync")), None);
        // A controller's message is one bounded line by the time it is said.
        let long = json!({"status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "X", "message": "a\nb\u{202E}c ".repeat(500)}
        ]}});
        let why = drifting(Kind::Kustomization, &long).unwrap();
        assert!(!why.contains(['\n', '\u{202E}']), "{why}");
        assert!(
            why.chars().count() <= super::super::judge::SAID_MAX,
            "{why}"
        );
    }
}
