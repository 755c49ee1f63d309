//! The persistent bare mirror of the config repo under the data dir, driven by
//! the git CLI for everything that talks to the remote (fetch, push): it
//! handles every transport and credential setup users already have. Created
//! once, fetched before each plan, never re-cloned.

use super::credentials::Credentials;
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
    pub fn open(data_dir: &Path, url: &str) -> Result<Self, GitCliError> {
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
            url,
            credentials: Credentials::from_env(),
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

    /// The branch the remote's HEAD points at (`main` when it cannot tell).
    pub fn default_branch(&self) -> Result<String, GitCliError> {
        let out = self.git(&["ls-remote", "--symref", "origin", "HEAD"])?;
        Ok(out
            .lines()
            .find_map(|l| {
                l.strip_prefix("ref: refs/heads/")?
                    .split_whitespace()
                    .next()
                    .map(String::from)
            })
            .unwrap_or_else(|| "main".into()))
    }

    /// Fetch one branch; only the branches in use are ever fetched.
    pub fn fetch(&self, branch: &str) -> Result<(), GitCliError> {
        let spec = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
        self.git(&[
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "origin",
            &spec,
        ])
        .map(|_| ())
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
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            // git itself moved refs/remotes/origin/BRANCH (the fetch refspec
            // maps it), so the next write starts from this commit without a fetch.
            return Ok(PushResult::Pushed);
        }
        let all = format!("{stdout}\n{stderr}");
        let detail = remote_message(&stderr).unwrap_or_else(|| all.trim().to_string());
        if STALE_MARKERS.iter().any(|m| all.contains(m))
            && !all.contains("pre-receive hook declined")
        {
            Ok(PushResult::Stale(detail))
        } else {
            Ok(PushResult::Refused(detail))
        }
    }
}

/// The `remote:` lines of a push's stderr (what a hook said), if any.
fn remote_message(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("remote:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
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
