//! `hoist exec` against real bare repositories, judged by the git CLI.

mod support;

#[path = "envs/mod.rs"]
mod envs;
#[path = "policy/signers.rs"]
mod policy_signers;

use support::{World, git};

const API_STAGING: &str = "apps/api/overlays/staging/kustomization.yaml";

#[test]
fn deploy_leaves_exactly_one_signed_commit_changing_one_line() {
    let w = World::new();
    let before = w.tip();
    let (code, json) = w.exec("console:alice", "deploy api v1.2.4 to staging");
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["state"], "pushed", "{json}");
    let after = w.tip();
    assert_eq!(json["commit"], after.as_str());
    assert_eq!(
        git(
            &w.origin,
            &["rev-list", "--count", &format!("{before}..{after}")]
        )
        .trim(),
        "1"
    );
    assert_eq!(
        git(&w.origin, &["rev-parse", &format!("{after}^")]).trim(),
        before
    );

    let verified = w.verify(&after, &w.allowed_signers);
    assert!(
        verified.status.success(),
        "verify-commit: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(String::from_utf8_lossy(&verified.stderr).contains("Good \"git\" signature"));

    let stat = git(&w.origin, &["show", "--numstat", "--format=", &after]);
    assert_eq!(stat.trim(), format!("1\t1\t{API_STAGING}"));
    let (old, new) = (w.show(&before, API_STAGING), w.show(&after, API_STAGING));
    assert_eq!(
        old.replace(
            "newTag: v1.2.3   # managed by hoist",
            "newTag: v1.2.4   # managed by hoist"
        ),
        new,
        "only the tag's bytes change"
    );
    git(&w.origin, &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn commit_message_carries_subject_reason_and_trailers() {
    let w = World::new();
    let (code, json) = w.exec(
        "console:bob",
        "deploy api v1.2.4 to staging --reason fix the login loop --ticket OPS-7",
    );
    assert_eq!(code, 0, "{json}");
    let msg = git(&w.origin, &["log", "-1", "--format=%B", "main"]);
    let id = json["operation"].as_u64().unwrap();
    assert!(
        msg.starts_with("deploy api v1.2.4 to staging\n\nfix the login loop\n\n"),
        "{msg}"
    );
    for line in [
        format!("Hoist-Operation: {id}"),
        "Hoist-Requested-By: console:bob".into(),
        "Hoist-Chat: cli".into(),
        "Hoist-Ticket: OPS-7".into(),
    ] {
        assert!(msg.contains(&line), "missing {line} in {msg}");
    }
    let trailers = git(
        &w.origin,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Hoist-Requested-By,valueonly)",
            "main",
        ],
    );
    assert_eq!(
        trailers.trim(),
        "console:bob",
        "git itself parses the trailers"
    );
}

