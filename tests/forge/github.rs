//! The GitHub forge adapter against the fake GitHub over loopback, with a
//! real bare repository behind it: opening (and opening again, into the
//! same base only), looking (mergeable unknown then known, reviews by
//! people with write access only, checks, a blocked PR), merging for real (and
//! 405/409), closing, deleting branches, deployments, teams, webhook
//! wakes. Limits, App tokens and hostile answers: `github_limits.rs`.

use crate::support::github::{FakeGitHub, TOKEN, bare_git};
use crate::support::{World, git};
use hoist::engine::ports::{
    Checks, DeploymentState, Draft, Forge, ForgeError, MergeMethod, Merged, PrState,
};
use hoist::forge::github::{Auth, Config, GitHub, Pace};
use std::sync::Arc;

pub struct Setup {
    pub w: World,
    pub fake: FakeGitHub,
}

pub fn setup() -> Setup {
    let w = World::new();
    let fake = FakeGitHub::start(&w.origin, "acme", "config");
    Setup { w, fake }
}

impl Setup {
    pub fn github(&self, auth: Auth, pace: Pace) -> GitHub {
        GitHub::connect(Config {
            api_url: self.fake.url.clone(),
            owner: "acme".into(),
            repo: "config".into(),
            auth,
            pace,
        })
        .unwrap()
    }

    pub fn token(&self) -> GitHub {
        self.github(Auth::Token(TOKEN.into()), Pace::default())
    }

    /// Push a branch `name` off main changing `file`; its head sha.
    pub fn branch(&self, name: &str, file: &str, text: &str) -> String {
        let work = self
            .w
            .dir
            .path()
            .join(format!("work-{}", name.replace('/', "-")));
        let origin = self.w.origin.to_str().unwrap();
        git(
            self.w.dir.path(),
            &["clone", "-q", origin, work.to_str().unwrap()],
        );
        std::fs::write(work.join(file), text).unwrap();
        git(&work, &["checkout", "-q", "-b", name]);
        git(&work, &["commit", "-qam", &format!("change {file}")]);
        git(&work, &["push", "-q", "origin", name]);
        git(&work, &["rev-parse", "HEAD"]).trim().to_string()
    }

    pub fn draft(&self, head: &str) -> Draft {
        Draft {
            head: head.into(),
            base: "main".into(),
            title: "deploy api v1.2.4 to prod".into(),
            body: "requested by alice".into(),
            labels: vec!["hoist".into(), "env:prod".into()],
        }
    }
}

#[test]
fn a_pr_is_opened_with_labels_and_opening_it_again_finds_the_same_one() {
    let s = setup();
    s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    let pr = gh.open(&s.draft("hoist/op1")).unwrap();
    assert_eq!(pr.number, 1);
    assert_eq!(pr.url, "https://github.com/acme/config/pull/1");
    assert_eq!(s.fake.pr(1).labels, ["hoist", "env:prod"]);
    let again = gh.open(&s.draft("hoist/op1")).unwrap();
    assert_eq!(again, pr, "the 422 leads to the open one");
    s.branch("hoist/op2", "README.md", "two\n");
    assert_eq!(gh.open(&s.draft("hoist/op2")).unwrap().number, 2);
    let calls = s.fake.calls();
    assert!(calls.iter().any(|c| c.status == 422), "{calls:?}");
    assert!(calls.iter().all(|c| c.status != 401));
}

#[test]
fn a_look_waits_for_mergeable_and_counts_each_reviewers_latest_review() {
    let s = setup();
    let head = s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    let first = gh.look(1).unwrap();
    assert_eq!(first.mergeable, None);
    assert!(first.again_in.is_some());
    assert_eq!(
        (first.state.clone(), first.head.as_str()),
        (PrState::Open, head.as_str())
    );
    assert_eq!(first.base, "main");
    let old = "0".repeat(40);
    s.fake.add_review(1, "carol", "APPROVED", &old);
    s.fake.add_review(1, "carol", "CHANGES_REQUESTED", &head);
    s.fake.add_review(1, "bob", "APPROVED", &head);
    s.fake.add_review(1, "bob", "COMMENTED", &head);
    s.fake.add_review(1, "dave", "APPROVED", &head);
    s.fake.add_review(1, "dave", "DISMISSED", &head);
    s.fake.add_review(1, "evil[bot]", "APPROVED", &head);
    // Anyone may review a public repository: only those with write
    // access count.
    s.fake
        .add_review_as(1, "mallory", "APPROVED", &head, "NONE");
    s.fake
        .add_review_as(1, "trent", "APPROVED", &head, "CONTRIBUTOR");
    s.fake.add_review_as(1, "olga", "APPROVED", &head, "OWNER");
    s.fake.add_review_as(1, "mia", "APPROVED", &head, "MEMBER");
    let second = gh.look(1).unwrap();
    assert_eq!(second.mergeable, Some(true));
    assert_eq!(second.again_in, None);
    let approvers: Vec<_> = second
        .approvals
        .iter()
        .map(|a| (a.login.as_str(), a.commit.as_str()))
        .collect();
    assert_eq!(
        approvers,
        [
            ("bob", head.as_str()),
            ("mia", head.as_str()),
            ("olga", head.as_str())
        ]
    );
}

