//! The runner when the journal fails: a final state that cannot be
//! journaled is kept and journaled on a later step, never lost, and the
//! runner neither loses a thread nor spins. The journal here is the
//! in-memory one behind a switch that makes writes of a chosen state fail
//! (a full disk, for a while).

use super::super::ports::{Journal, JournalError};
use super::super::{Operation, State};
use super::gated::Gated;
use super::*;
use crate::cluster::Simulated;
use std::sync::atomic::AtomicU32;

/// The in-memory journal, failing the next `failing` writes of Healthy
/// (a full disk, for a while).
fn full_disk(inner: crate::store::Memory, failing: Arc<AtomicU32>) -> Gated {
    Gated::new(
        inner,
        Box::new(move |_, ops: &[&Operation]| {
            let healthy = ops.iter().any(|op| op.state == State::Healthy);
            let left = failing.load(Ordering::SeqCst);
            if healthy && left > 0 {
                failing.store(left - 1, Ordering::SeqCst);
                return Err(JournalError::Storage("No space left on device".into()));
            }
            Ok(())
        }),
    )
}

#[test]
fn a_healthy_end_that_could_not_be_journaled_is_journaled_on_a_later_step() {
    let clock = Arc::new(TestClock(AtomicI64::new(WEDNESDAY)));
    let files = [
        ("hoist.yaml", POLICY.to_string()),
        (DEV_API, kustomization("v1.0.0", "2.0.1")),
        (PROD_API, kustomization("v1.0.0", "2.0.1")),
    ];
    let repo = Arc::new(
        Memory::new("main", files)
            .signing()
            .with_clock(clock.clone()),
    );
    let failing = Arc::new(AtomicU32::new(1));
    let journal = Arc::new(full_disk(
        crate::store::Memory::with_clock(clock.clone()),
        failing.clone(),
    ));
    let said = Arc::new(Said::default());
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let engine = Engine::new(
        repo,
        journal.clone(),
        Some(cluster),
        said.clone(),
        clock,
        Settings {
            follow_retry: Duration::from_millis(20),
            ..Settings::default()
        },
    );
    let command = hoist_commands::parse("deploy api v2.0.0 to dev").unwrap();
    let reply = engine.handle(&Request {
        actor: "console:alice".into(),
        channel: None,
        chat_link: None,
        memberships: Vec::new(),
        command,
    });
    assert_eq!(reply.state, "pushed", "{}", reply.message);
    // The first write of Healthy fails; the runner tries again a moment later
    // with the end it kept, instead of losing it or panicking on the next app.
    let started = std::time::Instant::now();
    while failing.load(Ordering::SeqCst) > 0 && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        failing.load(Ordering::SeqCst),
        0,
        "Healthy was written once and failed"
    );
    assert_eq!(
        engine.following(),
        1,
        "still followed after the failed write"
    );
    let reply = engine.wait(reply);
    assert_eq!(reply.state, "healthy", "{}", reply.message);
    assert_eq!(journal.get(1).unwrap().unwrap().state, State::Healthy);
    let ends = said
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, t)| *id == 1 && t.starts_with("#1 healthy ("))
        .count();
    assert_eq!(ends, 1, "said once, after it was journaled");
}
