//! GitHub Deployments: each push or merge hoist follows is recorded on the
//! forge as a deployment of the environment, `in_progress` while followed,
//! then `success`, `failure` or `error` at the end, so the repository's
//! Environments page shows what runs where. Best effort: a forge failure is
//! logged and counted, never fails the operation. Off with
//! `github_deployments: false`.

use crate::engine::ports::DeploymentState;
use crate::engine::{Engine, Operation, State, one_line, render};
use crate::policy::Policy;

impl Engine {
    /// Record that `op`'s revision is being rolled out (once per operation).
    pub(in crate::engine) fn deployment_start(&self, op: &mut Operation, policy: &Policy) {
        let Some(forge) = self.forge() else { return };
        if op.deployment.is_some() {
            return;
        }
        let Some(env) = op.env.parse().ok().and_then(|e| policy.env(&e)) else {
            return;
        };
        if !env.pr.github_deployments {
            return;
        }
        let sha = op.revision().unwrap_or_default().to_string();
        let id = match forge.deployment(&op.env, &sha, &one_line(&op.summary, 140)) {
            Ok(id) => id,
            Err(e) => return self.forge_error("recording a deployment", &e),
        };
        if let Err(e) = forge.deployment_status(
            id,
            DeploymentState::InProgress,
            "hoist is following the rollout",
        ) {
            self.forge_error("recording a deployment status", &e);
        }
        op.deployment = Some(id);
        if let Err(e) = self.journal.put(op) {
            tracing::warn!(op = op.id, error = %e.report(), "journaling the deployment id");
        }
    }

    /// Record where `op`'s rollout ended on its deployment, if it has one.
    pub(in crate::engine) fn deployment_end(&self, op: &Operation) {
        let (Some(forge), Some(id)) = (self.forge(), op.deployment) else {
            return;
        };
        let state = match op.state {
            State::Healthy => DeploymentState::Success,
            State::Degraded { .. } | State::Failed { .. } => DeploymentState::Failure,
            State::TimedOut => DeploymentState::Error,
            _ => return,
        };
        let words = one_line(&render::summary_line(op), 140);
        if let Err(e) = forge.deployment_status(id, state, &words) {
            self.forge_error("recording a deployment status", &e);
        }
    }
}
