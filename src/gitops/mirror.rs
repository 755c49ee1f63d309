//! The persistent bare mirror of the config repo under the data dir, driven by
//! the git CLI for everything that talks to the remote (fetch, push): it
//! handles every transport and credential setup users already have. Created
//! once, fetched before each plan, never re-cloned.
//!
//! The remote's default branch is asked once (`ls-remote --symref`) and
//! remembered in the mirror as git itself does, in the symbolic ref
//! `refs/remotes/origin/HEAD`; a failed fetch or push forgets it, so a branch
//! renamed on the remote is asked about again. What the remote says (push
//! status, hook messages) is hostile input: it is parsed without assuming
//! UTF-8, and what reaches people is stripped of control characters and
//! bounded in length.

use super::credentials::{Access, Credentials};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[derive(Debug, thiserror::Error)]
pub enum GitCliError {
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    #[error("git {args} failed: {stderr}")]
    Failed { args: String, stderr: String },
}

/// How a push ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushResult {
    Pushed,
    /// The remote moved (non-fast-forward, stale lease, lock contention): re-plan.
    Stale(String),
    /// The remote refused for another reason (a hook, branch protection): do not retry.
    Refused(String),
}

#[derive(Debug, Clone)]
pub struct Mirror {
    pub path: PathBuf,
    pub url: String,
    credentials: Credentials,
}

/// Where the remote's default branch is remembered (as `git clone` does).
const REMOTE_HEAD: &str = "refs/remotes/origin/HEAD";

/// Reasons git gives when someone else moved the ref first.
const STALE_MARKERS: &[&str] = &[
    "non-fast-forward",
    "fetch first",
    "cannot lock ref",
    "incorrect old value provided",
    "stale info",
];

impl Mirror {
    /// Open the mirror for `url` under `data_dir`, creating it on first use.
    pub fn open(data_dir: &Path, url: &str, access: &Access) -> Result<Self, GitCliError> {
        let url = normalize_url(url);
        let name: String = url
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = name
            .trim_matches('_')
            .chars()
            .rev()
            .take(80)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>();
        let path = data_dir.join("mirrors").join(format!("{name}.git"));
        let mirror = Mirror {
            path,
            url: url.clone(),
            credentials: Credentials::new(&url, access),
        };
        if !mirror.path.join("HEAD").exists() {
            std::fs::create_dir_all(&mirror.path).map_err(GitCliError::Spawn)?;
            mirror.git(&["init", "--bare", "--quiet"])?;
            mirror.git(&["config", "remote.origin.url", &mirror.url])?;
            mirror.git(&[
                "config",
                "remote.origin.fetch",
                "+refs/heads/*:refs/remotes/origin/*",
            ])?;
            mirror.git(&["config", "gc.autoDetach", "false"])?;
        }
        Ok(mirror)
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(&self.path);
        // Never prompt: a bot has no terminal. Credentials come from helpers/askpass.
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GCM_INTERACTIVE", "never");
        cmd.env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE");
        self.credentials.apply(&mut cmd);
        cmd
    }

    fn run(&self, args: &[&str]) -> Result<Output, GitCliError> {
        self.command()
            .args(args)
            .output()
            .map_err(GitCliError::Spawn)
    }

