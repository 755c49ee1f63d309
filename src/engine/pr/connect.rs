//! The engine's forge: connected once after the engine is built (so every
//! place that builds an engine without one stays as it is), and the forge
//! calls nothing waits on (closing a PR, deleting hoist's branch, recording
//! deployments): their failures are logged and counted, never fatal.

use crate::engine::ports::{Forge, ForgeError};
use crate::engine::{Engine, Operation, PullRef, one_line};
use std::sync::Arc;

impl Engine {
    /// Connect the config repo's host: `via: pull-request` environments
    /// change through pull requests from now on, and rollouts hoist follows
    /// are recorded as deployments. Set once; a second call changes nothing
    /// and says so (false).
    pub fn set_forge(&self, forge: Arc<dyn Forge>) -> bool {
        self.forge.set(forge).is_ok()
    }

    /// The forge, if one is connected.
    pub(in crate::engine) fn forge(&self) -> Option<&Arc<dyn Forge>> {
        self.forge.get()
    }

    /// Close `op`'s PR with `comment` and delete its branch. Best effort:
    /// why, in words, when the forge could not.
    pub(in crate::engine) fn close_pr(&self, op: &Operation, comment: &str) -> Option<String> {
        let (forge, number) = (self.forge()?, op.pr.as_ref()?.number);
        if number == 0 {
            return None;
        }
        // The comment carries chat text (a deny's or cancel's reason).
        let closed = forge.close(number, &super::words::prose(comment));
        self.delete_pr_branch(op);
        closed.err().map(|e| {
            self.forge_error("closing the pull request", &e);
            one_line(&e.to_string(), 200)
        })
    }

    /// Delete `hoist/<id>`, best effort.
    pub(super) fn delete_pr_branch(&self, op: &Operation) {
        if let Some(forge) = self.forge()
            && let Err(e) = forge.delete_branch(&PullRef::branch(op.id))
        {
            self.forge_error("deleting hoist's branch", &e);
        }
    }

    /// A forge failure nothing waits on: logged and counted.
    pub(super) fn forge_error(&self, doing: &str, e: &ForgeError) {
        self.forge_errors
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(kind = e.kind(), error = %crate::engine::ports::report(e), "{doing}");
    }

    /// How many best-effort forge calls failed (deployments, branch
    /// deletions, descriptions) since start.
    pub fn forge_errors(&self) -> u64 {
        self.forge_errors.load(std::sync::atomic::Ordering::Relaxed)
    }
}
