//! 100 pull-request operations against GitHub's content-creation limit
//! (issue 16, "Measure"): the engine (real git mirror, real journal, the
//! GitHub adapter) against the fake GitHub on loopback, with the fake
//! enforcing the secondary limit on content-creating requests (every
//! non-GET: open, describe, merge, delete the branch) and hoist's adapter
//! pacing itself to the same limit. GitHub's limit is 80 a minute and 500 an
//! hour; the bench scales time by 10 (80 per 6 s, 500 per 360 s) so it runs
//! in about half a minute, and says so.
//!
//! 100 deploys, each of its own app to `prod` (`via: pull-request`, no
//! approvals needed, no deployments), are handed to the engine from 8
//! threads at once; each is opened as a PR at once and merged by the runner
//! as soon as the fake says it is mergeable (`null` on the first read).
//! Measured: wall time from the first request to the 100th merge, the
//! content-creating requests the fake saw, how many it rejected (goal: 0),
//! and the wall time against the limit's floor: requests / rate (goal:
//! within 10%). The floor of a sliding window can be beaten by up to one
//! window (the first 80 go at once), so the window floor
//! ((ceil(requests / 80) - 1) windows) is printed too.
//!
//! Run with `benches/forge.sh`.

#[path = "../tests/support/mod.rs"]
mod support;

use hoist::chat::console::Silent;
use hoist::engine::ports::SystemClock;
use hoist::engine::{Engine, Request, Settings};
use hoist::forge::github::{Auth, Config, GitHub, Pace};
use hoist::gitops::GitRepo;
use hoist::gitops::credentials::Access;
use hoist::gitops::sign::Signer;
use hoist::store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::World;
use support::github::{FakeGitHub, TOKEN};

const OPERATIONS: usize = 100;
const THREADS: usize = 8;
/// GitHub's limits, and the time scale: a "minute" of 6 s.
const PER_MINUTE: u32 = 80;
const PER_HOUR: u32 = 500;
const SCALE: u32 = 10;

fn policy() -> String {
    let mut p = String::from(
        "environments:\n  prod:\n    branch: main\n    via: pull-request\n    \
         deployers: [\"*\"]\n    github_deployments: false\napps:\n",
    );
    for i in 0..OPERATIONS {
        p.push_str(&format!(
            "  app{i}:\n    targets:\n      prod: {{ file: bench/app{i}.yaml, yaml_path: image.tag }}\n"
        ));
    }
    p
}

fn main() {
    let minute = Duration::from_secs(60) / SCALE;
    let hour = Duration::from_secs(3600) / SCALE;
    let w = World::new();
    let mut files: Vec<(String, String)> = (0..OPERATIONS)
        .map(|i| {
            (
                format!("bench/app{i}.yaml"),
                "image:\n  tag: v1.0.0\n".to_string(),
            )
        })
        .collect();
    files.push(("hoist.yaml".into(), policy()));
    w.commit_files(&files, "100 apps, prod through pull requests");
    let fake = FakeGitHub::start(&w.origin, "acme", "config");
    fake.limit_content(PER_MINUTE as usize, minute);

    let signer = Signer::from_file(&w.key, None).expect("the world's key");
    let repo = GitRepo::open(
        &w.data,
        w.origin.to_str().unwrap(),
        Some(signer),
        Default::default(),
        &Access::default(),
    )
    .expect("the mirror opens");
    let store = Store::open(&w.data).expect("the journal opens");
    let hub = GitHub::connect(Config {
        api_url: fake.url.clone(),
        owner: "acme".into(),
        repo: "config".into(),
        auth: Auth::Token(TOKEN.into()),
        pace: Pace {
            content_per_minute: PER_MINUTE,
            content_per_hour: PER_HOUR,
            max_wait: minute,
            minute,
            hour,
        },
    })
    .expect("the adapter starts");
    let settings = Settings {
        pr_poll: Duration::from_millis(500),
        ..Settings::default()
    };
    let engine = Engine::new(
        Arc::new(repo),
        Arc::new(store),
        None,
        Arc::new(Silent),
        Arc::new(SystemClock),
        settings,
    );
    engine.set_forge(Arc::new(hub));
    engine.policy().expect("hoist.yaml reads");

    println!(
        "forge bench: {OPERATIONS} PR operations (open + merge), the fake GitHub limiting \
         content-creating requests to {PER_MINUTE} per {minute:?} and {PER_HOUR} per {hour:?} \
         (GitHub's per minute and per hour, time scaled by {SCALE})"
    );
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (engine, next) = (engine.clone(), next.clone());
            std::thread::spawn(move || {
                let mut states = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= OPERATIONS {
                        return states;
                    }
                    let text = format!("deploy app{i} v2.0.0 to prod");
                    let reply = engine.handle(&Request {
                        actor: "console:alice".into(),
                        channel: None,
                        chat_link: None,
                        memberships: Vec::new(),
                        command: hoist_commands::parse(&text).expect("a command"),
                    });
                    states.push(reply.state);
                }
            })
        })
        .collect();
    let mut states = Vec::new();
    for w in workers {
        states.extend(w.join().expect("a worker"));
    }
    let answered = start.elapsed();
    let merges = || {
        fake.calls()
            .iter()
            .filter(|c| c.method == "PUT" && c.path.ends_with("/merge") && c.status == 200)
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    while merges() < OPERATIONS {
        assert!(
            Instant::now() < deadline,
            "only {} of {OPERATIONS} merged in 10 minutes (states: {states:?})",
            merges()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = start.elapsed();
    let calls = fake.calls();
    let content = calls.iter().filter(|c| c.method != "GET").count();
    let rejected = fake.rejected();
    let opened = calls
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/pulls") && c.status == 201)
        .count();
    let rate = f64::from(PER_MINUTE) / minute.as_secs_f64();
    let floor = content as f64 / rate;
    let windows = (content.div_ceil(PER_MINUTE as usize)).saturating_sub(1);
    let window_floor = windows as f64 * minute.as_secs_f64();
    let refused = states.iter().filter(|s| *s != "pr-opened").count();
    println!(
        "  requests answered in {:.2}s ({refused} not pr-opened)",
        answered.as_secs_f64()
    );
    println!(
        "  {opened} PRs opened, {} merged; {content} content-creating requests, {} GETs",
        merges(),
        calls.len() - content
    );
    println!("  rejected by the limit: {rejected} (goal 0)");
    println!(
        "  wall {:.2}s; floor (requests / rate) {floor:.2}s: ratio {:.3} (goal <= 1.10)",
        wall.as_secs_f64(),
        wall.as_secs_f64() / floor
    );
    println!(
        "  window floor ({windows} full windows of {minute:?}) {window_floor:.2}s: ratio {:.3}",
        wall.as_secs_f64() / window_floor.max(f64::EPSILON)
    );
    engine.stop_following();
}
