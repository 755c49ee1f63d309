//! High availability (issue 18, "Measure"), run by `benches/ha.sh`. Two
//! parts in one run:
//!
//! 1. **Journal writes** (`ha/journal.rs`): p50/p99 of one transition
//!    journaled in the Kubernetes API (hoist's `KubeJournal` over the
//!    loopback fake API server) against the embedded redb journal, and the
//!    ratio kube/redb.
//! 2. **Failover**: two real `hoist serve` (the release build `cargo bench`
//!    makes), sharing the fake API server (journal, Lease, Argo CD), one
//!    fake Slack and one bare config repo (`tests/slack/failover/pair.rs`).
//!    K deploys to staging (requested alternately through both replicas)
//!    are followed by the leader, their Application kept Progressing. Each
//!    round SIGKILLs the leader and measures, from the kill: the other
//!    replica holding the Lease (takeover), and the other replica following
//!    all K rollouts again (`hoist_rollouts_in_flight` = K: resumed from
//!    the journal). The killed replica is started again (on standby) for
//!    the next round. At the end the Application turns Healthy and every
//!    rollout must be reported healthy exactly once. Goal: takeover and
//!    resume within the lease duration + 2 s; the ratio to the lease
//!    duration is printed.
//!
//! Settings: `HOIST_BENCH_OPS` (journal part, operations per journal,
//! default 300), `HOIST_BENCH_ROLLOUTS` (K, default 20),
//! `HOIST_BENCH_ROUNDS` (kills, default 5), `HOIST_BENCH_LEASE` (duration,
//! renew deadline, retry period; default `3s,2s,250ms`; the production
//! defaults are `15s,10s,2s`). Exits non-zero when a rollout is not
//! reported exactly once or the goal is missed.

#[allow(dead_code)]
#[path = "../tests/slack/failover/pair.rs"]
mod pair;
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "ha/journal.rs"]
mod journal;

use journal::{ms, quantile};
use pair::{Leases, Pair, until};
use std::time::{Duration, Instant};
use support::objects::{argo_healthy, argo_progressing};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `250ms` or `3s`.
fn wait(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Some(n) = text.strip_suffix("ms") {
        return n.parse().ok().map(Duration::from_millis);
    }
    text.strip_suffix('s')?
        .parse()
        .ok()
        .map(Duration::from_secs)
}

fn leases() -> Leases {
    let Ok(text) = std::env::var("HOIST_BENCH_LEASE") else {
        return Leases::FAST;
    };
    let parts: Vec<Duration> = text.split(',').filter_map(wait).collect();
    match parts[..] {
        [duration, renew_deadline, retry] => Leases {
            duration,
            renew_deadline,
            retry,
        },
        _ => {
            panic!("HOIST_BENCH_LEASE={text}: want DURATION,RENEW_DEADLINE,RETRY like 3s,2s,250ms")
        }
    }
}

fn journal_part(ops: u64) {
    println!("== journal: {ops} operations x (1 create + 6 transitions) per journal");
    let (mut redb, mut kube) = journal::run(ops);
    let row = |name: &str, t: &mut journal::Timings| {
        let (p50, p99) = (quantile(&mut t.puts, 0.5), quantile(&mut t.puts, 0.99));
        let c50 = quantile(&mut t.creates, 0.5);
        println!(
            "{name:<22} put p50 {:>7.3} ms  p99 {:>7.3} ms  (create p50 {:>7.3} ms, {} puts)",
            ms(p50),
            ms(p99),
            ms(c50),
            t.puts.len()
        );
        (p50, p99)
    };
    let (r50, r99) = row("redb (Store)", &mut redb);
    let (k50, k99) = row("kubernetes (fake API)", &mut kube);
    println!(
        "ratio kube/redb per put: p50 {:.2}x  p99 {:.2}x \
         (the fake has no etcd behind it: hoist's side of a write only)",
        ms(k50) / ms(r50).max(1e-6),
        ms(k99) / ms(r99).max(1e-6)
    );
}

