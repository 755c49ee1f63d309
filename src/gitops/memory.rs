//! The config repo in memory, for engine tests: a history of commits (each a
//! full snapshot of the files, its id a SHA-256 of parent, time, signature
//! flag, message and files), a "remote" that holds each branch's tip and that
//! a test can move as another person would ([`Memory::commit_as_someone_else`]),
//! and hoist's own view of it (the tips it last fetched or pushed, and the
//! commits it can read: fetched or written here, as in a mirror). Values are
//! read and plans made by the same pure code as [`super::GitRepo`]; pushes
//! are a compare-and-swap on the remote's tip, and a push that would not
//! descend from the expected tip is refused, so a test catches any write
//! that could overwrite someone else's commit. Signing is a flag: a commit
//! made with `sign` on a repo that can sign counts as signed by hoist; one
//! made with [`Memory::commit_signed_as_someone_else`] as signed by a policy
//! signer, which is what the `hoist.yaml` trust chain ([`super::trust`])
//! counts once [`Memory::with_policy_signers`] configures signers.

use super::trust::{self, Chain, Change};
use super::{history::trailers, plan_edits, value_in};
use crate::engine::ports::{
    Clock, ConfigRepo, Plan, PolicyTrust, RepoError, Revision, Sha, SystemClock,
};
use crate::policy::Target;
use hoist_commands::Version;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// One commit: everything it holds, not a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub parent: Option<Sha>,
    /// Commit time, seconds since the epoch (the repo's clock).
    pub time: i64,
    pub message: String,
    pub files: BTreeMap<String, Vec<u8>>,
    /// Made by [`ConfigRepo::commit`] with `sign` on a repo that can sign.
    pub signed: bool,
    /// `Name <email>`.
    pub author: String,
    /// The policy signer whose signature it carries, if any.
    pub signed_by: Option<String>,
}

impl Commit {
    /// The id: SHA-256 over everything the commit holds, in hex.
    fn id(&self) -> Sha {
        let mut h = Sha256::new();
        h.update(format!(
            "parent {}\n",
            self.parent.as_deref().unwrap_or("-")
        ));
        h.update(format!("time {}\nsigned {}\n", self.time, self.signed));
        h.update(format!(
            "author {}\nsigner {:?}\n",
            self.author, self.signed_by
        ));
        h.update(format!("message {}\n", self.message.len()));
        h.update(&self.message);
        for (path, bytes) in &self.files {
            h.update(format!("file {} {}\n", path.len(), bytes.len()));
            h.update(path);
            h.update(bytes);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Debug, Default)]
struct State {
    commits: HashMap<Sha, Commit>,
    /// Branch -> tip on the remote.
    remote: BTreeMap<String, Sha>,
    /// Branch -> the tip hoist last fetched or pushed.
    seen: BTreeMap<String, Sha>,
    /// Commits hoist can read: fetched, or written by it.
    readable: HashSet<Sha>,
}

impl State {
    fn insert(&mut self, commit: Commit) -> Sha {
        let id = commit.id();
        self.commits.insert(id.clone(), commit);
        id
    }

    /// A commit hoist can read, by its full id.
    fn get(&self, id: &str) -> Result<&Commit, RepoError> {
        match self.commits.get(id) {
            Some(c) if self.readable.contains(id) => Ok(c),
            _ => Err(RepoError::git(format!("commit {id} is not in the mirror"))),
        }
    }

    /// A readable commit by its id or a unique prefix of 7 or more digits.
    fn resolve(&self, id: &str) -> Result<Sha, RepoError> {
        let mut found = self
            .readable
            .iter()
            .filter(|c| id.len() >= 7 && c.starts_with(id));
        match (found.next(), found.next()) {
            (Some(c), None) => Ok(c.clone()),
            _ => Err(RepoError::git(format!("no single commit named {id}"))),
        }
    }

    /// The commit and its first parents, newest first.
    fn ancestry(&self, id: &str) -> impl Iterator<Item = (Sha, &Commit)> {
        let mut next = Some(id.to_string());
        std::iter::from_fn(move || {
            let id = next.take()?;
            let commit = self.commits.get(&id)?;
            next.clone_from(&commit.parent);
            Some((id, commit))
        })
    }

