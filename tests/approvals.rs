//! Approvals, end to end through the engine over a real repo and journal:
//! who counts, who does not and why, expiry, a change that moves under its
//! approvers, deny and cancel, and the trailers of the commit that results.

mod support;

use support::harness::{Harness, POLICY, WEDNESDAY};

const PROD_API: &str = "apps/api/overlays/prod/kustomization.yaml";

/// api v1.2.4 pushed to staging 20 minutes ago (the soak is 10m), then
/// `console:alice` asks for it in prod: operation #2 waits for two SREs.
fn waiting_prod_deploy() -> Harness {
    let h = Harness::new(POLICY, WEDNESDAY);
    let r = h.say("console:alice", None, "deploy api v1.2.4 to staging");
    assert_eq!(r.state, "pushed", "{}", r.message);
    h.advance(20 * 60);
    let r = h.in_deploy(
        "console:alice",
        "deploy api v1.2.4 to prod --reason login fix",
    );
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    assert_eq!(r.operation, Some(2));
    assert!(
        r.message.contains("needs 2 approval(s) from sre"),
        "{}",
        r.message
    );
    h
}

#[test]
fn prod_deploy_waits_for_two_approvals_from_sre_then_commits_with_trailers() {
    let h = waiting_prod_deploy();
    let before = h.hoist_commits().len();
    let r = h.in_deploy("console:carol", "approve 2");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    assert!(r.message.contains("1 of 2"), "{}", r.message);
    assert_eq!(
        h.hoist_commits().len(),
        before,
        "nothing is written before quorum"
    );
    let r = h.in_deploy("console:dave", "approve 2");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert_eq!(h.hoist_commits().len(), before + 1);
    assert_eq!(
        h.tip_trailers("Hoist-Approved-By"),
        ["console:carol", "console:dave"]
    );
    assert_eq!(h.tip_trailers("Hoist-Requested-By"), ["console:alice"]);
    assert_eq!(h.tip_trailers("Hoist-Chat"), ["slack:C0DEPLOY"]);
    assert!(
        h.line_with(PROD_API, "newTag: v1.2.4")
            .contains("# managed by hoist")
    );
    let verify = h.world.verify("main", &h.world.allowed_signers);
    assert!(verify.status.success(), "{verify:?}");
}

#[test]
fn self_approval_is_not_counted() {
    let h = waiting_prod_deploy();
    // alice is not in sre, but the reason given must be the one that applies to her first.
    let r = h.in_deploy("console:alice", "approve 2");
    assert_eq!(r.state, "refused");
    assert!(
        r.message.contains("requester's own approval never counts"),
        "{}",
        r.message
    );
    // An SRE who asks for a change cannot approve it either.
    let r = h.in_deploy("console:carol", "deploy worker 2.8.1 to staging");
    assert_eq!(r.state, "pushed", "{}", r.message);
    h.advance(20 * 60);
    let r = h.in_deploy("console:carol", "promote worker staging to prod");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    let id = r.operation.unwrap();
    let r = h.in_deploy("console:carol", &format!("approve {id}"));
    assert_eq!(r.state, "refused");
    assert!(r.message.contains("never counts"), "{}", r.message);
    let r = h.in_deploy("console:dave", &format!("approve {id}"));
    assert!(r.message.contains("1 of 2"), "{}", r.message);
}

#[test]
fn outsider_approval_is_not_counted() {
    let h = waiting_prod_deploy();
    for outsider in ["console:bob", "console:olga", "slack:U0NOBODY"] {
        let r = h.in_deploy(outsider, "approve 2");
        assert_eq!(r.state, "refused", "{outsider}: {}", r.message);
        assert!(
            r.message
                .contains("may not approve changes to prod: approvals come from sre"),
            "{}",
            r.message
        );
    }
    let r = h.in_deploy("console:carol", "approve 2");
    assert!(r.message.contains("1 of 2"), "{}", r.message);
}

#[test]
fn duplicate_approval_is_not_counted() {
    let h = waiting_prod_deploy();
    let r = h.in_deploy("console:carol", "approve 2");
    assert!(r.message.contains("1 of 2"), "{}", r.message);
    let r = h.in_deploy("console:carol", "approve 2");
    assert_eq!(r.state, "refused");
    assert!(
        r.message
            .contains("already approved; each approver counts once (1 of 2)"),
        "{}",
        r.message
    );
    assert!(
        h.hoist_commits().len() == 1,
        "only the staging deploy is on the remote"
    );
}

#[test]
fn expired_approval_is_not_counted() {
    let h = waiting_prod_deploy();
    let r = h.in_deploy("console:carol", "approve 2");
    assert!(r.message.contains("1 of 2"), "{}", r.message);
    h.advance(3600); // the fixture's approvals expire after 1h
    let status = h.say("console:alice", None, "status api in prod").message;
    assert!(status.contains("expired #2"), "{status}");
    let r = h.in_deploy("console:dave", "approve 2");
    assert_eq!(r.state, "refused");
    assert!(r.message.contains("expired at"), "{}", r.message);
    let r = h.in_deploy("console:erin", "approve 2");
    assert!(
        r.message
            .contains("not waiting for approval (it is expired)"),
        "{}",
        r.message
    );
    assert_eq!(h.hoist_commits().len(), 1);
}

