//! Concurrent writers on one branch, judged by the git CLI: N deploys to N
//! apps submitted at once while a foreign writer pushes an unrelated commit
//! every 50 ms. Every deploy lands as its own signed commit, every foreign
//! commit survives, history stays linear and `git fsck` is clean. A push the
//! remote's pre-receive hook rejects (branch protection) is reported with the
//! remote's words and not retried.

mod support;

use hoist::engine::{Backoff, Settings};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use support::git;
use support::harness::{Harness, WEDNESDAY};

fn policy(apps: usize) -> String {
    let mut s = String::from(
        "environments:\n  staging:\n    branch: main\n    via: push\n    deployers: [\"*\"]\n    approvals: 0\napps:\n",
    );
    for i in 0..apps {
        s.push_str(&format!(
            "  app{i:02}:\n    targets:\n      staging: {{ file: apps/app{i:02}/staging/kustomization.yaml, kustomize_image: ghcr.io/acme/app{i:02} }}\n"
        ));
    }
    s
}

fn kustomization(i: usize) -> String {
    format!(
        "# app{i:02} in staging\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\nimages:\n  - name: ghcr.io/acme/app{i:02}\n    newTag: v1.0.0 # bumped by hoist\n"
    )
}

fn quick() -> Settings {
    Settings {
        push: Backoff {
            attempts: 30,
            first: Duration::from_millis(20),
            factor: 1.5,
            cap: Duration::from_millis(200),
        },
        ..Settings::default()
    }
}

fn world(apps: usize) -> Harness {
    let h = Harness::with_settings(&policy(apps), WEDNESDAY, quick());
    let files: Vec<(String, String)> = (0..apps)
        .map(|i| {
            (
                format!("apps/app{i:02}/staging/kustomization.yaml"),
                kustomization(i),
            )
        })
        .collect();
    h.world.commit_files(&files, "apps");
    h
}

/// A human pushing unrelated commits every 50 ms from their own clone,
/// rebasing and retrying when hoist got there first. Returns the subjects
/// that reached the remote.
fn foreign_writer(origin: &Path, dir: &Path, stop: Arc<AtomicBool>) -> Vec<String> {
    git(dir, &["clone", "-q", origin.to_str().unwrap(), "foreign"]);
    let work = dir.join("foreign");
    let mut landed = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) || landed.len() < 3 {
        i += 1;
        let subject = format!("foreign change {i}");
        std::fs::write(work.join(format!("notes-{i}.txt")), &subject).unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-qm", &subject]);
        loop {
            let pushed = Command::new("git")
                .current_dir(&work)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", &work)
                .args(["push", "-q", "origin", "main"])
                .output()
                .unwrap();
            if pushed.status.success() {
                break;
            }
            git(&work, &["pull", "-q", "--rebase", "origin", "main"]);
        }
        landed.push(subject);
        std::thread::sleep(Duration::from_millis(50));
    }
    landed
}

#[test]
fn twenty_deploys_at_once_with_a_foreign_writer_all_land_and_lose_nothing() {
    const APPS: usize = 20;
    let h = Arc::new(world(APPS));
    let stop = Arc::new(AtomicBool::new(false));
    let foreign = {
        let (origin, dir, stop) = (
            h.world.origin.clone(),
            h.world.dir.path().to_path_buf(),
            stop.clone(),
        );
        std::thread::spawn(move || foreign_writer(&origin, &dir, stop))
    };
    std::thread::sleep(Duration::from_millis(120));
    let start = Arc::new(Barrier::new(APPS));
    let deploys: Vec<_> = (0..APPS)
        .map(|i| {
            let (h, start) = (h.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                h.say(
                    "console:alice",
                    None,
                    &format!("deploy app{i:02} v2.0.{i} to staging"),
                )
            })
        })
        .collect();
    let replies: Vec<_> = deploys.into_iter().map(|t| t.join().unwrap()).collect();
    stop.store(true, Ordering::SeqCst);
    let foreign = foreign.join().unwrap();

    for r in &replies {
        assert_eq!(r.state, "pushed", "{}", r.message);
    }
    let origin = &h.world.origin;
    for i in 0..APPS {
        let file = h.world.show(
            "main",
            &format!("apps/app{i:02}/staging/kustomization.yaml"),
        );
        assert_eq!(
            file,
            kustomization(i).replace("v1.0.0", &format!("v2.0.{i}")),
            "app{i:02}: only the tag changed"
        );
    }
    let subjects = git(origin, &["log", "--format=%s", "main"]);
    for s in &foreign {
        assert!(
            subjects.lines().any(|l| l == s),
            "lost foreign commit `{s}`"
        );
    }
    let ours: Vec<String> = git(
        origin,
        &["log", "--format=%H", "--grep=^Hoist-Operation:", "main"],
    )
    .lines()
    .map(str::to_string)
    .collect();
    assert_eq!(ours.len(), APPS, "one commit per deploy");
    for sha in &ours {
        let files = git(origin, &["show", "--format=", "--name-only", sha]);
        assert_eq!(files.lines().count(), 1, "{sha} touches one file");
        let verified = h.world.verify(sha, &h.world.allowed_signers);
        assert!(verified.status.success(), "{sha} is signed");
    }
    assert!(
        git(origin, &["log", "--merges", "--format=%H", "main"]).is_empty(),
        "history stays linear"
    );
    git(origin, &["fsck", "--strict", "--no-progress"]);
    assert!(foreign.len() >= 3, "the foreign writer was really writing");
}

