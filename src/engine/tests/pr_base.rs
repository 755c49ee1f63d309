//! The environment's branch under a waiting pull request: force-pushed
//! back past the commit hoist planned on, the change is rebuilt on the new
//! tip instead of merged (a merge would bring the dropped commits back);
//! a merge the forge refuses is said once, its words flattened.

use super::pr::{opened, pr_world, until};
use crate::engine::State;

#[test]
fn a_base_force_pushed_under_the_pr_is_rebuilt_on_not_merged_into() {
    let (w, forge) = pr_world(None);
    let before = w.repo.remote_tip("main").unwrap();
    w.repo
        .commit_as_someone_else("main", "README.md", "oops\n", "a commit later dropped");
    opened(&w);
    let first = w.op(1).commit.unwrap();
    // Someone drops the README commit from main (the PR still merges cleanly).
    w.repo.force_as_someone_else("main", &before);
    w.ask("console:carol", "approve 1");
    w.ask("console:dave", "approve 1");
    let op = until(&w, 1, "merged", |op| {
        matches!(op.state, State::Merged { .. })
    });
    let merges = forge.state().merges.clone();
    assert_eq!(merges.len(), 1, "one merge");
    assert_ne!(
        merges[0].head, first,
        "never the change built on the dropped commit"
    );
    assert_eq!(
        op.base.as_deref(),
        Some(before.as_str()),
        "rebuilt on the new tip"
    );
    assert_eq!(merges[0].head, op.commit.unwrap());
    let (_, tip) = &w.repo.log("main")[0];
    assert!(
        !tip.files.contains_key("README.md"),
        "the dropped commit stays dropped"
    );
    let said = w.said_about(1);
    assert!(said.iter().any(|t| t.contains("rebuilt")), "{said:?}");
}

#[test]
fn a_merge_the_forge_refuses_is_said_once() {
    let (w, forge) = pr_world(None);
    opened(&w);
    forge.state().merge_refusal =
        Some("Required status check \"ci\" is expected.\n@here `fix`".into());
    w.ask("console:carol", "approve 1");
    w.ask("console:dave", "approve 1");
    until(&w, 1, "asked a few times", |_| forge.calls("merge 1") >= 3);
    let said = w.said_about(1);
    let told: Vec<&String> = said
        .iter()
        .filter(|t| t.contains("GitHub did not merge the pull request"))
        .collect();
    assert_eq!(told.len(), 1, "said once: {said:?}");
    assert!(
        told[0].contains("Required status check \"ci\" is expected. @here 'fix'"),
        "flattened: {}",
        told[0]
    );
    forge.state().merge_refusal = None;
    forge.poke(1);
    until(&w, 1, "merged", |op| {
        matches!(op.state, State::Merged { .. })
    });
}
