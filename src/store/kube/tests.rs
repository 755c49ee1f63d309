//! The CustomResourceDefinitions in `deploy/crds/` checked against the Rust
//! types that write the objects (group, version, kind, plural, scope; every
//! spec field with its type, what is required, each string's bound; every
//! printer column resolving on an object as written), and the codec's
//! round trips and refusals, without an API server (the journal against
//! the fake API server is tested in `tests/cluster/journal.rs`).

use super::codec::{
    decode_key, decode_lock, decode_operation, key_object, lock_object, operation_object,
};
use super::objects::*;
use super::seal::{SEAL_LEN, Sealer};
use crate::engine::{Lock, State};
use crate::store::conformance::operation;
use crate::yaml::{self, Kind as Y, Limits, Node};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn at<'a>(node: &'a Node, path: &str) -> Option<&'a Node> {
    path.split('.').try_fold(node, |n, key| match &n.kind {
        Y::Seq(items) => items.get(key.parse::<usize>().ok()?),
        _ => n.get(key),
    })
}

fn text<'a>(node: &'a Node, path: &str) -> &'a str {
    at(node, path)
        .and_then(Node::as_str)
        .unwrap_or_else(|| panic!("no text at {path}"))
}

fn items<'a>(node: &'a Node, path: &str) -> &'a [Node] {
    match at(node, path).map(|n| &n.kind) {
        Some(Y::Seq(items)) => items,
        _ => panic!("no list at {path}"),
    }
}

fn keys(node: &Node) -> BTreeSet<&str> {
    match &node.kind {
        Y::Map(entries) => entries.iter().filter_map(|(k, _)| k.as_str()).collect(),
        _ => panic!("not a mapping"),
    }
}

/// The journal key of these tests.
const KEY: &[u8] = b"the journal key of the unit tests, 32+ bytes";

fn sealer() -> Sealer {
    Sealer::new(KEY)
}

fn lock(app: Option<&str>) -> Lock {
    Lock {
        env: "prod".into(),
        app: app.map(Into::into),
        holder: "console:carol".into(),
        reason: "release".into(),
        since: 10,
        until: Some(100),
        operation: Some(3),
    }
}

/// One kind's CRD file, an object with every field set as the journal
/// writes it, the spec fields it always writes, and each string's bound.
struct Case {
    kind: Kind,
    yaml: &'static str,
    full: Value,
    always: BTreeSet<String>,
    bounds: &'static [(&'static str, usize)],
}

