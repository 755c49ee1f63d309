//! Landing commits on a branch. Writes to one branch are serialized in the
//! process by a lane: whoever holds the lane's writer lock lands every job
//! queued behind it too, as a chain of commits (one signed commit per
//! operation, each on top of the previous) published by a single push, so a
//! burst of requests costs a few pushes, not one per operation. The push is a
//! compare-and-swap against the tip the chain was planned on. When the branch
//! moved (someone else pushed), the branch is fetched and the chain re-planned
//! and re-signed on the new tip: at once the first time (the branch simply
//! moved), then with backoff (1 s x 1.5, jittered, capped at 30 s by default)
//! while the remote keeps moving, one commit at a time until a push succeeds
//! (a fixed batch of 19 commits lost 30 races in a row to a writer pushing
//! every 50 ms in the concurrency test). A foreign commit is never lost:
//! every commit hoist pushes descends from the tip it was told of.

use super::ports::{Plan, RepoError};
use super::{Engine, Fail, Operation, POLICY_FILE, State, Target, checkpoint};
use hoist_commands::Version;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How a job left the lane.
#[derive(Debug)]
pub(super) enum Landed {
    /// The commit is on the remote and recorded as Pushed.
    Pushed,
    /// The branch already holds the requested values: nothing to commit.
    Unchanged,
    /// The change is no longer the approved one: approvals must be taken again.
    Voided(Plan),
    /// Git, the remote or signing failed; nothing of this job was published.
    Failed(RepoError),
    /// `hoist.yaml` changed under it and the new rules do not allow it.
    Refused(String),
}

/// Retrying a push the remote rejected because the branch moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// Push attempts in all (the first included).
    pub attempts: u32,
    /// The wait before the third attempt (the second is immediate).
    pub first: Duration,
    pub factor: f64,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 10,
            first: Duration::from_secs(1),
            factor: 1.5,
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait after `failed` consecutive rejections: none after the first,
    /// then `first * factor^(n-2)` capped, scaled by a random 50-100 % so
    /// writers that collided do not collide again in step.
    pub fn delay(&self, failed: u32) -> Duration {
        if failed < 2 {
            return Duration::ZERO;
        }
        let exp = self.factor.powi(failed as i32 - 2);
        let base = self.first.as_secs_f64() * exp;
        let capped = base.min(self.cap.as_secs_f64());
        Duration::from_secs_f64(capped * (0.5 + 0.5 * unit_random()))
    }
}

/// A number in [0, 1) from the std hasher's per-instance random keys.
fn unit_random() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// What a job writes: targets' values, or an environment's files.
#[derive(Debug)]
pub(super) enum Work {
    Edits(Vec<(Target, Version)>),
    Env(super::envs::plan::EnvWork),
}

struct Job {
    op: Operation,
    work: Work,
    /// Pushes of this job the remote rejected because the branch moved.
    tries: u32,
    /// The commit whose `hoist.yaml` allowed this change.
    policy_tip: String,
    landed: Option<Result<Landed, Fail>>,
}

#[derive(Default)]
struct Lane {
    queue: Mutex<Vec<Arc<Mutex<Job>>>>,
    writer: Mutex<()>,
}

