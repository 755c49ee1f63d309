//! Leader election (`hoist::ha::lease`) against the fake API server on
//! loopback: real kube clients, each replica with its own bearer token so
//! the fake can fail one of them alone. Short timings (lease 2 s, renew
//! deadline 1.2 s, retry 200 ms); every wait polls with a deadline. The
//! callbacks record when they ran, so the order of a step-down and a
//! takeover is checked on one clock.

use crate::support::kube::FakeKube;
use hoist::ha::lease::{Elector, LeaseConfig};
use hoist::ha::{Kube, Options};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NS: &str = "hoist";
const LEASES: &str = "coordination.k8s.io/v1/leases";
const DURATION: Duration = Duration::from_secs(2);
const RENEW: Duration = Duration::from_millis(1200);
const RETRY: Duration = Duration::from_millis(200);
/// Room for a loaded machine (two cores shared by every test).
const SLACK: Duration = Duration::from_millis(400);

/// What one replica's callback was told, and when.
type Changes = Arc<Mutex<Vec<(bool, Instant)>>>;

struct Replica {
    elector: Arc<Elector>,
    changes: Changes,
    name: String,
}

impl Replica {
    fn leading(&self) -> bool {
        self.elector.leading()
    }

    fn told(&self) -> Vec<bool> {
        self.changes.lock().unwrap().iter().map(|c| c.0).collect()
    }

    /// When the callback is told `leading` (it runs on its own thread, a
    /// moment after `leading()` changed); panics after `within`.
    fn wait_told(&self, leading: bool, within: Duration) -> Instant {
        assert!(
            wait_until(within, || self.told_at(leading).is_some()),
            "{} was never told leading={leading}",
            self.name
        );
        self.told_at(leading).unwrap()
    }

    /// When the callback was last told `leading`.
    fn told_at(&self, leading: bool) -> Option<Instant> {
        let changes = self.changes.lock().unwrap();
        changes.iter().rev().find(|c| c.0 == leading).map(|c| c.1)
    }
}

struct Setup {
    fake: FakeKube,
    dir: tempfile::TempDir,
}

fn setup() -> Setup {
    Setup {
        fake: FakeKube::start(),
        dir: tempfile::tempdir().unwrap(),
    }
}

fn config(identity: &str) -> LeaseConfig {
    LeaseConfig {
        name: "hoist".into(),
        identity: identity.into(),
        duration: DURATION,
        renew_deadline: RENEW,
        retry_period: RETRY,
    }
}

impl Setup {
    /// A replica named `name` whose calls carry bearer `name`; `also` runs
    /// in its callback before the change is recorded.
    fn replica_with(&self, name: &str, also: impl Fn(bool) + Send + 'static) -> Replica {
        let kube = Kube::connect(&Options {
            kubeconfig: Some(self.fake.kubeconfig_with_token(self.dir.path(), name)),
            namespace: Some(NS.into()),
            call_timeout: Some(Duration::from_secs(2)),
        })
        .expect("connects to the fake");
        let changes: Changes = Arc::default();
        let record = changes.clone();
        let on_change = Box::new(move |leading: bool| {
            also(leading);
            record.lock().unwrap().push((leading, Instant::now()));
        });
        let elector = Elector::start(Arc::new(kube), config(name), on_change);
        Replica {
            elector: Arc::new(elector),
            changes,
            name: name.into(),
        }
    }

    fn replica(&self, name: &str) -> Replica {
        self.replica_with(name, |_| {})
    }

    fn lease(&self) -> serde_json::Value {
        self.fake
            .object(LEASES, NS, "hoist")
            .expect("the lease exists")
    }
}

/// Poll `done` every 10 ms until it holds or `within` passed.
fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The one of `replicas` that leads, once exactly one does.
fn the_leader<'a>(replicas: &[&'a Replica], within: Duration) -> &'a Replica {
    let mut found = None;
    let one = wait_until(within, || {
        let leading: Vec<_> = replicas.iter().filter(|r| r.leading()).collect();
        found = (leading.len() == 1).then(|| *leading[0]);
        found.is_some()
    });
    assert!(one, "no single leader within {within:?}");
    found.unwrap()
}

