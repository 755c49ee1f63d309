//! Ack latency of signed slash commands (issue 5): `hoist serve` (release
//! build, its own process) against a bare axum handler that answers 200
//! (this binary started again with `--bare`, also its own process), both
//! loaded by `wrk` (a third process) with 64 connections, in the same run,
//! alternating. hoist verifies the v0 signature, reads the form, spawns the
//! work (`help deploy`: policy groups, engine, an ephemeral reply to a fake
//! Slack Web API served by this process) and answers.
//!
//! Run with `benches/slack.sh` (installs wrk if missing).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

const SECRET: &str = "bench-signing-secret";
const ROUNDS: usize = 4;
const SECONDS: u32 = 10;
const CONNECTIONS: u32 = 64;

/// A Slack Web API that says yes to everything, on a runtime of its own.
fn fake_slack() -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let app = axum::Router::new().route(
        "/api/{method}",
        axum::routing::any(|| async {
            axum::Json(
                serde_json::json!({"ok": true, "url": "https://bench.slack.com/",
                "team": "Bench", "team_id": "T1", "user_id": "UBOT", "channel": "C1",
                "ts": "1.000001", "message_ts": "1.000002", "users": []}),
            )
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await });
    (url, rt)
}

/// `--bare`: POST /slack/commands answers 200 and nothing else happens.
fn bare() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let app = axum::Router::new().route(
            "/slack/commands",
            axum::routing::post(|| async { axum::http::StatusCode::OK }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on http://{}", listener.local_addr().unwrap());
        axum::serve(listener, app).await.unwrap();
    });
}

/// Start a server child and read its address from its first line.
fn start(mut cmd: Command) -> (Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .expect("an address")
        .to_string();
    (child, addr)
}

/// A wrk script posting one signed slash command (valid for five minutes);
/// with `pace_ms`, each connection waits that long between requests.
fn script(dir: &Path, pace_ms: Option<u32>) -> std::path::PathBuf {
    let body = "token=t&team_id=T1&team_domain=bench&channel_id=C1&channel_name=deploy&user_id=U1\
                &user_name=u&command=%2Fhoist&text=help+deploy&response_url=https%3A%2F%2Fhooks.slack.com%2Fx\
                &trigger_id=1.2.3";
    let ts = hoist::engine::ports::Clock::now(&hoist::engine::ports::SystemClock).to_string();
    let verifier = hoist::chat::slack::verify::Verifier::new(
        SECRET,
        Arc::new(hoist::engine::ports::SystemClock),
    );
    let sig = verifier.sign(&ts, body.as_bytes());
    let path = dir.join(format!("slash-{}.lua", pace_ms.unwrap_or(0)));
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "wrk.method = \"POST\"").unwrap();
    writeln!(f, "wrk.body = \"{body}\"").unwrap();
    writeln!(
        f,
        "wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\""
    )
    .unwrap();
    writeln!(f, "wrk.headers[\"X-Slack-Request-Timestamp\"] = \"{ts}\"").unwrap();
    writeln!(f, "wrk.headers[\"X-Slack-Signature\"] = \"{sig}\"").unwrap();
    if let Some(ms) = pace_ms {
        writeln!(f, "function delay() return {ms} end").unwrap();
    }
    path
}

/// Milliseconds from wrk's `1.23ms` / `456.00us` / `1.01s`.
fn millis(v: &str) -> f64 {
    let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
    if let Some(x) = v.strip_suffix("us") {
        num(x) / 1000.0
    } else if let Some(x) = v.strip_suffix("ms") {
        num(x)
    } else if let Some(x) = v.strip_suffix('s') {
        num(x) * 1000.0
    } else {
        f64::NAN
    }
}

#[derive(Debug, Clone, Copy)]
struct Run {
    p50: f64,
    p99: f64,
    rps: f64,
    non2xx: bool,
}

