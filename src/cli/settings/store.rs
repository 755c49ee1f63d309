//! Where `serve` keeps its journal, and leadership between replicas:
//! `HOIST_STORE` (`redb`, the default: one process, the journal in the data
//! dir; `kubernetes`: the journal as custom resources in the Kubernetes API,
//! shared by replicas that elect a leader with a Lease), `POD_NAMESPACE`
//! (the namespace of hoist's objects; the kubeconfig's when unset),
//! `POD_NAME` (this replica's name on the Lease; else hostname and pid),
//! `HOIST_LEASE_NAME` (`hoist`), `HOIST_LEASE_DURATION` (`15s`),
//! `HOIST_LEASE_RENEW_DEADLINE` (`10s`), `HOIST_LEASE_RETRY_PERIOD` (`2s`).
//! The lease times must nest: retry period < renew deadline < duration, so
//! a leader that cannot renew steps down before another may take over.
//! `HOIST_JOURNAL_KEY` (a secret, at least 32 bytes of text, the same on
//! every replica) seals every journal object, so one written by anyone
//! else who can write hoist's namespace is refused: required with
//! `kubernetes`, ignored with redb.

use super::read::{Error, Secret, Vars};
use std::ffi::OsString;
use std::time::Duration;

/// The journal's home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// `DATA_DIR/hoist.redb`, this process alone.
    #[default]
    Redb,
    /// Custom resources in the Kubernetes API, shared by replicas.
    Kubernetes,
}

/// `HOIST_STORE` and, with `kubernetes`, the Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub kind: Kind,
    /// `POD_NAMESPACE`.
    pub namespace: Option<String>,
    /// `POD_NAME`.
    pub pod_name: Option<String>,
    /// `HOIST_LEASE_NAME`.
    pub lease_name: String,
    /// `HOIST_LEASE_DURATION`.
    pub lease_duration: Duration,
    /// `HOIST_LEASE_RENEW_DEADLINE`.
    pub renew_deadline: Duration,
    /// `HOIST_LEASE_RETRY_PERIOD`.
    pub retry_period: Duration,
    /// `HOIST_JOURNAL_KEY`, with `kubernetes` (always set then).
    pub journal_key: Option<Secret>,
}

/// The shortest `HOIST_JOURNAL_KEY`, in bytes.
pub const MIN_JOURNAL_KEY: usize = crate::store::kube::seal::MIN_KEY;

impl Default for Store {
    fn default() -> Self {
        Store {
            kind: Kind::Redb,
            namespace: None,
            pod_name: None,
            lease_name: "hoist".into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            journal_key: None,
        }
    }
}