    /// Fetching `tip`: hoist can read it and everything before it.
    fn fetched(&mut self, tip: &str) {
        let new: Vec<Sha> = self
            .ancestry(tip)
            .map(|(id, _)| id)
            .take_while(|id| !self.readable.contains(id))
            .collect();
        self.readable.extend(new);
    }
}

/// A config repo that lives in memory. See the module docs.
pub struct Memory {
    state: Mutex<State>,
    default_branch: String,
    signing: bool,
    clock: Arc<dyn Clock>,
    /// Policy signers configured: `Some(pin)`, `pin` as `HOIST_POLICY_TRUST_FROM`.
    policy_signers: Option<Option<Sha>>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Memory")
            .field("default_branch", &self.default_branch)
            .field("remote", &state.remote)
            .field("seen", &state.seen)
            .field("commits", &state.commits.len())
            .field("signing", &self.signing)
            .finish()
    }
}

impl Memory {
    /// A remote whose `default_branch` holds `files` in one commit made by
    /// someone else; hoist has fetched nothing yet and cannot sign.
    pub fn new<P: Into<String>, B: Into<Vec<u8>>>(
        default_branch: &str,
        files: impl IntoIterator<Item = (P, B)>,
    ) -> Memory {
        let repo = Memory {
            state: Mutex::default(),
            default_branch: default_branch.to_string(),
            signing: false,
            clock: Arc::new(SystemClock),
            policy_signers: None,
        };
        let files = files
            .into_iter()
            .map(|(p, b)| (p.into(), b.into()))
            .collect();
        repo.someone_commits(default_branch, "initial", None, |old| *old = files);
        repo
    }

    /// The same repo with a signing key: `commit(.., sign: true)` works.
    pub fn signing(mut self) -> Memory {
        self.signing = true;
        self
    }

    /// The same repo with policy signers configured: a `hoist.yaml` version
    /// decides only when signed ([`Memory::commit_signed_as_someone_else`]),
    /// or at `trust_from` (as `HOIST_POLICY_TRUST_FROM` pins it).
    pub fn with_policy_signers(mut self, trust_from: Option<Sha>) -> Memory {
        self.policy_signers = Some(trust_from);
        self
    }

    /// As [`Memory::commit_as_someone_else`], signed by the policy signer `signer`.
    pub fn commit_signed_as_someone_else(
        &self,
        branch: &str,
        path: &str,
        bytes: impl Into<Vec<u8>>,
        message: &str,
        signer: &str,
    ) -> Sha {
        let bytes = bytes.into();
        self.someone_commits(branch, message, Some(signer), |files| {
            files.insert(path.to_string(), bytes);
        })
    }

    /// The same repo with commits stamped by `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Memory {
        self.clock = clock;
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Someone else pushes a commit to `branch` on the remote (a new branch
    /// starts from nothing) that sets `path` to `bytes`. Hoist sees it only
    /// once it fetches. Returns the new tip.
    pub fn commit_as_someone_else(
        &self,
        branch: &str,
        path: &str,
        bytes: impl Into<Vec<u8>>,
        message: &str,
    ) -> Sha {
        let bytes = bytes.into();
        self.someone_commits(branch, message, None, |files| {
            files.insert(path.to_string(), bytes);
        })
    }

    fn someone_commits(
        &self,
        branch: &str,
        message: &str,
        signed_by: Option<&str>,
        change: impl FnOnce(&mut BTreeMap<String, Vec<u8>>),
    ) -> Sha {
        let mut state = self.lock();
        let parent = state.remote.get(branch).cloned();
        let mut files = parent
            .as_ref()
            .map(|p| state.commits[p].files.clone())
            .unwrap_or_default();
        change(&mut files);
        let id = state.insert(Commit {
            parent,
            time: self.clock.now(),
            message: message.to_string(),
            files,
            signed: false,
            author: "someone else <someone@example.com>".into(),
            signed_by: signed_by.map(String::from),
        });
        state.remote.insert(branch.to_string(), id.clone());
        id
    }

    /// Someone force-pushes `branch` on the remote back to `commit` (one of
    /// its ancestors, dropping what came after). Hoist sees it only once it
    /// fetches.
    pub fn force_as_someone_else(&self, branch: &str, commit: &str) {
        let mut state = self.lock();
        assert!(state.commits.contains_key(commit), "no commit {commit}");
        state.remote.insert(branch.to_string(), commit.to_string());
    }

    /// `branch`'s tip on the remote, if the branch exists there.
    pub fn remote_tip(&self, branch: &str) -> Option<Sha> {
        self.lock().remote.get(branch).cloned()
    }

    /// Any commit the remote or hoist holds, whether hoist can read it or not.
    pub fn commit_at(&self, id: &str) -> Option<Commit> {
        self.lock().commits.get(id).cloned()
    }

    /// The remote's `branch`, first parents from its tip, newest first.
    pub fn log(&self, branch: &str) -> Vec<(Sha, Commit)> {
        let state = self.lock();
        let Some(tip) = state.remote.get(branch) else {
            return Vec::new();
        };
        state.ancestry(tip).map(|(id, c)| (id, c.clone())).collect()
    }
}

impl ConfigRepo for Memory {
    fn default_branch(&self) -> Result<String, RepoError> {
        Ok(self.default_branch.clone())
    }

