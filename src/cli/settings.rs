//! Every setting hoist takes from its environment, read in one place: the
//! variables (`HOIST_*`, `SLACK_*`, `KUBECONFIG`, ...) and the flags that
//! stand for some of them (`--repo`, `--data-dir`, `--listen`; a flag wins)
//! become one typed [`Settings`] in one function, [`Settings::from_lookup`]
//! (the process's environment: [`Settings::from_env`]). Each value is
//! checked there, and a bad one is an [`Error`] that names its variable.
//! `Debug` never shows a secret (tokens, the signing secret, the key's
//! passphrase; of `HOIST_GIT_TOKEN` only whether it is set is read at all:
//! its value, and `HOIST_GIT_USERNAME`, stay in the environment for git's
//! credential helper). No other file reads the environment; library code is
//! handed what it needs.
//!
//! A subcommand reads only the [`Area`]s it uses, so a bad value it would
//! never use does not stop it (`hoist check` does not care about Slack):
//!
//! | subcommand | areas |
//! |---|---|
//! | every one, before it runs | `Log` ([`Area::LOG`], for the logger) |
//! | `serve` | `Place`, `Signing`, `PolicySigners`, `Git`, `Push`, `Cluster`, `GitHub`, `Slack`, `Discord`, `Http`, `Serve`, `Store`, `Test` |
//! | `exec` | `Place`, `Signing`, `PolicySigners`, `Git`, `Push`, `Cluster`, `GitHub`, `Test` (after `--as` and the command are checked: a bad value is its JSON error) |
//! | `try` | `Git` (author, access), `Console` (`USER`), `Test` |
//! | `check` | `PolicySigners` |
//! | `discord register` | `Discord` |
//! | `schema` | none besides `Log` |
//!
//! An area not read keeps its defaults. `KUBECONFIG` says whether a cluster
//! is configured; the Kubernetes client reads the files it lists itself.

mod areas;
pub mod discord;
pub mod github;
mod read;
pub mod store;
#[cfg(test)]
mod tests;

pub use read::{Error, Secret};

use crate::chat::slack;
use crate::engine::Backoff;
use crate::engine::drift::Timing;
use crate::gitops::Author;
use crate::gitops::credentials::Access;
use crate::server::Limits;
use read::Vars;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// A part of the settings, read by the subcommands that use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// `HOIST_REPO`, `HOIST_DATA_DIR`, `HOIST_LISTEN` and their flags.
    Place,
    /// `HOIST_SIGNING_KEY`, `HOIST_SIGNING_KEY_PASSPHRASE`.
    Signing,
    /// `HOIST_POLICY_SIGNERS`, `HOIST_POLICY_TRUST_FROM`.
    PolicySigners,
    /// `HOIST_GIT_AUTHOR`, `HOIST_GIT_TOKEN`, `HOIST_GIT_SSH_KEY`, `HOIST_GIT_KNOWN_HOSTS`.
    Git,
    /// `HOIST_PUSH_ATTEMPTS`, `HOIST_PUSH_BACKOFF`, `HOIST_PUSH_BACKOFF_CAP`.
    Push,
    /// `KUBECONFIG`, `KUBERNETES_SERVICE_HOST`, `HOIST_CLUSTER`, `HOIST_WATCH_*`, `HOIST_POKE`.
    Cluster,
    /// `GITHUB_TOKEN`, `GITHUB_APP_*`, `HOIST_GITHUB_REPO`, `GITHUB_API_URL`,
    /// `GITHUB_WEBHOOK_SECRET`, `HOIST_GITHUB_POLL` ([`github`]).
    GitHub,
    /// `SLACK_*`, `HOIST_SLACK_GROUP_TTL`, `HOIST_SLACK_APPROVE`, `HOIST_SLACK_DENY`.
    Slack,
    /// `DISCORD_TOKEN`, `DISCORD_PUBLIC_KEY`, `DISCORD_API_URL`, `HOIST_DISCORD_*` ([`discord`]).
    Discord,
    /// `HOIST_HTTP_HEADER_TIMEOUT`, `HOIST_HTTP_BODY_TIMEOUT`, `HOIST_HTTP_MAX_CONNECTIONS`.
    Http,
    /// `HOIST_SLACK_WORK_LIMIT`, `HOIST_SHUTDOWN_GRACE`, `HOIST_DRIFT_*`, `HOIST_JOURNAL_RETENTION`.
    Serve,
    /// `HOIST_STORE`, `POD_NAMESPACE`, `POD_NAME`, `HOIST_LEASE_*` ([`store`]).
    Store,
    /// `HOIST_LOG`, `HOIST_LOG_FORMAT`, `NO_COLOR`.
    Log,
    /// `HOIST_TEST_KILL_AT`: the durability test's kill switch.
    Test,
    /// `USER`: who `try` speaks as by default.
    Console,
}

