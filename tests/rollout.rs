//! End to end: a deploy through the engine (real git, real journal) is pushed,
//! the Application is poked on the fake Kubernetes API server, Argo CD's
//! statuses are played for the pushed commit, and the operation's message is
//! edited through every stage to Healthy. After a restart, an operation that
//! was pushed but not yet healthy is followed again.

#[path = "envs/runner.rs"]
mod envs;
#[path = "rollout/ordered.rs"]
mod ordered;
mod support;

use hoist::cluster::{Live, Options};
use hoist::engine::Settings;
use hoist::engine::drift::Timing;
use hoist::engine::ports::Cluster;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::git;
use support::harness::{Harness, POLICY, Said, WEDNESDAY};
use support::kube::FakeKube;
use support::objects::*;

/// The fixture policy with api watched through Argo CD.
fn policy() -> String {
    POLICY.replace(
        "      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }\n",
        "      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }\n    argocd: { namespace: argocd, application: \"api-{env}\" }\n",
    )
}

fn world(settings: Settings) -> (Harness, FakeKube, tempfile::TempDir) {
    world_of(&policy(), settings)
}

fn world_of(policy: &str, settings: Settings) -> (Harness, FakeKube, tempfile::TempDir) {
    let fake = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let live = Live::connect(Options {
        kubeconfig: Some(fake.kubeconfig(dir.path())),
        poke: true,
        ..Options::default()
    })
    .unwrap();
    let cluster: Arc<dyn Cluster> = Arc::new(live);
    let h = Harness::with_cluster(policy, WEDNESDAY, settings, Some(cluster));
    let tip = git(&h.world.origin, &["rev-parse", "main"])
        .trim()
        .to_string();
    fake.apply(application("argocd", "api-staging", &tip));
    (h, fake, dir)
}

/// Play Argo CD's side of a rollout of origin's tip once the poke arrives,
/// waiting for hoist to report each stage before the next.
fn play_argo(fake: &FakeKube, said: &Said, origin: &Path) {
    assert!(
        fake.wait_for_patch("applications argocd/api-staging", Duration::from_secs(20)),
        "no poke"
    );
    let old = fake.get(ARGO, "Application", "argocd", "api-staging")["status"]["sync"]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    let r = git(origin, &["rev-parse", "main"]).trim().to_string();
    let said = |what: &str| {
        for _ in 0..1000 {
            if said.all().iter().any(|m| m.contains(what)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("never said {what}: {:?}", said.all());
    };
    said("waiting for the GitOps engine to see the commit");
    fake.argo("api-staging", argo_syncing(&old, &r));
    said("api: syncing");
    fake.argo("api-staging", argo_progressing(&r));
    said("api: progressing");
    fake.argo("api-staging", argo_healthy(&r));
}

#[test]
fn a_deploy_is_pushed_poked_followed_to_healthy_and_its_message_edited_at_each_stage() {
    let (h, fake, _dir) = world(Settings::default());
    let reply = std::thread::scope(|s| {
        s.spawn(|| play_argo(&fake, &h.said, &h.world.origin));
        h.say("console:alice", None, "deploy api v1.2.4 to staging")
    });
    assert_eq!(reply.state, "healthy", "{reply:?}");
    let said = h.said.all();
    let at = |what: &str| {
        said.iter()
            .position(|m| m.contains(what))
            .unwrap_or_else(|| panic!("never said {what}: {said:?}"))
    };
    let stages = [
        at("pushed"),
        at("api: waiting for the GitOps engine to see the commit (Argo CD api-staging, "),
        at("api: syncing (Argo CD api-staging, "),
        at("api: progressing (Argo CD api-staging, "),
        at("healthy (Argo CD api-staging): seen "),
    ];
    assert!(stages.is_sorted(), "stages out of order: {said:?}");
    let poke: Vec<_> = fake.patches();
    assert_eq!(poke.len(), 1, "one poke: {poke:?}");
    assert_eq!(
        poke[0].1["metadata"]["annotations"]["argocd.argoproj.io/refresh"],
        "normal"
    );
    // Healthy is recorded: status shows it, and promotion's soak reads it.
    let status = h
        .say("console:alice", None, "status api in staging")
        .message;
    assert!(status.contains("healthy #1"), "{status}");
    h.advance(11 * 60);
    let promote = h.say(
        "console:alice",
        Some("slack:C0DEPLOY"),
        "promote api staging to prod --dry-run",
    );
    assert_ne!(promote.state, "refused", "{promote:?}");
}

#[test]
fn after_a_restart_a_pushed_operation_is_followed_again() {
    let (mut h, fake, _dir) = world(Settings {
        wait: false,
        ..Settings::default()
    });
    let reply = h.say("console:alice", None, "deploy api v1.2.4 to staging");
    assert_eq!(reply.state, "pushed", "{reply:?}");
    assert!(
        fake.wait_for_patch("api-staging", Duration::from_secs(1)),
        "poked even without waiting"
    );
    // hoist stops here; it comes back with following on.
    h.settings.wait = true;
    let (said, origin) = (h.said.clone(), h.world.origin.clone());
    let replies = std::thread::scope(|s| {
        s.spawn(|| play_argo(&fake, &said, &origin));
        h.restart()
    });
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].state, "healthy", "{replies:?}");
    assert!(
        h.said
            .all()
            .iter()
            .any(|m| m.contains("healthy (Argo CD api-staging)"))
    );
}

