//! The pull-request calls of the [`Forge`](crate::engine::ports::Forge)
//! port over GitHub's REST API, for one repository: open (finding the one
//! already open for the head after a 422), look (the PR, its reviews, its
//! head's combined status and check runs), merge with the expected head
//! sha, close with a comment, describe, and delete hoist's branch. Every
//! word GitHub sends back (titles, messages, check names, logins) is
//! checked or flattened and bounded before it leaves here.

use super::api::{Api, Reply};
use super::names::{is_login, is_sha, segment};
use crate::engine::one_line;
use crate::engine::ports::{
    Checks, Draft, ForgeError, MergeMethod, Merged, PrLook, PrState, PullRequest, ReviewApproval,
};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Pages of reviews or check runs read at most (100 each).
const MAX_PAGES: u32 = 10;
/// How soon to look again while GitHub computes `mergeable`.
pub const MERGEABLE_AGAIN: Duration = Duration::from_secs(3);
/// Check names named in a `Pending`/`Failing` text at most.
const MAX_NAMED: usize = 5;

/// One repository on one GitHub.
#[derive(Debug)]
pub struct Repo {
    pub api: Api,
    pub owner: String,
    /// `/repos/{owner}/{repo}`.
    pub prefix: String,
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
struct Head {
    sha: String,
}

#[derive(Deserialize)]
struct Base {
    #[serde(rename = "ref")]
    name: String,
}

#[derive(Deserialize)]
struct Pull {
    number: u64,
    html_url: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    merged: bool,
    merge_commit_sha: Option<String>,
    mergeable: Option<bool>,
    merged_by: Option<Login>,
    head: Head,
    base: Base,
}

#[derive(Deserialize)]
struct Review {
    user: Option<Login>,
    state: String,
    commit_id: Option<String>,
}

/// A login as GitHub sent it, if it is one.
fn login(l: Option<Login>) -> Option<String> {
    l.map(|l| l.login).filter(|l| is_login(l))
}

fn url_of(html_url: &str) -> String {
    one_line(html_url, 300)
}

impl Repo {
    fn path(&self, rest: &str) -> String {
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
            self.open_from(&draft.head, &doing).await?
        } else {
            reply.ok(&doing)?.json(&doing)?
        };
        if !draft.labels.is_empty() {
            let doing = format!("labelling pull request #{}", pull.number);
            let labels = json!({ "labels": draft.labels });
            let path = self.path(&format!("/issues/{}/labels", pull.number));
            self.api
                .call(Method::POST, &path, Some(&labels), &doing)
                .await?
                .ok(&doing)?;
        }
        Ok(PullRequest {
            number: pull.number,
            url: url_of(&pull.html_url),
        })
    }

