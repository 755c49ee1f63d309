//! Journal records as Kubernetes objects and back. Building an object
//! checks its size against [`MAX_OBJECT`] (an `Encode` error, nothing sent);
//! reading one trusts nothing in it: the name must be one hoist builds, the
//! spec must decode, and an operation's id must agree in its name, its spec
//! and its record, a lock's name must be the one its record's scope gets,
//! so an object written by someone else is a `Corrupt` error, never a
//! record answering for something it is not. Every object is sealed with
//! the journal key (`super::seal`) over its kind, name and content, and
//! the seal is checked before anything in it is believed.

use super::objects::{
    KEY_KIND, KEYS, KeyKind, KeySpec, LOCKS, LockSpec, MAX_APPS, MAX_ENV, MAX_KEY, MAX_OBJECT,
    MAX_STATE, MAX_VALUE, MAX_VERB, OPERATIONS, OperationSpec, UNFINISHED, app_label, cut, id_of,
    key_name, lock_name, operation_name,
};
use super::seal::Sealer;
use crate::engine::ports::JournalError;
use crate::engine::{Lock, Operation, one_line};
use crate::store::index;
use kube::core::DynamicObject;
use serde::Deserialize;
use std::collections::BTreeMap;

type Result<T, E = JournalError> = std::result::Result<T, E>;

/// A name or key read from outside, fit for an error message.
pub fn shown(text: &str) -> String {
    one_line(text, 80)
}

