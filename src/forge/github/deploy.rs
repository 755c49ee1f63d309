//! GitHub Deployments (so the repository's Environments page shows what
//! runs where) and team membership (for `github-team:<org>/<slug>` groups
//! in `hoist.yaml`).

use super::names::{is_login, is_name};
use super::pulls::Repo;
use crate::engine::one_line;
use crate::engine::ports::{DeploymentState, ForgeError};
use http::Method;
use serde::Deserialize;
use serde_json::json;

/// GitHub keeps at most this much of a deployment's description.
const DESCRIPTION: usize = 140;
/// Teams asked about for one login at most.
const MAX_TEAMS: usize = 50;

impl Repo {
    pub async fn deployment(
        &self,
        env: &str,
        sha: &str,
        description: &str,
    ) -> Result<u64, ForgeError> {
        let doing = format!("recording a deployment to {}", one_line(env, 60));
        let body = json!({
            "ref": sha,
            "environment": env,
            "description": one_line(description, DESCRIPTION),
            "auto_merge": false,
            "required_contexts": [],
            "transient_environment": false,
        });
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let created: Created = self
            .api
            .call(
                Method::POST,
                &format!("{}/deployments", self.prefix),
                Some(&body),
                &doing,
            )
            .await?
            .ok(&doing)?
            .json(&doing)?;
        Ok(created.id)
    }

    pub async fn deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<(), ForgeError> {
        let doing = format!("recording a status of deployment {id}");
        let body = json!({
            "state": state.word(),
            "description": one_line(description, DESCRIPTION),
        });
        let path = format!("{}/deployments/{id}/statuses", self.prefix);
        self.api
            .call(Method::POST, &path, Some(&body), &doing)
            .await?
            .ok(&doing)?;
        Ok(())
    }

    /// Which of `teams` (`org/slug`) `login` is an active member of; names
    /// that are not plain are not asked about.
    pub async fn teams_of(&self, login: &str, teams: &[String]) -> Result<Vec<String>, ForgeError> {
        if !is_login(login) {
            return Ok(Vec::new());
        }
        #[derive(Deserialize)]
        struct Membership {
            state: String,
        }
        let mut member = Vec::new();
        for team in teams.iter().take(MAX_TEAMS) {
            let Some((org, slug)) = team.split_once('/') else {
                continue;
            };
            if !is_name(org) || !is_name(slug) {
                continue;
            }
            let doing = format!("asking whether {login} is in {team}");
            let path = format!("/orgs/{org}/teams/{slug}/memberships/{login}");
            let reply = self
                .api
                .call::<()>(Method::GET, &path, None, &doing)
                .await?;
            if reply.status == http::StatusCode::NOT_FOUND {
                continue;
            }
            let m: Membership = reply.ok(&doing)?.json(&doing)?;
            if m.state == "active" {
                member.push(team.clone());
            }
        }
        Ok(member)
    }
}
