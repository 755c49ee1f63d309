//! Writes as the API server does them: create (201, or 409 AlreadyExists,
//! 422 Invalid without a name), replace (`PUT`: the body's resourceVersion
//! must be the stored one, else 409 Conflict; custom resources refuse an
//! update without one), JSON merge patch (a resourceVersion in the patch is
//! a precondition too), delete (`DeleteOptions` preconditions on
//! resourceVersion and uid). Every stored object gets a uid, a creation
//! time, a generation and a new resourceVersion; one over etcd's 1.5 MiB
//! limit is refused (413), as the real server refuses it.

use super::wire::{Target, failure};
use super::{Event, State, emit, reply, status};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Mutex;
use tokio::sync::broadcast;

/// etcd's limit on one stored object, in bytes of JSON.
const MAX_OBJECT: usize = 1_572_864;

/// Groups of built-in kinds: they accept an update without a
/// resourceVersion; custom resources do not.
const BUILT_IN_GROUPS: &[&str] = &[
    "coordination.k8s.io",
    "apps",
    "batch",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
];

/// A fresh uid, creation time and generation for a new object.
pub(super) fn new_identity(st: &mut State, object: &mut Value) {
    st.created += 1;
    let meta = &mut object["metadata"];
    meta["uid"] = json!(format!("00000000-0000-4000-8000-{:012x}", st.created));
    meta["creationTimestamp"] = json!(
        jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    );
    meta["generation"] = json!(1);
}

/// What a write may not change: uid, creation time, name, namespace; the
/// generation moves when anything but metadata changed.
pub(super) fn keep_identity(object: &mut Value, old: &Value) {
    let changed = |o: &Value| {
        let mut o = o.clone();
        if let Some(m) = o.as_object_mut() {
            m.remove("metadata");
        }
        o
    };
    let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
    let generation = generation + i64::from(changed(object) != changed(old));
    for key in ["uid", "creationTimestamp", "name", "namespace"] {
        object["metadata"][key] = old["metadata"][key].clone();
    }
    object["metadata"]["generation"] = json!(generation);
}

fn group(target: &Target) -> &str {
    target.resource.split('/').next().unwrap_or_default()
}

fn failure_about(code: u16, reason: &str, message: &str, target: &Target, name: &str) -> Response {
    let mut body = status(code, reason, message);
    let plural = target.resource.rsplit('/').next().unwrap_or_default();
    body["details"] = json!({"name": name, "group": group(target), "kind": plural});
    reply(StatusCode::from_u16(code).unwrap(), body)
}

fn conflict(target: &Target, name: &str, why: &str) -> Response {
    let message = format!(
        "Operation cannot be fulfilled on {} \"{name}\": {why}",
        target.qualified()
    );
    failure_about(409, "Conflict", &message, target, name)
}

const MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

fn too_large(object: &Value) -> Option<Response> {
    let size = serde_json::to_vec(object).map_or(usize::MAX, |v| v.len());
    (size > MAX_OBJECT).then(|| failure(413, "etcdserver: request is too large"))
}

fn stored(st: &State, target: &Target, name: &str) -> Option<Value> {
    st.objects
        .get(&target.resource)?
        .get(&(target.ns.clone().unwrap_or_default(), name.to_string()))
        .cloned()
}

