//! Commands while 1,000 rollouts are in flight (issue 14, "Measure"): the
//! real `hoist serve` (release build, its own process) with Slack's HTTP
//! endpoints, a fake Slack Web API and a fake Kubernetes API server with the
//! Argo CD Application `api-staging` on loopback (the test support code).
//! Two phases in one run: a baseline with nothing in flight, then the same
//! with 1,000 pushed operations written into the journal before `serve`
//! starts, which it resumes and follows (the Application stays Progressing at
//! their commit, so none ever finishes; the staging timeout is 1 h). In each
//! phase 200 signed slash commands are sent one after another (20 real
//! deploys, 60 each of `help`, `status api in staging` and a dry-run deploy),
//! each from a user and in a channel of its own (hoist posts at most once a
//! second in a channel, as Slack asks: in one channel, a deploy's echo would
//! wait for the previous deploy's posts). Every one must be acked (200 within
//! 3 s, not "busy") and answered: command -> reply is from sending the POST
//! to the answer arriving at the fake Slack (its own timestamp): the
//! ephemeral reply to that user, for a real deploy the echo its thread hangs
//! from; a real deploy must then also show its live message in that thread,
//! pushed or reconciling (timed too: at least a second after the echo).
//! Also the serve child's thread count, RSS (`/proc/<pid>/status`) and CPU
//! time during the commands.
//!
//! `INFLIGHT_PERF=FILE` records the loaded phase's commands with
//! `perf record -g` into FILE.
//!
//! Run with `benches/inflight.sh`.

#[path = "../tests/support/mod.rs"]
mod support;

use hoist::engine::ports::Journal;
use hoist::engine::{Operation, State};
use serde_json::json;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::kube::FakeKube;
use support::objects::{application, argo_progressing};
use support::slack::{self, FakeSlack, now, post, signed, slash_form};
use support::{Bot, World, git};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const FORM: &str = "application/x-www-form-urlencoded";
const COMMANDS: usize = 200;
const IN_FLIGHT: usize = 1000;
/// Commands before the measured ones (first fetch, caches), not counted.
const WARM_UP: usize = 3;
/// Longest wait for one answer before the run fails.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// Slack people, `api` followed through Argo CD; staging's rollouts may take
/// an hour, so nothing in flight times out during the run.
const POLICY: &str = "\
groups:
  sre: [slack:USRE1, slack:USRE2]
  devs: [slack-group:S0DEVS]
environments:
  staging:
    deployers: [devs, sre]
    timeout: 1h
  prod:
    deployers: [devs, sre]
    approvals: { count: 2, from: [sre] }
    channels: [slack:C0DEPLOY]
apps:
  api:
    targets:
      staging: { file: apps/api/overlays/staging/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
    argocd: { namespace: argocd, application: \"api-{env}\" }
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Help,
    Status,
    DryRun,
    Deploy,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Help, Kind::Status, Kind::DryRun, Kind::Deploy];

    /// The `i`th command of a phase: every tenth a real deploy.
    fn of(i: usize) -> Kind {
        match i % 10 {
            0 => Kind::Deploy,
            1 | 4 | 7 => Kind::Help,
            2 | 5 | 8 => Kind::Status,
            _ => Kind::DryRun,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Help => "help",
            Kind::Status => "status",
            Kind::DryRun => "dry-run deploy",
            Kind::Deploy => "deploy",
        }
    }
}

/// One command of a phase: who sends it and what.
struct Command {
    kind: Kind,
    user: String,
    text: String,
    /// For a real deploy, what its echo in the channel says.
    echo: Option<String>,
}

fn command(phase: &str, i: usize, kind: Kind) -> Command {
    let user = format!("U{}{i:04}", phase.to_uppercase());
    let (text, echo) = match kind {
        Kind::Help => ("help".to_string(), None),
        Kind::Status => ("status api in staging".to_string(), None),
        Kind::DryRun => (format!("deploy api v2.{i}.0 to staging --dry-run"), None),
        Kind::Deploy => {
            let text = format!("deploy api v1.{i}.0 to staging");
            let echo = format!("<@{user}> asked: `{text}`");
            (text, Some(echo))
        }
    };
    Command {
        kind,
        user,
        text,
        echo,
    }
}

/// The `n`th slash command as Slack sends it, in a channel and with a
/// `trigger_id` of its own.
fn slash_body(user: &str, text: &str, n: usize) -> String {
    let channel = format!("C0BENCH{n:04}");
    slash_form(user, &channel, text, n as u64)
}

