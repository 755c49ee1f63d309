//! Credentials on the wire. SSH: the mirror talks to an `ssh://` remote
//! through `GIT_SSH_COMMAND` built from `HOIST_GIT_SSH_KEY` and
//! `HOIST_GIT_KNOWN_HOSTS`; an `ssh` stand-in on PATH records the arguments
//! git gave it and runs the remote half (`git-upload-pack` /
//! `git-receive-pack`) locally, so fetch and push really travel over git's
//! SSH transport. HTTP: a smart-HTTP server on 127.0.0.1 that demands a
//! token (Basic auth) in front of `git http-backend`; the token comes from
//! `HOIST_GIT_TOKEN` through hoist's credential helper, to that host only:
//! a remote that redirects elsewhere gets no token sent there. Also how
//! often the remote is asked for its default branch (`GIT_TRACE`).

mod support;

#[path = "discord/e2e.rs"]
mod discord_e2e;
#[path = "discord/fake.rs"]
mod discord_fake;
#[path = "discord/gateway.rs"]
mod discord_gateway;
#[path = "discord/interactions.rs"]
mod discord_interactions;
#[path = "discord/removals.rs"]
mod discord_removals;
#[path = "discord/threads.rs"]
mod discord_threads;
#[path = "discord/votes.rs"]
mod discord_votes;
#[path = "forge/e2e.rs"]
mod forge_e2e;
#[path = "forge/e2e_app.rs"]
mod forge_e2e_app;
#[path = "forge/e2e_crash.rs"]
mod forge_e2e_crash;
#[path = "forge/e2e_webhook.rs"]
mod forge_e2e_webhook;
#[path = "forge/github.rs"]
mod forge_github;
#[path = "forge/github_limits.rs"]
mod forge_github_limits;

use std::process::Command;
use support::http_git::{HttpGit, Redirect};
use support::{BIN, World, git};

fn exec_at(w: &World, url: &str, env: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let out = Command::new(BIN)
        .args(["exec", "--repo", url, "--data-dir"])
        .arg(&w.data)
        .args([
            "--as",
            "console:alice",
            "--json",
            "--",
            "deploy",
            "api",
            "v1.2.4",
            "to",
            "staging",
        ])
        .env("HOME", w.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOIST_SIGNING_KEY", &w.key)
        .env_remove("HOIST_GIT_TOKEN")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let reply = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), reply)
}

#[test]
fn an_http_remote_is_reached_with_the_token_from_the_environment() {
    let w = World::new();
    let server = HttpGit::start(w.dir.path(), "x-access-token", "tok-123");
    let url = format!("{}/origin.git", server.url);
    let before = w.tip();

    let (code, reply) = exec_at(&w, &url, &[]);
    assert_eq!(code, 2, "without a token the server says no: {reply}");
    let (code, reply) = exec_at(&w, &url, &[("HOIST_GIT_TOKEN", "wrong")]);
    assert_eq!(code, 2, "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("Authentication failed"),
        "{reply}"
    );
    assert_eq!(w.tip(), before, "nothing was written");

    let (code, reply) = exec_at(&w, &url, &[("HOIST_GIT_TOKEN", "tok-123")]);
    assert_eq!(code, 0, "{reply}");
    assert_eq!(reply["state"], "pushed", "{reply}");
    assert!(
        w.show("main", "apps/api/overlays/staging/kustomization.yaml")
            .contains("newTag: v1.2.4")
    );
    assert!(w.verify("main", &w.allowed_signers).status.success());
    let offered = server.offered.lock().unwrap().clone();
    assert!(offered.iter().all(|u| u == "x-access-token"), "{offered:?}");
}

