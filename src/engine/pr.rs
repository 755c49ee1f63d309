//! Pull requests (`via: pull-request`): the environment's branch changes
//! only through a PR, so the host's own protections (required reviews,
//! status checks, CODEOWNERS) still apply. hoist commits its signed change
//! on the branch's tip, journals it (`Committed`), pushes it to its own
//! branch `hoist/<id>`, opens the PR through the [`Forge`] port, journals
//! `PrOpened` and answers at once. From then on the runner owns the wait
//! ([`PrWait`]): it looks at the PR when the forge wakes it or after
//! `Settings::pr_poll`, counts GitHub reviews when the environment says so,
//! rebuilds the change on a moved base, and merges with the expected head
//! once the quorum is met and the checks pass. A merge (by hoist or by a
//! person) is journaled `Merged` and followed like a push; a PR closed on
//! the forge ends as Cancelled. Every decision starts from a fresh look, so
//! a restart between an act and its record repeats nothing: the open is
//! idempotent per head, and a merge done but not recorded is found merged.
//!
//! `look.rs` judges one look at an open PR, `rebuild.rs` the moved base,
//! `merge.rs` the merge at quorum, `votes.rs` the chat votes on a PR,
//! `words.rs` what the PR says, `deployments.rs` the forge's record of
//! rollouts, `ending.rs` a deny, cancel or expiry (the PR looked at, then
//! closed, then the end journaled) and `connect.rs` the forge itself and
//! the calls nothing waits on.

mod connect;
mod deployments;
mod ending;
mod look;
mod merge;
mod rebuild;
mod votes;
mod wait;
mod words;

pub(super) use ending::Closing;
pub(super) use wait::{Next, PrWait, Said};

use super::operation::PullRef;
use super::ports::{Draft, Forge, ForgeError, Plan, RepoError};
use super::runner::Work;
use super::{Engine, Fail, Operation, Reply, Result, State, checkpoint, render};
use crate::policy::{Environment, Policy};
use std::time::{Duration, Instant};

/// Why publishing (push + open) did not happen yet.
enum Unpublished {
    /// Ask again later: the forge or git failed.
    Retry(String),
    /// The forge asked hoist to wait.
    Wait(Duration, String),
    /// Asking again will not help: the operation fails.
    Fatal(String),
}

impl From<RepoError> for Unpublished {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Refused(_) | RepoError::Target(_) | RepoError::Signing(_) => {
                Unpublished::Fatal(super::ports::report(&e))
            }
            other => Unpublished::Retry(super::ports::report(&other)),
        }
    }
}

impl From<ForgeError> for Unpublished {
    fn from(e: ForgeError) -> Self {
        let words = super::one_line(&super::ports::report(&e), 300);
        match e {
            ForgeError::RateLimited { wait, .. } => Unpublished::Wait(wait, words),
            ForgeError::Refused(_) => Unpublished::Fatal(words),
            _ => Unpublished::Retry(words),
        }
    }
}

impl From<Fail> for Unpublished {
    fn from(e: Fail) -> Self {
        match e {
            Fail::Refused(m) | Fail::Error(m) => Unpublished::Retry(m),
        }
    }
}

/// A failure's words.
fn words(f: Fail) -> String {
    match f {
        Fail::Refused(m) | Fail::Error(m) => m,
    }
}

/// The refusal when an environment changes through PRs and no forge is set.
pub(super) fn no_forge(env: &str) -> String {
    format!(
        "{env} is configured `via: pull-request`, which needs a forge connection: set \
         GITHUB_TOKEN (or a GitHub App: GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, \
         GITHUB_APP_INSTALLATION_ID) and HOIST_GITHUB_REPO=owner/name (or pass a GitHub \
         --repo URL); nothing was written"
    )
}

impl Engine {
    /// A request for an environment that changes through a PR, journaled
    /// (Requested or Approved) and past every gate: commit hoist's change on
    /// the branch's tip, publish it as a PR and answer at once. The runner
    /// waits for the approvals, the checks and the merge.
    pub(super) fn open_pr(
        &self,
        op: &mut Operation,
        policy: &Policy,
        tip: &str,
        notes: &[String],
    ) -> Result<Reply> {
        let Some(forge) = self.forge().cloned() else {
            return self.refuse(op, no_forge(&op.env));
        };
        let env = self.env_named(policy, &op.env)?;
        let edits = self.edits_of(op, policy)?;
        let plan = self.repo.plan(&op.branch, tip, &edits)?;
        if plan.is_noop() {
            self.save(op, State::Unchanged)?;
            let text = format!(
                "#{}: someone else already set this version; nothing to commit",
                op.id
            );
            self.notify.update(op, &text);
            return Ok(render::reply(op, text));
        }
        super::write::bind(op, &plan);
        self.commit_for_pr(op, &plan)?;
        let mut text = match self.publish(&*forge, op, env) {
            Ok(()) => self.opened_words(op, env),
            Err(Unpublished::Fatal(why)) => return self.pr_failed(op, why),
            Err(Unpublished::Retry(why) | Unpublished::Wait(_, why)) => format!(
                "#{} {}: committed {}; the pull request could not be opened yet ({why}); \
                 hoist tries again",
                op.id,
                op.summary,
                render::short(op.commit.as_deref().unwrap_or_default())
            ),
        };
        for note in notes {
            text.push_str(&format!("\n({note})"));
        }
        self.notify.update(op, &text);
        self.wait_for_pr(op.id);
        Ok(render::reply(op, text))
    }

