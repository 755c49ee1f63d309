//! `hoist serve` starting and stopping: with nothing configured it says what
//! is off, answers its probes and serves metrics `promtool` accepts; SIGTERM
//! lets a push in flight land while `/readyz` and Slack answer 503, then
//! exits 0; a second signal exits at once. Either way the journal carries on
//! at the next start: nothing lost, nothing committed twice. Operations come
//! in as signed slash commands (the fake Web API of `support::slack`
//! answers), and the journal is read with the library's own `Store`.

use crate::support::slack::{FakeSlack, encode, get, now, post, signed};
use crate::support::{Bot, World, git};
use hoist::engine::ports::Journal;
use hoist::engine::{Operation, State};
use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "lifecycle-signing-secret";
/// Longest any step may take on a loaded CI machine; far below "forever".
const WAIT: Duration = Duration::from_secs(20);

/// sre may deploy anywhere; prod needs one approval from sre.
const POLICY: &str = "\
groups:
  sre: [slack:USRE1, slack:USRE2]
environments:
  staging:
    deployers: [sre]
  prod:
    deployers: [sre]
    approvals: { count: 1, from: [sre] }
apps:
  api:
    targets:
      staging: { file: apps/api/overlays/staging/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
";

/// `hoist serve` on 127.0.0.1:0 for `repo`, stderr piped, `env` on top.
fn serve(w: &World, repo: &Path, env: &[(&str, &str)]) -> Bot {
    let mut cmd = crate::support::serve_command(w, repo.to_str().unwrap());
    cmd.envs(env.iter().copied()).stderr(Stdio::piped());
    Bot::start(cmd)
}

/// `hoist serve` with Slack over HTTP (the fake) and the world's key.
fn slack_bot(w: &World, fake: &FakeSlack, env: &[(&str, &str)]) -> Bot {
    let key = w.key.to_str().unwrap();
    let api = fake.api_url();
    let mut all = vec![
        ("SLACK_BOT_TOKEN", crate::support::slack::BOT_TOKEN),
        ("SLACK_SIGNING_SECRET", SECRET),
        ("SLACK_API_URL", api.as_str()),
        ("HOIST_SIGNING_KEY", key),
    ];
    all.extend_from_slice(env);
    let bot = serve(w, &w.origin, &all);
    wait_until("ready", || get(&bot.addr, "/readyz").0 == 200);
    bot
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Send `signal` to the bot.
fn kill(bot: &Bot, signal: &str) {
    let pid = bot.child.id().to_string();
    assert!(
        Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// Wait (within `WAIT`) for the bot to exit: its status and stderr.
fn exited(bot: &mut Bot) -> (ExitStatus, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = bot.child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < WAIT, "still running after the signal");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut pipe) = bot.child.stderr.take() {
        pipe.read_to_string(&mut err).unwrap();
    }
    (status, err)
}

/// A signed `/hoist TEXT` from `user`: the answer's status.
fn slash(bot: &Bot, user: &str, text: &str) -> u16 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let trigger = format!("1334.7384.{:08x}", NEXT.fetch_add(1, Ordering::Relaxed));
    let body = [
        ("team_id", "T0ACME"),
        ("channel_id", "C0DEPLOY"),
        ("user_id", user),
        ("command", "/hoist"),
        ("text", text),
        (
            "response_url",
            "https://hooks.slack.com/commands/T0ACME/1/abc",
        ),
        ("trigger_id", trigger.as_str()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", encode(v)))
    .collect::<Vec<_>>()
    .join("&");
    let headers = signed(SECRET, now(), &body, "application/x-www-form-urlencoded");
    post(&bot.addr, "/slack/commands", &headers, &body).0
}

/// Every operation in the world's journal (the bot must have stopped).
fn journal(w: &World) -> Vec<Operation> {
    hoist::store::Store::open(&w.data).unwrap().list().unwrap()
}

/// Subjects of hoist's commits on origin's main, newest first.
fn deploys(w: &World) -> Vec<String> {
    git(&w.origin, &["log", "--format=%s", "main"])
        .lines()
        .filter(|l| l.starts_with("deploy "))
        .map(str::to_string)
        .collect()
}

/// A pre-receive hook on origin that says it was reached (`entered`) and
/// holds the push until the test creates `open`: a push in flight.
fn gate(w: &World) -> (std::path::PathBuf, std::path::PathBuf) {
    let (entered, open) = (w.dir.path().join("entered"), w.dir.path().join("open"));
    let hook = w.origin.join("hooks/pre-receive");
    let script = format!(
        "#!/bin/sh\ncat >/dev/null\ntouch '{}'\nwhile [ ! -e '{}' ]; do sleep 0.02; done\n",
        entered.display(),
        open.display()
    );
    std::fs::write(&hook, script).unwrap();
    let chmod = Command::new("chmod").arg("+x").arg(&hook).status().unwrap();
    assert!(chmod.success());
    (entered, open)
}

/// Check `text` with `promtool check metrics` when it is installed; in CI
/// (`CI=true`) it must be.
fn promtool_accepts(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("promtool is needed in CI (Debian package `prometheus`): {e}")
        }
        Err(e) => {
            eprintln!("promtool not run ({e}); install the Debian package `prometheus`");
            return;
        }
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_with_nothing_configured_says_what_is_off_and_answers_probes_and_metrics() {
    let w = World::new();
    // A repo that is not there: up and healthy, never ready.
    let mut lost = serve(&w, &w.dir.path().join("nowhere.git"), &[]);
    assert_eq!(get(&lost.addr, "/healthz"), (200, "ok\n".into()));
    assert_eq!(get(&lost.addr, "/readyz").0, 503);
    assert_eq!(get(&lost.addr, "/metrics").0, 200);
    // The failure is counted by its kind.
    wait_until("the failed fetch to be counted", || {
        get(&lost.addr, "/metrics")
            .1
            .contains("hoist_errors_total{kind=\"repo_git\"} ")
    });
    kill(&lost, "-TERM");
    let (status, _) = exited(&mut lost);
    assert!(status.success(), "{status:?}");

    let mut bot = serve(&w, &w.origin, &[]);
    wait_until("ready", || get(&bot.addr, "/readyz").0 == 200);
    let (status, metrics) = get(&bot.addr, "/metrics");
    assert_eq!(status, 200);
    let info = format!(
        "hoist_build_info{{version=\"{}\",",
        env!("CARGO_PKG_VERSION")
    );
    for needle in [
        info.as_str(),
        "hoist_ready 1\n",
        "hoist_rollouts_in_flight 0\n",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
    promtool_accepts(&metrics);
    kill(&bot, "-TERM");
    let (status, err) = exited(&mut bot);
    assert!(status.success(), "{status:?}\n{err}");
    for said in [
        "off: Slack: SLACK_BOT_TOKEN is not set",
        "off: cluster: KUBECONFIG is not set",
        "off: signing: HOIST_SIGNING_KEY is not set",
        "on:  journal ",
        "off: GitHub: GITHUB_TOKEN (or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID) is not set",
        "off: Discord: DISCORD_TOKEN is not set",
        "journal closed",
    ] {
        assert!(err.contains(said), "{said:?} missing from\n{err}");
    }
    assert!(!err.contains("not built yet"), "{err}");
}

#[test]
fn sigterm_lets_a_push_in_flight_land_and_the_next_start_carries_on_once() {
    let w = World::new();
    w.commit_file("hoist.yaml", POLICY, "policy with Slack people");
    let (entered, open) = gate(&w);
    let fake = FakeSlack::start();
    let mut bot = slack_bot(&w, &fake, &[]);
    // One operation waits for an approval, one is being pushed.
    assert_eq!(slash(&bot, "USRE1", "deploy api v1.2.4 to prod"), 200);
    fake.wait_for("chat.postMessage", "Approval needed", WAIT);
    assert_eq!(slash(&bot, "USRE1", "deploy api v1.2.4 to staging"), 200);
    wait_until("the push to reach origin", || entered.exists());

    kill(&bot, "-TERM");
    wait_until("/readyz to say 503", || get(&bot.addr, "/readyz").0 == 503);
    assert_eq!(get(&bot.addr, "/healthz").0, 200, "alive while draining");
    assert_eq!(slash(&bot, "USRE2", "approve 1"), 503, "no new work");
    assert!(
        bot.child.try_wait().unwrap().is_none(),
        "waits for the push"
    );
    std::fs::write(&open, "").unwrap();
    let (status, err) = exited(&mut bot);
    assert!(status.success(), "{status:?}\n{err}");
    assert_eq!(deploys(&w), ["deploy api v1.2.4 to staging"]);
    let ops = journal(&w);
    assert!(
        matches!(ops[0].state, State::AwaitingApproval { .. }),
        "{ops:?}"
    );
    assert!(matches!(ops[1].state, State::Pushed { .. }), "{ops:?}");

    // The next start: the waiting request is still there to approve, and
    // the push is not made again.
    let bot = slack_bot(&w, &fake, &[]);
    assert_eq!(slash(&bot, "USRE2", "approve 1"), 200);
    // Journaled as pushed (just after the push reaches origin), so counted.
    let pushed = "hoist_operations_total{verb=\"deploy\",env=\"prod\",state=\"pushed\"} 1\n";
    wait_until("the prod push to be counted", || {
        get(&bot.addr, "/metrics").1.contains(pushed)
    });
    let (_, metrics) = get(&bot.addr, "/metrics");
    assert!(metrics.contains("hoist_approval_wait_seconds_count{env=\"prod\"} 1\n"));
    promtool_accepts(&metrics);
    drop(bot);
    assert_eq!(
        deploys(&w),
        ["deploy api v1.2.4 to prod", "deploy api v1.2.4 to staging"]
    );
}

#[test]
fn a_second_signal_exits_at_once_and_the_next_start_commits_once() {
    let w = World::new();
    w.commit_file("hoist.yaml", POLICY, "policy with Slack people");
    let fake = FakeSlack::start();
    // Park the write right after `Committed` is journaled, before the push.
    let mut bot = slack_bot(&w, &fake, &[("HOIST_TEST_KILL_AT", "3")]);
    assert_eq!(slash(&bot, "USRE1", "deploy api v1.2.4 to staging"), 200);
    let err = stderr_of(&mut bot);
    let parked = || err.lock().unwrap().contains("kill point 3 (committed)");
    wait_until("the write to park after `committed`", parked);
    kill(&bot, "-TERM");
    wait_until("/readyz to say 503", || get(&bot.addr, "/readyz").0 == 503);
    let start = Instant::now();
    kill(&bot, "-TERM");
    let (status, _) = exited(&mut bot);
    assert_eq!(status.code(), Some(143), "{}", err.lock().unwrap());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(deploys(&w).is_empty(), "nothing pushed yet");
    assert!(matches!(journal(&w)[0].state, State::Committed { .. }));

    let bot = slack_bot(&w, &fake, &[]);
    wait_until("the resumed push", || deploys(&w).len() == 1);
    // The commit reaches origin a moment before Pushed is journaled.
    wait_until("the push recorded", || {
        get(&bot.addr, "/metrics")
            .1
            .contains(r#"verb="deploy",env="staging",state="pushed"} 1"#)
    });
    drop(bot);
    assert_eq!(deploys(&w), ["deploy api v1.2.4 to staging"]);
    assert!(matches!(journal(&w)[0].state, State::Pushed { .. }));
}

/// The bot's stderr as it comes, drained into a buffer by a thread.
fn stderr_of(bot: &mut Bot) -> Arc<Mutex<String>> {
    let seen = Arc::new(Mutex::new(String::new()));
    let mut pipe = bot.child.stderr.take().expect("stderr is piped");
    let sink = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            sink.lock().unwrap().push_str(&text);
        }
    });
    seen
}
