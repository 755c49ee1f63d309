//! High availability seen from Slack (issue 18): two real `hoist serve`
//! processes share one journal and one Lease in the (fake) Kubernetes API,
//! one config repo and one Slack. Requests go alternately to both; only the
//! leader follows rollouts. When the leader is SIGKILLed amid 20 rollouts and
//! two prod deploys waiting for their second approval, the other replica
//! takes the Lease within the lease duration, reports every rollout's end
//! once, and completes both quorums: one commit per operation, every
//! approval kept. A leader the API server stops answering (500 to its token
//! only) steps down before the other replica may take over, so two replicas
//! never act as leader at once.

#[path = "failover/pair.rs"]
mod pair;

use super::*;
use pair::*;
use support::objects::{argo_healthy, argo_progressing};

/// How long a Lease lasts unrenewed in these tests.
const LEASE: Duration = Leases::FAST.duration;

/// Deploy `n` versions of `api` to staging (`v1.MINOR.k`), alternately
/// through each replica, each in a channel of its own (Slack paces posts
/// per channel); wait for all to be pushed, make Argo CD report them
/// progressing, and wait until each is said to be. Their operation ids.
fn rollouts_in_flight(p: &Pair, n: usize, minor: usize) -> Vec<u64> {
    for k in 0..n {
        let text = format!("deploy api v1.{minor}.{k} to staging");
        p.slash(k % 2, "USRE1", &format!("C0TEAM{minor}{k:02}"), &text);
    }
    let staging = || -> Vec<u64> {
        p.hoist_commits()
            .into_iter()
            .filter(|c| c.subject.contains(&format!("v1.{minor}.")))
            .map(|c| c.operation)
            .collect()
    };
    until(3 * WAIT, &format!("{n} staging commits"), || {
        staging().len() == n
    });
    p.kube.argo("api-staging", argo_progressing(&p.w.tip()));
    let ids = staging();
    until(3 * WAIT, "every rollout to be said progressing", || {
        ids.iter()
            .all(|id| p.said(&format!("#{id} api: progressing")) > 0)
    });
    ids
}

/// Each of `ids` was said healthy exactly once (after a moment for a
/// second report to show).
fn each_said_healthy_once(p: &Pair, ids: &[u64]) {
    std::thread::sleep(Duration::from_millis(500));
    for id in ids {
        let ends = p.said(&format!("#{id} healthy ("));
        assert_eq!(ends, 1, "#{id} was said healthy {ends} times");
    }
}

/// Hoist's edit of operation `id`'s live message saying it has one of
/// its two approvals.
fn has_one_of_two(p: &Pair, id: u64) -> bool {
    p.slack.calls_of("chat.update").iter().any(|c| {
        let text = c.args["text"].as_str().unwrap_or("");
        text.contains(&format!("#{id} ")) && text.contains("(1 of 2)")
    })
}

#[test]
fn the_leader_killed_amid_twenty_rollouts_and_two_approvals_the_other_replica_carries_each_once() {
    let mut p = Pair::start(Leases::FAST);
    let first = p.leader();
    let other = 1 - first;
    // Two prod deploys waiting for two approvals each, asked through one
    // replica each; the first approval of each through the other replica.
    p.slash(0, "UALICE", "C0DEPLOY", "deploy api v1.2.4 to prod");
    p.slash(1, "UALICE", "C0DEPLOY", "deploy web v3.5.0 to prod");
    let (api, api_ts) = p.awaiting("deploy api v1.2.4 to prod");
    let (web, web_ts) = p.awaiting("deploy web v3.5.0 to prod");
    p.approve(1, "USRE1", &api_ts);
    p.approve(0, "USRE1", &web_ts);
    until(WAIT, "the first approval of each", || {
        has_one_of_two(&p, api) && has_one_of_two(&p, web)
    });
    let rollouts = rollouts_in_flight(&p, 20, 3);
    until(WAIT, "the leader to follow the 20 rollouts", || {
        p.in_flight(first) == Some(20)
    });
    assert_eq!(p.in_flight(other), Some(0), "the standby follows nothing");

    p.kill(first);
    let killed = Instant::now();
    // Requests are served by the replica left, leader or not yet.
    p.approve(other, "USRE2", &api_ts);
    p.approve(other, "USRE2", &web_ts);
    until(LEASE + Duration::from_secs(2), "the takeover", || {
        p.holder() == Some(other)
    });
    let takeover = killed.elapsed();
    eprintln!("failover: the Lease taken over {takeover:?} after the kill (lease {LEASE:?})");
    until(WAIT, "the 20 rollouts followed again", || {
        p.in_flight(other).is_some_and(|n| n >= 20)
    });
    p.kube.argo("api-staging", argo_healthy(&p.w.tip()));
    until(2 * WAIT, "every rollout's end", || {
        rollouts
            .iter()
            .all(|id| p.said(&format!("#{id} healthy (")) > 0)
    });

    let prod = || -> Vec<HoistCommit> {
        p.hoist_commits()
            .into_iter()
            .filter(|c| c.subject.contains("to prod"))
            .collect()
    };
    until(WAIT, "both prod commits", || prod().len() == 2);
    let tip = p.w.tip();
    p.kube.argo("api-prod", argo_healthy(&tip));
    p.kube.argo("web-prod", argo_healthy(&tip));
    until(WAIT, "the prod rollouts' ends", || {
        [api, web]
            .iter()
            .all(|id| p.said(&format!("#{id} healthy (")) > 0)
    });
    let mut all = rollouts;
    all.extend([api, web]);
    each_said_healthy_once(&p, &all);

    let commits = p.hoist_commits();
    for id in &all {
        let n = commits.iter().filter(|c| c.operation == *id).count();
        assert_eq!(n, 1, "#{id} has {n} commits: {commits:#?}");
    }
    assert_eq!(commits.len(), all.len(), "{commits:#?}");
    for c in prod() {
        assert_eq!(c.approvers, ["slack:USRE1", "slack:USRE2"], "{c:?}");
    }
}