#[test]
fn plan_changed_after_approval_voids_the_approvals_and_tells_the_requester() {
    let h = waiting_prod_deploy();
    let r = h.in_deploy("console:carol", "approve 2");
    assert!(r.message.contains("1 of 2"), "{}", r.message);
    // Someone moves api in prod by hand before the second approval.
    let text = h.world.show("main", PROD_API).replace("v1.2.2", "v1.2.3");
    h.world.commit_file(PROD_API, &text, "hotfix by hand");
    let r = h.in_deploy("console:dave", "approve 2");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    assert!(
        r.message.contains("console:alice, the environment changed"),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("Approvals void (console:carol)"),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("- newTag: v1.2.3"),
        "the new plan is shown: {}",
        r.message
    );
    // Two fresh approvals on the new plan write it.
    assert!(
        h.in_deploy("console:dave", "approve 2")
            .message
            .contains("1 of 2")
    );
    let r = h.in_deploy("console:carol", "approve 2");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert_eq!(
        h.tip_trailers("Hoist-Approved-By"),
        ["console:dave", "console:carol"]
    );
    let diff = support::git(&h.world.origin, &["show", "--format=", "main"]);
    assert!(
        diff.contains("-    newTag: v1.2.3") && diff.contains("+    newTag: v1.2.4"),
        "{diff}"
    );
}

#[test]
fn an_unrelated_commit_does_not_void_approvals() {
    let h = waiting_prod_deploy();
    assert!(
        h.in_deploy("console:carol", "approve 2")
            .message
            .contains("1 of 2")
    );
    let web = "apps/web/overlays/prod/kustomization.yaml";
    let text = h.world.show("main", web) + "# a note\n";
    h.world.commit_file(web, &text, "unrelated change");
    let r = h.in_deploy("console:dave", "approve 2");
    assert_eq!(r.state, "pushed", "{}", r.message);
}

#[test]
fn deny_rejects_and_cancel_withdraws() {
    let h = waiting_prod_deploy();
    let r = h.in_deploy("console:alice", "deny 2");
    assert!(r.message.contains("cancel 2"), "{}", r.message);
    let r = h.in_deploy("console:erin", "deny 2 not during the sale");
    assert_eq!(r.state, "rejected", "{}", r.message);
    assert!(
        r.message
            .contains("denied by console:erin: not during the sale"),
        "{}",
        r.message
    );
    let r = h.in_deploy("console:carol", "approve 2");
    assert!(
        r.message
            .contains("not waiting for approval (it is rejected)"),
        "{}",
        r.message
    );

    h.advance(60);
    let r = h.in_deploy("console:bob", "deploy api v1.2.4 to prod");
    let id = r.operation.unwrap();
    let r = h.in_deploy("console:alice", &format!("cancel {id}"));
    assert_eq!(
        r.state, "refused",
        "alice neither asked nor may approve: {}",
        r.message
    );
    let r = h.in_deploy("console:bob", &format!("cancel {id}"));
    assert_eq!(r.state, "cancelled", "{}", r.message);
    assert_eq!(h.hoist_commits().len(), 1);
}

#[test]
fn approvals_survive_a_restart() {
    let mut h = waiting_prod_deploy();
    assert!(
        h.in_deploy("console:carol", "approve 2")
            .message
            .contains("1 of 2")
    );
    assert!(h.restart().is_empty(), "a waiting operation is at rest");
    let r = h.in_deploy("console:carol", "approve 2");
    assert!(r.message.contains("already approved"), "{}", r.message);
    let r = h.in_deploy("console:dave", "approve 2");
    assert_eq!(r.state, "pushed", "{}", r.message);
}

#[test]
fn simultaneous_approvals_reach_quorum_and_write_exactly_once() {
    let h = waiting_prod_deploy();
    let replies: Vec<_> = std::thread::scope(|s| {
        let joins: Vec<_> = ["console:carol", "console:dave", "console:erin"]
            .into_iter()
            .map(|a| {
                let h = &h;
                s.spawn(move || h.in_deploy(a, "approve 2"))
            })
            .collect();
        joins.into_iter().map(|j| j.join().unwrap()).collect()
    });
    let states: Vec<&str> = replies.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(
        states.iter().filter(|s| **s == "pushed").count(),
        1,
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|s| **s == "awaiting-approval").count(),
        1,
        "{states:?}"
    );
    let late = replies
        .iter()
        .find(|r| r.state == "refused")
        .expect("the third vote is late");
    assert!(
        late.message
            .contains("not waiting for approval (it is pushed)"),
        "{}",
        late.message
    );
    assert_eq!(h.hoist_commits().len(), 2, "staging, then prod once");
    assert_eq!(h.tip_trailers("Hoist-Approved-By").len(), 2);
}
