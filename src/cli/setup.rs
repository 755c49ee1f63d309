//! Wiring shared by `try`, `exec` and `serve`: signing key, author, repo,
//! journal, cluster, engine.

use crate::engine::ports::{Cluster, Notify, SystemClock};
use crate::engine::{Backoff, Engine, Settings};
use crate::gitops::sign::Signer;
use crate::gitops::{Author, GitRepo};
use crate::store::Store;
use anyhow::{Context, anyhow};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The signing key from `HOIST_SIGNING_KEY`, if set, unlocked with
/// `HOIST_SIGNING_KEY_PASSPHRASE` when it is encrypted.
pub fn signer_from_env() -> anyhow::Result<Option<Signer>> {
    let passphrase = std::env::var("HOIST_SIGNING_KEY_PASSPHRASE").ok();
    match std::env::var_os("HOIST_SIGNING_KEY").filter(|v| !v.is_empty()) {
        Some(path) => Ok(Some(Signer::from_file(
            Path::new(&path),
            passphrase.as_deref(),
        )?)),
        None => Ok(None),
    }
}

/// Push retry settings from the environment: `HOIST_PUSH_ATTEMPTS` (10),
/// `HOIST_PUSH_BACKOFF` (first wait, `1s`), `HOIST_PUSH_BACKOFF_CAP` (`30s`);
/// waits take `ms` or `s`.
pub fn backoff_from_env() -> anyhow::Result<Backoff> {
    let mut b = Backoff::default();
    if let Some(v) = env_set("HOIST_PUSH_ATTEMPTS") {
        b.attempts = v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| anyhow!("HOIST_PUSH_ATTEMPTS: `{v}` is not a positive number"))?;
    }
    if let Some(v) = env_set("HOIST_PUSH_BACKOFF") {
        b.first = wait(&v).map_err(|e| anyhow!("HOIST_PUSH_BACKOFF: {e}"))?;
    }
    if let Some(v) = env_set("HOIST_PUSH_BACKOFF_CAP") {
        b.cap = wait(&v).map_err(|e| anyhow!("HOIST_PUSH_BACKOFF_CAP: {e}"))?;
    }
    Ok(b)
}

/// How git authenticates: `HOIST_GIT_TOKEN` (only whether it is set: the
/// value stays in the environment for git's credential helper),
/// `HOIST_GIT_SSH_KEY`, `HOIST_GIT_KNOWN_HOSTS`.
pub fn git_access() -> crate::gitops::credentials::Access {
    crate::gitops::credentials::Access {
        token: env_set("HOIST_GIT_TOKEN").is_some(),
        ssh_key: env_set("HOIST_GIT_SSH_KEY").map(std::path::PathBuf::from),
        known_hosts: env_set("HOIST_GIT_KNOWN_HOSTS").map(std::path::PathBuf::from),
    }
}

fn env_set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `250ms`, `2s`.
pub(crate) fn wait(v: &str) -> Result<Duration, String> {
    let bad = || format!("`{v}` is not a wait like `250ms` or `2s`");
    if let Some(ms) = v.strip_suffix("ms") {
        ms.parse().map(Duration::from_millis).map_err(|_| bad())
    } else if let Some(s) = v.strip_suffix('s') {
        s.parse().map(Duration::from_secs).map_err(|_| bad())
    } else {
        Err(bad())
    }
}

/// The cluster to follow rollouts in: on when a Kubernetes config is there
/// (`KUBECONFIG`, or running in a pod) unless `HOIST_CLUSTER=off`. Watch
/// scope: `HOIST_WATCH_NAMESPACES` (comma-separated; all when unset) and
/// `HOIST_WATCH_SELECTOR` (a label selector); `HOIST_POKE=off` leaves the
/// GitOps engines to their own polling.
pub fn cluster_from_env() -> anyhow::Result<Option<Arc<dyn Cluster>>> {
    if !cluster_configured() {
        return Ok(None);
    }
    let options = crate::cluster::Options {
        namespaces: env_set("HOIST_WATCH_NAMESPACES")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        selector: env_set("HOIST_WATCH_SELECTOR"),
        poke: !off("HOIST_POKE"),
        ..Default::default()
    };
    let live = crate::cluster::Live::connect(options)
        .context("connecting to Kubernetes (set HOIST_CLUSTER=off to run without)")?;
    Ok(Some(Arc::new(live)))
}

fn off(name: &str) -> bool {
    env_set(name).is_some_and(|v| matches!(v.as_str(), "off" | "false" | "0" | "no"))
}

/// Is a cluster to follow configured (see [`cluster_from_env`])?
pub fn cluster_configured() -> bool {
    let configured =
        env_set("KUBECONFIG").is_some() || env_set("KUBERNETES_SERVICE_HOST").is_some();
    configured && !off("HOIST_CLUSTER")
}

/// `HOIST_GIT_AUTHOR` or hoist's default identity.
pub fn author_from_env() -> anyhow::Result<Author> {
    match std::env::var("HOIST_GIT_AUTHOR") {
        Ok(s) if !s.is_empty() => s
            .parse()
            .map_err(|e: String| anyhow!("HOIST_GIT_AUTHOR: {e}")),
        _ => Ok(Author::default()),
    }
}

pub fn engine(
    data_dir: &Path,
    repo_url: &str,
    signer: Option<Signer>,
    cluster: Option<Arc<dyn Cluster>>,
    notify: Arc<dyn Notify>,
    settings: Settings,
) -> anyhow::Result<Arc<Engine>> {
    let author = author_from_env()?;
    let repo = GitRepo::open(data_dir, repo_url, signer, author, &git_access())
        .with_context(|| format!("opening the mirror of {repo_url}"))?;
    let store = Store::open(data_dir).map_err(|e| anyhow!(e))?;
    Ok(Engine::new(
        Arc::new(repo),
        Arc::new(store),
        cluster,
        notify,
        Arc::new(SystemClock),
        settings,
    ))
}
