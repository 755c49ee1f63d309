//! Wiring shared by `try`, `exec` and `serve`, from what [`settings`] read:
//! signing key, repo, journal, cluster, engine.

use super::settings::{self, Secret};
use crate::engine::ports::{Clock, Cluster, Notify, SystemClock};
use crate::engine::{Engine, Settings};
use crate::gitops::GitRepo;
use crate::gitops::sign::{Keyring, Signer};
use crate::store::Store;
use anyhow::{Context, anyhow};
use std::path::Path;
use std::sync::Arc;

/// The signing key `HOIST_SIGNING_KEY` names, if any, unlocked with
/// `HOIST_SIGNING_KEY_PASSPHRASE` when it is encrypted.
pub fn signer(git: &settings::Git) -> anyhow::Result<Option<Signer>> {
    match &git.signing_key {
        Some(path) => Ok(Some(Signer::from_file(
            path,
            git.passphrase.as_ref().map(Secret::expose),
        )?)),
        None => Ok(None),
    }
}

/// The cluster to follow rollouts in, when one is configured (see
/// [`settings::Cluster::configured`]).
pub fn cluster(settings: &settings::Cluster) -> anyhow::Result<Option<Arc<dyn Cluster>>> {
    if !settings.configured() {
        return Ok(None);
    }
    let live = crate::cluster::Live::connect(settings.options())
        .context("connecting to Kubernetes (set HOIST_CLUSTER=off to run without)")?;
    Ok(Some(Arc::new(live)))
}

/// `repo` guarded by the policy signers `HOIST_POLICY_SIGNERS` names, if any
/// (their files are read now, so a bad one stops hoist at start).
pub fn policy_signers(repo: GitRepo, policy: &settings::PolicySigners) -> anyhow::Result<GitRepo> {
    if policy.files.is_empty() {
        return Ok(repo);
    }
    let keyring = Keyring::load(&policy.files).context("reading HOIST_POLICY_SIGNERS")?;
    if keyring.is_empty() {
        anyhow::bail!(
            "HOIST_POLICY_SIGNERS: the files list no key that may sign hoist.yaml for git"
        );
    }
    Ok(repo.with_policy_signers(keyring, policy.trust_from.clone()))
}

pub fn engine(
    data_dir: &Path,
    repo_url: &str,
    signer: Option<Signer>,
    git: &settings::Git,
    cluster: Option<Arc<dyn Cluster>>,
    notify: Arc<dyn Notify>,
    settings: Settings,
) -> anyhow::Result<Arc<Engine>> {
    let clock = Arc::new(SystemClock);
    engine_on(
        data_dir, repo_url, signer, git, cluster, notify, settings, clock,
    )
}

/// [`engine`] on `clock` (`try`'s simulated one), the journal's included.
#[allow(clippy::too_many_arguments)]
pub fn engine_on(
    data_dir: &Path,
    repo_url: &str,
    signer: Option<Signer>,
    git: &settings::Git,
    cluster: Option<Arc<dyn Cluster>>,
    notify: Arc<dyn Notify>,
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<Engine>> {
    let repo = GitRepo::open(data_dir, repo_url, signer, git.author.clone(), &git.access)
        .with_context(|| format!("opening the mirror of {repo_url}"))?;
    let repo = policy_signers(repo, &git.policy)?;
    let store = Store::open_with_clock(data_dir, clock.clone()).map_err(|e| anyhow!(e))?;
    Ok(Engine::new(
        Arc::new(repo),
        Arc::new(store),
        cluster,
        notify,
        clock,
        settings,
    ))
}
