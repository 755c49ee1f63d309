//! Ordered promotion on in-memory ports: `web` depends on `api`, `worker`
//! on `web`; `promote worker,api,web staging to prod` is one operation that
//! takes one quorum, then writes api, web and worker as three commits in that
//! order, each after the previous one was healthy (or, with nothing to
//! follow, each pushed before the next). A restart between a healthy step and
//! the next one writes the next step once.

use super::*;
use crate::cluster::Simulated;
use crate::engine::State;

const ORDERED: &str = "\
groups:
  sre: [console:carol, console:dave]
environments:
  staging:
    deployers: [\"*\"]
  prod:
    deployers: [\"*\"]
    approvals: { count: 2, from: [sre] }
apps:
  api:
    targets:
      staging: { file: api/staging.yaml, yaml_path: image.tag }
      prod:    { file: api/prod.yaml, yaml_path: image.tag }
  web:
    depends_on: [api]
    targets:
      staging: { file: web/staging.yaml, yaml_path: image.tag }
      prod:    { file: web/prod.yaml, yaml_path: image.tag }
  worker:
    depends_on: [web]
    targets:
      staging: { file: worker/staging.yaml, yaml_path: image.tag }
      prod:    { file: worker/prod.yaml, yaml_path: image.tag }
";

/// Three apps at v1 in prod and v2 in staging, over `journal`.
fn world(cluster: Option<Arc<dyn Cluster>>, journal: Option<Arc<crate::store::Memory>>) -> World {
    let clock = Arc::new(TestClock(AtomicI64::new(WEDNESDAY)));
    let mut files = vec![("hoist.yaml".to_string(), ORDERED.to_string())];
    for app in ["api", "web", "worker"] {
        files.push((format!("{app}/staging.yaml"), "image:\n  tag: v2\n".into()));
        files.push((format!("{app}/prod.yaml"), "image:\n  tag: v1\n".into()));
    }
    let repo = Arc::new(
        Memory::new("main", files)
            .signing()
            .with_clock(clock.clone()),
    );
    let journal =
        journal.unwrap_or_else(|| Arc::new(crate::store::Memory::with_clock(clock.clone())));
    World::over(repo, journal, cluster, clock, Settings::default())
}

/// Subjects of hoist's commits, oldest first.
fn subjects(w: &World) -> Vec<String> {
    let mut s: Vec<String> = w
        .hoist_commits()
        .iter()
        .map(|(_, c)| c.message.lines().next().unwrap_or_default().to_string())
        .collect();
    s.reverse();
    s
}

fn tag(w: &World, app: &str) -> String {
    w.remote_file(&format!("{app}/prod.yaml"))
}

#[test]
fn a_plan_takes_one_quorum_then_writes_in_dependency_order_each_after_the_last_was_healthy() {
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let w = world(Some(cluster), None);
    let r = w.ask("console:alice", "promote worker,api,web staging to prod");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    let op = w.op(1);
    let order: Vec<&str> = op.changes.iter().map(|c| c.app.as_str()).collect();
    assert_eq!(order, ["api", "web", "worker"], "sorted by depends_on");
    assert_eq!(op.ordered, Some(0));
    assert!(w.hoist_commits().is_empty());
    assert_eq!(
        w.ask("console:carol", "approve 1").state,
        "awaiting-approval"
    );
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "pushed", "{}", r.message);
    let r = w.engine.wait(r);
    assert_eq!(r.state, "healthy", "{}", r.message);
    assert!(
        r.message
            .contains("api ✓ healthy, web ✓ healthy, worker ✓ healthy"),
        "{}",
        r.message
    );
    assert_eq!(
        subjects(&w),
        [
            "promote worker,api,web from staging to prod (api v2, web v2, worker v2) (step 1 of 3: api)",
            "promote worker,api,web from staging to prod (api v2, web v2, worker v2) (step 2 of 3: web)",
            "promote worker,api,web from staging to prod (api v2, web v2, worker v2) (step 3 of 3: worker)",
        ]
    );
    for (_, c) in w.hoist_commits() {
        assert!(
            c.message.contains("Hoist-Approved-By: console:carol"),
            "one quorum for every step"
        );
        assert!(c.message.contains("Hoist-Approved-By: console:dave"));
    }
    for app in ["api", "web", "worker"] {
        assert_eq!(tag(&w, app), "image:\n  tag: v2\n");
    }
    // Each step was healthy before the next was approved and written.
    let op = w.op(1);
    let labels: Vec<&str> = op.transitions.iter().map(|(_, l)| l.as_str()).collect();
    let pushes: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i] == "pushed")
        .collect();
    assert_eq!(pushes.len(), 3, "{labels:?}");
    for pair in pushes.windows(2) {
        let between = &labels[pair[0]..pair[1]];
        assert!(
            between.contains(&"reconciling:healthy")
                || between.iter().any(|l| l.starts_with("reconciling")),
            "{labels:?}"
        );
        assert!(between.contains(&"approved"), "{labels:?}");
    }
    assert_eq!(op.state, State::Healthy);
    assert_eq!(op.ordered, Some(2));
    let said = w.said_about(1).join("\n");
    let step2 = said.find("step 2 of 3: writing web").expect(&said);
    let step3 = said.find("step 3 of 3: writing worker").expect(&said);
    assert!(step2 < step3, "{said}");
    let status = w.ask("console:alice", "status web in prod");
    assert!(
        status.message.contains("healthy (step 3 of 3) #1"),
        "{}",
        status.message
    );
}