/// One lane per branch.
#[derive(Default)]
pub(super) struct Lanes(Mutex<HashMap<String, Arc<Lane>>>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Lanes {
    fn lane(&self, branch: &str) -> Arc<Lane> {
        lock(&self.0).entry(branch.to_string()).or_default().clone()
    }
}

impl Engine {
    /// Commit and push `op`'s change (edits under the current policy),
    /// together with whatever else is waiting for the same branch. `op` comes
    /// back updated (commit, state, plan it was bound to).
    pub(super) fn land(
        &self,
        op: &mut Operation,
        work: Work,
        policy_tip: &str,
    ) -> Result<Landed, Fail> {
        let lane = self.lanes.lane(&op.branch);
        let job = Arc::new(Mutex::new(Job {
            op: op.clone(),
            work,
            tries: 0,
            policy_tip: policy_tip.to_string(),
            landed: None,
        }));
        lock(&lane.queue).push(job.clone());
        {
            let _writer = lock(&lane.writer);
            // A leader that took the queue before us lands our job before it
            // lets go of the writer lock; otherwise the job is still queued.
            if lock(&job).landed.is_none() {
                let batch = std::mem::take(&mut *lock(&lane.queue));
                self.land_batch(&op.branch, &batch);
            }
        }
        let mut job = lock(&job);
        *op = job.op.clone();
        job.landed
            .take()
            .unwrap_or_else(|| Err(Fail::Error("the commit was not landed".into())))
    }

    /// Move every job's operation to `state` in one journal write.
    fn record(
        &self,
        jobs: &[Arc<Mutex<Job>>],
        state: impl Fn(&Operation) -> State,
    ) -> Result<(), String> {
        let mut guards: Vec<MutexGuard<'_, Job>> = jobs.iter().map(|j| lock(j)).collect();
        let mut ops: Vec<&mut Operation> = guards.iter_mut().map(|g| &mut g.op).collect();
        self.save_all(&mut ops, state).map_err(text)
    }

    /// Land `batch` in rounds. A round chains up to `limit` commits on the
    /// tip and pushes the last one. After a success the next round builds on
    /// the commit just pushed (no fetch) and may chain twice as many; after a
    /// rejection the branch is fetched and the next round is a single commit,
    /// so the window between reading the tip and updating it is as short as
    /// it gets while the remote is busy (halving instead let the backoff grow
    /// to seconds before the chain was short enough to win: 100 deploys took
    /// 12 s beside a writer pushing every 50 ms, against ~1 s now). Each job
    /// has `attempts` pushes.
    fn land_batch(&self, branch: &str, batch: &[Arc<Mutex<Job>>]) {
        let settle = |jobs: &[Arc<Mutex<Job>>], outcome: &dyn Fn() -> Result<Landed, Fail>| {
            for j in jobs {
                lock(j).landed.get_or_insert_with(outcome);
            }
        };
        // A batch of one is the caller's own operation, whose span is current;
        // a chain of several is the lane's work, logged apart from the
        // leader's operation (each commit in its own operation's span).
        let _lane = (batch.len() > 1).then(|| {
            let ops: Vec<String> = batch.iter().map(|j| lock(j).op.id.to_string()).collect();
            tracing::error_span!(parent: None, "lane", %branch, ops = %ops.join(",")).entered()
        });
        let sign = self.repo.can_sign();
        let mut queue: Vec<Arc<Mutex<Job>>> = batch.to_vec();
        let mut tip = match self.repo.known_tip(branch) {
            Ok(t) => t,
            Err(e) => return settle(&queue, &|| Ok(Landed::Failed(e.clone()))),
        };
        let mut limit = queue.len().max(1);
        let mut rejected = 0;
        while !queue.is_empty() {
            let (chained, head) = self.chain(branch, &tip, &mut queue, limit, sign);
            if chained.is_empty() {
                continue;
            }
            // One durable write records every commit of the chain before any is pushed.
            if let Err(e) = self.record(&chained, |op| State::Committed {
                sha: op.commit.clone().unwrap_or_default(),
            }) {
                settle(&chained, &|| Err(Fail::Error(e.clone())));
                continue;
            }
            tracing::info!(%branch, commits = chained.len(), %head, "pushing");
            match self.repo.push(branch, &head, &tip) {
                Ok(()) => {
                    checkpoint("pushed, not yet recorded");
                    let recorded = chained
                        .iter()
                        .try_for_each(|job| self.incident_lock(&lock(job).op).map_err(text))
                        .and_then(|()| {
                            self.record(&chained, |op| State::Pushed {
                                sha: op.commit.clone().unwrap_or_default(),
                            })
                        });
                    match recorded {
                        Ok(()) => settle(&chained, &|| Ok(Landed::Pushed)),
                        Err(e) => settle(&chained, &|| Err(Fail::Error(e.clone()))),
                    }
                    tip = head;
                    rejected = 0;
                    limit = limit.saturating_mul(2);
                }
                Err(RepoError::Stale(why)) => {
                    rejected += 1;
                    limit = 1;
                    let mut retry = Vec::new();
                    for job in &chained {
                        let mut j = lock(job);
                        j.tries += 1;
                        if j.tries >= self.settings.push.attempts {
                            let e = RepoError::Stale(format!(
                                "{why} (gave up after {} attempts)",
                                j.tries
                            ));
                            j.landed = Some(Ok(Landed::Failed(e)));
                        } else {
                            retry.push(job.clone());
                        }
                    }
                    retry.append(&mut queue);
                    queue = retry;
                    if queue.is_empty() {
                        break;
                    }
                    let wait = self.settings.push.delay(rejected);
                    tracing::info!(%branch, rejected, ?wait, %why, "branch moved; re-planning");
                    std::thread::sleep(wait);
                    tip = match self.repo.refresh(branch) {
                        Ok(t) => t,
                        Err(e) => return settle(&queue, &|| Ok(Landed::Failed(e.clone()))),
                    };
                }
                Err(e) => settle(&chained, &|| Ok(Landed::Failed(e.clone()))),
            }
        }
    }

    /// `hoist.yaml` at `tip` differs from the one the job was decided on:
    /// decide it again (requester, path, gates, soak, holds, approvals) and
    /// take its targets from the new rules. The reason when it may not go on.
    fn decide_again(&self, j: &mut Job, tip: &str) -> Result<(), String> {
        let words = |f: Fail| match f {
            Fail::Refused(m) | Fail::Error(m) => m,
        };
        let policy = self.policy_at(tip).map_err(words)?;
        let policy = self.rules_for(&j.op, &policy).map_err(words)?;
        let env = super::env_of(&policy, &super::journal_name(&j.op.env).map_err(words)?)
            .map_err(words)?;
        if j.op.on_environment() {
            // Who may destroy or extend was the owner's or an approver's
            // call; a creation is a deploy to the new environment.
            if j.op.verb == "env-create" {
                self.still_allowed(&j.op, &policy, env)?;
                self.approvals_hold(&mut j.op, &policy, env)?;
            }
            j.work = Work::Env(self.env_work(&j.op, &policy).map_err(words)?);
            tracing::info!(op = j.op.id, %tip, "hoist.yaml changed; decided again under the new rules");
            return Ok(());
        }
        self.still_allowed(&j.op, &policy, env)?;
        self.approvals_hold(&mut j.op, &policy, env)?;
        if j.op.break_glass.is_none() {
            let apps: Vec<hoist_commands::Name> =
                j.op.changes
                    .iter()
                    .filter_map(|c| c.app.parse().ok())
                    .collect();
            self.check_held(env, &apps, &j.op.actor).map_err(words)?;
        }
        j.work = Work::Edits(self.edits_of(&j.op, &policy).map_err(words)?);
        tracing::info!(op = j.op.id, %tip, "hoist.yaml changed; decided again under the new rules");
        Ok(())
    }

    /// A lock someone else took on one of `op`'s apps since it was decided
    /// (not on the break-glass path): the refusal's words. Read from the
    /// journal just before the commit, so a lock taken while a change waits
    /// in the lane holds it.
    fn locked_against(&self, op: &Operation) -> Option<String> {
        if op.break_glass.is_some() {
            return None;
        }
        let now = self.clock.now();
        let locks = self.live_locks().ok()?;
        let lock = locks.iter().find(|l| {
            l.holder != op.actor && op.changes.iter().any(|c| l.covers(&op.env, &c.app))
        })?;
        Some(format!(
            "{} was locked while this change waited to be written: {}; nothing was written",
            lock.scope(),
            lock.describe(now)
        ))
    }

    /// Take jobs from the front of `queue` and commit them one on top of the
    /// other, starting at `tip`, until `limit` commits are made. Jobs that
    /// need no commit (already set, approvals void, plan failed) are settled
    /// on the way. Returns the chained jobs and the last commit.
    fn chain(
        &self,
        branch: &str,
        tip: &str,
        queue: &mut Vec<Arc<Mutex<Job>>>,
        limit: usize,
        sign: bool,
    ) -> (Vec<Arc<Mutex<Job>>>, String) {
        let mut parent = tip.to_string();
        let mut chained = Vec::new();
        // Our own commits never touch hoist.yaml, so the rules at `tip` hold for
        // the whole chain; each tip a job was decided on is compared once.
        let mut policy_now = None;
        let mut same_rules: HashMap<String, bool> = HashMap::new();
        let in_lane = tracing::Span::current()
            .metadata()
            .is_some_and(|m| m.name() == "lane");
        while chained.len() < limit && !queue.is_empty() {
            let job = queue.remove(0);
            let mut guard = lock(&job);
            let j = &mut *guard;
            let _op = in_lane.then(|| super::trail::op_span(&j.op).entered());
            if j.policy_tip != tip {
                let same = *same_rules.entry(j.policy_tip.clone()).or_insert_with(|| {
                    let now = policy_now
                        .get_or_insert_with(|| self.repo.read_file(tip, POLICY_FILE).ok());
                    let then = self.repo.read_file(&j.policy_tip, POLICY_FILE).ok();
                    then.is_some() && then == *now
                });
                if !same {
                    // Decided again under the rules at `tip`, not bounced.
                    match self.decide_again(j, tip) {
                        Ok(()) => j.policy_tip = tip.to_string(),
                        Err(why) => {
                            j.landed = Some(Ok(Landed::Refused(format!(
                                "{POLICY_FILE} changed on {branch} while this change was being \
                                 written, and under the new rules {why}; nothing was written"
                            ))));
                            continue;
                        }
                    }
                }
            }
            if let Some(why) = self.locked_against(&j.op) {
                j.landed = Some(Ok(Landed::Refused(why)));
                continue;
            }
            if let Work::Env(super::envs::plan::EnvWork::Create { copies, .. }) = &j.work
                && let Some(change) = j.op.environment.as_mut()
            {
                change.dirs = copies.iter().map(|c| c.to.clone()).collect();
            }
            let planned = match &j.work {
                Work::Edits(edits) => self.repo.plan(branch, &parent, edits),
                Work::Env(work) => self.env_plan(branch, &parent, work).map(|(plan, changes)| {
                    if let Some(changes) = changes {
                        j.op.changes = changes;
                    }
                    plan
                }),
            };
            let plan = match planned {
                Ok(p) => p,
                // The repo no longer allows it (the name taken meanwhile).
                Err(RepoError::Target(why)) if j.op.on_environment() => {
                    j.landed = Some(Ok(Landed::Refused(why)));
                    continue;
                }
                Err(e) => {
                    j.landed = Some(Ok(Landed::Failed(e)));
                    continue;
                }
            };
            if plan.is_noop() {
                j.landed = Some(Ok(Landed::Unchanged));
                continue;
            }
            if !self.rebind(&mut j.op, &plan) {
                j.landed = Some(Ok(Landed::Voided(plan)));
                continue;
            }
            match self
                .repo
                .commit(&plan, &super::ordered::commit_message(&j.op), sign)
            {
                Ok(sha) => {
                    checkpoint("commit written");
                    j.op.commit = Some(sha.clone());
                    parent = sha;
                    drop(guard);
                    chained.push(job);
                }
                Err(e) => j.landed = Some(Ok(Landed::Failed(e))),
            }
        }
        (chained, parent)
    }
}

/// A failure's message (journal and lock errors reach every job of a chain).
fn text(f: Fail) -> String {
    match f {
        Fail::Error(m) | Fail::Refused(m) => m,
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn backoff_is_immediate_once_then_grows_by_half_jittered_and_capped() {
        let b = Backoff::default();
        assert_eq!(
            b.delay(1),
            Duration::ZERO,
            "the branch simply moved: re-plan at once"
        );
        for _ in 0..200 {
            let d2 = b.delay(2).as_secs_f64();
            assert!((0.5..=1.0).contains(&d2), "{d2}");
            let d3 = b.delay(3).as_secs_f64();
            assert!((0.75..=1.5).contains(&d3), "{d3}");
            let d20 = b.delay(20).as_secs_f64();
            assert!((15.0..=30.0).contains(&d20), "{d20}");
        }
        let spread: std::collections::HashSet<u128> =
            (0..50).map(|_| b.delay(4).as_micros()).collect();
        assert!(spread.len() > 10, "jitter varies the waits");
    }
}