#[test]
fn one_of_two_replicas_leads_and_the_other_waits() {
    let s = setup();
    let (a, b) = (s.replica("replica-a"), s.replica("replica-b"));
    let leader = the_leader(&[&a, &b], DURATION * 2);
    let follower = if leader.name == a.name { &b } else { &a };

    // Several rounds of renewals: never both, always the same one.
    let watched = Instant::now();
    while watched.elapsed() < DURATION + RENEW {
        assert!(leader.leading(), "the leader lost the lease while renewing");
        assert!(!follower.leading(), "two leaders");
        std::thread::sleep(Duration::from_millis(10));
    }
    let lease = s.lease();
    assert_eq!(lease["spec"]["holderIdentity"], json!(leader.name));
    assert_eq!(lease["spec"]["leaseDurationSeconds"], json!(2));
    assert_eq!(lease["spec"]["leaseTransitions"], json!(0));
    assert!(lease["spec"]["acquireTime"].is_string());
    assert!(lease["spec"]["renewTime"].is_string());
    assert_eq!(leader.told(), [true]);
    assert_eq!(follower.told(), Vec::<bool>::new());
    assert_eq!(
        follower.elector.holder().as_deref(),
        Some(leader.name.as_str())
    );
    assert_eq!(
        leader.elector.holder().as_deref(),
        Some(leader.name.as_str())
    );
}

#[test]
fn a_released_leader_hands_over_within_a_retry_period_not_a_lease_duration() {
    let s = setup();
    let (a, b) = (s.replica("replica-a"), s.replica("replica-b"));
    let leader = the_leader(&[&a, &b], DURATION * 2);
    let follower = if leader.name == a.name { &b } else { &a };
    // The follower has seen the leader's renewals.
    assert!(wait_until(DURATION, || follower.elector.holder().is_some()));

    let released = Instant::now();
    leader.elector.release();
    assert!(
        released.elapsed() < RENEW + SLACK,
        "release took {:?}",
        released.elapsed()
    );
    assert!(!leader.leading());
    assert_eq!(leader.told(), [true, false], "stepped down once, told once");
    assert!(wait_until(DURATION * 2, || follower.leading()));
    let handover = follower.wait_told(true, SLACK) - released;
    // Expiry would need the whole lease duration of silence.
    assert!(
        handover < RETRY * 2 + SLACK,
        "handed over after {handover:?}"
    );
    assert!(leader.told_at(false).unwrap() <= follower.told_at(true).unwrap());
    let lease = s.lease();
    assert_eq!(lease["spec"]["holderIdentity"], json!(follower.name));
    assert_eq!(lease["spec"]["leaseTransitions"], json!(1));

    // The released one campaigns no more.
    let watched = Instant::now();
    while watched.elapsed() < DURATION {
        assert!(!leader.leading() && follower.leading());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(leader.told(), [true, false]);
    assert_eq!(follower.told(), [true]);
}

#[test]
fn a_leader_the_api_fails_steps_down_before_the_other_takes_over() {
    let s = setup();
    let a = s.replica("replica-a");
    assert!(wait_until(DURATION * 2, || a.leading()), "a never led");
    // b's callback looks at a the moment b is told it leads.
    let a_elector = a.elector.clone();
    let a_leading_when_b_took_over: Arc<Mutex<Vec<bool>>> = Arc::default();
    let seen = a_leading_when_b_took_over.clone();
    let b = s.replica_with("replica-b", move |leading| {
        if leading {
            seen.lock().unwrap().push(a_elector.leading());
        }
    });
    assert!(wait_until(DURATION, || b.elector.holder().is_some()));
    assert!(!b.leading());

    // Split brain: the API answers 500 to a alone.
    let cut = Instant::now();
    s.fake.fail_for("replica-a", Some(500));
    assert!(
        wait_until(RENEW + RETRY + SLACK, || !a.leading()),
        "a kept leading {:?} without a renewal",
        cut.elapsed()
    );
    let stepped_down = a.wait_told(false, SLACK);
    assert!(
        stepped_down - cut <= RENEW + RETRY + SLACK,
        "a stepped down {:?} after the API failed it",
        stepped_down - cut
    );
    assert!(
        wait_until(DURATION * 3, || b.leading()),
        "b never took over"
    );
    let took_over = b.wait_told(true, SLACK);
    assert!(
        stepped_down < took_over,
        "b took over before a stepped down"
    );
    assert_eq!(*a_leading_when_b_took_over.lock().unwrap(), [false]);
    // b waited a whole lease duration of silence, seen on its own clock.
    assert!(
        took_over - cut >= DURATION - RETRY * 2,
        "b took over {:?} after a's last renewal",
        took_over - cut
    );
    assert_eq!(s.lease()["spec"]["holderIdentity"], json!("replica-b"));
    assert_eq!(s.lease()["spec"]["leaseTransitions"], json!(1));

    // a heals and finds b leading: it stays a follower.
    s.fake.fail_for("replica-a", None);
    assert!(wait_until(DURATION, || a.elector.holder().as_deref()
        == Some("replica-b")));
    let watched = Instant::now();
    while watched.elapsed() < DURATION {
        assert!(!a.leading() && b.leading(), "a took the lease back");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(a.told(), [true, false]);
    assert_eq!(b.told(), [true]);
}

#[test]
fn a_lease_left_by_a_dead_replica_is_taken_a_lease_duration_after_it_was_first_seen() {
    let s = setup();
    // Written long ago by a replica that is gone, under a hostile name.
    let dead = format!("dead\nreplica\u{202e} {}", "x".repeat(500));
    s.fake.put_object(
        LEASES,
        NS,
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "hoist"},
            "spec": {
                "holderIdentity": dead,
                "leaseDurationSeconds": 2,
                "acquireTime": "2001-01-01T00:00:00.000000Z",
                "renewTime": "2001-01-01T00:00:00.000000Z",
                "leaseTransitions": 4,
            },
        }),
    );
    let started = Instant::now();
    let a = s.replica("replica-a");
    assert!(wait_until(DURATION, || a.elector.holder().is_some()));
    let shown = a.elector.holder().unwrap();
    assert!(shown.starts_with("dead replica"), "{shown:?}");
    assert!(!shown.contains('\n') && !shown.contains('\u{202e}'));
    assert!(shown.chars().count() <= 128);
    assert!(!a.leading(), "took a lease it saw alive a moment ago");

    assert!(wait_until(DURATION * 3, || a.leading()), "a never took it");
    let took = a.wait_told(true, SLACK) - started;
    // Not at once, though its renewTime says 2001: from first sight.
    assert!(took >= DURATION, "taken after {took:?}");
    assert!(took < DURATION + RETRY * 2 + SLACK, "taken after {took:?}");
    let lease = s.lease();
    assert_eq!(lease["spec"]["holderIdentity"], json!("replica-a"));
    assert_eq!(lease["spec"]["leaseTransitions"], json!(5));
    assert_ne!(
        lease["spec"]["acquireTime"],
        json!("2001-01-01T00:00:00.000000Z")
    );
}