    fn refresh(&self, branch: &str) -> Result<Sha, RepoError> {
        let mut state = self.lock();
        let tip =
            state.remote.get(branch).cloned().ok_or_else(|| {
                RepoError::git(format!("branch `{branch}` not found on the remote"))
            })?;
        state.fetched(&tip);
        state.seen.insert(branch.to_string(), tip.clone());
        Ok(tip)
    }

    fn known_tip(&self, branch: &str) -> Result<Sha, RepoError> {
        let seen = self.lock().seen.get(branch).cloned();
        match seen {
            Some(tip) => Ok(tip),
            None => self.refresh(branch),
        }
    }

    fn read_file(&self, at: &str, path: &str) -> Result<Option<Vec<u8>>, RepoError> {
        Ok(self.lock().get(at)?.files.get(path).cloned())
    }

    fn read_value(&self, at: &str, target: &Target) -> Result<Option<String>, RepoError> {
        value_in(target, self.read_file(at, &target.file)?)
    }

    fn list_files(&self, at: &str, dir: &str) -> Result<Vec<String>, RepoError> {
        let dir = dir.trim_end_matches('/');
        super::paths::check(dir)?;
        let prefix = format!("{dir}/");
        let state = self.lock();
        let files = &state.get(at)?.files;
        if files.contains_key(dir) {
            return Err(RepoError::Target(format!(
                "{dir} is a file, not a directory"
            )));
        }
        let found: Vec<String> = files
            .keys()
            .filter(|p| p.starts_with(&prefix))
            .cloned()
            .collect();
        if found.len() > crate::engine::ports::MAX_LISTED_FILES {
            return Err(RepoError::Target(format!(
                "{dir} holds more than {} files",
                crate::engine::ports::MAX_LISTED_FILES
            )));
        }
        Ok(found)
    }

    fn plan(
        &self,
        branch: &str,
        base: &str,
        edits: &[(Target, Version)],
    ) -> Result<Plan, RepoError> {
        plan_edits(branch, base, edits, |path| self.read_file(base, path))
    }

    fn commit(&self, plan: &Plan, message: &str, sign: bool) -> Result<Sha, RepoError> {
        if sign && !self.signing {
            return Err(RepoError::signing(
                "no signing key configured (HOIST_SIGNING_KEY)",
            ));
        }
        let mut state = self.lock();
        let mut files = state.get(&plan.base)?.files.clone();
        super::paths::check_plan(plan, |path| {
            let prefix = format!("{path}/");
            Ok(if files.contains_key(path) {
                super::paths::Found::File
            } else if files
                .range(prefix.clone()..)
                .next()
                .is_some_and(|(p, _)| p.starts_with(&prefix))
            {
                super::paths::Found::Dir
            } else {
                super::paths::Found::Nothing
            })
        })?;
        for file in &plan.files {
            files.insert(file.path.clone(), file.content.clone());
        }
        for (path, bytes) in &plan.writes {
            files.insert(path.clone(), bytes.clone());
        }
        for path in &plan.removes {
            files.remove(path);
        }
        let id = state.insert(Commit {
            parent: Some(plan.base.clone()),
            time: self.clock.now(),
            message: message.to_string(),
            files,
            signed: sign,
            author: "hoist <hoist@localhost>".into(),
            signed_by: None,
        });
        state.readable.insert(id.clone());
        Ok(id)
    }

    fn push(&self, branch: &str, commit: &str, expected: &str) -> Result<(), RepoError> {
        let mut state = self.lock();
        state.get(commit)?;
        // `expected` "" means "the branch must not exist yet".
        let now = state.remote.get(branch).map_or("", String::as_str);
        if now != expected {
            let now = if now.is_empty() { "nothing" } else { now };
            return Err(RepoError::Stale(format!(
                "{branch} is at {now} on the remote, not {expected}"
            )));
        }
        // hoist's own PR branches (`hoist/<id>`) are rewritten with a lease.
        let rewritable = expected.is_empty() || branch.starts_with("hoist/");
        if !rewritable && !state.ancestry(commit).any(|(id, _)| id == expected) {
            return Err(RepoError::Refused(format!(
                "{commit} does not descend from {expected}: pushing it would drop commits"
            )));
        }
        state.remote.insert(branch.to_string(), commit.to_string());
        state.seen.insert(branch.to_string(), commit.to_string());
        Ok(())
    }

