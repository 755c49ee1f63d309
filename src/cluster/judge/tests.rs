//! The rules on objects shaped like what Argo CD and Flux write. Commits:
//! `aaa` is older than R, `bbb` is R, `ccc` descends from R.

use super::*;
use serde_json::json;

fn contains(x: &str) -> bool {
    x == "bbb" || x == "ccc"
}

fn app(
    sync: (&str, &str),
    op: Option<(&str, &str, &str)>,
    health: &str,
    reconciled: &str,
) -> Value {
    let mut v = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "api-staging", "namespace": "argocd"},
        "status": {
            "sync": {"status": sync.0, "revision": sync.1},
            "health": {"status": health, "message": "Deployment api: 1 of 3 pods crash looping"},
            "reconciledAt": reconciled,
        }
    });
    if let Some((phase, revision, finished)) = op {
        v["status"]["operationState"] = json!({
            "phase": phase,
            "message": "one or more objects failed to apply: admission webhook denied the request",
            "startedAt": "2026-11-22T10:00:00Z",
            "finishedAt": finished,
            "operation": {"sync": {"revision": revision}},
            "syncResult": {"revision": revision, "source": {"repoURL": "https://github.com/acme/config", "path": "apps/api/overlays/staging"}}
        });
    }
    v
}

#[test]
fn argo_walks_syncing_progressing_healthy_for_r() {
    let seen = app(
        ("OutOfSync", "bbb"),
        Some(("Succeeded", "aaa", "2026-11-22T09:00:00Z")),
        "Healthy",
        "2026-11-22T10:00:01Z",
    );
    assert_eq!(argo_application(&seen, &contains), Progress::Syncing);
    let running = app(
        ("OutOfSync", "bbb"),
        Some(("Running", "bbb", "")),
        "Healthy",
        "2026-11-22T10:00:01Z",
    );
    assert_eq!(argo_application(&running, &contains), Progress::Syncing);
    let progressing = app(
        ("Synced", "bbb"),
        Some(("Succeeded", "bbb", "2026-11-22T10:00:03Z")),
        "Progressing",
        "2026-11-22T10:00:04Z",
    );
    assert_eq!(
        argo_application(&progressing, &contains),
        Progress::Progressing
    );
    let healthy = app(
        ("Synced", "bbb"),
        Some(("Succeeded", "bbb", "2026-11-22T10:00:03Z")),
        "Healthy",
        "2026-11-22T10:00:30Z",
    );
    assert_eq!(argo_application(&healthy, &contains), Progress::Healthy);
}

#[test]
fn argo_health_from_before_the_sync_finished_is_not_trusted() {
    let stale = app(
        ("Synced", "bbb"),
        Some(("Succeeded", "bbb", "2026-11-22T10:00:03Z")),
        "Healthy",
        "2026-11-22T10:00:02Z",
    );
    assert_eq!(argo_application(&stale, &contains), Progress::Applied);
}

#[test]
fn argo_older_revisions_do_not_count_and_descendants_do() {
    let older = app(
        ("Synced", "aaa"),
        Some(("Succeeded", "aaa", "2026-11-22T10:00:03Z")),
        "Healthy",
        "2026-11-22T10:00:30Z",
    );
    assert_eq!(argo_application(&older, &contains), Progress::NotSeenYet);
    let newer = app(
        ("Synced", "ccc"),
        Some(("Succeeded", "ccc", "2026-11-22T10:00:03Z")),
        "Healthy",
        "2026-11-22T10:00:30Z",
    );
    assert_eq!(argo_application(&newer, &contains), Progress::Healthy);
    assert_eq!(
        argo_application(&json!({"kind": "Application"}), &contains),
        Progress::NotSeenYet
    );
}

