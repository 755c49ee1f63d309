//! Wiring shared by `try` and `exec`: signing key, author, repo, journal, engine.

use crate::engine::ports::{Cluster, Notify, SystemClock};
use crate::engine::{Engine, Settings};
use crate::gitops::sign::Signer;
use crate::gitops::{Author, GitRepo};
use crate::store::Store;
use anyhow::{Context, anyhow};
use std::path::Path;
use std::sync::Arc;

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
) -> anyhow::Result<Engine> {
    let author = author_from_env()?;
    let repo = GitRepo::open(data_dir, repo_url, signer, author)
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