fn parse(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

fn not_an_object() -> Response {
    failure(400, "the body is not a JSON object")
}

pub(super) fn create(
    state: &Mutex<State>,
    events: &broadcast::Sender<Event>,
    target: &Target,
    body: &[u8],
) -> Response {
    let mut object = match parse(body) {
        Some(o) => o,
        None => return not_an_object(),
    };
    let ns = target.ns.clone().unwrap_or_default();
    let Some(name) = object["metadata"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
    else {
        let kind = object["kind"].as_str().unwrap_or_default();
        let message = format!(
            "{kind}.{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
            group(target)
        );
        return failure_about(422, "Invalid", &message, target, "");
    };
    if object["metadata"]["namespace"]
        .as_str()
        .is_some_and(|n| n != ns)
    {
        return failure(
            400,
            "the namespace of the provided object does not match the namespace sent on the request",
        );
    }
    let mut st = state.lock().unwrap();
    if stored(&st, target, &name).is_some() {
        let message = format!("{} \"{name}\" already exists", target.qualified());
        return failure_about(409, "AlreadyExists", &message, target, &name);
    }
    object["metadata"]["namespace"] = json!(ns);
    new_identity(&mut st, &mut object);
    if let Some(refused) = too_large(&object) {
        return refused;
    }
    emit(&mut st, events, target.resource.clone(), "ADDED", object);
    let created = stored(&st, target, &name).unwrap();
    reply(StatusCode::CREATED, created)
}

pub(super) fn replace(
    state: &Mutex<State>,
    events: &broadcast::Sender<Event>,
    target: &Target,
    name: &str,
    body: &[u8],
) -> Response {
    let mut object = match parse(body) {
        Some(o) => o,
        None => return not_an_object(),
    };
    if object["metadata"]["name"].as_str() != Some(name) {
        return failure(
            400,
            &format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                object["metadata"]["name"].as_str().unwrap_or_default()
            ),
        );
    }
    let mut st = state.lock().unwrap();
    let Some(old) = stored(&st, target, name) else {
        return super::wire::not_found(target, name);
    };
    let rv = object["metadata"]["resourceVersion"]
        .as_str()
        .filter(|rv| !rv.is_empty());
    match rv {
        Some(rv) if Some(rv) != old["metadata"]["resourceVersion"].as_str() => {
            return conflict(target, name, MODIFIED);
        }
        None if !BUILT_IN_GROUPS.contains(&group(target)) => {
            let kind = object["kind"].as_str().unwrap_or_default();
            let message = format!(
                "{kind}.{} \"{name}\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
                group(target)
            );
            return failure_about(422, "Invalid", &message, target, name);
        }
        _ => {}
    }
    keep_identity(&mut object, &old);
    if let Some(refused) = too_large(&object) {
        return refused;
    }
    emit(&mut st, events, target.resource.clone(), "MODIFIED", object);
    reply(StatusCode::OK, stored(&st, target, name).unwrap())
}

pub(super) fn patch(
    state: &Mutex<State>,
    events: &broadcast::Sender<Event>,
    target: &Target,
    name: &str,
    content_type: &str,
    body: &[u8],
) -> Response {
    let merging = match content_type.split(';').next().unwrap_or_default().trim() {
        "application/merge-patch+json" => true,
        // Built-in kinds take a strategic merge patch; for the fake's
        // objects (no lists merged by key) it is a merge patch.
        "application/strategic-merge-patch+json" => BUILT_IN_GROUPS.contains(&group(target)),
        _ => false,
    };
    if !merging {
        return failure(
            415,
            &format!("the fake API server takes merge patches only, not {content_type}"),
        );
    }
    let patch = match parse(body) {
        Some(p) => p,
        None => return not_an_object(),
    };
    let ns = target.ns.clone().unwrap_or_default();
    let mut st = state.lock().unwrap();
    let Some(old) = stored(&st, target, name) else {
        return super::wire::not_found(target, name);
    };
    if let Some(rv) = patch["metadata"]["resourceVersion"].as_str()
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return conflict(target, name, MODIFIED);
    }
    let mut object = old.clone();
    merge(&mut object, &patch);
    keep_identity(&mut object, &old);
    if let Some(refused) = too_large(&object) {
        return refused;
    }
    let plural = target.resource.rsplit('/').next().unwrap_or_default();
    st.patches.push((format!("{plural} {ns}/{name}"), patch));
    emit(&mut st, events, target.resource.clone(), "MODIFIED", object);
    reply(StatusCode::OK, stored(&st, target, name).unwrap())
}

pub(super) fn delete(
    state: &Mutex<State>,
    events: &broadcast::Sender<Event>,
    target: &Target,
    name: &str,
    body: &[u8],
) -> Response {
    let options = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match parse(body) {
            Some(o) => o,
            None => return not_an_object(),
        }
    };
    let mut st = state.lock().unwrap();
    let Some(old) = stored(&st, target, name) else {
        return super::wire::not_found(target, name);
    };
    for (field, said) in [("resourceVersion", "ResourceVersion"), ("uid", "UID")] {
        let wanted = &options["preconditions"][field];
        let held = &old["metadata"][field];
        if let Some(wanted) = wanted.as_str()
            && Some(wanted) != held.as_str()
        {
            let why = format!(
                "Precondition failed: {said} in precondition: {wanted}, {said} in object meta: {}",
                held.as_str().unwrap_or_default()
            );
            return conflict(target, name, &why);
        }
    }
    emit(&mut st, events, target.resource.clone(), "DELETED", old);
    let last = st.log.last().map(|e| e.object.clone()).unwrap_or_default();
    reply(StatusCode::OK, last)
}

/// JSON merge patch (RFC 7386).
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}