#[test]
fn a_lease_someone_keeps_renewing_is_never_taken() {
    let s = setup();
    let lease = |n: u32| {
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "hoist"},
            "spec": {
                "holderIdentity": "elsewhere",
                "leaseDurationSeconds": 2,
                // A clock far behind: only the change counts.
                "renewTime": format!("1999-01-01T00:00:{:02}.000000Z", n % 60),
            },
        })
    };
    s.fake.put_object(LEASES, NS, lease(0));
    let a = s.replica("replica-a");
    let mut n = 0;
    let started = Instant::now();
    while started.elapsed() < DURATION * 2 {
        n += 1;
        s.fake.put_object(LEASES, NS, lease(n));
        assert!(!a.leading(), "took a lease renewed every 500 ms");
        let pause = Instant::now();
        while pause.elapsed() < Duration::from_millis(500) {
            assert!(!a.leading());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    assert_eq!(a.elector.holder().as_deref(), Some("elsewhere"));
    assert_eq!(a.told(), Vec::<bool>::new());
}

#[test]
fn leading_falls_at_once_while_a_blocking_callback_still_runs_and_changes_stay_in_order() {
    let s = setup();
    // Taking over resumes work for a while: the callback blocks.
    let resuming = DURATION + RENEW;
    let a = s.replica_with("replica-a", move |leading| {
        if leading {
            std::thread::sleep(resuming);
        }
    });
    assert!(wait_until(DURATION * 2, || a.leading()), "a never led");
    s.fake.fail_for("replica-a", Some(500));
    assert!(
        wait_until(RENEW + RETRY + SLACK, || !a.leading()),
        "a kept leading without a renewal"
    );
    assert_eq!(
        a.told(),
        Vec::<bool>::new(),
        "the callback already returned"
    );
    let stopped = a.wait_told(false, resuming + SLACK);
    assert!(a.told_at(true).unwrap() <= stopped);
    assert_eq!(a.told(), [true, false]);
}

#[test]
fn a_release_whose_work_does_not_stop_in_time_leaves_the_lease_to_expire() {
    let s = setup();
    let a = s.replica_with("replica-a", |leading| {
        if !leading {
            std::thread::sleep(RENEW * 2);
        }
    });
    assert!(wait_until(DURATION * 2, || a.leading()), "a never led");
    a.wait_told(true, SLACK);
    let released = Instant::now();
    a.elector.release();
    let took = released.elapsed();
    assert!(
        took >= RENEW && took < RENEW + SLACK,
        "release took {took:?}"
    );
    assert!(!a.leading());
    // Nobody may start before the work stopped: the lease stays a's.
    assert_eq!(s.lease()["spec"]["holderIdentity"], json!("replica-a"));
}

#[path = "lease/gone.rs"]
mod gone;
