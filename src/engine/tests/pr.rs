//! `via: pull-request` on in-memory ports and the in-memory forge: a PR is
//! opened and the request answered at once; chat approvals reach the
//! quorum and hoist merges with the expected head and every trailer, then
//! follows the rollout (recorded as a deployment); a PR closed or merged by
//! a person; deny, cancel and expiry close the PR; no forge, no PR.

use super::forge::TestForge;
use super::*;
use crate::cluster::Simulated;
use crate::engine::ports::DeploymentState;
use crate::engine::{PullRef, State};
use std::time::Instant;

/// The tests' policy with prod changing through pull requests.
pub(super) const PR_POLICY: &str = "\
groups:
  sre: [console:carol, console:dave]
  devs: [console:alice]
environments:
  dev:
    deployers: [\"*\"]
  prod:
    deployers: [devs, sre]
    via: pull-request
    approvals: { count: 2, from: [sre, \"github:octocat\", \"github-team:acme/reviewers\"], expires: 1h }
    labels: [hoist, deploys]
    github_reviews: true
apps:
  api:
    targets:
      dev:  { file: apps/api/dev/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
      prod: { file: apps/api/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
";

/// A world whose prod changes through PRs on `TestForge`, looked at every 20 ms.
pub(super) fn pr_world(cluster: Option<Arc<dyn Cluster>>) -> (World, Arc<TestForge>) {
    let w = World::with_settings(cluster, |s| s.pr_poll = Duration::from_millis(20));
    w.repo
        .commit_as_someone_else("main", "hoist.yaml", PR_POLICY, "prod through PRs");
    let forge = TestForge::new(w.repo.clone());
    assert!(w.engine.set_forge(forge.clone()));
    (w, forge)
}

/// A second engine over the same ports (the first stopped).
pub(super) fn restarted(w: &World, forge: &Arc<TestForge>) -> Arc<Engine> {
    w.engine.stop_following();
    let settings = Settings {
        pr_poll: Duration::from_millis(20),
        ..Default::default()
    };
    let engine = Engine::new(
        w.repo.clone(),
        w.journal.clone(),
        None,
        w.said.clone(),
        w.clock.clone(),
        settings,
    );
    assert!(engine.set_forge(forge.clone()));
    engine
}

/// alice asks for api v2.0.0 in prod: PR #1 for operation #1.
pub(super) fn opened(w: &World) -> Reply {
    let r = w.ask(
        "console:alice",
        "deploy api v2.0.0 to prod --reason login fix",
    );
    assert_eq!(r.state, "pr-opened", "{}", r.message);
    r
}

/// Wait (10 s at most) until operation `id` satisfies `done`.
pub(super) fn until(
    w: &World,
    id: u64,
    what: &str,
    done: impl Fn(&Operation) -> bool,
) -> Operation {
    let start = Instant::now();
    loop {
        let op = w.op(id);
        if done(&op) {
            return op;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "#{id} never {what}: {:?}\n{:#?}",
            op.state,
            w.said_about(id)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_pr_is_opened_and_the_request_answered_at_once() {
    let (w, forge) = pr_world(None);
    let r = opened(&w);
    let url = "https://github.test/acme/config/pull/1";
    assert_eq!(r.pr.as_deref(), Some(url), "--json's pr is the PR's link");
    assert!(
        r.message.contains(&format!("opened {url}")),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("waiting for 2 approval(s) from sre"),
        "{}",
        r.message
    );
    let op = w.op(1);
    assert_eq!(
        op.state,
        State::PrOpened {
            url: url.into(),
            number: 1
        }
    );
    let names: Vec<&str> = op.transitions.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(names, ["requested", "committed", "pr-opened"]);
    // hoist's signed commit is on hoist/1 only; prod's branch is untouched.
    let head = op.commit.clone().unwrap();
    assert_eq!(r.commit.as_ref(), Some(&head));
    assert_eq!(w.repo.remote_tip("hoist/1").as_ref(), Some(&head));
    assert!(w.hoist_commits().is_empty(), "nothing merged yet");
    let commit = w.repo.commit_at(&head).unwrap();
    assert!(commit.signed);
    assert!(
        commit
            .message
            .contains("Hoist-Operation: 1\nHoist-Requested-By: console:alice\n")
    );
    assert!(
        !commit.message.contains("Hoist-Approved-By"),
        "{}",
        commit.message
    );
    let pr = forge.pr(1);
    assert_eq!((pr.head.as_str(), pr.base.as_str()), ("hoist/1", "main"));
    assert_eq!(pr.title, "deploy api v2.0.0 to prod");
    assert_eq!(pr.labels, ["hoist", "deploys", "env:prod"]);
    for part in [
        "Requested by `console:alice`",
        "Reason: login fix",
        "Approvals: 0 of 2",
        "```diff\n# apps/api/prod/kustomization.yaml:5\n- newTag: v1.0.0",
        "+ newTag: v2.0.0",
    ] {
        assert!(pr.body.contains(part), "{part}: {}", pr.body);
    }
}

#[test]
fn two_approvals_merge_at_the_expected_head_and_the_rollout_is_followed() {
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let (w, forge) = pr_world(Some(cluster));
    opened(&w);
    let head = w.op(1).commit.unwrap();
    let r = w.ask("console:alice", "approve 1");
    assert_eq!(
        r.state, "refused",
        "the requester never counts: {}",
        r.message
    );
    let r = w.ask("console:carol", "approve 1");
    assert!(r.message.contains("(1 of 2)"), "{}", r.message);
    assert_eq!(r.state, "pr-opened");
    assert!(
        forge.pr(1).body.contains("Approvals: 1 of 2"),
        "kept up to date"
    );
    assert!(forge.state().merges.is_empty());
    let r = w.ask("console:dave", "approve 1");
    assert_eq!(r.state, "merged", "{}", r.message);
    let r = w.engine.wait(r);
    assert_eq!(r.state, "healthy", "{}", r.message);
    let merges = forge.state().merges.clone();
    assert_eq!(merges.len(), 1, "one merge");
    assert_eq!(merges[0].head, head, "merged at hoist's head");
    assert_eq!(merges[0].number, 1);
    assert_eq!(merges[0].method, crate::policy::MergeMethod::Merge);
    assert_eq!(merges[0].title, "deploy api v2.0.0 to prod");
    for trailer in [
        "Hoist-Operation: 1",
        "Hoist-Requested-By: console:alice",
        "Hoist-Approved-By: console:carol",
        "Hoist-Approved-By: console:dave",
        "Hoist-Chat: cli",
    ] {
        assert!(merges[0].message.contains(trailer), "{}", merges[0].message);
    }
    assert_eq!(w.repo.remote_tip("main"), Some(head.clone()));
    let op = w.op(1);
    assert_eq!(op.state, State::Healthy);
    assert_eq!(op.pr.as_ref().unwrap().merged.as_ref(), Some(&head));
    let names: Vec<&str> = op.transitions.iter().map(|(_, l)| l.as_str()).collect();
    assert!(names.contains(&"merged"), "{names:?}");
    assert_eq!(forge.calls("delete hoist/1"), 1, "hoist's branch deleted");
    let deployments = forge.state().deployments.clone();
    assert_eq!(deployments.len(), 1);
    assert_eq!(
        (deployments[0].1.as_str(), &deployments[0].2),
        ("prod", &head)
    );
    assert_eq!(
        deployments[0].3,
        [DeploymentState::InProgress, DeploymentState::Success]
    );
    assert_eq!(op.deployment, Some(1));
}

#[test]
fn a_pr_closed_on_the_forge_cancels_the_operation() {
    let (w, forge) = pr_world(None);
    opened(&w);
    forge.close_by_hand(1, "octocat");
    until(&w, 1, "cancelled", |op| op.state == State::Cancelled);
    let said = w.said_about(1);
    assert!(
        said.iter()
            .any(|t| t.contains("closed on GitHub by octocat")),
        "{said:?}"
    );
    assert_eq!(forge.calls("delete hoist/1"), 1);
    assert!(forge.state().merges.is_empty());
    assert_eq!(w.engine.following(), 0, "the runner let go of it");
}

#[test]
fn a_pr_merged_by_a_person_is_merged_and_followed() {
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let (w, forge) = pr_world(Some(cluster));
    opened(&w);
    let sha = forge.merge_by_hand(1, "octocat");
    let op = until(&w, 1, "healthy", |op| op.state == State::Healthy);
    assert_eq!(op.pr.unwrap().merged, Some(sha));
    let said = w.said_about(1);
    assert!(
        said.iter()
            .any(|t| t.contains("by octocat without hoist's quorum (0 of 2 approvals; ")),
        "{said:?}"
    );
    assert!(
        forge.state().merges.is_empty(),
        "hoist merged nothing itself"
    );
}

#[test]
fn deny_cancel_and_expiry_close_the_pr() {
    let (w, forge) = pr_world(None);
    opened(&w);
    let r = w.ask("console:carol", "deny 1 wrong window");
    assert_eq!(r.state, "rejected", "{}", r.message);
    let pr = forge.pr(1);
    assert!(matches!(
        pr.state,
        crate::engine::ports::PrState::Closed { .. }
    ));
    assert_eq!(
        pr.comments,
        ["hoist: denied by console:carol: wrong window"]
    );

    let r = w.ask("console:alice", "deploy api v2.1.0 to prod");
    assert_eq!(r.state, "pr-opened", "{}", r.message);
    let r = w.ask("console:alice", "cancel 2");
    assert_eq!(r.state, "cancelled", "{}", r.message);
    assert!(
        r.message.contains("the pull request is closed"),
        "{}",
        r.message
    );
    assert_eq!(forge.pr(2).comments, ["hoist: cancelled by console:alice"]);

    let r = w.ask("console:alice", "deploy api v2.2.0 to prod");
    assert_eq!(r.state, "pr-opened", "{}", r.message);
    w.advance(2 * 3600);
    until(&w, 3, "expired", |op| op.state == State::Expired);
    assert_eq!(
        forge.pr(3).comments,
        ["hoist: the approvals did not come in time; expired"]
    );
    assert!(forge.state().merges.is_empty());
    assert_eq!(
        w.repo.remote_tip("main"),
        w.repo.log("main").first().map(|(s, _)| s.clone())
    );
    assert!(
        w.hoist_commits().is_empty(),
        "nothing reached prod's branch"
    );
    assert_eq!(PullRef::branch(3), "hoist/3");
}

#[test]
fn without_a_forge_a_pull_request_environment_is_refused() {
    let w = World::new();
    w.repo
        .commit_as_someone_else("main", "hoist.yaml", PR_POLICY, "prod through PRs");
    let r = w.ask("console:alice", "deploy api v2.0.0 to prod");
    assert_eq!(r.state, "refused", "{}", r.message);
    for part in [
        "via: pull-request",
        "GITHUB_TOKEN",
        "GitHub App",
        "HOIST_GITHUB_REPO",
        "--repo",
    ] {
        assert!(r.message.contains(part), "{part}: {}", r.message);
    }
    assert!(w.repo.remote_tip("hoist/1").is_none());
}

#[test]
fn a_followed_push_is_recorded_as_a_deployment_and_its_end_too() {
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let (w, forge) = pr_world(Some(cluster));
    let r = w.ask("console:bob", "deploy api v2.0.0 to dev");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert_eq!(r.pr, None, "a push has no PR");
    let r = w.engine.wait(r);
    assert_eq!(r.state, "healthy", "{}", r.message);
    let sha = w.op(1).commit.unwrap();
    let deployments = forge.state().deployments.clone();
    assert_eq!(
        deployments,
        [(
            1,
            "dev".to_string(),
            sha,
            vec![DeploymentState::InProgress, DeploymentState::Success]
        )]
    );
    assert_eq!(w.op(1).deployment, Some(1));
    assert_eq!(w.engine.forge_errors(), 0);
}

#[test]
fn a_forge_that_fails_deployments_never_fails_the_rollout() {
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let (w, forge) = pr_world(Some(cluster));
    forge.state().rate_limited = Some((1, Duration::from_secs(60)));
    let r = w
        .engine
        .wait(w.ask("console:bob", "deploy api v2.0.0 to dev"));
    assert_eq!(r.state, "healthy", "{}", r.message);
    assert!(forge.state().deployments.is_empty());
    assert_eq!(w.op(1).deployment, None);
    assert_eq!(w.engine.forge_errors(), 1, "logged and counted");
}

#[test]
fn a_push_is_answered_without_waiting_for_the_forges_deployment() {
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let (w, forge) = pr_world(Some(cluster));
    forge.state().deployment_delay = Duration::from_millis(1500);
    let start = Instant::now();
    let r = w.ask("console:bob", "deploy api v2.0.0 to dev");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "the request waited {:?} on the forge",
        start.elapsed()
    );
    let r = w.engine.wait(r);
    assert_eq!(r.state, "healthy", "{}", r.message);
    assert_eq!(forge.state().deployments.len(), 1, "recorded by the runner");
    assert_eq!(w.op(1).deployment, Some(1));
}
