//! The [`Forge`] port over GitHub's REST API (github.com, or GitHub
//! Enterprise through its API URL), with a token or a GitHub App.
//!
//! The port is blocking; the calls are async (octocrab's client on hyper
//! and rustls with ring) on a small tokio runtime owned here, like the
//! cluster adapter's. Each call is handed to that runtime and waited for
//! on a channel, so a caller on any thread (even one inside another
//! runtime) may use it. Limits live in [`api`]: time per request, answer
//! size, rate limits and the pacing of content-creating requests.
//!
//! Webhooks reach the adapter through [`GitHub::notify_pr`] and
//! [`GitHub::notify_head`], which call the wakes [`Forge::watch`] keeps.

mod api;
mod app;
mod deploy;
mod look;
mod names;
mod pace;
mod pulls;

pub use api::{MAX_BODY, REQUEST_TIMEOUT};
pub use app::{Auth, REFRESH_BEFORE};
pub use look::{BLOCKED, MERGEABLE_AGAIN};
pub use names::{repo_from_url, token_goes_to};
pub use pace::Pace;

use crate::engine::ports::{
    DeploymentState, Draft, Forge, ForgeError, MergeMethod, Merged, PrLook, PullRequest, Wake,
};
use crate::gitops::credentials::TokenSource;
use pulls::Repo;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// github.com's API.
pub const GITHUB_API: &str = "https://api.github.com";
/// Head shas remembered for [`GitHub::notify_head`] at most.
const MAX_HEADS: usize = 4096;

/// Where and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The API's root: [`GITHUB_API`], or GitHub Enterprise's
    /// `https://HOST/api/v3` (`GITHUB_API_URL`).
    pub api_url: String,
    pub owner: String,
    pub repo: String,
    pub auth: Auth,
    pub pace: Pace,
}

/// The wakes of watched PRs and which PRs each head sha was seen on.
#[derive(Default)]
struct Watches {
    wakes: HashMap<u64, Wake>,
    heads: HashMap<String, u64>,
    order: VecDeque<String>,
}

/// One repository on GitHub, as a [`Forge`].
pub struct GitHub {
    /// Always `Some` until dropped (then shut down without blocking, so the
    /// last owner may be on an async thread).
    runtime: Option<tokio::runtime::Runtime>,
    repo: Arc<Repo>,
    name: String,
    watches: Mutex<Watches>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub").field("name", &self.name).finish()
    }
}

impl GitHub {
    /// Check the configuration and build the client; nothing is sent yet.
    pub fn connect(config: Config) -> Result<GitHub, ForgeError> {
        if !names::is_name(&config.owner) || !names::is_name(&config.repo) {
            return Err(ForgeError::Refused(format!(
                "{:?}/{:?} is not a GitHub owner/repository name",
                names_shown(&config.owner),
                names_shown(&config.repo)
            )));
        }
        let api_url = config.api_url.trim_end_matches('/');
        if names::api_host(api_url).is_none() {
            return Err(ForgeError::Refused(format!(
                "the GitHub API URL {:?} is not https (http only on 127.0.0.1 or localhost)",
                names_shown(api_url)
            )));
        }
        let name = format!("GitHub {}/{}", config.owner, config.repo);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hoist-github")
            .enable_all()
            .build()
            .map_err(|e| ForgeError::api("starting the GitHub client's runtime", e))?;
        let crab = {
            let _inside = runtime.enter();
            octocrab::Octocrab::builder()
                .base_uri(api_url)
                .and_then(|b| {
                    b.set_connect_timeout(Some(api::REQUEST_TIMEOUT))
                        .set_read_timeout(Some(api::REQUEST_TIMEOUT))
                        .set_write_timeout(Some(api::REQUEST_TIMEOUT))
                        .build()
                })
                .map_err(|e| ForgeError::api("building the GitHub client", e))?
        };
        let auth = app::Auther::new(&config.auth)?;
        let api = api::Api::new(crab, auth, pace::Pacer::new(config.pace), name.clone());
        Ok(GitHub {
            runtime: Some(runtime),
            repo: Arc::new(Repo {
                api,
                prefix: format!("/repos/{}/{}", config.owner, config.repo),
                owner: config.owner,
            }),
            name,
            watches: Mutex::new(Watches::default()),
        })
    }

