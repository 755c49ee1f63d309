//! The simulated forge's deployments: what hoist recorded as deployed where,
//! with each one's statuses, kept in memory as GitHub keeps them (ids from
//! 1; a newer success makes the environment's older ones inactive).

use super::MAX_RECORDS;
use crate::engine::ports::{DeploymentState, ForgeError, Sha};

/// A deployment recorded on the simulated forge, with its statuses in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub id: u64,
    pub env: String,
    pub sha: Sha,
    pub description: String,
    pub statuses: Vec<(DeploymentState, String)>,
}

/// Every deployment recorded, oldest first (index = id - 1).
#[derive(Debug, Default)]
pub(super) struct Deployments {
    pub(super) list: Vec<Deployment>,
}

impl Deployments {
    /// Record `sha` (a commit the caller checked) as deployed to `env`.
    pub(super) fn record(
        &mut self,
        env: &str,
        sha: &str,
        description: &str,
    ) -> Result<u64, ForgeError> {
        if self.list.len() >= MAX_RECORDS {
            return Err(ForgeError::Refused(format!(
                "the simulated forge keeps at most {MAX_RECORDS} deployments"
            )));
        }
        let id = self.list.len() as u64 + 1;
        self.list.push(Deployment {
            id,
            env: env.to_string(),
            sha: sha.to_string(),
            description: description.to_string(),
            statuses: Vec::new(),
        });
        Ok(id)
    }

    /// Add a status to deployment `id`; its environment and commit.
    pub(super) fn status(
        &mut self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<(String, Sha), ForgeError> {
        let index = usize::try_from(id)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|i| *i < self.list.len())
            .ok_or_else(|| ForgeError::Missing(format!("deployment {id}")))?;
        if state == DeploymentState::Success {
            // As GitHub does: a newer success makes the environment's older
            // successful deployments inactive.
            let (older, this) = self.list.split_at_mut(index);
            for old in older.iter_mut().filter(|d| d.env == this[0].env) {
                if old.statuses.last().map(|s| s.0) == Some(DeploymentState::Success) {
                    old.statuses
                        .push((DeploymentState::Inactive, "superseded".into()));
                }
            }
        }
        let this = &mut self.list[index];
        this.statuses.push((state, description.to_string()));
        Ok((this.env.clone(), this.sha.clone()))
    }
}
