//! The fake Kubernetes API server's generic objects, judged by kube's real
//! client (through `hoist::ha::Kube`, as the journal and the lease use it):
//! create once (409 AlreadyExists), replace and delete only from the latest
//! resourceVersion (409 Conflict), label and field selectors, Leases, one
//! caller failed by its bearer token while another is served, the size
//! limits, and a delay that the call timeout bounds. Other helpers' tests
//! rely on these answers being the real API server's.

use crate::support::kube::FakeKube;
use futures::StreamExt;
use hoist::ha::{Kube, KubeError, Options};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{
    Api, DeleteParams, ListParams, PostParams, Preconditions, WatchEvent, WatchParams,
};
use kube::core::{ApiResource, DynamicObject};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const OPS: &str = "hoist.dev/v1alpha1/hoistoperations";

fn ops_resource() -> ApiResource {
    ApiResource {
        group: "hoist.dev".into(),
        version: "v1alpha1".into(),
        api_version: "hoist.dev/v1alpha1".into(),
        kind: "HoistOperation".into(),
        plural: "hoistoperations".into(),
    }
}

fn connect(fake: &FakeKube, dir: &std::path::Path, token: &str) -> Kube {
    Kube::connect(&Options {
        kubeconfig: Some(fake.kubeconfig_with_token(dir, token)),
        namespace: Some("hoist".into()),
        call_timeout: Some(Duration::from_secs(5)),
    })
    .unwrap()
}

fn ops(kube: &Kube) -> Api<DynamicObject> {
    Api::namespaced_with(kube.client(), kube.namespace(), &ops_resource())
}

fn op(name: &str, labels: Value, spec: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "hoist.dev/v1alpha1", "kind": "HoistOperation",
        "metadata": {"name": name, "labels": labels}, "spec": spec,
    }))
    .unwrap()
}

fn create(kube: &Kube, o: DynamicObject) -> Result<DynamicObject, KubeError> {
    let api = ops(kube);
    kube.run("create", async move {
        api.create(&PostParams::default(), &o).await
    })
}

fn replace(kube: &Kube, o: DynamicObject) -> Result<DynamicObject, KubeError> {
    let api = ops(kube);
    let name = o.metadata.name.clone().unwrap();
    kube.run("replace", async move {
        api.replace(&name, &PostParams::default(), &o).await
    })
}

fn reason(e: &KubeError) -> (u16, String, String) {
    match e {
        KubeError::Status {
            code,
            reason,
            message,
            ..
        } => (*code, reason.clone(), message.clone()),
        other => panic!("not a status: {other}"),
    }
}

#[test]
fn objects_are_created_once_and_replaced_only_from_their_latest_version() {
    let fake = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kube = connect(&fake, dir.path(), "one");
    let made = create(&kube, op("op-1", json!({}), json!({"state": "new"}))).unwrap();
    let meta = &made.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("hoist"));
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    let first_rv = meta.resource_version.clone().unwrap();

    let again = create(&kube, op("op-1", json!({}), json!({}))).unwrap_err();
    let (code, why, message) = reason(&again);
    assert_eq!((code, why.as_str()), (409, "AlreadyExists"), "{message}");
    let nameless = create(&kube, op("", json!({}), json!({}))).unwrap_err();
    assert_eq!(reason(&nameless).1, "Invalid");

    let mut next = made.clone();
    next.data["spec"] = json!({"state": "running"});
    let replaced = replace(&kube, next).unwrap();
    assert_ne!(
        replaced.metadata.resource_version.as_deref(),
        Some(&*first_rv)
    );
    assert_eq!(replaced.metadata.uid, made.metadata.uid);
    assert_eq!(
        replaced.metadata.creation_timestamp,
        made.metadata.creation_timestamp
    );

    // A writer that read before that replace loses, and nothing is written.
    let mut stale = made.clone();
    stale.data["spec"] = json!({"state": "failed"});
    let (code, why, message) = reason(&replace(&kube, stale).unwrap_err());
    assert_eq!((code, why.as_str()), (409, "Conflict"));
    assert!(
        message.contains("hoistoperations.hoist.dev \"op-1\": the object has been modified"),
        "{message}"
    );
    let held = fake.object(OPS, "hoist", "op-1").unwrap();
    assert_eq!(held["spec"]["state"], "running");

    // Another writer through the fake: our latest read is stale too.
    let mut theirs = held;
    theirs["spec"]["state"] = json!("done");
    fake.put_object(OPS, "hoist", theirs);
    let (code, _, _) = reason(&replace(&kube, replaced.clone()).unwrap_err());
    assert_eq!(code, 409);

    let mut unconditional = replaced;
    unconditional.metadata.resource_version = None;
    assert_eq!(
        reason(&replace(&kube, unconditional).unwrap_err()).1,
        "Invalid"
    );
    let absent = replace(&kube, op("op-9", json!({}), json!({}))).unwrap_err();
    assert_eq!(absent.code(), Some(404));
    assert_eq!(fake.list_objects(OPS).len(), 1);
}

