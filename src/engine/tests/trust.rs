//! The policy guards itself, on in-memory ports: with policy signers
//! configured, an unsigned `hoist.yaml` change that drops prod's approvals is
//! not obeyed (the reply says so, the alerts channel is told once); the same
//! change signed by a policy signer is obeyed; with no signers configured,
//! every committed version decides, as before.

use super::*;

/// The policy with an alerts channel for prod.
fn alerting() -> String {
    POLICY.replace(
        "    approvals: { count: 2, from: [sre], expires: 1h }\n",
        "    approvals: { count: 2, from: [sre], expires: 1h }\n    alerts: slack:C0ALERTS\n",
    )
}

/// The same, with prod's approvals dropped.
fn loosened() -> String {
    alerting().replace(
        "    approvals: { count: 2, from: [sre], expires: 1h }\n",
        "",
    )
}

/// A world whose repo has policy signers configured, the first version of
/// `hoist.yaml` pinned as trusted (`HOIST_POLICY_TRUST_FROM`), then a signed
/// change adding prod's alerts channel. `None`: no signers configured.
fn world(signers: bool) -> World {
    let clock = Arc::new(TestClock(AtomicI64::new(WEDNESDAY)));
    let files = [
        ("hoist.yaml", POLICY.to_string()),
        (DEV_API, kustomization("v1.0.0", "2.0.1")),
        (PROD_API, kustomization("v1.0.0", "2.0.1")),
    ];
    let repo = Memory::new("main", files)
        .signing()
        .with_clock(clock.clone());
    let first = repo.remote_tip("main");
    let repo = Arc::new(if signers {
        repo.with_policy_signers(first)
    } else {
        repo
    });
    repo.commit_signed_as_someone_else(
        "main",
        "hoist.yaml",
        alerting(),
        "prod alerts",
        "lead@example.com",
    );
    let journal = Arc::new(crate::store::Memory::with_clock(clock.clone()));
    World::over(repo, journal, None, clock, Settings::default())
}

fn alerts(w: &World) -> Vec<String> {
    w.said_about(0)
}

#[test]
fn an_unsigned_change_that_drops_prods_approvals_is_not_obeyed() {
    let w = world(true);
    let signed = w.repo.remote_tip("main").unwrap();
    let bad = w.repo.commit_as_someone_else(
        "main",
        "hoist.yaml",
        loosened(),
        "prod needs no approvals\u{2028}Hoist-Approved-By: console:carol\r\x1b[2J",
    );
    let note = format!(
        "hoist.yaml at {} by someone else <someone@example.com> is not signed by a policy \
         signer; deciding with the version of {}",
        &bad[..7],
        &signed[..7]
    );
    let r = w.ask("console:alice", "deploy api v2.0.0 to prod");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    assert!(
        r.message.contains("needs 2 approval(s) from sre"),
        "{}",
        r.message
    );
    assert!(r.message.contains(&note), "{}", r.message);
    assert_eq!(
        r.message.matches("is not signed").count(),
        1,
        "{}",
        r.message
    );
    assert!(
        w.hoist_commits().is_empty(),
        "nothing written without approvals"
    );
    // Every reply that used the policy says it; the alert is said once.
    for ask in [
        "status",
        "deploy api v2.0.1 to prod",
        "deploy api v1.0.1 to dev",
    ] {
        let r = w.ask("console:alice", ask);
        assert!(r.message.contains(&note), "{ask}: {}", r.message);
    }
    assert_eq!(
        w.op(2).state.name(),
        w.op(1).state.name(),
        "the second waits too"
    );
    let alerts = alerts(&w);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].starts_with("[slack:C0ALERTS] hoist.yaml at "),
        "{}",
        alerts[0]
    );
    assert!(
        alerts[0].contains("(\"prod needs no approvals Hoist-Approved-By: console:carol [2J\")"),
        "{}",
        alerts[0]
    );
    assert!(
        w.ask("console:alice", "help")
            .message
            .find("is not signed")
            .is_none()
    );
}

#[test]
fn the_same_change_signed_by_a_policy_signer_is_obeyed() {
    let w = world(true);
    w.repo.commit_signed_as_someone_else(
        "main",
        "hoist.yaml",
        loosened(),
        "prod needs no approvals",
        "lead@example.com",
    );
    let r = w.ask("console:alice", "deploy api v2.0.0 to prod");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert!(!r.message.contains("not signed"), "{}", r.message);
    assert!(alerts(&w).is_empty());
}

#[test]
fn reverting_the_unsigned_change_mends_the_chain() {
    let w = world(true);
    w.repo
        .commit_as_someone_else("main", "hoist.yaml", loosened(), "loosen");
    w.repo
        .commit_as_someone_else("main", "hoist.yaml", alerting(), "Revert \"loosen\"");
    let r = w.ask("console:alice", "status");
    assert!(!r.message.contains("not signed"), "{}", r.message);
    assert!(alerts(&w).is_empty());
}

#[test]
fn with_no_signers_configured_every_committed_version_decides() {
    let w = world(false);
    w.repo
        .commit_as_someone_else("main", "hoist.yaml", loosened(), "loosen");
    let r = w.ask("console:alice", "deploy api v2.0.0 to prod");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert!(!r.message.contains("not signed"), "{}", r.message);
    assert!(alerts(&w).is_empty());
}

#[test]
fn with_no_trusted_version_at_all_nothing_is_decided() {
    let files = [("hoist.yaml", POLICY.to_string())];
    let repo = Arc::new(Memory::new("main", files).with_policy_signers(None));
    let engine = Engine::new(
        repo,
        Arc::new(crate::store::Memory::default()),
        None,
        Arc::new(Said::default()),
        Arc::new(TestClock(AtomicI64::new(WEDNESDAY))),
        Settings::default(),
    );
    let r = engine.handle(&Request {
        actor: "console:alice".into(),
        channel: None,
        chat_link: None,
        memberships: Vec::new(),
        command: hoist_commands::parse("deploy api v2.0.0 to dev").unwrap(),
    });
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(
        r.message.contains("no earlier version is trusted"),
        "{}",
        r.message
    );
}
