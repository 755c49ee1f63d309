//! Holding an environment still, and the ways through: locks (holder,
//! reason, expiry), freeze windows on an injected clock, the incident
//! rollback that passes both and locks the app behind it, promotion soak,
//! several apps in one all-or-nothing commit, and `status` showing it all.

mod support;

#[path = "holds/guards.rs"]
mod guards;

use support::harness::{FRIDAY_EVENING, Harness, POLICY, WEDNESDAY};

const INCIDENT: Option<&str> = Some("slack:C0INCIDENT");

#[test]
fn a_lock_refuses_others_with_reason_and_holder_until_it_is_released() {
    let h = Harness::new(POLICY, WEDNESDAY);
    let r = h.say("console:bob", None, "lock staging for 2h release train");
    assert_eq!(r.state, "done", "{}", r.message);
    let r = h.say("console:alice", None, "deploy api v1.2.4 to staging");
    assert_eq!(r.state, "refused");
    assert!(
        r.message
            .contains("staging is locked by console:bob just now: release train, 2h left"),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("Ask console:bob to `unlock staging`"),
        "{}",
        r.message
    );
    // The holder deploys through their own lock.
    let r = h.say("console:bob", None, "deploy api v1.2.4 to staging");
    assert_eq!(r.state, "pushed", "{}", r.message);
    // Status shows it.
    let status = h.say("console:olga", None, "status in staging").message;
    assert!(
        status.contains("env lock by console:bob: release train"),
        "{status}"
    );
    // Someone who may deploy there may release it; outsiders may not.
    let r = h.say("console:olga", None, "unlock staging");
    assert_eq!(r.state, "refused", "{}", r.message);
    let r = h.say("console:alice", None, "unlock staging");
    assert!(
        r.message
            .contains("staging is unlocked (was locked by console:bob"),
        "{}",
        r.message
    );
    let r = h.say("console:alice", None, "deploy api v1.2.5 to staging");
    assert_eq!(r.state, "pushed", "{}", r.message);
}

#[test]
fn a_lock_lapses_at_its_expiry_and_app_locks_hold_only_their_app() {
    let h = Harness::new(POLICY, WEDNESDAY);
    assert_eq!(
        h.say(
            "console:bob",
            None,
            "lock api in staging for 30m db migration"
        )
        .state,
        "done"
    );
    let r = h.say("console:alice", None, "deploy api v1.2.4 to staging");
    assert!(
        r.message
            .contains("api in staging is locked by console:bob"),
        "{}",
        r.message
    );
    let r = h.say("console:alice", None, "deploy worker 2.8.1 to staging");
    assert_eq!(r.state, "pushed", "other apps are free: {}", r.message);
    let r = h.say("console:carol", None, "lock api in staging for 1h mine");
    assert!(
        r.message.contains("already locked by console:bob"),
        "{}",
        r.message
    );
    h.advance(30 * 60);
    let r = h.say("console:alice", None, "deploy api v1.2.4 to staging");
    assert_eq!(r.state, "pushed", "the lock lapsed: {}", r.message);
    let r = h.say("console:alice", None, "unlock api in staging");
    assert!(
        r.message.contains("api in staging is not locked"),
        "{}",
        r.message
    );
}

#[test]
fn a_freeze_refuses_deploys_on_friday_evening_in_berlin() {
    let h = Harness::new(POLICY, WEDNESDAY);
    assert_eq!(
        h.say("console:alice", None, "deploy api v1.2.4 to staging")
            .state,
        "pushed"
    );
    h.set_time(FRIDAY_EVENING);
    let r = h.in_deploy("console:alice", "deploy api v1.2.4 to prod");
    assert_eq!(r.state, "refused");
    assert!(
        r.message
            .contains("prod is frozen (Fri 16:00 - Mon 08:00 Europe/Berlin)"),
        "{}",
        r.message
    );
    let status = h.say("console:alice", None, "status api in prod").message;
    assert!(status.contains("frozen (Fri 16:00"), "{status}");
    // An hour earlier (15:00 UTC is 16:00 Berlin, so 14:59 UTC) it is not frozen.
    h.set_time(FRIDAY_EVENING - 3600 - 60);
    let r = h.in_deploy("console:alice", "deploy api v1.2.4 to prod");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
}

