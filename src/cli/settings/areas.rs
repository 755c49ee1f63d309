//! One reader per area of [`Settings`](super::Settings), called only by
//! [`Settings::from_lookup`](super::Settings::from_lookup): the defaults,
//! the flags over the variables, and the checks that cross variables (a
//! Slack bot token needs a way in; a retention is at least an hour).

use super::read::{Error, Vars};
use super::{Cluster, Flags, Place, PolicySigners, Serve};
use crate::chat::slack;
use crate::engine::Backoff;
use crate::engine::drift::Timing;
use std::ffi::OsString;
use std::time::Duration;

pub fn place<F: Fn(&str) -> Option<OsString>>(v: &Vars<F>, flags: &Flags) -> Result<Place, Error> {
    let repo = match &flags.repo {
        Some(r) => r.clone(),
        None => v
            .text("HOIST_REPO")?
            .map(|r| r.trim().to_string())
            .ok_or_else(|| {
                Error::said(
                    "HOIST_REPO",
                    "the config repo is not set: pass --repo or set HOIST_REPO",
                )
            })?,
    };
    let data_dir = match &flags.data_dir {
        Some(d) => d.clone(),
        None => v.path("HOIST_DATA_DIR").ok_or_else(|| {
            Error::said(
                "HOIST_DATA_DIR",
                "the data directory is not set: pass --data-dir or set HOIST_DATA_DIR",
            )
        })?,
    };
    let listen = match &flags.listen {
        Some(l) => l.clone(),
        None => match v.text("HOIST_LISTEN")? {
            Some(l) => l.trim().to_string(),
            None => Place::default().listen,
        },
    };
    Ok(Place {
        repo,
        data_dir,
        listen,
    })
}

pub fn policy_signers<F: Fn(&str) -> Option<OsString>>(
    v: &Vars<F>,
) -> Result<PolicySigners, Error> {
    let files = v
        .text("HOIST_POLICY_SIGNERS")?
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(std::path::PathBuf::from)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let trust_from = v.parsed(
        "HOIST_POLICY_TRUST_FROM",
        |s| {
            // A full id only: a 7-digit prefix can be matched by a ground
            // commit id in minutes.
            let hex = matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit());
            hex.then(|| s.to_ascii_lowercase())
        },
        "is not a full commit id (40 or 64 hex digits)",
    )?;
    if trust_from.is_some() && files.is_empty() {
        return Err(Error::said(
            "HOIST_POLICY_TRUST_FROM",
            "HOIST_POLICY_TRUST_FROM pins where the policy signers' chain starts; set HOIST_POLICY_SIGNERS too",
        ));
    }
    Ok(PolicySigners { files, trust_from })
}

pub fn push<F: Fn(&str) -> Option<OsString>>(v: &Vars<F>) -> Result<Backoff, Error> {
    let d = Backoff::default();
    Ok(Backoff {
        attempts: v
            .parsed(
                "HOIST_PUSH_ATTEMPTS",
                |n| n.parse().ok().filter(|n| *n > 0),
                "is not a positive number",
            )?
            .unwrap_or(d.attempts),
        first: v.wait("HOIST_PUSH_BACKOFF", true)?.unwrap_or(d.first),
        cap: v.wait("HOIST_PUSH_BACKOFF_CAP", true)?.unwrap_or(d.cap),
        ..d
    })
}

/// A namespace name: a DNS label (lower-case letters, digits, `-`).
fn namespace(n: &str) -> bool {
    (1..=63).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !n.starts_with('-')
        && !n.ends_with('-')
}

pub fn cluster<F: Fn(&str) -> Option<OsString>>(v: &Vars<F>) -> Result<Cluster, Error> {
    const NAMESPACES: &str = "HOIST_WATCH_NAMESPACES";
    let namespaces = v.names(NAMESPACES, &[])?.unwrap_or_default();
    if let Some(bad) = namespaces.iter().find(|n| !namespace(n)) {
        return Err(Error::bad(
            NAMESPACES,
            format!("`{bad}` is not a namespace name"),
        ));
    }
    Ok(Cluster {
        kubeconfig: v.path("KUBECONFIG"),
        in_pod: v.path("KUBERNETES_SERVICE_HOST").is_some(),
        enabled: v.switch("HOIST_CLUSTER")?.unwrap_or(true),
        namespaces,
        selector: v
            .text("HOIST_WATCH_SELECTOR")?
            .map(|s| s.trim().to_string()),
        poke: v.switch("HOIST_POKE")?.unwrap_or(true),
    })
}

