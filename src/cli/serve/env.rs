//! The settings `hoist serve` reads from the environment besides the
//! cluster and git ones: Slack's (`SLACK_*`, `HOIST_SLACK_*`), how much work
//! at once (`HOIST_SLACK_WORK_LIMIT`),
//! the listener's limits (`HOIST_HTTP_*`), how long a shutdown waits for
//! work in flight (`HOIST_SHUTDOWN_GRACE`) and how long the journal keeps
//! dedupe keys and chat notes (`HOIST_JOURNAL_RETENTION`). Bad values are
//! start-up errors naming the variable.

use super::super::setup;
use crate::chat::slack;
use crate::server::Limits;
use anyhow::anyhow;
use std::time::Duration;

/// `HOIST_SLACK_WORK_LIMIT`: requests worked on at once (default 512).
pub fn work_limit() -> anyhow::Result<usize> {
    Ok(positive("HOIST_SLACK_WORK_LIMIT")?.unwrap_or(512))
}

/// `HOIST_SHUTDOWN_GRACE`: how long SIGTERM waits for work in flight
/// (default `30s`).
pub fn shutdown_grace() -> anyhow::Result<Duration> {
    Ok(wait("HOIST_SHUTDOWN_GRACE")?.unwrap_or(Duration::from_secs(30)))
}

/// `HOIST_JOURNAL_RETENTION`: how long the journal keeps dedupe keys and
/// chat notes, like `30d` or `12h` (default `30d`; at least `1h`, so a
/// retried or replayed delivery is still recognised). Operations are kept.
pub fn journal_retention() -> anyhow::Result<Duration> {
    const NAME: &str = "HOIST_JOURNAL_RETENTION";
    let Some(v) = env_set(NAME) else {
        return Ok(Duration::from_secs(30 * 86_400));
    };
    let secs = v
        .trim()
        .parse::<hoist_commands::Duration>()
        .map_err(|_| anyhow!("{NAME}: `{v}` is not a duration like `30d` or `12h`"))?
        .as_secs();
    if secs < 3600 {
        anyhow::bail!("{NAME}: `{v}` is shorter than `1h`");
    }
    Ok(Duration::from_secs(secs))
}

/// A positive number from `name`, if set.
fn positive(name: &str) -> anyhow::Result<Option<usize>> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| anyhow!("{name}: `{v}` is not a positive number")),
        _ => Ok(None),
    }
}

/// A wait like `250ms` or `2s` from `name`, if set (not zero).
fn wait(name: &str) -> anyhow::Result<Option<Duration>> {
    let Some(v) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    setup::wait(v.trim())
        .ok()
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| anyhow!("{name}: `{v}` is not a wait like `250ms` or `2s`"))
}

/// File descriptors kept for everything but inbound connections: git's
/// pipes, the journal, the Slack and Kubernetes clients, the runtimes.
const FD_RESERVE: usize = 64;

/// The soft limit on open files (Linux; `None` elsewhere or unlimited).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The listener's limits: `HOIST_HTTP_HEADER_TIMEOUT` (`10s`),
/// `HOIST_HTTP_BODY_TIMEOUT` (`10s`), `HOIST_HTTP_MAX_CONNECTIONS` (512).
/// The cap never exceeds what the open-file limit leaves after
/// [`FD_RESERVE`], so accepting never runs the process out of descriptors.
pub fn http_limits() -> anyhow::Result<Limits> {
    let mut limits = Limits::default();
    if let Some(d) = wait("HOIST_HTTP_HEADER_TIMEOUT")? {
        limits.header_timeout = d;
    }
    if let Some(d) = wait("HOIST_HTTP_BODY_TIMEOUT")? {
        limits.body_timeout = d;
    }
    if let Some(n) = positive("HOIST_HTTP_MAX_CONNECTIONS")? {
        limits.max_connections = n;
    }
    if let Some(files) = open_file_limit() {
        let room = files.saturating_sub(FD_RESERVE).max(files / 2).max(1);
        if limits.max_connections > room {
            super::life::tell(
                true,
                &format!("serving at most {room} connections at once (open-file limit {files})"),
            );
            limits.max_connections = room;
        }
    }
    Ok(limits)
}

fn env_set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A comma-separated list of reaction names (`:x:` or `x`), else `default`.
fn list(name: &str, default: &[&str]) -> Vec<String> {
    match env_set(name) {
        Some(v) => v
            .split(',')
            .map(|s| s.trim().trim_matches(':').to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => default.iter().map(|s| s.to_string()).collect(),
    }
}

/// Slack's settings: `None` when Slack is not configured (no
/// `SLACK_BOT_TOKEN`). A bot token needs a way in: the signing secret
/// (HTTP) or an app token (Socket Mode).
pub fn slack_config() -> anyhow::Result<Option<slack::Config>> {
    let Some(bot_token) = env_set("SLACK_BOT_TOKEN") else {
        if env_set("SLACK_SIGNING_SECRET").is_some() || env_set("SLACK_APP_TOKEN").is_some() {
            anyhow::bail!("Slack: SLACK_BOT_TOKEN is needed to answer (xoxb-...)");
        }
        return Ok(None);
    };
    let signing_secret = env_set("SLACK_SIGNING_SECRET");
    let app_token = env_set("SLACK_APP_TOKEN");
    if signing_secret.is_none() && app_token.is_none() {
        anyhow::bail!(
            "Slack: set SLACK_SIGNING_SECRET (HTTP endpoints) or SLACK_APP_TOKEN (Socket Mode)"
        );
    }
    let group_ttl = match env_set("HOIST_SLACK_GROUP_TTL") {
        Some(v) => Duration::from_secs(
            v.parse()
                .map_err(|_| anyhow!("HOIST_SLACK_GROUP_TTL: `{v}` is not a number of seconds"))?,
        ),
        None => Duration::from_secs(300),
    };
    Ok(Some(slack::Config {
        signing_secret,
        bot_token,
        app_token,
        api_url: env_set("SLACK_API_URL").unwrap_or_else(|| "https://slack.com/api".into()),
        approve: list("HOIST_SLACK_APPROVE", &["white_check_mark", "+1"]),
        deny: list("HOIST_SLACK_DENY", &["x", "-1"]),
        group_ttl,
    }))
}
