//! Ack latency of Discord's signed interactions (issue 15) and the memory
//! Discord costs. `hoist serve` (release build, its own process, its
//! gateway connected to the fake Discord this process serves) against a
//! bare axum handler answering the same JSON without verifying anything
//! (this binary started again with `--bare`), both loaded in the same run,
//! alternating, by this process: 64 keep-alive connections, every request
//! a fresh interaction signed as Discord signs it (Ed25519), so the client
//! does the same work for both. Scenarios: PINGs as fast as they come;
//! `/hoist command:help deploy` paced 20 ms per connection (all worked on)
//! and as fast as they come (the work runtime turns some away).
//!
//! Memory, measured before the load: `hoist serve`'s VmRSS with the gateway
//! connected and idle, and after 1,000 members of the guild each said
//! something (every MESSAGE_CREATE carries the member's roles, which hoist
//! caches); after the load too; and, in this process, the VmRSS that
//! learning 1,000 members' roles costs a Discord client.
//!
//! Run with `benches/discord.sh`.

#[allow(dead_code, unused_imports)] // the bench uses a part of the fake
#[path = "../tests/support/discord/mod.rs"]
mod discord;
#[path = "../tests/support/loopback.rs"]
mod loopback;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNECTIONS: usize = 64;
const SECONDS: u64 = 8;
const ROUNDS: usize = 3;
const CHANNEL: &str = "1200000000000000101";
const ROLE: &str = "1200000000000000201";
const MEMBERS: u64 = 1_000;

/// `--bare`: POST /discord/interactions answers `{"type":1}`, nothing else.
fn bare() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let app = axum::Router::new().route(
            "/discord/interactions",
            axum::routing::post(|| async { axum::Json(serde_json::json!({"type": 1})) }),
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
    let addr = line.trim().rsplit("http://").next().expect("an address");
    (child, addr.to_string())
}

/// What a scenario sends: the body of interaction number `n`.
type Make = Arc<dyn Fn(u64) -> String + Send + Sync>;

fn ping() -> Make {
    Arc::new(|n| discord::wire::ping(&format!("{}", 1_400_000_000_000_000_000 + n)).to_string())
}

fn command() -> Make {
    Arc::new(|n| {
        let who = discord::wire::Asker {
            user: "1200000000000000301",
            roles: &[ROLE],
            channel: CHANNEL,
            parent: None,
        };
        let id = format!("{}", 1_400_000_000_000_000_000 + n);
        let token = format!("aW50ZXJhY3Rpb246{n:016}");
        discord::wire::command(&id, &token, &who, "help deploy").to_string()
    })
}

#[derive(Debug, Clone, Copy)]
struct Run {
    p50: f64,
    p99: f64,
    rps: f64,
    non2xx: u64,
}

/// Read one HTTP/1.1 answer (with a Content-Length): its status.
async fn answer(s: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<u16> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(status)
}

