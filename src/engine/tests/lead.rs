//! Leadership between replicas, on in-memory ports shared by two engines
//! (one config repo, one journal): the replica that does not lead serves
//! requests and follows nothing; the leader adopts what it pushed; a leader
//! that steps down lets go at once, and the next one carries on to the end.
//! A vote that lost a compare-and-swap to another replica is decided again.

use super::super::State;
use super::super::ports::{Journal, JournalError};
use super::gated::Gated;
use super::*;
use crate::cluster::Simulated;
use std::sync::atomic::AtomicU32;
use std::time::Instant;

/// A second engine (replica) over the same repo and journal as `w`.
fn replica(w: &World, cluster: Arc<dyn Cluster>) -> Arc<Engine> {
    Engine::new(
        w.repo.clone(),
        w.journal.clone(),
        Some(cluster),
        w.said.clone(),
        w.clock.clone(),
        Settings::default(),
    )
}

/// Wait (bounded) until `done` holds.
fn until(what: &str, done: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_replica_on_standby_pushes_and_the_leader_follows_what_it_pushed() {
    let cluster: Arc<dyn Cluster> = Arc::new(Simulated::new(Duration::from_millis(1)));
    let leader = World::with_cluster(Some(cluster.clone()));
    let standby = replica(&leader, cluster);
    standby.stand_by();
    assert!(!standby.leads() && leader.engine.leads());
    let r = standby.handle(&Request {
        actor: "console:bob".into(),
        channel: None,
        chat_link: None,
        memberships: Vec::new(),
        command: hoist_commands::parse("deploy api v2.0.0 to dev").unwrap(),
    });
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert_eq!(standby.following(), 0, "the standby follows nothing");
    assert!(matches!(leader.op(1).state, State::Pushed { .. }));
    // A lone engine adopts nothing (it resumed everything at start).
    assert!(leader.engine.adopt().is_empty());
    assert_eq!(leader.engine.following(), 0);
    // As one of several replicas, the leader takes over what the runner
    // carries and follows it to the end, once.
    leader.engine.stand_by();
    assert!(leader.engine.lead().iter().any(|r| r.operation == Some(1)));
    until("healthy", || leader.op(1).state == State::Healthy);
    until("let go", || leader.engine.following() == 0);
    let healthy = leader
        .said_about(1)
        .iter()
        .filter(|t| t.contains("Healthy") || t.contains("healthy"))
        .count();
    assert_eq!(healthy, 1, "{:?}", leader.said_about(1));
    // Adopting again finds nothing to do.
    leader.engine.adopt();
    assert_eq!(leader.engine.following(), 0);
}

#[test]
fn a_leader_that_steps_down_lets_go_and_the_next_leader_carries_on() {
    let slow: Arc<dyn Cluster> = Arc::new(Simulated::new(Duration::from_millis(400)));
    let first = World::with_cluster(Some(slow.clone()));
    let r = first.ask("console:bob", "deploy api v2.0.0 to dev");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert_eq!(first.engine.following(), 1);
    first.engine.step_down();
    until("let go", || first.engine.following() == 0);
    assert!(!first.engine.leads());
    // Not leading: nothing is adopted, and the operation is not finished.
    first.engine.adopt();
    assert_eq!(first.engine.following(), 0);
    assert!(!first.op(1).state.is_terminal(), "{:?}", first.op(1).state);
    let second = replica(&first, slow);
    second.stand_by();
    let resumed = second.lead();
    assert!(
        resumed.iter().any(|r| r.operation == Some(1)),
        "{resumed:?}"
    );
    until("healthy", || first.op(1).state == State::Healthy);
    assert_eq!(first.engine.following(), 0, "the old leader stayed out");
}

/// The in-memory journal, answering `Conflict` to the next `lose` writes
/// of an operation that gained an approver, as the Kubernetes journal does
/// when another replica wrote first.
fn racing(inner: crate::store::Memory, lose: Arc<AtomicU32>) -> Gated {
    Gated::new(
        inner,
        Box::new(move |journal, ops: &[&Operation]| {
            for op in ops {
                let before = journal.get(op.id)?.map_or(0, |o| o.approvers.len());
                let left = lose.load(Ordering::SeqCst);
                if op.approvers.len() > before && left > 0 {
                    lose.store(left - 1, Ordering::SeqCst);
                    return Err(JournalError::Conflict {
                        what: format!("operation {}", op.id),
                    });
                }
            }
            Ok(())
        }),
    )
}

#[test]
fn a_vote_that_lost_a_race_to_another_replica_is_decided_again_and_counted_once() {
    let w = World::new();
    let lose = Arc::new(AtomicU32::new(2));
    let racing = Arc::new(racing(
        crate::store::Memory::with_clock(w.clock.clone()),
        lose.clone(),
    ));
    let engine = Engine::new(
        w.repo.clone(),
        racing.clone(),
        None,
        w.said.clone(),
        w.clock,
        Settings::default(),
    );
    let ask = |actor: &str, text: &str| {
        engine.handle(&Request {
            actor: actor.into(),
            channel: None,
            chat_link: None,
            memberships: Vec::new(),
            command: hoist_commands::parse(text).unwrap(),
        })
    };
    let r = ask("console:alice", "deploy api v2.0.0 to prod");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    let r = ask("console:carol", "approve 1");
    assert!(r.outcome == super::super::Outcome::Ok, "{}", r.message);
    assert_eq!(lose.load(Ordering::SeqCst), 0, "lost twice, then won");
    assert_eq!(racing.get(1).unwrap().unwrap().approvers.len(), 1);
    // Lost more often than it is decided again: an error, nothing counted.
    lose.store(9, Ordering::SeqCst);
    let r = ask("console:dave", "approve 1");
    assert_eq!(r.outcome, super::super::Outcome::Error, "{}", r.message);
    assert!(
        r.message.contains("changed by another writer"),
        "{}",
        r.message
    );
    assert_eq!(racing.get(1).unwrap().unwrap().approvers.len(), 1);
}
