//! The journal in the Kubernetes API (`hoist::store::KubeJournal`) against
//! the fake API server on loopback, through kube's real client: the same
//! conformance suite as the redb and in-memory journals (each check in a
//! namespace of its own, so each starts empty), what is refused before
//! anything is sent (an operation over 1 MiB), an API that answers 500, and
//! objects written by someone else that must answer no query wrongly: not
//! sealed by the journal key (no seal, another key's, a sealed record
//! copied under another name) they are `Corrupt`, never acted on. Two
//! replicas sharing one API are in `journal/replicas.rs`.

#[path = "journal/replicas.rs"]
mod replicas;

use crate::support::kube::FakeKube;
use hoist::engine::State;
use hoist::engine::ports::Journal;
use hoist::ha::{Kube, Options};
use hoist::store::KubeJournal;
use hoist::store::conformance::{self, At, operation};
use hoist::store::kube::objects::{KeyKind, app_label, key_name, lock_name};
use serde_json::{Value, json};
use std::cell::Cell;
use std::sync::Arc;

const OPERATIONS: &str = "hoist.dev/v1alpha1/hoistoperations";
const LOCKS: &str = "hoist.dev/v1alpha1/hoistlocks";
const KEYS: &str = "hoist.dev/v1alpha1/hoistkeys";
/// The journal key every replica in these tests shares.
const KEY: &[u8] = b"the journal key of the cluster tests (32+ bytes)";

/// The fake API server and a kubeconfig for it.
struct Api {
    fake: FakeKube,
    dir: tempfile::TempDir,
}

