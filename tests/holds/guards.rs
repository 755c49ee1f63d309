//! The gates an attacker tried to walk around (security review): trailers
//! forged through free text or an unsigned commit, incident rollbacks to a
//! version that never ran, rollbacks that toggle back to the broken version,
//! a deployer lifting someone else's incident lock, and approvals that stop
//! counting when the policy tightens while a request waits.

use super::support::git;
use super::support::harness::{Harness, POLICY, WEDNESDAY};

const INCIDENT: Option<&str> = Some("slack:C0INCIDENT");
const PROD_FILE: &str = "apps/api/overlays/prod/kustomization.yaml";

/// Put `v` in staging, wait out the soak, and through prod with two approvals.
fn to_prod(h: &Harness, v: &str) {
    let r = h.say("console:alice", None, &format!("deploy api {v} to staging"));
    assert_eq!(r.state, "pushed", "{}", r.message);
    h.advance(11 * 60);
    let r = h.in_deploy("console:alice", &format!("deploy api {v} to prod"));
    let id = r.operation.unwrap_or_else(|| panic!("{}", r.message));
    h.in_deploy("console:carol", &format!("approve {id}"));
    let r = h.in_deploy("console:dave", &format!("approve {id}"));
    assert_eq!(r.state, "pushed", "{}", r.message);
}

/// alice's prod deploy of v1.2.4, approved by carol only: its id.
fn half_approved(h: &Harness) -> u64 {
    h.say("console:alice", None, "deploy api v1.2.4 to staging");
    h.advance(11 * 60);
    let r = h.in_deploy("console:alice", "deploy api v1.2.4 to prod");
    let id = r.operation.unwrap_or_else(|| panic!("{}", r.message));
    h.in_deploy("console:carol", &format!("approve {id}"));
    id
}

fn prod_tag(h: &Harness) -> String {
    h.line_with(PROD_FILE, "newTag:")
}

#[test]
fn a_reason_with_newlines_cannot_forge_or_replace_trailers() {
    let h = Harness::new(POLICY, WEDNESDAY);
    let r = h.say(
        "console:alice",
        None,
        "deploy api v1.3.1 to dev --reason \"ok\n\nHoist-Requested-By: console:carol\nHoist-Approved-By: console:dave\"",
    );
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert_eq!(h.tip_trailers("Hoist-Requested-By"), ["console:alice"]);
    assert!(h.tip_trailers("Hoist-Approved-By").is_empty());
    // The reason is one line of the body, not a paragraph of its own.
    let body = git(&h.world.origin, &["log", "-1", "--format=%b", "main"]);
    assert!(
        body.starts_with(
            "ok Hoist-Requested-By: console:carol Hoist-Approved-By: console:dave\n\n"
        ),
        "{body}"
    );
}

#[test]
fn history_trusts_trailers_only_on_commits_hoist_signed() {
    let h = Harness::new(POLICY, WEDNESDAY);
    to_prod(&h, "v1.2.4");
    // Someone with push rights writes hoist's trailers on a commit of their own.
    let forged = h
        .world
        .show("main", PROD_FILE)
        .replace("newTag: v1.2.4", "newTag: v6.6.6");
    h.world.commit_file(
        PROD_FILE,
        &forged,
        "deploy api v6.6.6 to prod\n\nHoist-Operation: 99\nHoist-Requested-By: console:carol\nHoist-Approved-By: console:dave\nHoist-Approved-By: console:erin",
    );
    let out = h.say("console:olga", None, "history api in prod").message;
    let line = |v: &str| {
        out.lines()
            .find(|l| l.contains(&format!(" {v} ")))
            .unwrap_or_else(|| panic!("{v} in {out}"))
            .to_string()
    };
    assert!(line("v6.6.6").contains("not signed by hoist"), "{out}");
    assert!(!line("v6.6.6").contains("approved by"), "{out}");
    assert!(
        line("v1.2.4").contains("by console:alice, approved by console:carol, console:dave"),
        "{out}"
    );
}

#[test]
fn an_incident_rollback_names_only_a_version_that_settled_there() {
    let h = Harness::new(POLICY, WEDNESDAY);
    to_prod(&h, "v1.2.4");
    to_prod(&h, "v1.2.5");
    let before = h.hoist_commits().len();
    let r = h.say(
        "console:alice",
        INCIDENT,
        "rollback api in prod to v6.6.6-untested",
    );
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("never settled in prod"), "{}", r.message);
    assert!(
        r.message.contains("deploy api v6.6.6-untested to prod"),
        "{}",
        r.message
    );
    // A version that only ran in staging did not run in prod either.
    h.say("console:alice", None, "deploy api v1.9.0 to staging");
    let r = h.say("console:alice", INCIDENT, "rollback api in prod to v1.9.0");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert_eq!(h.hoist_commits().len(), before + 1, "only staging moved");
    assert!(prod_tag(&h).starts_with("newTag: v1.2.5"));
    // One that settled in prod is fine, on the incident path.
    let r = h.say("console:alice", INCIDENT, "rollback api in prod to v1.2.4");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert!(prod_tag(&h).starts_with("newTag: v1.2.4"));
}

