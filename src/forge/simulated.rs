//! The simulated forge of `hoist try`: pull requests over a bare git remote
//! on disk, so a newcomer sees the whole `via: pull-request` path (opened,
//! approved in chat, merged, followed) with no account. It keeps its PRs and
//! deployments in memory (numbers and ids from 1), judges mergeability as a
//! forge would (the head descends from the base, or `git merge-tree` merges
//! them cleanly), has no checks that fail and no reviews of its own, and
//! merges with git's plumbing (merge commit, squash or rebase) moving the
//! base by compare-and-swap, exactly as a forge would refuse to move a base
//! someone else just pushed. It is also what engine tests drive: its
//! deployments and PRs can be read back.

mod deployments;
mod git;

use crate::engine::ports::{
    Checks, DeploymentState, Draft, Forge, ForgeError, MergeMethod, Merged, PrLook, PrState,
    PullRequest, Sha, Wake,
};
use crate::policy::branch_problem;
pub use deployments::Deployment;
use deployments::Deployments;
use git::{Fit, GitError, Remote};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// Most pull requests (and deployments) one simulated forge keeps.
pub const MAX_RECORDS: usize = 10_000;
/// A PR title's longest length in characters (GitHub's).
pub const MAX_TITLE: usize = 256;
/// A PR body's or comment's longest length in characters (GitHub's).
pub const MAX_BODY: usize = 65_536;

/// A pull request as the simulated forge holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedPr {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub state: PrState,
    /// The head commit when the PR was merged or closed (the branch may be
    /// gone since).
    pub final_head: Option<Sha>,
    /// Comments left on it (when closed).
    pub comments: Vec<String>,
}

#[derive(Default)]
struct Records {
    prs: Vec<SimulatedPr>,
    deployments: Deployments,
    wakes: HashMap<u64, Wake>,
}

/// Pull requests and deployments over the bare repository `remote`.
pub struct SimulatedForge {
    remote: Remote,
    records: Mutex<Records>,
    /// Where the forge says what it did (`hoist try` prints it).
    say: Option<Say>,
}

/// A sink for the forge's words, one line each.
type Say = Box<dyn Fn(&str) + Send + Sync>;

/// The first 7 hex digits of a commit id, as people read it.
fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

fn git_failed(doing: &str) -> impl FnOnce(GitError) -> ForgeError + '_ {
    move |e| ForgeError::api(format!("simulated forge: {doing}"), e)
}

/// A branch name the caller gave, checked before it reaches git.
fn branch(name: &str) -> Result<&str, ForgeError> {
    match branch_problem(name) {
        None => Ok(name),
        Some(problem) => Err(ForgeError::Refused(problem)),
    }
}

/// Refuse text longer than `max` characters.
fn bounded(what: &str, text: &str, max: usize) -> Result<(), ForgeError> {
    if text.chars().count() > max {
        return Err(ForgeError::Refused(format!(
            "the {what} is longer than {max} characters"
        )));
    }
    Ok(())
}

impl std::fmt::Debug for SimulatedForge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let records = self.records();
        f.debug_struct("SimulatedForge")
            .field("remote", &self.remote.path)
            .field("prs", &records.prs.len())
            .field("deployments", &records.deployments.list.len())
            .finish()
    }
}

impl SimulatedForge {
    /// A forge serving the bare repository at `remote`.
    pub fn new(remote: PathBuf) -> SimulatedForge {
        SimulatedForge {
            remote: Remote { path: remote },
            records: Mutex::default(),
            say: None,
        }
    }

    /// The same forge, saying what it does (a PR opened, merged or closed,
    /// a branch deleted, a deployment's status) through `say`, one line
    /// each, outside its lock.
    pub fn saying(self, say: impl Fn(&str) + Send + Sync + 'static) -> SimulatedForge {
        SimulatedForge {
            say: Some(Box::new(say)),
            ..self
        }
    }

    fn say(&self, text: impl FnOnce() -> String) {
        if let Some(say) = &self.say {
            say(&text());
        }
    }

    fn records(&self) -> MutexGuard<'_, Records> {
        // Every change to the records is made whole under the lock: one
        // poisoned by a panic elsewhere is still consistent.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pull request `number`, as it is now.
    pub fn pull_request(&self, number: u64) -> Option<SimulatedPr> {
        let records = self.records();
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        records.prs.get(index).cloned()
    }

