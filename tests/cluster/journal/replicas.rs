//! Two replicas' journals (each its own connection) sharing one fake API
//! server: a write based on a stale read is a `Conflict` and writes
//! nothing, ids never collide (taken in turn or from two threads at once),
//! one event is new to exactly one replica, locks are taken and released by
//! compare-and-swap, and a replica the API refuses fails alone.

use super::{Api, KEYS, OPERATIONS};
use hoist::engine::ports::Journal;
use hoist::engine::{Lock, State};
use hoist::ha::{Kube, Options};
use hoist::store::KubeJournal;
use hoist::store::conformance::{At, operation};
use std::collections::BTreeSet;
use std::sync::Arc;

fn state_on_server(api: &Api, id: u64) -> String {
    let obj = api
        .fake
        .object(OPERATIONS, "hoist", &format!("op-{id}"))
        .unwrap();
    obj["spec"]["state"].as_str().unwrap().to_string()
}

#[test]
fn a_put_based_on_a_stale_read_is_a_conflict_and_writes_nothing() {
    let api = Api::start();
    let (a, b) = (api.journal("hoist"), api.journal("hoist"));
    let mut op = operation(0, "staging", &["api"], "v1", 10);
    a.create(&mut op).unwrap();
    let mut at_b = b.get(op.id).unwrap().unwrap();

    op.enter(State::Approved, 20);
    a.put(&op).unwrap();
    at_b.enter(State::Cancelled, 21);
    let e = b.put(&at_b).unwrap_err();
    assert_eq!(e.kind(), "journal_conflict", "{}", e.report());
    assert!(e.report().contains("operation 1"), "{}", e.report());
    assert_eq!(state_on_server(&api, 1), "approved", "nothing written");
    assert_eq!(b.get(1).unwrap(), Some(op.clone()));

    // Read again, decide again: now it is written.
    let mut again = b.get(1).unwrap().unwrap();
    again.enter(State::Cancelled, 22);
    b.put(&again).unwrap();
    assert_eq!(state_on_server(&api, 1), "cancelled");
    assert!(a.unfinished().unwrap().is_empty());
    // A stale A now conflicts in turn; a put_all stops there.
    let mut second = operation(0, "staging", &["web"], "v1", 30);
    a.create(&mut second).unwrap();
    op.enter(State::Committed { sha: "abc".into() }, 31);
    second.enter(State::Approved, 31);
    let e = a.put_all(&[&second, &op]).unwrap_err();
    assert_eq!(e.kind(), "journal_conflict");
    assert_eq!(
        state_on_server(&api, 2),
        "approved",
        "the first was written"
    );
    assert_eq!(state_on_server(&api, 1), "cancelled");

    // A journal that never read an operation never overwrites it.
    let c = api.journal("hoist");
    let e = c.put(&op).unwrap_err();
    assert_eq!(e.kind(), "journal_conflict");
    assert_eq!(state_on_server(&api, 1), "cancelled");
}

