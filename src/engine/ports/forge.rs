//! The forge port: pull requests on the config repo's host. An environment
//! with `via: pull-request` changes through a PR so the host's own
//! protections (required reviews, status checks, CODEOWNERS) still apply.
//! The engine pushes hoist's signed commit to its own branch `hoist/<id>`
//! through [`ConfigRepo::push`](super::ConfigRepo::push) (a compare-and-swap
//! like every write), then asks the forge to open, look at, merge or close
//! the PR. GitHub is one implementation (`src/forge/github`), the
//! simulation `hoist try` uses is another (`src/forge/simulated.rs`).
//!
//! Every method is blocking and bounded in time. Words that come back from
//! the forge (titles, check names, logins) are outside text: the engine
//! flattens and bounds them before they reach a chat post or a commit.

use super::{Cause, Sha, Wake};
pub use crate::policy::MergeMethod;
use std::time::Duration;

/// A pull request hoist asks for. `head` (`hoist/<operation id>`) is
/// already pushed when [`Forge::open`] is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// hoist's branch, `hoist/<operation id>`.
    pub head: String,
    /// The environment's branch.
    pub base: String,
    /// One line: the request in words.
    pub title: String,
    /// Markdown: the diff, requester, reason/ticket, chat link, approvals.
    pub body: String,
    pub labels: Vec<String>,
}

/// A pull request as opened (or found already open for the same head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    /// Where people look at it (`https://github.com/acme/config/pull/7`).
    pub url: String,
}

/// Where a pull request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrState {
    Open,
    /// Closed without merging; `by` is who closed it, when known.
    Closed {
        by: Option<String>,
    },
    /// Merged: `sha` is the commit now on the base (merge, squash or the
    /// last rebased commit); `by` who merged it, when known.
    Merged {
        sha: Sha,
        by: Option<String>,
    },
}

/// The required checks of the PR's head, combined (commit statuses and
/// check runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checks {
    /// Every check passed, or there are none.
    Passing,
    /// Some are still running: their names, in words.
    Pending(String),
    /// A check failed: which, in words.
    Failing(String),
}

/// One person's latest review, when it approves: `login` approved the PR
/// at head `commit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewApproval {
    pub login: String,
    pub commit: Sha,
}

/// A pull request as the forge shows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrLook {
    pub state: PrState,
    /// The head commit.
    pub head: Sha,
    pub base: String,
    /// `None` while the forge is still computing it: ask again later.
    pub mergeable: Option<bool>,
    pub checks: Checks,
    /// Logins whose latest review approves (a later "changes requested" or
    /// a dismissal removes one).
    pub approvals: Vec<ReviewApproval>,
    /// Ask again after this long at the latest (the forge's own hint, e.g.
    /// after a 304 or while `mergeable` is unknown); `None`: the engine's pace.
    pub again_in: Option<Duration>,
}

/// How a merge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// Merged: the commit now on the base.
    Merged { sha: Sha },
    /// The forge refused (405: not mergeable, checks or reviews missing,
    /// conflicts): look again before deciding anything.
    NotMergeable(String),
    /// The head is not the sha hoist expected (409): never merge blind.
    HeadMoved(String),
}

/// The state of a deployment recorded on the forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentState {
    InProgress,
    Success,
    Failure,
    Error,
    /// Replaced by a newer deployment of the environment.
    Inactive,
}

impl DeploymentState {
    /// GitHub's word for it.
    pub fn word(self) -> &'static str {
        match self {
            DeploymentState::InProgress => "in_progress",
            DeploymentState::Success => "success",
            DeploymentState::Failure => "failure",
            DeploymentState::Error => "error",
            DeploymentState::Inactive => "inactive",
        }
    }
}

/// Why the forge could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// The forge asked hoist to wait (primary or secondary rate limit, or
    /// hoist's own pacing of content-creating requests): nothing was done;
    /// ask again after `wait`.
    #[error("{forge} asked hoist to wait {}s (rate limit)", wait.as_secs())]
    RateLimited { forge: String, wait: Duration },
    /// The object is not there (404): a PR, a branch, a deployment.
    #[error("{0} does not exist")]
    Missing(String),
    /// The forge refused the request as asked (401/403 without a rate
    /// limit, 422): asking again will not help.
    #[error("{0}")]
    Refused(String),
    /// The forge or the network failed: `doing` what, and why. Worth
    /// asking again later.
    #[error("{doing}")]
    Api {
        doing: String,
        #[source]
        source: Cause,
    },
}

impl ForgeError {
    /// A stable label for this kind of failure (`hoist_errors_total{kind}`).
    pub fn kind(&self) -> &'static str {
        match self {
            ForgeError::RateLimited { .. } => "forge_rate_limited",
            ForgeError::Missing(_) => "forge_missing",
            ForgeError::Refused(_) => "forge_refused",
            ForgeError::Api { .. } => "forge_api",
        }
    }

    /// The forge failed `doing` something because of `cause`.
    pub fn api(
        doing: impl Into<String>,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ForgeError {
        ForgeError::Api {
            doing: doing.into(),
            source: Cause::new(cause),
        }
    }
}

/// The host of the config repo, for pull requests and deployments.
pub trait Forge: Send + Sync {
    /// Who this is, for people ("GitHub acme/config", "simulated forge").
    fn name(&self) -> String;
    /// Open a PR from `draft.head` into `draft.base`. Idempotent: when a PR
    /// from that head is already open (a restart between opening and
    /// recording it), that one is returned.
    fn open(&self, draft: &Draft) -> Result<PullRequest, ForgeError>;
    /// The PR as it is now.
    fn look(&self, number: u64) -> Result<PrLook, ForgeError>;
    /// Replace the PR's description (approval state kept up to date).
    fn describe(&self, number: u64, body: &str) -> Result<(), ForgeError>;
    /// Merge iff the head is still `head`, with `method`; `title` and
    /// `message` are the merge (or squash) commit's, trailers included.
    fn merge(
        &self,
        number: u64,
        head: &str,
        method: MergeMethod,
        title: &str,
        message: &str,
    ) -> Result<Merged, ForgeError>;
    /// Close without merging, leaving `comment` on the PR.
    fn close(&self, number: u64, comment: &str) -> Result<(), ForgeError>;
    /// Delete hoist's branch (`hoist/<id>`) after a merge or close; a branch
    /// already gone is not an error.
    fn delete_branch(&self, branch: &str) -> Result<(), ForgeError>;
    /// Record that `sha` is being deployed to `env`; its id.
    fn deployment(&self, env: &str, sha: &str, description: &str) -> Result<u64, ForgeError>;
    /// Add a status to a deployment recorded by [`Forge::deployment`].
    fn deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<(), ForgeError>;
    /// Which of `teams` (`org/slug`, as `github-team:` names them in
    /// `hoist.yaml`) `login` is an active member of.
    fn teams_of(&self, login: &str, teams: &[String]) -> Result<Vec<String>, ForgeError>;
    /// Call `wake` (from any thread, never blocking) whenever PR `number`
    /// may have changed (a webhook delivery); replaces an earlier wake.
    fn watch(&self, number: u64, wake: Wake);
    /// Stop waking for PR `number`.
    fn unwatch(&self, number: u64);
}
