//! The Lease touched or deleted by someone else: a label written on a dead
//! holder's Lease must not keep it alive, and a deleted Lease must not make
//! a second leader while the one that held it may still lead (only its
//! leader recreates it at once; anyone else waits a lease duration).

use super::{DURATION, LEASES, NS, RENEW, RETRY, SLACK, setup, wait_until};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn a_dead_holders_lease_whose_labels_keep_changing_is_taken_a_lease_duration_after_it_was_first_seen()
 {
    let s = setup();
    s.fake.put_object(
        LEASES,
        NS,
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "hoist"},
            "spec": {
                "holderIdentity": "replica-gone",
                "leaseDurationSeconds": 2,
                "acquireTime": "2001-01-01T00:00:00.000000Z",
                "renewTime": "2001-01-01T00:00:00.000000Z",
                "leaseTransitions": 2,
            },
        }),
    );
    let started = Instant::now();
    let a = s.replica("replica-a");
    // A GitOps tool keeps labelling it, faster than a reads it: a new
    // resourceVersion at every read, the holder's fields untouched.
    let stop = AtomicBool::new(false);
    let touches = AtomicUsize::new(0);
    let led = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                let Some(mut lease) = s.fake.object(LEASES, NS, "hoist") else {
                    break;
                };
                if lease["spec"]["holderIdentity"] != json!("replica-gone") {
                    break;
                }
                let n = touches.fetch_add(1, Ordering::SeqCst);
                lease["metadata"]["labels"] = json!({"touched": n.to_string()});
                lease["metadata"]["annotations"] = json!({"gitops/sync": n.to_string()});
                s.fake.put_object(LEASES, NS, lease);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        assert!(wait_until(DURATION, || a.elector.holder().is_some()));
        let early = !a.leading();
        let led = wait_until(DURATION * 3, || a.leading());
        stop.store(true, Ordering::SeqCst);
        assert!(early, "took a lease it saw alive a moment ago");
        led
    });
    assert!(
        led,
        "a never took a dead holder's lease that was being labelled"
    );
    let took = a.wait_told(true, SLACK) - started;
    assert!(took >= DURATION, "taken after {took:?}");
    assert!(took < DURATION + RETRY * 2 + SLACK, "taken after {took:?}");
    assert!(
        touches.load(Ordering::SeqCst) >= 10,
        "the labels hardly changed"
    );
    let lease = s.lease();
    assert_eq!(lease["spec"]["holderIdentity"], json!("replica-a"));
    assert_eq!(lease["spec"]["leaseTransitions"], json!(3));
    // Written over the labelled object (compare-and-swap on its version).
    assert!(lease["metadata"]["labels"]["touched"].is_string());
}

#[test]
fn a_deleted_lease_is_recreated_by_its_leader_and_the_other_never_leads() {
    let s = setup();
    let (a, b) = (s.replica("replica-a"), s.replica("replica-b"));
    let leader = super::the_leader(&[&a, &b], DURATION * 2);
    let follower = if leader.name == a.name { &b } else { &a };
    assert!(wait_until(DURATION, || follower.elector.holder().is_some()));

    for _ in 0..3 {
        assert!(
            s.fake.delete_object(LEASES, NS, "hoist"),
            "no lease to delete"
        );
        let watched = Instant::now();
        while watched.elapsed() < RETRY * 3 {
            assert!(
                !follower.leading(),
                "two leaders after the lease was deleted"
            );
            assert!(leader.leading(), "the leader lost a lease nobody else took");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            wait_until(SLACK, || s.fake.object(LEASES, NS, "hoist").is_some()),
            "the leader did not recreate the lease"
        );
    }
    // And for longer than the follower would wait on a lease left gone.
    let watched = Instant::now();
    while watched.elapsed() < DURATION + RETRY * 2 {
        assert!(leader.leading() && !follower.leading());
        std::thread::sleep(Duration::from_millis(10));
    }
    let lease = s.lease();
    assert_eq!(lease["spec"]["holderIdentity"], json!(leader.name));
    assert_eq!(lease["spec"]["leaseTransitions"], json!(0));
    assert_eq!(leader.told(), [true]);
    assert_eq!(follower.told(), Vec::<bool>::new());
}

#[test]
fn a_lease_deleted_while_its_leader_is_cut_off_is_taken_after_it_stepped_down_and_a_lease_duration()
{
    let s = setup();
    let a = s.replica("replica-a");
    assert!(wait_until(DURATION * 2, || a.leading()), "a never led");
    let a_elector = a.elector.clone();
    let a_leading_when_b_took_over: Arc<Mutex<Vec<bool>>> = Arc::default();
    let seen = a_leading_when_b_took_over.clone();
    let b = s.replica_with("replica-b", move |leading| {
        if leading {
            seen.lock().unwrap().push(a_elector.leading());
        }
    });
    assert!(wait_until(DURATION, || b.elector.holder().as_deref()
        == Some("replica-a")));

    // a's calls fail (it goes on leading until its renew deadline) and the
    // lease is deleted: b's next read finds none.
    let cut = Instant::now();
    s.fake.fail_for("replica-a", Some(500));
    assert!(s.fake.delete_object(LEASES, NS, "hoist"));
    let stepped_down = a.wait_told(false, RENEW + RETRY + SLACK);
    assert!(
        wait_until(DURATION * 3, || b.leading()),
        "b never created the lease"
    );
    let took_over = b.wait_told(true, SLACK);
    assert!(stepped_down < took_over, "b led before a stepped down");
    assert_eq!(*a_leading_when_b_took_over.lock().unwrap(), [false]);
    // A lease duration from its first 404, not at once nor from the last
    // record it saw change.
    let after = took_over - cut;
    assert!(after >= DURATION, "b created it {after:?} after the delete");
    assert!(
        after < DURATION + RETRY * 2 + SLACK,
        "b created it after {after:?}"
    );
    let lease = s.lease();
    assert_eq!(lease["spec"]["holderIdentity"], json!("replica-b"));
    assert_eq!(lease["spec"]["leaseTransitions"], json!(1));
    s.fake.fail_for("replica-a", None);
}

#[test]
fn a_fresh_install_creates_the_lease_at_once_but_a_replica_that_saw_one_waits_after_a_delete() {
    let s = setup();
    let started = Instant::now();
    let a = s.replica("replica-a");
    assert!(wait_until(DURATION, || a.leading()), "a never led");
    let first = a.wait_told(true, SLACK) - started;
    assert!(first < RETRY + SLACK, "a fresh install led after {first:?}");

    // a steps down (cut off); meanwhile the lease is deleted. Having
    // stepped down, a cannot know that nobody took it since: it waits.
    s.fake.fail_for("replica-a", Some(500));
    a.wait_told(false, RENEW + RETRY + SLACK);
    assert!(s.fake.delete_object(LEASES, NS, "hoist"));
    let healed = Instant::now();
    s.fake.fail_for("replica-a", None);
    while healed.elapsed() < DURATION - SLACK {
        assert!(
            !a.leading(),
            "recreated {:?} after healing",
            healed.elapsed()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        wait_until(RETRY * 3 + SLACK * 2, || a.leading()),
        "a never recreated the lease"
    );
    let again = a.wait_told(true, SLACK) - healed;
    assert!(again >= DURATION, "recreated after {again:?}");
    assert_eq!(a.told(), [true, false, true]);
    let lease = s.lease();
    assert_eq!(lease["spec"]["holderIdentity"], json!("replica-a"));
    assert_eq!(lease["spec"]["leaseTransitions"], json!(1));
}