fn wrk(addr: &str, script: &Path, seconds: u32) -> Run {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "--latency",
        ])
        .arg("-s")
        .arg(script)
        .arg(format!("http://{addr}/slack/commands"))
        .output()
        .expect("wrk runs (benches/slack.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let pick = |label: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(label))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    Run {
        p50: millis(&pick("50%")),
        p99: millis(&pick("99%")),
        rps: pick("Requests/sec:").parse().unwrap_or(f64::NAN),
        non2xx: text.contains("Non-2xx"),
    }
}

/// A counter's total (all label sets) from hoist's `/metrics`.
fn counter(addr: &str, name: &str) -> f64 {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn main() {
    if std::env::args().any(|a| a == "--bare") {
        return bare();
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let origin = hoist::cli::seed_origin(dir.path(), None).expect("git builds the origin");
    let (api_url, _fake) = fake_slack();
    let mut hoist = Command::new(env!("CARGO_BIN_EXE_hoist"));
    hoist
        .args([
            "serve",
            "--repo",
            origin.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("HOME", dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("SLACK_SIGNING_SECRET", SECRET)
        .env("SLACK_BOT_TOKEN", "xoxb-bench")
        .env("SLACK_API_URL", &api_url)
        .env_remove("SLACK_APP_TOKEN")
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stderr(Stdio::null());
    let (mut hoist_child, hoist_addr) = start(hoist);
    let mut bare_cmd = Command::new(std::env::current_exe().unwrap());
    bare_cmd.arg("--bare");
    let (mut bare_child, bare_addr) = start(bare_cmd);
    // Paced: 64 connections each waiting 20 ms (about 3,000 commands/s, all
    // worked on); flood: as fast as wrk can send (work turns many away).
    let scenarios = [
        ("paced 20 ms/connection", script(dir.path(), Some(20))),
        ("flood", script(dir.path(), None)),
    ];
    println!("signed slash commands, {CONNECTIONS} connections, wrk -t2, {SECONDS}s per run");
    // Warm both (connections, caches, the mirror's first read).
    wrk(&bare_addr, &scenarios[1].1, 2);
    wrk(&hoist_addr, &scenarios[1].1, 2);
    let mut rows = Vec::new();
    for (round, (label, script)) in (1..=ROUNDS).zip(scenarios.iter().cycle().take(ROUNDS)) {
        println!("round {round}: {label}");
        let b = wrk(&bare_addr, script, SECONDS);
        let busy_before = counter(&hoist_addr, "hoist_slack_busy_total");
        let all_before = counter(&hoist_addr, "hoist_http_requests_total");
        let h = wrk(&hoist_addr, script, SECONDS);
        let busy = counter(&hoist_addr, "hoist_slack_busy_total") - busy_before;
        let all = counter(&hoist_addr, "hoist_http_requests_total") - all_before;
        println!(
            "round {round}: hoist took {all:.0} commands: {:.0} worked on ({:.0}/s), {busy:.0} answered busy",
            all - busy,
            (all - busy) / f64::from(SECONDS)
        );
        for (name, r) in [("bare axum", b), ("hoist", h)] {
            println!(
                "round {round} {name:>9}: p50 {:7.3} ms  p99 {:7.3} ms  {:>9.0} req/s{}",
                r.p50,
                r.p99,
                r.rps,
                if r.non2xx { "  (non-2xx answers!)" } else { "" }
            );
        }
        rows.push((b, h));
    }
    for (i, (b, h)) in rows.iter().enumerate() {
        let ok = h.p99 <= 2.0 * b.p99 && h.p99 < 50.0 && !h.non2xx;
        println!(
            "round {}: hoist/bare p50 {:.2}x, p99 {:.2}x; goal p99 <= 2x bare and < 50 ms: {}",
            i + 1,
            h.p50 / b.p50,
            h.p99 / b.p99,
            if ok { "met" } else { "NOT met" }
        );
    }
    let _ = hoist_child.kill();
    let _ = bare_child.kill();
    let _ = hoist_child.wait();
    let _ = bare_child.wait();
}