    /// Write hoist's signed commit of `plan` and journal it (`Committed`)
    /// before anything is pushed.
    fn commit_for_pr(&self, op: &mut Operation, plan: &Plan) -> Result<()> {
        let message = super::ordered::commit_message(op);
        let sha = self.repo.commit(plan, &message, self.repo.can_sign())?;
        checkpoint("commit written");
        op.commit = Some(sha.clone());
        self.save(op, State::Committed { sha })
    }

    /// Push hoist's commit to `hoist/<id>` (replacing, with a lease, an
    /// older head of the same operation) and open the PR (the forge
    /// returns the one already open for that head after a restart), then
    /// journal `PrOpened`.
    fn publish(
        &self,
        forge: &dyn Forge,
        op: &mut Operation,
        env: &Environment,
    ) -> std::result::Result<(), Unpublished> {
        let sha = op.commit.clone().unwrap_or_default();
        let branch = PullRef::branch(op.id);
        self.push_head(&branch, &sha, "")?;
        checkpoint("pr branch pushed");
        let draft = Draft {
            head: branch,
            base: op.branch.clone(),
            title: words::title(op),
            body: words::body(op, env),
            labels: words::labels(op, env),
        };
        let pr = forge.open(&draft)?;
        checkpoint("pr opened, not yet recorded");
        let url = super::one_line(&pr.url, 300);
        let merged = op.pr.as_ref().and_then(|p| p.merged.clone());
        op.pr = Some(PullRef {
            number: pr.number,
            url: url.clone(),
            merged,
        });
        self.save(
            op,
            State::PrOpened {
                url,
                number: pr.number,
            },
        )?;
        Ok(())
    }

    /// Put `sha` on hoist's `branch`, expected at `expected` ("": absent).
    /// A branch already there (a restart, a rebuild) is replaced with a
    /// lease on what it holds; one already at `sha` is left alone.
    fn push_head(&self, branch: &str, sha: &str, expected: &str) -> Result<(), RepoError> {
        match self.repo.push(branch, sha, expected) {
            Err(RepoError::Stale(_)) => {
                let now = self.repo.refresh(branch)?;
                if now == sha {
                    return Ok(());
                }
                self.repo.push(branch, sha, &now)
            }
            other => other,
        }
    }

    /// "#7 deploy api v2 to prod: opened <url>; waiting for 2 approval(s) from sre"
    fn opened_words(&self, op: &Operation, env: &Environment) -> String {
        let url = op.pr.as_ref().map_or("", |p| p.url.as_str());
        let have = op.approvers.len() as u32;
        let wait = if have >= op.needed {
            "merging once its checks pass".to_string()
        } else {
            format!(
                "waiting for {} approval(s) from {} (not the requester): `approve {}` here{}",
                op.needed - have,
                words::approvers_from(op, env),
                op.id,
                if env.pr.github_reviews {
                    " or an approving review on the PR"
                } else {
                    ""
                }
            )
        };
        format!(
            "#{} {}: opened {url}; {wait}\n{}",
            op.id,
            op.summary,
            render::change_lines(&op.changes)
        )
    }

    /// End an operation whose PR cannot be published. Nothing is left open
    /// and unwatched: the PR is closed if it was recorded, and hoist's
    /// branch deleted (which closes one opened but not recorded).
    fn pr_failed(&self, op: &mut Operation, why: String) -> Result<Reply> {
        let comment = format!("hoist: failed: {}", super::one_line(&why, 300));
        if let Some(unclosed) = self.close_pr(op, &comment) {
            tracing::warn!(op = op.id, %unclosed, "closing a failed pull request");
        }
        self.delete_pr_branch(op);
        self.save(op, State::Failed { message: why })?;
        let text = render::summary_line(op);
        self.notify.update(op, &text);
        let mut reply = render::reply(op, text);
        reply.outcome = super::Outcome::Error;
        Ok(reply)
    }