pub fn corrupt(
    what: String,
    why: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> JournalError {
    JournalError::Corrupt {
        what,
        source: why.into(),
    }
}

fn too_big(what: String, why: String) -> JournalError {
    JournalError::Encode {
        what,
        source: why.into(),
    }
}

/// A new object of `kind` named `name` with `spec` and `labels`, refused
/// when it would weigh more than [`MAX_OBJECT`] as sent.
fn object(
    kind: super::objects::Kind,
    name: &str,
    spec: impl serde::Serialize,
    labels: BTreeMap<String, String>,
    what: impl Fn() -> String,
) -> Result<DynamicObject> {
    let spec = serde_json::to_value(spec).map_err(|e| JournalError::Encode {
        what: what(),
        source: Box::new(e),
    })?;
    let mut obj =
        DynamicObject::new(name, &kind.resource()).data(serde_json::json!({ "spec": spec }));
    obj.metadata.labels = Some(labels);
    let size = serde_json::to_vec(&obj)
        .map(|b| b.len())
        .unwrap_or(usize::MAX);
    if size > MAX_OBJECT {
        return Err(too_big(
            what(),
            format!(
                "it is {size} bytes as a Kubernetes object; the journal in the Kubernetes API keeps at most {MAX_OBJECT} (1 MiB) per object"
            ),
        ));
    }
    Ok(obj)
}

/// `op` as its `HoistOperation`: the record, the copies `kubectl get`
/// shows, the unfinished label and one label per app it changes.
pub fn operation_object(sealer: &Sealer, op: &Operation) -> Result<DynamicObject> {
    let what = || format!("operation {}", op.id);
    let record = serde_json::to_string(op).map_err(|e| JournalError::Encode {
        what: what(),
        source: Box::new(e),
    })?;
    if record.len() > MAX_OBJECT {
        return Err(too_big(
            what(),
            format!(
                "its record is {} bytes; the journal in the Kubernetes API keeps at most {MAX_OBJECT} (1 MiB) per object",
                record.len()
            ),
        ));
    }
    let apps = index::apps(op);
    let name = operation_name(op.id);
    let spec = OperationSpec {
        id: op.id,
        verb: cut(&op.verb, MAX_VERB),
        apps: cut(
            &apps.iter().copied().collect::<Vec<_>>().join(","),
            MAX_APPS,
        ),
        env: cut(&op.env, MAX_ENV),
        state: cut(op.state.name(), MAX_STATE),
        seal: sealer.seal(OPERATIONS.plural, &name, &[Some(record.as_bytes())]),
        record,
    };
    let mut labels = BTreeMap::new();
    labels.insert(UNFINISHED.to_string(), index::unfinished(op).to_string());
    for app in apps {
        labels.insert(app_label(&op.env, app), "true".to_string());
    }
    object(OPERATIONS, &name, spec, labels, what)
}

fn name_of(obj: &DynamicObject) -> &str {
    obj.metadata.name.as_deref().unwrap_or("")
}

/// The operation a `HoistOperation` holds, its id agreeing in the name,
/// the spec and the record.
pub fn decode_operation(sealer: &Sealer, obj: &DynamicObject) -> Result<Operation> {
    let name = name_of(obj);
    let Some(id) = id_of(name) else {
        return Err(corrupt(
            format!("object {}", shown(name)),
            "hoistoperations are named op-<id>",
        ));
    };
    let what = || format!("operation {id}");
    let spec = OperationSpec::deserialize(&obj.data["spec"]).map_err(|e| corrupt(what(), e))?;
    sealer
        .check(
            OPERATIONS.plural,
            name,
            &[Some(spec.record.as_bytes())],
            &spec.seal,
        )
        .map_err(|e| corrupt(what(), e))?;
    if spec.id != id {
        return Err(corrupt(what(), format!("its spec says id {}", spec.id)));
    }
    let op: Operation = serde_json::from_str(&spec.record).map_err(|e| corrupt(what(), e))?;
    if op.id != id {
        return Err(corrupt(
            what(),
            format!("its record is operation {}", op.id),
        ));
    }
    Ok(op)
}

/// The label selector of the operations that may change `app` in `env`.
pub fn app_selector(env: &str, app: &str) -> String {
    format!("{}=true", app_label(env, app))
}

/// The label selector of unfinished operations.
pub fn unfinished_selector() -> String {
    format!("{UNFINISHED}=true")
}

fn lock_what(env: &str, app: Option<&str>) -> String {
    match app {
        Some(app) => format!("lock {}/{}", shown(env), shown(app)),
        None => format!("lock {}", shown(env)),
    }
}

/// `lock` as its `HoistLock`.
pub fn lock_object(sealer: &Sealer, lock: &Lock) -> Result<DynamicObject> {
    let what = || lock_what(&lock.env, lock.app.as_deref());
    let record = serde_json::to_string(lock).map_err(|e| JournalError::Encode {
        what: what(),
        source: Box::new(e),
    })?;
    let name = lock_name(&lock.env, lock.app.as_deref());
    let spec = LockSpec {
        env: cut(&lock.env, MAX_ENV),
        app: lock.app.as_deref().map(|a| cut(a, MAX_ENV)),
        seal: sealer.seal(LOCKS.plural, &name, &[Some(record.as_bytes())]),
        record,
    };
    object(LOCKS, &name, spec, BTreeMap::new(), what)
}

/// The lock a `HoistLock` holds, which must be the one its name is for.
pub fn decode_lock(sealer: &Sealer, obj: &DynamicObject) -> Result<Lock> {
    let name = name_of(obj);
    let what = || format!("lock object {}", shown(name));
    let spec = LockSpec::deserialize(&obj.data["spec"]).map_err(|e| corrupt(what(), e))?;
    sealer
        .check(
            LOCKS.plural,
            name,
            &[Some(spec.record.as_bytes())],
            &spec.seal,
        )
        .map_err(|e| corrupt(what(), e))?;
    let lock: Lock = serde_json::from_str(&spec.record).map_err(|e| corrupt(what(), e))?;
    if lock_name(&lock.env, lock.app.as_deref()) != name {
        return Err(corrupt(
            what(),
            format!(
                "its record is the {}",
                lock_what(&lock.env, lock.app.as_deref())
            ),
        ));
    }
    Ok(lock)
}

/// The words for a key in messages: its kind and the key, flattened.
pub fn key_what(kind: KeyKind, key: &str) -> String {
    format!("{} {}", kind.label(), shown(key))
}

/// `key` (with a note's `value`) as its `HoistKey`, stamped `at`.
pub fn key_object(
    sealer: &Sealer,
    kind: KeyKind,
    key: &str,
    value: Option<&str>,
    at: i64,
) -> Result<DynamicObject> {
    let what = || key_what(kind, key);
    if key.len() > MAX_KEY {
        return Err(too_big(
            what(),
            format!("the key is {} bytes; at most {MAX_KEY} are kept", key.len()),
        ));
    }
    if let Some(value) = value.filter(|v| v.len() > MAX_VALUE) {
        return Err(too_big(
            what(),
            format!(
                "the value is {} bytes; at most {MAX_VALUE} are kept",
                value.len()
            ),
        ));
    }
    let name = key_name(kind, key);
    let spec = KeySpec {
        key: key.to_string(),
        value: value.map(str::to_string),
        at,
        // The time as 8 big-endian bytes.
        seal: sealer.seal(
            KEYS.plural,
            &name,
            &[
                Some(key.as_bytes()),
                value.map(str::as_bytes),
                Some(&at.to_be_bytes()),
            ],
        ),
    };
    let labels = BTreeMap::from([(KEY_KIND.to_string(), kind.label().to_string())]);
    object(KEYS, &name, spec, labels, what)
}

/// The spec of a `HoistKey` whose name must be that of its own key as `kind`.
pub fn decode_key(sealer: &Sealer, obj: &DynamicObject, kind: KeyKind) -> Result<KeySpec> {
    let name = name_of(obj);
    let what = || format!("{} object {}", kind.label(), shown(name));
    let spec = KeySpec::deserialize(&obj.data["spec"]).map_err(|e| corrupt(what(), e))?;
    let at = spec.at.to_be_bytes();
    let fields = [
        Some(spec.key.as_bytes()),
        spec.value.as_deref().map(str::as_bytes),
        Some(&at[..]),
    ];
    sealer
        .check(KEYS.plural, name, &fields, &spec.seal)
        .map_err(|e| corrupt(what(), e))?;
    if key_name(kind, &spec.key) != name {
        return Err(corrupt(
            what(),
            format!("it holds the {}", key_what(kind, &spec.key)),
        ));
    }
    Ok(spec)
}