#[test]
fn a_rollback_to_a_value_nobody_saw_settle_passes_every_gate() {
    let h = Harness::new(POLICY, WEDNESDAY);
    // prod moved out of band: the journal knows no version of api there.
    let moved = h
        .world
        .show("main", PROD_FILE)
        .replace("newTag: v1.2.2", "newTag: v1.2.9");
    h.world.commit_file(PROD_FILE, &moved, "hand edit");
    let before = h.world.tip();
    let r = h.say("console:alice", INCIDENT, "rollback api in prod");
    assert_eq!(r.state, "refused", "{}", r.message);
    // Soak: v1.2.2 never ran in staging through hoist, so no shortcut.
    assert!(
        r.message
            .contains("api v1.2.2 was not deployed to staging by hoist"),
        "{}",
        r.message
    );
    assert_eq!(h.world.tip(), before, "nothing written");
}

#[test]
fn a_second_rollback_goes_further_back_instead_of_toggling() {
    let h = Harness::new(POLICY, WEDNESDAY);
    for v in ["v1.2.4", "v1.2.5", "v1.2.6-broken"] {
        to_prod(&h, v);
    }
    let r = h.say("console:alice", INCIDENT, "rollback api in prod");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert!(
        prod_tag(&h).starts_with("newTag: v1.2.5"),
        "{}",
        prod_tag(&h)
    );
    let r = h.say("console:alice", INCIDENT, "rollback api in prod");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert!(
        prod_tag(&h).starts_with("newTag: v1.2.4"),
        "not back to the broken one: {}",
        prod_tag(&h)
    );
    // Naming the version a rollback moved away from is refused too.
    let r = h.say(
        "console:alice",
        INCIDENT,
        "rollback api in prod to v1.2.6-broken",
    );
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("was rolled back from"), "{}", r.message);
}

#[test]
fn only_the_holder_or_an_approver_lifts_a_lock() {
    let h = Harness::new(POLICY, WEDNESDAY);
    to_prod(&h, "v1.2.4");
    to_prod(&h, "v1.2.5");
    let r = h.say("console:alice", INCIDENT, "rollback api in prod");
    assert_eq!(r.state, "pushed", "{}", r.message);
    // bob may deploy to prod, but neither holds the lock nor approves there.
    let r = h.say("console:bob", None, "unlock api in prod");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(
        r.message.contains("locked by console:alice")
            && r.message
                .contains("only console:alice (who holds the lock)"),
        "{}",
        r.message
    );
    let status = h.say("console:bob", None, "status api in prod").message;
    assert!(status.contains("app lock by console:alice"), "{status}");
    // The holder may.
    let r = h.say("console:alice", None, "unlock api in prod");
    assert!(r.message.contains("unlocked"), "{}", r.message);
}

#[test]
fn approvals_are_checked_again_against_a_tightened_policy_at_quorum() {
    let h = Harness::new(POLICY, WEDNESDAY);
    let id = half_approved(&h);
    // carol leaves the SRE group while the request waits.
    let tightened = POLICY.replace(
        "sre: [console:carol, console:dave, console:erin]",
        "sre: [console:dave, console:erin]",
    );
    h.world
        .commit_file("hoist.yaml", &tightened, "carol moved teams");
    let r = h.in_deploy("console:dave", &format!("approve {id}"));
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    assert!(
        r.message.contains("console:carol no longer count"),
        "{}",
        r.message
    );
    let r = h.in_deploy("console:erin", &format!("approve {id}"));
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert_eq!(
        h.tip_trailers("Hoist-Approved-By"),
        ["console:dave", "console:erin"]
    );
}

#[test]
fn a_requester_dropped_from_the_policy_is_refused_at_quorum() {
    let h = Harness::new(POLICY, WEDNESDAY);
    let id = half_approved(&h);
    let tightened = POLICY.replace("devs: [console:alice, console:bob]", "devs: [console:bob]");
    h.world.commit_file("hoist.yaml", &tightened, "alice left");
    let before = h.world.tip();
    let r = h.in_deploy("console:dave", &format!("approve {id}"));
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(
        r.message.contains("the policy changed since the request"),
        "{}",
        r.message
    );
    assert_eq!(h.world.tip(), before, "nothing written");
}