#[test]
fn a_leader_the_api_server_refuses_steps_down_before_the_other_replica_takes_over() {
    let p = Pair::start(Leases::FAST);
    let old = p.leader();
    let new = 1 - old;
    let rollouts = rollouts_in_flight(&p, 4, 4);
    until(WAIT, "the leader to follow the 4 rollouts", || {
        p.in_flight(old) == Some(4)
    });

    // The API server answers 500 to the leader only.
    let lease_calls = |who: usize| {
        p.kube
            .requests()
            .iter()
            .filter(|(_, path, token)| {
                path.contains("/leases/") && token.as_deref() == Some(NAMES[who])
            })
            .count()
    };
    p.kube.fail_for(NAMES[old], Some(500));
    let tried_before = lease_calls(old);
    let cut = Instant::now();
    // The Lease as the old leader last wrote it, then as the new one took it.
    let mut last_old = None;
    let taken = loop {
        let spec = p.lease().expect("the Lease exists");
        let pod = spec["holderIdentity"]
            .as_str()
            .and_then(|h| h.rsplit_once('_'));
        if pod.map(|(pod, _)| pod) == Some(NAMES[new]) {
            break spec;
        }
        assert!(
            cut.elapsed() < LEASE + Duration::from_secs(3),
            "the other replica did not take the Lease: {spec}"
        );
        last_old = Some(spec);
        std::thread::sleep(Duration::from_millis(10));
    };
    let last_old = last_old.expect("the old leader held the Lease");
    eprintln!(
        "split brain: the Lease taken over {:?} after the cut",
        cut.elapsed()
    );
    let renewed = time(&last_old, "renewTime");
    let acquired = time(&taken, "acquireTime");
    until(WAIT, "the old leader's step down in its log", || {
        !p.stepped_down(old).is_empty()
    });
    let down = *p.stepped_down(old).last().unwrap();
    eprintln!("split brain: last renewal {renewed}, stepped down {down}, taken over {acquired}");
    assert!(
        down < acquired,
        "the old leader stepped down at {down}, after the new one took over at {acquired}"
    );
    let waited = acquired.duration_since(renewed);
    assert!(
        waited >= jiff::SignedDuration::try_from(LEASE).unwrap(),
        "taken {waited:?} after the old leader's last renewal at {renewed}: less than the lease"
    );
    assert!(
        down.duration_since(renewed) < jiff::SignedDuration::try_from(LEASE).unwrap(),
        "the old leader stepped down at {down}, its lease ran out at {renewed} + {LEASE:?}"
    );
    assert!(
        lease_calls(old) > tried_before,
        "the old leader is cut off, not gone: it kept asking for the Lease"
    );
    assert_eq!(p.in_flight(old), Some(0), "the old leader follows nothing");

    until(WAIT, "the new leader to follow the 4 rollouts", || {
        p.in_flight(new) == Some(4)
    });
    p.kube.argo("api-staging", argo_healthy(&p.w.tip()));
    until(WAIT, "every rollout's end", || {
        rollouts
            .iter()
            .all(|id| p.said(&format!("#{id} healthy (")) > 0)
    });
    each_said_healthy_once(&p, &rollouts);
    assert_eq!(
        p.in_flight(old),
        Some(0),
        "the old leader still follows nothing"
    );
}