#[test]
fn a_push_the_remote_hook_rejects_is_reported_and_not_retried() {
    let h = world(1);
    let hook = h.world.origin.join("hooks/pre-receive");
    let count = h.world.dir.path().join("hook-calls");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho call >> '{}'\necho 'GH006: Protected branch update failed for refs/heads/main.' >&2\nexit 1\n",
            count.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let before = h.world.tip();
    let reply = h.say("console:alice", None, "deploy app00 v2.0.0 to staging");
    assert_eq!(reply.state, "failed", "{}", reply.message);
    assert!(
        reply
            .message
            .contains("GH006: Protected branch update failed"),
        "{}",
        reply.message
    );
    assert_eq!(
        std::fs::read_to_string(&count).unwrap().lines().count(),
        1,
        "not retried"
    );
    assert_eq!(h.world.tip(), before);
}

/// hoist decides on the tip its mirror knows and lets the push's
/// compare-and-swap catch a moved branch; a refusal is never given on that
/// possibly stale view.
#[test]
fn a_refusal_on_the_known_tip_is_checked_again_on_a_fresh_one() {
    let only_bob = policy(1).replace("deployers: [\"*\"]", "deployers: [console:bob]");
    let h = world(1);
    h.world
        .commit_file("hoist.yaml", &only_bob, "only bob deploys");
    let reply = h.say("console:bob", None, "deploy app00 v2.0.0 to staging");
    assert_eq!(reply.state, "pushed", "{}", reply.message);
    // The mirror now knows a tip where alice may not deploy; then she is added.
    let both = policy(1).replace(
        "deployers: [\"*\"]",
        "deployers: [console:bob, console:alice]",
    );
    h.world
        .commit_file("hoist.yaml", &both, "alice deploys too");
    let reply = h.say("console:alice", None, "deploy app00 v2.0.1 to staging");
    assert_eq!(reply.state, "pushed", "{}", reply.message);
}

/// hoist.yaml changed between the decision (on the mirror's tip) and the
/// push: the request is decided again under the new rules, never bounced
/// for someone else's unrelated commit, and never written under rules
/// nobody checked.
#[test]
fn a_policy_change_between_decision_and_push_is_decided_again() {
    let h = world(1);
    let reply = h.say("console:alice", None, "deploy app00 v2.0.0 to staging");
    assert_eq!(reply.state, "pushed", "{}", reply.message);
    // A change that does not concern alice: hoist's mirror has not seen it.
    let changed = format!("{}# reviewed\n", policy(1));
    h.world.commit_file("hoist.yaml", &changed, "policy tweak");
    let reply = h.say("console:alice", None, "deploy app00 v2.0.1 to staging");
    assert_eq!(reply.state, "pushed", "{}", reply.message);
    // One that does: alice may no longer deploy there.
    let only_bob = policy(1).replace("deployers: [\"*\"]", "deployers: [console:bob]");
    h.world
        .commit_file("hoist.yaml", &only_bob, "only bob deploys");
    let moved = h.world.tip();
    let reply = h.say("console:alice", None, "deploy app00 v2.0.2 to staging");
    assert_eq!(reply.state, "refused", "{}", reply.message);
    assert!(
        reply.message.contains("hoist.yaml changed on main")
            && reply
                .message
                .contains("console:alice may not deploy to staging"),
        "{}",
        reply.message
    );
    assert_eq!(
        h.world.tip(),
        moved,
        "nothing written under rules nobody checked"
    );
}

/// Each push stores a small pack in the mirror; gix needs an index slot per
/// pack. Without combining them, the bench's mirror stopped finding objects
/// after a few dozen pushes ("Could not peel reference").
#[test]
fn many_pushes_keep_the_mirror_small_and_readable() {
    let h = world(1);
    for i in 0..45 {
        let reply = h.say(
            "console:alice",
            None,
            &format!("deploy app00 v3.0.{i} to staging"),
        );
        assert_eq!(reply.state, "pushed", "push {i}: {}", reply.message);
    }
    let mirrors = h.world.data.join("mirrors");
    let mirror = std::fs::read_dir(&mirrors)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let packs = std::fs::read_dir(mirror.join("objects/pack"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".idx")
        })
        .count();
    assert!(packs <= 33, "{packs} packs");
    git(&mirror, &["fsck", "--no-progress"]);
    let status = h.say("console:alice", None, "history app00 in staging --limit 3");
    assert!(status.message.contains("v3.0.44"), "{}", status.message);
}