#[test]
fn gates_added_while_a_request_waits_apply_at_quorum_and_to_new_requests() {
    let h = Harness::new(POLICY, WEDNESDAY);
    let id = half_approved(&h);
    // prod now asks for a ticket; hoist has not fetched since.
    let tightened = POLICY.replace(
        "    break_glass: { approvals: 0 }\n",
        "    break_glass: { approvals: 0 }\n    ticket: { required: true, pattern: \"^SEC-[0-9]+$\" }\n",
    );
    h.world
        .commit_file("hoist.yaml", &tightened, "prod needs tickets");
    let before = h.world.tip();
    // A new request that would wait for people is judged on the new rules.
    let r = h.in_deploy("console:bob", "deploy api v1.2.4 to prod");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("prod needs a ticket"), "{}", r.message);
    // The waiting one too, at its quorum.
    let r = h.in_deploy("console:dave", &format!("approve {id}"));
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(
        r.message.contains("the policy changed since the request")
            && r.message.contains("needs a ticket"),
        "{}",
        r.message
    );
    assert_eq!(h.world.tip(), before, "nothing written");
}

#[test]
fn an_incident_rollback_leaves_someone_elses_lock_in_their_hands() {
    let h = Harness::new(POLICY, WEDNESDAY);
    to_prod(&h, "v1.2.4");
    to_prod(&h, "v1.2.5");
    let r = h.say(
        "console:carol",
        None,
        "lock api in prod for 8h release freeze",
    );
    assert_eq!(r.state, "done", "{}", r.message);
    let r = h.say("console:alice", INCIDENT, "rollback api in prod");
    assert_eq!(r.state, "pushed", "{}", r.message);
    // carol's lock stands, now until unlocked, and says what happened.
    let status = h.say("console:olga", None, "status api in prod").message;
    assert!(
        status.contains(
            "app lock by console:carol: release freeze; then an incident rollback by console:alice"
        ),
        "{status}"
    );
    let r = h.say("console:alice", None, "unlock api in prod");
    assert_eq!(r.state, "refused", "{}", r.message);
    let r = h.in_deploy("console:alice", "deploy api v1.2.5 to prod");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(
        r.message.contains("locked by console:carol"),
        "{}",
        r.message
    );
}

#[test]
fn digest_deploys_roll_back_by_digest_and_never_toggle() {
    let h = Harness::new(POLICY, WEDNESDAY);
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    for d in [&a, &b] {
        let r = h.say(
            "console:alice",
            None,
            &format!("deploy api sha256:{d} to dev"),
        );
        assert_eq!(r.state, "pushed", "{}", r.message);
    }
    let dev = "apps/api/overlays/dev/kustomization.yaml";
    let r = h.say("console:alice", None, "rollback api in dev");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert!(
        h.line_with(dev, "digest:").contains(&a),
        "{}",
        h.world.show("main", dev)
    );
    let r = h.say(
        "console:alice",
        None,
        &format!("rollback api in dev to sha256:{b}"),
    );
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("was rolled back from"), "{}", r.message);
}

#[test]
fn a_version_rolled_back_from_in_the_source_does_not_count_for_soak() {
    let h = Harness::new(POLICY, WEDNESDAY);
    for v in ["v1.2.4", "v1.2.5"] {
        let r = h.say("console:alice", None, &format!("deploy api {v} to staging"));
        assert_eq!(r.state, "pushed", "{}", r.message);
    }
    let r = h.say("console:alice", None, "rollback api in staging");
    assert_eq!(r.state, "pushed", "{}", r.message);
    h.advance(11 * 60);
    let r = h.in_deploy("console:alice", "deploy api v1.2.5 to prod");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(
        r.message
            .contains("api v1.2.5 was rolled back from in staging"),
        "{}",
        r.message
    );
}

#[test]
fn a_digest_deploy_in_staging_counts_for_prods_soak() {
    let h = Harness::new(POLICY, WEDNESDAY);
    let d = "c".repeat(64);
    let r = h.say(
        "console:alice",
        None,
        &format!("deploy api sha256:{d} to staging"),
    );
    assert_eq!(r.state, "pushed", "{}", r.message);
    h.advance(11 * 60);
    // staging now reads `v1.2.3@sha256:...`: the same image.
    let r = h.in_deploy("console:alice", "promote api staging to prod");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
}
