//! Credentials on the wire. SSH: the mirror talks to an `ssh://` remote
//! through `GIT_SSH_COMMAND` built from `HOIST_GIT_SSH_KEY` and
//! `HOIST_GIT_KNOWN_HOSTS`; an `ssh` stand-in on PATH records the arguments
//! git gave it and runs the remote half (`git-upload-pack` /
//! `git-receive-pack`) locally, so fetch and push really travel over git's
//! SSH transport. HTTP: a smart-HTTP server on 127.0.0.1 that demands a
//! token (Basic auth) in front of `git http-backend`; the token comes from
//! `HOIST_GIT_TOKEN` through hoist's credential helper.

mod support;

use std::process::Command;
use support::http_git::HttpGit;
use support::{BIN, World};

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
