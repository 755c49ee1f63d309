//! GitHub's settings: who hoist is there (`GITHUB_TOKEN`, or a GitHub App:
//! `GITHUB_APP_ID`, `GITHUB_APP_PRIVATE_KEY`, `GITHUB_APP_INSTALLATION_ID`,
//! all three or none), which repository (`HOIST_GITHUB_REPO`, else derived
//! from the config repo's URL when wired), where its API is
//! (`GITHUB_API_URL`, for GitHub Enterprise and tests), the webhook's secret
//! (`GITHUB_WEBHOOK_SECRET`) and how often an open pull request is looked at
//! without one (`HOIST_GITHUB_POLL`). Read only by the subcommands that
//! write (`serve`, `exec`); a half-configured App, a repository that is not
//! `owner/name` or a secret with nothing to wake stop them with a message
//! naming the variable.

use super::read::{Error, Secret, Vars};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// github.com's API, unless `GITHUB_API_URL` says otherwise.
pub const GITHUB_API: &str = "https://api.github.com";

/// The shortest poll interval `HOIST_GITHUB_POLL` may set: GitHub's own
/// rate limits (5,000 requests an hour) leave room for a handful of open
/// PRs looked at this often.
pub const POLL_FLOOR: Duration = Duration::from_secs(5);

/// The App's private key: the PEM text itself, or a file holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppKey {
    /// The value starts with `-----BEGIN`: the key itself.
    Pem(Secret),
    /// Anything else is a path, read at start.
    File(PathBuf),
}

/// Who hoist is on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitHubAuth {
    /// `GITHUB_TOKEN`: a personal, fine-grained or Actions token.
    Token(Secret),
    /// `GITHUB_APP_*`: an App installed on the repository's owner.
    App {
        app_id: u64,
        key: AppKey,
        installation_id: u64,
    },
}

impl GitHubAuth {
    /// In words, for the start-up summary.
    pub fn kind(&self) -> String {
        match self {
            GitHubAuth::Token(_) => "GITHUB_TOKEN".into(),
            GitHubAuth::App {
                app_id,
                installation_id,
                ..
            } => format!("GitHub App {app_id}, installation {installation_id}"),
        }
    }
}

/// Everything about GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHub {
    /// `None`: GitHub is off (no token, no App).
    pub auth: Option<GitHubAuth>,
    /// `HOIST_GITHUB_REPO`: `(owner, name)`; `None`: from the repo URL.
    pub repo: Option<(String, String)>,
    /// `GITHUB_API_URL`, without a trailing `/`.
    pub api_url: String,
    /// `GITHUB_WEBHOOK_SECRET`: `/github/webhook` is on.
    pub webhook_secret: Option<Secret>,
    /// `HOIST_GITHUB_POLL`: an open PR is looked at at least this often.
    pub poll: Duration,
}

impl Default for GitHub {
    fn default() -> Self {
        GitHub {
            auth: None,
            repo: None,
            api_url: GITHUB_API.into(),
            webhook_secret: None,
            poll: Duration::from_secs(30),
        }
    }
}

/// An owner or repository name as GitHub allows it.
fn name(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn id<F: Fn(&str) -> Option<OsString>>(
    v: &Vars<F>,
    var: &'static str,
) -> Result<Option<u64>, Error> {
    v.parsed(
        var,
        |s| s.parse().ok().filter(|n| *n > 0),
        "is not a positive number (the App's or installation's id)",
    )
}

fn auth<F: Fn(&str) -> Option<OsString>>(v: &Vars<F>) -> Result<Option<GitHubAuth>, Error> {
    const APP: [&str; 3] = [
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_APP_INSTALLATION_ID",
    ];
    let app_id = id(v, "GITHUB_APP_ID")?;
    let key = v.text("GITHUB_APP_PRIVATE_KEY")?.map(|k| {
        if k.trim_start().starts_with("-----BEGIN") {
            AppKey::Pem(Secret::new(k))
        } else {
            AppKey::File(PathBuf::from(k.trim()))
        }
    });
    let installation_id = id(v, "GITHUB_APP_INSTALLATION_ID")?;
    let token = v
        .text("GITHUB_TOKEN")?
        .map(|t| Secret::new(t.trim().into()));
    let set = [app_id.is_some(), key.is_some(), installation_id.is_some()];
    let app = match (app_id, key, installation_id) {
        (Some(app_id), Some(key), Some(installation_id)) => Some(GitHubAuth::App {
            app_id,
            key,
            installation_id,
        }),
        (None, None, None) => None,
        _ => {
            let missing: Vec<&str> = APP
                .iter()
                .zip(set)
                .filter(|(_, set)| !set)
                .map(|(n, _)| *n)
                .collect();
            return Err(Error::said(
                APP.iter()
                    .zip(set)
                    .find(|(_, set)| !set)
                    .map_or(APP[0], |(n, _)| n),
                format!(
                    "GitHub App: {} not set (an App needs GITHUB_APP_ID, \
                     GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID)",
                    missing.join(", ")
                ),
            ));
        }
    };
    match (token, app) {
        (Some(_), Some(_)) => Err(Error::said(
            "GITHUB_TOKEN",
            "GitHub: set GITHUB_TOKEN or the GITHUB_APP_* variables, not both",
        )),
        (Some(t), None) => Ok(Some(GitHubAuth::Token(t))),
        (None, app) => Ok(app),
    }
}

pub fn github<F: Fn(&str) -> Option<OsString>>(v: &Vars<F>) -> Result<GitHub, Error> {
    let d = GitHub::default();
    let auth = auth(v)?;
    let repo = v.parsed(
        "HOIST_GITHUB_REPO",
        |s| {
            let (owner, repo) = s.split_once('/')?;
            (name(owner) && name(repo)).then(|| (owner.to_string(), repo.to_string()))
        },
        "is not `owner/name`",
    )?;
    let api_url = v.parsed(
        "GITHUB_API_URL",
        |s| {
            let lower = s.to_ascii_lowercase();
            let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
                && !s.chars().any(|c| c.is_whitespace() || c.is_control());
            ok.then(|| s.trim_end_matches('/').to_string())
        },
        "is not an http(s) URL (GitHub Enterprise: `https://HOST/api/v3`)",
    )?;
    let webhook_secret = v.text("GITHUB_WEBHOOK_SECRET")?.map(Secret::new);
    if webhook_secret.is_some() && auth.is_none() {
        return Err(Error::said(
            "GITHUB_WEBHOOK_SECRET",
            "GITHUB_WEBHOOK_SECRET is set but GitHub is not: set GITHUB_TOKEN or the \
             GITHUB_APP_* variables too",
        ));
    }
    let poll = v.wait("HOIST_GITHUB_POLL", false)?;
    if poll.is_some_and(|p| p < POLL_FLOOR) {
        let given = v.text("HOIST_GITHUB_POLL")?.unwrap_or_default();
        return Err(Error::bad(
            "HOIST_GITHUB_POLL",
            format!("`{given}` is shorter than `5s`"),
        ));
    }
    Ok(GitHub {
        auth,
        repo,
        api_url: api_url.unwrap_or(d.api_url),
        webhook_secret,
        poll: poll.unwrap_or(d.poll),
    })
}
