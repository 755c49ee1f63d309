//! The rules a pull request's approvals and words keep: one person counts
//! once however many ids `people:` links (a chat vote and a GitHub review
//! by the same human, two linked logins), GitHub reviews stop counting when
//! the environment no longer reads them, chat text on the PR neither
//! mentions nor links, and a request resumed before anyone approved it is
//! not said to be approved.

use super::forge::TestForge;
use super::pr::{PR_POLICY, opened, pr_world, restarted, until};
use super::*;
use crate::engine::{PullRef, State};

/// The tests' PR policy with carol's GitHub login linked to her chat id.
fn with_people(policy: &str) -> String {
    format!(
        "people:\n  carol: [console:carol, github:carol-gh, github:carol-alt]\n{}",
        policy.replace(
            "from: [sre, \"github:octocat\",",
            "from: [sre, \"github:octocat\", \"github:carol-gh\", \"github:carol-alt\","
        )
    )
}

fn people_world() -> (World, Arc<TestForge>) {
    let (w, forge) = pr_world(None);
    w.repo
        .commit_as_someone_else("main", "hoist.yaml", with_people(PR_POLICY), "carol's ids");
    (w, forge)
}

#[test]
fn a_chat_vote_by_someone_who_already_reviewed_is_refused() {
    let (w, forge) = people_world();
    opened(&w);
    let head = w.op(1).commit.unwrap();
    forge.review(1, &[("carol-gh", &head)]);
    until(&w, 1, "counted carol's review", |op| {
        op.approvers == ["github:carol-gh"]
    });
    let r = w.ask("console:carol", "approve 1");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(
        r.message
            .contains("you already approved as github:carol-gh"),
        "{}",
        r.message
    );
    assert_eq!(w.op(1).approvers, ["github:carol-gh"]);
    assert!(forge.state().merges.is_empty());
}

#[test]
fn a_review_by_someone_who_approved_in_chat_is_not_counted_again() {
    let (w, forge) = people_world();
    opened(&w);
    let head = w.op(1).commit.unwrap();
    let r = w.ask("console:carol", "approve 1");
    assert!(r.message.contains("(1 of 2)"), "{}", r.message);
    // carol reviews with both her logins; neither is a second approval.
    forge.review(1, &[("carol-gh", &head), ("carol-alt", &head)]);
    until(&w, 1, "looked at a few times", |_| forge.calls("look") >= 4);
    let op = w.op(1);
    assert_eq!(op.approvers, ["console:carol"]);
    assert_eq!(op.state.label(), "pr-opened");
    assert!(forge.state().merges.is_empty(), "one person is not two");
    // Two logins of one person without a chat vote count once too.
    let (w, forge) = people_world();
    opened(&w);
    let head = w.op(1).commit.unwrap();
    forge.review(1, &[("carol-gh", &head), ("carol-alt", &head)]);
    until(&w, 1, "counted carol once", |op| !op.approvers.is_empty());
    until(&w, 1, "looked at a few times", |_| forge.calls("look") >= 4);
    assert_eq!(w.op(1).approvers, ["github:carol-gh"]);
    assert!(forge.state().merges.is_empty());
}

#[test]
fn ids_linked_after_the_votes_count_as_one_person_at_quorum() {
    let (w, forge) = pr_world(None);
    // carol-gh may review, and is not linked to console:carol yet.
    w.repo.commit_as_someone_else(
        "main",
        "hoist.yaml",
        PR_POLICY.replace(
            "from: [sre, \"github:octocat\",",
            "from: [sre, \"github:octocat\", \"github:carol-gh\",",
        ),
        "carol-gh may review",
    );
    opened(&w);
    let head = w.op(1).commit.unwrap();
    forge.state().checks = Some(crate::engine::ports::Checks::Pending("ci".into()));
    w.ask("console:carol", "approve 1");
    forge.review(1, &[("carol-gh", &head)]);
    until(&w, 1, "two approvers", |op| op.approvers.len() == 2);
    w.repo.commit_as_someone_else(
        "main",
        "hoist.yaml",
        with_people(PR_POLICY),
        "carol's ids are one person",
    );
    forge.state().checks = None;
    forge.poke(1);
    let op = until(&w, 1, "pruned", |op| op.approvers.len() == 1);
    assert_eq!(op.approvers, ["console:carol"]);
    until(&w, 1, "looked at a few times more", |_| {
        forge.calls("look") >= 8
    });
    assert!(
        forge.state().merges.is_empty(),
        "one person is not a quorum of two"
    );
}

