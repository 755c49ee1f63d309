//! The crash test: a prod deploy that needs two approvals, run as three
//! `hoist exec` processes (request, approve, approve). For every checkpoint
//! the engine passes (`HOIST_TEST_KILL_AT=N` parks the process there), the
//! process is killed with SIGKILL, restarted (which resumes unfinished
//! operations), and the flow is finished the way a person would (retrying a
//! request whose answer never came). Every run must end with exactly one
//! signed commit on the remote and a journal that agrees with it.

mod support;

use hoist::engine::State;
use hoist::engine::ports::Journal;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::{BIN, World, git};

const POLICY: &str = "\
groups:
  sre: [console:carol, console:dave]
  devs: [console:alice]
environments:
  prod:
    deployers: [devs, sre]
    approvals: { count: 2, from: [sre] }
apps:
  api:
    targets:
      prod: { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
";

const STEPS: [(&str, &str); 3] = [
    ("console:alice", "deploy api v1.2.4 to prod"),
    ("console:carol", "approve 1"),
    ("console:dave", "approve 1"),
];

fn exec(world: &World, actor: &str, command: &str, kill_at: Option<usize>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["exec", "--repo", world.origin.to_str().unwrap()])
        .args([
            "--data-dir",
            world.data.to_str().unwrap(),
            "--as",
            actor,
            "--json",
            "--",
        ])
        .args(command.split_whitespace())
        .env("HOIST_SIGNING_KEY", &world.key)
        .env("HOME", world.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("HOIST_TEST_KILL_AT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(n) = kill_at {
        cmd.env("HOIST_TEST_KILL_AT", n.to_string());
    }
    cmd
}

/// Run a step to its end.
fn run(world: &World, (actor, command): (&str, &str)) {
    let out = exec(world, actor, command, None)
        .output()
        .expect("hoist runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run a step that parks at kill point `n`; SIGKILL it there. Returns the
/// kill point's label, or `None` when the step finished before reaching `n`.
fn run_and_kill(world: &World, (actor, command): (&str, &str), n: usize) -> Option<String> {
    let mut child = exec(world, actor, command, Some(n))
        .spawn()
        .expect("hoist starts");
    let stderr = child.stderr.take().expect("piped");
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("stderr is text");
        if let Some(label) = line.strip_prefix(&format!("hoist: kill point {n} ")) {
            child.kill().expect("SIGKILL delivered"); // std's kill is SIGKILL on Unix
            child.wait().expect("reaped");
            return Some(label.to_string());
        }
    }
    child.wait().expect("exits");
    None
}

fn ops(world: &World) -> Vec<hoist::engine::Operation> {
    let store = hoist::store::Store::open(&world.data).expect("journal opens after the kill");
    store.list().expect("journal reads")
}

/// Exactly one hoist commit on origin, and a journal that agrees with it.
fn assert_consistent(world: &World, case: &str) {
    let commits = git(
        &world.origin,
        &["log", "--format=%H", "--grep=^Hoist-Operation: 1$", "main"],
    );
    let commits: Vec<&str> = commits.lines().collect();
    assert_eq!(
        commits.len(),
        1,
        "{case}: exactly one commit for operation 1"
    );
    assert_eq!(commits[0], world.tip(), "{case}");
    let trailers = git(
        &world.origin,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Hoist-Approved-By,valueonly)",
            "main",
        ],
    );
    assert_eq!(
        trailers.split_whitespace().collect::<Vec<_>>(),
        ["console:carol", "console:dave"],
        "{case}"
    );
    assert!(
        world
            .verify("main", &world.allowed_signers)
            .status
            .success(),
        "{case}: signed"
    );
    git(&world.origin, &["fsck", "--strict"]);
    let ops = ops(world);
    assert_eq!(ops.len(), 1, "{case}: one operation, no duplicate: {ops:?}");
    let op = &ops[0];
    assert_eq!(
        op.state,
        State::Pushed {
            sha: commits[0].to_string()
        },
        "{case}"
    );
    assert_eq!(op.commit.as_deref(), Some(commits[0]), "{case}");
    assert_eq!(op.approvers, ["console:carol", "console:dave"], "{case}");
    let pushed = op.transitions.iter().filter(|(_, l)| l == "pushed").count();
    assert_eq!(
        pushed, 1,
        "{case}: pushed recorded once: {:?}",
        op.transitions
    );
}

