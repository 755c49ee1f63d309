//! The journal benchmark (issue 14), run by `benches/journal.sh`.
//!
//! Does a request's cost grow with history? A redb journal is filled with
//! 100,000 finished operations (4 environments x 50 apps, each app deployed
//! 500 times per environment: Healthy mostly, some Failed, Denied or
//! Cancelled, each with its transitions), written in batches with
//! `put_all`. Then the queries a request makes are timed against the same
//! queries on a journal without that history, in the same process,
//! interleaved round by round (median of rounds, per call):
//!
//! - a deploy's decision: `locks()` and its soak, `of_version(staging,
//!   app, version)`;
//! - status: `locks()` and `latest(env, app)` for every cell (50 apps x 4
//!   environments);
//! - resume and the runner: `unfinished()`;
//! - rollback: `of_app(env, app)`, which reads that app's history in that
//!   environment (500 operations here), so it is expected to grow;
//! - and `list()` of all 100,000 for contrast.
//!
//! Two baselines: "empty" is a journal with nothing in it (every answer is
//! empty, so nothing is decoded); "current" holds only what the queries
//! answer with (the newest operation of each app and environment, two
//! unfinished ones), so the answers are the same and only the 100,000
//! finished operations of history differ. Goal: request-path queries (all
//! but rollback's `of_app` and `list`) within 2x of the journal without
//! history; the ratio to the empty journal is printed too.
//! `HOIST_BENCH_OPS` changes the history's size, `HOIST_BENCH_ROUNDS` the
//! number of rounds (default 15).

use hoist::engine::ports::{Journal, LineChange};
use hoist::engine::{Change, Operation, State};
use hoist::store::Store;
use std::time::{Duration, Instant};

const ENVS: [&str; 4] = ["dev", "staging", "prod", "prod-eu"];
const APPS: usize = 50;

fn app(a: usize) -> String {
    format!("app{a:02}")
}

fn version(n: u64) -> String {
    format!("v1.{}.{}", n / 100, n % 100)
}

/// The `n`th deploy of `app` in `env` (replacing deploy `n - 1`), ended in
/// a state chosen like real traffic: mostly Healthy.
fn operation(id: u64, env: &str, app: &str, n: u64, state: State) -> Operation {
    let t = 1_700_000_000 + id as i64 * 60;
    let mut transitions = vec![(t, "requested".to_string())];
    let path: &[&str] = match &state {
        State::Healthy => &[
            "approved",
            "committed",
            "pushed",
            "reconciling:syncing",
            "healthy",
        ],
        State::Failed { .. } => &[
            "approved",
            "committed",
            "pushed",
            "reconciling:syncing",
            "failed",
        ],
        State::Denied { .. } => &["refused"],
        _ => &["awaiting-approval", "cancelled"],
    };
    for (i, label) in path.iter().enumerate() {
        transitions.push((t + 5 + i as i64 * 30, label.to_string()));
    }
    let sha = format!("{:040x}", id * 7919);
    Operation {
        id,
        verb: "deploy".into(),
        summary: format!("deploy {app} {} to {env}", version(n)),
        actor: format!("slack:U{:07}", id % 40),
        channel: Some("slack:C0DEPLOYS".into()),
        chat: format!("https://acme.slack.com/archives/C0DEPLOYS/p17000{id:08}"),
        env: env.into(),
        reason: Some("release".into()),
        ticket: Some(format!("OPS-{}", id % 9000)),
        created_at: t,
        state,
        branch: "main".into(),
        base: Some(format!("{:040x}", id * 31)),
        changes: vec![Change {
            app: app.into(),
            version: version(n),
            file: format!("apps/{app}/overlays/{env}/kustomization.yaml"),
            old_value: (n > 0).then(|| version(n - 1)),
            new_value: version(n),
            lines: vec![LineChange {
                line: 9,
                old: format!("    newTag: {}", version(n.saturating_sub(1))),
                new: format!("    newTag: {}", version(n)),
            }],
        }],
        commit: Some(sha),
        needed: 1,
        approvers: vec![format!("slack:U{:07}", (id + 1) % 40)],
        expires_at: None,
        break_glass: None,
        transitions,
        memberships: Default::default(),
        ordered: None,
        pr: None,
        deployment: None,
        environment: None,
    }
}

