//! Which entries of `hoist-environments.yaml` this hoist made. The registry
//! is a file anyone with push access may edit, so an entry counts only when
//! it names a journaled `env-create` operation of the same name, template,
//! owner and creation time that wrote its commit; the answers are kept in a small
//! bounded cache ([`Made`]), since an entry's answer never changes.

use super::super::Engine;
use crate::envs::Entry;
use std::collections::HashMap;
use std::sync::Mutex;

/// The registry entries already judged (name, operation, created) -> made
/// by this hoist's `env create`. A settled answer never changes: the
/// operation was journaled, with its commit, before that commit existed
/// anywhere else; an answer is kept once the push is recorded too.
#[derive(Debug, Default)]
pub(in crate::engine) struct Made(Mutex<HashMap<(String, u64, i64), bool>>);

/// The most answers [`Made`] keeps (a registry holds at most 1000 entries).
const MADE_KEPT: usize = 4096;

impl Engine {
    /// The entries of `hoist-environments.yaml` this hoist made: each names
    /// a journaled `env-create` operation of the same name, template and
    /// creation time that was written. Anyone who can push may edit the
    /// registry; an entry hoist did not make would let `environments_from`'s
    /// deployers deploy to (and the runner delete) directories of any name
    /// the rule's pattern allows, so it is left out (and logged).
    pub(in crate::engine) fn made_here(&self, entries: Vec<Entry>) -> Vec<Entry> {
        entries
            .into_iter()
            .filter(|e| {
                let Some(id) = e.operation else {
                    tracing::warn!(env = %e.name, "registry entry names no operation; left out");
                    return false;
                };
                let key = (e.name.to_string(), id, e.created);
                let known = self.made.0.lock().unwrap_or_else(|p| p.into_inner()).get(&key).copied();
                let made = known.unwrap_or_else(|| {
                    let (made, settled) = match self.journal.get(id) {
                        Ok(Some(op)) => {
                            let same = op.verb == "env-create"
                                && op.env == e.name.as_str()
                                && op.actor == e.owner
                                && op.created_at == e.created
                                && op.commit.is_some()
                                && op
                                    .environment
                                    .as_ref()
                                    .is_some_and(|c| c.template == e.template.as_str());
                            // Between its push and the journal's record of it, a
                            // creation is already on the branch: counted, and
                            // kept once its push is recorded.
                            (same, !same || op.entered("pushed").is_some())
                        }
                        Ok(None) => (false, true),
                        // Not judged: asked again next time.
                        Err(err) => {
                            tracing::warn!(env = %e.name, error = %err.report(), "reading the journal");
                            return false;
                        }
                    };
                    if settled {
                        let mut all = self.made.0.lock().unwrap_or_else(|p| p.into_inner());
                        if all.len() >= MADE_KEPT {
                            all.clear();
                        }
                        all.insert(key, made);
                    }
                    made
                });
                if !made {
                    tracing::warn!(
                        env = %e.name,
                        operation = id,
                        "registry entry was not made by this hoist's `env create`; left out"
                    );
                }
                made
            })
            .collect()
    }
}
