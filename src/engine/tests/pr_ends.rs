//! How a pull request's operation ends without hoist merging it, and how
//! its wait survives trouble: a cancel (or deny) looks at the PR first (one
//! merged meanwhile is recorded merged, not cancelled), is journaled only
//! once the PR is closed (a failed close is tried again at the next look),
//! works on a change committed and not yet opened, which expires too; a
//! failing forge is asked less and less often; a fatal error after the PR
//! exists leaves nothing open; a vote's look keeps the runner's wake.

use super::forge::TestForge;
use super::pr::{PR_POLICY, opened, until};
use super::*;
use crate::engine::State;
use crate::engine::ports::{Checks, ForgeError, PrState};

/// As `pr_world`, with the settings adjusted by `adjust` (after a 20 ms
/// pace and a 10 ms first retry).
fn world(adjust: impl FnOnce(&mut Settings)) -> (World, Arc<TestForge>) {
    let w = World::with_settings(None, |s| {
        s.pr_poll = Duration::from_millis(20);
        s.follow_retry = Duration::from_millis(10);
        adjust(s);
    });
    w.repo
        .commit_as_someone_else("main", "hoist.yaml", PR_POLICY, "prod through PRs");
    let forge = TestForge::new(w.repo.clone());
    assert!(w.engine.set_forge(forge.clone()));
    (w, forge)
}

fn unreachable_forge() -> ForgeError {
    ForgeError::api("connecting", "connection refused")
}

#[test]
fn a_cancel_after_a_merge_on_the_forge_records_the_merge() {
    // The runner looks once an hour: the merge is not seen before the cancel.
    let (w, forge) = world(|s| s.pr_poll = Duration::from_secs(3600));
    opened(&w);
    until(&w, 1, "looked at once", |_| forge.calls("look 1") >= 1);
    let head = w.op(1).commit.unwrap();
    forge.state().prs[0].state = PrState::Merged {
        sha: head,
        by: Some("octocat".into()),
    };
    let r = w.ask("console:alice", "cancel 1");
    assert!(
        r.message
            .contains("not cancelled: the pull request had already been merged"),
        "{}",
        r.message
    );
    let op = w.op(1);
    assert!(matches!(op.state, State::Merged { .. }), "{:?}", op.state);
    assert!(op.entered("cancelled").is_none());
    assert!(forge.pr(1).comments.is_empty(), "nothing closed");
}

#[test]
fn a_cancel_is_journaled_only_once_the_pr_is_closed() {
    let (w, forge) = world(|_| {});
    opened(&w);
    forge.state().close_error = Some(unreachable_forge);
    let r = w.ask("console:alice", "cancel 1");
    assert!(
        r.message
            .contains("not cancelled yet: the pull request could not be closed"),
        "{}",
        r.message
    );
    assert_eq!(w.op(1).state.label(), "pr-opened", "not journaled");
    let r = w.ask("console:carol", "approve 1");
    assert_eq!(r.state, "refused", "no vote while it closes: {}", r.message);
    until(&w, 1, "tried again", |_| forge.calls("close 1") >= 2);
    assert_eq!(w.op(1).state.label(), "pr-opened");
    forge.state().close_error = None;
    until(&w, 1, "cancelled", |op| op.state == State::Cancelled);
    assert!(matches!(forge.pr(1).state, PrState::Closed { .. }));
    let said = w.said_about(1);
    assert!(
        said.iter()
            .any(|t| t.contains("the pull request is closed now")),
        "{said:?}"
    );
    assert!(forge.state().merges.is_empty());
}

#[test]
fn a_change_committed_and_not_yet_opened_can_be_cancelled_and_expires() {
    let (w, forge) = world(|_| {});
    forge.state().open_error = Some(unreachable_forge);
    let r = w.ask("console:alice", "deploy api v2.0.0 to prod");
    assert!(
        r.message.contains("could not be opened yet"),
        "{}",
        r.message
    );
    let r = w.ask("console:alice", "cancel 1");
    assert_eq!(r.state, "cancelled", "{}", r.message);
    assert!(forge.calls("delete hoist/1") >= 1, "hoist's branch deleted");

    let r = w.ask("console:alice", "deploy api v2.1.0 to prod");
    assert!(
        r.message.contains("could not be opened yet"),
        "{}",
        r.message
    );
    w.advance(2 * 3600);
    until(&w, 2, "expired", |op| op.state == State::Expired);
    assert!(forge.calls("delete hoist/2") >= 1);
    assert!(forge.state().prs.is_empty(), "never opened");
}

#[test]
fn a_failing_forge_is_asked_less_and_less_often() {
    let (w, forge) = world(|_| {});
    forge.state().open_error = Some(unreachable_forge);
    let r = w.ask("console:alice", "deploy api v2.0.0 to prod");
    assert!(
        r.message.contains("could not be opened yet"),
        "{}",
        r.message
    );
    std::thread::sleep(Duration::from_millis(400));
    // 10, 20, 40, 80, 160 ms: six asks at most in 400 ms, not forty.
    let asked = forge.calls("open hoist/1");
    assert!((2..=7).contains(&asked), "asked {asked} times");
    forge.state().open_error = None;
    until(&w, 1, "opened at last", |op| {
        op.state.label() == "pr-opened"
    });
}

#[test]
fn a_fatal_error_after_the_pr_exists_leaves_nothing_open() {
    let (w, forge) = world(|_| {});
    forge.state().open_error = Some(|| ForgeError::Refused("label `deploys` refused".into()));
    let r = w.ask("console:alice", "deploy api v2.0.0 to prod");
    assert_eq!(r.state, "failed", "{}", r.message);
    assert_eq!(
        forge.state().prs.len(),
        1,
        "GitHub opened it before refusing"
    );
    assert!(
        forge.calls("delete hoist/1") >= 1,
        "its branch is gone, so is the PR"
    );
}

#[test]
fn a_votes_look_keeps_the_runners_wake() {
    let (w, forge) = world(|_| {});
    opened(&w);
    until(&w, 1, "watched", |_| forge.watching(1));
    forge.state().checks = Some(Checks::Pending("ci".into()));
    w.ask("console:carol", "approve 1");
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "pr-opened", "{}", r.message);
    assert!(forge.watching(1), "a webhook still wakes the runner");
    forge.state().checks = None;
    forge.poke(1);
    until(&w, 1, "merged", |op| {
        matches!(op.state, State::Merged { .. })
    });
}