    /// The open PR from `head` (after GitHub said one exists).
    async fn open_from(&self, head: &str, doing: &str) -> Result<Pull, ForgeError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("head", &format!("{}:{head}", self.owner))
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
        pulls.into_iter().next().ok_or_else(|| {
            ForgeError::Refused(format!("{doing}: GitHub says one exists but lists none"))
        })
    }

    pub async fn look(&self, number: u64) -> Result<PrLook, ForgeError> {
        let doing = format!("looking at pull request #{number}");
        let reply = self
            .api
            .call::<()>(
                Method::GET,
                &self.path(&format!("/pulls/{number}")),
                None,
                &doing,
            )
            .await?
            .ok(&doing)?;
        let pull: Pull = reply.json(&doing)?;
        if !is_sha(&pull.head.sha) {
            return Err(ForgeError::api(doing, "the head is not a commit id"));
        }
        let state = match (pull.state.as_str(), pull.merged) {
            (_, true) => match pull.merge_commit_sha.filter(|s| is_sha(s)) {
                Some(sha) => PrState::Merged {
                    sha,
                    by: login(pull.merged_by),
                },
                None => return Err(ForgeError::api(doing, "merged without a merge commit id")),
            },
            ("closed", false) => PrState::Closed {
                by: self.closed_by(number, &doing).await?,
            },
            _ => PrState::Open,
        };
        let approvals = self.approvals(number, &doing).await?;
        let checks = self.checks(&pull.head.sha).await?;
        Ok(PrLook {
            state,
            head: pull.head.sha,
            base: one_line(&pull.base.name, 200),
            mergeable: pull.mergeable,
            checks,
            approvals,
            again_in: pull.mergeable.is_none().then_some(MERGEABLE_AGAIN),
        })
    }

    async fn closed_by(&self, number: u64, doing: &str) -> Result<Option<String>, ForgeError> {
        #[derive(Deserialize)]
        struct Issue {
            closed_by: Option<Login>,
        }
        let issue: Issue = self
            .api
            .call::<()>(
                Method::GET,
                &self.path(&format!("/issues/{number}")),
                None,
                doing,
            )
            .await?
            .ok(doing)?
            .json(doing)?;
        Ok(login(issue.closed_by))
    }

    /// Each reviewer's latest deciding review; those that approve.
    async fn approvals(&self, number: u64, doing: &str) -> Result<Vec<ReviewApproval>, ForgeError> {
        let mut latest: BTreeMap<String, Review> = BTreeMap::new();
        for page in 1..=MAX_PAGES {
            let path = self.path(&format!("/pulls/{number}/reviews?per_page=100&page={page}"));
            let reviews: Vec<Review> = self
                .api
                .call::<()>(Method::GET, &path, None, doing)
                .await?
                .ok(doing)?
                .json(doing)?;
            let full = reviews.len() == 100;
            for review in reviews {
                // A comment neither gives nor takes an approval.
                if !matches!(
                    review.state.as_str(),
                    "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED"
                ) {
                    continue;
                }
                let Some(who) = review.user.as_ref().map(|u| u.login.clone()) else {
                    continue;
                };
                if is_login(&who) {
                    latest.insert(who, review);
                }
            }
            if !full {
                break;
            }
        }
        Ok(latest
            .into_iter()
            .filter(|(_, r)| r.state == "APPROVED")
            .filter_map(|(login, r)| {
                let commit = r.commit_id.filter(|c| is_sha(c))?;
                Some(ReviewApproval { login, commit })
            })
            .collect())
    }

    /// The head's combined status and check runs, as one verdict.
    async fn checks(&self, sha: &str) -> Result<Checks, ForgeError> {
        #[derive(Deserialize)]
        struct Status {
            context: String,
            state: String,
        }
        #[derive(Deserialize)]
        struct Combined {
            #[serde(default)]
            statuses: Vec<Status>,
        }
        #[derive(Deserialize)]
        struct Run {
            name: String,
            status: String,
            conclusion: Option<String>,
        }
        #[derive(Deserialize)]
        struct Runs {
            total_count: u64,
            check_runs: Vec<Run>,
        }
        let doing = format!("reading the checks of {}", &sha[..sha.len().min(12)]);
        let path = self.path(&format!("/commits/{sha}/status"));
        let combined: Combined = self.get(&path, &doing).await?.json(&doing)?;
        let (mut pending, mut failing) = (Vec::new(), Vec::new());
        for s in combined.statuses {
            match s.state.as_str() {
                "success" => {}
                "pending" => pending.push(s.context),
                _ => failing.push(s.context),
            }
        }
        let mut seen = 0;
        for page in 1..=MAX_PAGES {
            let path = self.path(&format!(
                "/commits/{sha}/check-runs?per_page=100&page={page}"
            ));
            let runs: Runs = self.get(&path, &doing).await?.json(&doing)?;
            seen += runs.check_runs.len() as u64;
            let last = runs.check_runs.len() < 100 || seen >= runs.total_count;
            for run in runs.check_runs {
                match (run.status.as_str(), run.conclusion.as_deref()) {
                    ("completed", Some("success" | "neutral" | "skipped")) => {}
                    ("completed", Some(_)) => failing.push(run.name),
                    _ => pending.push(run.name),
                }
            }
            if last {
                break;
            }
        }
        Ok(if !failing.is_empty() {
            Checks::Failing(named(&failing))
        } else if !pending.is_empty() {
            Checks::Pending(named(&pending))
        } else {
            Checks::Passing
        })
    }

    async fn get(&self, path: &str, doing: &str) -> Result<Reply, ForgeError> {
        self.api
            .call::<()>(Method::GET, path, None, doing)
            .await?
            .ok(doing)
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

/// Check names in words: flattened, bounded, at most [`MAX_NAMED`].
fn named(names: &[String]) -> String {
    let mut words: Vec<String> = names
        .iter()
        .take(MAX_NAMED)
        .map(|n| one_line(n, 60))
        .collect();
    if names.len() > MAX_NAMED {
        words.push(format!("{} more", names.len() - MAX_NAMED));
    }
    words.join(", ")
}