#[test]
fn deletes_honour_preconditions_and_watches_see_every_change() {
    let fake = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kube = connect(&fake, dir.path(), "one");
    let made = create(&kube, op("op-1", json!({}), json!({}))).unwrap();
    let mut next = made.clone();
    next.data["spec"] = json!({"state": "done"});
    let done = replace(&kube, next).unwrap();

    let delete = |rv: Option<String>| {
        let api = ops(&kube);
        let dp = DeleteParams::default().preconditions(Preconditions {
            resource_version: rv,
            uid: None,
        });
        kube.run("delete", async move {
            api.delete("op-1", &dp).await.map(|_| ())
        })
    };
    let (code, why, message) = reason(&delete(made.metadata.resource_version).unwrap_err());
    assert_eq!((code, why.as_str()), (409, "Conflict"));
    assert!(message.contains("Precondition failed"), "{message}");
    assert!(fake.object(OPS, "hoist", "op-1").is_some());
    delete(done.metadata.resource_version).unwrap();
    assert!(fake.object(OPS, "hoist", "op-1").is_none());
    assert_eq!(delete(None).unwrap_err().code(), Some(404));

    let api = ops(&kube);
    let kinds = kube
        .run("watch", async move {
            let stream = api.watch(&WatchParams::default().timeout(1), "0").await?;
            let events: Vec<_> = stream.collect().await;
            Ok(events
                .into_iter()
                .filter_map(|e| match e {
                    Ok(WatchEvent::Added(_)) => Some("ADDED"),
                    Ok(WatchEvent::Modified(_)) => Some("MODIFIED"),
                    Ok(WatchEvent::Deleted(_)) => Some("DELETED"),
                    Ok(WatchEvent::Bookmark(_)) => None,
                    _ => Some("OTHER"),
                })
                .collect::<Vec<_>>())
        })
        .unwrap();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
}

