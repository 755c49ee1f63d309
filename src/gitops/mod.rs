//! The only module that touches git. A persistent bare mirror (git CLI for
//! fetch and push), gix for reading and writing objects without a worktree,
//! surgical YAML edits, SSH-signed commits. Implements the engine's
//! [`ConfigRepo`] port.

pub mod audit;
pub mod credentials;
pub mod edit;
mod history;
pub mod memory;
pub mod mirror;
mod pack;
mod paths;
pub mod sign;
pub mod trust;

use crate::engine::ports::{
    Clock, ConfigRepo, Plan, PlannedFile, PolicyTrust, RepoError, Revision, SystemClock,
};
use crate::policy::Target;
use gix::bstr::ByteSlice;
use hoist_commands::Version;
use mirror::{Mirror, PushResult};
use sign::Signer;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Who commits: `HOIST_GIT_AUTHOR` (`Name <email>`), or hoist itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

impl Default for Author {
    fn default() -> Self {
        Author {
            name: "hoist".into(),
            email: "hoist@localhost".into(),
        }
    }
}

impl std::str::FromStr for Author {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, rest) = s
            .split_once('<')
            .ok_or_else(|| format!("`{s}` is not `Name <email>`"))?;
        let email = rest
            .strip_suffix('>')
            .ok_or_else(|| format!("`{s}` is not `Name <email>`"))?;
        if name.trim().is_empty() || email.trim().is_empty() {
            return Err(format!("`{s}` is not `Name <email>`"));
        }
        Ok(Author {
            name: name.trim().into(),
            email: email.trim().into(),
        })
    }
}

/// Packs in the mirror before they are combined (`git repack --geometric`).
const MAX_PACKS: u16 = 32;

/// When a branch's last fetch started, and the tip it found.
type LastFetch = Mutex<Option<(Instant, String)>>;

/// The config repo as hoist sees it.
#[derive(Debug)]
pub struct GitRepo {
    mirror: Mirror,
    repo: gix::ThreadSafeRepository,
    /// Where plans are read and commits written: objects stay in memory
    /// until [`ConfigRepo::push`] stores them as one pack (see [`pack`]).
    writer: Mutex<gix::Repository>,
    signer: Option<Signer>,
    author: Author,
    /// Per branch: when the last fetch started and the tip it found.
    fetches: Mutex<HashMap<String, Arc<LastFetch>>>,
    /// Policy signers (`HOIST_POLICY_SIGNERS`): which `hoist.yaml` may decide.
    guard: Option<trust::Guard>,
}

fn git_err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> RepoError {
    RepoError::git(e)
}

impl GitRepo {
    /// Open (creating if needed) the mirror of `url` under `data_dir`.
    pub fn open(
        data_dir: &Path,
        url: &str,
        signer: Option<Signer>,
        author: Author,
        access: &credentials::Access,
    ) -> Result<Self, RepoError> {
        let mirror = Mirror::open(data_dir, url, access).map_err(git_err)?;
        // Every push adds a small pack and the object store needs one index
        // slot per pack on disk; `Mirror::tidy` keeps the count well below this.
        let options = gix::open::Options::default()
            .object_store_slots(gix::odb::store::init::Slots::Given(MAX_PACKS * 4));
        let repo = gix::open_opts(&mirror.path, options)
            .map_err(git_err)?
            .into_sync();
        let writer = Mutex::new(repo.to_thread_local().with_object_memory());
        Ok(GitRepo {
            mirror,
            repo,
            writer,
            signer,
            author,
            fetches: Mutex::new(HashMap::new()),
            guard: None,
        })
    }

    /// The same repo with policy signers: only `hoist.yaml` versions signed
    /// by `keyring` (from `trust_from`, when pinned) may decide (see [`trust`]).
    pub fn with_policy_signers(
        mut self,
        keyring: sign::Keyring,
        trust_from: Option<String>,
    ) -> Self {
        self.guard = Some(trust::Guard::new(keyring, trust_from));
        self
    }

    /// The remote-tracking ref of `branch` in the mirror, if it exists.
    fn tracking_tip(&self, branch: &str) -> Result<Option<String>, RepoError> {
        let repo = self.local();
        let name = format!("refs/remotes/origin/{branch}");
        let Ok(mut r) = repo.find_reference(name.as_str()) else {
            return Ok(None);
        };
        Ok(Some(r.peel_to_id().map_err(git_err)?.to_string()))
    }