#[test]
fn an_ssh_remote_is_reached_with_the_configured_key_and_known_hosts() {
    let w = World::new();
    let bin = w.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = w.dir.path().join("ssh-args");
    let fake = bin.join("ssh");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\nfor last; do :; done\nexec sh -c \"$last\"\n",
            log.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let key = w.dir.path().join("deploy key");
    std::fs::write(&key, "not used by the stand-in").unwrap();
    let known = w.dir.path().join("known_hosts");
    std::fs::write(&known, "").unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let url = format!("ssh://git.example.com{}", w.origin.display());
    let (key_s, known_s) = (key.to_str().unwrap(), known.to_str().unwrap());
    let (_, reply) = exec_at(
        &w,
        &url,
        &[
            ("PATH", path.as_str()),
            ("HOIST_GIT_SSH_KEY", key_s),
            ("HOIST_GIT_KNOWN_HOSTS", known_s),
        ],
    );
    assert_eq!(reply["state"], "pushed", "{reply}");
    assert!(
        w.show("main", "apps/api/overlays/staging/kustomization.yaml")
            .contains("newTag: v1.2.4")
    );
    let args = std::fs::read_to_string(&log).unwrap();
    for expected in [
        "BatchMode=yes".to_string(),
        key.display().to_string(),
        format!("UserKnownHostsFile={}", known.display()),
        "StrictHostKeyChecking=yes".to_string(),
        "git.example.com".to_string(),
    ] {
        assert!(
            args.lines().any(|l| l.contains(&expected)),
            "ssh was not given {expected}: {args}"
        );
    }
    assert!(
        args.contains("git-receive-pack"),
        "the push went over ssh too: {args}"
    );
}

#[test]
fn a_redirect_to_another_host_never_carries_the_token_there() {
    let w = World::new();
    // The other host would take the token (and the push) if it got it.
    let other = HttpGit::start(w.dir.path(), "x-access-token", "tok-123");
    let moved = Redirect::start(&other.url);
    let url = format!("{}/origin.git", moved.url);
    let before = w.tip();

    let (code, reply) = exec_at(&w, &url, &[("HOIST_GIT_TOKEN", "tok-123")]);
    assert_eq!(code, 2, "{reply}");
    let offered = other.offered.lock().unwrap().clone();
    assert!(
        offered.is_empty(),
        "the token went to the other host: {offered:?}"
    );
    assert!(moved.authorizations.lock().unwrap().is_empty());
    assert_eq!(w.tip(), before, "nothing was written");
}

/// How many times git ran `ls-remote` according to the trace at `path`.
fn ls_remotes(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("git ls-remote"))
        .count()
}

#[test]
fn the_default_branch_is_asked_once_and_again_after_the_remote_renames_it() {
    let w = World::new();
    let trace = w.dir.path().join("git-trace");
    let key = w.key.to_str().unwrap().to_string();
    let env = [
        ("GIT_TRACE", trace.to_str().unwrap()),
        ("HOIST_SIGNING_KEY", &key),
    ];
    let exec = |cmd: &str| w.exec_env("console:alice", cmd, &[], &env);

    let (code, reply) = exec("status");
    assert_eq!(code, 0, "{reply}");
    assert_eq!(ls_remotes(&trace), 1, "the first call asks");
    let (code, reply) = exec("deploy api v1.2.4 to staging");
    assert_eq!((code, &reply["state"]), (0, &"pushed".into()), "{reply}");
    assert_eq!(ls_remotes(&trace), 1, "the second call remembers");

    // The remote renames main to trunk, and the policy follows.
    let policy = w
        .show("main", "hoist.yaml")
        .replace("branch: main", "branch: trunk");
    w.commit_file("hoist.yaml", &policy, "main is now trunk");
    git(&w.origin, &["branch", "-m", "main", "trunk"]);

    let (code, reply) = exec("deploy api v1.2.5 to staging");
    assert_eq!(code, 2, "the old branch is gone: {reply}");
    assert!(
        reply["message"].as_str().unwrap().contains("now `trunk`"),
        "{reply}"
    );
    let (code, reply) = exec("deploy api v1.2.5 to staging");
    assert_eq!((code, &reply["state"]), (0, &"pushed".into()), "{reply}");
    assert!(
        w.show("trunk", "apps/api/overlays/staging/kustomization.yaml")
            .contains("newTag: v1.2.5")
    );
    assert_eq!(ls_remotes(&trace), 2, "asked again once, after the failure");
}
