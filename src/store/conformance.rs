//! The behaviour every [`Journal`] implementation must have, as one suite:
//! [`run`] is handed a way to make a fresh, empty journal (stamping notes
//! with the clock it is given) and checks ids, operations and their indexed
//! queries as states change, locks, dedupe keys, notes and retention. The
//! redb store and the in-memory journal run it (`store::tests`), as must
//! any later implementation; what only a file can do (reopening, upgrading
//! an older layout) is tested beside the store.

use crate::engine::ports::{Clock, Journal, LineChange};
use crate::engine::{Change, Lock, Operation, State};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A clock the test moves.
#[derive(Debug)]
pub struct At(AtomicI64);

impl At {
    pub fn new(now: i64) -> Self {
        At(AtomicI64::new(now))
    }

    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for At {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A `deploy` of `apps` at `version` in `env`, requested at `created_at`.
pub fn operation(id: u64, env: &str, apps: &[&str], version: &str, created_at: i64) -> Operation {
    Operation {
        id,
        verb: "deploy".into(),
        summary: format!("deploy {} {version} to {env}", apps.join(", ")),
        actor: "console:alice".into(),
        channel: None,
        chat: "cli".into(),
        env: env.into(),
        reason: None,
        ticket: None,
        created_at,
        state: State::Requested,
        branch: "main".into(),
        base: None,
        changes: apps
            .iter()
            .map(|app| Change {
                app: app.to_string(),
                version: version.into(),
                file: format!("{app}/{env}/kustomization.yaml"),
                old_value: Some("v0".into()),
                new_value: version.into(),
                lines: vec![LineChange {
                    line: 7,
                    old: "newTag: v0".into(),
                    new: format!("newTag: {version}"),
                }],
            })
            .collect(),
        commit: None,
        needed: 0,
        approvers: Vec::new(),
        expires_at: None,
        break_glass: None,
        transitions: vec![(created_at, "requested".into())],
        memberships: Default::default(),
        ordered: None,
        pr: None,
        deployment: None,
        environment: None,
    }
}

type Make<'a> = &'a dyn Fn(Arc<dyn Clock>) -> Box<dyn Journal>;
/// One behaviour, by name.
type Check = (&'static str, fn(Make));

/// Every behaviour, each on a fresh journal from `make`.
pub fn run(make: impl Fn(Arc<dyn Clock>) -> Box<dyn Journal>) {
    let checks: [Check; 8] = [
        ("ids increase and operations read back", ids_and_operations),
        ("unfinished follows each state change", unfinished),
        ("of_app and latest", by_app),
        ("of_version compares by digest", by_version),
        ("locks", locks),
        ("dedupe keys", dedupe),
        ("notes", notes),
        ("prune keeps what unfinished work needs", prune),
    ];
    for (name, check) in checks {
        eprintln!("journal conformance: {name}");
        check(&make);
    }
}

fn fresh(make: Make, now: i64) -> (Arc<At>, Box<dyn Journal>) {
    let clock = Arc::new(At::new(now));
    let journal = make(clock.clone());
    (clock, journal)
}

fn ids(ops: Vec<Operation>) -> Vec<u64> {
    ops.iter().map(|o| o.id).collect()
}

fn ids_and_operations(make: Make) {
    let (_, j) = fresh(make, 100);
    assert_eq!(j.get(1).unwrap(), None);
    let mut made = Vec::new();
    for n in 0..3 {
        let mut op = operation(0, "staging", &["api"], "v1", 10 + n);
        j.create(&mut op).unwrap();
        made.push(op);
    }
    assert!(made[0].id > 0 && made[0].id < made[1].id && made[1].id < made[2].id);
    assert_eq!(j.get(made[1].id).unwrap().as_ref(), Some(&made[1]));
    made[0].enter(State::Approved, 20);
    j.put(&made[0]).unwrap();
    made[1].enter(State::Cancelled, 21);
    made[2].enter(State::Cancelled, 21);
    j.put_all(&[&made[1], &made[2]]).unwrap();
    assert_eq!(j.list().unwrap(), made, "oldest first, as last written");
}

fn unfinished(make: Make) {
    let (_, j) = fresh(make, 100);
    let mut a = operation(0, "staging", &["api"], "v1", 10);
    let mut b = operation(0, "prod", &["api"], "v1", 11);
    let mut done = operation(0, "staging", &["web"], "v1", 12);
    done.state = State::Unchanged;
    for op in [&mut a, &mut b, &mut done] {
        j.create(op).unwrap();
    }
    assert_eq!(ids(j.unfinished().unwrap()), [a.id, b.id]);
    a.enter(State::Pushed { sha: "abc".into() }, 20);
    j.put(&a).unwrap();
    assert_eq!(ids(j.unfinished().unwrap()), [a.id, b.id]);
    assert_eq!(
        j.unfinished().unwrap()[0],
        a,
        "the operation as last written"
    );
    a.enter(State::Healthy, 30);
    b.enter(State::AwaitingApproval { needed: 1, have: 0 }, 30);
    j.put_all(&[&a, &b]).unwrap();
    assert_eq!(ids(j.unfinished().unwrap()), [b.id]);
    b.enter(State::Expired, 40);
    j.put(&b).unwrap();
    assert!(j.unfinished().unwrap().is_empty());
}

fn by_app(make: Make) {
    let (_, j) = fresh(make, 100);
    let mut first = operation(0, "staging", &["api", "web"], "v1", 10);
    let mut other_env = operation(0, "prod", &["api"], "v1", 11);
    let mut second = operation(0, "staging", &["api"], "v2", 12);
    for op in [&mut first, &mut other_env, &mut second] {
        j.create(op).unwrap();
    }
    assert_eq!(
        ids(j.of_app("staging", "api").unwrap()),
        [first.id, second.id]
    );
    assert_eq!(ids(j.of_app("staging", "web").unwrap()), [first.id]);
    assert_eq!(ids(j.of_app("prod", "api").unwrap()), [other_env.id]);
    assert!(j.of_app("prod", "web").unwrap().is_empty());
    assert_eq!(j.latest("staging", "api").unwrap().as_ref(), Some(&second));
    assert_eq!(j.latest("dev", "api").unwrap(), None);
    // A plan that no longer changes api moves it out of api's answers.
    second.changes[0].app = "db".into();
    second.enter(State::Approved, 20);
    j.put(&second).unwrap();
    assert_eq!(ids(j.of_app("staging", "api").unwrap()), [first.id]);
    assert_eq!(j.latest("staging", "api").unwrap().as_ref(), Some(&first));
    assert_eq!(j.latest("staging", "db").unwrap().as_ref(), Some(&second));
}

fn by_version(make: Make) {
    let (_, j) = fresh(make, 100);
    let mut v1 = operation(0, "staging", &["api"], "v1", 10);
    let mut pinned = operation(0, "staging", &["api"], "sha256:abc", 11);
    pinned.changes[0].old_value = Some("v1".into());
    pinned.changes[0].new_value = "v2@sha256:abc".into();
    let mut back = operation(0, "staging", &["api"], "v1", 12);
    back.verb = "rollback".into();
    back.changes[0].old_value = Some("v2@sha256:abc".into());
    let mut prod = operation(0, "prod", &["api"], "v1", 13);
    for op in [&mut v1, &mut pinned, &mut back, &mut prod] {
        j.create(op).unwrap();
    }
    let asked = |v: &str| ids(j.of_version("staging", "api", v).unwrap());
    assert_eq!(asked("v2@sha256:abc"), [pinned.id, back.id]);
    assert_eq!(asked("sha256:abc"), [pinned.id, back.id]);
    assert_eq!(asked("v1"), [v1.id, pinned.id, back.id]);
    assert_eq!(asked("v0"), [v1.id], "the value it replaced counts");
    assert_eq!(asked("v3"), Vec::<u64>::new());
    assert_eq!(ids(j.of_version("prod", "api", "v1").unwrap()), [prod.id]);
    assert!(j.of_version("staging", "web", "v1").unwrap().is_empty());
}

fn lock(env: &str, app: Option<&str>, holder: &str) -> Lock {
    Lock {
        env: env.into(),
        app: app.map(Into::into),
        holder: holder.into(),
        reason: "release".into(),
        since: 10,
        until: Some(100),
        operation: None,
    }
}

fn locks(make: Make) {
    let (_, j) = fresh(make, 100);
    j.put_lock(&lock("prod", None, "console:carol")).unwrap();
    j.put_lock(&lock("prod", Some("api"), "console:dave"))
        .unwrap();
    // Taking the same scope again replaces, never duplicates.
    j.put_lock(&lock("prod", Some("api"), "console:erin"))
        .unwrap();
    let mut all = j.locks().unwrap();
    all.sort_by(|a, b| a.app.cmp(&b.app));
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].holder, "console:erin");
    let removed = j.remove_lock("prod", Some("api")).unwrap();
    assert_eq!(removed.map(|l| l.holder).as_deref(), Some("console:erin"));
    assert_eq!(j.remove_lock("prod", Some("api")).unwrap(), None);
    assert_eq!(j.locks().unwrap(), [lock("prod", None, "console:carol")]);
}

fn dedupe(make: Make) {
    let (_, j) = fresh(make, 100);
    assert!(j.first_seen("slack:event:Ev1", 5).unwrap());
    assert!(
        !j.first_seen("slack:event:Ev1", 6).unwrap(),
        "a retry is not new"
    );
    assert!(j.first_seen("slack:event:Ev2", 6).unwrap());
}

fn notes(make: Make) {
    let (_, j) = fresh(make, 100);
    assert_eq!(j.recall("slack:live:7").unwrap(), None);
    j.remember("slack:live:7", "C0DEPLOY/1.2").unwrap();
    j.remember("slack:live:7", "C0DEPLOY/1.3").unwrap();
    assert_eq!(
        j.recall("slack:live:7").unwrap().as_deref(),
        Some("C0DEPLOY/1.3"),
        "the last one written wins"
    );
}

fn prune(make: Make) {
    let (clock, j) = fresh(make, 100);
    j.first_seen("slack:event:old", 50).unwrap();
    j.first_seen("slack:event:new", 250).unwrap();
    j.remember("slack:msg:C1:1.0", "1").unwrap();
    let mut finished = operation(0, "staging", &["api"], "v1", 60);
    finished.state = State::Healthy;
    j.create(&mut finished).unwrap();
    // An operation still going since 110: notes from then on are its own.
    let mut going = operation(0, "staging", &["web"], "v1", 110);
    j.create(&mut going).unwrap();
    clock.set(120);
    j.remember("slack:live:2", "1.5").unwrap();
    clock.set(130);
    j.remember("slack:rewritten", "a").unwrap();
    j.put_lock(&lock("prod", None, "console:carol")).unwrap();

    let pruned = j.prune(200).unwrap();
    assert_eq!((pruned.dedupe_keys, pruned.notes), (1, 1));
    assert!(j.first_seen("slack:event:old", 200).unwrap(), "forgotten");
    assert!(!j.first_seen("slack:event:new", 200).unwrap(), "kept");
    assert_eq!(
        j.recall("slack:msg:C1:1.0").unwrap(),
        None,
        "older than all"
    );
    assert_eq!(j.recall("slack:live:2").unwrap().as_deref(), Some("1.5"));
    assert_eq!(j.recall("slack:rewritten").unwrap().as_deref(), Some("a"));

    // Rewriting a note makes it new again.
    clock.set(300);
    j.remember("slack:rewritten", "b").unwrap();
    going.enter(State::Healthy, 300);
    j.put(&going).unwrap();
    let pruned = j.prune(250).unwrap();
    assert_eq!((pruned.dedupe_keys, pruned.notes), (1, 1), "{pruned:?}");
    assert_eq!(
        j.recall("slack:live:2").unwrap(),
        None,
        "its operation ended"
    );
    assert_eq!(j.recall("slack:rewritten").unwrap().as_deref(), Some("b"));
    assert_eq!(j.prune(250).unwrap(), Default::default(), "nothing twice");
    // Operations and locks are never pruned.
    assert_eq!(ids(j.list().unwrap()), [finished.id, going.id]);
    assert_eq!(j.locks().unwrap().len(), 1);
}