#[test]
fn argo_failures_and_degradation_carry_the_engines_words() {
    let failed = app(
        ("OutOfSync", "bbb"),
        Some(("Failed", "bbb", "2026-11-22T10:00:03Z")),
        "Healthy",
        "2026-11-22T10:00:30Z",
    );
    assert_eq!(
        argo_application(&failed, &contains),
        Progress::Failed(
            "one or more objects failed to apply: admission webhook denied the request".into()
        )
    );
    let mut broken = app(("Unknown", "bbb"), None, "Healthy", "2026-11-22T10:00:30Z");
    broken["status"]["conditions"] =
        json!([{"type": "ComparisonError", "message": "rpc error: kustomize build failed"}]);
    assert_eq!(
        argo_application(&broken, &contains),
        Progress::Failed("ComparisonError: rpc error: kustomize build failed".into())
    );
    let degraded = app(
        ("Synced", "bbb"),
        Some(("Succeeded", "bbb", "2026-11-22T10:00:03Z")),
        "Degraded",
        "2026-11-22T10:01:00Z",
    );
    assert_eq!(
        argo_application(&degraded, &contains),
        Progress::Degraded("Degraded: Deployment api: 1 of 3 pods crash looping".into())
    );
}

fn ks(generation: i64, observed: i64, applied: &str, attempted: &str, conditions: Value) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system", "generation": generation},
        "status": {
            "observedGeneration": observed,
            "lastAppliedRevision": applied,
            "lastAttemptedRevision": attempted,
            "conditions": conditions,
        }
    })
}

fn cond(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": "2026-11-22T10:00:00Z", "observedGeneration": 3})
}

#[test]
fn flux_reconciling_then_ready_at_r() {
    let reconciling = ks(
        3,
        3,
        "main@sha1:aaa",
        "main@sha1:bbb",
        json!([
            cond(
                "Reconciling",
                "True",
                "Progressing",
                "Detecting drift for revision main@sha1:bbb"
            ),
            cond(
                "Ready",
                "Unknown",
                "Progressing",
                "Reconciliation in progress"
            ),
        ]),
    );
    assert_eq!(
        flux_kustomization(&reconciling, &contains),
        Progress::Progressing
    );
    let ready = ks(
        3,
        3,
        "main@sha1:bbb",
        "main@sha1:bbb",
        json!([cond(
            "Ready",
            "True",
            "ReconciliationSucceeded",
            "Applied revision: main@sha1:bbb"
        ),]),
    );
    assert_eq!(flux_kustomization(&ready, &contains), Progress::Healthy);
    let v1_format = ks(
        3,
        3,
        "main/ccc",
        "main/ccc",
        json!([cond("Ready", "True", "ReconciliationSucceeded", "")]),
    );
    assert_eq!(flux_kustomization(&v1_format, &contains), Progress::Healthy);
}

#[test]
fn flux_status_is_not_trusted_before_the_generation_is_observed() {
    let lagging = ks(
        4,
        3,
        "main@sha1:bbb",
        "main@sha1:bbb",
        json!([cond("Ready", "True", "ReconciliationSucceeded", "")]),
    );
    assert_eq!(
        flux_kustomization(&lagging, &contains),
        Progress::NotSeenYet
    );
    let older = ks(
        3,
        3,
        "main@sha1:aaa",
        "main@sha1:aaa",
        json!([cond("Ready", "True", "ReconciliationSucceeded", "")]),
    );
    assert_eq!(flux_kustomization(&older, &contains), Progress::NotSeenYet);
}

#[test]
fn flux_health_check_failure_then_recovery_and_stalled() {
    let failing = ks(
        3,
        3,
        "main@sha1:aaa",
        "main@sha1:bbb",
        json!([cond(
            "Ready",
            "False",
            "HealthCheckFailed",
            "health check failed after 2m: Deployment/apps/api not ready"
        ),]),
    );
    assert_eq!(
        flux_kustomization(&failing, &contains),
        Progress::Retrying(
            "HealthCheckFailed: health check failed after 2m: Deployment/apps/api not ready".into()
        )
    );
    let stalled = ks(
        3,
        3,
        "main@sha1:aaa",
        "main@sha1:bbb",
        json!([
            cond(
                "Stalled",
                "True",
                "BuildFailed",
                "kustomize build failed: accumulating resources"
            ),
            cond("Ready", "False", "BuildFailed", "kustomize build failed"),
        ]),
    );
    assert_eq!(
        flux_kustomization(&stalled, &contains),
        Progress::Stalled("BuildFailed: kustomize build failed: accumulating resources".into())
    );
}

