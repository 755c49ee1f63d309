//! Following the reconcile against a fake Kubernetes API server on loopback:
//! kube's real client and watcher list and watch it; statuses are scripted
//! from Argo CD and Flux objects. R is `bbb…`; `aaa…` is older, `ccc…`
//! descends from R.

mod support;

#[path = "cluster/lease.rs"]
mod lease;

#[path = "cluster/fake_objects.rs"]
mod fake_objects;

#[path = "cluster/journal.rs"]
mod journal;

use hoist::cluster::kinds::Kind;
use hoist::cluster::{Live, Options};
use hoist::engine::follow_blocking;
use hoist::engine::ports::{Cluster, Progress, WatchRequest};
use hoist::policy::Watch;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::kube::FakeKube;
use support::objects::*;

const OLD: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const R: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const NEWER: &str = "cccccccccccccccccccccccccccccccccccccccc";

fn contains(x: &str) -> bool {
    x == R || x == NEWER
}

struct Setup {
    fake: FakeKube,
    _dir: tempfile::TempDir,
    live: Arc<Live>,
}

fn setup(tune: impl FnOnce(&mut Options), objects: Vec<serde_json::Value>) -> Setup {
    let fake = FakeKube::start();
    for o in objects {
        fake.apply(o);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options {
        kubeconfig: Some(fake.kubeconfig(dir.path())),
        poke: true,
        ..Options::default()
    };
    tune(&mut options);
    let live = Arc::new(Live::connect(options).expect("connects to the fake"));
    Setup {
        fake,
        _dir: dir,
        live,
    }
}

fn argo(app: &str) -> WatchRequest {
    WatchRequest {
        app: "api".into(),
        env: "staging".into(),
        watch: Some(Watch::ArgoCd {
            namespace: "argocd".into(),
            application: app.into(),
        }),
        revision: R.into(),
        timeout_secs: 20,
    }
}

fn flux(kind: &str, name: &str) -> WatchRequest {
    WatchRequest {
        app: "worker".into(),
        env: "staging".into(),
        watch: Some(Watch::Flux {
            kind: kind.into(),
            namespace: "flux-system".into(),
            name: name.into(),
        }),
        revision: R.into(),
        timeout_secs: 20,
    }
}

/// A follow running on its own thread, its reports visible as they come.
struct Following {
    reports: Arc<Mutex<Vec<Progress>>>,
    handle: std::thread::JoinHandle<Progress>,
}

fn follow(live: &Arc<Live>, request: WatchRequest) -> Following {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let (live, seen) = (live.clone(), reports.clone());
    let handle = std::thread::spawn(move || {
        follow_blocking(&*live, &request, &contains, &mut |p| {
            seen.lock().unwrap().push(p.clone())
        })
    });
    Following { reports, handle }
}

impl Following {
    /// Wait until `p` was reported (the watcher saw the last scripted step).
    fn saw(&self, p: Progress) {
        for _ in 0..500 {
            if self.reports.lock().unwrap().contains(&p) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "{p:?} never reported; got {:?}",
            self.reports.lock().unwrap()
        );
    }

    fn end(self) -> (Progress, Vec<Progress>) {
        let end = self.handle.join().unwrap();
        (end, self.reports.lock().unwrap().clone())
    }
}

/// Wait up to 5 s for `cond`.
fn eventually(cond: impl Fn() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("condition not met within 5 s");
}

#[test]
fn argo_rollout_is_poked_then_walks_syncing_progressing_healthy() {
    let s = setup(|_| {}, vec![application("argocd", "api-staging", OLD)]);
    s.live.poke(&argo("api-staging")).unwrap();
    let patches = s.fake.patches();
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0].0, "applications argocd/api-staging");
    assert_eq!(
        patches[0].1,
        json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}})
    );
    assert_eq!(
        s.fake.get(ARGO, "Application", "argocd", "api-staging")["metadata"]["annotations"]["argocd.argoproj.io/refresh"],
        "normal"
    );

    let f = follow(&s.live, argo("api-staging"));
    f.saw(Progress::NotSeenYet);
    s.fake.argo("api-staging", argo_syncing(OLD, R));
    f.saw(Progress::Syncing);
    s.fake.argo("api-staging", argo_progressing(R));
    f.saw(Progress::Progressing);
    s.fake.argo("api-staging", argo_healthy(R));
    let (end, reports) = f.end();
    assert_eq!(end, Progress::Healthy);
    assert_eq!(
        reports,
        [
            Progress::NotSeenYet,
            Progress::Syncing,
            Progress::Progressing,
            Progress::Healthy
        ]
    );
    assert_eq!(s.live.label(&argo("api-staging")), "Argo CD api-staging");
}

