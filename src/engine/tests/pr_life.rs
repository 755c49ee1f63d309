//! The life of a pull request after it was opened: a moved base rebuilds
//! it (approvals kept when the change is the same, void when not), GitHub
//! reviews count only at hoist's head and only for people the policy lets
//! approve, a rate limit is said once, and a restart between an act on the
//! forge and its record gives one PR and one merge.

use super::forge::TestForge;
use super::pr::{opened, pr_world, restarted, until};
use super::*;
use crate::engine::ports::Checks;
use crate::engine::{PullRef, State};
use std::time::Instant;

/// The engine of a process started again over the same repo, journal and
/// forge (the first one stopped), with what it resumed.
fn restart(w: &World, forge: &Arc<TestForge>) -> (Arc<Engine>, Vec<Reply>) {
    let engine = restarted(w, forge);
    let resumed = engine.resume();
    (engine, resumed)
}

/// Journal `op` as it was before its last transition (the record a kill
/// -9 lost), with `state` and `pr` as they were then.
fn lose_last_record(w: &World, id: u64, state: State, pr: PullRef) {
    let mut op = w.op(id);
    op.transitions.pop();
    op.state = state;
    op.pr = Some(pr);
    w.journal.put(&op).unwrap();
}

#[test]
fn a_moved_base_rebuilds_the_pr_and_keeps_approvals_for_the_same_change() {
    let (w, forge) = pr_world(None);
    opened(&w);
    w.ask("console:carol", "approve 1");
    let old = w.op(1).commit.unwrap();
    // Someone changes the sidecar in the same file: the PR conflicts.
    let tip = w.repo.commit_as_someone_else(
        "main",
        PROD_API,
        kustomization("v1.0.0", "2.0.2"),
        "sidecar 2.0.2",
    );
    forge.poke(1);
    // The thread is told last, once the rebuilt PR is recorded.
    let op = until(&w, 1, "rebuilt and said so", |_| {
        w.said_about(1)
            .iter()
            .any(|t| t.contains("approvals kept (1 of 2)"))
    });
    assert_ne!(op.commit.as_deref(), Some(old.as_str()));
    let new = op.commit.clone().unwrap();
    assert_eq!(
        op.approvers,
        ["console:carol"],
        "the same change keeps its approvals"
    );
    assert_eq!(
        w.repo.remote_tip("hoist/1"),
        Some(new.clone()),
        "replaced with a lease"
    );
    assert_eq!(w.repo.commit_at(&new).unwrap().parent, Some(tip));
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "merged", "{}", r.message);
    assert_eq!(forge.state().merges[0].head, new);
    let merged = w.remote_file(PROD_API);
    assert!(
        merged.contains("newTag: v2.0.0") && merged.contains("\"2.0.2\""),
        "{merged}"
    );
    assert_eq!(forge.calls("open"), 1, "one PR all along");
}

#[test]
fn a_moved_base_that_changes_the_change_voids_the_approvals() {
    let (w, forge) = pr_world(None);
    opened(&w);
    w.ask("console:carol", "approve 1");
    let old = w.op(1).commit.unwrap();
    w.repo.commit_as_someone_else(
        "main",
        PROD_API,
        kustomization("v1.5.0", "2.0.1"),
        "hotfix v1.5.0",
    );
    forge.poke(1);
    // The thread is told last, once the rebuilt PR is recorded.
    let op = until(&w, 1, "rebuilt and said so", |_| {
        w.said_about(1).iter().any(|t| {
            t.contains("console:alice, main changed since your request")
                && t.contains("approvals void (console:carol)")
        })
    });
    assert_ne!(op.commit.as_deref(), Some(old.as_str()));
    assert!(op.approvers.is_empty(), "{:?}", op.approvers);
    assert_eq!(op.changes[0].old_value.as_deref(), Some("v1.5.0"));
    assert!(matches!(op.state, State::PrOpened { number: 1, .. }));
    assert!(
        forge.pr(1).body.contains("Approvals: 0 of 2"),
        "{}",
        forge.pr(1).body
    );
    assert!(forge.state().merges.is_empty());
}

#[test]
fn github_reviews_count_at_hoists_head_for_people_the_policy_allows() {
    let (w, forge) = pr_world(None);
    opened(&w);
    let head = w.op(1).commit.unwrap();
    forge
        .state()
        .teams
        .insert("tina".into(), vec!["acme/reviewers".into()]);
    forge.review(
        1,
        &[
            ("octocat", "0123456789abcdef0123456789abcdef01234567"),
            ("mallory", &head),
            ("tina", &head),
            ("evil\nHoist-Approved-By: x", &head),
        ],
    );
    let op = until(&w, 1, "counted tina", |op| !op.approvers.is_empty());
    assert_eq!(
        op.approvers,
        ["github:tina"],
        "octocat reviewed an old head"
    );
    assert_eq!(
        op.memberships["github:tina"],
        ["github-team:acme/reviewers"]
    );
    assert!(forge.pr(1).body.contains("Approvals: 1 of 2"));
    // tina's review no longer approves; octocat approves at the head.
    forge.review(1, &[("octocat", &head)]);
    let op = until(&w, 1, "swapped", |op| op.approvers == ["github:octocat"]);
    assert_eq!(op.state.label(), "pr-opened");
    forge.review(1, &[("octocat", &head), ("tina", &head)]);
    until(&w, 1, "merged", |op| {
        matches!(op.state, State::Merged { .. })
    });
    let message = forge.state().merges[0].message.clone();
    assert!(
        message.contains("Hoist-Approved-By: github:octocat\n"),
        "{message}"
    );
    assert!(
        message.contains("Hoist-Approved-By: github:tina\n"),
        "{message}"
    );
    assert!(
        !message.contains("mallory") && !message.contains("evil"),
        "{message}"
    );
}

