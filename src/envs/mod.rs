//! Environments made from a template (`environments_from` in `hoist.yaml`,
//! `env create` in chat). In GitOps an environment is a set of directories
//! of the config repo: a new one is a copy of the template environment's
//! directories, one per app, with the template's name replaced in the path
//! and, inside the copies, only where it is a whole YAML value or a
//! kustomize `namePrefix`/`nameSuffix`/`namespace`. The environments that
//! exist are recorded in `hoist-environments.yaml` beside `hoist.yaml`, in
//! the same commit that writes their files, so git alone knows them.
//!
//! Pure: no I/O. The engine reads the repo and writes the commit.

use hoist_commands::Name;

mod substitute;
pub use substitute::substitute;

/// The registry of environments made from templates, at the repo's root.
pub const REGISTRY_FILE: &str = "hoist-environments.yaml";

/// One environment recorded in [`REGISTRY_FILE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: Name,
    /// The environment it was made from.
    pub template: Name,
    /// Who created it (`slack:U123`): they may destroy and extend it.
    pub owner: String,
    /// Seconds since the epoch (written as `2026-12-01T22:00:00Z`).
    pub created: i64,
    /// When the runner destroys it, seconds since the epoch.
    pub expires: i64,
    /// The `env create` operation: its thread hears the expiry warning.
    pub operation: Option<u64>,
}

/// One app's copy: every file under `from` goes to `to`, at the same path
/// relative to it. Directories have no trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub app: Name,
    pub from: String,
    pub to: String,
}

mod layout;
mod names;
pub mod registry;

pub use layout::{add, layout, merge, sources, template_problems};
pub use names::{NAME_REGEX_LIMIT, check_name, name_regex, sample_name};
pub use registry::{
    append as append_entry, parse as parse_registry, remove as remove_entry, set_expires,
};