#[test]
fn a_key_outside_the_allowed_set_fails_verification() {
    let w = World::new();
    w.exec("console:alice", "deploy api v1.2.4 to staging");
    let other = hoist::gitops::sign::Signer::generate().unwrap();
    let wrong = w.dir.path().join("wrong_signers");
    std::fs::write(
        &wrong,
        format!("hoist@localhost {}\n", other.public_openssh().unwrap()),
    )
    .unwrap();
    assert!(
        !w.verify("main", &wrong).status.success(),
        "the judge must be able to say no"
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let w = World::new();
    let before = w.tip();
    for (command, expect) in [
        ("deploy api v1.2;rm to staging", "not a valid version"),
        ("deploy nope v1.2.4 to staging", "unknown app `nope`"),
        (
            "deploy api v1.2.4 to stagign",
            "unknown environment `stagign`",
        ),
        ("deploy ap v1.2.4 to staging", "did you mean `api`?"),
    ] {
        let (code, json) = w.exec("console:alice", command);
        assert_eq!(code, 1, "{command}: {json}");
        assert_eq!(json["state"], "refused");
        assert!(
            json["message"].as_str().unwrap().contains(expect),
            "{command}: {json}"
        );
        assert!(json["commit"].is_null());
    }
    assert_eq!(w.tip(), before, "the remote is unchanged");
}

#[test]
fn people_outside_the_deployers_are_refused() {
    let w = World::new();
    let before = w.tip();
    let (code, json) = w.exec("console:mallory", "deploy api v1.2.4 to staging");
    assert_eq!(code, 1, "{json}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("may not deploy to staging"),
        "{json}"
    );
    assert_eq!(w.tip(), before);
    let (code, json) = w.exec("console:mallory", "deploy api v1.2.4 to dev");
    assert_eq!(code, 0, "anyone may deploy to dev: {json}");
}

#[test]
fn exec_speaks_as_a_chat_user_only_when_the_caller_vouches_for_it() {
    let w = World::new();
    let before = w.tip();
    let (code, json) = w.exec("slack:U0SRE1", "deploy api v1.2.4 to staging");
    assert_eq!(code, 1, "{json}");
    let message = json["message"].as_str().unwrap();
    assert!(message.contains("--trusted"), "{json}");
    assert_eq!(w.tip(), before, "nothing written");
    let (code, json) = w.exec("console:alice\nHoist-Approved-By", "status");
    assert_eq!(code, 1, "{json}");
    let (code, json) = w.exec_with(
        "slack:U0SRE1",
        "deploy api v1.2.4 to staging",
        &["--trusted"],
        true,
    );
    assert_eq!(code, 0, "{json}");
    assert_eq!(w.tip_trailers("Hoist-Requested-By"), ["slack:U0SRE1"]);
}

#[test]
fn rollback_writes_a_forward_commit_restoring_the_previous_value() {
    let w = World::new();
    w.exec("console:alice", "deploy api v1.2.4 to staging");
    let deployed = w.tip();
    let (code, json) = w.exec("console:alice", "rollback api in staging");
    assert_eq!(code, 0, "{json}");
    let rolled = w.tip();
    assert_eq!(
        git(&w.origin, &["rev-parse", &format!("{rolled}^")]).trim(),
        deployed,
        "a new commit on top"
    );
    assert!(
        w.show(&rolled, API_STAGING)
            .contains("newTag: v1.2.3   # managed by hoist")
    );
    assert_eq!(
        git(&w.origin, &["log", "-1", "--format=%s", "main"]).trim(),
        "rollback api in staging to v1.2.3"
    );
    assert!(w.verify(&rolled, &w.allowed_signers).status.success());
}

#[test]
fn rollback_skips_commits_that_did_not_change_the_value() {
    let w = World::new();
    w.exec("console:alice", "deploy api v1.2.4 to staging");
    let text = w.show("main", API_STAGING).replace("count: 2", "count: 3");
    w.commit_file(API_STAGING, &text, "scale api in staging");
    let (code, json) = w.exec("console:alice", "rollback api in staging");
    assert_eq!(code, 0, "{json}");
    let now = w.show("main", API_STAGING);
    assert!(
        now.contains("newTag: v1.2.3") && now.contains("count: 3"),
        "{now}"
    );
}

#[test]
fn dry_run_shows_the_diff_and_writes_nothing() {
    let w = World::new();
    let before = w.tip();
    let (code, json) = w.exec("console:alice", "deploy worker 2.9.0 to staging --dry-run");
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["state"], "dry-run");
    let msg = json["message"].as_str().unwrap();
    assert!(
        msg.contains("- tag: 2.8.0") && msg.contains("+ tag: 2.9.0"),
        "{msg}"
    );
    assert_eq!(w.tip(), before);
}

#[test]
fn without_a_key_hoist_refuses_to_write_unsigned_commits() {
    let w = World::new();
    let before = w.tip();
    let (code, json) = w.exec_with("console:alice", "deploy api v1.2.4 to staging", &[], false);
    assert_eq!(code, 1, "{json}");
    assert!(
        json["message"].as_str().unwrap().contains("signing"),
        "{json}"
    );
    assert_eq!(w.tip(), before);
}

#[test]
fn a_foreign_commit_in_between_is_kept_and_built_upon() {
    let w = World::new();
    w.exec("console:alice", "deploy api v1.2.4 to staging");
    let values = "apps/worker/staging/values.yaml";
    let text = w
        .show("main", values)
        .replace("replicaCount: 3", "replicaCount: 5");
    w.commit_file(values, &text, "more workers");
    let human = w.tip();
    let (code, json) = w.exec("console:alice", "deploy api v1.2.5 to staging");
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        git(&w.origin, &["rev-parse", "main^"]).trim(),
        human,
        "built on the human's commit"
    );
    assert!(w.show("main", values).contains("replicaCount: 5"));
}

#[test]
fn deploying_the_version_already_there_writes_nothing() {
    let w = World::new();
    let before = w.tip();
    let (code, json) = w.exec("console:alice", "deploy api v1.2.3 to staging");
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["state"], "done");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("already at v1.2.3"),
        "{json}"
    );
    assert_eq!(w.tip(), before);
}

#[test]
fn several_apps_become_one_commit() {
    let w = World::new();
    let before = w.tip();
    let (code, json) = w.exec("console:alice", "deploy api,worker 2.9.0 to staging");
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        git(
            &w.origin,
            &["rev-list", "--count", &format!("{before}..main")]
        )
        .trim(),
        "1"
    );
    let files = git(&w.origin, &["show", "--name-only", "--format=", "main"]);
    assert_eq!(files.lines().count(), 2, "{files}");
}

#[test]
fn a_lock_taken_in_one_process_holds_in_the_next() {
    let w = World::new();
    let (code, out) = w.exec("console:bob", "lock staging for 1h release train");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["state"], "done");
    let (code, out) = w.exec("console:alice", "deploy api v1.2.4 to staging");
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["state"], "refused");
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains("locked by console:bob") && message.contains("release train"),
        "{message}"
    );
    let (code, _) = w.exec("console:alice", "unlock staging");
    assert_eq!(code, 0);
    let (code, out) = w.exec("console:alice", "deploy api v1.2.4 to staging");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["state"], "pushed");
}