    /// Run `call` on the adapter's runtime and wait for it.
    fn run<T, F>(&self, call: impl FnOnce(Arc<Repo>) -> F) -> Result<T, ForgeError>
    where
        F: Future<Output = Result<T, ForgeError>> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let future = call(self.repo.clone());
        let Some(runtime) = &self.runtime else {
            return Err(ForgeError::api("asking GitHub", "the client is shut down"));
        };
        runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv()
            .map_err(|e| ForgeError::api("waiting for GitHub", e))?
    }

    /// The token GitHub gets now (an App's installation token, refreshed
    /// when due), for git over HTTPS: hand it to
    /// [`Access::token_source`](crate::gitops::credentials::Access).
    pub fn token(&self) -> Result<String, ForgeError> {
        self.run(|repo| async move { repo.api.auth.token(&repo.api).await })
    }

    /// A [`TokenSource`] for git: the current token, `None` when GitHub
    /// cannot give one right now.
    pub fn token_source(self: &Arc<Self>) -> TokenSource {
        let me = Arc::downgrade(self);
        TokenSource::new(move || me.upgrade()?.token().ok())
    }

    /// A webhook said PR `number` changed: wake whoever watches it.
    pub fn notify_pr(&self, number: u64) {
        let wake = self.watches.lock().unwrap().wakes.get(&number).cloned();
        if let Some(wake) = wake {
            wake();
        }
    }

    /// A webhook said the checks of commit `sha` changed: wake the PR
    /// whose head it was when last looked at.
    pub fn notify_head(&self, sha: &str) {
        let number = self.watches.lock().unwrap().heads.get(sha).copied();
        if let Some(number) = number {
            self.notify_pr(number);
        }
    }

    fn saw_head(&self, number: u64, sha: &str) {
        let mut w = self.watches.lock().unwrap();
        if w.heads.insert(sha.to_string(), number).is_none() {
            w.order.push_back(sha.to_string());
            while w.order.len() > MAX_HEADS {
                if let Some(old) = w.order.pop_front() {
                    w.heads.remove(&old);
                }
            }
        }
    }
}

impl Drop for GitHub {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A name from the configuration, bounded for an error message.
fn names_shown(s: &str) -> String {
    crate::engine::one_line(s, 100)
}

impl Forge for GitHub {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn open(&self, draft: &Draft) -> Result<PullRequest, ForgeError> {
        let draft = draft.clone();
        self.run(|repo| async move { repo.open(&draft).await })
    }

    fn look(&self, number: u64) -> Result<PrLook, ForgeError> {
        let look = self.run(|repo| async move { repo.look(number).await })?;
        self.saw_head(number, &look.head);
        Ok(look)
    }

    fn describe(&self, number: u64, body: &str) -> Result<(), ForgeError> {
        let body = body.to_string();
        self.run(|repo| async move { repo.describe(number, &body).await })
    }

    fn merge(
        &self,
        number: u64,
        head: &str,
        method: MergeMethod,
        title: &str,
        message: &str,
    ) -> Result<Merged, ForgeError> {
        let (head, title, message) = (head.to_string(), title.to_string(), message.to_string());
        self.run(|repo| async move { repo.merge(number, &head, method, &title, &message).await })
    }

    fn close(&self, number: u64, comment: &str) -> Result<(), ForgeError> {
        let comment = comment.to_string();
        self.run(|repo| async move { repo.close(number, &comment).await })
    }

    fn delete_branch(&self, branch: &str) -> Result<(), ForgeError> {
        let branch = branch.to_string();
        self.run(|repo| async move { repo.delete_branch(&branch).await })
    }

    fn deployment(&self, env: &str, sha: &str, description: &str) -> Result<u64, ForgeError> {
        let (env, sha, description) = (env.to_string(), sha.to_string(), description.to_string());
        self.run(|repo| async move { repo.deployment(&env, &sha, &description).await })
    }

    fn deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<(), ForgeError> {
        let description = description.to_string();
        self.run(|repo| async move { repo.deployment_status(id, state, &description).await })
    }

    fn teams_of(&self, login: &str, teams: &[String]) -> Result<Vec<String>, ForgeError> {
        let (login, teams) = (login.to_string(), teams.to_vec());
        self.run(|repo| async move { repo.teams_of(&login, &teams).await })
    }

    fn watch(&self, number: u64, wake: Wake) {
        self.watches.lock().unwrap().wakes.insert(number, wake);
    }

    fn unwatch(&self, number: u64) {
        self.watches.lock().unwrap().wakes.remove(&number);
    }
}
