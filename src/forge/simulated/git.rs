//! The simulated forge's hands on the bare remote: the git CLI with its own
//! identity ("simulated forge") and no user or system configuration, so a
//! developer's `commit.gpgsign` or hooks path never changes what it does.
//! Only validated ref names and hex object ids reach git's argv; commit
//! messages go through stdin.

use crate::engine::ports::{MergeMethod, Sha};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Longest range of commits a rebase merge re-commits.
pub const MAX_REBASE: usize = 100;

/// Who the forge's own commits are by.
const NAME: &str = "simulated forge";
const EMAIL: &str = "forge@simulated.invalid";

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("git {args} failed: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("git {args} said something unexpected: {said}")]
    Unexpected { args: String, said: String },
}

/// How a head relates to its base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit {
    /// The head descends from the base tip: its tree is the result.
    Descends,
    /// The two merge cleanly into this tree.
    Merges(Sha),
    /// They conflict.
    Conflicts,
}

/// A commit's author, as git records it, to keep on a re-committed commit.
pub struct Author {
    pub name: String,
    pub email: String,
    /// `<seconds> <zone>`, git's raw date.
    pub date: String,
}

/// The bare repository the forge serves.
#[derive(Debug, Clone)]
pub struct Remote {
    pub path: PathBuf,
}