    fn local(&self) -> gix::Repository {
        self.repo.to_thread_local()
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, gix::Repository> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Store the objects written since the last push as one pack.
    fn flush(&self) -> Result<(), RepoError> {
        let mut repo = self.writer();
        let Some(objects) = repo.objects.take_object_memory() else {
            return Ok(());
        };
        repo.objects.enable_object_memory();
        if objects.is_empty() {
            return Ok(());
        }
        let bytes = pack::encode(
            objects
                .values()
                .map(|(kind, data)| (*kind, data.as_slice())),
        )
        .map_err(git_err)?;
        pack::store(&self.mirror.path, &bytes).map_err(RepoError::git)
    }

    fn tree_of<'r>(repo: &'r gix::Repository, at: &str) -> Result<gix::Tree<'r>, RepoError> {
        let id = gix::ObjectId::from_hex(at.as_bytes()).map_err(git_err)?;
        repo.find_commit(id)
            .map_err(git_err)?
            .tree()
            .map_err(git_err)
    }

    /// A fetch of `branch` failed: forget the remembered default branch
    /// (the remote may have renamed it), and when `branch` was that default
    /// and the remote now names another, say so.
    fn fetch_failed(&self, branch: &str, e: mirror::GitCliError) -> RepoError {
        let was = self.mirror.forget_default_branch();
        if was.as_deref() == Some(branch)
            && let Ok(now) = self.mirror.default_branch()
            && now != branch
        {
            return RepoError::git(format!(
                "{e}; the remote's default branch is now `{now}` (was `{branch}`): ask again"
            ));
        }
        git_err(e)
    }

    fn signature(&self, now: i64) -> gix::actor::Signature {
        gix::actor::Signature {
            name: self.author.name.as_str().into(),
            email: self.author.email.as_str().into(),
            time: gix::date::Time {
                seconds: now,
                offset: 0,
            },
        }
    }

    /// The audit's walk from `tip` over `targets` (see [`audit`]), every
    /// signature judged against `signers` (`hoist audit --signers`).
    pub fn audit(
        &self,
        tip: &str,
        targets: &[Target],
        since: Option<i64>,
        signers: &sign::Keyring,
    ) -> Result<Vec<crate::engine::ports::Touch>, RepoError> {
        let judge = |payload: &[u8], armored: Option<&str>, time: i64| {
            audit::verdict(signers.check(payload, armored, time))
        };
        audit::walk(&self.local(), tip, targets, since, &judge)
    }
}

impl ConfigRepo for GitRepo {
    /// Asked of the remote once, then remembered in the mirror until a
    /// fetch or push fails (see [`Mirror::default_branch`]).
    fn default_branch(&self) -> Result<String, RepoError> {
        self.mirror.default_branch().map_err(git_err)
    }

    /// Fetch `branch`. Callers that ask while a fetch runs wait for it and
    /// then fetch once more together: a burst of N requests costs two
    /// fetches, and nobody gets a tip older than the moment they asked.
    fn refresh(&self, branch: &str) -> Result<String, RepoError> {
        let asked = Instant::now();
        let cell = self
            .fetches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(branch.to_string())
            .or_default()
            .clone();
        let mut last = cell.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((started, tip)) = &*last
            && *started >= asked
        {
            return Ok(tip.clone());
        }
        let started = Instant::now();
        if let Err(e) = self.mirror.fetch(branch) {
            return Err(self.fetch_failed(branch, e));
        }
        let tip = self
            .tracking_tip(branch)?
            .ok_or_else(|| RepoError::git(format!("branch `{branch}` not found on the remote")))?;
        *last = Some((started, tip.clone()));
        Ok(tip)
    }

    fn known_tip(&self, branch: &str) -> Result<String, RepoError> {
        match self.tracking_tip(branch)? {
            Some(tip) => Ok(tip),
            None => self.refresh(branch),
        }
    }

    fn read_file(&self, at: &str, path: &str) -> Result<Option<Vec<u8>>, RepoError> {
        // The writer sees commits not pushed yet (the chain being built) too.
        let repo = self.writer();
        let tree = Self::tree_of(&repo, at)?;
        let Some(entry) = tree.lookup_entry_by_path(path).map_err(git_err)? else {
            return Ok(None);
        };
        if !entry.mode().is_blob() {
            return Ok(None);
        }
        Ok(Some(entry.object().map_err(git_err)?.detach().data))
    }

    fn read_value(&self, at: &str, target: &Target) -> Result<Option<String>, RepoError> {
        value_in(target, self.read_file(at, &target.file)?)
    }

