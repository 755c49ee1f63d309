//! `hoist check`: validate a config repo's `hoist.yaml` the way the engine
//! will read it, printing every problem as `hoist.yaml:LINE:COL: message`
//! (exit 1 if any). In a git repository that is what is committed: the policy
//! at the tip of the branch HEAD names, and each target's file at the tip of
//! its environment's branch (local, else `origin/`'s), read and planned with
//! the same functions a deploy uses; uncommitted changes are not what the
//! engine reads, and a note on stderr says when the work tree's `hoist.yaml`
//! differs. A directory that is not a repository (a config repo about to be
//! `try`'d) is checked from its files, symbolic links refused, as git would
//! store them. With policy signers configured (`HOIST_POLICY_SIGNERS`), it
//! also says whether HEAD's `hoist.yaml` is the version hoist obeys (see
//! `gitops::trust`); an untrusted one is a problem, naming the offending commit.

use super::settings::{Area, Flags, PolicySigners, Settings};
use crate::engine::ports::PolicyTrust;
use crate::engine::trust::{nothing_trusted, passed_over};
use crate::gitops::edit;
use crate::gitops::sign::Keyring;
use crate::gitops::trust::Guard;
use crate::policy::{self, Environment, Target, TargetRead};
use anyhow::Context;
use std::path::Path;

mod create;

/// The most files listed under one template directory before the listing
/// stops (one past the engine's own limit, so "more than" can be said).
const LIST_LIMIT: usize = crate::engine::ports::MAX_LISTED_FILES + 1;

pub fn run(dir: &Path) -> anyhow::Result<i32> {
    let signers = Settings::from_env(Area::CHECK, &Flags::default())?
        .git
        .policy;
    let source: Box<dyn Source> = match gix::open(dir) {
        Ok(repo) => Box::new(Git::open(repo, dir)?),
        Err(_) => {
            eprintln!(
                "hoist: note: {} is not a git repository; checking the files on disk \
                 (the engine reads what is committed)",
                dir.display()
            );
            Box::new(Disk(dir))
        }
    };
    let bytes = match source.policy() {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            println!("hoist.yaml:1:1: there is no hoist.yaml {}", source.where_());
            return Ok(1);
        }
        Err(e) => {
            println!(
                "hoist.yaml:1:1: cannot read hoist.yaml {}: {e:#}",
                source.where_()
            );
            return Ok(1);
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        println!("hoist.yaml:1:1: hoist.yaml is not UTF-8 text");
        return Ok(1);
    };
    let (loaded, mut problems) = policy::load(&text);
    problems.extend(policy::check(&loaded, &|env, target| {
        source.target(env, target)
    }));
    let (creation, found) = create::preview(&loaded, &|env, dir| source.list(env, dir));
    problems.extend(found);
    problems.sort_by_key(|p| (p.pos.line, p.pos.col));
    for p in &problems {
        println!("{p}");
    }
    for line in &creation {
        println!("{line}");
    }
    let registry = create::registry(source.registry(), &loaded);
    for line in &registry {
        println!("{line}");
    }
    let trusted = trust(source.as_ref(), &signers)?;
    if problems.is_empty() && registry.is_empty() && trusted {
        println!(
            "hoist.yaml: ok ({} environments, {} apps)",
            loaded.environments.len(),
            loaded.apps.len()
        );
        Ok(0)
    } else {
        Ok(1)
    }
}

/// With policy signers configured, say whether `hoist.yaml` is the version
/// hoist obeys; `false` when it is not (or cannot be told).
fn trust(source: &dyn Source, signers: &PolicySigners) -> anyhow::Result<bool> {
    if signers.files.is_empty() {
        return Ok(true);
    }
    let keyring = Keyring::load(&signers.files).context("reading HOIST_POLICY_SIGNERS")?;
    let guard = Guard::new(keyring, signers.trust_from.clone());
    let said = match source.trust(&guard) {
        None => {
            eprintln!(
                "hoist: note: HOIST_POLICY_SIGNERS is set, but whether hoist.yaml is signed can \
                 only be checked in a git repository"
            );
            return Ok(true);
        }
        Some(Err(e)) => Err(format!("cannot tell whether hoist.yaml is trusted: {e:#}")),
        Some(Ok(PolicyTrust {
            trusted: Some(v),
            offending: None,
        })) => Ok(format!(
            "hoist.yaml: trusted (policy signers: {}; last signed change {})",
            guard.signers(),
            v.get(..7).unwrap_or(&v)
        )),
        Some(Ok(PolicyTrust {
            trusted: Some(v),
            offending: Some(o),
        })) => Err(format!("not trusted: {}", passed_over(&o, &v))),
        Some(Ok(PolicyTrust {
            trusted: None,
            offending: Some(o),
        })) => Err(format!("not trusted: {}", nothing_trusted(&o))),
        Some(Ok(PolicyTrust {
            trusted: None,
            offending: None,
        })) => Err("not trusted: there is no hoist.yaml in the history".to_string()),
    };
    match &said {
        Ok(line) => println!("{line}"),
        Err(line) => println!("hoist.yaml:1:1: {line}"),
    }
    Ok(said.is_ok())
}