#[test]
fn incident_rollback_passes_the_freeze_goes_to_the_last_healthy_version_and_locks_the_app() {
    let h = Harness::new(POLICY, WEDNESDAY);
    // v1.2.4 then v1.2.5 reach prod (with approvals); no cluster: "pushed" counts as settled.
    for v in ["v1.2.4", "v1.2.5"] {
        assert_eq!(
            h.say("console:alice", None, &format!("deploy api {v} to staging"))
                .state,
            "pushed"
        );
        h.advance(11 * 60);
        let id = h
            .in_deploy("console:alice", &format!("deploy api {v} to prod"))
            .operation
            .unwrap();
        h.in_deploy("console:carol", &format!("approve {id}"));
        assert_eq!(
            h.in_deploy("console:dave", &format!("approve {id}")).state,
            "pushed"
        );
    }
    h.set_time(FRIDAY_EVENING);
    // Outside the incident channel the freeze holds, for rollbacks too.
    let r = h.in_deploy("console:alice", "rollback api in prod");
    assert!(r.message.contains("frozen"), "{}", r.message);
    let r = h.say(
        "console:alice",
        INCIDENT,
        "rollback api in prod --reason 500s on login",
    );
    assert_eq!(
        r.state, "pushed",
        "break_glass needs no approvals: {}",
        r.message
    );
    assert!(
        r.message
            .contains("stays locked until `unlock api in prod`"),
        "{}",
        r.message
    );
    let line = h.line_with("apps/api/overlays/prod/kustomization.yaml", "newTag:");
    assert!(
        line.starts_with("newTag: v1.2.4"),
        "the last healthy before v1.2.5: {line}"
    );
    assert_eq!(
        h.tip_trailers("Hoist-Break-Glass"),
        ["incident rollback by console:alice in slack:C0INCIDENT: 500s on login"]
    );
    assert_eq!(h.tip_trailers("Hoist-Chat"), ["slack:C0INCIDENT"]);
    // The app is locked behind the rollback, so auto-sync of a later deploy cannot undo it.
    h.set_time(WEDNESDAY + 7 * 86_400);
    let r = h.in_deploy("console:bob", "deploy api v1.2.5 to prod");
    assert!(
        r.message.contains("api in prod is locked by console:alice"),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("incident rollback by console:alice"),
        "{}",
        r.message
    );
    let status = h.say("console:bob", None, "status api in prod").message;
    assert!(
        status.contains("app lock by console:alice: incident rollback by console:alice"),
        "{status}"
    );
    assert!(
        h.say("console:carol", None, "unlock api in prod")
            .message
            .contains("unlocked")
    );
}

#[test]
fn deploys_from_the_incident_channel_are_not_break_glass() {
    let h = Harness::new(POLICY, FRIDAY_EVENING);
    let r = h.say("console:alice", INCIDENT, "deploy api v1.2.4 to prod");
    assert_eq!(r.state, "refused");
}

#[test]
fn promotion_waits_for_the_soak_and_says_pushed_counted_without_a_cluster() {
    let h = Harness::new(POLICY, WEDNESDAY);
    assert_eq!(
        h.say("console:alice", None, "deploy api,worker v3.0.0 to staging")
            .state,
        "pushed"
    );
    h.advance(5 * 60);
    let r = h.in_deploy("console:alice", "promote api,worker staging to prod");
    assert_eq!(r.state, "refused");
    assert!(
        r.message
            .contains("in staging for 5m; prod needs 10m of soak"),
        "{}",
        r.message
    );
    let r = h.in_deploy("console:alice", "deploy api v9.9.9 to prod");
    assert!(
        r.message.contains("was not deployed to staging by hoist"),
        "{}",
        r.message
    );
    h.advance(5 * 60);
    let r = h.in_deploy("console:alice", "promote api,worker staging to prod");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    assert!(
        r.message
            .contains("counts as settled there since it was pushed"),
        "{}",
        r.message
    );
    let id = r.operation.unwrap();
    h.in_deploy("console:carol", &format!("approve {id}"));
    let before = h.hoist_commits().len();
    assert_eq!(
        h.in_deploy("console:dave", &format!("approve {id}")).state,
        "pushed"
    );
    assert_eq!(h.hoist_commits().len(), before + 1, "two apps, one commit");
    let files = support::git(
        &h.world.origin,
        &["show", "--name-only", "--format=", "main"],
    );
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        [
            "apps/api/overlays/prod/kustomization.yaml",
            "apps/worker/prod/values.yaml"
        ]
    );
}

#[test]
fn a_promotion_with_one_app_that_cannot_go_writes_nothing() {
    let h = Harness::new(POLICY, WEDNESDAY);
    assert_eq!(
        h.say("console:alice", None, "deploy api v3.0.0 to staging")
            .state,
        "pushed"
    );
    h.advance(20 * 60);
    let before = h.hoist_commits().len();
    let r = h.in_deploy("console:alice", "promote api,worker staging to prod");
    assert_eq!(r.state, "refused");
    assert!(
        r.message
            .contains("worker 2.8.0 was not deployed to staging by hoist"),
        "{}",
        r.message
    );
    assert_eq!(h.hoist_commits().len(), before);
}