/// `CONNECTIONS` connections sending `make`'s interactions for `seconds`,
/// each waiting `pace` between requests.
fn load(addr: &str, make: &Make, seconds: u64, pace: Option<Duration>) -> Run {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (addr, make) = (addr.to_string(), make.clone());
            rt.spawn(async move {
                let mut took = Vec::new();
                let mut non2xx = 0u64;
                let mut buf = Vec::new();
                let mut conn = None;
                while Instant::now() < deadline {
                    let s = match conn.as_mut() {
                        Some(s) => s,
                        None => conn.insert(tokio::net::TcpStream::connect(&addr).await.unwrap()),
                    };
                    let body = make(NEXT.fetch_add(1, Ordering::Relaxed));
                    let ts = discord::now();
                    let sig = discord::sign(&ts, &body);
                    let req = format!(
                        "POST /discord/interactions HTTP/1.1\r\nHost: {addr}\r\n\
                         Content-Type: application/json\r\nX-Signature-Ed25519: {sig}\r\n\
                         X-Signature-Timestamp: {ts}\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let start = Instant::now();
                    if s.write_all(req.as_bytes()).await.is_err() {
                        conn = None;
                        continue;
                    }
                    match answer(s, &mut buf).await {
                        Some(status) => {
                            took.push(start.elapsed());
                            if !(200..300).contains(&status) {
                                non2xx += 1;
                            }
                        }
                        None => conn = None,
                    }
                    if let Some(p) = pace {
                        tokio::time::sleep(p).await;
                    }
                }
                (took, non2xx)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut non2xx = 0;
    for t in tasks {
        let (took, bad) = rt.block_on(t).unwrap();
        all.extend(took);
        non2xx += bad;
    }
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1e3;
    Run {
        p50: at(0.50),
        p99: at(0.99),
        rps: all.len() as f64 / seconds as f64,
        non2xx,
    }
}

fn rss_kb(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// VmRSS of this process before and after a Discord client learned
/// `MEMBERS` members' roles (as inbound events teach them).
fn learned_in_process() -> (u64, u64) {
    let config = hoist::chat::discord::Config {
        token: "bench-token".into(),
        api_url: Some("http://127.0.0.1:9".into()),
        role_ttl: Duration::from_secs(300),
        reactions: hoist::chat::discord::Config::default_reactions(),
    };
    let d = hoist::chat::discord::Discord::new(&config).expect("a client");
    let before = rss_kb("self");
    for n in 0..MEMBERS {
        let roles = vec![
            ROLE.to_string(),
            format!("{}", 1_200_000_000_000_000_500 + n % 7),
        ];
        d.learn_roles(
            discord::GUILD,
            &format!("{}", 1_500_000_000_000_000_000 + n),
            &roles,
        );
    }
    let after = rss_kb("self");
    std::hint::black_box(&d);
    (before, after)
}

fn main() {
    if std::env::args().any(|a| a == "--bare") {
        return bare();
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let (before, after) = learned_in_process();
    let dir = tempfile::tempdir().unwrap();
    let origin = hoist::cli::seed_origin(dir.path(), None).expect("git builds the origin");
    let fake = discord::FakeDiscord::start(&[CHANNEL]);
    fake.set_heartbeat_ms(41_250);
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
        .env("DISCORD_TOKEN", discord::TOKEN)
        .env("DISCORD_API_URL", &fake.url)
        .env("DISCORD_PUBLIC_KEY", discord::PUBLIC_KEY)
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("SLACK_SIGNING_SECRET")
        .env_remove("SLACK_APP_TOKEN")
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stderr(Stdio::null());
    let (mut hoist_child, hoist_addr) = start(hoist);
    fake.wait_session(Duration::from_secs(30));
    let pid = hoist_child.id().to_string();
    let mut bare_cmd = Command::new(std::env::current_exe().unwrap());
    bare_cmd.arg("--bare");
    let (mut bare_child, bare_addr) = start(bare_cmd);

    // Memory first, before the load leaves its garbage: connected and idle,
    // then after every member said something.
    std::thread::sleep(Duration::from_secs(1));
    let ready = rss_kb(&pid);
    for n in 0..MEMBERS {
        let user = format!("{}", 1_500_000_000_000_000_000 + n);
        fake.say(&user, &[ROLE], CHANNEL, "lunch?");
    }
    // Let hoist read them all (it answers none: nobody addressed it).
    std::thread::sleep(Duration::from_secs(3));
    let members = rss_kb(&pid);
    let scenarios: [(&str, Make, Option<Duration>); 3] = [
        ("signed PINGs, flood", ping(), None),
        (
            "signed /hoist help deploy, paced 20 ms/connection",
            command(),
            Some(Duration::from_millis(20)),
        ),
        ("signed /hoist help deploy, flood", command(), None),
    ];
    println!("Discord interactions, {CONNECTIONS} keep-alive connections, {SECONDS}s per run");
    load(&bare_addr, &scenarios[0].1, 2, None);
    load(&hoist_addr, &scenarios[0].1, 2, None);
    let mut verdicts = Vec::new();
    for round in 1..=ROUNDS {
        for (label, make, pace) in &scenarios {
            let b = load(&bare_addr, make, SECONDS, *pace);
            let h = load(&hoist_addr, make, SECONDS, *pace);
            println!("round {round}: {label}");
            for (name, r) in [("bare axum", b), ("hoist", h)] {
                println!(
                    "  {name:>9}: p50 {:7.3} ms  p99 {:7.3} ms  {:>8.0} req/s{}",
                    r.p50,
                    r.p99,
                    r.rps,
                    if r.non2xx > 0 {
                        format!("  ({} non-2xx)", r.non2xx)
                    } else {
                        String::new()
                    }
                );
            }
            let ok = h.p99 <= 2.0 * b.p99 && h.p99 < 50.0;
            println!(
                "  hoist/bare p50 {:.2}x, p99 {:.2}x; goal p99 <= 2x bare and < 50 ms: {}",
                h.p50 / b.p50,
                h.p99 / b.p99,
                if ok { "met" } else { "NOT met" }
            );
            verdicts.push(ok);
        }
    }
    let loaded = rss_kb(&pid);
    println!("memory: hoist serve VmRSS {ready} KiB with the gateway connected, idle");
    println!(
        "memory: hoist serve VmRSS {members} KiB after {MEMBERS} members spoke ({:+} KiB)",
        members as i64 - ready as i64
    );
    println!("memory: hoist serve VmRSS {loaded} KiB after the load above");
    println!(
        "memory: in process, learning {MEMBERS} members' roles took VmRSS {} -> {} KiB ({:+} KiB)",
        before,
        after,
        after as i64 - before as i64
    );
    println!(
        "ack goal met in {} of {} runs",
        verdicts.iter().filter(|v| **v).count(),
        verdicts.len()
    );
    let _ = hoist_child.kill();
    let _ = bare_child.kill();
    let _ = hoist_child.wait();
    let _ = bare_child.wait();
}
