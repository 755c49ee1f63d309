//! Words for chat: diffs, summaries, times (commit messages: [`super::message`]).
//! Kept in one place so every surface (console, Slack, Discord) says the same.

use super::ports::{LineChange, Plan, Progress};
use super::{Change, Operation, Outcome, Reply, State};
use hoist_commands::{Name, Version};

pub fn names(apps: &[Name]) -> String {
    apps.iter().map(Name::as_str).collect::<Vec<_>>().join(",")
}

pub fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// The changes of a plan, per app, for the journal.
pub fn changes(edits: &[(Name, Version)], plan: &Plan) -> Vec<Change> {
    edits
        .iter()
        .zip(&plan.files)
        .map(|((app, version), f)| Change {
            app: app.to_string(),
            version: version.to_string(),
            file: f.path.clone(),
            old_value: f.old_value.clone(),
            new_value: f.new_value.clone(),
            lines: f.lines.clone(),
        })
        .collect()
}

/// `path:LINE  - old  + new` for each changed line of each file.
fn lines<'a>(files: impl Iterator<Item = (&'a str, &'a [LineChange])>) -> String {
    let mut out = Vec::new();
    for (path, changed) in files {
        for l in changed {
            out.push(format!(
                "  {path}:{}\n  - {}\n  + {}",
                l.line,
                l.old.trim(),
                l.new.trim()
            ));
        }
    }
    out.join("\n")
}

/// The diff a plan would write.
pub fn diff(plan: &Plan) -> String {
    lines(
        plan.files
            .iter()
            .map(|f| (f.path.as_str(), f.lines.as_slice())),
    )
}

/// The diff of a journaled operation, as `diff` shows a plan.
pub fn change_lines(changes: &[Change]) -> String {
    lines(
        changes
            .iter()
            .map(|c| (c.file.as_str(), c.lines.as_slice())),
    )
}

pub fn phase(p: &Progress) -> &'static str {
    match p {
        Progress::NotSeenYet => "waiting for the GitOps engine to see the commit",
        Progress::Syncing => "syncing",
        Progress::Applied => "applied",
        Progress::Progressing => "progressing",
        Progress::Healthy => "healthy",
        Progress::Degraded(_) => "degraded",
        Progress::Retrying(_) => "failing, retrying",
        Progress::Failed(_) => "failed",
        Progress::Stalled(_) => "stalled",
        Progress::TimedOut => "timed out",
    }
}

/// How long the rollout took from the push: `seen 2s, synced 9s, healthy
/// 31s after the push` (stages never reported are left out).
pub fn timings(op: &Operation) -> String {
    let Some(pushed) = op.entered("pushed").or_else(|| op.entered("merged")) else {
        return String::new();
    };
    let not_seen = format!("reconciling:{}", phase(&Progress::NotSeenYet));
    let first = |hit: &dyn Fn(&str) -> bool| {
        op.transitions
            .iter()
            .find(|(_, l)| hit(l))
            .map(|(t, _)| age(t - pushed))
    };
    let stages = [
        (
            "seen",
            first(&|l| (l.starts_with("reconciling:") && *l != not_seen) || l == "healthy"),
        ),
        (
            "synced",
            first(&|l| {
                matches!(
                    l,
                    "reconciling:applied" | "reconciling:progressing" | "healthy"
                )
            }),
        ),
        ("healthy", first(&|l| l == "healthy")),
    ];
    let parts: Vec<String> = stages
        .iter()
        .filter_map(|(name, at)| at.as_ref().map(|at| format!("{name} {at}")))
        .collect();
    format!("{} after the push", parts.join(", "))
}

/// One line saying where an operation rests.
pub fn summary_line(op: &Operation) -> String {
    // A merged PR's rollout is followed at its merge commit.
    let sha = op.revision().map(short).unwrap_or("-");
    let what = match &op.state {
        State::Pushed { .. } if op.verb == "env-create" => {
            format!("{} is made ({sha}); waiting for it to come up", op.env)
        }
        State::Pushed { .. } => format!("pushed {sha}"),
        State::Committed { .. } if op.pr.is_some() => {
            format!("committed {sha}; opening its pull request")
        }
        State::PrOpened { url, .. } => {
            let have = op.approvers.len();
            if have < op.needed as usize {
                format!(
                    "waiting in pull request {url} for approvals ({have} of {})",
                    op.needed
                )
            } else {
                format!("approved; waiting in pull request {url} for its checks and the merge")
            }
        }
        State::Merged { sha: merged } => {
            let url = op.pr.as_ref().map_or("", |p| p.url.as_str());
            format!("merged {url} as {}", short(merged))
        }
        State::AwaitingApproval { needed, have } => {
            format!("waiting for approvals ({have} of {needed})")
        }
        State::Rejected { by, reason } => match reason {
            Some(r) => format!("denied by {by}: {r}"),
            None => format!("denied by {by}"),
        },
        State::Denied { reason } => format!("refused: {reason}"),
        State::Expired => "expired before it had its approvals; nothing was written".into(),
        State::Cancelled => "cancelled; nothing was written".into(),
        State::Unchanged => "the target already had this version; nothing to commit".into(),
        State::Healthy if op.verb == "env-create" => format!("{} is ready ({sha})", op.env),
        State::Healthy => format!("{sha} is healthy"),
        State::Done if op.verb == "env-destroy" => format!("{} is destroyed ({sha})", op.env),
        State::Done => match &op.environment {
            Some(c) => format!("{} now expires at {} UTC ({sha})", op.env, date(c.expires)),
            None => format!("done ({sha})"),
        },
        State::Degraded { message } => format!("{sha} is degraded: {message}"),
        State::Failed { message } => format!("failed: {message}"),
        State::TimedOut => format!("{sha} did not become healthy in time"),
        other => other.label().to_string(),
    };
    let mut line = format!("#{} {}: {what}", op.id, op.summary);
    line.push_str(&super::ordered::plan_note(op));
    if let Some(note) = super::ordered::stopped_note(op) {
        line.push_str(&format!("\n{note}"));
    }
    line
}

pub fn reply(op: &Operation, message: String) -> Reply {
    Reply {
        operation: Some(op.id),
        state: op.state.label().to_string(),
        commit: op.commit.clone(),
        pr: op
            .pr
            .as_ref()
            .filter(|p| !p.url.is_empty())
            .map(|p| p.url.clone()),
        message,
        outcome: Outcome::Ok,
    }
}

/// `2026-11-22 18:40` (UTC) from epoch seconds.
pub fn date(secs: i64) -> String {
    let (y, m, d, hh, mm, _) = crate::envs::registry::civil(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}")
}

/// `42s`, `5m`, `3h`, `2d`.
pub fn age(secs: i64) -> String {
    match secs.max(0) {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Left-aligned columns.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{s:<w$}", w = widths[i]))
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(super::date(0), "1970-01-01 00:00");
        assert_eq!(super::date(1_795_305_600 + 67_200), "2026-11-22 18:40");
        assert_eq!(super::date(951_782_400), "2000-02-29 00:00");
    }
}