#[test]
fn hoist_exec_follows_the_rollout_when_a_kubeconfig_is_set() {
    let fake = FakeKube::start();
    let world = support::World::new();
    world.commit_file("hoist.yaml", &policy(), "policy with argocd");
    let tip = git(&world.origin, &["rev-parse", "main"])
        .trim()
        .to_string();
    fake.apply(application("argocd", "api-staging", &tip));
    let kubeconfig = fake.kubeconfig(world.dir.path());
    let (code, json) = std::thread::scope(|s| {
        s.spawn(|| {
            assert!(
                fake.wait_for_patch("api-staging", Duration::from_secs(30)),
                "no poke"
            );
            let r = git(&world.origin, &["rev-parse", "main"])
                .trim()
                .to_string();
            fake.argo("api-staging", argo_progressing(&r));
            std::thread::sleep(Duration::from_millis(200));
            fake.argo("api-staging", argo_healthy(&r));
        });
        world.exec_env(
            "console:alice",
            "deploy api v1.2.4 to staging",
            &[],
            &[
                ("KUBECONFIG", kubeconfig.to_str().unwrap()),
                ("HOIST_SIGNING_KEY", world.key.to_str().unwrap()),
            ],
        )
    });
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["state"], "healthy", "{json}");
    assert_eq!(
        json["commit"].as_str(),
        Some(git(&world.origin, &["rev-parse", "main"]).trim())
    );
}

/// A version whose rollout ended Degraded never settled: it is no rollback
/// target, and a plain rollback skips it for the last Healthy one, also in a
/// process that follows nothing.
#[test]
fn a_degraded_version_is_not_a_rollback_target() {
    let (mut h, fake, _dir) = world(Settings::default());
    let reply = std::thread::scope(|s| {
        s.spawn(|| play_argo(&fake, &h.said, &h.world.origin));
        h.say("console:alice", None, "deploy api v1.2.4 to staging")
    });
    assert_eq!(reply.state, "healthy", "{reply:?}");
    let healthy_tip = h.world.tip();
    let reply = std::thread::scope(|s| {
        s.spawn(|| {
            let end = std::time::Instant::now() + Duration::from_secs(20);
            while h.world.tip() == healthy_tip && std::time::Instant::now() < end {
                std::thread::sleep(Duration::from_millis(10));
            }
            fake.argo("api-staging", argo_degraded(&h.world.tip()));
        });
        h.say("console:alice", None, "deploy api v1.2.5-broken to staging")
    });
    assert_eq!(reply.state, "degraded", "{reply:?}");
    // Even where nothing follows rollouts (exec with HOIST_CLUSTER=off), a
    // push that ended Degraded is not a settled version.
    h.restart_with_cluster(None);
    let r = h.say(
        "console:alice",
        None,
        "rollback api in staging to v1.2.5-broken",
    );
    assert_eq!(r.state, "refused", "{r:?}");
    assert!(r.message.contains("never settled in staging"), "{r:?}");
    let r = h.say("console:alice", None, "rollback api in staging --dry-run");
    assert!(
        r.message
            .contains("dry run of `rollback api in staging to v1.2.4`"),
        "{r:?}"
    );
}

