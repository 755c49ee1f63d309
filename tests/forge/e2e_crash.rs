//! A crash at the two moments a GitHub side effect is done but not yet in
//! the journal (`HOIST_TEST_KILL_AT`, SIGKILL at the kill point): between
//! opening the PR and recording it, and between merging it and recording
//! the merge. After a restart there is one PR and one merge on GitHub.

use super::forge_e2e::{exec, github_env, github_world, wait_for};
use crate::support::github::FakeGitHub;
use crate::support::{BIN, World, serve_command};
use hoist::engine::State;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Run `cmd` until it says `hoist: kill point N (LABEL)`, SIGKILL it there
/// and return LABEL; `None` when it ended (or sat idle for 60 s) without
/// reaching it.
fn run_to_kill_point(mut cmd: Command, n: usize) -> Option<String> {
    cmd.env("HOIST_TEST_KILL_AT", n.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("hoist starts");
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let prefix = format!("hoist: kill point {n} ");
    let label = loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                if let Some(label) = line.strip_prefix(&prefix) {
                    break Some(label.trim_matches(|c| c == '(' || c == ')').to_string());
                }
            }
            Err(_) => break None,
        }
    };
    let _ = child.kill(); // SIGKILL on Unix
    child.wait().expect("reaped");
    label
}

fn exec_command(w: &World, fake: &FakeGitHub, actor: &str, command: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["exec", "--repo", w.origin.to_str().unwrap()])
        .args([
            "--data-dir",
            w.data.to_str().unwrap(),
            "--as",
            actor,
            "--json",
            "--",
        ])
        .args(command.split_whitespace())
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", w.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1");
    crate::support::no_github(&mut cmd);
    cmd.envs(github_env(w, fake));
    cmd
}

fn journal(w: &World) -> Vec<hoist::engine::Operation> {
    use hoist::engine::ports::Journal;
    let store = hoist::store::Store::open(&w.data).expect("the journal opens after the kill");
    store.list().expect("the journal reads")
}

/// Successful calls `method` to paths ending in `suffix`.
fn answered(fake: &FakeGitHub, method: &str, suffix: &str, status: u16) -> usize {
    fake.calls()
        .iter()
        .filter(|c| c.method == method && c.path.ends_with(suffix) && c.status == status)
        .count()
}

#[test]
fn killed_between_opening_the_pr_and_recording_it_the_next_run_has_one_pr() {
    const AT: &str = "pr opened, not yet recorded";
    let mut found = None;
    for n in 1..30 {
        let (w, fake) = github_world();
        let cmd = exec_command(&w, &fake, "console:alice", "deploy api v1.2.4 to prod");
        match run_to_kill_point(cmd, n) {
            Some(label) if label == AT => {
                found = Some((w, fake));
                break;
            }
            Some(_) => continue,
            None => panic!("the deploy ended before `{AT}`"),
        }
    }
    let (w, fake) = found.unwrap_or_else(|| panic!("no kill point `{AT}`"));
    assert_eq!(answered(&fake, "POST", "/pulls", 201), 1, "opened once");
    // The bot resumes the operation: it finds the PR it opened, records it
    // and from then on looks at it.
    let mut serve = serve_command(&w, w.origin.to_str().unwrap());
    serve.envs(github_env(&w, &fake)).stderr(Stdio::null());
    let bot = crate::support::Bot::start(serve);
    wait_for("a look at the recorded PR", || {
        (answered(&fake, "GET", "/pulls/1", 200) > 0).then_some(())
    });
    drop(bot);
    assert_eq!(answered(&fake, "POST", "/pulls", 201), 1, "still one PR");
    let ops = journal(&w);
    let op = ops.iter().find(|o| o.id == 1).expect("operation 1");
    assert_eq!(op.state.name(), "pr-opened", "{op:?}");
    let pr = op.pr.as_ref().expect("the PR is recorded");
    assert_eq!(pr.number, 1);
    assert!(fake.pr(1).open);
}

#[test]
fn killed_between_merging_and_recording_it_the_next_run_merges_once() {
    const AT: &str = "merged, not yet recorded";
    let (w, fake) = github_world();
    let (code, opened) = exec(&w, &fake, "console:alice", "deploy api v1.2.4 to prod");
    assert_eq!(code, 0, "{opened}");
    let (code, one) = exec(&w, &fake, "console:carol", "approve 1");
    assert_eq!(code, 0, "{one}");
    // Each run stops at its first kill point after the last one's journal
    // write, so the operation moves one step a run until the merge.
    let mut label = None;
    for _ in 0..30 {
        let cmd = exec_command(&w, &fake, "console:dave", "approve 1");
        let said = run_to_kill_point(cmd, 1);
        if said.as_deref() == Some(AT) {
            label = said;
            break;
        }
        // The vote is in; the merge is the runner's: carry on as the bot.
        let mut serve = serve_command(&w, w.origin.to_str().unwrap());
        serve.envs(github_env(&w, &fake));
        if run_to_kill_point(serve, 1).as_deref() == Some(AT) {
            label = Some(AT.to_string());
            break;
        }
    }
    assert_eq!(label.as_deref(), Some(AT));
    assert_eq!(
        answered(&fake, "PUT", "/pulls/1/merge", 200),
        1,
        "merged once"
    );
    let merge = fake.pr(1).merged_sha.expect("merged");
    // Restarted: the merge is found and recorded, never asked for again.
    let mut serve = serve_command(&w, w.origin.to_str().unwrap());
    serve.envs(github_env(&w, &fake)).stderr(Stdio::null());
    let bot = crate::support::Bot::start(serve);
    wait_for("the branch deleted after the merge", || {
        (answered(&fake, "DELETE", "/git/refs/heads/hoist/1", 204) > 0).then_some(())
    });
    drop(bot);
    assert_eq!(
        answered(&fake, "PUT", "/pulls/1/merge", 200),
        1,
        "still one merge"
    );
    assert_eq!(w.tip(), merge);
    let ops = journal(&w);
    let op = ops.iter().find(|o| o.id == 1).expect("operation 1");
    assert!(
        matches!(&op.state, State::Merged { sha } if *sha == merge),
        "{op:?}"
    );
    let recorded = op.pr.as_ref().and_then(|p| p.merged.clone());
    assert_eq!(recorded.as_deref(), Some(merge.as_str()), "{op:?}");
}
