//! The pull-request calls of the [`Forge`](crate::engine::ports::Forge)
//! port over GitHub's REST API that change something, for one repository:
//! open (finding the one already open for the head and base after a 422;
//! labels best effort), merge with the expected head sha, close with a
//! comment, describe, and delete hoist's branch. Reading a PR is in
//! [`super::look`]. Every word GitHub sends back is checked or flattened
//! and bounded before it leaves here.

use super::api::Api;
use super::names::{is_login, is_sha, segment};
use crate::engine::one_line;
use crate::engine::ports::{Draft, ForgeError, MergeMethod, Merged, PullRequest};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

/// One repository on one GitHub.
#[derive(Debug)]
pub struct Repo {
    pub api: Api,
    pub owner: String,
    /// `/repos/{owner}/{repo}`.
    pub prefix: String,
}

#[derive(Deserialize)]
pub(super) struct Login {
    pub login: String,
}

#[derive(Deserialize)]
pub(super) struct Head {
    pub sha: String,
}

#[derive(Deserialize)]
pub(super) struct Base {
    #[serde(rename = "ref")]
    pub name: String,
}

/// A pull request as GitHub sends it (the fields hoist reads).
#[derive(Deserialize)]
pub(super) struct Pull {
    pub number: u64,
    pub html_url: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    pub mergeable: Option<bool>,
    /// `clean`, `blocked` (branch protection wants something), ...
    #[serde(default)]
    pub mergeable_state: String,
    pub merged_by: Option<Login>,
    pub head: Head,
    pub base: Base,
}

/// A login as GitHub sent it, if it is one.
pub(super) fn login(l: Option<Login>) -> Option<String> {
    l.map(|l| l.login).filter(|l| is_login(l))
}

fn url_of(html_url: &str) -> String {
    one_line(html_url, 300)
}

impl Repo {
    pub(super) fn path(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    pub async fn open(&self, draft: &Draft) -> Result<PullRequest, ForgeError> {
        let doing = format!("opening a pull request from {}", one_line(&draft.head, 100));
        let body = json!({
            "title": draft.title,
            "head": draft.head,
            "base": draft.base,
            "body": draft.body,
        });
        let reply = self
            .api
            .call(Method::POST, &self.path("/pulls"), Some(&body), &doing)
            .await?;
        let pull: Pull = if reply.status == StatusCode::UNPROCESSABLE_ENTITY
            && String::from_utf8_lossy(&reply.body).contains("A pull request already exists")
        {
            self.open_from(draft, &doing).await?
        } else {
            reply.ok(&doing)?.json(&doing)?
        };
        let pr = PullRequest {
            number: pull.number,
            url: url_of(&pull.html_url),
        };
        // The PR is open from here on: nothing below may turn it into an
        // error (the caller would not know of a PR it has to close).
        if let Err(e) = self.label(pull.number, &draft.labels).await {
            tracing::warn!(
                pr = pull.number,
                error = %one_line(&e.to_string(), 300),
                "could not label the pull request (labels are best effort)"
            );
        }
        Ok(pr)
    }

    /// Add `labels` to PR `number` (GitHub creates unknown ones, or refuses
    /// with 422 when the token may not).
    async fn label(&self, number: u64, labels: &[String]) -> Result<(), ForgeError> {
        if labels.is_empty() {
            return Ok(());
        }
        let doing = format!("labelling pull request #{number}");
        let labels = json!({ "labels": labels });
        let path = self.path(&format!("/issues/{number}/labels"));
        self.api
            .call(Method::POST, &path, Some(&labels), &doing)
            .await?
            .ok(&doing)?;
        Ok(())
    }

    /// The open PR from the draft's head into its base (after GitHub said
    /// one exists); one into another base is not it.
    async fn open_from(&self, draft: &Draft, doing: &str) -> Result<Pull, ForgeError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("head", &format!("{}:{}", self.owner, draft.head))
            .append_pair("base", &draft.base)
            .append_pair("state", "open")
            .finish();
        let pulls: Vec<Pull> = self
            .api
            .call::<()>(
                Method::GET,
                &self.path(&format!("/pulls?{query}")),
                None,
                doing,
            )
            .await?
            .ok(doing)?
            .json(doing)?;
        let Some(pull) = pulls.into_iter().next() else {
            return Err(ForgeError::Refused(format!(
                "{doing}: GitHub says one exists but lists none"
            )));
        };
        if pull.base.name != draft.base {
            return Err(ForgeError::Refused(format!(
                "{doing}: GitHub lists #{} into {:?}, not into {:?}",
                pull.number,
                one_line(&pull.base.name, 100),
                one_line(&draft.base, 100)
            )));
        }
        Ok(pull)
    }

    pub async fn merge(
        &self,
        number: u64,
        head: &str,
        method: MergeMethod,
        title: &str,
        message: &str,
    ) -> Result<Merged, ForgeError> {
        let doing = format!("merging pull request #{number}");
        let method = match method {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        };
        let body = json!({
            "sha": head,
            "merge_method": method,
            "commit_title": title,
            "commit_message": message,
        });
        let path = self.path(&format!("/pulls/{number}/merge"));
        let reply = self
            .api
            .call(Method::PUT, &path, Some(&body), &doing)
            .await?;
        match reply.status.as_u16() {
            405 => return Ok(Merged::NotMergeable(reply.message())),
            409 => return Ok(Merged::HeadMoved(reply.message())),
            _ => {}
        }
        #[derive(Deserialize)]
        struct Done {
            sha: String,
        }
        let done: Done = reply.ok(&doing)?.json(&doing)?;
        if !is_sha(&done.sha) {
            return Err(ForgeError::api(doing, "the merge answer names no commit"));
        }
        Ok(Merged::Merged { sha: done.sha })
    }

    pub async fn describe(&self, number: u64, body: &str) -> Result<(), ForgeError> {
        let doing = format!("updating the description of pull request #{number}");
        let path = self.path(&format!("/pulls/{number}"));
        self.api
            .call(Method::PATCH, &path, Some(&json!({ "body": body })), &doing)
            .await?
            .ok(&doing)?;
        Ok(())
    }

    pub async fn close(&self, number: u64, comment: &str) -> Result<(), ForgeError> {
        let doing = format!("closing pull request #{number}");
        let path = self.path(&format!("/issues/{number}/comments"));
        self.api
            .call(
                Method::POST,
                &path,
                Some(&json!({ "body": comment })),
                &doing,
            )
            .await?
            .ok(&doing)?;
        let path = self.path(&format!("/pulls/{number}"));
        self.api
            .call(
                Method::PATCH,
                &path,
                Some(&json!({ "state": "closed" })),
                &doing,
            )
            .await?
            .ok(&doing)?;
        Ok(())
    }

    pub async fn delete_branch(&self, branch: &str) -> Result<(), ForgeError> {
        let doing = format!("deleting branch {}", one_line(branch, 100));
        let mut encoded = Vec::new();
        for part in branch.split('/') {
            encoded.push(segment(part).ok_or_else(|| {
                ForgeError::Refused(format!("{doing}: not a branch name hoist deletes"))
            })?);
        }
        let path = self.path(&format!("/git/refs/heads/{}", encoded.join("/")));
        let reply = self
            .api
            .call::<()>(Method::DELETE, &path, None, &doing)
            .await?;
        match reply.status.as_u16() {
            404 | 422 => Ok(()),
            _ => reply.ok(&doing).map(|_| ()),
        }
    }
}
