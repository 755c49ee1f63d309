//! Wiring shared by `try`, `exec` and `serve`, from what [`settings`] read:
//! signing key, repo, journal, cluster, GitHub, engine.

use super::settings::github::{AppKey, GitHubAuth};
use super::settings::{self, Secret};
use crate::engine::ports::{Clock, Cluster, Forge, Notify, SystemClock};
use crate::engine::{Engine, Settings};
use crate::forge::github::{self, GitHub};
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

/// The largest App private key file read (an RSA key's PEM is about 2 KiB).
const APP_KEY_MAX: u64 = 64 * 1024;

/// GitHub as the settings configure it, for the config repo at `repo_url`:
/// `None` without a token or an App, or without a repository
/// ([`github_repo`]).
pub fn github(
    settings: &settings::github::GitHub,
    repo_url: &str,
) -> anyhow::Result<Option<Arc<GitHub>>> {
    let Some(auth) = &settings.auth else {
        return Ok(None);
    };
    // A token in the environment with a repo GitHub does not host (a
    // local path) leaves GitHub off; `serve`'s summary says why.
    let Some((owner, repo)) = github_repo(settings, repo_url) else {
        return Ok(None);
    };
    let auth = match auth {
        GitHubAuth::Token(t) => github::Auth::Token(t.expose().to_string()),
        GitHubAuth::App {
            app_id,
            key,
            installation_id,
        } => github::Auth::App {
            app_id: *app_id,
            private_key_pem: match key {
                AppKey::Pem(pem) => pem.expose().to_string(),
                AppKey::File(path) => read_key(path)?,
            },
            installation_id: *installation_id,
        },
    };
    let hub = GitHub::connect(github::Config {
        api_url: settings.api_url.clone(),
        owner,
        repo,
        auth,
        pace: github::Pace::default(),
    })
    .map_err(|e| anyhow!("GitHub: {e}"))?;
    Ok(Some(Arc::new(hub)))
}

/// The GitHub repository: `HOIST_GITHUB_REPO`, else the one a github.com
/// `repo_url` names.
pub fn github_repo(
    settings: &settings::github::GitHub,
    repo_url: &str,
) -> Option<(String, String)> {
    settings
        .repo
        .clone()
        .or_else(|| github::repo_from_url(repo_url))
}

/// The App's private key from the file `GITHUB_APP_PRIVATE_KEY` names.
fn read_key(path: &Path) -> anyhow::Result<String> {
    use std::io::Read;
    let shown = path.display();
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(APP_KEY_MAX + 1).read_to_string(&mut text))
        .with_context(|| format!("GITHUB_APP_PRIVATE_KEY: reading {shown}"))?;
    if text.len() as u64 > APP_KEY_MAX || !text.trim_start().starts_with("-----BEGIN") {
        anyhow::bail!("GITHUB_APP_PRIVATE_KEY: {shown} is not a PEM private key");
    }
    Ok(text)
}

/// git's access with GitHub's token when git has none of its own: an App's
/// installation token always (refreshed as it expires), `GITHUB_TOKEN` when
/// neither `HOIST_GIT_TOKEN` nor an SSH key is set. Only when the config
/// repo's remote `repo_url` is on that GitHub's own git host over https
/// ([`github::token_goes_to`]): a remote elsewhere (`HOIST_GITHUB_REPO`
/// with `--repo https://git.internal/...`) never sees GitHub's credential.
/// Offered through the credential helper, never in argv.
pub fn git_access(
    git: &settings::Git,
    github: &settings::github::GitHub,
    hub: Option<&Arc<GitHub>>,
    repo_url: &str,
) -> settings::Git {
    let mut git = git.clone();
    if !github::token_goes_to(&github.api_url, repo_url) {
        return git;
    }
    let own = git.access.token || git.access.ssh_key.is_some();
    match (hub, &github.auth) {
        (Some(hub), Some(GitHubAuth::App { .. })) => {
            git.access.token_source = Some(hub.token_source());
        }
        (Some(hub), Some(GitHubAuth::Token(_))) if !own => {
            git.access.token_source = Some(hub.token_source());
        }
        _ => {}
    }
    git
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

/// The engine `exec` and `serve` run, on the system clock, with `forge`
/// connected when there is one.
#[allow(clippy::too_many_arguments)]
pub fn engine(
    data_dir: &Path,
    repo_url: &str,
    signer: Option<Signer>,
    git: &settings::Git,
    cluster: Option<Arc<dyn Cluster>>,
    forge: Option<Arc<dyn Forge>>,
    notify: Arc<dyn Notify>,
    settings: Settings,
) -> anyhow::Result<Arc<Engine>> {
    let clock = Arc::new(SystemClock);
    let engine = engine_on(
        data_dir, repo_url, signer, git, cluster, notify, settings, clock,
    )?;
    if let Some(forge) = forge {
        engine.set_forge(forge);
    }
    Ok(engine)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(api_url: &str) -> Arc<GitHub> {
        Arc::new(
            GitHub::connect(github::Config {
                api_url: api_url.into(),
                owner: "acme".into(),
                repo: "config".into(),
                auth: github::Auth::Token("ghp_x".into()),
                pace: github::Pace::default(),
            })
            .unwrap(),
        )
    }

    #[test]
    fn githubs_token_goes_to_githubs_git_host_only() {
        let git = settings::Git::default();
        for (api_url, remote, given) in [
            (
                github::GITHUB_API,
                "https://github.com/acme/config.git",
                true,
            ),
            (
                github::GITHUB_API,
                "https://git.internal/acme/config.git",
                false,
            ),
            (
                github::GITHUB_API,
                "http://github.com/acme/config.git",
                false,
            ),
            (github::GITHUB_API, "/srv/acme/config", false),
            (
                "https://ghe.example.com/api/v3",
                "https://ghe.example.com/a/c",
                true,
            ),
            (
                "https://ghe.example.com/api/v3",
                "https://github.com/a/c",
                false,
            ),
        ] {
            let settings = settings::github::GitHub {
                auth: Some(GitHubAuth::Token(Secret::new("ghp_x".into()))),
                repo: Some(("acme".into(), "config".into())),
                api_url: api_url.into(),
                ..Default::default()
            };
            let hub = hub(api_url);
            let access = git_access(&git, &settings, Some(&hub), remote).access;
            assert_eq!(access.token_source.is_some(), given, "{api_url} {remote}");
        }
    }
}
