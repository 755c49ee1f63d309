//! The runner when the journal fails: a final state that cannot be
//! journaled is kept and journaled on a later step, never lost, and the
//! runner neither loses a thread nor spins. The journal here is the
//! in-memory one behind a switch that makes writes of a chosen state fail
//! (a full disk, for a while).

use super::super::ports::{Journal, JournalError, Pruned};
use super::super::{Lock, Operation, State};
use super::*;
use crate::cluster::Simulated;
use std::sync::atomic::AtomicU32;

/// The in-memory journal, failing the next `failing` writes of Healthy.
struct FullDisk {
    inner: crate::store::Memory,
    failing: AtomicU32,
}

impl FullDisk {
    fn refuse(&self, ops: &[&Operation]) -> Result<(), JournalError> {
        let healthy = ops.iter().any(|op| op.state == State::Healthy);
        let left = self.failing.load(Ordering::SeqCst);
        if healthy && left > 0 {
            self.failing.store(left - 1, Ordering::SeqCst);
            return Err(JournalError::Storage("No space left on device".into()));
        }
        Ok(())
    }
}

impl Journal for FullDisk {
    fn put(&self, op: &Operation) -> Result<(), JournalError> {
        self.refuse(&[op])?;
        self.inner.put(op)
    }
    fn create(&self, op: &mut Operation) -> Result<(), JournalError> {
        self.inner.create(op)
    }
    fn put_all(&self, ops: &[&Operation]) -> Result<(), JournalError> {
        self.refuse(ops)?;
        self.inner.put_all(ops)
    }
    fn get(&self, id: u64) -> Result<Option<Operation>, JournalError> {
        self.inner.get(id)
    }
    fn list(&self) -> Result<Vec<Operation>, JournalError> {
        self.inner.list()
    }
    fn unfinished(&self) -> Result<Vec<Operation>, JournalError> {
        self.inner.unfinished()
    }
    fn of_app(&self, env: &str, app: &str) -> Result<Vec<Operation>, JournalError> {
        self.inner.of_app(env, app)
    }
    fn latest(&self, env: &str, app: &str) -> Result<Option<Operation>, JournalError> {
        self.inner.latest(env, app)
    }
    fn of_version(
        &self,
        env: &str,
        app: &str,
        version: &str,
    ) -> Result<Vec<Operation>, JournalError> {
        self.inner.of_version(env, app, version)
    }
    fn locks(&self) -> Result<Vec<Lock>, JournalError> {
        self.inner.locks()
    }
    fn put_lock(&self, lock: &Lock) -> Result<(), JournalError> {
        self.inner.put_lock(lock)
    }
    fn remove_lock(&self, env: &str, app: Option<&str>) -> Result<Option<Lock>, JournalError> {
        self.inner.remove_lock(env, app)
    }
    fn first_seen(&self, key: &str, now: i64) -> Result<bool, JournalError> {
        self.inner.first_seen(key, now)
    }
    fn remember(&self, key: &str, value: &str) -> Result<(), JournalError> {
        self.inner.remember(key, value)
    }
    fn recall(&self, key: &str) -> Result<Option<String>, JournalError> {
        self.inner.recall(key)
    }
    fn prune(&self, before: i64) -> Result<Pruned, JournalError> {
        self.inner.prune(before)
    }
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
    let journal = Arc::new(FullDisk {
        inner: crate::store::Memory::with_clock(clock.clone()),
        failing: AtomicU32::new(1),
    });
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
    while journal.failing.load(Ordering::SeqCst) > 0 && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        journal.failing.load(Ordering::SeqCst),
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