    fn can_sign(&self) -> bool {
        self.signing
    }

    fn contains(&self, tip: &str, commit: &str) -> Result<bool, RepoError> {
        let state = self.lock();
        let (tip, commit) = (state.resolve(tip)?, state.resolve(commit)?);
        Ok(state.ancestry(&tip).any(|(id, _)| id == commit))
    }

    fn history(
        &self,
        tip: &str,
        target: &Target,
        limit: usize,
    ) -> Result<Vec<Revision>, RepoError> {
        let state = self.lock();
        state.get(tip)?;
        // As the git walk reads it: a file that is absent, not UTF-8 or
        // without the value holds none.
        let value = |c: &Commit| {
            value_in(target, c.files.get(&target.file).cloned())
                .ok()
                .flatten()
        };
        let mut out = Vec::new();
        for (id, commit) in state.ancestry(tip) {
            if out.len() >= limit {
                break;
            }
            let now = value(commit);
            let before = commit
                .parent
                .as_ref()
                .and_then(|p| value(&state.commits[p]));
            if now != before {
                out.push(Revision {
                    sha: id,
                    time: commit.time,
                    subject: commit.message.lines().next().unwrap_or_default().into(),
                    trailers: trailers(&commit.message),
                    signed_by_hoist: commit.signed,
                    merged: None,
                    value: now,
                });
            }
        }
        Ok(out)
    }

    /// As the git walk: a file's bytes compared with its parent's, values
    /// read where they differ, rows by [`super::audit::touches`]. A commit
    /// made with `sign` is good (by hoist); every other one is unsigned.
    fn history_all(
        &self,
        tip: &str,
        targets: &[Target],
        since: Option<i64>,
    ) -> Result<Vec<crate::engine::ports::Touch>, RepoError> {
        use crate::engine::ports::{Touch, Verdict};
        let state = self.lock();
        state.get(tip)?;
        let value = |c: Option<&Commit>, t: &Target| {
            let bytes = c.and_then(|c| c.files.get(&t.file).cloned());
            bytes.and_then(|b| value_in(t, Some(b)).ok().flatten())
        };
        let mut out = Vec::new();
        for (id, commit) in state.ancestry(tip) {
            if since.is_some_and(|s| commit.time < s) {
                break;
            }
            let parent = commit.parent.as_ref().map(|p| &state.commits[p]);
            let changed: Vec<super::audit::Changed> = targets
                .iter()
                .enumerate()
                .filter(|(_, t)| {
                    commit.files.get(&t.file) != parent.and_then(|p| p.files.get(&t.file))
                })
                .map(|(i, t)| super::audit::Changed {
                    target: i,
                    old: value(parent, t),
                    new: value(Some(commit), t),
                })
                .collect();
            if changed.is_empty() {
                continue;
            }
            let (verdict, signer, author) = if commit.signed {
                (
                    Verdict::Good,
                    Some("hoist".into()),
                    "hoist <hoist@localhost>",
                )
            } else {
                (Verdict::Unsigned, None, "someone <someone@localhost>")
            };
            let facts = Touch {
                sha: id,
                time: commit.time,
                author: author.into(),
                subject: commit.message.lines().next().unwrap_or_default().into(),
                trailers: trailers(&commit.message),
                verdict,
                signer,
                merged: None,
                target: 0,
                old: None,
                new: None,
            };
            out.extend(super::audit::touches(&facts, changed, targets));
        }
        Ok(out)
    }

    /// The chain rule of [`super::trust`] over the commits in memory.
    fn trusted_policy(&self, tip: &str) -> Result<Option<PolicyTrust>, RepoError> {
        let Some(pin) = &self.policy_signers else {
            return Ok(None);
        };
        let state = self.lock();
        state.get(tip)?;
        let file = |c: &Commit| {
            c.files
                .get(trust::POLICY_FILE)
                .map(|b| format!("{:x}", Sha256::digest(b)))
        };
        let mut newer = Vec::new();
        let mut chain = Chain::default();
        for (id, commit) in state.ancestry(tip) {
            if trust::names(pin.as_deref(), &id) {
                chain = Chain::pinned(&id, file(commit));
                break;
            }
            let before = commit.parent.as_ref().and_then(|p| file(&state.commits[p]));
            if file(commit) != before {
                newer.push(Change {
                    sha: id,
                    blob: file(commit),
                    signed: commit.signed_by.is_some(),
                    author: commit.author.clone(),
                    subject: commit.message.lines().next().unwrap_or_default().into(),
                });
            }
        }
        for change in newer.into_iter().rev() {
            chain.step(change);
        }
        Ok(Some(chain.answer()))
    }
}