impl Area {
    pub const SERVE: &[Area] = &[
        Area::Place,
        Area::Signing,
        Area::PolicySigners,
        Area::Git,
        Area::Push,
        Area::Cluster,
        Area::GitHub,
        Area::Slack,
        Area::Discord,
        Area::Http,
        Area::Serve,
        Area::Store,
        Area::Test,
    ];
    pub const EXEC: &[Area] = &[
        Area::Place,
        Area::Signing,
        Area::PolicySigners,
        Area::Git,
        Area::Push,
        Area::Cluster,
        Area::GitHub,
        Area::Test,
    ];
    pub const TRY: &[Area] = &[Area::Git, Area::Console, Area::Test];
    pub const CHECK: &[Area] = &[Area::PolicySigners];
    /// `hoist discord register`.
    pub const DISCORD: &[Area] = &[Area::Discord];
    /// Read for every subcommand, before it runs.
    pub const LOG: &[Area] = &[Area::Log];
}

/// Flags that stand for variables; a flag given wins.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub repo: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
}

/// Everything read from the environment (and the flags that stand for it).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub place: Place,
    pub git: Git,
    pub cluster: Cluster,
    /// GitHub: pull requests and deployments (off without a token or an App).
    pub github: github::GitHub,
    /// `None` when Slack is not configured (no `SLACK_BOT_TOKEN`).
    pub slack: Option<slack::Config>,
    /// `None` when Discord is not configured (no `DISCORD_TOKEN`).
    pub discord: Option<discord::Discord>,
    /// The listener's limits before the open-file limit is applied.
    pub http: Limits,
    pub serve: Serve,
    /// `HOIST_STORE` and the Lease (`serve` only; `exec` and `try` keep redb).
    pub store: store::Store,
    pub log: crate::logging::Settings,
    /// `HOIST_TEST_KILL_AT`: the checkpoint the process stops at (tests).
    pub kill_at: Option<u64>,
    /// `USER`: the console name `try` acts as by default.
    pub user: Option<String>,
}

/// Where things are.
#[derive(Debug, Clone)]
pub struct Place {
    /// `--repo`, `HOIST_REPO`: the config repo, a git URL or a local path.
    pub repo: String,
    /// `--data-dir`, `HOIST_DATA_DIR`: the mirror and the journal.
    pub data_dir: PathBuf,
    /// `--listen`, `HOIST_LISTEN`: `serve`'s address (`0.0.0.0:8080`).
    pub listen: String,
}

impl Default for Place {
    fn default() -> Self {
        Place {
            repo: String::new(),
            data_dir: PathBuf::new(),
            listen: "0.0.0.0:8080".into(),
        }
    }
}

/// How hoist writes to the config repo.
#[derive(Debug, Clone, Default)]
pub struct Git {
    /// `HOIST_SIGNING_KEY`: the key file commits are signed with.
    pub signing_key: Option<PathBuf>,
    /// `HOIST_SIGNING_KEY_PASSPHRASE`: unlocks an encrypted key.
    pub passphrase: Option<Secret>,
    /// `HOIST_GIT_AUTHOR`, or hoist's own identity.
    pub author: Author,
    /// `HOIST_GIT_TOKEN` (set or not), `HOIST_GIT_SSH_KEY`, `HOIST_GIT_KNOWN_HOSTS`.
    pub access: Access,
    /// `HOIST_PUSH_*`: pushing again when the branch moved underneath.
    pub push: Backoff,
    /// `HOIST_POLICY_SIGNERS`, `HOIST_POLICY_TRUST_FROM`: who may change `hoist.yaml`.
    pub policy: PolicySigners,
}

/// The keys whose signatures make a `hoist.yaml` change trusted. With no
/// files, every version is obeyed as committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySigners {
    /// `HOIST_POLICY_SIGNERS`: allowed-signers files and armored OpenPGP
    /// public keyrings (comma-separated; each file's kind read from its content).
    pub files: Vec<PathBuf>,
    /// `HOIST_POLICY_TRUST_FROM`: a commit (7 to 40 hex digits) whose
    /// `hoist.yaml` is trusted as it is; the chain starts there.
    pub trust_from: Option<String>,
}

/// The cluster rollouts are followed in.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// `KUBECONFIG`.
    pub kubeconfig: Option<PathBuf>,
    /// `KUBERNETES_SERVICE_HOST` is set: running in a pod.
    pub in_pod: bool,
    /// `HOIST_CLUSTER` (on unless `off`).
    pub enabled: bool,
    /// `HOIST_WATCH_NAMESPACES`: all when empty.
    pub namespaces: Vec<String>,
    /// `HOIST_WATCH_SELECTOR`: a label selector.
    pub selector: Option<String>,
    /// `HOIST_POKE` (on unless `off`).
    pub poke: bool,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            kubeconfig: None,
            in_pod: false,
            enabled: true,
            namespaces: Vec::new(),
            selector: None,
            poke: true,
        }
    }
}