fn ended(id: u64) -> State {
    match id % 100 {
        0..=89 => State::Healthy,
        90..=96 => State::Failed {
            message: "Application api-prod: SyncError".into(),
        },
        97 => State::Denied {
            reason: "prod is frozen".into(),
        },
        _ => State::Cancelled,
    }
}

/// Fill `store` with `total` finished deploys spread over every env and
/// app, oldest first; returns how many deploys each (env, app) got.
fn fill_history(store: &Store, total: u64) -> u64 {
    let pairs = (ENVS.len() * APPS) as u64;
    let per_pair = total / pairs;
    let mut batch = Vec::with_capacity(2_000);
    let mut id = 0;
    for n in 0..per_pair {
        for env in ENVS {
            for a in 0..APPS {
                id += 1;
                batch.push(operation(id, env, &app(a), n, ended(id)));
                if batch.len() == 2_000 {
                    store.put_all(&batch.iter().collect::<Vec<_>>()).unwrap();
                    batch.clear();
                }
            }
        }
    }
    store.put_all(&batch.iter().collect::<Vec<_>>()).unwrap();
    per_pair
}

/// What a request reads now: the newest deploy of every (env, app), and
/// two operations still going. Ids start after `after`.
fn fill_current(store: &Store, after: u64, n: u64) {
    let mut id = after;
    let mut ops = Vec::new();
    for env in ENVS {
        for a in 0..APPS {
            id += 1;
            ops.push(operation(id, env, &app(a), n, State::Healthy));
        }
    }
    for a in 0..2 {
        id += 1;
        ops.push(operation(
            id,
            "prod",
            &app(a),
            n + 1,
            State::Reconciling {
                phase: "syncing".into(),
            },
        ));
    }
    store.put_all(&ops.iter().collect::<Vec<_>>()).unwrap();
}

struct Journals {
    empty: Store,
    current: Store,
    full: Store,
    /// The version the current deploys set (what soak asks about).
    n: u64,
}

type Query = Box<dyn Fn(&Store, usize)>;

fn queries(n: u64) -> Vec<(&'static str, usize, Query)> {
    vec![
        (
            "status: latest(env, app)",
            2_000,
            Box::new(|j: &Store, i: usize| {
                std::hint::black_box(j.latest(ENVS[i % 4], &app(i % APPS)).unwrap());
            }),
        ),
        (
            "deploy decision: locks + of_version",
            2_000,
            Box::new(move |j: &Store, i: usize| {
                std::hint::black_box(j.locks().unwrap());
                std::hint::black_box(
                    j.of_version("staging", &app(i % APPS), &version(n))
                        .unwrap(),
                );
            }),
        ),
        (
            "status: locks + 200 x latest",
            20,
            Box::new(|j: &Store, _| {
                std::hint::black_box(j.locks().unwrap());
                for env in ENVS {
                    for a in 0..APPS {
                        std::hint::black_box(j.latest(env, &app(a)).unwrap());
                    }
                }
            }),
        ),
        (
            "locks()",
            2_000,
            Box::new(|j: &Store, _| {
                std::hint::black_box(j.locks().unwrap());
            }),
        ),
        (
            "soak: of_version(staging, app, v)",
            2_000,
            Box::new(move |j: &Store, i: usize| {
                std::hint::black_box(
                    j.of_version("staging", &app(i % APPS), &version(n))
                        .unwrap(),
                );
            }),
        ),
        (
            "unfinished()",
            2_000,
            Box::new(|j: &Store, _| {
                std::hint::black_box(j.unfinished().unwrap());
            }),
        ),
        (
            "rollback: of_app(env, app)",
            20,
            Box::new(|j: &Store, i: usize| {
                std::hint::black_box(j.of_app(ENVS[i % 4], &app(i % APPS)).unwrap());
            }),
        ),
        (
            "list()",
            1,
            Box::new(|j: &Store, _| {
                std::hint::black_box(j.list().unwrap());
            }),
        ),
    ]
}

