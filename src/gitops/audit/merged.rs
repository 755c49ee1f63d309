//! Changes that reached a branch through a pull request's merge commit.
//! With `via: pull-request` hoist writes and signs its own commit `H` on
//! `hoist/<id>`, and GitHub merges the PR: with `merge`, the branch gets a
//! merge commit `M` (first parent the base's tip, second parent `H`) signed
//! by GitHub's key or not at all, never by hoist's. A first-parent walk
//! meets `M`, not `H`, so [`super::walk`] and [`crate::gitops::history`]
//! ask this module: when `M` is not itself good, has exactly two parents,
//! its second parent `H` carries a good signature by hoist's key and
//! hoist's `Hoist-Operation` trailer, and the merge brought exactly hoist's
//! change to a target's file (the file in `M` is the very blob `H` wrote,
//! and the file in `M`'s first parent is the one `H` was written on), the
//! change to that target is hoist's: shown as `M` (its id, time, author
//! and subject) with `H`'s trailers, verdict and signer, and `merged: H`.
//!
//! `M`'s own trailers are never trusted, even beside a good `H`: anyone
//! with merge rights writes the merge message (GitHub's "commit message"
//! box, the API's `commit_message`), so a `Hoist-Approved-By:` typed there
//! is nobody's word. Approvals given after the PR was opened are in `M`'s
//! message (hoist builds it) but not in `H`'s: for such a row git shows the
//! approvals as unknown, and hoist's journal has them.
//!
//! A file in `M` that differs from `H`'s (other changes merged into the same
//! file, a conflict resolved by hand) is out of band, like any edit nobody
//! signed; so is a merge of an old `H` onto a base whose file has moved on
//! since `H` was written (a rollback dressed in a past operation's words).
//! A merge of an `H` whose operation hoist never merged (denied, cancelled)
//! onto an unchanged file cannot be told from the real one in git: the
//! operation named is in hoist's journal, which says how it ended.
//!
//! `squash` and `rebase` merges write new commits that hoist never signed:
//! nothing in git proves hoist made them, so they stay out of band.

use crate::engine::ports::{RepoError, Touch};

/// The second parent of a merge of exactly two parents (a PR's merge);
/// `None` for any other commit (octopus merges included).
pub fn second_parent<'r>(
    repo: &'r gix::Repository,
    commit: &gix::Commit<'r>,
) -> Result<Option<gix::Commit<'r>>, RepoError> {
    let parents: Vec<gix::ObjectId> = commit.parent_ids().take(3).map(|p| p.detach()).collect();
    match parents.as_slice() {
        [_, head] => repo.find_commit(*head).map(Some).map_err(RepoError::git),
        _ => Ok(None),
    }
}

/// Does a commit's message make it hoist's change: a `Hoist-Operation`
/// trailer (read only once its signature is known good)?
pub fn is_operation(trailers: &[(String, String)]) -> bool {
    trailers.iter().any(|(k, _)| k == "Hoist-Operation")
}

/// The facts of merge `merge` through hoist's commit `head`: the merge's
/// id, time, author and subject; the head's trailers, verdict and signer.
pub fn through(merge: &Touch, head: &Touch) -> Touch {
    Touch {
        trailers: head.trailers.clone(),
        verdict: head.verdict,
        signer: head.signer.clone(),
        merged: Some(head.sha.clone()),
        ..merge.clone()
    }
}

#[cfg(test)]
#[path = "merged/tests.rs"]
mod tests;
