//! The audit's walk: every first-parent commit from a tip that changed one
//! of a set of targets' files, newest first, with the target's value before
//! and after, the message's trailers and the signature's verdict. Cheap where
//! nothing changed: trees are compared by id and each (tree, name) step of a
//! path is looked up once for the whole walk, so a subtree no commit touched
//! is decoded once; blobs are read and parsed only where a file changed, once
//! per (blob, target); signatures are checked only on commits that touched a
//! target file. [`touches`] (shared with [`super::memory`]) turns one
//! commit's changes into rows: one per target whose value changed, and one
//! per target whose file changed without its value changing, unless a
//! target in the same file changed through hoist in that commit (hoist's
//! edit of a neighbour is not an out-of-band edit). A pull request's merge
//! commit is judged through hoist's signed commit it merged: see [`merged`].

pub mod merged;
pub mod report;

use super::edit;
use super::history::trailers;
use crate::engine::ports::{RepoError, Touch, Verdict};
use crate::policy::Target;
use gix::ObjectId;
use std::collections::HashMap;

/// Judges a commit's signature: the signed payload, the armored signature
/// (`None`: unsigned) and the committer time give a verdict and who signed.
pub type Judge<'a> = &'a dyn Fn(&[u8], Option<&str>, i64) -> (Verdict, Option<String>);

/// Forget the decoded trees beyond this many (memory stays bounded on any
/// history; the walk only slows down).
const MAX_MEMO: usize = 200_000;

fn err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> RepoError {
    RepoError::git(e)
}

/// A [`Keyring`](super::sign::Keyring)'s verdict as the engine's port says
/// it, with who signed when it is known.
pub fn verdict(v: super::sign::Verdict) -> (Verdict, Option<String>) {
    use super::sign::Verdict as Sig;
    match v {
        Sig::Good(who) => (Verdict::Good, Some(who)),
        Sig::Bad => (Verdict::Bad, None),
        Sig::UnknownKey => (Verdict::UnknownKey, None),
        Sig::Unsigned => (Verdict::Unsigned, None),
    }
}

/// One target's file changed in a commit: the target, its value before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub target: usize,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The rows of one commit (see the module docs). `commit` carries
/// everything but `target`, `old` and `new`.
pub fn touches(commit: &Touch, changed: Vec<Changed>, targets: &[Target]) -> Vec<Touch> {
    let row = |c: Changed| Touch {
        target: c.target,
        old: c.old,
        new: c.new,
        ..commit.clone()
    };
    let (values, edits): (Vec<Changed>, Vec<Changed>) =
        changed.into_iter().partition(|c| c.old != c.new);
    let values: Vec<Touch> = values.into_iter().map(row).collect();
    let by_hoist = |file: &str| {
        values
            .iter()
            .any(|t| t.via_hoist() && targets[t.target].file == file)
    };
    let edits: Vec<Touch> = edits
        .into_iter()
        .filter(|c| !by_hoist(&targets[c.target].file))
        .map(row)
        .collect();
    let mut out = values;
    out.extend(edits);
    out.sort_by_key(|t| t.target);
    out
}

/// What a name holds in a tree, as far as a path lookup cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Tree(ObjectId),
    Blob(ObjectId),
    /// Absent, or a link or a submodule (which a deploy cannot read either).
    Nothing,
}

/// Trees decoded once each (keyed by id, so a subtree no commit touched is
/// read once for the whole walk), keeping only what the targets' path
/// segments hold in them.
struct Trees {
    /// Tree -> what each of `names` holds in it.
    memo: gix::hashtable::HashMap<ObjectId, Vec<Held>>,
    /// Every path segment of every target file.
    names: Vec<String>,
    /// Each file's path as indexes into `names`.
    paths: Vec<Vec<usize>>,
}

impl Trees {
    fn new(files: &[&str]) -> Trees {
        let mut names: Vec<String> = files
            .iter()
            .flat_map(|f| f.split('/'))
            .map(String::from)
            .collect();
        names.sort_unstable();
        names.dedup();
        let paths = files
            .iter()
            .map(|f| {
                f.split('/')
                    .map(|seg| names.binary_search_by(|n| n.as_str().cmp(seg)).unwrap_or(0))
                    .collect()
            })
            .collect();
        Trees {
            memo: Default::default(),
            names,
            paths,
        }
    }