/// `serve` stops while 50 rollouts are in flight and starts again: each is
/// followed again and its end reported once, none twice, none lost.
#[test]
fn restarted_amid_fifty_rollouts_each_is_followed_again_and_ends_once() {
    let (mut h, fake, _dir) = world(Settings::default());
    for patch in 10..60 {
        let text = format!("deploy api v1.3.{patch} to staging");
        let reply = h.ask("console:alice", None, &text);
        assert_eq!(reply.state, "pushed", "{reply:?}");
    }
    assert_eq!(h.engine().following(), 50, "the runner holds every rollout");
    let said = h.said.clone();
    let count = |what: &str| said.all().iter().filter(|m| m.contains(what)).count();
    let eventually = |what: &str, n: usize| {
        for _ in 0..2000 {
            if count(what) >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("said {what} {} times, not {n}", count(what));
    };
    fake.argo("api-staging", argo_progressing(&h.world.tip()));
    eventually("api: progressing", 50);
    // The old process is gone; the new one carries every rollout on.
    let replies = h.reopen();
    assert_eq!(replies.len(), 50, "{replies:?}");
    assert_eq!(h.engine().following(), 50);
    fake.argo("api-staging", argo_healthy(&h.world.tip()));
    eventually("healthy (Argo CD api-staging)", 50);
    for _ in 0..500 {
        if h.engine().following() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(h.engine().following(), 0, "every rollout ended");
    // Nothing more comes: each end was said exactly once.
    std::thread::sleep(Duration::from_millis(300));
    let all = h.said.all();
    for id in 1..=50 {
        let ends = all
            .iter()
            .filter(|m| m.starts_with(&format!("#{id} healthy (")))
            .count();
        assert_eq!(ends, 1, "#{id} ended {ends} times: {all:?}");
    }
    let status = h
        .say("console:alice", None, "status api in staging")
        .message;
    assert!(status.contains("healthy #50"), "{status}");
}

/// Drift is the engine's to judge: prod going OutOfSync on its own is said
/// once in its alerts channel after the grace period, and once more when it
/// ends; staging going OutOfSync while hoist follows a rollout there is that
/// rollout's business.
#[test]
fn drift_is_said_once_after_grace_but_not_while_hoist_is_rolling_out() {
    let with_alerts = policy()
        .replace(
            "  staging:\n    deployers: [devs, sre]\n",
            "  staging:\n    deployers: [devs, sre]\n    alerts: slack:C0ALERTS\n",
        )
        .replace(
            "    promote_from: staging\n",
            "    promote_from: staging\n    alerts: slack:C0ALERTS\n",
        );
    let settings = Settings {
        drift: Timing {
            grace: Duration::from_millis(300),
            remind: Duration::from_secs(3600),
        },
        ..Settings::default()
    };
    let (h, fake, _dir) = world_of(&with_alerts, settings);
    let old = h.world.tip();
    fake.apply(application("argocd", "api-prod", &old));
    let reply = h.ask("console:alice", None, "deploy api v1.2.4 to staging");
    assert_eq!(reply.state, "pushed", "{reply:?}");
    h.engine().start_chores(Duration::from_millis(50)).unwrap();
    fake.argo("api-staging", argo_out_of_sync(&old));
    fake.argo("api-prod", argo_out_of_sync(&old));
    std::thread::sleep(Duration::from_millis(1200));
    let alerts = |what: &str| -> Vec<String> {
        h.said
            .all()
            .into_iter()
            .filter(|m| m.starts_with("[slack:C0ALERTS] ") && m.contains(what))
            .collect()
    };
    let drift = alerts("drift");
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(
        drift[0].starts_with(
            "[slack:C0ALERTS] drift: api in prod: Application argocd/api-prod is OutOfSync"
        ),
        "{drift:?}"
    );
    fake.argo("api-prod", argo_healthy(&old));
    for _ in 0..200 {
        if !alerts("drift over: api in prod").is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        alerts("drift over: api in prod").len(),
        1,
        "{:?}",
        h.said.all()
    );
    assert!(alerts("api in staging").is_empty(), "{:?}", h.said.all());
}

/// A running bot picks up a changed `hoist.yaml` on its own: an alerts
/// channel added to prod makes prod's drift said, with no restart.
#[test]
fn a_policy_change_reaches_drift_without_a_restart() {
    let settings = Settings {
        drift: Timing {
            grace: Duration::from_millis(100),
            remind: Duration::from_secs(3600),
        },
        ..Settings::default()
    };
    let (h, fake, _dir) = world(settings);
    let old = h.world.tip();
    fake.apply(application("argocd", "api-prod", &old));
    fake.argo("api-prod", argo_out_of_sync(&old));
    let drift = || {
        h.said
            .all()
            .into_iter()
            .filter(|m| m.starts_with("[slack:C0ALERTS] drift: api in prod"))
            .count()
    };
    let chores_for = |d: Duration| {
        let end = std::time::Instant::now() + d;
        while std::time::Instant::now() < end {
            h.engine().chores(true);
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    chores_for(Duration::from_millis(400));
    assert_eq!(drift(), 0, "no alerts channel yet: {:?}", h.said.all());
    let with_alerts = policy().replace(
        "    promote_from: staging\n",
        "    promote_from: staging\n    alerts: slack:C0ALERTS\n",
    );
    h.world
        .commit_file("hoist.yaml", &with_alerts, "prod drift goes to #alerts");
    chores_for(Duration::from_millis(600));
    assert_eq!(drift(), 1, "{:?}", h.said.all());
}

/// A rollout followed again after its timeout has passed (hoist was down
/// longer than that) is judged on one real look at the cluster, not called
/// timed out before its cache is even listed.
#[test]
fn a_rollout_followed_again_after_its_timeout_is_judged_before_it_is_called_late() {
    let (mut h, fake, _dir) = world(Settings {
        wait: false,
        ..Settings::default()
    });
    let reply = h.say("console:alice", None, "deploy api v1.2.4 to staging");
    assert_eq!(reply.state, "pushed", "{reply:?}");
    fake.argo("api-staging", argo_healthy(&h.world.tip()));
    h.advance(1200);
    h.settings.wait = true;
    let replies = h.restart();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].state, "healthy", "{replies:?}");
}