#[test]
fn argo_sync_failure_and_degraded_health_end_the_rollout_with_argos_words() {
    let s = setup(
        |_| {},
        vec![
            application("argocd", "api-staging", OLD),
            application("argocd", "api-prod", OLD),
        ],
    );
    let failing = follow(&s.live, argo("api-staging"));
    let degrading = follow(&s.live, argo("api-prod"));
    failing.saw(Progress::NotSeenYet);
    degrading.saw(Progress::NotSeenYet);
    s.fake.argo("api-staging", argo_sync_failed(R));
    s.fake.argo("api-prod", argo_degraded(R));
    match failing.end().0 {
        Progress::Failed(m) => assert!(m.contains("admission webhook"), "{m}"),
        other => panic!("expected Failed, got {other:?}"),
    }
    match degrading.end().0 {
        Progress::Degraded(m) => assert!(m.contains("exceeded its progress deadline"), "{m}"),
        other => panic!("expected Degraded, got {other:?}"),
    }
}

#[test]
fn an_older_revision_reported_healthy_does_not_count_but_a_newer_descendant_does() {
    let s = setup(|_| {}, vec![application("argocd", "api-staging", OLD)]);
    let f = follow(&s.live, argo("api-staging"));
    f.saw(Progress::NotSeenYet);
    // A fresh Healthy report about the old revision: still not R.
    s.fake.argo("api-staging", argo_healthy(OLD));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(*f.reports.lock().unwrap(), [Progress::NotSeenYet]);
    // Someone pushed on top of R and Argo CD synced that: R is live.
    s.fake.argo("api-staging", argo_healthy(NEWER));
    let (end, _) = f.end();
    assert_eq!(end, Progress::Healthy);
}

#[test]
fn flux_health_check_failure_is_retried_until_ready_and_a_stall_ends_it() {
    let objects = vec![
        git_repository("flux-system", "flux-system"),
        kustomization("flux-system", "worker-staging", OLD),
        kustomization("flux-system", "worker-prod", OLD),
    ];
    let s = setup(|_| {}, objects);
    s.live
        .poke(&flux("Kustomization", "worker-staging"))
        .unwrap();
    let order: Vec<String> = s.fake.patches().into_iter().map(|p| p.0).collect();
    assert_eq!(
        order,
        [
            "gitrepositories flux-system/flux-system",
            "kustomizations flux-system/worker-staging"
        ],
        "the source first, so the Kustomization finds the new artifact"
    );
    let at =
        s.fake.patches()[0].1["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"].clone();
    assert!(
        at.as_str().unwrap().parse::<jiff::Timestamp>().is_ok(),
        "{at}"
    );

    let f = follow(&s.live, flux("Kustomization", "worker-staging"));
    f.saw(Progress::NotSeenYet);
    s.fake.flux("worker-staging", ks_progressing(OLD, R));
    f.saw(Progress::Progressing);
    s.fake
        .flux("worker-staging", ks_health_check_failed(OLD, R));
    let failing = Progress::Retrying("HealthCheckFailed: health check failed after 30s: timeout waiting for: [Deployment/apps/worker status: 'InProgress']".into());
    f.saw(failing.clone());
    s.fake.flux("worker-staging", ks_ready(R));
    let (end, reports) = f.end();
    assert_eq!(end, Progress::Healthy);
    assert_eq!(
        reports,
        [
            Progress::NotSeenYet,
            Progress::Progressing,
            failing,
            Progress::Healthy
        ]
    );

    let stalled = follow(&s.live, flux("Kustomization", "worker-prod"));
    stalled.saw(Progress::NotSeenYet);
    s.fake.flux("worker-prod", ks_stalled(OLD, R));
    assert!(matches!(stalled.end().0, Progress::Stalled(m) if m.contains("not found")));
}

#[test]
fn a_helm_release_is_judged_through_its_parent_kustomization() {
    let objects = vec![
        git_repository("flux-system", "flux-system"),
        kustomization("flux-system", "apps", OLD),
        helm_release("flux-system", "worker-staging", "flux-system", "apps"),
    ];
    let s = setup(|_| {}, objects);
    s.live.poke(&flux("HelmRelease", "worker-staging")).unwrap();
    let order: Vec<String> = s.fake.patches().into_iter().map(|p| p.0).collect();
    assert_eq!(
        order,
        [
            "gitrepositories flux-system/flux-system",
            "kustomizations flux-system/apps"
        ]
    );

    let f = follow(&s.live, flux("HelmRelease", "worker-staging"));
    // The release is Ready, but for the old chart values: the parent has not applied R.
    f.saw(Progress::NotSeenYet);
    s.fake.flux("apps", ks_ready(R));
    // The parent applied R, which bumped the release's generation.
    let mut hr = helm_release("flux-system", "worker-staging", "flux-system", "apps");
    hr["metadata"]["generation"] = json!(2);
    hr["status"] = hr_upgrading(1);
    s.fake.apply(hr);
    f.saw(Progress::Applied);
    s.fake.set_status(
        HR,
        "HelmRelease",
        "flux-system",
        "worker-staging",
        hr_upgrading(2),
    );
    f.saw(Progress::Progressing);
    s.fake.set_status(
        HR,
        "HelmRelease",
        "flux-system",
        "worker-staging",
        hr_ready(2),
    );
    assert_eq!(f.end().0, Progress::Healthy);
}

