//! What hoist's objects in the Kubernetes API are: the group, version,
//! kinds and plurals of its CustomResourceDefinitions (`deploy/crds/`, which
//! a test checks against these types), the `spec` of each kind, the limits
//! the journal keeps under the API's own, and the names and labels hoist
//! builds. Every name and label hoist builds is made of ids and hex digests
//! only: nothing read from an object or a chat ever becomes part of one.

use kube::core::{ApiResource, GroupVersionKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The API group of hoist's resources.
pub const GROUP: &str = "hoist.dev";
/// Their one version.
pub const VERSION: &str = "v1alpha1";

/// One of hoist's resource kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub kind: &'static str,
    pub plural: &'static str,
}

/// An operation: `op-<id>`, never deleted.
pub const OPERATIONS: Kind = Kind {
    kind: "HoistOperation",
    plural: "hoistoperations",
};
/// A lock on an environment or one app in it.
pub const LOCKS: Kind = Kind {
    kind: "HoistLock",
    plural: "hoistlocks",
};
/// A dedupe key or a chat adapter's note.
pub const KEYS: Kind = Kind {
    kind: "HoistKey",
    plural: "hoistkeys",
};

impl Kind {
    /// The dynamic resource kube's `Api` is built with.
    pub fn resource(self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(GROUP, VERSION, self.kind),
            self.plural,
        )
    }
}

/// The most one object may weigh as sent, JSON encoded (the API server
/// refuses requests over 1.5 MiB and etcd values over about as much; hoist
/// stays well under so a record never fails at the server).
pub const MAX_OBJECT: usize = 1 << 20;
/// The longest dedupe key or note key.
pub const MAX_KEY: usize = 4096;
/// The longest note value.
pub const MAX_VALUE: usize = 64 << 10;
/// The copies of an operation's fields shown by `kubectl get` are cut to
/// these lengths (the record keeps them whole).
pub const MAX_VERB: usize = 64;
pub const MAX_APPS: usize = 64 << 10;
pub const MAX_ENV: usize = 253;
pub const MAX_STATE: usize = 64;

/// Set on every operation: `"true"` while it is not in a terminal state.
pub const UNFINISHED: &str = "hoist.dev/unfinished";
/// Set on every key object: which kind of key it is.
pub const KEY_KIND: &str = "hoist.dev/key";
/// The prefix of the label an operation carries for each app it changes.
pub const APP_PREFIX: &str = "app.hoist.dev/";

/// `spec` of a `HoistOperation`. `record` is the truth; the rest are
/// copies for `kubectl get hoistoperations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationSpec {
    pub id: u64,
    pub verb: String,
    /// The apps it changes, joined with `,`.
    pub apps: String,
    pub env: String,
    /// The state's name (`awaiting-approval`, `pushed`, `healthy`).
    pub state: String,
    /// The operation as JSON.
    pub record: String,
    /// The journal key's seal over the kind, the name and `record`
    /// (see `super::seal`): empty when absent, which reading refuses.
    #[serde(default)]
    pub seal: String,
}

/// `spec` of a `HoistLock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockSpec {
    pub env: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The lock as JSON.
    pub record: String,
    /// The journal key's seal over the kind, the name and `record`
    /// (see `super::seal`): empty when absent, which reading refuses.
    #[serde(default)]
    pub seal: String,
}

/// `spec` of a `HoistKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySpec {
    pub key: String,
    /// A note's value; none for a dedupe key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// When a dedupe key was first seen, or a note last written (seconds
    /// since the epoch).
    pub at: i64,
    /// The journal key's seal over the kind, the name and `key`, `value` and `at`
    /// (see `super::seal`): empty when absent, which reading refuses.
    #[serde(default)]
    pub seal: String,
}

/// Which kind of key a `HoistKey` holds (its `hoist.dev/key` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Dedupe,
    Note,
}

impl KeyKind {
    pub fn label(self) -> &'static str {
        match self {
            KeyKind::Dedupe => "dedupe",
            KeyKind::Note => "note",
        }
    }
}

/// `parts` joined with NUL (which no part can hold unnoticed), hashed, as hex.
fn digest(parts: &[&str], hex_digits: usize) -> String {
    let mut h = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0]);
        }
        h.update(part.as_bytes());
    }
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..hex_digits]
        .to_string()
}

/// `op-<id>`.
pub fn operation_name(id: u64) -> String {
    format!("op-{id}")
}

/// The id an operation's object name holds: `op-` and a number in the
/// canonical form hoist writes (no sign, no leading zero).
pub fn id_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("op-")?;
    let canonical = !digits.is_empty()
        && digits.len() <= 20
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !(digits.len() > 1 && digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

/// `lock-<16 hex>` of the lock on `env` (`app: None`) or on `app` in it.
pub fn lock_name(env: &str, app: Option<&str>) -> String {
    let hash = match app {
        Some(app) => digest(&[env, app], 16),
        None => digest(&[env], 16),
    };
    format!("lock-{hash}")
}

/// `key-<32 hex>` of `key` as a dedupe key or a note.
pub fn key_name(kind: KeyKind, key: &str) -> String {
    format!("key-{}", digest(&[kind.label(), key], 32))
}

/// The label an operation carries when it changes `app` in `env`:
/// `app.hoist.dev/<16 hex>` (a label name is at most 63 characters; a
/// collision or a forged label is harmless: queries check each record).
pub fn app_label(env: &str, app: &str) -> String {
    format!("{APP_PREFIX}{}", digest(&[env, app], 16))
}

/// `text` cut to at most `max` bytes at a character boundary (the copies
/// shown by `kubectl get`; the record keeps the whole text).
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_ids_and_hex_only_and_fit_the_api() {
        assert_eq!(operation_name(42), "op-42");
        assert_eq!(id_of("op-42"), Some(42));
        for bad in [
            "op-",
            "op-042",
            "op--1",
            "op-+1",
            "op-1a",
            "lock-1",
            "op-99999999999999999999",
        ] {
            assert_eq!(id_of(bad), None, "{bad}");
        }
        let lock = lock_name("prod", Some("api"));
        assert!(lock.starts_with("lock-") && lock.len() == 21, "{lock}");
        assert_ne!(lock, lock_name("prod", None));
        assert_ne!(lock_name("prod", Some("")), lock_name("prod", None));
        // The separator keeps "pro" + "dapi" apart from "prod" + "api".
        assert_ne!(lock, lock_name("pro", Some("dapi")));
        let key = key_name(KeyKind::Dedupe, "slack:event:Ev1\n../x");
        assert!(key.len() == 36 && key[4..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(key, key_name(KeyKind::Note, "slack:event:Ev1\n../x"));
        let label = app_label("staging", "api");
        let (prefix, name) = label.split_once('/').unwrap();
        assert_eq!(prefix, "app.hoist.dev");
        assert!(name.len() <= 63 && name.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(label, app_label("prod", "api"));
    }

    #[test]
    fn copies_are_cut_at_a_character_boundary() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("abcdef", 3), "abc");
        assert_eq!(cut("aé", 2), "a");
    }
}