/// Where the policy and the target files are read from.
trait Source {
    /// The trust of `hoist.yaml` at what is checked; `None` outside git.
    fn trust(&self, _guard: &Guard) -> Option<anyhow::Result<PolicyTrust>> {
        None
    }
    /// `hoist.yaml`, or `None` when there is none.
    fn policy(&self) -> anyhow::Result<Option<Vec<u8>>>;
    /// `hoist-environments.yaml` beside it, or `None` when there is none.
    fn registry(&self) -> anyhow::Result<Option<Vec<u8>>>;
    /// Words for messages: "at main (1a2b3c4)".
    fn where_(&self) -> String;
    /// A target's file at its environment's branch tip, judged.
    fn target(&self, env: &Environment, target: &Target) -> TargetRead;
    /// Every file under `dir` at the environment's branch tip (at most
    /// [`LIST_LIMIT`]); a link or submodule under it is an error, as for
    /// the engine, which copies only files.
    fn list(&self, env: &Environment, dir: &str) -> anyhow::Result<Vec<String>>;
}

/// What a deploy would make of a target file: read its value, and plan
/// setting it (which finds a missing `newTag:`, a block scalar, ...).
fn judge(bytes: Option<Vec<u8>>, target: &Target) -> TargetRead {
    let Some(bytes) = bytes else {
        return TargetRead::Missing;
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return TargetRead::Unreadable("not UTF-8 text".into());
    };
    let probe: hoist_commands::Version = "0.0.0-hoist-check"
        .parse()
        .expect("a constant, valid image tag");
    match edit::read_value(&text, &target.locator)
        .and_then(|_| edit::apply(&text, &target.locator, &probe))
    {
        Ok(_) => TargetRead::Readable,
        Err(e) => TargetRead::Unreadable(e.to_string()),
    }
}

/// A git repository (bare or with a work tree): what is committed.
struct Git {
    repo: gix::Repository,
    head: gix::ObjectId,
    branch: String,
}

impl Git {
    fn open(repo: gix::Repository, dir: &Path) -> anyhow::Result<Self> {
        let head = repo
            .head_commit()
            .with_context(|| format!("{} has no commit at HEAD", dir.display()))?
            .id;
        let branch = match repo.head_name()? {
            Some(name) => name.shorten().to_string(),
            None => "HEAD (detached)".into(),
        };
        let git = Git { repo, head, branch };
        git.note_uncommitted();
        Ok(git)
    }

    /// Tell the user when the work tree's hoist.yaml is not what is committed.
    fn note_uncommitted(&self) {
        let Some(workdir) = self.repo.workdir() else {
            return;
        };
        let on_disk = std::fs::read(workdir.join("hoist.yaml")).ok();
        if on_disk != self.policy().ok().flatten() {
            eprintln!(
                "hoist: note: hoist.yaml in the work tree differs from the one committed {}; \
                 checking the committed one, which is what the engine reads (commit to check \
                 your changes)",
                self.where_()
            );
        }
    }

    /// The file at `path` in commit `at`, if it is a file (not a link, a
    /// directory or a submodule: a deploy cannot read those either).
    fn read(&self, at: gix::ObjectId, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let tree = self.repo.find_commit(at)?.tree()?;
        let Some(entry) = tree.lookup_entry_by_path(path)? else {
            return Ok(None);
        };
        if !entry.mode().is_blob() {
            return Ok(None);
        }
        Ok(Some(entry.object()?.detach().data))
    }

    /// The tip of `branch`: local, else the `origin` remote's as last fetched.
    fn tip(&self, branch: &str) -> Option<gix::ObjectId> {
        [
            format!("refs/heads/{branch}"),
            format!("refs/remotes/origin/{branch}"),
        ]
        .iter()
        .find_map(|name| {
            let mut r = self.repo.find_reference(name.as_str()).ok()?;
            Some(r.peel_to_id().ok()?.detach())
        })
    }
}

impl Source for Git {
    fn policy(&self) -> anyhow::Result<Option<Vec<u8>>> {
        self.read(self.head, "hoist.yaml")
    }