#[test]
fn every_kill_point_ends_with_exactly_one_commit_and_a_consistent_journal() {
    let mut covered = Vec::new();
    for (i, step) in STEPS.iter().enumerate() {
        for n in 1.. {
            let world = World::new();
            world.commit_file("hoist.yaml", POLICY, "policy for the crash test");
            for earlier in &STEPS[..i] {
                run(&world, *earlier);
            }
            let Some(label) = run_and_kill(&world, *step, n) else {
                break;
            };
            let case = format!("{} `{}` killed at point {n} {label}", step.0, step.1);
            // Restart: any command resumes what the killed process left.
            run(&world, ("console:alice", "status"));
            // Finish as a person would: retry what got no answer, then go on.
            let retry = i > 0 || ops(&world).is_empty();
            for later in STEPS[i..].iter().skip(usize::from(!retry)) {
                run(&world, *later);
            }
            assert_consistent(&world, &case);
            covered.push(case);
        }
    }
    eprintln!(
        "kill points covered: {}\n  {}",
        covered.len(),
        covered.join("\n  ")
    );
    // deploy: requested, awaiting-approval; 1st approval: its vote; 2nd approval:
    // its vote, approved, commit written, committed, pushed (before it is recorded),
    // pushed (recorded).
    assert!(covered.len() >= 9, "{covered:#?}");
}

#[test]
fn a_resumed_quorum_is_judged_by_the_policy_as_it_is_now() {
    let world = World::new();
    world.commit_file("hoist.yaml", POLICY, "policy for the crash test");
    run(&world, STEPS[0]);
    run(&world, STEPS[1]);
    // dave's vote is journaled (quorum), then the process dies before writing.
    let label = run_and_kill(&world, STEPS[2], 1).expect("the vote reaches its kill point");
    assert!(label.contains("awaiting-approval"), "{label}");
    // Meanwhile carol leaves the SRE group.
    let tightened = POLICY.replace(
        "sre: [console:carol, console:dave]",
        "sre: [console:dave, console:erin]",
    );
    world.commit_file("hoist.yaml", &tightened, "carol moved teams");
    let before = world.tip();
    run(&world, ("console:alice", "status"));
    assert_eq!(world.tip(), before, "nothing written on resume");
    let ops = ops(&world);
    assert_eq!(
        ops[0].state,
        State::AwaitingApproval { needed: 2, have: 1 },
        "{:?}",
        ops[0].transitions
    );
    assert_eq!(ops[0].approvers, ["console:dave"]);
    run(&world, ("console:erin", "approve 1"));
    assert_eq!(
        git(
            &world.origin,
            &[
                "log",
                "-1",
                "--format=%(trailers:key=Hoist-Approved-By,valueonly)",
                "main"
            ]
        )
        .split_whitespace()
        .collect::<Vec<_>>(),
        ["console:dave", "console:erin"]
    );
}

/// staging needs nobody's approval; prod is not involved.
const STAGING: &str = "\
groups:
  devs: [console:alice, console:bob]
environments:
  staging:
    deployers: [devs]
apps:
  api:
    targets:
      staging: { file: apps/api/overlays/staging/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
";

/// An approved deploy parked before its commit, then `hoist.yaml` changes.
fn parked_then(world: &World, new_policy: &str) {
    world.commit_file("hoist.yaml", STAGING, "staging policy");
    let label = run_and_kill(world, ("console:alice", "deploy api v1.2.4 to staging"), 1)
        .expect("the deploy reaches its first kill point");
    assert!(label.contains("approved"), "{label}");
    world.commit_file("hoist.yaml", new_policy, "policy changed while it waited");
}

#[test]
fn a_freeze_added_while_an_approved_deploy_waited_holds_it_on_resume() {
    let world = World::new();
    let frozen = STAGING.replace(
        "    deployers: [devs]\n",
        "    deployers: [devs]\n    freeze: [\"2026-01-01 - 2036-01-01 UTC\"]\n",
    );
    parked_then(&world, &frozen);
    let before = world.tip();
    run(&world, ("console:bob", "status"));
    assert_eq!(world.tip(), before, "nothing written into the freeze");
    let ops = ops(&world);
    assert!(
        matches!(&ops[0].state, State::Denied { reason } if reason.contains("frozen")),
        "{:?}",
        ops[0].state
    );
}

#[test]
fn a_deploy_that_needs_approvals_after_a_restart_waits_with_an_expiry() {
    let world = World::new();
    let reviewed = STAGING.replace(
        "    deployers: [devs]\n",
        "    deployers: [devs]\n    approvals: { count: 1, expires: 2h }\n",
    );
    parked_then(&world, &reviewed);
    let before = world.tip();
    run(&world, ("console:bob", "status"));
    assert_eq!(world.tip(), before);
    let ops = ops(&world);
    assert_eq!(ops[0].state, State::AwaitingApproval { needed: 1, have: 0 });
    let waiting_since = ops[0].transitions.last().unwrap().0;
    assert_eq!(ops[0].expires_at, Some(waiting_since + 2 * 3600));
}
