//! GitHub as an App, wired by the real binary: `hoist exec` with the three
//! `GITHUB_APP_*` variables (the key as a file path) against the fake
//! GitHub, whose git side is served over smart HTTP and accepts only the
//! installation token: hoist's branch is pushed with that token (handed to
//! git by the credential helper, never written to the mirror), the PR is
//! opened with it. And what `serve` says about GitHub at start: on (which
//! repository, as whom, webhook or polling), or the variable that is missing.

use super::forge_e2e::{POLICY, said_by, serve};
use crate::support::github::{APP_ID, FakeGitHub, INSTALLATION};
use crate::support::{BIN, World, serve_command};
use std::process::{Command, Stdio};

/// An RSA key in PEM, as GitHub hands an App's private key out.
fn app_key(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("app.pem");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    path
}

/// Every file under `dir`, read as text where it is text.
fn grep_dir(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if std::fs::read(&p)
            .map(|b| String::from_utf8_lossy(&b).contains(needle))
            .unwrap_or(false)
        {
            found.push(p);
        }
    }
    found
}

#[test]
fn as_an_app_hoist_pushes_its_branch_with_the_installation_token_and_opens_the_pr() {
    let w = World::new();
    w.commit_file("hoist.yaml", POLICY, "prod through pull requests");
    let fake = FakeGitHub::start(&w.origin, "acme", "config");
    let key = app_key(w.dir.path());
    fake.require_app_key(&std::fs::read_to_string(&key).unwrap());
    // The first installation token the fake issues is the only one git takes.
    let (_git, url) = fake.serve_git("ghs_installation_1");
    let mut cmd = Command::new(BIN);
    crate::support::no_github(&mut cmd);
    let out = cmd
        .args([
            "exec",
            "--repo",
            &url,
            "--data-dir",
            w.data.to_str().unwrap(),
        ])
        .args(["--as", "console:alice", "--json", "--"])
        .args("deploy api v1.2.4 to prod".split(' '))
        .env("HOIST_SIGNING_KEY", &w.key)
        .env("GITHUB_APP_ID", APP_ID.to_string())
        .env("GITHUB_APP_PRIVATE_KEY", &key)
        .env("GITHUB_APP_INSTALLATION_ID", INSTALLATION.to_string())
        .env("GITHUB_API_URL", &fake.url)
        .env("HOIST_GITHUB_REPO", "acme/config")
        .env_remove("GITHUB_TOKEN")
        .env_remove("HOIST_GIT_TOKEN")
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", w.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reply: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(reply["state"], "pr-opened", "{reply}");
    assert_eq!(fake.issued(), ["ghs_installation_1"]);
    let pr = fake.pr(1);
    assert_eq!(pr.head, "hoist/1");
    let pushed = crate::support::git(&w.origin, &["rev-parse", "refs/heads/hoist/1"]);
    assert_eq!(
        pushed.trim(),
        pr.head_sha,
        "pushed over HTTPS with the App's token"
    );
    assert!(
        grep_dir(&w.data, "ghs_installation").is_empty(),
        "the token is not kept in the mirror or the journal"
    );
}

#[test]
fn serve_says_whether_github_is_on_and_what_is_missing() {
    let w = World::new();
    w.commit_file("hoist.yaml", POLICY, "prod through pull requests");
    let fake = FakeGitHub::start(&w.origin, "acme", "config");
    let on = said_by(serve(
        &w,
        &fake,
        &[("GITHUB_WEBHOOK_SECRET", "s3cret-hook")],
    ));
    assert!(
        on.contains(&format!(
            "on:  GitHub acme/config at {} (GITHUB_TOKEN; webhook POST /github/webhook)",
            fake.url
        )),
        "{on}"
    );
    assert!(!on.contains("s3cret-hook") && !on.contains("ghp_"), "{on}");
    let polled = said_by(serve(&w, &fake, &[]));
    assert!(
        polled.contains("no webhook (GITHUB_WEBHOOK_SECRET is not set)"),
        "{polled}"
    );

    // A token with a repository GitHub does not host, and no HOIST_GITHUB_REPO.
    let mut cmd = serve_command(&w, w.origin.to_str().unwrap());
    cmd.env("GITHUB_TOKEN", "t").env_remove("HOIST_GITHUB_REPO");
    cmd.stderr(Stdio::piped());
    let off = said_by(crate::support::Bot::start(cmd));
    assert!(
        off.contains(
            "off: GitHub: GITHUB_TOKEN is set but the config repo is not a github.com URL"
        ),
        "{off}"
    );

    // Half an App stops serve at once, naming what is missing.
    let out = serve_command(&w, w.origin.to_str().unwrap())
        .env("GITHUB_APP_ID", "1")
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID not set"),
        "{err}"
    );
}
