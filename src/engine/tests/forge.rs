//! A forge in memory for the engine's tests of `via: pull-request`: it
//! behaves like one (PR numbers increment, `open` returns the PR already
//! open for a head, `merge` only at the expected head and when the base is
//! in the head's history, i.e. no conflict), works on the same in-memory
//! config repo the engine writes to (a merge moves the base branch there),
//! records every call, and lets a test act as the people on the forge
//! (merge or close by hand, review, fail checks, rate-limit).

use crate::engine::ports::{
    Checks, ConfigRepo, DeploymentState, Draft, Forge, ForgeError, MergeMethod, Merged, PrLook,
    PrState, PullRequest, ReviewApproval, Wake,
};
use crate::gitops::memory::Memory;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Debug, Clone)]
pub(super) struct TestPr {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub state: PrState,
    pub comments: Vec<String>,
}

/// One merge asked of the forge.
#[derive(Debug, Clone)]
pub(super) struct MergeCall {
    pub number: u64,
    pub head: String,
    pub method: MergeMethod,
    pub title: String,
    pub message: String,
}

#[derive(Default)]
pub(super) struct ForgeState {
    pub prs: Vec<TestPr>,
    /// Every call, in words: `open hoist/1`, `look 1`, `merge 1`...
    pub calls: Vec<String>,
    pub merges: Vec<MergeCall>,
    pub checks: Option<Checks>,
    /// The next this many calls answer "wait `.1`".
    pub rate_limited: Option<(u32, Duration)>,
    pub reviews: HashMap<u64, Vec<ReviewApproval>>,
    /// login -> teams (`org/slug`).
    pub teams: HashMap<String, Vec<String>>,
    /// (id, env, sha, statuses).
    pub deployments: Vec<(u64, String, String, Vec<DeploymentState>)>,
    watched: HashMap<u64, Wake>,
    /// `open` fails with this (after opening the PR when it is Refused,
    /// as a label GitHub refuses does).
    pub open_error: Option<fn() -> ForgeError>,
    /// `close` fails with this.
    pub close_error: Option<fn() -> ForgeError>,
    /// `merge` answers "not mergeable" with these words (a 405: a branch
    /// protection the look does not show).
    pub merge_refusal: Option<String>,
    /// `deployment` takes this long (a slow forge).
    pub deployment_delay: Duration,
}

pub(super) struct TestForge {
    repo: Arc<Memory>,
    state: Mutex<ForgeState>,
}

impl TestForge {
    pub(super) fn new(repo: Arc<Memory>) -> Arc<TestForge> {
        Arc::new(TestForge {
            repo,
            state: Mutex::default(),
        })
    }

    pub(super) fn state(&self) -> MutexGuard<'_, ForgeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn pr(&self, number: u64) -> TestPr {
        self.state().prs[number as usize - 1].clone()
    }

    /// How many calls started with `prefix`.
    pub(super) fn calls(&self, prefix: &str) -> usize {
        self.state()
            .calls
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }

    /// Does anyone watch PR `number` (would a webhook wake them)?
    pub(super) fn watching(&self, number: u64) -> bool {
        self.state().watched.contains_key(&number)
    }

    /// Wake whoever watches PR `number` (a webhook delivery).
    pub(super) fn poke(&self, number: u64) {
        let wake = self.state().watched.get(&number).cloned();
        if let Some(wake) = wake {
            wake();
        }
    }

    /// A person merges PR `number` on the forge.
    pub(super) fn merge_by_hand(&self, number: u64, by: &str) -> String {
        let pr = self.pr(number);
        let head = self.repo.remote_tip(&pr.head).expect("head branch");
        let base = self.repo.remote_tip(&pr.base).expect("base branch");
        self.repo
            .push(&pr.base, &head, &base)
            .expect("fast-forward");
        self.state().prs[number as usize - 1].state = PrState::Merged {
            sha: head.clone(),
            by: Some(by.into()),
        };
        self.poke(number);
        head
    }

    /// A person closes PR `number` on the forge.
    pub(super) fn close_by_hand(&self, number: u64, by: &str) {
        self.state().prs[number as usize - 1].state = PrState::Closed {
            by: Some(by.into()),
        };
        self.poke(number);
    }

    /// The reviews of PR `number` are now `reviews` (login, commit).
    pub(super) fn review(&self, number: u64, reviews: &[(&str, &str)]) {
        let list = reviews
            .iter()
            .map(|(login, commit)| ReviewApproval {
                login: login.to_string(),
                commit: commit.to_string(),
            })
            .collect();
        self.state().reviews.insert(number, list);
        self.poke(number);
    }

    fn call(&self, what: String) -> Result<(), ForgeError> {
        let mut s = self.state();
        s.calls.push(what);
        if let Some((n, wait)) = s.rate_limited {
            s.rate_limited = (n > 1).then_some((n - 1, wait));
            return Err(ForgeError::RateLimited {
                forge: "GitHub".into(),
                wait,
            });
        }
        Ok(())
    }

    /// The base's tip is in the head's history: no conflict.
    fn mergeable(&self, pr: &TestPr) -> bool {
        match (
            self.repo.remote_tip(&pr.head),
            self.repo.remote_tip(&pr.base),
        ) {
            (Some(head), Some(base)) => self.repo.contains(&head, &base).unwrap_or(false),
            _ => false,
        }
    }
}