impl Cluster {
    /// A Kubernetes config is there (`KUBECONFIG`, or in a pod) and not switched off.
    pub fn configured(&self) -> bool {
        (self.kubeconfig.is_some() || self.in_pod) && self.enabled
    }

    /// What the watchers watch.
    pub fn options(&self) -> crate::cluster::Options {
        crate::cluster::Options {
            namespaces: self.namespaces.clone(),
            selector: self.selector.clone(),
            poke: self.poke,
            ..Default::default()
        }
    }
}

/// How `serve` paces itself.
#[derive(Debug, Clone)]
pub struct Serve {
    /// `HOIST_SLACK_WORK_LIMIT`: requests worked on at once (512).
    pub work_limit: usize,
    /// `HOIST_SHUTDOWN_GRACE`: how long SIGTERM waits for work in flight (`30s`).
    pub grace: Duration,
    /// `HOIST_DRIFT_GRACE`, `HOIST_DRIFT_REMIND` (`120s`, `14400s`).
    pub drift: Timing,
    /// `HOIST_JOURNAL_RETENTION`: how long dedupe keys and chat notes are kept
    /// (`30d`; at least `1h`, so a retried delivery is still recognised).
    pub retention: Duration,
}

impl Default for Serve {
    fn default() -> Self {
        Serve {
            work_limit: 512,
            grace: Duration::from_secs(30),
            drift: Timing::default(),
            retention: Duration::from_secs(30 * 86_400),
        }
    }
}

impl Settings {
    /// [`Settings::from_lookup`] over the process's environment.
    pub fn from_env(areas: &[Area], flags: &Flags) -> Result<Settings, Error> {
        Settings::from_lookup(areas, flags, |name| std::env::var_os(name))
    }

    /// The `areas` read through `lookup` (a variable's value by name), with
    /// `flags` winning over the variables they stand for.
    pub fn from_lookup(
        areas: &[Area],
        flags: &Flags,
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Settings, Error> {
        let v = Vars(lookup);
        let mut s = Settings::default();
        for area in areas {
            match area {
                Area::Place => s.place = areas::place(&v, flags)?,
                Area::Signing => {
                    s.git.signing_key = v.path("HOIST_SIGNING_KEY");
                    s.git.passphrase = v.text("HOIST_SIGNING_KEY_PASSPHRASE")?.map(Secret::new);
                }
                Area::Git => {
                    s.git.author = match v.text("HOIST_GIT_AUTHOR")? {
                        Some(a) => a.parse().map_err(|e| Error::bad("HOIST_GIT_AUTHOR", e))?,
                        None => Author::default(),
                    };
                    s.git.access = Access {
                        token: v.path("HOIST_GIT_TOKEN").is_some(),
                        ssh_key: v.path("HOIST_GIT_SSH_KEY"),
                        known_hosts: v.path("HOIST_GIT_KNOWN_HOSTS"),
                        token_source: None,
                    };
                }
                Area::PolicySigners => s.git.policy = areas::policy_signers(&v)?,
                Area::Push => s.git.push = areas::push(&v)?,
                Area::Cluster => s.cluster = areas::cluster(&v)?,
                Area::GitHub => s.github = github::github(&v)?,
                Area::Slack => s.slack = areas::slack(&v)?,
                Area::Discord => s.discord = discord::discord(&v)?,
                Area::Http => {
                    let d = Limits::default();
                    s.http = Limits {
                        header_timeout: v
                            .wait("HOIST_HTTP_HEADER_TIMEOUT", false)?
                            .unwrap_or(d.header_timeout),
                        body_timeout: v
                            .wait("HOIST_HTTP_BODY_TIMEOUT", false)?
                            .unwrap_or(d.body_timeout),
                        max_connections: v
                            .positive("HOIST_HTTP_MAX_CONNECTIONS")?
                            .unwrap_or(d.max_connections),
                    };
                }
                Area::Serve => s.serve = areas::serve(&v)?,
                Area::Store => s.store = store::store(&v)?,
                Area::Log => {
                    s.log = crate::logging::Settings {
                        filter: v.text("HOIST_LOG")?,
                        format: v.text("HOIST_LOG_FORMAT")?,
                        no_color: v.present("NO_COLOR"),
                    };
                }
                Area::Test => {
                    s.kill_at =
                        v.parsed("HOIST_TEST_KILL_AT", |n| n.parse().ok(), "is not a number")?;
                }
                Area::Console => s.user = v.text("USER")?,
            }
        }
        Ok(s)
    }
}
