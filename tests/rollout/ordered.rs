//! Ordered promotion end to end (real git, real journal, the fake Kubernetes
//! API): `web` depends on `api`, `worker` on `web`, each an Argo CD
//! Application. `promote worker,api,web staging to prod` writes api, which
//! turns Healthy, then web, which turns Degraded: worker is never written,
//! the thread and the reply say which apps went out and offer the rollback,
//! and that rollback reverts what went out.

use super::*;

const ORDERED: &str = "\
environments:
  staging:
    deployers: [\"*\"]
  prod:
    deployers: [\"*\"]
apps:
  api:
    targets:
      staging: { file: ordered/api/staging.yaml, yaml_path: image.tag }
      prod:    { file: ordered/api/prod.yaml, yaml_path: image.tag }
    argocd: { namespace: argocd, application: \"api-{env}\" }
  web:
    depends_on: [api]
    targets:
      staging: { file: ordered/web/staging.yaml, yaml_path: image.tag }
      prod:    { file: ordered/web/prod.yaml, yaml_path: image.tag }
    argocd: { namespace: argocd, application: \"web-{env}\" }
  worker:
    depends_on: [web]
    targets:
      staging: { file: ordered/worker/staging.yaml, yaml_path: image.tag }
      prod:    { file: ordered/worker/prod.yaml, yaml_path: image.tag }
    argocd: { namespace: argocd, application: \"worker-{env}\" }
";

const V1: &str = "image:\n  tag: v1.0.0\n";
const V2: &str = "image:\n  tag: v2.0.0\n";

/// The three apps at v2 in staging and v1 in prod, committed; their prod
/// Applications at that commit.
fn three_apps(h: &Harness, fake: &FakeKube) {
    let mut files = Vec::new();
    for app in ["api", "web", "worker"] {
        files.push((format!("ordered/{app}/staging.yaml"), V2.to_string()));
        files.push((format!("ordered/{app}/prod.yaml"), V1.to_string()));
    }
    h.world.commit_files(&files, "three apps");
    let base = h.world.tip();
    for app in ["api", "web", "worker"] {
        fake.apply(application("argocd", &format!("{app}-prod"), &base));
    }
}

/// Wait until `f` holds (10 s at most).
fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("never: {what}");
}

#[test]
fn a_degraded_middle_step_stops_the_plan_says_what_went_out_and_its_rollback_undoes_it() {
    let (h, fake, _dir) = world_of(ORDERED, Settings::default());
    three_apps(&h, &fake);

    let reply = h.ask(
        "console:alice",
        None,
        "promote worker,api,web staging to prod",
    );
    assert_eq!(reply.state, "pushed", "{reply:?}");
    // Step 1, api: poked and played to Healthy at its commit.
    assert!(fake.wait_for_patch("applications argocd/api-prod", Duration::from_secs(20)));
    let step1 = h.world.tip();
    assert_eq!(h.world.show("main", "ordered/api/prod.yaml"), V2);
    assert_eq!(
        h.world.show("main", "ordered/web/prod.yaml"),
        V1,
        "web waits for api"
    );
    fake.argo("api-prod", argo_healthy(&step1));
    // Step 2, web: written only after api was healthy; it turns Degraded.
    until("web is written", || h.world.tip() != step1);
    assert!(fake.wait_for_patch("applications argocd/web-prod", Duration::from_secs(20)));
    let step2 = h.world.tip();
    assert_eq!(h.world.show("main", "ordered/web/prod.yaml"), V2);
    until("web is followed", || {
        h.said
            .all()
            .iter()
            .any(|m| m.contains("api ✓ healthy, web … "))
    });
    fake.argo("web-prod", argo_degraded(&step2));
    let end = h.engine().wait(reply);
    assert_eq!(end.state, "degraded", "{end:?}");
    for words in [
        "api ✓ healthy, web ✗ degraded, worker – never written",
        "went out healthy: api; web went out and is degraded; never written: worker",
        "to undo what went out: `rollback api,web in prod`",
    ] {
        assert!(end.message.contains(words), "{words}: {}", end.message);
        assert!(
            h.said.all().iter().any(|m| m.contains(words)),
            "{words}: {:?}",
            h.said.all()
        );
    }
    assert_eq!(
        h.world.tip(),
        step2,
        "the plan stopped: worker was never written"
    );
    assert_eq!(h.world.show("main", "ordered/worker/prod.yaml"), V1);
    let subjects = git(&h.world.origin, &["log", "--format=%s", "-2", "main"]);
    assert!(subjects.contains("(step 2 of 3: web)"), "{subjects}");
    assert!(subjects.contains("(step 1 of 3: api)"), "{subjects}");

    // The offered command: one commit putting both back.
    let r = h.ask("console:alice", None, "rollback api,web in prod");
    assert_eq!(r.state, "pushed", "{r:?}");
    assert_eq!(h.world.show("main", "ordered/api/prod.yaml"), V1);
    assert_eq!(h.world.show("main", "ordered/web/prod.yaml"), V1);
    assert_eq!(h.world.show("main", "ordered/worker/prod.yaml"), V1);
    let rollback = h.world.tip();
    assert_eq!(
        git(&h.world.origin, &["rev-parse", "main~1"]).trim(),
        step2,
        "one commit"
    );
    fake.argo("api-prod", argo_healthy(&rollback));
    fake.argo("web-prod", argo_healthy(&rollback));
    assert_eq!(h.engine().wait(r).state, "healthy");
}

#[test]
fn stopped_after_a_step_turned_healthy_the_next_start_writes_the_next_step_once() {
    // hoist pushes step 1 and stops following (as `exec --no-wait` would).
    let (mut h, fake, _dir) = world_of(
        ORDERED,
        Settings {
            wait: false,
            ..Settings::default()
        },
    );
    three_apps(&h, &fake);
    let reply = h.ask(
        "console:alice",
        None,
        "promote api,web,worker staging to prod",
    );
    assert_eq!(reply.state, "pushed", "{reply:?}");
    let step1 = h.world.tip();
    assert_eq!(h.hoist_commits().len(), 1, "the plan rests at step 1");
    // While nothing runs, api becomes healthy; step 2 is not written yet.
    fake.argo("api-prod", argo_healthy(&step1));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(h.world.tip(), step1);
    // The next start follows step 1 again, sees it healthy and writes web once.
    h.settings.wait = true;
    let replies = h.reopen();
    assert_eq!(replies.len(), 1, "{replies:?}");
    until("web is written", || h.world.tip() != step1);
    let step2 = h.world.tip();
    assert_eq!(h.world.show("main", "ordered/web/prod.yaml"), V2);
    assert_eq!(h.world.show("main", "ordered/worker/prod.yaml"), V1);
    fake.argo("web-prod", argo_healthy(&step2));
    until("worker is written", || h.world.tip() != step2);
    let step3 = h.world.tip();
    fake.argo("worker-prod", argo_healthy(&step3));
    until("the plan is over", || h.engine().following() == 0);
    let commits = h.hoist_commits();
    assert_eq!(commits.len(), 3, "one commit per step, none twice");
    let subjects = git(&h.world.origin, &["log", "--format=%s", "-3", "main"]);
    assert_eq!(
        subjects.matches("(step 2 of 3: web)").count(),
        1,
        "{subjects}"
    );
    let said = h.said.all();
    assert!(
        said.iter()
            .any(|m| m.contains("#1 step 2 of 3: writing web")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|m| m.contains("#1 healthy (Argo CD worker-prod)")
                && m.contains("api ✓ healthy, web ✓ healthy, worker ✓ healthy")),
        "{said:?}"
    );
    let status = h.ask("console:alice", None, "status worker in prod");
    assert!(
        status.message.contains("healthy (step 3 of 3) #1"),
        "{}",
        status.message
    );
}