    /// Every deployment recorded, oldest first.
    pub fn deployments(&self) -> Vec<Deployment> {
        self.records().deployments.list.clone()
    }

    /// Call the wake registered for `number`, if any (outside the lock: a
    /// wake may look at the PR at once).
    fn wake(&self, number: u64) {
        let wake = self.records().wakes.get(&number).cloned();
        if let Some(wake) = wake {
            wake();
        }
    }

    fn tip(&self, name: &str) -> Result<Sha, ForgeError> {
        self.remote
            .tip(name)
            .map_err(git_failed("reading a branch"))?
            .ok_or_else(|| ForgeError::Missing(format!("branch {name}")))
    }

    /// The PR's head commit now: the branch's tip while it is open, the one
    /// it had when it was merged or closed after.
    fn head_of(&self, pr: &SimulatedPr) -> Result<Sha, ForgeError> {
        match &pr.final_head {
            Some(sha) => Ok(sha.clone()),
            None => self.tip(&pr.head),
        }
    }

    fn find(records: &mut Records, number: u64) -> Result<&mut SimulatedPr, ForgeError> {
        usize::try_from(number)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| records.prs.get_mut(i))
            .ok_or_else(|| ForgeError::Missing(format!("pull request #{number}")))
    }
}

impl Forge for SimulatedForge {
    fn name(&self) -> String {
        "simulated forge".into()
    }

    fn open(&self, draft: &Draft) -> Result<PullRequest, ForgeError> {
        let (head, base) = (branch(&draft.head)?, branch(&draft.base)?);
        bounded("title", &draft.title, MAX_TITLE)?;
        bounded("body", &draft.body, MAX_BODY)?;
        self.tip(head)?;
        self.tip(base)?;
        let mut records = self.records();
        let open = records
            .prs
            .iter()
            .find(|p| p.head == head && p.state == PrState::Open);
        let (number, new) = match open {
            Some(pr) => (pr.number, false),
            None => {
                if records.prs.len() >= MAX_RECORDS {
                    return Err(ForgeError::Refused(format!(
                        "the simulated forge keeps at most {MAX_RECORDS} pull requests"
                    )));
                }
                let number = records.prs.len() as u64 + 1;
                records.prs.push(SimulatedPr {
                    number,
                    head: head.into(),
                    base: base.into(),
                    title: draft.title.clone(),
                    body: draft.body.clone(),
                    labels: draft.labels.clone(),
                    state: PrState::Open,
                    final_head: None,
                    comments: Vec::new(),
                });
                (number, true)
            }
        };
        drop(records);
        if new {
            self.say(|| {
                format!(
                    "pull request #{number} opened: {head} into {base}, labels {}",
                    crate::engine::one_line(&draft.labels.join(", "), 200)
                )
            });
        }
        Ok(PullRequest {
            number,
            url: format!("simulated://origin/pull/{number}"),
        })
    }

    fn look(&self, number: u64) -> Result<PrLook, ForgeError> {
        let pr = self
            .pull_request(number)
            .ok_or_else(|| ForgeError::Missing(format!("pull request #{number}")))?;
        let head = self.head_of(&pr)?;
        let mergeable = match pr.state {
            PrState::Open => {
                let base_tip = self.tip(&pr.base)?;
                let fit = self
                    .remote
                    .fit(&base_tip, &head)
                    .map_err(git_failed("merging in memory"))?;
                fit != Fit::Conflicts
            }
            PrState::Closed { .. } | PrState::Merged { .. } => false,
        };
        Ok(PrLook {
            state: pr.state,
            head,
            base: pr.base,
            mergeable: Some(mergeable),
            checks: Checks::Passing,
            approvals: Vec::new(),
            again_in: None,
        })
    }

    fn describe(&self, number: u64, body: &str) -> Result<(), ForgeError> {
        bounded("body", body, MAX_BODY)?;
        let mut records = self.records();
        Self::find(&mut records, number)?.body = body.to_string();
        Ok(())
    }

