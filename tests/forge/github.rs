//! The GitHub forge adapter against the fake GitHub over loopback, with a
//! real bare repository behind it: opening (and opening again), looking
//! (mergeable unknown then known, reviews, checks), merging for real (and
//! 405/409), closing, deleting branches, deployments, teams, conditional
//! requests, rate limits and pacing, App tokens (also for git), and
//! hostile answers.

use crate::support::github::{APP_ID, FakeGitHub, INSTALLATION, TOKEN, bare_git};
use crate::support::{World, git};
use hoist::engine::ports::{
    Checks, DeploymentState, Draft, Forge, ForgeError, MergeMethod, Merged, PrState,
};
use hoist::forge::github::{Auth, Config, GitHub, Pace};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Setup {
    w: World,
    fake: FakeGitHub,
}

fn setup() -> Setup {
    let w = World::new();
    let fake = FakeGitHub::start(&w.origin, "acme", "config");
    Setup { w, fake }
}

impl Setup {
    fn github(&self, auth: Auth, pace: Pace) -> GitHub {
        GitHub::connect(Config {
            api_url: self.fake.url.clone(),
            owner: "acme".into(),
            repo: "config".into(),
            auth,
            pace,
        })
        .unwrap()
    }

    fn token(&self) -> GitHub {
        self.github(Auth::Token(TOKEN.into()), Pace::default())
    }