/// Slack's settings: `None` without `SLACK_BOT_TOKEN`. A bot token needs a
/// way in: the signing secret (HTTP) or an app token (Socket Mode).
pub fn slack<F: Fn(&str) -> Option<OsString>>(v: &Vars<F>) -> Result<Option<slack::Config>, Error> {
    let token = |name| Ok::<_, Error>(v.text(name)?.map(|t| t.trim().to_string()));
    let signing_secret = token("SLACK_SIGNING_SECRET")?;
    let app_token = token("SLACK_APP_TOKEN")?;
    let Some(bot_token) = token("SLACK_BOT_TOKEN")? else {
        if signing_secret.is_some() || app_token.is_some() {
            return Err(Error::said(
                "SLACK_BOT_TOKEN",
                "Slack: SLACK_BOT_TOKEN is needed to answer (xoxb-...)",
            ));
        }
        return Ok(None);
    };
    if signing_secret.is_none() && app_token.is_none() {
        return Err(Error::said(
            "SLACK_SIGNING_SECRET",
            "Slack: set SLACK_SIGNING_SECRET (HTTP endpoints) or SLACK_APP_TOKEN (Socket Mode)",
        ));
    }
    let reactions = |name, default: &[&str]| {
        Ok::<_, Error>(
            v.names(name, &[':'])?
                .unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect()),
        )
    };
    Ok(Some(slack::Config {
        signing_secret,
        bot_token,
        app_token,
        api_url: v
            .text("SLACK_API_URL")?
            .map(|u| u.trim().to_string())
            .unwrap_or_else(|| "https://slack.com/api".into()),
        approve: reactions("HOIST_SLACK_APPROVE", &["white_check_mark", "+1"])?,
        deny: reactions("HOIST_SLACK_DENY", &["x", "-1"])?,
        group_ttl: v
            .seconds("HOIST_SLACK_GROUP_TTL")?
            .unwrap_or(Duration::from_secs(300)),
    }))
}

pub fn serve<F: Fn(&str) -> Option<OsString>>(v: &Vars<F>) -> Result<Serve, Error> {
    const RETENTION: &str = "HOIST_JOURNAL_RETENTION";
    let d = Serve::default();
    let retention = v.duration(RETENTION)?.unwrap_or(d.retention);
    if retention < Duration::from_secs(3600) {
        let given = v.text(RETENTION)?.unwrap_or_default();
        return Err(Error::bad(
            RETENTION,
            format!("`{given}` is shorter than `1h`"),
        ));
    }
    // Drift is looked for every grace/4 (at least every 50 ms) and a
    // reminder posts again: a floor keeps both from flooding.
    let at_least = |name: &'static str, floor: Duration, shown: &str| {
        let value = v.wait(name, false)?;
        if value.is_some_and(|d| d < floor) {
            let given = v.text(name)?.unwrap_or_default();
            return Err(Error::bad(
                name,
                format!("`{given}` is shorter than `{shown}`"),
            ));
        }
        Ok(value)
    };
    let drift = Timing {
        grace: at_least("HOIST_DRIFT_GRACE", Duration::from_secs(1), "1s")?
            .unwrap_or(d.drift.grace),
        remind: at_least("HOIST_DRIFT_REMIND", Duration::from_secs(60), "60s")?
            .unwrap_or(d.drift.remind),
    };
    Ok(Serve {
        work_limit: v
            .positive("HOIST_SLACK_WORK_LIMIT")?
            .unwrap_or(d.work_limit),
        grace: v.wait("HOIST_SHUTDOWN_GRACE", false)?.unwrap_or(d.grace),
        drift,
        retention,
    })
}
