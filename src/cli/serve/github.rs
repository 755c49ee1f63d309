//! GitHub in `hoist serve`: the line of the start-up summary that says
//! whether pull requests go through GitHub (which repository, as whom,
//! webhook or polling) or which variable would switch it on, and the
//! webhook's wake-ups handed to the GitHub adapter
//! ([`crate::server::github::Hooks`]).

use super::life::Part;
use crate::cli::settings::github::GitHub as Settings;
use crate::forge::github::GitHub;
use crate::server::github::Hooks;

impl Hooks for GitHub {
    fn pull_request(&self, number: u64) {
        self.notify_pr(number);
    }

    fn head(&self, sha: &str) {
        self.notify_head(sha);
    }
}

/// The summary's GitHub line; `repo` is `owner/name` when GitHub is on.
pub fn part(settings: &Settings, repo: Option<&str>) -> Part {
    match (&settings.auth, repo) {
        (Some(auth), Some(repo)) => {
            let hook = match &settings.webhook_secret {
                Some(_) => "webhook POST /github/webhook".to_string(),
                None => format!(
                    "no webhook (GITHUB_WEBHOOK_SECRET is not set): open pull requests polled \
                     every {}s",
                    settings.poll.as_secs()
                ),
            };
            Part::On(format!(
                "GitHub {repo} at {} ({}; {hook}): via: pull-request environments open pull \
                 requests",
                settings.api_url,
                auth.kind()
            ))
        }
        (Some(auth), None) => Part::Off(format!(
            "GitHub: {} is set but the config repo is not a github.com URL; set \
             HOIST_GITHUB_REPO=owner/name (GitHub Enterprise: with GITHUB_API_URL)",
            match auth {
                crate::cli::settings::github::GitHubAuth::Token(_) => "GITHUB_TOKEN",
                _ => "GITHUB_APP_ID",
            }
        )),
        (None, _) => Part::Off(
            "GitHub: GITHUB_TOKEN (or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, \
             GITHUB_APP_INSTALLATION_ID) is not set; via: pull-request environments are refused"
                .into(),
        ),
    }
}