    /// Run git and fail on a non-zero exit.
    pub fn git(&self, args: &[&str]) -> Result<String, GitCliError> {
        let out = self.run(args)?;
        if !out.status.success() {
            return Err(GitCliError::Failed {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Is `commit` `tip` itself or one of its ancestors? `false` when the
    /// mirror does not have `commit` at all.
    pub fn is_ancestor(&self, commit: &str, tip: &str) -> Result<bool, GitCliError> {
        let out = self.run(&["merge-base", "--is-ancestor", commit, tip])?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            // 128: an unknown object, which cannot be on the remote's branch either.
            _ if self
                .git(&["cat-file", "-e", &format!("{commit}^{{commit}}")])
                .is_err() =>
            {
                Ok(false)
            }
            _ => Err(GitCliError::Failed {
                args: format!("merge-base --is-ancestor {commit} {tip}"),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            }),
        }
    }

    /// The branch the remote's HEAD points at: remembered after the first
    /// answer, asked for again after [`Mirror::forget_default_branch`]
    /// (`main` when the remote does not say, which is not remembered).
    pub fn default_branch(&self) -> Result<String, GitCliError> {
        if let Some(branch) = self.remembered_default_branch() {
            return Ok(branch);
        }
        let out = self.git(&["ls-remote", "--symref", "origin", "HEAD"])?;
        let Some(branch) = symref_head(&out) else {
            return Ok("main".into());
        };
        let tracking = format!("refs/remotes/origin/{branch}");
        self.git(&["symbolic-ref", REMOTE_HEAD, &tracking])?;
        Ok(branch)
    }

    /// The default branch remembered in the mirror, if any.
    fn remembered_default_branch(&self) -> Option<String> {
        let out = self.run(&["symbolic-ref", "--quiet", REMOTE_HEAD]).ok()?;
        if !out.status.success() {
            return None;
        }
        let target = String::from_utf8_lossy(&out.stdout);
        let branch = target.trim().strip_prefix("refs/remotes/origin/")?;
        valid_branch(branch).then(|| branch.to_string())
    }

    /// Forget the remembered default branch (the next call asks the remote);
    /// the branch that was remembered, if any.
    pub fn forget_default_branch(&self) -> Option<String> {
        let was = self.remembered_default_branch();
        if was.is_some() {
            // Failing to delete leaves the old answer, which the next failed
            // fetch forgets again: nothing to report.
            let _ = self.run(&["symbolic-ref", "--delete", "--quiet", REMOTE_HEAD]);
        }
        was
    }

    /// Fetch one branch; only the branches in use are ever fetched.
    pub fn fetch(&self, branch: &str) -> Result<(), GitCliError> {
        let spec = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
        let args = [
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "origin",
            &spec,
        ];
        // A push (or another fetch) moved the tracking ref while this fetch
        // wrote it: git refuses the stale update. A fetch is idempotent, so
        // it is asked again rather than failing the request.
        let mut tries = 0;
        loop {
            match self.git(&args) {
                Err(GitCliError::Failed { stderr, .. })
                    if tries < 3 && stderr.contains("cannot lock ref") =>
                {
                    tries += 1;
                }
                done => return done.map(|_| ()),
            }
        }
    }

    /// Combine the mirror's packs once there are more than `max` (each push
    /// adds one): a geometric repack merges the small ones and leaves the big
    /// one alone, so it stays cheap however large the repo.
    pub fn tidy(&self, max: usize) -> Result<(), GitCliError> {
        let packs = std::fs::read_dir(self.path.join("objects/pack"))
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".idx"))
                    .count()
            })
            .unwrap_or(0);
        if packs > max {
            self.git(&["repack", "-d", "-q", "--geometric=2"])?;
        }
        Ok(())
    }

    /// Push `commit` to `branch` if and only if the remote still has `expected`
    /// there (a compare-and-swap through `--force-with-lease` with an explicit
    /// expected value; `commit` is always a child of `expected`, so this never
    /// rewrites history).
    pub fn push(
        &self,
        branch: &str,
        commit: &str,
        expected: &str,
    ) -> Result<PushResult, GitCliError> {
        let lease = format!("--force-with-lease=refs/heads/{branch}:{expected}");
        let spec = format!("{commit}:refs/heads/{branch}");
        let out = self.run(&["push", "--porcelain", "--atomic", &lease, "origin", &spec])?;
        Ok(push_result(out.status.success(), &out.stdout, &out.stderr))
    }
}

/// How a push ended, from git's exit status and what it printed. When
/// the push went through, git itself moved `refs/remotes/origin/BRANCH`
/// (the fetch refspec maps it), so the next write starts from the pushed
/// commit without a fetch.
pub(crate) fn push_result(success: bool, stdout: &[u8], stderr: &[u8]) -> PushResult {
    if success {
        return PushResult::Pushed;
    }
    let (stdout, stderr) = (
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(stderr),
    );
    let all = format!("{stdout}\n{stderr}");
    let detail = remote_message(&stderr).unwrap_or_else(|| said(all.trim()));
    if STALE_MARKERS.iter().any(|m| all.contains(m)) && !all.contains("pre-receive hook declined") {
        PushResult::Stale(detail)
    } else {
        PushResult::Refused(detail)
    }
}

/// The branch `ls-remote --symref origin HEAD` names (`ref: refs/heads/B\tHEAD`),
/// if it names one that is a usable branch name.
pub(crate) fn symref_head(out: &str) -> Option<String> {
    out.lines().find_map(|l| {
        let (target, name) = l.strip_prefix("ref: refs/heads/")?.split_once('\t')?;
        (name == "HEAD" && valid_branch(target)).then(|| target.to_string())
    })
}

/// A branch name hoist will put in a ref or a refspec: git's own rules
/// (`git check-ref-format`), a little stricter (no leading `-`, bounded).
pub(crate) fn valid_branch(b: &str) -> bool {
    crate::policy::branch_problem(b).is_none()
}

/// Longest text from the remote passed on to people.
const SAID_MAX: usize = 2000;

/// Text from the remote as people may see it: control characters (terminal
/// escapes included) dropped but for line ends, cut after [`SAID_MAX`] bytes.
pub(crate) fn said(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(SAID_MAX + 4));
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            continue;
        }
        if out.len() + c.len_utf8() > SAID_MAX {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

/// The `remote:` lines of a push's stderr (what a hook said), if any.
pub(crate) fn remote_message(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("remote:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    (!lines.is_empty()).then(|| said(&lines.join("\n")))
}

/// Local paths become absolute so the mirror finds them from its own directory.
fn normalize_url(url: &str) -> String {
    let looks_remote = url.contains("://") || (url.contains('@') && url.contains(':'));
    if looks_remote {
        return url.to_string();
    }
    std::fs::canonicalize(url)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| url.to_string())
}

#[cfg(test)]
mod tests;