/// `Threads:`, `VmRSS:` and `VmHWM:` (kB) of a process.
fn proc_status(pid: u32) -> (u64, u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("Threads:"), field("VmRSS:"), field("VmHWM:"))
}

/// CPU time (user + system, clock ticks) a process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the command name: state is field 3, utime 14, stime 15.
    tick(11) + tick(12)
}

/// A gauge from hoist's `/metrics`.
fn gauge(addr: &str, name: &str) -> Option<f64> {
    let (_, text) = slack::get(addr, "/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Wait until the process has used under 30 ms of CPU in a second.
fn wait_idle(pid: u32, within: Duration) -> Duration {
    let start = Instant::now();
    let mut before = cpu_ticks(pid);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let after = cpu_ticks(pid);
        if after - before <= 3 {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "hoist still busy after {within:?}"
        );
        before = after;
    }
}

/// `n` deploys of api to staging, pushed at `tip` (as a real deploy journals
/// them), written straight into the journal under `data`. Read from JSON in
/// the journal's shape, so a field added with a default needs no change here.
fn journal_in_flight(data: &std::path::Path, origin: &std::path::Path, tip: &str, n: usize) {
    let base = git(origin, &["rev-parse", "main~1"]).trim().to_string();
    let store = hoist::store::Store::open(data).expect("the journal opens");
    let at = now();
    for i in 0..n {
        let version = format!("v3.{i}.0");
        let record = json!({
            "id": 0, "verb": "deploy", "summary": format!("deploy api {version} to staging"),
            "actor": "slack:USRE1", "channel": null, "chat": "cli", "env": "staging",
            "reason": null, "ticket": null, "created_at": at, "state": State::Requested,
            "branch": "main", "base": base,
            "changes": [{"app": "api", "version": version,
                "file": "apps/api/overlays/staging/kustomization.yaml",
                "old_value": "v1.2.3", "new_value": version,
                "lines": [{"line": 9, "old": "    newTag: v1.2.3   # managed by hoist",
                    "new": format!("    newTag: {version}   # managed by hoist")}]}],
            "commit": tip, "needed": 0, "approvers": [], "expires_at": null,
            "break_glass": null, "transitions": [],
            "memberships": {"slack:USRE1": ["sre"]},
        });
        let mut op: Operation = serde_json::from_value(record).expect("an operation");
        let sha = tip.to_string();
        for state in [
            State::Requested,
            State::Approved,
            State::Committed { sha: sha.clone() },
            State::Pushed { sha },
        ] {
            op.enter(state, at);
        }
        store.create(&mut op).expect("journaled");
    }
}

/// When hoist answered `c` (the ephemeral reply; for a real deploy the
/// echo its thread hangs from) and when it said the work was done (the
/// same; for a real deploy its live message in that thread), from the calls
/// since the `from`th.
fn answer_of(fake: &FakeSlack, from: usize, c: &Command) -> (Instant, Instant) {
    let start = Instant::now();
    let mut root: Option<(String, Instant)> = None;
    loop {
        for call in fake.calls_since(from) {
            let text = call.args["text"].as_str().unwrap_or("");
            if call.method == "chat.postEphemeral" && call.args["user"] == c.user.as_str() {
                let expected = match c.kind {
                    Kind::Help => text.contains("rollback"),
                    Kind::Status => text.contains("VERSION"),
                    Kind::DryRun => text.contains("dry run"),
                    Kind::Deploy => false,
                };
                assert!(expected, "{:?} was answered {text:?}", c.text);
                return (call.at, call.at);
            }
            if call.method != "chat.postMessage" {
                continue;
            }
            match (&c.echo, &root) {
                (Some(echo), None) if text == echo => {
                    root = call.ts.clone().map(|ts| (ts, call.at));
                }
                (_, Some((ts, echoed))) if call.args["thread_ts"] == ts.as_str() => {
                    // Reports are coalesced (the newest wins): past pushed
                    // is reconciling.
                    let pushed = text.contains("pushed") || text.contains(": reconciling");
                    assert!(pushed, "{:?}: {text:?}", c.text);
                    return (*echoed, call.at);
                }
                _ => {}
            }
        }
        assert!(
            start.elapsed() < ANSWER_WITHIN,
            "{:?} not answered within {ANSWER_WITHIN:?}",
            c.text
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What one phase measured.
struct Figures {
    /// (kind, milliseconds to the answer), in the order sent.
    latencies: Vec<(Kind, f64)>,
    /// Real deploys: milliseconds to the live message saying it was pushed.
    pushed: Vec<f64>,
    threads: u64,
    threads_max: u64,
    rss_kb: u64,
    hwm_kb: u64,
    followed_at_end: f64,
    /// CPU seconds serve used while the commands were sent.
    cpu_s: f64,
}

/// The `p`th percentile (nearest rank) of `v`.
fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

impl Figures {
    fn pct(&self, kind: Option<Kind>, p: f64) -> f64 {
        let v = self
            .latencies
            .iter()
            .filter(|(k, _)| kind.is_none_or(|x| x == *k))
            .map(|(_, ms)| *ms)
            .collect();
        percentile(v, p)
    }
}

/// Start a world, journal `in_flight` operations, start `hoist serve`, wait
/// until it follows them all and is idle, then send the commands.
fn phase(name: &str, in_flight: usize) -> Figures {
    println!("{name}: {in_flight} operations in flight");
    let kube = FakeKube::start();
    let w = World::new();
    w.commit_file("hoist.yaml", POLICY, "policy for the bench");
    let tip = w.tip();
    let mut app = application("argocd", "api-staging", &tip);
    app["status"] = argo_progressing(&tip);
    kube.apply(app);
    if in_flight > 0 {
        let t = Instant::now();
        journal_in_flight(&w.data, &w.origin, &tip, in_flight);
        println!(
            "{name}: {in_flight} pushed operations journaled in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let fake = FakeSlack::start();
    let users: Vec<String> = (0..COMMANDS + WARM_UP)
        .map(|i| command(name, i, Kind::of(i)).user)
        .collect();
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    fake.set_group("S0DEVS", &users);
    let kubeconfig = kube.kubeconfig(w.dir.path());
    let log = std::fs::File::create(w.dir.path().join("serve.log")).unwrap();
    let mut cmd = support::serve_command(&w, w.origin.to_str().unwrap());
    cmd.env("HOIST_SIGNING_KEY", &w.key)
        .env("SLACK_SIGNING_SECRET", SECRET)
        .env("SLACK_BOT_TOKEN", slack::BOT_TOKEN)
        .env("SLACK_API_URL", fake.api_url())
        .env("KUBECONFIG", &kubeconfig)
        .stderr(Stdio::from(log));
    let started = Instant::now();
    let bot = Bot::start(cmd);
    let pid = bot.child.id();
    let wait = |what: &str, ok: &dyn Fn() -> bool| {
        while !ok() {
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "{name}: no {what}; log: {}",
                std::fs::read_to_string(w.dir.path().join("serve.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait("readiness", &|| slack::get(&bot.addr, "/readyz").0 == 200);
    let in_flight_now = || gauge(&bot.addr, "hoist_rollouts_in_flight").unwrap_or(-1.0);
    wait("rollouts followed", &|| in_flight_now() >= in_flight as f64);
    let followed = started.elapsed();
    let idle = wait_idle(pid, Duration::from_secs(600));
    println!(
        "{name}: serve following {} rollouts {:.1} s after start, idle {:.1} s later",
        in_flight_now(),
        followed.as_secs_f64(),
        idle.as_secs_f64()
    );

    let mut latencies = Vec::new();
    let mut pushed = Vec::new();
    let mut threads_max = 0;
    let cpu_before = cpu_ticks(pid);
    let perf = std::env::var_os("INFLIGHT_PERF")
        .filter(|_| in_flight > 0)
        .map(|file| {
            std::process::Command::new("perf")
                .args(["record", "-g", "-F", "999", "-p", &pid.to_string(), "-o"])
                .arg(file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("perf runs")
        });
    for i in 0..COMMANDS + WARM_UP {
        // The warm-up commands are one of each kind but a deploy.
        let kind = if i < WARM_UP {
            Kind::ALL[i]
        } else {
            Kind::of(i - WARM_UP)
        };
        let c = command(name, i, kind);
        let body = slash_body(&c.user, &c.text, i);
        let from = fake.calls().len();
        let headers = signed(SECRET, now(), &body, FORM);
        let sent = Instant::now();
        let (status, ack, took) = post(&bot.addr, "/slack/commands", &headers, &body);
        assert!(
            status == 200 && took < Duration::from_secs(3) && !ack.contains("busy"),
            "{name}: {:?} acked {status} in {took:?}: {ack}",
            c.text
        );
        let (answered, done) = answer_of(&fake, from, &c);
        let ms = |at: Instant| at.saturating_duration_since(sent).as_secs_f64() * 1e3;
        if i >= WARM_UP {
            latencies.push((kind, ms(answered)));
            if kind == Kind::Deploy {
                pushed.push(ms(done));
            }
        }
        threads_max = threads_max.max(proc_status(pid).0);
    }
    let (threads, rss_kb, hwm_kb) = proc_status(pid);
    if let Some(mut perf) = perf {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &perf.id().to_string()])
            .status();
        let _ = perf.wait();
    }
    // Clock ticks are hundredths of a second on Linux.
    let cpu_s = (cpu_ticks(pid) - cpu_before) as f64 / 100.0;
    let followed_at_end = in_flight_now();
    drop(bot);
    let log = std::fs::read_to_string(w.dir.path().join("serve.log")).unwrap_or_default();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    println!("{name}: {} warnings or errors logged", warnings.len());
    for l in warnings.iter().take(5) {
        println!("  {l}");
    }
    let mut states = std::collections::BTreeMap::new();
    let store = hoist::store::Store::open(&w.data).expect("the journal opens");
    for op in store.list().expect("the journal lists") {
        *states.entry(op.state.label().to_string()).or_insert(0) += 1;
    }
    println!("{name}: operations in the journal by state: {states:?}");
    Figures {
        latencies,
        pushed,
        threads,
        threads_max: threads_max.max(threads),
        rss_kb,
        hwm_kb,
        followed_at_end,
        cpu_s,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let base = phase("baseline", 0);
    let loaded = phase("loaded", IN_FLIGHT);
    println!();
    println!(
        "{COMMANDS} signed slash commands, one after another (+{WARM_UP} warm-up not counted): \
         command -> reply"
    );
    println!(
        "(the answer: the ephemeral reply; for a deploy the echo its thread hangs from, posted \
         once a dry run says it would be written)"
    );
    println!("per kind (p50 / p99 ms):");
    for kind in Kind::ALL {
        println!(
            "  {:<15} baseline {:7.1} / {:7.1}   loaded {:7.1} / {:7.1}",
            kind.name(),
            base.pct(Some(kind), 50.0),
            base.pct(Some(kind), 99.0),
            loaded.pct(Some(kind), 50.0),
            loaded.pct(Some(kind), 99.0)
        );
    }
    println!(
        "  {:<15} baseline {:7.1} / {:7.1}   loaded {:7.1} / {:7.1}   (to the live message \
         (pushed or reconciling); a channel sees at most one post per second)",
        "deploy live msg",
        percentile(base.pushed.clone(), 50.0),
        percentile(base.pushed.clone(), 99.0),
        percentile(loaded.pushed.clone(), 50.0),
        percentile(loaded.pushed.clone(), 99.0)
    );
    let mb = |kb: u64| kb as f64 / 1024.0;
    let rows = [
        ("p50 (ms)", base.pct(None, 50.0), loaded.pct(None, 50.0)),
        ("p99 (ms)", base.pct(None, 99.0), loaded.pct(None, 99.0)),
        ("max (ms)", base.pct(None, 100.0), loaded.pct(None, 100.0)),
        ("threads", base.threads as f64, loaded.threads as f64),
        (
            "threads (max seen)",
            base.threads_max as f64,
            loaded.threads_max as f64,
        ),
        ("RSS (MB)", mb(base.rss_kb), mb(loaded.rss_kb)),
        ("serve CPU during run (s)", base.cpu_s, loaded.cpu_s),
        ("peak RSS (MB)", mb(base.hwm_kb), mb(loaded.hwm_kb)),
        (
            "rollouts followed at end",
            base.followed_at_end,
            loaded.followed_at_end,
        ),
    ];
    println!();
    println!(
        "{:<26} {:>10} {:>10} {:>8}",
        "",
        "baseline",
        format!("{IN_FLIGHT} in fl."),
        "ratio"
    );
    for (label, b, l) in rows {
        println!("{label:<26} {b:>10.1} {l:>10.1} {:>7.2}x", l / b);
    }
    let p99 = loaded.pct(None, 99.0);
    let ratio = p99 / base.pct(None, 99.0);
    let threads = loaded.threads_max.abs_diff(base.threads_max);
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!();
    println!("goal p99 < 1 s: {:.0} ms, {}", p99, verdict(p99 < 1000.0));
    println!(
        "goal p99 within 2x of baseline: {ratio:.2}x, {}",
        verdict(ratio <= 2.0)
    );
    println!(
        "goal threads equal (+-8): max seen {} vs {}, {}",
        loaded.threads_max,
        base.threads_max,
        verdict(threads <= 8)
    );
    println!(
        "goal RSS < 200 MB: {:.1} MB (peak {:.1}), {}",
        mb(loaded.rss_kb),
        mb(loaded.hwm_kb),
        verdict(loaded.hwm_kb < 200 * 1024)
    );
}
