//! The engine's ports wrapped for [`Ops`]: each call goes to the real port
//! and what it shows (a journaled transition, a push turned down because the
//! branch moved, a rollout being followed, a forge call that failed) is
//! counted on the way.

use super::{Ops, lock};
use crate::engine::Operation;
use crate::engine::ports::{
    Cluster, ClusterError, Condition, ConfigRepo, DeploymentState, Draft, Forge, ForgeError,
    Journal, JournalError, Look, MergeMethod, Merged, Plan, PolicyTrust, PrLook, Pruned,
    PullRequest, RepoError, Revision, Sha, Wake, WatchId, WatchRequest,
};
use crate::policy::Target;
use hoist_commands::Version;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A port of the engine, observed for [`Ops`].
#[derive(Debug, Clone)]
pub struct Observed<P: ?Sized> {
    inner: Arc<P>,
    ops: Arc<crate::server::Metrics>,
}

impl<P: ?Sized> Observed<P> {
    pub fn new(inner: Arc<P>, metrics: Arc<crate::server::Metrics>) -> Self {
        Observed {
            inner,
            ops: metrics,
        }
    }

    fn ops(&self) -> &Ops {
        &self.ops.ops
    }

    /// Count a failure by its kind (`hoist_errors_total{kind}`).
    fn counted<T, E: Kinded>(&self, result: Result<T, E>) -> Result<T, E> {
        // A push that lost the race is re-planned, not a failure (it has
        // its own counter, hoist_push_retries_total).
        if let Err(e) = &result
            && e.kind() != "repo_stale"
        {
            self.ops().errors.inc(e.kind());
        }
        result
    }
}

/// A port's error, with its stable label.
trait Kinded {
    fn kind(&self) -> &'static str;
}

impl Kinded for RepoError {
    fn kind(&self) -> &'static str {
        RepoError::kind(self)
    }
}

impl Kinded for JournalError {
    fn kind(&self) -> &'static str {
        JournalError::kind(self)
    }
}

impl Kinded for ClusterError {
    fn kind(&self) -> &'static str {
        ClusterError::kind(self)
    }
}

impl Kinded for ForgeError {
    fn kind(&self) -> &'static str {
        ForgeError::kind(self)
    }
}

impl Observed<dyn Journal> {
    /// How many of `id`'s transitions the journal held before this write.
    fn before(&self, id: u64) -> usize {
        if let Some(n) = lock(&self.ops().seen).get(&id) {
            return *n;
        }
        match self.inner.get(id) {
            Ok(Some(op)) => op.transitions.len(),
            _ => 0,
        }
    }
}

impl Journal for Observed<dyn Journal> {
    fn put(&self, op: &Operation) -> Result<(), JournalError> {
        let before = self.before(op.id);
        self.counted(self.inner.put(op))?;
        self.ops().journaled(op, before);
        Ok(())
    }

    fn create(&self, op: &mut Operation) -> Result<(), JournalError> {
        self.counted(self.inner.create(op))?;
        self.ops().journaled(op, 0);
        Ok(())
    }

    fn put_all(&self, ops: &[&Operation]) -> Result<(), JournalError> {
        let before: Vec<usize> = ops.iter().map(|op| self.before(op.id)).collect();
        self.counted(self.inner.put_all(ops))?;
        for (op, before) in ops.iter().zip(before) {
            self.ops().journaled(op, before);
        }
        Ok(())
    }

    fn get(&self, id: u64) -> Result<Option<Operation>, JournalError> {
        self.counted(self.inner.get(id))
    }
    fn list(&self) -> Result<Vec<Operation>, JournalError> {
        self.counted(self.inner.list())
    }
    fn unfinished(&self) -> Result<Vec<Operation>, JournalError> {
        self.counted(self.inner.unfinished())
    }
    fn of_app(&self, env: &str, app: &str) -> Result<Vec<Operation>, JournalError> {
        self.counted(self.inner.of_app(env, app))
    }
    fn latest(&self, env: &str, app: &str) -> Result<Option<Operation>, JournalError> {
        self.counted(self.inner.latest(env, app))
    }
    fn of_version(
        &self,
        env: &str,
        app: &str,
        version: &str,
    ) -> Result<Vec<Operation>, JournalError> {
        self.counted(self.inner.of_version(env, app, version))
    }
    fn locks(&self) -> Result<Vec<crate::engine::Lock>, JournalError> {
        self.counted(self.inner.locks())
    }
    fn put_lock(&self, lock: &crate::engine::Lock) -> Result<(), JournalError> {
        self.counted(self.inner.put_lock(lock))
    }
    fn remove_lock(
        &self,
        env: &str,
        app: Option<&str>,
    ) -> Result<Option<crate::engine::Lock>, JournalError> {
        self.counted(self.inner.remove_lock(env, app))
    }
    fn first_seen(&self, key: &str, now: i64) -> Result<bool, JournalError> {
        self.counted(self.inner.first_seen(key, now))
    }
    fn remember(&self, key: &str, value: &str) -> Result<(), JournalError> {
        self.counted(self.inner.remember(key, value))
    }
    fn recall(&self, key: &str) -> Result<Option<String>, JournalError> {
        self.counted(self.inner.recall(key))
    }
    fn prune(&self, before: i64) -> Result<Pruned, JournalError> {
        self.counted(self.inner.prune(before))
    }
}