    fn registry(&self) -> anyhow::Result<Option<Vec<u8>>> {
        self.read(self.head, crate::envs::REGISTRY_FILE)
    }

    fn trust(&self, guard: &Guard) -> Option<anyhow::Result<PolicyTrust>> {
        Some(
            guard
                .trust(&self.repo, &self.head.to_string())
                .map_err(anyhow::Error::from),
        )
    }

    fn where_(&self) -> String {
        format!("at {} ({})", self.branch, self.head.to_hex_with_len(7))
    }

    fn target(&self, env: &Environment, target: &Target) -> TargetRead {
        let Some(tip) = self.tip(&env.branch) else {
            return TargetRead::NoBranch;
        };
        match self.read(tip, &target.file) {
            Ok(bytes) => judge(bytes, target),
            Err(e) => TargetRead::Unreadable(format!("{e:#}")),
        }
    }

    fn list(&self, env: &Environment, dir: &str) -> anyhow::Result<Vec<String>> {
        let tip = self
            .tip(&env.branch)
            .with_context(|| format!("branch `{}` is not in the repository", env.branch))?;
        let tree = self.repo.find_commit(tip)?.tree()?;
        let Some(entry) = tree.lookup_entry_by_path(dir)? else {
            return Ok(Vec::new());
        };
        anyhow::ensure!(entry.mode().is_tree(), "{dir} is not a directory");
        let mut found = Vec::new();
        let mut todo = vec![(dir.to_string(), entry.object_id())];
        while let Some((path, id)) = todo.pop() {
            for e in self.repo.find_tree(id)?.iter() {
                let e = e?;
                let at = format!("{path}/{}", e.filename());
                if e.mode().is_tree() {
                    todo.push((at, e.object_id()));
                } else if e.mode().is_blob() {
                    found.push(at);
                } else {
                    anyhow::bail!("{at} is a symlink or a submodule: hoist copies only files");
                }
                if found.len() >= LIST_LIMIT {
                    return Ok(found);
                }
            }
        }
        Ok(found)
    }
}

/// A plain directory: its files, as git would store them.
struct Disk<'a>(&'a Path);

impl Disk<'_> {
    /// The file at `path` (already a normalised relative path: the loader
    /// refuses others), or `None` when it is missing or any part of the path
    /// is a symbolic link (git stores a link, which hoist never follows).
    fn read(&self, path: &str) -> std::io::Result<Option<Vec<u8>>> {
        let mut at = self.0.to_path_buf();
        for segment in path.split('/') {
            at.push(segment);
            match std::fs::symlink_metadata(&at) {
                Ok(meta) if meta.file_type().is_symlink() => return Ok(None),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        if !at.is_file() {
            return Ok(None);
        }
        std::fs::read(&at).map(Some)
    }
}

impl Source for Disk<'_> {
    fn policy(&self) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.read("hoist.yaml")?)
    }

    fn registry(&self) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.read(crate::envs::REGISTRY_FILE)?)
    }

    fn where_(&self) -> String {
        format!("in {}", self.0.display())
    }

    fn target(&self, _env: &Environment, target: &Target) -> TargetRead {
        match self.read(&target.file) {
            Ok(bytes) => judge(bytes, target),
            Err(e) => TargetRead::Unreadable(e.to_string()),
        }
    }

    fn list(&self, _env: &Environment, dir: &str) -> anyhow::Result<Vec<String>> {
        let mut on_the_way = self.0.to_path_buf();
        for segment in dir.split('/') {
            on_the_way.push(segment);
            if std::fs::symlink_metadata(&on_the_way).is_ok_and(|m| m.file_type().is_symlink()) {
                anyhow::bail!("{dir} goes through a symbolic link: hoist copies only files");
            }
        }
        let mut found = Vec::new();
        let mut todo = vec![(dir.to_string(), self.0.join(dir))];
        while let Some((path, at)) = todo.pop() {
            let entries = match std::fs::read_dir(&at) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                other => other.with_context(|| format!("reading {path}"))?,
            };
            for e in entries {
                let e = e?;
                let name = e.file_name();
                let name = name
                    .to_str()
                    .with_context(|| format!("{path} holds a name that is not UTF-8"))?;
                let file = format!("{path}/{name}");
                let kind = e.file_type()?;
                if kind.is_symlink() {
                    anyhow::bail!("{file} is a symbolic link: hoist copies only files");
                } else if kind.is_dir() {
                    todo.push((file, e.path()));
                } else {
                    found.push(file);
                }
                if found.len() >= LIST_LIMIT {
                    return Ok(found);
                }
            }
        }
        Ok(found)
    }
}