    fn list_files(&self, at: &str, dir: &str) -> Result<Vec<String>, RepoError> {
        let repo = self.writer();
        let tree = Self::tree_of(&repo, at)?;
        let dir = dir.trim_end_matches('/');
        paths::check(dir)?;
        let Some(entry) = tree.lookup_entry_by_path(dir).map_err(git_err)? else {
            return Ok(Vec::new());
        };
        if !entry.mode().is_tree() {
            return Err(RepoError::Target(format!(
                "{dir} is a file, not a directory"
            )));
        }
        // Depth-first over the subtrees, each entry's kind checked.
        let mut found = Vec::new();
        let mut stack = vec![(dir.to_string(), entry.object_id())];
        while let Some((path, id)) = stack.pop() {
            let sub = repo.find_tree(id).map_err(git_err)?;
            for e in sub.iter() {
                let e = e.map_err(git_err)?;
                let Ok(name) = e.filename().to_str() else {
                    return Err(RepoError::Target(format!(
                        "{path} holds a file whose name is not UTF-8: hoist copies only files it can name"
                    )));
                };
                let at = format!("{path}/{name}");
                let mode = e.mode();
                if mode.is_tree() {
                    stack.push((at, e.object_id()));
                } else if mode.is_blob() {
                    found.push(at);
                } else {
                    return Err(RepoError::Target(format!(
                        "{at} is a symlink or a submodule: hoist copies only files"
                    )));
                }
                if found.len() > crate::engine::ports::MAX_LISTED_FILES {
                    return Err(RepoError::Target(format!(
                        "{dir} holds more than {} files",
                        crate::engine::ports::MAX_LISTED_FILES
                    )));
                }
            }
        }
        found.sort();
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

    fn commit(&self, plan: &Plan, message: &str, sign: bool) -> Result<String, RepoError> {
        let repo = self.writer();
        let base = gix::ObjectId::from_hex(plan.base.as_bytes()).map_err(git_err)?;
        let base_tree = Self::tree_of(&repo, &plan.base)?;
        paths::check_plan(plan, |path| {
            Ok(
                match base_tree.lookup_entry_by_path(path).map_err(git_err)? {
                    None => paths::Found::Nothing,
                    Some(e) if e.mode().is_tree() => paths::Found::Dir,
                    Some(_) => paths::Found::File,
                },
            )
        })?;
        let mut editor = repo.edit_tree(base_tree.id).map_err(git_err)?;
        for file in &plan.files {
            // Keep the entry's mode (an executable stays executable).
            let mode = base_tree
                .lookup_entry_by_path(&file.path)
                .map_err(git_err)?
                .map(|e| e.mode().kind())
                .unwrap_or(gix::object::tree::EntryKind::Blob);
            let blob = repo.write_blob(&file.content).map_err(git_err)?;
            editor
                .upsert(file.path.as_str(), mode, blob.detach())
                .map_err(git_err)?;
        }
        for (path, bytes) in &plan.writes {
            let mode = base_tree
                .lookup_entry_by_path(path)
                .map_err(git_err)?
                .map(|e| e.mode().kind())
                .filter(|k| matches!(k, gix::object::tree::EntryKind::BlobExecutable))
                .unwrap_or(gix::object::tree::EntryKind::Blob);
            let blob = repo.write_blob(bytes).map_err(git_err)?;
            editor
                .upsert(path.as_str(), mode, blob.detach())
                .map_err(git_err)?;
        }
        for path in &plan.removes {
            editor.remove(path.as_str()).map_err(git_err)?;
        }
        let tree = editor.write().map_err(git_err)?.detach();
        let now = SystemClock.now();
        let mut commit = gix::objs::Commit {
            tree,
            parents: [base].into_iter().collect(),
            author: self.signature(now),
            committer: self.signature(now),
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        };
        if sign {
            let signer = self.signer.as_ref().ok_or_else(|| {
                RepoError::signing("no signing key configured (HOIST_SIGNING_KEY)")
            })?;
            let mut payload = Vec::new();
            gix::objs::WriteTo::write_to(&commit, &mut payload).map_err(git_err)?;
            let signature = signer.sign(&payload).map_err(RepoError::signing)?;
            commit
                .extra_headers
                .push(("gpgsig".into(), signature.as_bytes().as_bstr().into()));
        }
        Ok(repo.write_object(&commit).map_err(git_err)?.to_string())
    }

    fn push(&self, branch: &str, commit: &str, expected: &str) -> Result<(), RepoError> {
        self.flush()?;
        let pushed = self.mirror.push(branch, commit, expected);
        if !matches!(pushed, Ok(PushResult::Pushed | PushResult::Stale(_))) {
            // Refused or failed: perhaps the branch is not where it was.
            self.mirror.forget_default_branch();
        }
        let pushed = pushed.map_err(git_err)?;
        // Combining packs waits until the push is out of the race with other writers.
        if let Err(e) = self.mirror.tidy(MAX_PACKS.into()) {
            tracing::warn!(error = %e, "could not combine the mirror's packs");
        }
        match pushed {
            PushResult::Pushed => Ok(()),
            PushResult::Stale(m) => Err(RepoError::Stale(m)),
            PushResult::Refused(m) => Err(RepoError::Refused(m)),
        }
    }

    fn can_sign(&self) -> bool {
        self.signer.is_some()
    }

    fn contains(&self, tip: &str, commit: &str) -> Result<bool, RepoError> {
        self.mirror.is_ancestor(commit, tip).map_err(git_err)
    }

    fn history(
        &self,
        tip: &str,
        target: &Target,
        limit: usize,
    ) -> Result<Vec<Revision>, RepoError> {
        history::history(&self.local(), tip, target, limit, self.signer.as_ref())
    }

    fn history_all(
        &self,
        tip: &str,
        targets: &[Target],
        since: Option<i64>,
    ) -> Result<Vec<crate::engine::ports::Touch>, RepoError> {
        // Good only by hoist's own key; others' signatures are unknown or bad.
        let nobody = sign::Keyring::default();
        let judge = |payload: &[u8], armored: Option<&str>, time: i64| match (armored, &self.signer)
        {
            (Some(a), Some(key)) if key.verify(payload, a) => {
                (crate::engine::ports::Verdict::Good, Some("hoist".into()))
            }
            _ => audit::verdict(nobody.check(payload, armored, time)),
        };
        audit::walk(&self.local(), tip, targets, since, &judge)
    }

    fn trusted_policy(&self, tip: &str) -> Result<Option<PolicyTrust>, RepoError> {
        match &self.guard {
            Some(guard) => guard.trust(&self.local(), tip).map(Some),
            None => Ok(None),
        }
    }
}

/// The value `target` holds in its file's bytes (`None`: the file is
/// absent). Shared by every [`ConfigRepo`] here, so they read alike.
fn value_in(target: &Target, bytes: Option<Vec<u8>>) -> Result<Option<String>, RepoError> {
    let bytes =
        bytes.ok_or_else(|| RepoError::Target(format!("{} does not exist", target.file)))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| RepoError::Target(format!("{} is not UTF-8 text", target.file)))?;
    edit::read_value(&text, &target.locator)
        .map_err(|e| RepoError::Target(format!("{}: {e}", target.file)))
}

