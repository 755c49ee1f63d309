//! What the journal's secondary indexes say about one operation, shared by
//! every implementation so they answer the indexed queries alike: the apps
//! it changes in its environment (`of_app`, `latest`), the version keys of
//! each change (`of_version`), and whether it is unfinished. Queries check
//! what an index pointed at with [`touches`] and [`mentions`], so an index
//! entry left behind can never make an operation answer for the wrong app.

use crate::engine::Operation;
use crate::engine::ports::version_key;
use std::collections::BTreeSet;

/// The apps `op` changes (each once).
pub fn apps(op: &Operation) -> BTreeSet<&str> {
    op.changes.iter().map(|c| c.app.as_str()).collect()
}

/// (app, version key) for every version, new value and old value of `op`'s
/// changes (each pair once).
pub fn versions(op: &Operation) -> BTreeSet<(&str, &str)> {
    let mut out = BTreeSet::new();
    for c in &op.changes {
        let values = [Some(&c.version), Some(&c.new_value), c.old_value.as_ref()];
        for v in values.into_iter().flatten() {
            out.insert((c.app.as_str(), version_key(v)));
        }
    }
    out
}

/// Does `op` change `app` in `env`?
pub fn touches(op: &Operation, env: &str, app: &str) -> bool {
    op.env == env && op.changes.iter().any(|c| c.app == app)
}

/// Does `op` change `app` in `env` from or to something with `version`'s key?
pub fn mentions(op: &Operation, env: &str, app: &str, version: &str) -> bool {
    let key = version_key(version);
    op.env == env && versions(op).contains(&(app, key))
}

/// Is `op` still going (not in a terminal state)?
pub fn unfinished(op: &Operation) -> bool {
    !op.state.is_terminal()
}