    /// Hand operation `id` to the runner to wait on its PR (or wake it
    /// there). False without a forge.
    pub(super) fn wait_for_pr(&self, id: u64) -> bool {
        if self.forge().is_none() {
            return false;
        }
        let work = Work::Pr(PrWait::new(id));
        if !self.runner.hand(&self.me, work, self.settings.followers) {
            self.runner.wake(id);
        }
        true
    }

    /// The runner's step of a PR wait; a merged PR becomes a rollout
    /// followed in the same slot.
    pub(super) fn pr_step(&self, work: &mut Work) -> std::result::Result<Option<Instant>, String> {
        let Work::Pr(wait) = work else {
            return Ok(None);
        };
        let Some(forge) = self.forge().cloned() else {
            return Ok(None);
        };
        let slot = self.slot(wait.op);
        let held = slot.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut op) = self.journal.get(wait.op).map_err(|e| e.report())? else {
            return Ok(None);
        };
        let _op = super::trail::op_span(&op).entered();
        let next = match self.pr_advance(&*forge, &mut op, wait) {
            Ok(next) => {
                wait.failures = 0;
                next
            }
            Err(why) => {
                // The forge or git failed: looked at again later and later
                // (a webhook's wake still looks at once).
                let after = wait.backoff(self.settings.follow_retry);
                tracing::warn!(op = wait.op, error = %why, retry_in = ?after, "looking at the pull request");
                Next::Wait(after)
            }
        };
        match next {
            Next::Wait(after) => Ok(Some(Instant::now() + after)),
            Next::Done => {
                self.unwatch_pr(wait);
                self.pr_said.end(wait.op);
                Ok(None)
            }
            Next::Follow => {
                self.unwatch_pr(wait);
                self.pr_said.end(wait.op);
                let (policy, _) = self.policy_on(&op.branch, false).map_err(words)?;
                let Some(following) = self
                    .following_of(&op, &policy)
                    .filter(|_| self.settings.wait)
                else {
                    return Ok(None);
                };
                drop(held);
                *work = Work::Follow(Box::new(following));
                Ok(Some(Instant::now()))
            }
        }
    }

    /// Stop the forge's wakes for the PR `wait` watches.
    pub(super) fn unwatch_pr(&self, wait: &mut PrWait) {
        if let (Some(forge), n) = (self.forge(), wait.watched)
            && n != 0
        {
            forge.unwatch(n);
            wait.watched = 0;
        }
    }

    /// One look at a PR operation, with its slot held: publish what is not
    /// published yet, then judge the PR as the forge shows it now.
    pub(super) fn pr_advance(
        &self,
        forge: &dyn Forge,
        op: &mut Operation,
        wait: &mut PrWait,
    ) -> std::result::Result<Next, String> {
        // The policy as the mirror knows it: fetched only right before a
        // merge (merge.rs), a rebuild, or by any request or vote.
        let (policy, _) = self.policy_on(&op.branch, false).map_err(words)?;
        let env = self.env_named(&policy, &op.env).map_err(words)?;
        if matches!(op.state, State::Committed { .. } | State::PrOpened { .. }) {
            if let Some(pending) = self.pr_said.pending_end(op.id) {
                return self.retry_end(op, pending);
            }
            if self.expire_if_due(op).map_err(words)? {
                return Ok(match op.state {
                    State::Merged { .. } => Next::Follow,
                    State::Committed { .. } | State::PrOpened { .. } => {
                        Next::Wait(self.settings.pr_poll)
                    }
                    _ => Next::Done,
                });
            }
        }
        match op.state {
            State::Committed { .. } => match self.publish(forge, op, env) {
                Ok(()) => {
                    let text = self.opened_words(op, env);
                    self.notify.update(op, &text);
                }
                Err(Unpublished::Retry(why)) => return Err(why),
                Err(Unpublished::Wait(after, why)) => {
                    self.say_wait(op, wait, &why);
                    return Ok(Next::Wait(after));
                }
                Err(Unpublished::Fatal(why)) => {
                    self.pr_failed(op, why).map_err(words)?;
                    return Ok(Next::Done);
                }
            },
            State::PrOpened { .. } => {}
            State::Merged { .. } => return Ok(Next::Follow),
            _ => return Ok(Next::Done),
        }
        let number = op.pr.as_ref().map_or(0, |p| p.number);
        if wait.watched != number {
            forge.watch(number, self.runner.waker(op.id));
            wait.watched = number;
        }
        self.judge_pr(forge, op, &policy, env, wait)
    }

    /// The forge asked hoist to wait: said once per wait in the thread.
    fn say_wait(&self, op: &Operation, wait: &mut PrWait, why: &str) {
        tracing::info!(op = op.id, %why, "forge rate limit");
        if self.pr_said.once(wait.op, "rate-limited") {
            self.notify.update(op, &format!("#{}: {why}", op.id));
        }
    }
}
