//! Part one of `benches/ha.rs`: what one transition costs to journal in
//! the Kubernetes API (`store::KubeJournal` over the loopback fake API
//! server of `tests/support/kube.rs`, real HTTP, every write a
//! compare-and-swap with the object's `resourceVersion`) against the
//! embedded redb `Store` (an fsynced transaction per write), in the same
//! run. Each operation is created, then moved through the states a
//! followed deploy passes (approved, committed, pushed, reconciling twice,
//! healthy), one `put` per transition; operations alternate between the two
//! journals so both see the same machine load. The fake keeps objects in
//! memory and answers at once, with no etcd (raft, fsync) behind it: the
//! Kubernetes figure is hoist's own side of a write (encoding, the HTTP
//! call, the compare-and-swap bookkeeping), a floor for a real API server.

use hoist::engine::ports::{Journal, LineChange, SystemClock};
use hoist::engine::{Change, Operation, State};
use hoist::ha::{Kube, Options};
use hoist::store::{KubeJournal, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Latencies of one journal: creates and transitions.
#[derive(Default)]
pub struct Timings {
    pub creates: Vec<Duration>,
    pub puts: Vec<Duration>,
}

/// The `q` quantile of `d` (sorted in place).
pub fn quantile(d: &mut [Duration], q: f64) -> Duration {
    d.sort();
    let i = ((d.len() as f64 - 1.0) * q).round() as usize;
    d.get(i).copied().unwrap_or_default()
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A deploy of `api` to staging as a request creates it.
fn requested(k: u64) -> Operation {
    let version = format!("v1.{}.{}", k / 100, k % 100);
    let now = hoist::engine::ports::Clock::now(&SystemClock);
    Operation {
        id: 0,
        verb: "deploy".into(),
        summary: format!("deploy api {version} to staging"),
        actor: "slack:USRE1".into(),
        channel: Some("slack:C0DEPLOY".into()),
        chat: format!("https://acme.slack.com/archives/C0DEPLOY/p17000{k:08}"),
        env: "staging".into(),
        reason: None,
        ticket: None,
        created_at: now,
        state: State::Requested,
        branch: "main".into(),
        base: Some(format!("{:040x}", k * 31 + 1)),
        changes: vec![Change {
            app: "api".into(),
            version: version.clone(),
            file: "apps/api/overlays/staging/kustomization.yaml".into(),
            old_value: Some("v1.0.0".into()),
            new_value: version.clone(),
            lines: vec![LineChange {
                line: 9,
                old: "    newTag: v1.0.0".into(),
                new: format!("    newTag: {version}"),
            }],
        }],
        commit: None,
        needed: 0,
        approvers: vec![],
        expires_at: None,
        break_glass: None,
        transitions: vec![(now, "requested".into())],
        memberships: Default::default(),
        ordered: None,
        pr: None,
        deployment: None,
        environment: None,
    }
}

/// The transitions after the request, in order.
fn path(sha: &str) -> Vec<State> {
    vec![
        State::Approved,
        State::Committed { sha: sha.into() },
        State::Pushed { sha: sha.into() },
        State::Reconciling {
            phase: "syncing".into(),
        },
        State::Reconciling {
            phase: "progressing".into(),
        },
        State::Healthy,
    ]
}

/// Create operation `k` in `journal` and journal each of its transitions,
/// timing each call.
fn one(journal: &dyn Journal, k: u64, into: &mut Timings) {
    let mut op = requested(k);
    let start = Instant::now();
    journal.create(&mut op).expect("create");
    into.creates.push(start.elapsed());
    let sha = format!("{:040x}", k * 7919 + 3);
    for state in path(&sha) {
        op.enter(state, op.created_at + 1);
        if let State::Committed { sha } = &op.state {
            op.commit = Some(sha.clone());
        }
        let start = Instant::now();
        journal.put(&op).expect("put");
        into.puts.push(start.elapsed());
    }
}

/// `ops` operations through each journal, alternating: (redb, kube).
pub fn run(ops: u64) -> (Timings, Timings) {
    let dir = tempfile::tempdir().expect("tempdir");
    let redb = Store::open(dir.path()).expect("redb opens");
    let fake = crate::support::kube::FakeKube::start();
    let kubeconfig = fake.kubeconfig_with_token(dir.path(), "bench");
    let kube = Kube::connect(&Options {
        kubeconfig: Some(kubeconfig),
        namespace: Some("hoist".into()),
        call_timeout: Some(Duration::from_secs(10)),
    })
    .expect("the fake API server connects");
    let kube = KubeJournal::new(
        Arc::new(kube),
        Arc::new(SystemClock),
        b"the bench's journal key, 32 bytes or more",
    )
    .expect("journal");
    // Warm up both (the first create lists the operations; connections open).
    let mut warm = Timings::default();
    for k in 0..5 {
        one(&redb, k, &mut warm);
        one(&kube, k, &mut warm);
    }
    let (mut on_redb, mut on_kube) = (Timings::default(), Timings::default());
    for k in 5..5 + ops {
        one(&redb, k, &mut on_redb);
        one(&kube, k, &mut on_kube);
    }
    let stored = fake
        .list_objects("hoist.dev/v1alpha1/hoistoperations")
        .len() as u64;
    assert_eq!(stored, ops + 5, "every operation is an object in the API");
    (on_redb, on_kube)
}