#[test]
fn github_reviews_stop_counting_when_the_environment_stops_reading_them() {
    let (w, forge) = pr_world(None);
    opened(&w);
    let head = w.op(1).commit.unwrap();
    forge.state().checks = Some(crate::engine::ports::Checks::Pending("ci".into()));
    forge.review(1, &[("octocat", &head)]);
    until(&w, 1, "counted octocat", |op| {
        op.approvers == ["github:octocat"]
    });
    w.repo.commit_as_someone_else(
        "main",
        "hoist.yaml",
        PR_POLICY.replace("github_reviews: true", "github_reviews: false"),
        "reviews no longer count",
    );
    forge.state().checks = None;
    let r = w.ask("console:carol", "approve 1");
    assert_eq!(r.state, "pr-opened", "{}", r.message);
    let op = until(&w, 1, "octocat dropped", |op| {
        !op.approvers.iter().any(|a| a.starts_with("github:"))
    });
    assert_eq!(op.approvers, ["console:carol"]);
    assert!(forge.state().merges.is_empty());
}

#[test]
fn chat_text_on_the_pr_neither_mentions_nor_links() {
    let (w, forge) = pr_world(None);
    let r = w.ask(
        "console:alice",
        "deploy api v2.0.0 to prod --reason cc @acme/sre fixes #12",
    );
    assert_eq!(r.state, "pr-opened", "{}", r.message);
    let body = forge.pr(1).body;
    assert!(
        body.contains("Reason: cc `@acme/sre` fixes `#12`"),
        "{body}"
    );
    let r = w.ask("console:carol", "deny 1 ask @octocat about #7");
    assert_eq!(r.state, "rejected", "{}", r.message);
    assert_eq!(
        forge.pr(1).comments,
        ["hoist: denied by console:carol: ask `@octocat` about `#7`"]
    );
}

#[test]
fn a_pr_request_resumed_before_its_approvals_is_opened_or_refused_in_its_own_words() {
    // Resumed at Requested: judged again, then opened.
    let (w, forge) = pr_world(None);
    opened(&w);
    let mut op = w.op(1);
    op.state = State::Requested;
    op.transitions.truncate(1);
    op.commit = None;
    op.pr = Some(PullRef::default());
    w.journal.put(&op).unwrap();
    forge.state().prs.clear();
    let engine = restarted(&w, &forge);
    let replies = engine.resume();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].state, "pr-opened", "{}", replies[0].message);
    until(&w, 1, "opened", |op| op.state.label() == "pr-opened");
    assert_eq!(forge.state().prs.len(), 1);
    engine.stop_following();

    // Resumed at Requested while prod is locked: refused, not "approved, but".
    let (w, forge) = pr_world(None);
    opened(&w);
    let r = w.ask("console:carol", "lock prod for 1h release train");
    assert!(r.message.contains("locked"), "{}", r.message);
    let mut op = w.op(1);
    op.state = State::Requested;
    op.transitions.truncate(1);
    op.commit = None;
    op.pr = Some(PullRef::default());
    w.journal.put(&op).unwrap();
    let engine = restarted(&w, &forge);
    let replies = engine.resume();
    let refused = replies
        .iter()
        .find(|r| r.operation == Some(1))
        .unwrap_or_else(|| panic!("{replies:?}"));
    assert_eq!(refused.state, "refused", "{}", refused.message);
    assert!(!refused.message.contains("approved"), "{}", refused.message);
    assert!(refused.message.contains("locked"), "{}", refused.message);
    engine.stop_following();
}
