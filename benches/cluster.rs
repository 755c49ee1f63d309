//! The cluster-follower benchmark (issue 6), run by `benches/cluster.sh`.
//!
//! 5,000 Argo CD Applications (with the resource lists and sync history real
//! ones carry) in the loopback fake API server of `tests/support/kube.rs`,
//! one watch. Measured in one run:
//! - **baseline**: a bare kube watcher (no cache, no judging) on the same
//!   fake: time from a status change on the server to the event arriving;
//! - **hoist**: `cluster::Live` with its reflector cache, the condition of
//!   all 5,000 objects asked twice a second (what the engine's drift look
//!   does), and `FOLLOWERS` of them followed with `follow_blocking` on their
//!   own threads: time from the status change to the follower's report being
//!   enqueued on a channel (where the engine hands it to chat);
//! - memory: RSS of this process (the fake runs in a child process, driven
//!   over a pipe, so its objects are not counted; the pipe adds to the
//!   measured latency, never subtracts).
//!
//! Changes are made at `RATE` per second while 4,500 other Applications
//! churn at the same rate (events the watch must take but nobody follows).
//! Exits non-zero when a follower misses its change or the goals (p99 <
//! 100 ms, RSS growth < 150 MB) are not met.

#![allow(dead_code)]

#[path = "../tests/support/kube.rs"]
mod kube_fake;
#[path = "../tests/support/loopback.rs"]
mod loopback;
#[path = "../tests/support/objects.rs"]
mod objects;