/// A DNS-1123 subdomain (a Lease's name), at most 253 characters.
fn subdomain(name: &str) -> bool {
    (1..=253).contains(&name.len())
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

/// `HOIST_JOURNAL_KEY`: present and at least [`MIN_JOURNAL_KEY`] bytes
/// (its value never in a message).
fn journal_key<F: Fn(&str) -> Option<OsString>>(v: &Vars<F>) -> Result<Secret, Error> {
    const GENERATE: &str = "e.g. `openssl rand -hex 32`, the same on every replica";
    match v.text("HOIST_JOURNAL_KEY")? {
        None => Err(Error::bad(
            "HOIST_JOURNAL_KEY",
            format!(
                "is required with HOIST_STORE=kubernetes: the key that seals the journal's \
                 objects ({GENERATE})"
            ),
        )),
        Some(key) if key.trim().len() < MIN_JOURNAL_KEY => Err(Error::bad(
            "HOIST_JOURNAL_KEY",
            format!(
                "is {} bytes; at least {MIN_JOURNAL_KEY} are needed ({GENERATE})",
                key.trim().len()
            ),
        )),
        Some(key) => Ok(Secret::new(key.trim().to_string())),
    }
}

pub fn store<F: Fn(&str) -> Option<OsString>>(v: &Vars<F>) -> Result<Store, Error> {
    let d = Store::default();
    let kind = match v.text("HOIST_STORE")?.as_deref().map(str::trim) {
        None | Some("" | "redb") => Kind::Redb,
        Some("kubernetes") => Kind::Kubernetes,
        Some(other) => {
            return Err(Error::bad(
                "HOIST_STORE",
                format!(
                    "`{}` is not a store: `redb` (one process) or `kubernetes` (replicas)",
                    crate::engine::one_line(other, 40)
                ),
            ));
        }
    };
    let namespace = v.text("POD_NAMESPACE")?.map(|n| n.trim().to_string());
    if let Some(n) = namespace
        .as_deref()
        .filter(|n| !crate::ha::valid_namespace(n))
    {
        return Err(Error::bad(
            "POD_NAMESPACE",
            format!(
                "`{}` is not a namespace name",
                crate::engine::one_line(n, 80)
            ),
        ));
    }
    let lease_name = v
        .text("HOIST_LEASE_NAME")?
        .map_or(d.lease_name, |n| n.trim().to_string());
    if !subdomain(&lease_name) {
        return Err(Error::bad(
            "HOIST_LEASE_NAME",
            format!(
                "`{}` is not a Lease name",
                crate::engine::one_line(&lease_name, 80)
            ),
        ));
    }
    let journal_key = match kind {
        Kind::Redb => None,
        Kind::Kubernetes => Some(journal_key(v)?),
    };
    let s = Store {
        kind,
        journal_key,
        namespace: namespace.filter(|n| !n.is_empty()),
        pod_name: v
            .text("POD_NAME")?
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty()),
        lease_name,
        lease_duration: v
            .wait("HOIST_LEASE_DURATION", false)?
            .unwrap_or(d.lease_duration),
        renew_deadline: v
            .wait("HOIST_LEASE_RENEW_DEADLINE", false)?
            .unwrap_or(d.renew_deadline),
        retry_period: v
            .wait("HOIST_LEASE_RETRY_PERIOD", false)?
            .unwrap_or(d.retry_period),
    };
    if s.lease_duration.as_secs() < 1 || s.lease_duration > Duration::from_secs(3600) {
        return Err(Error::bad(
            "HOIST_LEASE_DURATION",
            "must be between 1s and 1h (the Lease counts whole seconds)",
        ));
    }
    if s.renew_deadline >= s.lease_duration {
        return Err(Error::bad(
            "HOIST_LEASE_RENEW_DEADLINE",
            format!(
                "must be shorter than HOIST_LEASE_DURATION ({:?}): a leader that cannot renew \
                 steps down before another may take over",
                s.lease_duration
            ),
        ));
    }
    if s.retry_period >= s.renew_deadline {
        return Err(Error::bad(
            "HOIST_LEASE_RETRY_PERIOD",
            format!(
                "must be shorter than HOIST_LEASE_RENEW_DEADLINE ({:?})",
                s.renew_deadline
            ),
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::super::tests::read;
    use super::super::{Area, Flags};
    use super::*;

    const KEY: &str = "a2f4c1d0e9b8a7f6e5d4c3b2a1f0e9d8";

    #[test]
    fn redb_by_default_and_kubernetes_with_its_lease() {
        let s = read(&[Area::Store], &Flags::default(), &[]).unwrap();
        assert_eq!(s.store, Store::default());
        let s = read(
            &[Area::Store],
            &Flags::default(),
            &[
                ("HOIST_STORE", "kubernetes"),
                ("POD_NAMESPACE", "deploys"),
                ("POD_NAME", "hoist-7d9c-x2"),
                ("HOIST_LEASE_NAME", "hoist.leader"),
                ("HOIST_LEASE_DURATION", "3s"),
                ("HOIST_LEASE_RENEW_DEADLINE", "2s"),
                ("HOIST_LEASE_RETRY_PERIOD", "250ms"),
                ("HOIST_JOURNAL_KEY", KEY),
            ],
        )
        .unwrap();
        assert_eq!(s.store.kind, Kind::Kubernetes);
        assert_eq!(s.store.namespace.as_deref(), Some("deploys"));
        assert_eq!(s.store.pod_name.as_deref(), Some("hoist-7d9c-x2"));
        assert_eq!(s.store.lease_name, "hoist.leader");
        assert_eq!(s.store.retry_period, Duration::from_millis(250));
        assert_eq!(s.store.journal_key.as_ref().map(Secret::expose), Some(KEY));
        assert!(
            !format!("{:?}", s.store).contains(KEY),
            "Debug shows no key"
        );
        // Ignored with redb.
        let s = read(
            &[Area::Store],
            &Flags::default(),
            &[("HOIST_JOURNAL_KEY", "short")],
        )
        .unwrap();
        assert_eq!(s.store.journal_key, None);
    }

    #[test]
    fn the_kubernetes_store_needs_a_journal_key_of_32_bytes() {
        for vars in [
            &[("HOIST_STORE", "kubernetes")][..],
            &[("HOIST_STORE", "kubernetes"), ("HOIST_JOURNAL_KEY", "")][..],
            &[
                ("HOIST_STORE", "kubernetes"),
                ("HOIST_JOURNAL_KEY", "0123456789abcdef0123456789abcde"),
            ][..],
        ] {
            let e = read(&[Area::Store], &Flags::default(), vars).unwrap_err();
            assert_eq!(e.variable, "HOIST_JOURNAL_KEY", "{vars:?}: {e}");
            assert!(e.to_string().contains("openssl rand -hex 32"), "{e}");
            if let Some((_, key)) = vars.get(1).filter(|(_, k)| !k.is_empty()) {
                assert!(!e.to_string().contains(key), "{e}");
            }
        }
    }

    #[test]
    fn a_bad_store_or_lease_names_its_variable() {
        for (vars, variable) in [
            (&[("HOIST_STORE", "etcd")][..], "HOIST_STORE"),
            (&[("POD_NAMESPACE", "../kube-system")][..], "POD_NAMESPACE"),
            (
                &[("HOIST_LEASE_NAME", "Hoist Leader")][..],
                "HOIST_LEASE_NAME",
            ),
            (
                &[("HOIST_LEASE_DURATION", "0s")][..],
                "HOIST_LEASE_DURATION",
            ),
            (
                &[
                    ("HOIST_LEASE_DURATION", "5s"),
                    ("HOIST_LEASE_RENEW_DEADLINE", "5s"),
                ][..],
                "HOIST_LEASE_RENEW_DEADLINE",
            ),
            (
                &[("HOIST_LEASE_RETRY_PERIOD", "10s")][..],
                "HOIST_LEASE_RETRY_PERIOD",
            ),
            (
                &[
                    ("HOIST_LEASE_DURATION", "2h"),
                    ("HOIST_LEASE_RENEW_DEADLINE", "1h"),
                ][..],
                "HOIST_LEASE_DURATION",
            ),
        ] {
            let e = read(&[Area::Store], &Flags::default(), vars).unwrap_err();
            assert_eq!(e.variable, variable, "{vars:?}: {e}");
        }
    }
}
