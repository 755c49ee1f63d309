//! How a pull request's merge is judged: never into a base that is not the
//! environment's branch, a merge on the forge into another base or with a
//! head that is not hoist's commit is recorded failed (never followed,
//! never settled), and a person's merge before hoist's quorum is followed
//! but does not settle for soak.

use super::pr::{PR_POLICY, opened, pr_world, until};
use super::*;
use crate::cluster::Simulated;
use crate::engine::State;
use crate::engine::ports::PrState;

#[test]
fn a_pr_whose_base_was_changed_is_never_merged() {
    let (w, forge) = pr_world(None);
    opened(&w);
    forge.state().prs[0].base = "release".into();
    w.ask("console:carol", "approve 1");
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "pr-opened", "{}", r.message);
    until(&w, 1, "looked at a few times", |_| forge.calls("look") >= 5);
    let said = w.said_about(1);
    let noted = said
        .iter()
        .filter(|t| t.contains("base was changed to `release`") && t.contains("only into main"))
        .count();
    assert_eq!(noted, 1, "said once: {said:?}");
    assert!(forge.state().merges.is_empty());
    assert_eq!(w.op(1).state.label(), "pr-opened");
}

#[test]
fn a_merge_into_another_base_is_recorded_failed_not_followed() {
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let (w, forge) = pr_world(Some(cluster));
    opened(&w);
    let head = w.op(1).commit.unwrap();
    {
        let mut s = forge.state();
        s.prs[0].base = "release".into();
        s.prs[0].state = PrState::Merged {
            sha: head,
            by: Some("mallory".into()),
        };
    }
    forge.poke(1);
    let op = until(&w, 1, "failed", |op| op.state.label() == "failed");
    let State::Failed { message } = &op.state else {
        unreachable!()
    };
    assert!(
        message.starts_with("merged outside hoist's rules by mallory: merged into `release`"),
        "{message}"
    );
    assert!(op.entered("merged").is_none(), "never recorded merged");
    assert_eq!(w.engine.following(), 0, "not followed");
}

#[test]
fn a_merge_of_a_head_that_is_not_hoists_is_recorded_failed() {
    let (w, forge) = pr_world(None);
    opened(&w);
    let theirs = w.repo.commit_as_someone_else(
        "hoist/1",
        PROD_API,
        kustomization("v6.6.6", "2.0.1"),
        "sneaky",
    );
    forge.state().prs[0].state = PrState::Merged {
        sha: theirs.clone(),
        by: Some("mallory".into()),
    };
    forge.poke(1);
    let op = until(&w, 1, "failed", |op| op.state.label() == "failed");
    let State::Failed { message } = &op.state else {
        unreachable!()
    };
    assert!(
        message.contains(&format!("merged with head {}", &theirs[..7])),
        "{message}"
    );
    assert!(op.entered("merged").is_none());
}

/// PR_POLICY with a `dr` environment promoted from prod after 10 minutes.
fn with_dr() -> String {
    PR_POLICY
        .replace(
            "apps:\n",
            "  dr:\n    deployers: [\"*\"]\n    promote_from: prod\n    soak: 10m\napps:\n",
        )
        .replace(
            "      prod: { file: apps/api/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }\n",
            "      prod: { file: apps/api/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }\n      \
             dr: { file: apps/api/dr/kustomization.yaml, kustomize_image: ghcr.io/acme/api }\n",
        )
}

#[test]
fn a_merge_before_hoists_quorum_is_followed_but_never_settles() {
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let (w, forge) = pr_world(Some(cluster));
    w.repo.commit_as_someone_else(
        "main",
        "apps/api/dr/kustomization.yaml",
        kustomization("v1.0.0", "2.0.1"),
        "dr",
    );
    w.repo
        .commit_as_someone_else("main", "hoist.yaml", with_dr(), "dr from prod");
    opened(&w);
    forge.merge_by_hand(1, "octocat");
    until(&w, 1, "healthy", |op| op.state == State::Healthy);
    w.advance(3600);
    let r = w.ask("console:bob", "deploy api v2.0.0 to dr");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("has not settled"), "{}", r.message);
    // The same path at hoist's quorum settles.
    let r = w.ask("console:alice", "deploy api v2.1.0 to prod");
    assert_eq!(r.state, "pr-opened", "{}", r.message);
    w.ask("console:carol", "approve 2");
    w.engine.wait(w.ask("console:dave", "approve 2"));
    until(&w, 2, "healthy", |op| op.state == State::Healthy);
    w.advance(3600);
    let r = w.ask("console:bob", "deploy api v2.1.0 to dr");
    assert_eq!(r.state, "pushed", "{}", r.message);
}