#[test]
fn checks_combine_statuses_and_check_runs() {
    let s = setup();
    let head = s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    assert_eq!(gh.look(1).unwrap().checks, Checks::Passing, "none at all");
    s.fake.set_status(&head, "ci/lint", "success");
    s.fake.set_check(&head, "build", "in_progress", None);
    assert_eq!(gh.look(1).unwrap().checks, Checks::Pending("build".into()));
    s.fake
        .set_check(&head, "build", "completed", Some("skipped"));
    s.fake
        .set_check(&head, "test", "completed", Some("neutral"));
    assert_eq!(gh.look(1).unwrap().checks, Checks::Passing);
    s.fake
        .set_check(&head, "deploy-check", "completed", Some("timed_out"));
    s.fake.set_status(&head, "ci/e2e", "pending");
    assert_eq!(
        gh.look(1).unwrap().checks,
        Checks::Failing("deploy-check".into())
    );
    // Outside text: a check name with a newline and a bidi override.
    s.fake
        .set_check(&head, "deploy-check", "completed", Some("success"));
    s.fake
        .set_check(&head, "evil\nname\u{202e}txt.exe", "queued", None);
    match gh.look(1).unwrap().checks {
        Checks::Pending(words) => {
            assert_eq!(words, "ci/e2e, evil nametxt.exe");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn opening_again_finds_the_pr_into_the_same_base_only() {
    let s = setup();
    s.branch("hoist/op1", "README.md", "one\n");
    let main = s.w.tip();
    bare_git(&s.w.origin, &["update-ref", "refs/heads/staging", &main]);
    let gh = s.token();
    let staging = Draft {
        base: "staging".into(),
        ..s.draft("hoist/op1")
    };
    assert_eq!(gh.open(&staging).unwrap().number, 1);
    assert_eq!(gh.open(&s.draft("hoist/op1")).unwrap().number, 2);
    assert_eq!(gh.open(&s.draft("hoist/op1")).unwrap().number, 2, "not #1");
    let listed = s.fake.calls();
    let listed = listed
        .iter()
        .rfind(|c| c.method == "GET" && c.path.contains("/pulls?"));
    assert!(listed.unwrap().path.contains("base=main"), "{listed:?}");
    // A list that names a PR into another base is not taken for it.
    s.fake.list_any_base();
    match gh.open(&s.draft("hoist/op1")) {
        Err(ForgeError::Refused(why)) => {
            assert!(why.contains("#1 into \"staging\""), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_blocked_pr_with_no_checks_is_pending_not_passing() {
    let s = setup();
    let head = s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    assert_eq!(gh.look(1).unwrap().checks, Checks::Passing, "none required");
    s.fake.protect(1);
    let blocked = Checks::Pending(hoist::forge::github::BLOCKED.into());
    assert_eq!(gh.look(1).unwrap().checks, blocked);
    s.fake
        .set_check(&head, "build", "completed", Some("success"));
    assert_eq!(gh.look(1).unwrap().checks, blocked, "still wants something");
    s.fake
        .set_check(&head, "build", "completed", Some("failure"));
    assert_eq!(gh.look(1).unwrap().checks, Checks::Failing("build".into()));
}

#[test]
fn merges_happen_in_the_repository_with_the_expected_head_only() {
    let s = setup();
    let head = s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    let other = "1".repeat(40);
    let moved = gh.merge(1, &other, MergeMethod::Merge, "t", "m").unwrap();
    assert!(
        matches!(moved, Merged::HeadMoved(ref m) if m.contains("modified")),
        "{moved:?}"
    );
    s.fake
        .block_merge(1, "Required status check \"ci\" is expected.\n\u{202e}x");
    let refused = gh.merge(1, &head, MergeMethod::Merge, "t", "m").unwrap();
    assert_eq!(
        refused,
        Merged::NotMergeable("Required status check \"ci\" is expected. x".into())
    );
    let s2 = setup();
    let head = s2.branch("hoist/op1", "README.md", "one\n");
    let gh = s2.token();
    gh.open(&s2.draft("hoist/op1")).unwrap();
    let title = "deploy api v1.2.4 to prod (#1)";
    let message = "Approved-by: bob\nApproved-by: carol";
    let Merged::Merged { sha } = gh
        .merge(1, &head, MergeMethod::Squash, title, message)
        .unwrap()
    else {
        panic!("not merged")
    };
    let (_, tip) = bare_git(&s2.w.origin, &["rev-parse", "refs/heads/main"]);
    assert_eq!(tip, sha);
    let (_, parents) = bare_git(&s2.w.origin, &["rev-list", "--parents", "-n1", &sha]);
    assert_eq!(
        parents.split(' ').count(),
        2,
        "squash: one parent, the base"
    );
    let (_, said) = bare_git(&s2.w.origin, &["log", "-1", "--format=%B", &sha]);
    assert_eq!(said, format!("{title}\n\n{message}"));
    let look = gh.look(1).unwrap();
    assert_eq!(
        look.state,
        PrState::Merged {
            sha,
            by: Some("hoist-bot".into())
        }
    );
}

#[test]
fn a_push_to_the_branch_moves_the_head_and_the_old_head_is_not_merged() {
    let s = setup();
    let old = s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    gh.look(1).unwrap();
    assert_eq!(gh.look(1).unwrap().mergeable, Some(true));
    let new = s.branch("hoist/op1-again", "README.md", "two\n");
    bare_git(
        &s.w.origin,
        &["update-ref", "refs/heads/hoist/op1", &new, &old],
    );
    let look = gh.look(1).unwrap();
    assert_eq!((look.head.as_str(), look.mergeable), (new.as_str(), None));
    let merged = gh.merge(1, &old, MergeMethod::Merge, "t", "m").unwrap();
    assert!(matches!(merged, Merged::HeadMoved(_)), "{merged:?}");
    let Merged::Merged { sha } = gh.merge(1, &new, MergeMethod::Merge, "t", "m").unwrap() else {
        panic!("not merged")
    };
    let (_, parents) = bare_git(&s.w.origin, &["rev-list", "--parents", "-n1", &sha]);
    assert!(
        parents.ends_with(&new),
        "a merge commit, hoist's second: {parents}"
    );
}

#[test]
fn closing_describing_and_deleting_the_branch() {
    let s = setup();
    s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    gh.describe(1, "approvals: bob").unwrap();
    assert_eq!(s.fake.pr(1).body, "approvals: bob");
    gh.close(1, "cancelled by alice").unwrap();
    assert_eq!(s.fake.pr(1).comments, ["cancelled by alice"]);
    assert_eq!(
        gh.look(1).unwrap().state,
        PrState::Closed {
            by: Some("hoist-bot".into())
        }
    );
    gh.delete_branch("hoist/op1").unwrap();
    let (exists, _) = bare_git(
        &s.w.origin,
        &["rev-parse", "--verify", "-q", "refs/heads/hoist/op1"],
    );
    assert!(!exists);
    gh.delete_branch("hoist/op1").unwrap();
    assert!(matches!(
        gh.delete_branch("hoist/../main"),
        Err(ForgeError::Refused(_))
    ));
    // Closed by a person on GitHub.
    s.branch("hoist/op2", "README.md", "two\n");
    gh.open(&s.draft("hoist/op2")).unwrap();
    s.fake.close(2, "mallory");
    assert_eq!(
        gh.look(2).unwrap().state,
        PrState::Closed {
            by: Some("mallory".into())
        }
    );
    assert!(matches!(gh.look(99), Err(ForgeError::Missing(_))));
}

#[test]
fn deployments_statuses_and_team_membership() {
    let s = setup();
    let gh = s.token();
    let sha = s.w.tip();
    let id = gh
        .deployment("prod", &sha, "deploy api v1.2.4\nby alice")
        .unwrap();
    gh.deployment_status(id, DeploymentState::InProgress, "rolling out")
        .unwrap();
    gh.deployment_status(id, DeploymentState::Success, "healthy")
        .unwrap();
    let d = &s.fake.deployments()[0];
    assert_eq!(
        (d.id, d.sha.as_str(), d.environment.as_str()),
        (id, sha.as_str(), "prod")
    );
    assert_eq!(d.description, "deploy api v1.2.4 by alice");
    let states: Vec<_> = d.statuses.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(states, ["in_progress", "success"]);
    let call = s
        .fake
        .calls()
        .into_iter()
        .find(|c| c.path.ends_with("/deployments"))
        .unwrap();
    assert_eq!(call.body["auto_merge"], false);
    assert_eq!(call.body["required_contexts"], serde_json::json!([]));
    s.fake.set_team("acme", "sre", &["bob"]);
    s.fake.set_team("acme", "dev", &["carol"]);
    let teams = [
        "acme/sre".to_string(),
        "acme/dev".into(),
        "acme/../x".into(),
    ];
    assert_eq!(gh.teams_of("bob", &teams).unwrap(), ["acme/sre"]);
    assert!(gh.teams_of("bob/../x", &teams).unwrap().is_empty());
}

#[test]
fn webhooks_wake_the_watcher_of_a_pr_or_of_its_head() {
    let s = setup();
    let head = s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    let woken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = woken.clone();
    gh.watch(
        1,
        Arc::new(move || {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }),
    );
    let woken = || woken.load(std::sync::atomic::Ordering::SeqCst);
    gh.notify_head(&head);
    assert_eq!(woken(), 0, "a head not yet seen in a look");
    gh.look(1).unwrap();
    gh.notify_head(&head);
    gh.notify_pr(1);
    gh.notify_pr(2);
    assert_eq!(woken(), 2);
    gh.unwatch(1);
    gh.notify_pr(1);
    assert_eq!(woken(), 2);
}
