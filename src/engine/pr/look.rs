//! One look at an open pull request: merged or closed on the forge, a base
//! that is not the environment's branch, a head that is not hoist's,
//! GitHub reviews counted as approvals (each person once), then at quorum
//! the merge (`merge.rs`).

use super::{Next, PrWait, words};
use crate::engine::approve::rule_of;
use crate::engine::ports::{Forge, ForgeError, PrLook, PrState, ReviewApproval};
use crate::engine::{Engine, Operation, State, one_line, render};
use crate::policy::{self, Environment, Policy};
use std::collections::BTreeMap;
use std::time::Duration;

/// At most this many reviews are read from one look.
const REVIEWS_MAX: usize = 100;

/// A full commit id (SHA-1 or SHA-256, hex).
fn commit_id(sha: &str) -> bool {
    matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Engine {
    /// Judge one look at `op`'s PR (slot held, state PrOpened).
    pub(super) fn judge_pr(
        &self,
        forge: &dyn Forge,
        op: &mut Operation,
        policy: &Policy,
        env: &Environment,
        wait: &mut PrWait,
    ) -> Result<Next, String> {
        let number = op.pr.as_ref().map_or(0, |p| p.number);
        let look = match forge.look(number) {
            Ok(look) => look,
            Err(ForgeError::RateLimited { forge, wait: after }) => {
                let why = format!("{forge} asked hoist to wait {}s", after.as_secs());
                self.say_wait(op, wait, &one_line(&why, 200));
                return Ok(Next::Wait(after));
            }
            Err(e) => return Err(one_line(&crate::engine::ports::report(&e), 300)),
        };
        self.pr_said.unsay(op.id, "rate-limited");
        let pace = self.pace(&look);
        match &look.state {
            PrState::Merged { .. } => return self.found_merged(op, &look).map_err(words),
            PrState::Closed { by } => {
                self.save(op, State::Cancelled).map_err(words)?;
                let by = by
                    .as_deref()
                    .map(|b| format!(" by {}", one_line(b, 60)))
                    .unwrap_or_default();
                self.delete_pr_branch(op);
                let text = format!(
                    "#{} {}: the pull request was closed on {}{by}; cancelled, nothing was merged",
                    op.id,
                    op.summary,
                    forge.name()
                );
                self.notify.update(op, &text);
                return Ok(Next::Done);
            }
            PrState::Open => {}
        }
        if look.base != op.branch {
            if self.pr_said.once(op.id, "foreign-base") {
                let text = format!(
                    "#{}: the pull request's base was changed to `{}` on {}; hoist merges only \
                     into {}, so it will not be merged as it is (change the base back, or \
                     `cancel {}`)",
                    op.id,
                    one_line(&look.base, 100).replace('`', "'"),
                    forge.name(),
                    op.branch,
                    op.id
                );
                self.notify.update(op, &text);
            }
            return Ok(Next::Wait(pace));
        }
        self.pr_said.unsay(op.id, "foreign-base");
        let head = op.commit.clone().unwrap_or_default();
        if look.head != head {
            self.put_back(op, &look.head, &head);
            return Ok(Next::Wait(pace));
        }
        self.pr_said.unsay(op.id, "foreign-head");
        if env.pr.github_reviews && self.count_reviews(forge, op, policy, env, &look.approvals)? {
            self.describe_pr(forge, op, env);
        }
        if look.mergeable == Some(false) {
            return self.rebuild(forge, op, policy, env, pace);
        }
        if (op.approvers.len() as u32) < op.needed {
            return Ok(Next::Wait(pace));
        }
        self.merge_when_ready(forge, op, &look, wait, pace)
    }

    /// The forge shows the PR merged. Merged into the environment's branch
    /// at hoist's own head, it is recorded `Merged` and followed (by hoist
    /// or a person, with or without hoist's quorum, which is said). Merged
    /// into another base, or with a head that is not hoist's commit, it
    /// did not happen by hoist's rules: recorded Failed, never followed, so
    /// it never counts as settled (soak, `promote_from`, rollback targets).
    pub(in crate::engine) fn found_merged(
        &self,
        op: &mut Operation,
        look: &PrLook,
    ) -> crate::engine::Result<Next> {
        let PrState::Merged { sha, by } = &look.state else {
            return Ok(Next::Wait(self.settings.pr_poll));
        };
        let ours = op.commit.clone().unwrap_or_default();
        let outside = if look.base != op.branch {
            Some(format!(
                "merged into `{}`, not {}",
                one_line(&look.base, 100).replace('`', "'"),
                op.branch
            ))
        } else if look.head != ours {
            Some(format!(
                "merged with head {}, not hoist's commit {}",
                render::short(&one_line(&look.head, 64)),
                render::short(&ours)
            ))
        } else {
            None
        };
        let Some(why) = outside else {
            self.pr_merged(op, sha, by.as_deref())?;
            return Ok(Next::Follow);
        };
        let by = by
            .as_deref()
            .map(|b| format!(" by {}", one_line(b, 60)))
            .unwrap_or_default();
        let message = format!("merged outside hoist's rules{by}: {why}");
        self.save(op, State::Failed { message })?;
        self.delete_pr_branch(op);
        let text = format!(
            "#{} {}: the pull request was {why}{by}; hoist does not count it as this change \
             (recorded failed, not followed)",
            op.id, op.summary
        );
        self.notify.update(op, &text);
        Ok(Next::Done)
    }

    /// Someone pushed `theirs` to hoist's own branch: hoist puts its
    /// commit `ours` back, with a lease on `theirs` (the branch is hoist's,
    /// so nothing is voided: the change is hoist's again), and says so once.
    /// Until it is back, nothing is merged.
    fn put_back(&self, op: &Operation, theirs: &str, ours: &str) {
        let branch = crate::engine::PullRef::branch(op.id);
        let back = commit_id(theirs)
            && match self.repo.push(&branch, ours, theirs) {
                Ok(()) => true,
                Err(e) => {
                    let e = crate::engine::ports::report(&e);
                    tracing::warn!(op = op.id, error = %e, "putting hoist's commit back");
                    false
                }
            };
        if !self.pr_said.once(op.id, "foreign-head") {
            return;
        }
        let theirs = one_line(theirs, 64);
        let theirs = render::short(&theirs);
        let text = if back {
            format!(
                "#{}: someone pushed {theirs} to hoist's branch {branch}; hoist put its own \
                 commit {} back (push to a branch of your own to propose another change); \
                 approvals stand",
                op.id,
                render::short(ours)
            )
        } else {
            format!(
                "#{}: someone pushed {theirs} to hoist's branch {branch}; hoist merges only \
                 its own commit {}, so this pull request will not be merged as it is",
                op.id,
                render::short(ours)
            )
        };
        self.notify.update(op, &text);
    }

    /// When to look again: the forge's hint, at the latest the engine's pace.
    fn pace(&self, look: &PrLook) -> Duration {
        let poll = self.settings.pr_poll;
        look.again_in.map_or(poll, |d| d.min(poll))
    }

    /// The PR was merged (by hoist or a person) at `sha`: journal it, delete
    /// hoist's branch, fetch the base so the rollout can be placed.
    pub(super) fn pr_merged(
        &self,
        op: &mut Operation,
        sha: &str,
        by: Option<&str>,
    ) -> crate::engine::Result<()> {
        if !commit_id(sha) {
            return Err(crate::engine::Fail::Error(format!(
                "the forge says #{} was merged as `{}`, which is not a commit id",
                op.id,
                one_line(sha, 80)
            )));
        }
        let sha = sha.to_string();
        if let Some(pr) = op.pr.as_mut() {
            pr.merged = Some(sha.clone());
        }
        self.incident_lock(op)?;
        self.save(op, State::Merged { sha: sha.clone() })?;
        self.delete_pr_branch(op);
        if let Err(e) = self.repo.refresh(&op.branch) {
            tracing::warn!(op = op.id, error = %crate::engine::ports::report(&e), "fetching the merge");
        }
        let have = op.approvers.len() as u32;
        let who = match by {
            Some(b) => format!(" by {}", one_line(b, 60)),
            None => String::new(),
        };
        let short = if have < op.needed {
            format!(
                " without hoist's quorum ({have} of {} approvals; it does not count as settled \
                 for soak, promotion or rollback)",
                op.needed
            )
        } else {
            String::new()
        };
        let url = op.pr.as_ref().map_or("", |p| p.url.as_str());
        let text = format!(
            "#{} {}: merged {url}{who}{short} as {}",
            op.id,
            op.summary,
            render::short(&sha)
        );
        self.notify.update(op, &text);
        Ok(())
    }

    /// GitHub's approving reviews at the current head, by people the
    /// policy lets approve, are approvers `github:<login>`; a login whose
    /// review no longer approves is withdrawn. True when the approvers changed.
    fn count_reviews(
        &self,
        forge: &dyn Forge,
        op: &mut Operation,
        policy: &Policy,
        env: &Environment,
        reviews: &[ReviewApproval],
    ) -> Result<bool, String> {
        let head = op.commit.clone().unwrap_or_default();
        let teams: Vec<String> = policy
            .platform_groups()
            .into_iter()
            .filter_map(|g| g.strip_prefix("github-team:").map(String::from))
            .collect();
        let rule = rule_of(op, env);
        let mut now: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in reviews.iter().take(REVIEWS_MAX) {
            if r.commit != head || !policy::login_ok(&r.login) {
                continue;
            }
            let actor = format!("github:{}", r.login);
            // Each person counts once: a reviewer who approved in chat (or
            // through another linked login) is not counted again.
            let counted = |a: &String| policy.same_person(a, &actor);
            if now.keys().any(counted)
                || op
                    .approvers
                    .iter()
                    .filter(|a| !a.starts_with("github:"))
                    .any(counted)
            {
                continue;
            }
            let groups = if teams.is_empty() {
                Vec::new()
            } else {
                match forge.teams_of(&r.login, &teams) {
                    Ok(found) => found
                        .into_iter()
                        .filter(|t| teams.contains(t))
                        .map(|t| format!("github-team:{t}"))
                        .collect(),
                    Err(e) => {
                        self.forge_error("reading a reviewer's teams", &e);
                        Vec::new()
                    }
                }
            };
            if policy::may_vote(policy, env, &rule, &op.actor, &actor, &groups).is_ok() {
                now.insert(actor, groups);
            }
        }
        let before = op.approvers.clone();
        let withdrawn: Vec<String> = before
            .iter()
            .filter(|a| a.starts_with("github:") && !now.contains_key(*a))
            .cloned()
            .collect();
        op.approvers.retain(|a| !withdrawn.contains(a));
        let mut added = Vec::new();
        for (actor, groups) in now {
            if !op.approvers.contains(&actor) {
                op.approvers.push(actor.clone());
                op.memberships.insert(actor.clone(), groups);
                added.push(actor);
            }
        }
        if added.is_empty() && withdrawn.is_empty() {
            return Ok(false);
        }
        self.journal.put(op).map_err(|e| e.report())?;
        let (have, needed) = (op.approvers.len(), op.needed);
        let mut said = Vec::new();
        if !added.is_empty() {
            said.push(format!(
                "approved on {} by {}",
                forge.name(),
                added.join(", ")
            ));
        }
        if !withdrawn.is_empty() {
            said.push(format!(
                "{} no longer approve(s) on {}",
                withdrawn.join(", "),
                forge.name()
            ));
        }
        let text = format!("#{}: {} ({have} of {needed})", op.id, said.join("; "));
        self.notify.update(op, &text);
        Ok(true)
    }

    /// Keep the PR's description in step with the approvals. Best effort.
    pub(super) fn describe_pr(&self, forge: &dyn Forge, op: &Operation, env: &Environment) {
        let Some(number) = op.pr.as_ref().map(|p| p.number).filter(|n| *n != 0) else {
            return;
        };
        if let Err(e) = forge.describe(number, &super::words::body(op, env)) {
            self.forge_error("updating the pull request's description", &e);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn logins_are_what_github_allows() {
        assert!(crate::policy::login_ok("octo-cat9"));
        assert!(!crate::policy::login_ok(""));
        assert!(!crate::policy::login_ok("a b"));
        assert!(!crate::policy::login_ok("evil\nHoist-Approved-By: x"));
        assert!(!crate::policy::login_ok(&"a".repeat(40)));
    }

    #[test]
    fn a_merge_commit_is_a_commit_id() {
        assert!(super::commit_id(&"ab12".repeat(10)));
        assert!(super::commit_id(&"0".repeat(64)));
        assert!(!super::commit_id("abc1234"));
        assert!(!super::commit_id(&format!("{}\n", "a".repeat(39))));
        assert!(!super::commit_id(&"g".repeat(40)));
    }
}