use futures::StreamExt;
use hoist::cluster::kinds::Kind;
use hoist::cluster::{Live, Options};
use hoist::engine::ports::{Cluster, Progress, WatchRequest};
use hoist::policy::Watch;
use kube::runtime::watcher;
use objects::*;
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const APPS: usize = 5000;
const FOLLOWERS: usize = 500;
const RATE: u64 = 200;
const OLD: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const R: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn name(i: usize) -> String {
    format!("app-{i:04}")
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(label: &str, mut d: Vec<Duration>) -> (Duration, Duration) {
    d.sort();
    let (p50, p99) = (percentile(&d, 0.5), percentile(&d, 0.99));
    println!(
        "{label:<42} n={:<5} p50 {:>8.2} ms   p99 {:>8.2} ms   max {:>8.2} ms",
        d.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        d.last().unwrap().as_secs_f64() * 1e3
    );
    (p50, p99)
}

/// The fake API server in a child process (so its objects are not in this
/// process's RSS), driven over stdin: `<status> <app index>` per line.
struct Fake {
    url: String,
    stdin: std::process::ChildStdin,
    child: std::process::Child,
}

fn serve_fake() {
    let fake = kube_fake::FakeKube::start();
    for i in 0..APPS {
        fake.apply(application("argocd", &name(i), OLD));
    }
    println!("{}", fake.url);
    std::io::stdout().flush().unwrap();
    for line in std::io::stdin().lines() {
        let line = line.unwrap();
        let Some((what, i)) = line.split_once(' ') else {
            continue;
        };
        let i: usize = i.parse().unwrap();
        let status = match what {
            "healthy" => argo_healthy(R),
            "progressing" => argo_progressing(OLD),
            _ => argo_healthy(OLD),
        };
        fake.argo(&name(i), status);
    }
}

fn start_fake() -> Fake {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env("HOIST_BENCH_FAKE", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    Fake {
        url: url.trim().to_string(),
        stdin: child.stdin.take().unwrap(),
        child,
    }
}

impl Fake {
    fn set(&mut self, what: &str, i: usize) {
        writeln!(self.stdin, "{what} {i}").unwrap();
        self.stdin.flush().unwrap();
    }
}

/// Status changes at RATE/s: each followed app goes Healthy at R, and an
/// unfollowed one churns in between. Returns when each change was sent.
fn drive(fake: &mut Fake, apps: &[usize]) -> Vec<(usize, Instant)> {
    let gap = Duration::from_micros(1_000_000 / RATE);
    let mut at = Vec::new();
    let mut next = Instant::now();
    for (n, &i) in apps.iter().enumerate() {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        fake.set("progressing", FOLLOWERS + (n * 7) % (APPS - FOLLOWERS));
        let t0 = Instant::now();
        fake.set("healthy", i);
        at.push((i, t0));
        next += gap;
    }
    at
}

fn baseline(fake: &mut Fake, kubeconfig: std::path::PathBuf) -> Vec<Duration> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = mpsc::channel::<(String, Instant)>();
    rt.spawn(async move {
        let file = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(file, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let api: kube::Api<kube::core::DynamicObject> =
            kube::Api::all_with(client, &Kind::Application.resource());
        let mut stream = std::pin::pin!(watcher(api, watcher::Config::default()));
        while let Some(event) = stream.next().await {
            // Only the change under test: the Application synced to R.
            if let Ok(watcher::Event::Apply(o)) = event
                && o.data
                    .pointer("/status/sync/revision")
                    .and_then(|r| r.as_str())
                    == Some(R)
            {
                let _ = tx.send((o.metadata.name.unwrap_or_default(), Instant::now()));
            }
        }
    });
    // Wait for the initial list, then change the followed set's statuses.
    std::thread::sleep(Duration::from_secs(3));
    let apps: Vec<usize> = (0..FOLLOWERS).collect();
    let changed = drive(fake, &apps);
    let mut got = std::collections::HashMap::new();
    let end = Instant::now() + Duration::from_secs(30);
    while got.len() < FOLLOWERS && Instant::now() < end {
        if let Ok((n, t)) = rx.recv_timeout(Duration::from_millis(100))
            && n.as_str() < name(FOLLOWERS).as_str()
        {
            got.entry(n).or_insert(t);
        }
    }
    drop(rt);
    changed
        .iter()
        .filter_map(|(i, t0)| got.get(&name(*i)).map(|t| t.saturating_duration_since(*t0)))
        .collect()
}

fn main() {
    if std::env::var_os("HOIST_BENCH_FAKE").is_some() {
        return serve_fake();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut fake = start_fake();
    let kubeconfig = kube_fake::kubeconfig_for(&fake.url, dir.path());
    let rss_before = rss_mb();
    let live = Arc::new(
        Live::connect(Options {
            kubeconfig: Some(kubeconfig.clone()),
            poke: false,
            ..Options::default()
        })
        .unwrap(),
    );
    let request = |i: usize| WatchRequest {
        app: name(i),
        env: "prod".into(),
        watch: Some(Watch::ArgoCd {
            namespace: "argocd".into(),
            application: name(i),
        }),
        revision: R.into(),
        timeout_secs: 120,
    };
    // What the engine's drift look asks: every object's condition, twice a second.
    let looking = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let drift = {
        let (live, looking) = (live.clone(), looking.clone());
        std::thread::spawn(move || {
            while looking.load(std::sync::atomic::Ordering::Relaxed) {
                for i in 0..APPS {
                    live.condition(&request(i));
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let (outbox, enqueued) = mpsc::channel::<(usize, Instant)>();
    let contains = |x: &str| x == R;
    let followers: Vec<_> = (0..FOLLOWERS)
        .map(|i| {
            let (live, outbox) = (live.clone(), outbox.clone());
            std::thread::spawn(move || {
                hoist::engine::follow_blocking(&*live, &request(i), &contains, &mut |p| {
                    if *p == Progress::Healthy {
                        let _ = outbox.send((i, Instant::now()));
                    }
                })
            })
        })
        .collect();
    // Every follower has had its first look at a listed cache.
    std::thread::sleep(Duration::from_secs(3));
    let rss_listed = rss_mb();
    let changed = drive(&mut fake, &(0..FOLLOWERS).collect::<Vec<_>>());
    let mut got = std::collections::HashMap::new();
    for _ in 0..FOLLOWERS {
        match enqueued.recv_timeout(Duration::from_secs(30)) {
            Ok((i, t)) => {
                got.insert(i, t);
            }
            Err(_) => break,
        }
    }
    let ends: Vec<Progress> = followers.into_iter().map(|f| f.join().unwrap()).collect();
    looking.store(false, std::sync::atomic::Ordering::Relaxed);
    drift.join().unwrap();
    let rss_after = rss_mb();
    drop(live);
    let hoist: Vec<Duration> = changed
        .iter()
        .filter_map(|(i, t0)| got.get(i).map(|t| t.saturating_duration_since(*t0)))
        .collect();
    // The bare watcher's turn, on the same objects (reset to the old revision).
    for i in 0..FOLLOWERS {
        fake.set("old", i);
    }
    let base = baseline(&mut fake, kubeconfig);
    drop(fake.stdin);
    let _ = fake.child.wait();

    println!(
        "{APPS} Applications, one watch, {FOLLOWERS} followers, {RATE} followed changes/s + {RATE} unfollowed/s"
    );
    let (b50, b99) = report("baseline: bare watcher, change -> event", base);
    let (h50, h99) = report("hoist: change -> follower report enqueued", hoist.clone());
    println!(
        "ratio hoist/baseline: p50 {:.2}x   p99 {:.2}x",
        h50.as_secs_f64() / b50.as_secs_f64(),
        h99.as_secs_f64() / b99.as_secs_f64()
    );
    let growth = rss_after - rss_before;
    println!(
        "RSS (fake in its own process): {rss_before:.1} MB at start, {rss_listed:.1} MB with 5,000 cached and {FOLLOWERS} followers, {rss_after:.1} MB at the end; growth {growth:.1} MB",
    );
    let healthy = ends.iter().filter(|p| **p == Progress::Healthy).count();
    let ok = healthy == FOLLOWERS
        && hoist.len() == FOLLOWERS
        && h99 < Duration::from_millis(100)
        && rss_after < 150.0;
    println!(
        "{healthy}/{FOLLOWERS} followers Healthy; goals (p99 < 100 ms, RSS < 150 MB): {}",
        if ok { "met" } else { "NOT met" }
    );
    if !ok {
        std::process::exit(1);
    }
}