/// Per-call time of `calls` calls of `q` on `j`.
fn time(j: &Store, q: &Query, calls: usize) -> Duration {
    let start = Instant::now();
    for i in 0..calls {
        q(j, i);
    }
    start.elapsed() / calls as u32
}

/// Freeing 100,000 operations leaves glibc's malloc a clean-up that the
/// next large allocation pays (about 150 ms); pay it here, outside the
/// timings, so it is not charged to the next journal measured.
fn settle() {
    std::hint::black_box(vec![0u8; 64 << 10]);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn setup(total: u64, dir: &std::path::Path) -> Journals {
    let empty = Store::open(&dir.join("empty")).unwrap();
    let current = Store::open(&dir.join("current")).unwrap();
    let full = Store::open(&dir.join("full")).unwrap();
    let start = Instant::now();
    let n = fill_history(&full, total);
    let history = full.list().unwrap().len() as u64;
    println!(
        "filled: {history} finished operations ({} envs x {APPS} apps x {n} deploys) in {:.1?}",
        ENVS.len(),
        start.elapsed()
    );
    fill_current(&full, history, n);
    fill_current(&current, history, n);
    let size = std::fs::metadata(dir.join("full/hoist.redb"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("journal file: {:.1} MB", size as f64 / 1e6);
    Journals {
        empty,
        current,
        full,
        n,
    }
}

fn main() {
    let total: u64 = std::env::var("HOIST_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rounds: usize = std::env::var("HOIST_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let dir = tempfile::tempdir().unwrap();
    let j = setup(total, dir.path());
    println!(
        "\n{:<38} {:>11} {:>11} {:>11} {:>9} {:>9}",
        "query (per call, median of rounds)",
        "empty",
        "current",
        "100k hist.",
        "vs empty",
        "vs curr."
    );
    let (mut worst, mut worst_empty) = (0.0f64, 0.0f64);
    for (name, calls, q) in queries(j.n) {
        let (mut e, mut c, mut f) = (Vec::new(), Vec::new(), Vec::new());
        // Warm up every journal's pages, then interleave rounds.
        for s in [&j.empty, &j.current, &j.full] {
            time(s, &q, calls);
        }
        let rounds = if calls == 1 { rounds.min(5) } else { rounds };
        for _ in 0..rounds {
            e.push(time(&j.empty, &q, calls));
            c.push(time(&j.current, &q, calls));
            f.push(time(&j.full, &q, calls));
            settle();
        }
        let (e, c, f) = (median(e), median(c), median(f));
        let request_path = !name.starts_with("rollback") && name != "list()";
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        let (vs_empty, vs_current) = (ratio(f, e), ratio(f, c));
        if request_path {
            worst = worst.max(vs_current);
            worst_empty = worst_empty.max(vs_empty);
        }
        println!(
            "{name:<38} {:>11} {:>11} {:>11} {:>8.2}x {:>8.2}x",
            format!("{e:.1?}"),
            format!("{c:.1?}"),
            format!("{f:.1?}"),
            vs_empty,
            vs_current
        );
    }
    println!(
        "\nrequest-path queries with {total} operations of history: worst {worst:.2}x of the \
         same queries without history (goal: within 2x): {}",
        if worst <= 2.0 { "met" } else { "NOT met" }
    );
    println!(
        "against an empty journal (no answer to decode): worst {worst_empty:.2}x; the \
         difference is decoding the operations answered, not history"
    );
}