impl Forge for TestForge {
    fn name(&self) -> String {
        "GitHub".into()
    }

    fn open(&self, draft: &Draft) -> Result<PullRequest, ForgeError> {
        self.call(format!("open {}", draft.head))?;
        if self.repo.remote_tip(&draft.head).is_none() {
            return Err(ForgeError::Refused(format!("no branch {}", draft.head)));
        }
        let mut s = self.state();
        let failing = s.open_error.map(|f| f());
        if let Some(e) = failing
            .as_ref()
            .filter(|e| !matches!(e, ForgeError::Refused(_)))
        {
            return Err(ForgeError::api("opening", e.to_string()));
        }
        let url = |n: u64| format!("https://github.test/acme/config/pull/{n}");
        if let Some(pr) = s
            .prs
            .iter()
            .find(|p| p.head == draft.head && p.state == PrState::Open)
        {
            return Ok(PullRequest {
                number: pr.number,
                url: url(pr.number),
            });
        }
        let number = s.prs.len() as u64 + 1;
        s.prs.push(TestPr {
            number,
            head: draft.head.clone(),
            base: draft.base.clone(),
            title: draft.title.clone(),
            body: draft.body.clone(),
            labels: draft.labels.clone(),
            state: PrState::Open,
            comments: Vec::new(),
        });
        if let Some(e) = failing {
            return Err(e);
        }
        Ok(PullRequest {
            number,
            url: url(number),
        })
    }

    fn look(&self, number: u64) -> Result<PrLook, ForgeError> {
        self.call(format!("look {number}"))?;
        let pr = self.pr(number);
        let s = self.state();
        Ok(PrLook {
            state: pr.state.clone(),
            head: self.repo.remote_tip(&pr.head).unwrap_or_default(),
            base: pr.base.clone(),
            mergeable: Some(self.mergeable(&pr)),
            checks: s.checks.clone().unwrap_or(Checks::Passing),
            approvals: s.reviews.get(&number).cloned().unwrap_or_default(),
            again_in: None,
        })
    }

    fn describe(&self, number: u64, body: &str) -> Result<(), ForgeError> {
        self.call(format!("describe {number}"))?;
        self.state().prs[number as usize - 1].body = body.to_string();
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
        self.call(format!("merge {number}"))?;
        if let Some(why) = self.state().merge_refusal.clone() {
            return Ok(Merged::NotMergeable(why));
        }
        let pr = self.pr(number);
        let now = self.repo.remote_tip(&pr.head).unwrap_or_default();
        if pr.state != PrState::Open || !self.mergeable(&pr) {
            return Ok(Merged::NotMergeable("not mergeable".into()));
        }
        if now != head {
            return Ok(Merged::HeadMoved(format!("head is {now}")));
        }
        let base = self.repo.remote_tip(&pr.base).unwrap_or_default();
        self.repo
            .push(&pr.base, head, &base)
            .map_err(|e| ForgeError::api("merging", e))?;
        let mut s = self.state();
        s.merges.push(MergeCall {
            number,
            head: head.into(),
            method,
            title: title.into(),
            message: message.into(),
        });
        s.prs[number as usize - 1].state = PrState::Merged {
            sha: head.into(),
            by: Some("hoist-bot".into()),
        };
        Ok(Merged::Merged { sha: head.into() })
    }

    fn close(&self, number: u64, comment: &str) -> Result<(), ForgeError> {
        self.call(format!("close {number}"))?;
        let mut s = self.state();
        if let Some(fail) = s.close_error {
            return Err(fail());
        }
        let pr = &mut s.prs[number as usize - 1];
        pr.state = PrState::Closed {
            by: Some("hoist-bot".into()),
        };
        pr.comments.push(comment.into());
        Ok(())
    }

    fn delete_branch(&self, branch: &str) -> Result<(), ForgeError> {
        self.call(format!("delete {branch}"))
    }

    fn deployment(&self, env: &str, sha: &str, _description: &str) -> Result<u64, ForgeError> {
        let delay = self.state().deployment_delay;
        std::thread::sleep(delay);
        self.call(format!("deployment {env}"))?;
        let mut s = self.state();
        let id = s.deployments.len() as u64 + 1;
        s.deployments.push((id, env.into(), sha.into(), Vec::new()));
        Ok(id)
    }

    fn deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        _description: &str,
    ) -> Result<(), ForgeError> {
        self.call(format!("deployment_status {id} {}", state.word()))?;
        self.state().deployments[id as usize - 1].3.push(state);
        Ok(())
    }

    fn teams_of(&self, login: &str, teams: &[String]) -> Result<Vec<String>, ForgeError> {
        self.call(format!("teams_of {login}"))?;
        let s = self.state();
        let of = s.teams.get(login).cloned().unwrap_or_default();
        Ok(of.into_iter().filter(|t| teams.contains(t)).collect())
    }

    fn watch(&self, number: u64, wake: Wake) {
        self.state().watched.insert(number, wake);
    }

    fn unwatch(&self, number: u64) {
        self.state().watched.remove(&number);
    }
}