    /// Push a branch `name` off main changing `file`; its head sha.
    fn branch(&self, name: &str, file: &str, text: &str) -> String {
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

    fn draft(&self, head: &str) -> Draft {
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
    let second = gh.look(1).unwrap();
    assert_eq!(second.mergeable, Some(true));
    assert_eq!(second.again_in, None);
    let approvers: Vec<_> = second
        .approvals
        .iter()
        .map(|a| (a.login.as_str(), a.commit.as_str()))
        .collect();
    assert_eq!(approvers, [("bob", head.as_str())]);
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
fn an_unchanged_answer_is_reused_without_counting_against_the_limit() {
    let s = setup();
    s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    gh.look(1).unwrap();
    let second = gh.look(1).unwrap();
    let counted = s.fake.counted();
    let third = gh.look(1).unwrap();
    assert_eq!(third, second);
    assert_eq!(
        s.fake.counted(),
        counted,
        "every GET of the third look was a 304"
    );
    assert!(s.fake.calls().iter().any(|c| c.status == 304));
}

#[test]
fn a_secondary_limit_comes_back_as_rate_limited_with_the_wait() {
    let s = setup();
    let gh = s.token();
    s.fake.secondary_limit(1);
    match gh.deployment("prod", &s.w.tip(), "x") {
        Err(ForgeError::RateLimited { wait, forge }) => {
            assert_eq!(wait, Duration::from_secs(7));
            assert_eq!(forge, "GitHub acme/config");
        }
        other => panic!("{other:?}"),
    }
    let sent = s.fake.calls().len();
    match gh.look(1) {
        Err(ForgeError::RateLimited { wait, .. }) => assert!(wait <= Duration::from_secs(7)),
        other => panic!("nothing is sent before the wait is over: {other:?}"),
    }
    assert_eq!(s.fake.calls().len(), sent);
}

#[test]
fn a_spent_primary_limit_stops_requests_until_its_reset() {
    let s = setup();
    let gh = s.token();
    s.fake.spend_primary(Duration::from_secs(30));
    gh.deployment("prod", &s.w.tip(), "the last one").unwrap();
    let sent = s.fake.calls().len();
    match gh.look(1) {
        Err(ForgeError::RateLimited { wait, .. }) => {
            assert!(
                wait > Duration::from_secs(20) && wait <= Duration::from_secs(30),
                "{wait:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.fake.calls().len(), sent, "nothing sent");
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

#[test]
fn pacing_keeps_content_creation_under_an_enforced_limit() {
    let s = setup();
    let window = Duration::from_millis(500);
    s.fake.limit_content(3, window);
    let pace = Pace {
        content_per_minute: 3,
        minute: window,
        ..Pace::default()
    };
    let gh = Arc::new(s.github(Auth::Token(TOKEN.into()), pace));
    let sha = s.w.tip();
    let started = Instant::now();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (gh, sha) = (gh.clone(), sha.clone());
            std::thread::spawn(move || {
                for _ in 0..3 {
                    gh.deployment("prod", &sha, "paced").unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(s.fake.rejected(), 0);
    assert_eq!(s.fake.deployments().len(), 9);
    assert!(started.elapsed() >= window * 2, "{:?}", started.elapsed());
    let short = Pace {
        content_per_minute: 1,
        minute: Duration::from_secs(30),
        max_wait: Duration::from_millis(100),
        ..Pace::default()
    };
    let gh = s.github(Auth::Token(TOKEN.into()), short);
    std::thread::sleep(window); // the fake's window forgets the first adapter's
    gh.deployment("prod", &sha, "one").unwrap();
    match gh.deployment("prod", &sha, "two") {
        Err(ForgeError::RateLimited { wait, .. }) => assert!(wait > Duration::from_secs(20)),
        other => panic!("{other:?}"),
    }
}

/// An RSA key in PEM, as GitHub hands an App's private key out.
fn app_key(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(name);
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn an_app_token_is_issued_refreshed_before_expiry_and_used_by_git() {
    let s = setup();
    let pem = app_key(s.w.dir.path(), "app");
    s.fake.require_app_key(&pem);
    let other = s.github(
        Auth::App {
            app_id: APP_ID,
            private_key_pem: app_key(s.w.dir.path(), "another-app"),
            installation_id: INSTALLATION,
        },
        Pace::default(),
    );
    let auth = Auth::App {
        app_id: APP_ID,
        private_key_pem: pem,
        installation_id: INSTALLATION,
    };
    match other.teams_of("bob", &["acme/sre".into()]) {
        Err(ForgeError::Refused(why)) => assert!(why.contains("401"), "{why}"),
        other => panic!("a JWT signed with another key: {other:?}"),
    }
    assert!(s.fake.issued().is_empty());
    let gh = Arc::new(s.github(auth.clone(), Pace::default()));
    assert_eq!(
        gh.teams_of("bob", &["acme/sre".into()]).unwrap(),
        Vec::<String>::new()
    );
    gh.teams_of("bob", &["acme/sre".into()]).unwrap();
    assert_eq!(s.fake.issued(), ["ghs_installation_1"], "kept while fresh");
    // A token within five minutes of expiry is asked for again.
    s.fake.set_token_ttl(Duration::from_secs(4 * 60));
    let gh2 = s.github(auth, Pace::default());
    gh2.teams_of("bob", &["acme/sre".into()]).unwrap();
    gh2.teams_of("bob", &["acme/sre".into()]).unwrap();
    assert_eq!(s.fake.issued().len(), 3, "refreshed before expiry");
    // git over HTTP with the installation token, through the helper.
    let (_server, url) = s.fake.serve_git("ghs_installation_1");
    let access = hoist::gitops::credentials::Access {
        token_source: Some(gh.token_source()),
        ..Default::default()
    };
    let creds = hoist::gitops::credentials::Credentials::new(&url, &access);
    let mut cmd = std::process::Command::new("git");
    cmd.args(["ls-remote", &url, "refs/heads/main"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", s.w.dir.path())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("HOIST_GIT_TOKEN");
    creds.apply(&mut cmd);
    assert!(
        cmd.get_args()
            .all(|a| !a.to_string_lossy().contains("ghs_"))
    );
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&s.w.tip()));
}

#[test]
fn a_huge_answer_is_an_error_not_a_read() {
    let s = setup();
    s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    s.fake
        .set_body(1, &"x".repeat(hoist::forge::github::MAX_BODY + 1));
    match gh.look(1) {
        Err(e @ ForgeError::Api { .. }) => {
            let why = std::error::Error::source(&e).unwrap().to_string();
            assert!(why.contains("at most"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    let bad = GitHub::connect(Config {
        api_url: "http://127.0.0.1:1".into(),
        owner: "acme/../evil".into(),
        repo: "config".into(),
        auth: Auth::Token(TOKEN.into()),
        pace: Pace::default(),
    });
    assert!(matches!(bad, Err(ForgeError::Refused(_))));
}

#[test]
fn the_adapter_may_be_dropped_on_an_async_thread() {
    let s = setup();
    let gh = s.token();
    gh.deployment("prod", &s.w.tip(), "x").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async move { drop(gh) });
}