/// The edits that set each target to its version on top of `base`, each
/// file read through `read` (its bytes at `base`). Shared by every
/// [`ConfigRepo`] here, so they plan alike.
fn plan_edits(
    branch: &str,
    base: &str,
    edits: &[(Target, Version)],
    read: impl Fn(&str) -> Result<Option<Vec<u8>>, RepoError>,
) -> Result<Plan, RepoError> {
    let mut files: Vec<PlannedFile> = Vec::new();
    for (target, version) in edits {
        // Two targets in one file: edit on top of the previous edit's result.
        let text = match files.iter().rev().find(|f| f.path == target.file) {
            Some(prev) => String::from_utf8_lossy(&prev.content).into_owned(),
            None => {
                let bytes = read(&target.file)?.ok_or_else(|| {
                    RepoError::Target(format!("{} does not exist on {branch}", target.file))
                })?;
                String::from_utf8(bytes)
                    .map_err(|_| RepoError::Target(format!("{} is not UTF-8 text", target.file)))?
            }
        };
        let edited = edit::apply(&text, &target.locator, version)
            .map_err(|e| RepoError::Target(format!("{}: {e}", target.file)))?;
        files.push(PlannedFile {
            path: target.file.clone(),
            old_value: edited.old_value,
            new_value: version.to_string(),
            lines: edited.lines,
            content: edited.new_text.into_bytes(),
        });
    }
    Ok(Plan {
        branch: branch.to_string(),
        base: base.to_string(),
        files,
        writes: Vec::new(),
        removes: Vec::new(),
    })
}