/// One kill: (kill -> takeover, kill -> all K followed again).
fn one_failover(p: &mut Pair, k: u64) -> (Duration, Duration) {
    let leader = p.leader();
    let other = 1 - leader;
    until(Duration::from_secs(60), "the standby to be up", || {
        p.in_flight(other) == Some(0)
    });
    p.kill(leader);
    let killed = Instant::now();
    let (mut takeover, mut resumed) = (None, None);
    while takeover.is_none() || resumed.is_none() {
        assert!(
            killed.elapsed() < Duration::from_secs(120),
            "no failover in 2 minutes"
        );
        if takeover.is_none() && p.holder() == Some(other) {
            takeover = Some(killed.elapsed());
        }
        if resumed.is_none() && p.in_flight(other).is_some_and(|n| n >= k) {
            resumed = Some(killed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    p.restart(leader);
    (takeover.unwrap(), resumed.unwrap())
}

fn failover_part(k: u64, rounds: u64, leases: Leases) -> bool {
    println!(
        "== failover: {k} rollouts in flight, {rounds} kills, lease {:?} / renew deadline {:?} / retry {:?}",
        leases.duration, leases.renew_deadline, leases.retry
    );
    let mut p = Pair::start(leases);
    let first = p.leader();
    let slow = Duration::from_secs(180);
    for i in 0..k {
        let text = format!("deploy api v1.5.{i} to staging");
        p.slash((i % 2) as usize, "USRE1", &format!("C0BENCH{i:03}"), &text);
    }
    until(slow, "every deploy pushed", || {
        p.hoist_commits().len() as u64 == k
    });
    let ids: Vec<u64> = p.hoist_commits().iter().map(|c| c.operation).collect();
    p.kube.argo("api-staging", argo_progressing(&p.w.tip()));
    until(slow, "the leader to follow every rollout", || {
        p.in_flight(first) == Some(k)
    });
    let (mut takeovers, mut resumes) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let (takeover, resumed) = one_failover(&mut p, k);
        println!(
            "round {round}: kill -> takeover {:>7.0} ms, kill -> {k} followed again {:>7.0} ms",
            ms(takeover),
            ms(resumed)
        );
        takeovers.push(takeover);
        resumes.push(resumed);
    }
    let leader = p.leader();
    until(slow, "the last leader to follow every rollout", || {
        p.in_flight(leader) == Some(k)
    });
    let healthy_at = Instant::now();
    p.kube.argo("api-staging", argo_healthy(&p.w.tip()));
    until(slow, "every rollout reported healthy", || {
        ids.iter().all(|id| p.said(&format!("#{id} healthy (")) > 0)
    });
    let reported = healthy_at.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let wrong: Vec<(u64, usize)> = ids
        .iter()
        .map(|id| (*id, p.said(&format!("#{id} healthy ("))))
        .filter(|(_, n)| *n != 1)
        .collect();
    println!(
        "after {rounds} failovers: healthy -> all {k} reported in {:.0} ms; reported other than once: {wrong:?}",
        ms(reported)
    );
    let goal = leases.duration + Duration::from_secs(2);
    let lease = ms(leases.duration);
    let summary = |name: &str, d: &mut Vec<Duration>| {
        let (p50, max) = (quantile(d, 0.5), quantile(d, 1.0));
        println!(
            "{name:<32} p50 {:>7.0} ms  max {:>7.0} ms  = {:.2}x / {:.2}x the lease duration",
            ms(p50),
            ms(max),
            ms(p50) / lease,
            ms(max) / lease
        );
        max
    };
    let t = summary("kill -> takeover", &mut takeovers);
    let r = summary(&format!("kill -> {k} followed again"), &mut resumes);
    let met = t <= goal && r <= goal;
    println!(
        "goal (lease duration + 2 s = {:.0} ms): {}",
        ms(goal),
        if met { "met" } else { "MISSED" }
    );
    met && wrong.is_empty()
}

fn main() {
    let ops = setting("HOIST_BENCH_OPS", 300);
    let k = setting("HOIST_BENCH_ROLLOUTS", 20);
    let rounds = setting("HOIST_BENCH_ROUNDS", 5);
    let leases = leases();
    journal_part(ops);
    let ok = failover_part(k, rounds, leases);
    println!(
        "reproduce: HOIST_BENCH_OPS={ops} HOIST_BENCH_ROLLOUTS={k} HOIST_BENCH_ROUNDS={rounds} \
         HOIST_BENCH_LEASE={}ms,{}ms,{}ms benches/ha.sh",
        leases.duration.as_millis(),
        leases.renew_deadline.as_millis(),
        leases.retry.as_millis()
    );
    if !ok {
        std::process::exit(1);
    }
}