    /// What `tree` holds under each name, decoding it the first time.
    fn held(&mut self, repo: &gix::Repository, tree: ObjectId) -> Result<&[Held], RepoError> {
        if !self.memo.contains_key(&tree) {
            if self.memo.len() >= MAX_MEMO {
                self.memo.clear();
            }
            let object = repo.find_tree(tree).map_err(err)?;
            let decoded = object.decode().map_err(err)?;
            let mut held = vec![Held::Nothing; self.names.len()];
            for e in &decoded.entries {
                let Ok(i) = self
                    .names
                    .binary_search_by(|n| n.as_bytes().cmp(e.filename.as_ref()))
                else {
                    continue;
                };
                held[i] = if e.mode.is_tree() {
                    Held::Tree(e.oid.to_owned())
                } else if e.mode.is_blob() {
                    Held::Blob(e.oid.to_owned())
                } else {
                    Held::Nothing
                };
            }
            self.memo.insert(tree, held);
        }
        Ok(self.memo.get(&tree).map(Vec::as_slice).unwrap_or_default())
    }

    /// The blob of file `file` (an index into the files) under the tree
    /// `root`; `None` when absent or not a file.
    fn blob(
        &mut self,
        repo: &gix::Repository,
        root: ObjectId,
        file: usize,
    ) -> Result<Option<ObjectId>, RepoError> {
        let mut at = root;
        let steps = self.paths[file].clone();
        for (k, &name) in steps.iter().enumerate() {
            let last = k + 1 == steps.len();
            match self
                .held(repo, at)?
                .get(name)
                .copied()
                .unwrap_or(Held::Nothing)
            {
                Held::Tree(id) if !last => at = id,
                Held::Blob(id) if last => return Ok(Some(id)),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
}

/// Values read from blobs, once per (blob, target).
#[derive(Default)]
struct Values(HashMap<(ObjectId, usize), Option<String>>);

impl Values {
    fn get(
        &mut self,
        repo: &gix::Repository,
        blob: Option<ObjectId>,
        index: usize,
        target: &Target,
    ) -> Option<String> {
        let blob = blob?;
        self.0
            .entry((blob, index))
            .or_insert_with(|| {
                let data = repo.find_object(blob).ok()?.detach().data;
                let text = String::from_utf8(data).ok()?;
                edit::read_value(&text, &target.locator).ok().flatten()
            })
            .clone()
    }
}

/// The blob of each file (by index into `files`) in the tree `root`.
fn blobs(
    repo: &gix::Repository,
    trees: &mut Trees,
    root: Option<ObjectId>,
    files: &[&str],
) -> Result<Vec<Option<ObjectId>>, RepoError> {
    let Some(root) = root else {
        return Ok(vec![None; files.len()]);
    };
    (0..files.len())
        .map(|f| trees.blob(repo, root, f))
        .collect()
}

/// The commit's own fields, the signature judged.
fn facts(commit: &gix::Commit<'_>, judge: Judge<'_>) -> Result<Touch, RepoError> {
    let message = commit.message_raw().map_err(err)?.to_string();
    let time = commit.time().map_err(err)?.seconds;
    let author = commit.author().map_err(err)?;
    let (verdict, signer) = match commit.signature() {
        Ok(Some((sig, signed))) => {
            let payload = signed.to_bstring();
            match std::str::from_utf8(sig.as_ref()) {
                Ok(armored) => judge(&payload, Some(armored), time),
                Err(_) => (Verdict::Bad, None),
            }
        }
        Ok(None) => judge(&[], None, time),
        Err(_) => (Verdict::Bad, None),
    };
    Ok(Touch {
        sha: commit.id.to_string(),
        time,
        author: format!("{} <{}>", author.name, author.email),
        subject: message.lines().next().unwrap_or_default().to_string(),
        trailers: trailers(&message),
        verdict,
        signer,
        merged: None,
        target: 0,
        old: None,
        new: None,
    })
}

/// The facts of hoist's commit a PR's merge brought in, and the tree it was
/// written on (its first parent's): `None` unless `commit` (whose facts are
/// `mine`) is not good itself, has two parents, and the second carries a
/// good signature and hoist's operation trailer.
fn hoist_head(
    repo: &gix::Repository,
    commit: &gix::Commit<'_>,
    mine: &Touch,
    judge: Judge<'_>,
) -> Result<Option<(Touch, Option<ObjectId>)>, RepoError> {
    if mine.verdict == Verdict::Good {
        return Ok(None);
    }
    let Some(head) = merged::second_parent(repo, commit)? else {
        return Ok(None);
    };
    let facts = facts(&head, judge)?;
    if facts.verdict != Verdict::Good || !merged::is_operation(&facts.trailers) {
        return Ok(None);
    }
    let base = match head.parent_ids().next() {
        Some(p) => Some(
            repo.find_commit(p.detach())
                .map_err(err)?
                .tree_id()
                .map_err(err)?
                .detach(),
        ),
        None => None,
    };
    Ok(Some((facts, base)))
}

/// Walk first parents from `tip` (see the module docs). Stops at the first
/// commit older than `since` (committer time).
pub fn walk(
    repo: &gix::Repository,
    tip: &str,
    targets: &[Target],
    since: Option<i64>,
    judge: Judge<'_>,
) -> Result<Vec<Touch>, RepoError> {
    let mut files: Vec<&str> = targets.iter().map(|t| t.file.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    let file_of: Vec<usize> = targets
        .iter()
        .map(|t| files.binary_search(&t.file.as_str()).unwrap_or(0))
        .collect();
    let (mut trees, mut values) = (Trees::new(&files), Values::default());
    // Trees and commits are read once each, but deltas share bases.
    let mut repo = repo.clone();
    repo.object_cache_size_if_unset(16 << 20);
    let repo = &repo;
    let mut out = Vec::new();
    let mut commit = repo
        .find_commit(ObjectId::from_hex(tip.as_bytes()).map_err(err)?)
        .map_err(err)?;
    let mut tree = commit.tree_id().map_err(err)?.detach();
    let mut now = blobs(repo, &mut trees, Some(tree), &files)?;
    let time = |c: &gix::Commit<'_>| c.time().map(|t| t.seconds).unwrap_or(0);
    loop {
        let parent = match commit.parent_ids().next() {
            Some(p) => Some(repo.find_commit(p.detach()).map_err(err)?),
            None => None,
        };
        let parent_tree = match &parent {
            Some(p) => Some(p.tree_id().map_err(err)?.detach()),
            None => None,
        };
        let before = if parent_tree == Some(tree) {
            now.clone()
        } else {
            blobs(repo, &mut trees, parent_tree, &files)?
        };
        // A merge changed a file if the result differs from any parent:
        // `git merge -s ours` onto an old commit rolls values back while
        // matching its first parent.
        let mut others = Vec::new();
        for other in commit.parent_ids().skip(1) {
            let other = repo.find_commit(other.detach()).map_err(err)?;
            let other_tree = Some(other.tree_id().map_err(err)?.detach());
            others.push(blobs(repo, &mut trees, other_tree, &files)?);
        }
        // Committer dates are the committer's to write: the walk does not
        // stop at an old one, and a commit dated before its parent (set
        // back) is shown whatever `since` says.
        let set_back = parent.as_ref().is_some_and(|p| time(p) > time(&commit));
        let shown = since.is_none_or(|s| time(&commit) >= s) || set_back;
        if shown && (before != now || others.iter().any(|o| *o != now)) {
            let mut changed = Vec::new();
            for (i, target) in targets.iter().enumerate() {
                let f = file_of[i];
                let old = if before[f] != now[f] {
                    Some(before[f])
                } else {
                    others.iter().find(|o| o[f] != now[f]).map(|o| o[f])
                };
                if let Some(old) = old {
                    changed.push(Changed {
                        target: i,
                        old: values.get(repo, old, i, target),
                        new: values.get(repo, now[f], i, target),
                    });
                }
            }
            let mine = facts(&commit, judge)?;
            match hoist_head(repo, &commit, &mine, judge)? {
                // `others[0]` is the head's files: a file is hoist's change
                // only when the merge took it whole from hoist's commit and
                // the base held what that commit was written on.
                Some((head, written_on)) if others.len() == 1 => {
                    let on = blobs(repo, &mut trees, written_on, &files)?;
                    let (ours, rest): (Vec<Changed>, Vec<Changed>) =
                        changed.into_iter().partition(|c| {
                            let f = file_of[c.target];
                            others[0][f] == now[f] && on[f] == before[f]
                        });
                    let mut rows = touches(&merged::through(&mine, &head), ours, targets);
                    rows.extend(touches(&mine, rest, targets));
                    rows.sort_by_key(|t| t.target);
                    out.extend(rows);
                }
                _ => out.extend(touches(&mine, changed, targets)),
            }
        }
        let Some(p) = parent else { break };
        commit = p;
        tree = parent_tree.unwrap_or(tree);
        now = before;
    }
    Ok(out)
}

#[cfg(test)]
#[path = "audit/tests.rs"]
mod tests;
