//! Reading a pull request for the [`Forge`](crate::engine::ports::Forge)
//! port: its state, each trusted reviewer's latest deciding review, and
//! one verdict over its head's checks (the combined commit status and the
//! check runs). Every list read is bounded in pages; one that does not end
//! within them is an error, never a silently shortened list. Every word
//! GitHub sends back (check names, logins) is checked or flattened and
//! bounded before it leaves here.

use super::api::Reply;
use super::names::{is_login, is_sha};
use super::pulls::{Login, Pull, Repo, login};
use crate::engine::one_line;
use crate::engine::ports::{Checks, ForgeError, PrLook, PrState, ReviewApproval};
use http::Method;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Pages of reviews or check runs read at most.
const MAX_PAGES: u32 = 10;
/// Items per page asked for (GitHub's largest).
const PER_PAGE: usize = 100;
/// How soon to look again while GitHub computes `mergeable`.
pub const MERGEABLE_AGAIN: Duration = Duration::from_secs(3);
/// Check names named in a `Pending`/`Failing` text at most.
const MAX_NAMED: usize = 5;
/// What a look says when GitHub's branch protection still wants something.
pub const BLOCKED: &str = "required reviews or checks (GitHub says blocked)";

/// Whose reviews count: people with write access to the repository.
/// Anyone who can read a public repository can leave a review, even an
/// `APPROVED` one, and GitHub shows it; a stranger's approval must not
/// count towards `github_reviews`, so only reviews by its owner, members
/// of its organization and invited collaborators are read.
const TRUSTED: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];

#[derive(Deserialize)]
struct Review {
    user: Option<Login>,
    state: String,
    commit_id: Option<String>,
    #[serde(default)]
    author_association: String,
}

impl Repo {
    pub async fn look(&self, number: u64) -> Result<PrLook, ForgeError> {
        let doing = format!("looking at pull request #{number}");
        let path = self.path(&format!("/pulls/{number}"));
        let pull: Pull = self.get(&path, &doing).await?.json(&doing)?;
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
        let mut checks = self.checks(&pull.head.sha).await?;
        // No checks (or only passing ones) yet GitHub would not merge:
        // branch protection requires something not there yet.
        if checks == Checks::Passing && pull.mergeable_state == "blocked" {
            checks = Checks::Pending(BLOCKED.into());
        }
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
        let path = self.path(&format!("/issues/{number}"));
        let issue: Issue = self.get(&path, doing).await?.json(doing)?;
        Ok(login(issue.closed_by))
    }

    /// Each trusted reviewer's latest deciding review ([`TRUSTED`]); those
    /// that approve.
    async fn approvals(&self, number: u64, doing: &str) -> Result<Vec<ReviewApproval>, ForgeError> {
        let mut latest: BTreeMap<String, Review> = BTreeMap::new();
        let mut ended = false;
        for page in 1..=MAX_PAGES {
            let path = self.path(&format!(
                "/pulls/{number}/reviews?per_page={PER_PAGE}&page={page}"
            ));
            let reviews: Vec<Review> = self.get(&path, doing).await?.json(doing)?;
            ended = reviews.len() < PER_PAGE;
            for review in reviews {
                // A comment neither gives nor takes an approval.
                if !matches!(
                    review.state.as_str(),
                    "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED"
                ) || !TRUSTED.contains(&review.author_association.as_str())
                {
                    continue;
                }
                let Some(who) = review.user.as_ref().map(|u| u.login.clone()) else {
                    continue;
                };
                if is_login(&who) {
                    latest.insert(who, review);
                }
            }
            if ended {
                break;
            }
        }
        if !ended {
            return Err(ForgeError::api(
                doing.to_string(),
                format!(
                    "too many reviews (more than {})",
                    MAX_PAGES as usize * PER_PAGE
                ),
            ));
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

    /// The head's combined status and check runs, as one verdict. The
    /// combined status's own `state` decides (it covers every status, not
    /// only the page of them listed); the listed ones give the names.
    async fn checks(&self, sha: &str) -> Result<Checks, ForgeError> {
        #[derive(Deserialize)]
        struct Status {
            context: String,
            state: String,
        }
        #[derive(Deserialize)]
        struct Combined {
            state: String,
            total_count: u64,
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
        let path = self.path(&format!("/commits/{sha}/status?per_page={PER_PAGE}"));
        let combined: Combined = self.get(&path, &doing).await?.json(&doing)?;
        let (mut pending, mut failing) = (Vec::new(), Vec::new());
        // Without any status GitHub says `pending`: nothing to wait for.
        if combined.total_count > 0 {
            let unnamed = |listed: usize| {
                (listed == 0).then(|| format!("{} commit statuses", combined.total_count))
            };
            let not = |want: &[&str]| -> Vec<String> {
                combined
                    .statuses
                    .iter()
                    .filter(|s| want.contains(&s.state.as_str()))
                    .map(|s| s.context.clone())
                    .collect()
            };
            match combined.state.as_str() {
                "success" => {}
                "pending" => {
                    let named = not(&["pending"]);
                    pending.extend(unnamed(named.len()));
                    pending.extend(named);
                }
                _ => {
                    let named = not(&["failure", "error"]);
                    failing.extend(unnamed(named.len()));
                    failing.extend(named);
                }
            }
        }
        let (mut seen, mut ended) = (0, false);
        for page in 1..=MAX_PAGES {
            let path = self.path(&format!(
                "/commits/{sha}/check-runs?per_page={PER_PAGE}&page={page}"
            ));
            let runs: Runs = self.get(&path, &doing).await?.json(&doing)?;
            seen += runs.check_runs.len() as u64;
            ended = runs.check_runs.len() < PER_PAGE || seen >= runs.total_count;
            for run in runs.check_runs {
                match (run.status.as_str(), run.conclusion.as_deref()) {
                    ("completed", Some("success" | "neutral" | "skipped")) => {}
                    ("completed", Some(_)) => failing.push(run.name),
                    _ => pending.push(run.name),
                }
            }
            if ended {
                break;
            }
        }
        if !ended {
            return Err(ForgeError::api(
                doing,
                format!(
                    "too many check runs (more than {})",
                    MAX_PAGES as usize * PER_PAGE
                ),
            ));
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
