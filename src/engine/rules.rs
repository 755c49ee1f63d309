//! `hoist.yaml` as the engine reads it: which branch holds the policy
//! (the remote's default, remembered until a fetch of it fails), the
//! policy at a tip (read, checked, and when policy signers are configured
//! the last trusted version: see [`trust`](super::trust)), and the platform
//! groups it names, cached per tip for the chat adapters.

use super::ports::RepoError;
use super::{Engine, Fail, POLICY_FILE, Result};
use crate::policy::{self, Policy};

/// Why `hoist.yaml` could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Reading the config repo failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("the config repo has no hoist.yaml at its root")]
    Missing,
    #[error("hoist.yaml is not UTF-8")]
    NotUtf8,
    /// Each problem with its position.
    #[error("hoist.yaml has problems; fix them before deploying:\n{}", .0.join("\n"))]
    Problems(Vec<String>),
    /// Policy signers are configured and no version is signed by one.
    #[error("{0}")]
    Untrusted(String),
}

impl PolicyError {
    /// A stable label for this kind of failure.
    pub fn kind(&self) -> &'static str {
        match self {
            PolicyError::Repo(e) => e.kind(),
            PolicyError::Missing => "policy_missing",
            PolicyError::NotUtf8 => "policy_not_utf8",
            PolicyError::Problems(_) => "policy_problems",
            PolicyError::Untrusted(_) => "policy_untrusted",
        }
    }
}

impl From<PolicyError> for Fail {
    fn from(e: PolicyError) -> Self {
        match e {
            PolicyError::Repo(e) => e.into(),
            other => Fail::Refused(other.to_string()),
        }
    }
}

impl Engine {
    /// The platform groups (`slack-group:S1`) the policy names, read from
    /// the tip the mirror knows (no fetch): the memberships an adapter
    /// resolves for a request.
    /// Cached per policy tip: asked on every chat request.
    pub fn platform_groups(&self) -> Vec<String> {
        let cache = || {
            self.groups_cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let groups = self.policy_branch().and_then(|b| {
            let tip = self.repo.known_tip(&b)?;
            if let Some((at, groups)) = &*cache()
                && *at == tip
            {
                return Ok(groups.clone());
            }
            let groups: Vec<String> = self
                .policy_at(&tip)?
                .platform_groups()
                .into_iter()
                .collect();
            *cache() = Some((tip, groups.clone()));
            Ok(groups)
        });
        match groups {
            Ok(g) => g,
            Err(Fail::Refused(m) | Fail::Error(m)) => {
                tracing::warn!(error = %m, "reading hoist.yaml for its platform groups");
                Vec::new()
            }
        }
    }

    /// `hoist.yaml` at the default branch's tip, fetched now.
    pub fn policy(&self) -> std::result::Result<Policy, PolicyError> {
        let branch = self.policy_branch_or_err()?;
        let tip = self
            .repo
            .refresh(&branch)
            .inspect_err(|_| self.forget_policy_branch())?;
        self.read_policy(&tip)
    }

    /// The branch whose tip holds the policy used to find environments.
    pub(super) fn policy_branch(&self) -> Result<String> {
        Ok(self.policy_branch_or_err()?)
    }

    pub(super) fn policy_branch_or_err(&self) -> std::result::Result<String, RepoError> {
        let mut known = self
            .policy_branch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(b) = &*known {
            return Ok(b.clone());
        }
        let b = self.repo.default_branch()?;
        *known = Some(b.clone());
        Ok(b)
    }

    /// Fetching the default branch failed: the remote may have renamed it.
    pub(super) fn forget_policy_branch(&self) {
        *self
            .policy_branch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Read and check `hoist.yaml` at `tip`.
    pub(super) fn policy_at(&self, tip: &str) -> Result<Policy> {
        Ok(self.read_policy(tip)?)
    }

    /// The version that may decide at `tip` (see [`trust`]).
    pub(super) fn read_policy(&self, tip: &str) -> std::result::Result<Policy, PolicyError> {
        let mut policy = self.trusted_policy_at(tip)?;
        self.add_made_environments(&mut policy, tip)?;
        Ok(policy)
    }

    /// The environments `hoist-environments.yaml` records at `tip` (written
    /// by `env create`), added to `policy` as its `environments_from` rule
    /// makes them. A registry that cannot be read, or an entry the rule no
    /// longer allows, is logged and left out: the environments written in
    /// `hoist.yaml` work on, and `env create` refuses until it is fixed.
    fn add_made_environments(
        &self,
        policy: &mut Policy,
        tip: &str,
    ) -> std::result::Result<(), PolicyError> {
        if policy.environments_from.is_none() {
            return Ok(());
        }
        let Some(bytes) = self.repo.read_file(tip, crate::envs::REGISTRY_FILE)? else {
            return Ok(());
        };
        let entries = String::from_utf8(bytes)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(|text| crate::envs::parse_registry(&text));
        match entries {
            Ok(entries) => {
                let entries = self.made_here(entries);
                for problem in crate::envs::merge(policy, &entries) {
                    tracing::warn!(%tip, "{problem}");
                }
            }
            Err(e) => tracing::warn!(
                %tip,
                error = %crate::engine::one_line(&e, 300),
                "{} cannot be read; its environments are left out",
                crate::envs::REGISTRY_FILE
            ),
        }
        Ok(())
    }

    /// Read and check `hoist.yaml` as committed at `at`.
    pub(super) fn parse_policy_at(&self, at: &str) -> std::result::Result<Policy, PolicyError> {
        let bytes = self
            .repo
            .read_file(at, POLICY_FILE)?
            .ok_or(PolicyError::Missing)?;
        let text = String::from_utf8(bytes).map_err(|_| PolicyError::NotUtf8)?;
        let (policy, problems) = policy::load(&text);
        if !problems.is_empty() {
            return Err(PolicyError::Problems(
                problems.iter().map(ToString::to_string).collect(),
            ));
        }
        Ok(policy)
    }

    /// The policy at the default branch's tip (fetched now).
    pub(super) fn current_policy(&self) -> Result<(Policy, String)> {
        let branch = self.policy_branch()?;
        let tip = self
            .repo
            .refresh(&branch)
            .inspect_err(|_| self.forget_policy_branch())?;
        Ok((self.policy_at(&tip)?, tip))
    }

    /// The rules for writing to `branch` come from that branch's own tip.
    pub(super) fn policy_for_branch(&self, branch: &str) -> Result<(Policy, String)> {
        self.policy_on(branch, true)
    }

    /// The policy at `branch`'s tip: fetched now, or as the mirror knows it.
    pub(super) fn policy_on(&self, branch: &str, fetch: bool) -> Result<(Policy, String)> {
        let tip = if fetch {
            self.repo.refresh(branch)?
        } else {
            self.repo.known_tip(branch)?
        };
        Ok((self.policy_at(&tip)?, tip))
    }
}