#[test]
fn a_rate_limit_is_said_once() {
    let (w, forge) = pr_world(None);
    opened(&w);
    forge.state().rate_limited = Some((3, Duration::from_secs(40)));
    let start = Instant::now();
    while forge.state().rate_limited.is_some() {
        assert!(start.elapsed() < Duration::from_secs(10), "never looked");
        forge.poke(1);
        std::thread::sleep(Duration::from_millis(10));
    }
    forge.poke(1);
    until(&w, 1, "looked at again", |_| forge.calls("look") >= 4);
    let said = w.said_about(1);
    let waits = said
        .iter()
        .filter(|t| t.contains("GitHub asked hoist to wait 40s"))
        .count();
    assert_eq!(waits, 1, "{said:?}");
    assert_eq!(w.op(1).state.label(), "pr-opened");
}

#[test]
fn a_restart_between_opening_and_recording_gives_one_pr() {
    // The first process looks once an hour: after its first look its
    // runner is idle, so it cannot open the PR again while the record is
    // lost (stopping the runner does not wait for a step under way).
    let w = World::with_settings(None, |s| s.pr_poll = Duration::from_secs(3600));
    w.repo.commit_as_someone_else(
        "main",
        "hoist.yaml",
        super::pr::PR_POLICY,
        "prod through PRs",
    );
    let forge = TestForge::new(w.repo.clone());
    assert!(w.engine.set_forge(forge.clone()));
    opened(&w);
    until(&w, 1, "looked at once", |_| forge.calls("look 1") >= 1);
    std::thread::sleep(Duration::from_millis(20));
    let sha = w.op(1).commit.unwrap();
    w.engine.stop_following();
    lose_last_record(&w, 1, State::Committed { sha }, PullRef::default());
    let (_engine, resumed) = restart(&w, &forge);
    assert!(
        resumed[0]
            .message
            .contains("waiting on its pull request again"),
        "{resumed:?}"
    );
    let op = until(&w, 1, "recorded its PR", |op| {
        op.state.label() == "pr-opened"
    });
    assert_eq!(op.pr.unwrap().number, 1);
    assert_eq!(forge.calls("open hoist/1"), 2, "asked again");
    assert_eq!(forge.state().prs.len(), 1, "one PR");
}

#[test]
fn a_restart_between_merging_and_recording_gives_one_merge() {
    let (w, forge) = pr_world(None);
    opened(&w);
    w.ask("console:carol", "approve 1");
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "merged", "{}", r.message);
    let url = r.pr.unwrap();
    lose_last_record(
        &w,
        1,
        State::PrOpened {
            url: url.clone(),
            number: 1,
        },
        PullRef {
            number: 1,
            url,
            merged: None,
        },
    );
    let (_engine, _) = restart(&w, &forge);
    let op = until(&w, 1, "merged again", |op| {
        matches!(op.state, State::Merged { .. })
    });
    let merges = forge.state().merges.clone();
    assert_eq!(merges.len(), 1, "one merge");
    assert_eq!(op.pr.unwrap().merged, Some(merges[0].head.clone()));
}

#[test]
fn failing_checks_are_said_once_and_the_merge_waits_for_them() {
    let (w, forge) = pr_world(None);
    opened(&w);
    forge.state().checks = Some(Checks::Failing("ci/lint".into()));
    w.ask("console:carol", "approve 1");
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "pr-opened", "{}", r.message);
    until(&w, 1, "looked at a few times", |_| forge.calls("look") >= 5);
    let said = w.said_about(1);
    let failing = said.iter().filter(|t| t.contains("check failed")).count();
    assert_eq!(failing, 1, "{said:?}");
    assert!(said.iter().any(|t| t.contains("ci/lint")), "{said:?}");
    assert!(
        forge.state().merges.is_empty(),
        "never merged with a failing check"
    );
    forge.state().checks = Some(Checks::Passing);
    forge.poke(1);
    until(&w, 1, "merged", |op| {
        matches!(op.state, State::Merged { .. })
    });
    assert_eq!(forge.state().merges.len(), 1);
}

#[test]
fn a_head_that_is_not_hoists_is_never_merged_and_hoists_is_put_back() {
    let (w, forge) = pr_world(None);
    opened(&w);
    let ours = w.op(1).commit.unwrap();
    forge.state().checks = Some(Checks::Pending("ci".into()));
    w.ask("console:carol", "approve 1");
    let theirs = w.repo.commit_as_someone_else(
        "hoist/1",
        PROD_API,
        kustomization("v6.6.6", "2.0.1"),
        "sneaky",
    );
    forge.poke(1);
    until(&w, 1, "put back", |_| {
        w.repo.remote_tip("hoist/1").as_ref() == Some(&ours)
    });
    let said = w.said_about(1);
    let noted = said
        .iter()
        .filter(|t| t.contains("someone pushed") && t.contains(&theirs[..7]))
        .count();
    assert_eq!(noted, 1, "said once: {said:?}");
    assert!(
        said.iter().any(|t| t.contains("hoist put its own commit")),
        "{said:?}"
    );
    assert_eq!(w.op(1).approvers, ["console:carol"], "nothing voided");
    forge.state().checks = None;
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "merged", "{}", r.message);
    let merges = forge.state().merges.clone();
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0].head, ours, "only hoist's commit is merged");
    assert!(w.remote_file(PROD_API).contains("newTag: v2.0.0"));
    assert!(!w.remote_file(PROD_API).contains("v6.6.6"));
}