impl Api {
    fn start() -> Api {
        Api {
            fake: FakeKube::start(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A connection of its own (a replica's) to namespace `ns`.
    fn connect(&self, ns: &str) -> Arc<Kube> {
        let options = Options {
            kubeconfig: Some(self.fake.kubeconfig(self.dir.path())),
            namespace: Some(ns.into()),
            call_timeout: None,
        };
        Arc::new(Kube::connect(&options).expect("connects to the fake"))
    }

    /// A replica's journal in `ns`, notes stamped at 100.
    fn journal(&self, ns: &str) -> KubeJournal {
        KubeJournal::new(self.connect(ns), Arc::new(At::new(100)), KEY).unwrap()
    }

    /// Write an object as another writer would (no precondition).
    fn forge(&self, resource: &str, ns: &str, object: Value) {
        self.fake.put_object(resource, ns, object);
    }
}

/// Said of every object not sealed by the journal's key.
const UNSEALED: &str = "is not sealed by this journal's key";

/// A `HoistOperation` as JSON, `record` as given.
fn op_object(name: &str, labels: Value, spec: Value) -> Value {
    json!({"apiVersion": "hoist.dev/v1alpha1", "kind": "HoistOperation",
           "metadata": {"name": name, "labels": labels}, "spec": spec})
}

#[test]
fn the_kubernetes_journal_conforms() {
    let api = Api::start();
    let n = Cell::new(0);
    conformance::run(|clock| {
        n.set(n.get() + 1);
        let kube = api.connect(&format!("hoist-{}", n.get()));
        Box::new(KubeJournal::new(kube, clock, KEY).unwrap())
    });
    // Each check wrote through the API, in its own namespace.
    let ops = api.fake.list_objects(OPERATIONS);
    assert!(ops.len() > 10, "{}", ops.len());
    assert!(!api.fake.list_objects(KEYS).is_empty());
}

#[test]
fn request_queries_ask_the_api_by_label_never_for_the_whole_journal() {
    let api = Api::start();
    let j = api.journal("hoist");
    for (env, app) in [("staging", "api"), ("staging", "web"), ("prod", "api")] {
        let mut op = operation(0, env, &[app], "v1", 10);
        j.create(&mut op).unwrap();
    }
    let before = api.fake.lists().len();
    assert_eq!(j.of_app("staging", "api").unwrap().len(), 1);
    assert_eq!(j.latest("prod", "api").unwrap().map(|o| o.id), Some(3));
    assert_eq!(j.of_version("staging", "web", "v1").unwrap().len(), 1);
    assert_eq!(j.unfinished().unwrap().len(), 3);
    let asked = &api.fake.lists()[before..];
    assert_eq!(asked.len(), 4, "{asked:?}");
    for query in asked {
        assert!(query.contains("labelSelector="), "{query}");
        assert!(query.contains("limit=500"), "{query}");
    }
    let label = app_label("staging", "api").replace('/', "%2F");
    assert!(asked[0].contains(&label), "{}", asked[0]);
}

#[test]
fn an_operation_over_one_mebibyte_is_refused_and_nothing_is_written() {
    let api = Api::start();
    let j = api.journal("hoist");
    let mut op = operation(0, "staging", &["api"], "v1", 10);
    op.reason = Some("x".repeat(1 << 20));
    let e = j.create(&mut op).unwrap_err();
    assert_eq!(e.kind(), "journal_encode", "{}", e.report());
    assert!(e.report().contains("1 MiB"), "{}", e.report());
    assert_eq!(op.id, 0, "an operation not created keeps its id");
    assert!(api.fake.list_objects(OPERATIONS).is_empty());

    // The id was not used up, and a put of a grown record is refused too.
    let mut small = operation(0, "staging", &["api"], "v1", 10);
    j.create(&mut small).unwrap();
    assert_eq!(small.id, 1);
    small.reason = op.reason.clone();
    assert_eq!(j.put(&small).unwrap_err().kind(), "journal_encode");
    small.reason = None;
    assert_eq!(j.get(1).unwrap(), Some(small));
    let note = "n".repeat(70_000);
    assert_eq!(j.remember("k", &note).unwrap_err().kind(), "journal_encode");
    assert!(api.fake.list_objects(KEYS).is_empty());
}

#[test]
fn an_api_that_fails_is_a_storage_error_naming_the_api_and_the_call() {
    let api = Api::start();
    let j = api.journal("hoist");
    let mut op = operation(0, "staging", &["api"], "v1", 10);
    j.create(&mut op).unwrap();
    api.fake.fail_all(Some(500));
    let e = j.get(1).unwrap_err();
    assert_eq!(e.kind(), "journal_storage");
    let said = e.report();
    assert!(said.contains("kubernetes"), "{said}");
    assert!(said.contains("hoistoperations hoist/op-1"), "{said}");
    assert!(said.contains("500"), "{said}");
    let mut next = operation(0, "staging", &["api"], "v2", 11);
    assert_eq!(j.create(&mut next).unwrap_err().kind(), "journal_storage");
    assert_eq!(next.id, 0);
    for e in [
        j.unfinished().unwrap_err(),
        j.locks().unwrap_err(),
        j.first_seen("slack:event:Ev1", 5).unwrap_err(),
        j.recall("slack:live:1").unwrap_err(),
        j.prune(200).unwrap_err(),
    ] {
        assert_eq!(e.kind(), "journal_storage", "{}", e.report());
    }
    // Back up: nothing was lost, and the failed create took no id.
    api.fake.fail_all(None);
    assert_eq!(j.get(1).unwrap(), Some(op));
    j.create(&mut next).unwrap();
    assert_eq!(next.id, 2);
}

#[test]
fn objects_written_by_someone_else_answer_no_query_wrongly() {
    let api = Api::start();
    let j = api.journal("hoist");
    let mut real = operation(0, "staging", &["api"], "v1", 10);
    j.create(&mut real).unwrap();

    // Written by another replica (sealed), then relabelled by someone else
    // (labels are not sealed): labelled for api in staging and unfinished,
    // but its record changes web and is finished.
    let mut web = operation(50, "staging", &["web"], "v9", 11);
    web.state = State::Healthy;
    api.journal("hoist").put(&web).unwrap();
    let mut relabelled = api.fake.object(OPERATIONS, "hoist", "op-50").unwrap();
    relabelled["metadata"]["labels"] =
        json!({app_label("staging", "api"): "true", "hoist.dev/unfinished": "true"});
    relabelled["spec"]["apps"] = json!("api");
    relabelled["spec"]["state"] = json!("requested");
    api.forge(OPERATIONS, "hoist", relabelled);
    assert_eq!(j.of_app("staging", "api").unwrap(), [real.clone()]);
    assert_eq!(j.latest("staging", "api").unwrap(), Some(real.clone()));
    assert!(j.of_version("staging", "api", "v9").unwrap().is_empty());
    assert_eq!(
        j.unfinished().unwrap(),
        [real.clone()],
        "its record is finished"
    );
    assert_eq!(
        j.get(50).unwrap(),
        Some(web),
        "it is operation 50 all the same"
    );
    // Ids go past every operation there is.
    let mut next = operation(0, "staging", &["api"], "v2", 12);
    j.create(&mut next).unwrap();
    assert_eq!(next.id, 51);

    // A record of another id under this name: corrupt, never operation 7.
    let other = operation(7, "staging", &["api"], "v1", 10);
    let spec = json!({"id": 60, "verb": "deploy", "apps": "api", "env": "staging",
                      "state": "requested", "record": serde_json::to_string(&other).unwrap()});
    let labels = json!({app_label("staging", "db"): "true"});
    api.forge(OPERATIONS, "hoist", op_object("op-60", labels, spec));
    let e = j.get(60).unwrap_err();
    assert_eq!(e.kind(), "journal_corrupt");
    assert!(e.report().contains("operation 60"), "{}", e.report());
    assert!(e.report().contains(UNSEALED), "{}", e.report());
    assert_eq!(
        j.of_app("staging", "db").unwrap_err().kind(),
        "journal_corrupt"
    );

    // A record that is not JSON, with a line break in its name's place.
    let spec = json!({"id": 61, "verb": "deploy", "apps": "x", "env": "staging",
                      "state": "requested", "record": "{not json\n"});
    api.forge(OPERATIONS, "hoist", op_object("op-61", json!({}), spec));
    let e = j.get(61).unwrap_err();
    assert_eq!(e.kind(), "journal_corrupt");
    assert!(!e.report().contains('\n'));
    assert_eq!(j.list().unwrap_err().kind(), "journal_corrupt");

    // A lock under another scope's name, a note and a dedupe key holding
    // other keys than their names say.
    let lock = json!({"env": "prod", "app": "api", "holder": "x", "reason": "r",
                      "since": 1, "until": null, "operation": null});
    api.forge(
        LOCKS,
        "hoist",
        json!({"apiVersion": "hoist.dev/v1alpha1", "kind": "HoistLock",
        "metadata": {"name": lock_name("prod", None)},
        "spec": {"env": "prod", "record": lock.to_string()}}),
    );
    assert_eq!(j.locks().unwrap_err().kind(), "journal_corrupt");
    let key = |kind: KeyKind, name_for: &str, holds: &str| {
        json!({"apiVersion": "hoist.dev/v1alpha1", "kind": "HoistKey",
               "metadata": {"name": key_name(kind, name_for),
                            "labels": {"hoist.dev/key": kind.label()}},
               "spec": {"key": holds, "value": "C0EVIL/1.0", "at": 1}})
    };
    api.forge(
        KEYS,
        "hoist",
        key(KeyKind::Note, "slack:live:1", "slack:live:2"),
    );
    assert_eq!(
        j.recall("slack:live:1").unwrap_err().kind(),
        "journal_corrupt"
    );
    api.forge(
        KEYS,
        "hoist",
        key(KeyKind::Dedupe, "slack:event:Ev1", "other"),
    );
    let e = j.first_seen("slack:event:Ev1", 5).unwrap_err();
    assert_eq!(e.kind(), "journal_corrupt", "never \"seen before\"");
    assert_eq!(j.prune(200).unwrap_err().kind(), "journal_corrupt");
}

/// `object` as found in the API, its identity removed so it can be written
/// again as a new object (under `name`, when given).
fn copied(mut object: Value, name: Option<&str>) -> Value {
    let meta = object["metadata"].as_object_mut().unwrap();
    for field in ["uid", "resourceVersion", "creationTimestamp", "namespace"] {
        meta.remove(field);
    }
    if let Some(name) = name {
        meta.insert("name".into(), json!(name));
    }
    object
}

#[test]
fn a_forged_approved_operation_is_corrupt_and_answers_no_query() {
    let api = Api::start();
    // Approved, in prod, labelled right, its record valid JSON with the
    // right id: what the leader would push if it believed it.
    let mut forged = operation(2, "prod", &["api"], "v6", 11);
    forged.enter(State::Approved, 12);
    let labels = json!({app_label("prod", "api"): "true", "hoist.dev/unfinished": "true"});
    let spec = |seal: Option<String>| {
        let mut spec = json!({"id": 2, "verb": "deploy", "apps": "api", "env": "prod",
                              "state": "approved", "record": serde_json::to_string(&forged).unwrap()});
        if let Some(seal) = seal {
            spec["seal"] = json!(seal);
        }
        spec
    };
    // The same operation sealed by a journal with another key, elsewhere.
    let elsewhere = KubeJournal::new(
        api.connect("elsewhere"),
        Arc::new(At::new(100)),
        b"another deployment's journal key, 32+ bytes",
    )
    .unwrap();
    elsewhere.put(&forged).unwrap();
    let foreign = api.fake.object(OPERATIONS, "elsewhere", "op-2").unwrap();
    let forgeries = [
        ("no seal", op_object("op-2", labels.clone(), spec(None))),
        (
            "a seal of zeros",
            op_object("op-2", labels, spec(Some("0".repeat(64)))),
        ),
        ("another key's seal", copied(foreign, None)),
    ];
    for (n, (how, forgery)) in forgeries.into_iter().enumerate() {
        let ns = format!("forged-{n}");
        let j = api.journal(&ns);
        let mut real = operation(0, "prod", &["api"], "v5", 10);
        j.create(&mut real).unwrap();
        api.forge(OPERATIONS, &ns, forgery);
        let e = j.get(2).unwrap_err();
        assert_eq!(e.kind(), "journal_corrupt", "{how}: {}", e.report());
        assert!(e.report().contains(UNSEALED), "{how}: {}", e.report());
        assert!(e.report().contains("operation 2"), "{how}: {}", e.report());
        for e in [
            j.unfinished().unwrap_err(),
            j.of_app("prod", "api").unwrap_err(),
            j.latest("prod", "api").unwrap_err(),
            j.of_version("prod", "api", "v6").unwrap_err(),
            j.list().unwrap_err(),
        ] {
            assert_eq!(e.kind(), "journal_corrupt", "{how}: {}", e.report());
        }
        assert_eq!(j.get(1).unwrap(), Some(real), "{how}: the real one reads");
    }

    // A record sealed by this journal, copied under another name (an old
    // approved operation replayed as a new id): the seal binds the name.
    let j = api.journal("copied");
    let mut approved = operation(0, "prod", &["api"], "v7", 10);
    j.create(&mut approved).unwrap();
    approved.enter(State::Approved, 11);
    j.put(&approved).unwrap();
    let original = api.fake.object(OPERATIONS, "copied", "op-1").unwrap();
    let mut replayed = copied(original, Some("op-9"));
    let mut as_nine = approved.clone();
    as_nine.id = 9;
    replayed["spec"]["id"] = json!(9);
    replayed["spec"]["record"] = json!(serde_json::to_string(&as_nine).unwrap());
    api.forge(OPERATIONS, "copied", replayed);
    let e = j.get(9).unwrap_err();
    assert!(e.report().contains(UNSEALED), "{}", e.report());
    assert_eq!(j.unfinished().unwrap_err().kind(), "journal_corrupt");

    // Locks and keys under the same rule: another key's lock, a note whose
    // value was changed under its seal.
    let other = KubeJournal::new(
        api.connect("keys-elsewhere"),
        Arc::new(At::new(100)),
        b"another deployment's journal key, 32+ bytes",
    )
    .unwrap();
    let lock = hoist::engine::Lock {
        env: "prod".into(),
        app: None,
        holder: "console:mallory".into(),
        reason: "forged".into(),
        since: 1,
        until: None,
        operation: None,
    };
    other.put_lock(&lock).unwrap();
    let j = api.journal("keys");
    let name = lock_name("prod", None);
    let found = api.fake.object(LOCKS, "keys-elsewhere", &name).unwrap();
    api.forge(LOCKS, "keys", copied(found, None));
    let e = j.locks().unwrap_err();
    assert!(e.report().contains(UNSEALED), "{}", e.report());
    j.remember("slack:live:1", "C1/1.0").unwrap();
    let name = key_name(KeyKind::Note, "slack:live:1");
    let mut note = api.fake.object(KEYS, "keys", &name).unwrap();
    note["spec"]["value"] = json!("C0EVIL/1.0");
    api.forge(KEYS, "keys", note);
    let e = j.recall("slack:live:1").unwrap_err();
    assert!(e.report().contains(UNSEALED), "{}", e.report());
}
