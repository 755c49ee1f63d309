//! Approvals on in-memory ports: a prod deploy waits for two people from
//! `sre`, the requester's own vote never counts, nothing is written before
//! the quorum, and the quorum writes exactly one commit naming both.

use super::*;
use crate::engine::State;

/// `console:alice` (devs) asks for api v2.0.0 in prod: operation #1 waits.
fn waiting() -> World {
    let w = World::new();
    let r = w.ask(
        "console:alice",
        "deploy api v2.0.0 to prod --reason login fix",
    );
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    assert_eq!(r.operation, Some(1));
    assert!(
        r.message.contains("needs 2 approval(s) from sre"),
        "{}",
        r.message
    );
    assert!(w.hoist_commits().is_empty(), "nothing is written yet");
    w
}

#[test]
fn the_requester_and_outsiders_do_not_count() {
    let w = waiting();
    let r = w.ask("console:alice", "approve 1");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(
        r.message.contains("requester's own approval never counts"),
        "{}",
        r.message
    );
    let r = w.ask("console:bob", "approve 1");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("#1: not counted"), "{}", r.message);
    assert!(w.op(1).approvers.is_empty());
    assert!(w.hoist_commits().is_empty());
}

#[test]
fn two_approvers_reach_the_quorum_and_commit_once() {
    let w = waiting();
    let r = w.ask("console:carol", "approve 1");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    assert!(r.message.contains("(1 of 2)"), "{}", r.message);
    assert!(w.hoist_commits().is_empty(), "nothing before the quorum");
    let r = w.ask("console:carol", "approve 1");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("already approved"), "{}", r.message);
    w.advance(60);
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "pushed", "{}", r.message);
    let commits = w.hoist_commits();
    assert_eq!(commits.len(), 1);
    let (sha, commit) = &commits[0];
    assert_eq!(r.commit.as_ref(), Some(sha));
    assert!(commit.signed);
    let trailers: Vec<&str> = commit
        .message
        .lines()
        .filter(|l| l.starts_with("Hoist-"))
        .collect();
    assert_eq!(
        trailers,
        [
            "Hoist-Operation: 1",
            "Hoist-Requested-By: console:alice",
            "Hoist-Approved-By: console:carol",
            "Hoist-Approved-By: console:dave",
            "Hoist-Chat: cli"
        ]
    );
    assert_eq!(w.remote_file(PROD_API), kustomization("v2.0.0", "2.0.1"));
    assert_eq!(w.op(1).state, State::Pushed { sha: sha.clone() });
    // A late vote changes nothing.
    let r = w.ask("console:carol", "approve 1");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert_eq!(w.hoist_commits().len(), 1);
}

#[test]
fn votes_after_the_expiry_do_not_count() {
    let w = waiting();
    assert_eq!(
        w.ask("console:carol", "approve 1").state,
        "awaiting-approval"
    );
    w.advance(3600);
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("expired"), "{}", r.message);
    assert_eq!(w.op(1).state, State::Expired);
    assert!(w.hoist_commits().is_empty());
}