#[test]
fn ids_from_two_replicas_never_collide() {
    let api = Api::start();
    let (a, b) = (api.journal("hoist"), api.journal("hoist"));
    let mut ids = Vec::new();
    for n in 0..10 {
        for j in [&a, &b] {
            let mut op = operation(0, "staging", &["api"], "v1", n);
            j.create(&mut op).unwrap();
            ids.push(op.id);
        }
    }
    assert_eq!(ids, (1..=20).collect::<Vec<_>>(), "in turn, each the next");

    // At once, from two threads of each replica.
    let (a, b) = (Arc::new(a), Arc::new(b));
    let workers: Vec<_> = [&a, &b, &a, &b]
        .into_iter()
        .map(|j| {
            let j = j.clone();
            std::thread::spawn(move || {
                (0..15)
                    .map(|n| {
                        let mut op = operation(0, "prod", &["api"], "v1", n);
                        j.create(&mut op).unwrap();
                        op.id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), 60, "{all:?}");
    all.sort_unstable();
    assert!(all[0] > 20);
    let listed = a.list().unwrap();
    assert_eq!(listed.len(), 80);
    for op in listed.iter().filter(|op| op.id > 20) {
        assert_eq!(
            op.env, "prod",
            "operation {} is the one its creator wrote",
            op.id
        );
    }
}

#[test]
fn a_replica_that_slept_through_many_creates_takes_the_next_id_at_once() {
    let api = Api::start();
    let a = api.journal("hoist");
    let mut op = operation(0, "staging", &["api"], "v1", 10);
    a.create(&mut op).unwrap();
    // Another replica created 1,500 operations meanwhile.
    for id in 2..=1501 {
        let spec = serde_json::json!({"id": id});
        let object = super::op_object(&format!("op-{id}"), serde_json::json!({}), spec);
        api.forge(OPERATIONS, "hoist", object);
    }
    let posts = |api: &Api| {
        let requests = api.fake.requests();
        requests.iter().filter(|(m, _, _)| m == "POST").count()
    };
    let before = posts(&api);
    let mut next = operation(0, "staging", &["api"], "v2", 11);
    a.create(&mut next).unwrap();
    assert_eq!(next.id, 1502);
    assert!(posts(&api) - before <= 4, "it learned the highest id again");
}

#[test]
fn an_event_is_new_to_exactly_one_replica() {
    let api = Api::start();
    let (a, b) = (
        Arc::new(api.journal("hoist")),
        Arc::new(api.journal("hoist")),
    );
    let keys: Vec<String> = (0..30).map(|n| format!("slack:event:Ev{n}")).collect();
    let run = |j: Arc<KubeJournal>, keys: Vec<String>| {
        std::thread::spawn(move || {
            keys.iter()
                .map(|k| j.first_seen(k, 5).unwrap())
                .collect::<Vec<_>>()
        })
    };
    let (at_a, at_b) = (run(a.clone(), keys.clone()), run(b.clone(), keys.clone()));
    let (at_a, at_b) = (at_a.join().unwrap(), at_b.join().unwrap());
    for (n, (x, y)) in at_a.iter().zip(&at_b).enumerate() {
        assert!(x ^ y, "{}: new to A {x}, to B {y}", keys[n]);
    }
    assert_eq!(api.fake.list_objects(KEYS).len(), 30);
    // Pruned by one replica, the key is new again to the other.
    assert_eq!(a.prune(6).unwrap().dedupe_keys, 30);
    assert!(b.first_seen(&keys[0], 7).unwrap());
    assert_eq!(b.prune(6).unwrap().dedupe_keys, 0, "nothing twice");
}

fn lock(holder: &str) -> Lock {
    Lock {
        env: "prod".into(),
        app: Some("api".into()),
        holder: holder.into(),
        reason: "release".into(),
        since: 10,
        until: None,
        operation: None,
    }
}

#[test]
fn locks_and_notes_are_written_by_compare_and_swap() {
    let api = Api::start();
    let (a, b) = (api.journal("hoist"), api.journal("hoist"));
    a.put_lock(&lock("console:alice")).unwrap();
    // B never read it: taking the same scope is a conflict, not a takeover.
    assert_eq!(
        b.put_lock(&lock("console:bob")).unwrap_err().kind(),
        "journal_conflict"
    );
    assert_eq!(b.locks().unwrap(), [lock("console:alice")]);
    a.put_lock(&lock("console:carol")).unwrap();
    // B's read is stale now.
    assert_eq!(
        b.put_lock(&lock("console:bob")).unwrap_err().kind(),
        "journal_conflict"
    );
    let removed = b.remove_lock("prod", Some("api")).unwrap();
    assert_eq!(removed, Some(lock("console:carol")));
    assert_eq!(a.remove_lock("prod", Some("api")).unwrap(), None);
    assert!(a.locks().unwrap().is_empty());

    // Notes: the last writer wins, whoever read what.
    a.remember("slack:live:7", "C1/1.0").unwrap();
    b.remember("slack:live:7", "C1/2.0").unwrap();
    a.remember("slack:live:7", "C1/3.0").unwrap();
    assert_eq!(b.recall("slack:live:7").unwrap().as_deref(), Some("C1/3.0"));
}

#[test]
fn a_replica_the_api_refuses_fails_alone() {
    let api = Api::start();
    let connect = |token: &str| {
        let options = Options {
            kubeconfig: Some(api.fake.kubeconfig_with_token(api.dir.path(), token)),
            namespace: Some("hoist".into()),
            call_timeout: None,
        };
        let kube = Arc::new(Kube::connect(&options).unwrap());
        KubeJournal::new(kube, Arc::new(At::new(100)), super::KEY).unwrap()
    };
    let (a, b) = (connect("replica-a"), connect("replica-b"));
    api.fake.fail_for("replica-a", Some(500));
    let mut op = operation(0, "staging", &["api"], "v1", 10);
    let e = a.create(&mut op).unwrap_err();
    assert_eq!(e.kind(), "journal_storage");
    assert!(e.report().contains("500"), "{}", e.report());
    b.create(&mut op).unwrap();
    assert_eq!(b.get(op.id).unwrap(), Some(op));
}