#[test]
fn a_rollout_that_never_finishes_times_out_and_a_failing_one_fails_at_the_timeout() {
    let s = setup(
        |_| {},
        vec![
            application("argocd", "api-staging", OLD),
            kustomization("flux-system", "worker-staging", OLD),
        ],
    );
    let mut stuck = argo("api-staging");
    stuck.timeout_secs = 1;
    let f = follow(&s.live, stuck);
    f.saw(Progress::NotSeenYet);
    s.fake.argo("api-staging", argo_progressing(R));
    let (end, reports) = f.end();
    assert_eq!(end, Progress::TimedOut);
    assert_eq!(reports, [Progress::NotSeenYet, Progress::Progressing]);

    // An object hoist.yaml names but the cluster does not have.
    let mut misnamed = argo("api-stagign");
    misnamed.timeout_secs = 1;
    match follow(&s.live, misnamed).end().0 {
        Progress::Failed(m) => assert!(
            m.starts_with("Application argocd/api-stagign does not exist"),
            "{m}"
        ),
        other => panic!("expected Failed, got {other:?}"),
    }

    let mut failing = flux("Kustomization", "worker-staging");
    failing.timeout_secs = 1;
    let f = follow(&s.live, failing);
    f.saw(Progress::NotSeenYet);
    s.fake
        .flux("worker-staging", ks_health_check_failed(OLD, R));
    match f.end().0 {
        Progress::Failed(m) => assert!(
            m.contains("HealthCheckFailed") && m.contains("timeout passed"),
            "{m}"
        ),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn the_watch_pages_its_list_relists_after_410_and_reconnects_after_timeout() {
    // 1,200 Applications: the first list comes in pages of 500.
    let objects = (0..1200)
        .map(|i| application("argocd", &format!("app-{i:04}"), OLD))
        .chain([application("argocd", "api-staging", OLD)])
        .collect();
    let s = setup(|_| {}, objects);
    s.fake.cap_watch(1);
    let f = follow(&s.live, argo("api-staging"));
    f.saw(Progress::NotSeenYet);
    eventually(|| s.fake.lists().len() >= 3);
    let lists = s.fake.lists();
    assert!(lists[0].contains("limit=500"), "{lists:?}");
    assert!(
        lists.iter().any(|l| l.contains("continue=500-")),
        "{lists:?}"
    );
    // History is compacted: the next watch from the old resourceVersion gets
    // an in-stream 410, and the watcher lists again.
    let before = s.fake.lists().len();
    s.fake.compact();
    eventually(|| s.fake.lists().len() > before);
    s.fake.argo("api-staging", argo_healthy(R));
    let end = f.end().0;
    assert_eq!(end, Progress::Healthy);
    let watches = s.fake.watches();
    assert!(
        watches.len() >= 2,
        "the 1 s watch was not renewed: {watches:?}"
    );
    assert!(
        watches.iter().all(|w| w.contains("allowWatchBookmarks")),
        "{watches:?}"
    );
}

#[test]
fn the_cluster_role_grants_reading_and_annotating_the_engines_objects_and_nothing_else() {
    let role = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/rbac/cluster-role.yaml"
    ))
    .unwrap();
    let lists = |key: &str| -> Vec<Vec<String>> {
        role.lines()
            .filter_map(|l| l.trim().strip_prefix(key))
            .map(|v| {
                v.trim()
                    .trim_matches(['[', ']'])
                    .split(',')
                    .map(|x| x.trim().trim_matches('"').to_string())
                    .collect()
            })
            .collect()
    };
    let resources: Vec<String> = lists("resources:").concat();
    assert_eq!(
        resources,
        [
            "applications",
            "kustomizations",
            "helmreleases",
            "gitrepositories"
        ]
    );
    for verbs in lists("verbs:") {
        for v in verbs {
            assert!(
                ["get", "list", "watch", "patch"].contains(&v.as_str()),
                "verb {v}"
            );
        }
    }
    assert!(!role.contains('*'), "no wildcards");
    // Every kind hoist talks to is covered, with its API group.
    for kind in [
        Kind::Application,
        Kind::Kustomization,
        Kind::HelmRelease,
        Kind::GitRepository,
    ] {
        let r = kind.resource();
        assert!(
            role.contains(&format!("apiGroups: [\"{}\"]", r.group)),
            "{}",
            r.group
        );
        assert!(resources.contains(&r.plural), "{}", r.plural);
    }
}