#[test]
fn lists_select_by_labels_and_by_name() {
    let fake = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kube = connect(&fake, dir.path(), "one");
    for (name, labels) in [
        ("a", json!({"app": "web", "env": "prod"})),
        ("b", json!({"app": "web", "env": "dev"})),
        ("c", json!({"app": "api"})),
        ("d", json!({})),
    ] {
        create(&kube, op(name, labels, json!({}))).unwrap();
    }
    let names = |labels: &str, fields: &str| {
        let api = ops(&kube);
        let lp = ListParams::default().labels(labels).fields(fields);
        kube.run("list", async move { api.list(&lp).await })
            .unwrap()
            .items
            .into_iter()
            .map(|o| o.metadata.name.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(names("app=web", ""), ["a", "b"]);
    assert_eq!(names("app==web,env=prod", ""), ["a"]);
    assert_eq!(names("app!=web", ""), ["c", "d"]);
    assert_eq!(names("env", ""), ["a", "b"]);
    assert_eq!(names("!app", ""), ["d"]);
    assert_eq!(names("", "metadata.name=c"), ["c"]);
    assert_eq!(names("app=web", "metadata.name!=a"), ["b"]);
    assert_eq!(names("app=nothing", ""), Vec::<String>::new());
}

#[test]
fn a_lease_is_an_object_and_one_caller_can_be_failed_alone() {
    let fake = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        connect(&fake, dir.path(), "a"),
        connect(&fake, dir.path(), "b"),
    );
    let leases = |k: &Kube| Api::<Lease>::namespaced(k.client(), k.namespace());
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": "hoist"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15},
    }))
    .unwrap();
    let api = leases(&a);
    let held = a
        .run("create", async move {
            api.create(&PostParams::default(), &lease).await
        })
        .unwrap();

    fake.fail_for("a", Some(500));
    let api = leases(&a);
    let refused = a
        .run("get", async move { api.get("hoist").await })
        .unwrap_err();
    assert_eq!(reason(&refused).0, 500);
    let api = leases(&b);
    let mut taken = b.run("get", async move { api.get("hoist").await }).unwrap();
    taken.spec.as_mut().unwrap().holder_identity = Some("b".into());
    let api = leases(&b);
    b.run("take", async move {
        api.replace("hoist", &PostParams::default(), &taken).await
    })
    .unwrap();

    // Served again, `a` renews from what it last read: too late.
    fake.fail_for("a", None);
    let api = leases(&a);
    let renewal = a.run("renew", async move {
        api.replace("hoist", &PostParams::default(), &held).await
    });
    assert_eq!(reason(&renewal.unwrap_err()).1, "Conflict");
    let lease = fake
        .object("coordination.k8s.io/v1/leases", "hoist", "hoist")
        .unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "b");

    // (kube's client retries a 503 by itself: 500 is the failure it reports.)
    fake.fail_all(Some(500));
    let api = leases(&b);
    let down = b
        .run("get", async move { api.get("hoist").await })
        .unwrap_err();
    assert_eq!(down.code(), Some(500));
    let requests = fake.requests();
    let by = |t: &str| {
        requests
            .iter()
            .filter(|r| r.2.as_deref() == Some(t))
            .count()
    };
    assert_eq!((by("a"), by("b")), (3, 3), "{requests:?}");
    assert!(requests.iter().all(|(_, path, _)| {
        path.starts_with("/apis/coordination.k8s.io/v1/namespaces/hoist/leases")
    }));
}

#[test]
fn objects_over_the_size_limits_are_refused() {
    let fake = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kube = connect(&fake, dir.path(), "one");
    let big = "x".repeat(2 * 1024 * 1024);
    let (code, why, _) =
        reason(&create(&kube, op("big", json!({}), json!({"data": big}))).unwrap_err());
    assert_eq!((code, why.as_str()), (413, "RequestEntityTooLarge"));
    let huge = "x".repeat(4 * 1024 * 1024);
    let (code, why, _) =
        reason(&create(&kube, op("huge", json!({}), json!({"data": huge}))).unwrap_err());
    assert_eq!((code, why.as_str()), (413, "RequestEntityTooLarge"));
    assert!(fake.list_objects(OPS).is_empty());
    let fits = "x".repeat(1024 * 1024);
    create(&kube, op("fits", json!({}), json!({"data": fits}))).unwrap();
}

#[test]
fn a_delayed_answer_is_bounded_by_the_call_timeout() {
    let fake = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kube = Kube::connect(&Options {
        kubeconfig: Some(fake.kubeconfig_with_token(dir.path(), "slow")),
        namespace: Some("hoist".into()),
        call_timeout: Some(Duration::from_millis(300)),
    })
    .unwrap();
    fake.delay(Duration::from_millis(100));
    let started = Instant::now();
    create(&kube, op("op-1", json!({}), json!({}))).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    fake.delay(Duration::from_secs(2));
    let late = create(&kube, op("op-2", json!({}), json!({}))).unwrap_err();
    assert!(matches!(late, KubeError::Timeout { .. }), "{late}");
}