    fn merge(
        &self,
        number: u64,
        head: &str,
        method: MergeMethod,
        title: &str,
        message: &str,
    ) -> Result<Merged, ForgeError> {
        bounded("merge title", title, MAX_TITLE)?;
        bounded("merge message", message, MAX_BODY)?;
        let pr = self
            .pull_request(number)
            .ok_or_else(|| ForgeError::Missing(format!("pull request #{number}")))?;
        if pr.state != PrState::Open {
            return Ok(Merged::NotMergeable(format!(
                "pull request #{number} is not open"
            )));
        }
        let now = self.tip(&pr.head)?;
        if now != head {
            return Ok(Merged::HeadMoved(format!(
                "the head of #{number} is {now}, not {}",
                crate::engine::one_line(head, 80)
            )));
        }
        let base_tip = self.tip(&pr.base)?;
        let text = if message.is_empty() {
            format!("{title}\n")
        } else {
            format!("{title}\n\n{message}\n")
        };
        let new = match self
            .remote
            .merged(&now, &base_tip, method, &text)
            .map_err(git_failed("merging"))?
        {
            Ok(sha) => sha,
            Err(why) => return Ok(Merged::NotMergeable(why)),
        };
        let moved = self
            .remote
            .move_branch(&pr.base, &new, &base_tip)
            .map_err(git_failed("moving the base branch"))?;
        if !moved {
            return Ok(Merged::NotMergeable(format!(
                "{} moved while merging: look again",
                pr.base
            )));
        }
        {
            let mut records = self.records();
            let pr = Self::find(&mut records, number)?;
            pr.state = PrState::Merged {
                sha: new.clone(),
                by: None,
            };
            pr.final_head = Some(now);
        }
        self.wake(number);
        self.say(|| {
            let how = match method {
                MergeMethod::Merge => format!("merge commit {} of {}", short(&new), pr.head),
                MergeMethod::Squash => format!("{} squashed into {}", pr.head, short(&new)),
                MergeMethod::Rebase => format!("{} rebased, last commit {}", pr.head, short(&new)),
            };
            format!("pull request #{number} merged into {}: {how}", pr.base)
        });
        Ok(Merged::Merged { sha: new })
    }

    fn close(&self, number: u64, comment: &str) -> Result<(), ForgeError> {
        bounded("comment", comment, MAX_BODY)?;
        let pr = self
            .pull_request(number)
            .ok_or_else(|| ForgeError::Missing(format!("pull request #{number}")))?;
        match pr.state {
            PrState::Open => {}
            PrState::Closed { .. } => return Ok(()),
            PrState::Merged { .. } => {
                return Err(ForgeError::Refused(format!(
                    "pull request #{number} is already merged"
                )));
            }
        }
        let head = self.tip(&pr.head).ok();
        {
            let mut records = self.records();
            let pr = Self::find(&mut records, number)?;
            pr.state = PrState::Closed { by: None };
            pr.final_head = head;
            if !comment.is_empty() {
                pr.comments.push(comment.to_string());
            }
        }
        self.wake(number);
        self.say(|| format!("pull request #{number} closed"));
        Ok(())
    }

    fn delete_branch(&self, name: &str) -> Result<(), ForgeError> {
        let name = branch(name)?;
        if !name.starts_with("hoist/") {
            return Err(ForgeError::Refused(format!(
                "the simulated forge deletes only hoist's branches, not {name}"
            )));
        }
        let deleted = self
            .remote
            .delete_branch(name)
            .map_err(git_failed("deleting a branch"))?;
        if deleted {
            self.say(|| format!("branch {name} deleted"));
        }
        Ok(())
    }

    fn deployment(&self, env: &str, sha: &str, description: &str) -> Result<u64, ForgeError> {
        bounded("description", description, MAX_TITLE)?;
        bounded("environment", env, MAX_TITLE)?;
        if !git::is_object_id(sha) {
            return Err(ForgeError::Refused(
                "a deployment needs a full commit id".into(),
            ));
        }
        let known = self
            .remote
            .has_commit(sha)
            .map_err(git_failed("reading a commit"))?;
        if !known {
            return Err(ForgeError::Missing(format!("commit {sha}")));
        }
        self.records().deployments.record(env, sha, description)
    }

    fn deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<(), ForgeError> {
        bounded("description", description, MAX_TITLE)?;
        let (env, sha) = self.records().deployments.status(id, state, description)?;
        self.say(|| {
            format!(
                "deployment {id} ({env} at {}): {}",
                short(&sha),
                state.word()
            )
        });
        Ok(())
    }

    fn teams_of(&self, _login: &str, _teams: &[String]) -> Result<Vec<String>, ForgeError> {
        Ok(Vec::new())
    }

    fn watch(&self, number: u64, wake: Wake) {
        self.records().wakes.insert(number, wake);
    }

    fn unwatch(&self, number: u64) {
        self.records().wakes.remove(&number);
    }
}

#[cfg(test)]
mod tests;