#[test]
fn without_a_cluster_the_steps_go_out_one_after_another_and_an_app_already_there_is_skipped() {
    let w = world(None, None);
    w.repo.commit_as_someone_else(
        "main",
        "web/prod.yaml",
        "image:\n  tag: v2\n",
        "web by hand",
    );
    let r = w.ask("console:alice", "promote web,worker,api staging to prod");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    w.ask("console:carol", "approve 1");
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "pushed", "{}", r.message);
    let subjects = subjects(&w);
    assert_eq!(subjects.len(), 2, "web needed no commit: {subjects:?}");
    assert!(subjects[0].ends_with("(step 1 of 3: api)"), "{subjects:?}");
    assert!(
        subjects[1].ends_with("(step 3 of 3: worker)"),
        "{subjects:?}"
    );
    assert_eq!(w.op(1).ordered, Some(2));
    assert_eq!(tag(&w, "worker"), "image:\n  tag: v2\n");
}

/// Says what `Said` says, but panics (the process "dies") the first time it
/// is told a step is about to be written.
#[derive(Debug, Default)]
struct DiesBeforeStep2(Said, std::sync::atomic::AtomicBool);

impl Notify for DiesBeforeStep2 {
    fn update(&self, op: &Operation, text: &str) {
        self.0.update(op, text);
        if text.contains("step 2 of 3") && !self.1.swap(true, Ordering::SeqCst) {
            panic!("killed between step 1 and step 2");
        }
    }

    fn alert(&self, channel: &str, text: &str) {
        self.0.alert(channel, text);
    }
}

#[test]
fn a_restart_between_a_healthy_step_and_the_next_writes_the_next_step_once() {
    let w = world(None, None);
    // A first engine over the same repo and journal dies once step 1 is out
    // and step 2 is recorded as approved, before it is written.
    let dying = Engine::new(
        w.repo.clone(),
        w.journal.clone(),
        None,
        Arc::new(DiesBeforeStep2::default()),
        w.clock.clone(),
        Settings::default(),
    );
    let ask = |actor: &str, text: &str| {
        dying.handle(&Request {
            actor: actor.into(),
            channel: None,
            chat_link: None,
            memberships: Vec::new(),
            command: hoist_commands::parse(text).unwrap(),
        })
    };
    let r = ask("console:alice", "promote api,web,worker staging to prod");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    ask("console:dave", "approve 1");
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ask("console:carol", "approve 1")
    }));
    assert!(died.is_err(), "the first engine stopped before step 2");
    drop(dying);
    let op = w.op(1);
    assert_eq!(op.ordered, Some(1), "{op:?}");
    assert_eq!(op.state, State::Approved);
    assert_eq!(subjects(&w).len(), 1, "only step 1 is out");
    // The next start carries on where the journal says: web, then worker.
    let replies = w.engine.resume();
    assert_eq!(replies.len(), 1, "{replies:?}");
    let subjects = subjects(&w);
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(subjects[1].ends_with("(step 2 of 3: web)"), "{subjects:?}");
    assert!(
        subjects[2].ends_with("(step 3 of 3: worker)"),
        "{subjects:?}"
    );
    assert!(w.engine.resume().is_empty(), "nothing left to do");
    assert_eq!(w.op(1).changes.len(), 3);
}

#[test]
fn a_dependency_through_an_app_not_named_still_orders_the_plan() {
    let w = world(None, None);
    let r = w.ask("console:alice", "promote worker,api staging to prod");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    let op = w.op(1);
    let order: Vec<&str> = op.changes.iter().map(|c| c.app.as_str()).collect();
    assert_eq!(
        order,
        ["api", "worker"],
        "worker needs web, which needs api"
    );
    assert_eq!(op.ordered, Some(0));
}

#[test]
fn while_a_plan_runs_its_later_apps_count_as_rolling_out_not_as_drift() {
    let cluster = Arc::new(Simulated::new(Duration::from_secs(30)));
    let w = world(Some(cluster), None);
    w.ask("console:alice", "promote web,api staging to prod");
    w.ask("console:carol", "approve 1");
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "pushed", "{}", r.message);
    let flying = w.engine.runner.apps_in_flight();
    for app in ["api", "web"] {
        assert!(
            flying.contains(&("prod".to_string(), app.to_string())),
            "{flying:?}"
        );
    }
    assert_eq!(w.hoist_commits().len(), 1, "web waits for api");
    w.engine.stop_following();
}

#[test]
fn an_app_that_went_out_healthy_in_a_plan_that_stopped_later_settled_there() {
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let w = world(Some(cluster), None);
    w.ask("console:alice", "promote api,web staging to prod");
    w.ask("console:carol", "approve 1");
    let r = w.engine.wait(w.ask("console:dave", "approve 1"));
    assert_eq!(r.state, "healthy", "{}", r.message);
    // The same journal, as if web had ended Degraded.
    let mut op = w.op(1);
    op.transitions.retain(|(_, l)| l != "healthy");
    op.state = State::Degraded {
        message: "web is down".into(),
    };
    let policy = crate::policy::load(ORDERED).0;
    assert!(w.engine.settled_at(&op, "api", &policy).is_some());
    assert_eq!(w.engine.settled_at(&op, "web", &policy), None);
    let note = super::super::ordered::stopped_note(&op).unwrap();
    assert!(
        note.contains("went out healthy: api; web went out and is degraded"),
        "{note}"
    );
    assert!(note.contains("`rollback api,web in prod`"), "{note}");
}