fn written(obj: kube::core::DynamicObject) -> Value {
    let mut v = serde_json::to_value(obj).unwrap();
    // Set by the API server on create, as `kubectl get` sees it.
    v["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
    v
}

fn spec_keys(obj: kube::core::DynamicObject) -> BTreeSet<String> {
    obj.data["spec"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn cases() -> Vec<Case> {
    let op = operation(7, "staging", &["api", "web"], "v1", 10);
    vec![
        Case {
            kind: OPERATIONS,
            yaml: include_str!("../../../deploy/crds/hoistoperations.yaml"),
            full: written(operation_object(&sealer(), &op).unwrap()),
            always: spec_keys(operation_object(&sealer(), &op).unwrap()),
            bounds: &[
                ("verb", MAX_VERB),
                ("apps", MAX_APPS),
                ("env", MAX_ENV),
                ("state", MAX_STATE),
                ("record", MAX_OBJECT),
                ("seal", SEAL_LEN),
            ],
        },
        Case {
            kind: LOCKS,
            yaml: include_str!("../../../deploy/crds/hoistlocks.yaml"),
            full: written(lock_object(&sealer(), &lock(Some("api"))).unwrap()),
            always: spec_keys(lock_object(&sealer(), &lock(None)).unwrap()),
            bounds: &[
                ("env", MAX_ENV),
                ("app", MAX_ENV),
                ("record", MAX_OBJECT),
                ("seal", SEAL_LEN),
            ],
        },
        Case {
            kind: KEYS,
            yaml: include_str!("../../../deploy/crds/hoistkeys.yaml"),
            full: written(
                key_object(&sealer(), KeyKind::Note, "slack:live:7", Some("C1/1.2"), 5).unwrap(),
            ),
            always: spec_keys(
                key_object(&sealer(), KeyKind::Dedupe, "slack:event:Ev1", None, 5).unwrap(),
            ),
            bounds: &[("key", MAX_KEY), ("value", MAX_VALUE), ("seal", SEAL_LEN)],
        },
    ]
}

/// The value at a printer column's `jsonPath` (`.spec.id`).
fn resolve<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.strip_prefix('.')?;
    path.split('.').try_fold(object, |v, key| v.get(key))
}

#[test]
fn the_crds_in_deploy_match_the_rust_types() {
    for case in cases() {
        let who = case.kind.plural;
        let docs = yaml::load(case.yaml, Limits::POLICY).unwrap();
        assert_eq!(docs.len(), 1, "{who}");
        let crd = &docs[0];
        assert_eq!(text(crd, "apiVersion"), "apiextensions.k8s.io/v1", "{who}");
        assert_eq!(text(crd, "kind"), "CustomResourceDefinition", "{who}");
        assert_eq!(
            text(crd, "metadata.name"),
            format!("{}.{GROUP}", case.kind.plural)
        );
        assert_eq!(text(crd, "spec.group"), GROUP, "{who}");
        assert_eq!(text(crd, "spec.scope"), "Namespaced", "{who}");
        assert_eq!(text(crd, "spec.names.kind"), case.kind.kind, "{who}");
        assert_eq!(text(crd, "spec.names.plural"), case.kind.plural, "{who}");
        let resource = case.kind.resource();
        assert_eq!(resource.api_version, format!("{GROUP}/{VERSION}"));
        assert_eq!(
            case.full["apiVersion"],
            json!(resource.api_version),
            "{who}"
        );
        assert_eq!(case.full["kind"], json!(case.kind.kind), "{who}");

        let versions = items(crd, "spec.versions");
        assert_eq!(versions.len(), 1, "{who}: one version");
        let version = &versions[0];
        assert_eq!(text(version, "name"), VERSION, "{who}");
        assert_eq!(text(version, "served"), "true", "{who}");
        assert_eq!(text(version, "storage"), "true", "{who}");

        let root = at(version, "schema.openAPIV3Schema").expect("a schema");
        assert_eq!(text(root, "type"), "object", "{who}");
        let required: Vec<_> = items(root, "required")
            .iter()
            .filter_map(Node::as_str)
            .collect();
        assert_eq!(required, ["spec"], "{who}");
        let spec = at(root, "properties.spec").unwrap();
        assert_eq!(text(spec, "type"), "object", "{who}");
        let fields = at(spec, "properties").unwrap();
        let written = case.full["spec"].as_object().unwrap();
        let in_schema: BTreeSet<&str> = keys(fields);
        let in_rust: BTreeSet<&str> = written.keys().map(String::as_str).collect();
        assert_eq!(
            in_schema, in_rust,
            "{who}: the schema's fields are what hoist writes"
        );
        for (field, value) in written {
            let ty = text(fields, &format!("{field}.type"));
            let fits = match ty {
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "boolean" => value.is_boolean(),
                "object" => value.is_object(),
                other => panic!("{who}: {field} has type {other}"),
            };
            assert!(fits, "{who}: {field} is {value} but the schema says {ty}");
            if ty == "string" {
                let bound = case.bounds.iter().find(|(f, _)| f == field);
                let max = text(fields, &format!("{field}.maxLength"));
                assert_eq!(
                    Some(max.parse::<usize>().unwrap()),
                    bound.map(|(_, b)| *b),
                    "{who}: {field}'s maxLength is the bound the Rust code keeps"
                );
            }
        }
        let required: BTreeSet<String> = items(spec, "required")
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        assert_eq!(
            required, case.always,
            "{who}: required is what hoist always writes"
        );

        for column in items(version, "additionalPrinterColumns") {
            let path = text(column, "jsonPath");
            let value = resolve(&case.full, path)
                .unwrap_or_else(|| panic!("{who}: column {path} resolves to nothing"));
            let fits = match text(column, "type") {
                "integer" => value.is_u64() || value.is_i64(),
                "string" | "date" => value.is_string(),
                other => panic!("{who}: column type {other}"),
            };
            assert!(fits, "{who}: column {path} is {value}");
        }
    }
}

#[test]
fn kubectl_shows_id_verb_app_env_state_and_age_of_operations() {
    let docs = yaml::load(cases()[0].yaml, Limits::POLICY).unwrap();
    let columns: Vec<&str> = items(&docs[0], "spec.versions.0.additionalPrinterColumns")
        .iter()
        .map(|c| text(c, "name"))
        .collect();
    assert_eq!(columns, ["ID", "VERB", "APP", "ENV", "STATE", "AGE"]);
    let full = &cases()[0].full;
    assert_eq!(full["spec"]["id"], json!(7));
    assert_eq!(full["spec"]["apps"], json!("api,web"));
    assert_eq!(full["spec"]["state"], json!("requested"));
}

#[test]
fn records_round_trip_and_carry_their_labels() {
    let mut op = operation(12, "staging", &["api", "web"], "v1", 10);
    op.enter(State::Approved, 11);
    let obj = operation_object(&sealer(), &op).unwrap();
    assert_eq!(obj.metadata.name.as_deref(), Some("op-12"));
    assert_eq!(decode_operation(&sealer(), &obj).unwrap(), op);
    let labels = obj.metadata.labels.unwrap();
    assert_eq!(labels[UNFINISHED], "true");
    assert_eq!(labels[&app_label("staging", "api")], "true");
    assert_eq!(labels[&app_label("staging", "web")], "true");
    assert_eq!(labels.len(), 3);
    op.enter(State::Healthy, 12);
    let labels = operation_object(&sealer(), &op)
        .unwrap()
        .metadata
        .labels
        .unwrap();
    assert_eq!(labels[UNFINISHED], "false");

    let l = lock(None);
    assert_eq!(
        decode_lock(&sealer(), &lock_object(&sealer(), &l).unwrap()).unwrap(),
        l
    );
    let note = key_object(&sealer(), KeyKind::Note, "slack:live:7", Some("C1/1.2"), 5).unwrap();
    let spec = decode_key(&sealer(), &note, KeyKind::Note).unwrap();
    assert_eq!(
        (spec.key.as_str(), spec.value.as_deref(), spec.at),
        ("slack:live:7", Some("C1/1.2"), 5)
    );
    assert!(
        decode_key(&sealer(), &note, KeyKind::Dedupe).is_err(),
        "a note is no dedupe key"
    );
}

#[test]
fn a_forged_or_damaged_object_is_corrupt() {
    let op = operation(5, "staging", &["api"], "v1", 10);
    let good = operation_object(&sealer(), &op).unwrap();
    // Sealed again after the change (as a holder of the key would): the
    // checks behind the seal still hold.
    let forge = |f: &dyn Fn(&mut kube::core::DynamicObject)| {
        let mut obj = good.clone();
        f(&mut obj);
        if let Some(record) = obj.data["spec"]["record"].as_str() {
            let name = obj.metadata.name.clone().unwrap();
            let seal = sealer().seal(OPERATIONS.plural, &name, &[Some(record.as_bytes())]);
            obj.data["spec"]["seal"] = json!(seal);
        }
        decode_operation(&sealer(), &obj).unwrap_err()
    };
    let e = forge(&|o| o.data["spec"]["record"] = json!("{not json"));
    assert_eq!(e.kind(), "journal_corrupt");
    assert!(
        e.report()
            .starts_with("journal: operation 5 does not decode"),
        "{}",
        e.report()
    );
    let e = forge(&|o| o.metadata.name = Some("op-6".into()));
    assert!(e.report().contains("operation 6"), "{}", e.report());
    let e = forge(&|o| {
        o.metadata.name = Some("op-6".into());
        o.data["spec"]["id"] = json!(6);
    });
    assert!(
        e.report().contains("its record is operation 5"),
        "{}",
        e.report()
    );
    let e = forge(&|o| o.metadata.name = Some("op-05\nx".into()));
    assert_eq!(e.kind(), "journal_corrupt");
    assert!(!e.report().contains('\n'), "outside text is flattened");
    let e = forge(&|o| o.data["spec"] = json!("x"));
    assert_eq!(e.kind(), "journal_corrupt");

    // A lock object under another scope's name, sealed for that name.
    let mut obj = lock_object(&sealer(), &lock(Some("api"))).unwrap();
    let name = lock_name("prod", None);
    let record = obj.data["spec"]["record"].as_str().unwrap().to_string();
    obj.data["spec"]["seal"] =
        json!(sealer().seal(LOCKS.plural, &name, &[Some(record.as_bytes())]));
    obj.metadata.name = Some(name);
    let e = decode_lock(&sealer(), &obj).unwrap_err();
    assert!(
        e.report().contains("its record is the lock prod/api"),
        "{}",
        e.report()
    );
}

/// Said by every refused seal.
const UNSEALED: &str = "is not sealed by this journal's key";

#[test]
fn an_object_not_sealed_by_this_key_is_corrupt() {
    let other = Sealer::new(b"someone else's key, also 32+ bytes long");
    let refused = |e: crate::engine::ports::JournalError| {
        assert_eq!(e.kind(), "journal_corrupt", "{}", e.report());
        assert!(e.report().contains(UNSEALED), "{}", e.report());
    };
    // An approved operation: without a seal, sealed by another key, with
    // a seal that is not hex, and a valid one copied under another name
    // (its record's id changed to match: the seal binds the name).
    let mut op = operation(5, "prod", &["api"], "v1", 10);
    op.enter(State::Approved, 11);
    let good = operation_object(&sealer(), &op).unwrap();
    let mut unsealed = good.clone();
    unsealed.data["spec"]
        .as_object_mut()
        .unwrap()
        .remove("seal");
    refused(decode_operation(&sealer(), &unsealed).unwrap_err());
    refused(decode_operation(&sealer(), &operation_object(&other, &op).unwrap()).unwrap_err());
    let mut garbled = good.clone();
    garbled.data["spec"]["seal"] = json!("Z".repeat(64));
    refused(decode_operation(&sealer(), &garbled).unwrap_err());
    let mut copied = good.clone();
    let mut as_six = op.clone();
    as_six.id = 6;
    copied.metadata.name = Some("op-6".into());
    copied.data["spec"]["id"] = json!(6);
    copied.data["spec"]["record"] = json!(serde_json::to_string(&as_six).unwrap());
    refused(decode_operation(&sealer(), &copied).unwrap_err());
    // The record changed under its seal (a reason added, say).
    let mut changed = good.clone();
    let mut more = op.clone();
    more.reason = Some("forged".into());
    changed.data["spec"]["record"] = json!(serde_json::to_string(&more).unwrap());
    refused(decode_operation(&sealer(), &changed).unwrap_err());
    assert_eq!(decode_operation(&sealer(), &good).unwrap(), op);

    // A lock and keys: another key's seal; a key's time or value changed.
    refused(decode_lock(&sealer(), &lock_object(&other, &lock(None)).unwrap()).unwrap_err());
    let note = key_object(&sealer(), KeyKind::Note, "slack:live:7", Some("C1/1.2"), 5).unwrap();
    let mut moved = note.clone();
    moved.data["spec"]["value"] = json!("C0EVIL/1.0");
    refused(decode_key(&sealer(), &moved, KeyKind::Note).unwrap_err());
    let mut older = note.clone();
    older.data["spec"]["at"] = json!(4);
    refused(decode_key(&sealer(), &older, KeyKind::Note).unwrap_err());
    let mut valueless = note;
    valueless.data["spec"]
        .as_object_mut()
        .unwrap()
        .remove("value");
    refused(decode_key(&sealer(), &valueless, KeyKind::Note).unwrap_err());
    let dedupe = key_object(&other, KeyKind::Dedupe, "slack:event:Ev1", None, 5).unwrap();
    refused(decode_key(&sealer(), &dedupe, KeyKind::Dedupe).unwrap_err());
}

#[test]
fn an_object_over_one_mebibyte_is_refused() {
    let mut op = operation(5, "staging", &["api"], "v1", 10);
    op.reason = Some("x".repeat(MAX_OBJECT));
    let e = operation_object(&sealer(), &op).unwrap_err();
    assert_eq!(e.kind(), "journal_encode");
    assert!(e.report().contains("1 MiB"), "{}", e.report());
    // Under the limit as a record, over it once quoted into the object.
    op.reason = Some("\"".repeat(MAX_OBJECT / 2 - 1000));
    let e = operation_object(&sealer(), &op).unwrap_err();
    assert!(
        e.report().contains("as a Kubernetes object"),
        "{}",
        e.report()
    );
    let e = key_object(
        &sealer(),
        KeyKind::Note,
        "k",
        Some(&"v".repeat(MAX_VALUE + 1)),
        1,
    )
    .unwrap_err();
    assert_eq!(e.kind(), "journal_encode");
    let e = key_object(
        &sealer(),
        KeyKind::Dedupe,
        &"k".repeat(MAX_KEY + 1),
        None,
        1,
    )
    .unwrap_err();
    assert_eq!(e.kind(), "journal_encode");
}