/// Is `text` a full commit id (SHA-1 or SHA-256 hex)?
pub fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Remote {
    fn command(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(&self.path);
        cmd.env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", NAME)
            .env("GIT_AUTHOR_EMAIL", EMAIL)
            .env("GIT_COMMITTER_NAME", NAME)
            .env("GIT_COMMITTER_EMAIL", EMAIL)
            .env_remove("GIT_AUTHOR_DATE")
            .env_remove("GIT_COMMITTER_DATE");
        cmd
    }

    fn output(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        author: Option<&Author>,
    ) -> Result<Output, GitError> {
        let mut cmd = self.command();
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(a) = author {
            cmd.env("GIT_AUTHOR_NAME", &a.name)
                .env("GIT_AUTHOR_EMAIL", &a.email)
                .env("GIT_AUTHOR_DATE", &a.date);
        }
        let mut child = cmd.spawn().map_err(GitError::Spawn)?;
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(bytes).map_err(GitError::Spawn)?;
        }
        child.wait_with_output().map_err(GitError::Spawn)
    }

    fn failed(args: &[&str], out: &Output) -> GitError {
        GitError::Failed {
            args: args.join(" "),
            stderr: crate::engine::one_line(&String::from_utf8_lossy(&out.stderr), 500),
        }
    }

    /// Run git; its stdout, trimmed, or an error on a non-zero exit.
    fn git(&self, args: &[&str]) -> Result<String, GitError> {
        let out = self.output(args, None, None)?;
        if !out.status.success() {
            return Err(Self::failed(args, &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// An object id git printed, checked.
    fn id(args: &[&str], said: String) -> Result<Sha, GitError> {
        if is_object_id(&said) {
            Ok(said)
        } else {
            Err(GitError::Unexpected {
                args: args.join(" "),
                said: crate::engine::one_line(&said, 200),
            })
        }
    }

    /// The commit `refs/heads/<branch>` points at, `None` when there is no
    /// such branch. `branch` must be validated by the caller.
    pub fn tip(&self, branch: &str) -> Result<Option<Sha>, GitError> {
        let spec = format!("refs/heads/{branch}^{{commit}}");
        let args = ["rev-parse", "--verify", "--quiet", spec.as_str()];
        let out = self.output(&args, None, None)?;
        match out.status.code() {
            Some(0) => {
                Self::id(&args, String::from_utf8_lossy(&out.stdout).trim().into()).map(Some)
            }
            Some(1) => Ok(None),
            _ => Err(Self::failed(&args, &out)),
        }
    }

    /// Is `id` (hex, checked by the caller) a commit here?
    pub fn has_commit(&self, id: &str) -> Result<bool, GitError> {
        let spec = format!("{id}^{{commit}}");
        let out = self.output(&["cat-file", "-e", &spec], None, None)?;
        Ok(out.status.success())
    }

    /// How `head` fits onto `base` (both commit ids).
    pub fn fit(&self, base: &str, head: &str) -> Result<Fit, GitError> {
        let args = ["merge-base", "--is-ancestor", base, head];
        let out = self.output(&args, None, None)?;
        match out.status.code() {
            Some(0) => return Ok(Fit::Descends),
            Some(1) => {}
            _ => return Err(Self::failed(&args, &out)),
        }
        Ok(
            match self.merge_tree(&["merge-tree", "--write-tree", base, head])? {
                Some(tree) => Fit::Merges(tree),
                None => Fit::Conflicts,
            },
        )
    }

    /// `git merge-tree --write-tree ...`: the tree when clean (exit 0),
    /// `None` on a conflict (exit 1).
    fn merge_tree(&self, args: &[&str]) -> Result<Option<Sha>, GitError> {
        let out = self.output(args, None, None)?;
        match out.status.code() {
            Some(0) => {
                let said = String::from_utf8_lossy(&out.stdout);
                let tree = said.lines().next().unwrap_or_default().trim().to_string();
                Self::id(args, tree).map(Some)
            }
            Some(1) => Ok(None),
            _ => Err(Self::failed(args, &out)),
        }
    }

    /// The best common ancestor of commits `a` and `b`.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<Sha, GitError> {
        let args = ["merge-base", a, b];
        Self::id(&args, self.git(&args)?)
    }

    /// The tree of commit `id`.
    pub fn tree_of(&self, id: &str) -> Result<Sha, GitError> {
        let spec = format!("{id}^{{tree}}");
        let args = ["rev-parse", "--verify", spec.as_str()];
        Self::id(&args, self.git(&args)?)
    }

    /// A new commit of `tree` with `parents` and `message` (through stdin),
    /// by `author` when given, else by the simulated forge.
    pub fn commit_tree(
        &self,
        tree: &str,
        parents: &[&str],
        message: &str,
        author: Option<&Author>,
    ) -> Result<Sha, GitError> {
        let mut args = vec!["commit-tree", tree];
        for p in parents {
            args.extend(["-p", p]);
        }
        args.extend(["-F", "-"]);
        let out = self.output(&args, Some(message.as_bytes()), author)?;
        if !out.status.success() {
            return Err(Self::failed(&args, &out));
        }
        Self::id(&args, String::from_utf8_lossy(&out.stdout).trim().into())
    }

    /// Re-commit the commits of `base..head` (merges left out, at most
    /// [`MAX_REBASE`]) one by one onto `onto`, keeping each one's author
    /// and message: the last new commit, or `None` on a conflict.
    pub fn rebase(&self, base: &str, head: &str, onto: &str) -> Result<Option<Sha>, GitError> {
        let range = format!("{base}..{head}");
        let limit = format!("--max-count={}", MAX_REBASE + 1);
        let args = [
            "rev-list",
            "--reverse",
            "--no-merges",
            limit.as_str(),
            range.as_str(),
        ];
        let listed = self.git(&args)?;
        let commits: Vec<&str> = listed.lines().map(str::trim).collect();
        if commits.len() > MAX_REBASE {
            return Err(GitError::Unexpected {
                args: args.join(" "),
                said: format!("more than {MAX_REBASE} commits to rebase"),
            });
        }
        let mut tip = onto.to_string();
        for commit in commits {
            let commit = Self::id(&args, commit.to_string())?;
            let parent = format!("{commit}^");
            let merge_base = format!("--merge-base={parent}");
            let args = ["merge-tree", "--write-tree", &merge_base, &tip, &commit];
            let Some(tree) = self.merge_tree(&args)? else {
                return Ok(None);
            };
            let message = self.git_raw(&["log", "-1", "--format=%B", &commit])?;
            let who = self.git(&[
                "log",
                "-1",
                "--format=%an%x00%ae%x00%ad",
                "--date=raw",
                &commit,
            ])?;
            let mut parts = who.split('\0');
            let author = Author {
                name: parts.next().unwrap_or_default().to_string(),
                email: parts.next().unwrap_or_default().to_string(),
                date: parts.next().unwrap_or_default().to_string(),
            };
            tip = self.commit_tree(&tree, &[&tip], &message, Some(&author))?;
        }
        Ok(Some(tip))
    }

    /// Run git; its stdout as it is (a commit message keeps its last line end).
    fn git_raw(&self, args: &[&str]) -> Result<String, GitError> {
        let out = self.output(args, None, None)?;
        if !out.status.success() {
            return Err(Self::failed(args, &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Move `refs/heads/<branch>` from `old` to `new` iff it is still at
    /// `old` (compare-and-swap); `false` when it moved.
    pub fn move_branch(&self, branch: &str, new: &str, old: &str) -> Result<bool, GitError> {
        let name = format!("refs/heads/{branch}");
        let args = ["update-ref", name.as_str(), new, old];
        let out = self.output(&args, None, None)?;
        if out.status.success() {
            return Ok(true);
        }
        // Lost the race (or the ref is locked): is it still where we thought?
        match self.tip(branch)? {
            Some(now) if now == old => Err(Self::failed(&args, &out)),
            _ => Ok(false),
        }
    }

    /// Delete `refs/heads/<branch>`; one already gone is fine (false).
    pub fn delete_branch(&self, branch: &str) -> Result<bool, GitError> {
        if self.tip(branch)?.is_none() {
            return Ok(false);
        }
        let name = format!("refs/heads/{branch}");
        self.git(&["update-ref", "-d", &name]).map(|_| true)
    }
}

impl Remote {
    /// The new commit for `head` merged with `method` onto `base_tip`, or why not.
    pub fn merged(
        &self,
        head: &str,
        base_tip: &str,
        method: MergeMethod,
        message: &str,
    ) -> Result<Result<Sha, String>, GitError> {
        let tree = match self.fit(base_tip, head)? {
            Fit::Descends => self.tree_of(head)?,
            Fit::Merges(tree) => tree,
            Fit::Conflicts => return Ok(Err("the head conflicts with the base".into())),
        };
        Ok(match method {
            MergeMethod::Merge => Ok(self.commit_tree(&tree, &[base_tip, head], message, None)?),
            MergeMethod::Squash => Ok(self.commit_tree(&tree, &[base_tip], message, None)?),
            MergeMethod::Rebase => {
                let since = self.merge_base(base_tip, head)?;
                self.rebase(&since, head, base_tip)?
                    .ok_or_else(|| "a commit conflicts with the base".to_string())
            }
        })
    }
}