impl ConfigRepo for Observed<dyn ConfigRepo> {
    fn push(&self, branch: &str, commit: &str, expected: &str) -> Result<(), RepoError> {
        let pushed = self.counted(self.inner.push(branch, commit, expected));
        if let Err(RepoError::Stale(_)) = &pushed {
            self.ops().push_retries.fetch_add(1, Ordering::Relaxed);
        }
        pushed
    }

    fn default_branch(&self) -> Result<String, RepoError> {
        self.counted(self.inner.default_branch())
    }
    fn refresh(&self, branch: &str) -> Result<Sha, RepoError> {
        self.counted(self.inner.refresh(branch))
    }
    fn known_tip(&self, branch: &str) -> Result<Sha, RepoError> {
        self.counted(self.inner.known_tip(branch))
    }
    fn read_file(&self, at: &str, path: &str) -> Result<Option<Vec<u8>>, RepoError> {
        self.counted(self.inner.read_file(at, path))
    }
    fn read_value(&self, at: &str, target: &Target) -> Result<Option<String>, RepoError> {
        self.counted(self.inner.read_value(at, target))
    }
    fn list_files(&self, at: &str, dir: &str) -> Result<Vec<String>, RepoError> {
        self.counted(self.inner.list_files(at, dir))
    }
    fn plan(
        &self,
        branch: &str,
        base: &str,
        edits: &[(Target, Version)],
    ) -> Result<Plan, RepoError> {
        self.counted(self.inner.plan(branch, base, edits))
    }
    fn commit(&self, plan: &Plan, message: &str, sign: bool) -> Result<Sha, RepoError> {
        self.counted(self.inner.commit(plan, message, sign))
    }
    fn can_sign(&self) -> bool {
        self.inner.can_sign()
    }
    fn contains(&self, tip: &str, commit: &str) -> Result<bool, RepoError> {
        self.counted(self.inner.contains(tip, commit))
    }
    fn history(
        &self,
        tip: &str,
        target: &Target,
        limit: usize,
    ) -> Result<Vec<Revision>, RepoError> {
        self.counted(self.inner.history(tip, target, limit))
    }
    fn history_all(
        &self,
        tip: &str,
        targets: &[Target],
        since: Option<i64>,
    ) -> Result<Vec<crate::engine::ports::Touch>, RepoError> {
        self.counted(self.inner.history_all(tip, targets, since))
    }
    fn trusted_policy(&self, tip: &str) -> Result<Option<PolicyTrust>, RepoError> {
        self.counted(self.inner.trusted_policy(tip))
    }
}

impl Cluster for Observed<dyn Cluster> {
    fn watch(&self, request: &WatchRequest, wake: Wake) -> WatchId {
        self.ops().following.fetch_add(1, Ordering::Relaxed);
        self.inner.watch(request, wake)
    }
    fn look(&self, id: WatchId, contains: &dyn Fn(&str) -> bool) -> Look {
        self.inner.look(id, contains)
    }
    fn unwatch(&self, id: WatchId) {
        self.ops().following.fetch_sub(1, Ordering::Relaxed);
        self.inner.unwatch(id);
    }
    fn condition(&self, request: &WatchRequest) -> Condition {
        self.inner.condition(request)
    }
    fn label(&self, request: &WatchRequest) -> String {
        self.inner.label(request)
    }
    fn follows(&self, request: &WatchRequest) -> bool {
        self.inner.follows(request)
    }
    fn poke(&self, request: &WatchRequest) -> Result<(), ClusterError> {
        self.counted(self.inner.poke(request))
    }
}

impl Forge for Observed<dyn Forge> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn open(&self, draft: &Draft) -> Result<PullRequest, ForgeError> {
        self.counted(self.inner.open(draft))
    }
    fn look(&self, number: u64) -> Result<PrLook, ForgeError> {
        self.counted(self.inner.look(number))
    }
    fn describe(&self, number: u64, body: &str) -> Result<(), ForgeError> {
        self.counted(self.inner.describe(number, body))
    }
    fn merge(
        &self,
        number: u64,
        head: &str,
        method: MergeMethod,
        title: &str,
        message: &str,
    ) -> Result<Merged, ForgeError> {
        self.counted(self.inner.merge(number, head, method, title, message))
    }
    fn close(&self, number: u64, comment: &str) -> Result<(), ForgeError> {
        self.counted(self.inner.close(number, comment))
    }
    fn delete_branch(&self, branch: &str) -> Result<(), ForgeError> {
        self.counted(self.inner.delete_branch(branch))
    }
    fn deployment(&self, env: &str, sha: &str, description: &str) -> Result<u64, ForgeError> {
        self.counted(self.inner.deployment(env, sha, description))
    }
    fn deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<(), ForgeError> {
        self.counted(self.inner.deployment_status(id, state, description))
    }
    fn teams_of(&self, login: &str, teams: &[String]) -> Result<Vec<String>, ForgeError> {
        self.counted(self.inner.teams_of(login, teams))
    }
    fn watch(&self, number: u64, wake: Wake) {
        self.inner.watch(number, wake);
    }
    fn unwatch(&self, number: u64) {
        self.inner.unwatch(number);
    }
}