#[test]
fn helm_releases_follow_their_parent_kustomization() {
    let hr = |generation: i64, conditions: Value| {
        json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "worker", "namespace": "flux-system", "generation": generation},
            "status": {"observedGeneration": 2, "lastAttemptedRevision": "1.4.2", "conditions": conditions}
        })
    };
    let ready = hr(
        2,
        json!([
            cond(
                "Ready",
                "True",
                "UpgradeSucceeded",
                "Helm upgrade succeeded"
            ),
            cond("Released", "True", "UpgradeSucceeded", "")
        ]),
    );
    assert_eq!(
        flux_helm_release(&ready, &Progress::NotSeenYet),
        Progress::NotSeenYet
    );
    assert_eq!(
        flux_helm_release(&ready, &Progress::Healthy),
        Progress::Healthy
    );
    assert_eq!(
        flux_helm_release(&hr(3, json!([])), &Progress::Healthy),
        Progress::Applied
    );
    let failed = hr(
        2,
        json!([
            cond(
                "Ready",
                "False",
                "UpgradeFailed",
                "Helm upgrade failed: timed out waiting for the condition"
            ),
            cond("Released", "False", "UpgradeFailed", "upgrade failed")
        ]),
    );
    assert_eq!(
        flux_helm_release(&failed, &Progress::Healthy),
        Progress::Retrying("UpgradeFailed: upgrade failed".into())
    );
    let upgrading = hr(
        2,
        json!([
            cond(
                "Reconciling",
                "True",
                "Progressing",
                "Running 'upgrade' action"
            ),
            cond("Ready", "Unknown", "Progressing", "")
        ]),
    );
    assert_eq!(
        flux_helm_release(&upgrading, &Progress::Applied),
        Progress::Progressing
    );
}

mod hostile {
    //! Objects as a hostile or broken API server might send them: any shape
    //! at any field, odd strings, huge messages. Nothing panics, and whatever
    //! reaches chat is one bounded line.
    use super::super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop_oneof![
                Just("bbb".to_string()),
                Just("main@sha1:bbb".to_string()),
                Just("Succeeded".to_string()),
                Just("Synced".to_string()),
                Just("Healthy".to_string()),
                Just("Degraded".to_string()),
                Just("True".to_string()),
                Just("False".to_string()),
                Just("2026-11-22T10:00:00Z".to_string()),
                "\\PC{0,40}",
                "[@:/\n\r\u{2028}<>!]{0,20}",
            ]
            .prop_map(Value::from),
        ]
    }

    fn any_value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("status".to_string()),
                        Just("metadata".to_string()),
                        Just("conditions".to_string()),
                        Just("type".to_string()),
                        Just("message".to_string()),
                        Just("reason".to_string()),
                        Just("operationState".to_string()),
                        Just("health".to_string()),
                        Just("sync".to_string()),
                        Just("revision".to_string()),
                        Just("phase".to_string()),
                        Just("generation".to_string()),
                        Just("observedGeneration".to_string()),
                        "[a-zA-Z]{1,8}",
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn one_bounded_line(p: &Progress) -> bool {
        let text = match p {
            Progress::Degraded(m)
            | Progress::Retrying(m)
            | Progress::Failed(m)
            | Progress::Stalled(m) => m,
            _ => return true,
        };
        text.chars().count() <= SAID_MAX && !text.chars().any(char::is_control)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn any_object_is_judged_without_panic(obj in any_value(), parent in 0u8..3) {
            let contains = |x: &str| x == "bbb";
            let a = argo_application(&obj, &contains);
            let k = flux_kustomization(&obj, &contains);
            let parent = [Progress::Healthy, Progress::Applied, Progress::Syncing][parent as usize].clone();
            let h = flux_helm_release(&obj, &parent);
            prop_assert!(one_bounded_line(&a) && one_bounded_line(&k) && one_bounded_line(&h));
        }

        #[test]
        fn flux_commit_takes_any_revision(rev in "\\PC{0,80}") {
            let c = flux_commit(&rev);
            prop_assert!(rev.contains(c));
        }
    }

    #[test]
    fn a_megabyte_of_condition_message_reaches_chat_as_one_short_line() {
        let ks = json!({
            "metadata": {"generation": 2},
            "status": {
                "observedGeneration": 2,
                "conditions": [{"type": "Stalled", "status": "True", "reason": "Boom\n<!channel>",
                                "message": "x\n".repeat(500_000)}]
            }
        });
        let p = flux_kustomization(&ks, &|_| true);
        assert!(one_bounded_line(&p), "{p:?}");
        assert!(matches!(&p, Progress::Stalled(m) if m.starts_with("Boom <!channel>: x x")));
    }
}
