//! The GitHub forge adapter's limits against the fake GitHub: conditional
//! requests (304s cost nothing), secondary and primary rate limits, the
//! pacing of content-creating requests under an enforced limit, App tokens
//! (signed JWT, refreshed before expiry, used by git through the credential
//! helper), and hostile or refusing answers (too large, hostile names,
//! cut lists, refused labels, a wrong token, an http API URL).

use crate::forge_github::setup;
use crate::support::github::{APP_ID, INSTALLATION, TOKEN};
use hoist::engine::ports::{Checks, Forge, ForgeError};
use hoist::forge::github::{Auth, Config, GitHub, Pace};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
        // Not final: a 401 is asked again (with backoff) by the engine.
        Err(e @ ForgeError::Api { .. }) => {
            let why = std::error::Error::source(&e).unwrap().to_string();
            assert!(why.contains("401"), "{why}")
        }
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
    for api_url in ["http://ghe.example.com/api/v3", "ftp://127.0.0.1:1"] {
        let plain = GitHub::connect(Config {
            api_url: api_url.into(),
            owner: "acme".into(),
            repo: "config".into(),
            auth: Auth::Token(TOKEN.into()),
            pace: Pace::default(),
        });
        assert!(
            matches!(plain, Err(ForgeError::Refused(ref why)) if why.contains("https")),
            "{api_url}: the token would travel in the clear"
        );
    }
}

#[test]
fn a_large_answer_is_not_remembered_for_conditional_requests() {
    let s = setup();
    s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    s.fake.set_body(1, &"x".repeat(300 << 10));
    for _ in 0..3 {
        gh.look(1).unwrap();
    }
    let calls = s.fake.calls();
    let pulls: Vec<_> = calls
        .iter()
        .filter(|c| c.path.ends_with("/pulls/1"))
        .collect();
    assert_eq!(pulls.len(), 3);
    assert!(pulls.iter().all(|c| c.status == 200), "{pulls:?}");
    assert!(
        calls.iter().any(|c| c.status == 304),
        "small ones still are"
    );
}

#[test]
fn a_wrong_token_is_an_error_worth_asking_again() {
    let s = setup();
    let gh = s.github(Auth::Token("ghp_wrong".into()), Pace::default());
    match gh.look(1) {
        Err(e @ ForgeError::Api { .. }) => {
            let why = std::error::Error::source(&e).unwrap().to_string();
            assert!(why.contains("401"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failing_status_past_the_first_page_fails_and_cut_lists_are_errors() {
    let s = setup();
    let head = s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    for i in 0..100 {
        s.fake.set_status(&head, &format!("ci/{i}"), "success");
    }
    s.fake.set_status(&head, "ci/late", "failure");
    assert_eq!(
        gh.look(1).unwrap().checks,
        Checks::Failing("101 commit statuses".into())
    );
    s.fake.set_status(&head, "ci/late", "success");
    assert_eq!(gh.look(1).unwrap().checks, Checks::Passing);
    for i in 0..1000 {
        s.fake
            .set_check(&head, &format!("c{i}"), "completed", Some("success"));
    }
    assert_eq!(gh.look(1).unwrap().checks, Checks::Passing, "10 pages");
    s.fake
        .set_check(&head, "c1000", "completed", Some("failure"));
    match gh.look(1) {
        Err(e @ ForgeError::Api { .. }) => {
            let why = std::error::Error::source(&e).unwrap().to_string();
            assert!(why.contains("too many check runs"), "{why}")
        }
        other => panic!("a failing run past the pages read: {other:?}"),
    }
    let s = setup();
    let head = s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    gh.open(&s.draft("hoist/op1")).unwrap();
    for _ in 0..999 {
        s.fake.add_review(1, "bob", "APPROVED", &head);
    }
    assert_eq!(gh.look(1).unwrap().approvals.len(), 1);
    s.fake.add_review(1, "bob", "CHANGES_REQUESTED", &head);
    match gh.look(1) {
        Err(e @ ForgeError::Api { .. }) => {
            let why = std::error::Error::source(&e).unwrap().to_string();
            assert!(why.contains("too many reviews"), "{why}")
        }
        other => panic!("a review past the pages read: {other:?}"),
    }
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

#[test]
fn refused_labels_still_give_the_opened_pr() {
    let s = setup();
    s.branch("hoist/op1", "README.md", "one\n");
    let gh = s.token();
    s.fake.refuse_labels();
    let pr = gh.open(&s.draft("hoist/op1")).unwrap();
    assert_eq!(pr.number, 1);
    assert!(s.fake.pr(1).open && s.fake.pr(1).labels.is_empty());
    let calls = s.fake.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.path.ends_with("/issues/1/labels") && c.status == 422),
        "{calls:?}"
    );
}
