//! The audit's rows and their three shapes: an aligned table for people,
//! CSV (RFC 4180: fields with a comma, quote, CR or LF are quoted, quotes
//! doubled, lines end CRLF; a field starting with `=`, `+`, `-`, `@`, tab or
//! CR gets a leading `'` so a spreadsheet shows it instead of running it)
//! and JSON (an array of objects). Trailers are
//! shown only on rows that came through hoist ([`Touch::via_hoist`]); a row
//! whose commit carries `Hoist-*` trailers without that is flagged in
//! `note`, its claims left out. Outside text (authors, subjects, trailer
//! values) is kept whole in CSV and JSON, and flattened to one line and
//! bounded in the table. A row of a pull request's merge that came through
//! hoist (see [`super::merged`]) names hoist's commit in `merged` and says so
//! in `note`; when that commit carries no `Hoist-Approved-By` (the approvals
//! came after the PR was opened), the note says git does not know them.

use crate::engine::ports::{Touch, Verdict};
use std::fmt::Write as _;

/// One line of the audit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    /// Committer time, UTC, ISO-8601 (`2026-01-02T03:04:05Z`).
    pub time: String,
    pub env: String,
    pub app: String,
    pub old: Option<String>,
    pub new: Option<String>,
    /// `hoist` or `out-of-band`.
    pub via: &'static str,
    /// `value` (the value changed) or `file` (the file changed, the value did not).
    pub change: &'static str,
    pub signature: Verdict,
    pub signer: Option<String>,
    pub operation: Option<String>,
    pub requested_by: Option<String>,
    pub approved_by: Vec<String>,
    pub ticket: Option<String>,
    pub break_glass: Option<String>,
    pub chat: Option<String>,
    pub commit: String,
    pub author: String,
    pub subject: String,
    pub note: Option<String>,
    /// A PR's merge through hoist: hoist's signed commit it merged.
    pub merged: Option<String>,
}

/// The rows of `touches`; `names[t]` is the (env, app) of target `t`.
pub fn rows(touches: &[Touch], names: &[(String, String)]) -> Vec<Row> {
    touches
        .iter()
        .map(|t| {
            let via = t.via_hoist();
            let first = |k: &str| via.then(|| t.trailer(k).next().map(str::to_string))?;
            let claims = t.trailers.iter().any(|(k, _)| k.starts_with("Hoist-"));
            let note = match (via, claims) {
                (false, true) => Some(format!(
                    "carries Hoist-* trailers, not trusted (signature: {})",
                    t.verdict.words()
                )),
                (false, false) if t.verdict == Verdict::Good => {
                    Some("signed by a trusted key, without hoist's trailers".into())
                }
                _ => None,
            };
            let merged = t.merged.clone().filter(|_| via);
            let note = match &merged {
                Some(h) if t.trailer("Hoist-Approved-By").next().is_none() => Some(format!(
                    "merged via PR from hoist's commit {h}; approvals unknown from git \
                     (given after the PR opened: hoist's journal has them)"
                )),
                Some(h) => Some(format!("merged via PR from hoist's commit {h}")),
                None => note,
            };
            let (env, app) = names.get(t.target).cloned().unwrap_or_default();
            Row {
                time: iso(t.time),
                env,
                app,
                old: t.old.clone(),
                new: t.new.clone(),
                via: if via { "hoist" } else { "out-of-band" },
                change: if t.old != t.new { "value" } else { "file" },
                signature: t.verdict,
                signer: t.signer.clone(),
                operation: first("Hoist-Operation"),
                requested_by: first("Hoist-Requested-By"),
                approved_by: if via {
                    t.trailer("Hoist-Approved-By").map(str::to_string).collect()
                } else {
                    Vec::new()
                },
                ticket: first("Hoist-Ticket"),
                break_glass: first("Hoist-Break-Glass"),
                chat: first("Hoist-Chat"),
                commit: t.sha.clone(),
                author: t.author.clone(),
                subject: t.subject.clone(),
                note,
                merged,
            }
        })
        .collect()
}

/// `2026-01-02T03:04:05Z`.
pub fn iso(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| secs.to_string())
}

const COLUMNS: [&str; 17] = [
    "time",
    "env",
    "app",
    "old",
    "new",
    "via",
    "change",
    "signature",
    "signer",
    "operation",
    "requested_by",
    "approved_by",
    "ticket",
    "break_glass",
    "chat",
    "commit",
    "author",
];

/// The cells of a row in [`COLUMNS`] order, then subject, note and merged.
fn cells(r: &Row) -> Vec<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        r.time.clone(),
        r.env.clone(),
        r.app.clone(),
        o(&r.old),
        o(&r.new),
        r.via.into(),
        r.change.into(),
        r.signature.words().into(),
        o(&r.signer),
        o(&r.operation),
        o(&r.requested_by),
        r.approved_by.join("; "),
        o(&r.ticket),
        o(&r.break_glass),
        o(&r.chat),
        r.commit.clone(),
        r.author.clone(),
        r.subject.clone(),
        o(&r.note),
        o(&r.merged),
    ]
}

/// RFC 4180 CSV with a header line.
pub fn csv(rows: &[Row]) -> String {
    let field = |s: &str| {
        // A cell a spreadsheet would run as a formula (`=HYPERLINK(..)` in a
        // commit subject) is opened as text: OWASP's leading apostrophe.
        let defused;
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            defused = format!("'{s}");
            defused.as_str()
        } else {
            s
        };
        if s.contains([',', '"', '\r', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let header: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .chain(["subject", "note", "merged"])
        .collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for r in rows {
        let line: Vec<String> = cells(r).iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A JSON array of objects, one per row.
pub fn json(rows: &[Row]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into())
}

/// `text` on one line (control characters, separators and runs of
/// whitespace become one space), at most `max` characters (cut with `…`).
pub fn flat(text: &str, max: usize) -> String {
    crate::engine::one_line(text, max)
}

/// An aligned table for people: one line per row, every cell flattened and
/// bounded, the commit shortened; `-` for an empty cell.
pub fn table(rows: &[Row]) -> String {
    let head = [
        "TIME",
        "ENV",
        "APP",
        "CHANGE",
        "VIA",
        "SIGNATURE",
        "OP",
        "REQUESTED BY",
        "APPROVED BY",
        "TICKET",
        "BREAK-GLASS",
        "CHAT",
        "COMMIT",
        "AUTHOR",
        "SUBJECT / NOTE",
    ];
    let mut lines: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    for r in rows {
        let o = |v: &Option<String>, max: usize| {
            v.as_deref()
                .map(|s| flat(s, max))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "-".into())
        };
        let change = match r.change {
            "value" => format!("{} -> {}", o(&r.old, 40), o(&r.new, 40)),
            _ => format!("file edit (value {})", o(&r.new, 40)),
        };
        let approved = Some(r.approved_by.join(", ")).filter(|s| !s.is_empty());
        let last = match &r.note {
            Some(n) => format!("{} [{n}]", flat(&r.subject, 50)),
            None => flat(&r.subject, 60),
        };
        lines.push(vec![
            r.time.clone(),
            flat(&r.env, 20),
            flat(&r.app, 20),
            change,
            r.via.into(),
            r.signature.words().into(),
            o(&r.operation, 12),
            o(&r.requested_by, 30),
            o(&approved, 40),
            o(&r.ticket, 30),
            o(&r.break_glass, 40),
            o(&r.chat, 40),
            r.commit.chars().take(10).collect(),
            flat(&r.author, 40),
            last,
        ]);
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let mut line = String::new();
        for (c, cell) in l.iter().enumerate() {
            let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
