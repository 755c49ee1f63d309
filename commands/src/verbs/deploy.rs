//! `deploy APP[,APP...] VERSION (to|in) ENV` and `deploy APP@VERSION (to|in) ENV`.

use crate::error::ParseError;
use crate::lex::Token;
use crate::parser::{Cursor, Flag, Flags};
use crate::{Name, Version};
use std::fmt;

pub const USAGE: &str =
    "deploy APP[,APP...] VERSION (to|in) ENV [--reason TEXT] [--ticket KEY] [--dry-run]";
pub const HELP: &str = "Set APP to VERSION in ENV: one commit on the config repo, \
    after the environment's policy (deployers, approvals, locks, freezes) agrees. \
    `deploy api@v1.4.2 to staging` works too. Several apps get one commit, all or nothing. \
    `--dry-run` shows the exact diff and writes nothing.";
pub const FLAGS: &[Flag] = &[Flag::Reason, Flag::Ticket, Flag::DryRun];

/// Set a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deploy {
    pub apps: Vec<Name>,
    pub version: Version,
    pub env: Name,
    pub reason: Option<String>,
    pub ticket: Option<crate::Ticket>,
    pub dry_run: bool,
}

pub(crate) fn parse(c: &mut Cursor<'_>, flags: Flags) -> Result<Deploy, ParseError> {
    let at_form = c
        .peek()
        .filter(|t| !t.quoted && t.text.contains('@'))
        .cloned();
    let (apps, version) = match at_form {
        Some(tok) => {
            c.next();
            let (app, version) = tok.text.split_once('@').unwrap_or((&tok.text, ""));
            let app_tok = Token {
                text: app.into(),
                span: tok.span.start..tok.span.start + app.len(),
                quoted: false,
            };
            let ver_start = app_tok.span.end + 1;
            let ver_tok = Token {
                text: version.into(),
                span: ver_start..tok.span.end,
                quoted: false,
            };
            (vec![c.value(&app_tok)?], c.value(&ver_tok)?)
        }
        None => {
            let apps = c.name_list("an app name")?;
            (apps, c.expect_value("a version")?)
        }
    };
    c.keyword(&["to", "in"], "`to` or `in`")?;
    let env = c.expect_value("an environment")?;
    c.finish()?;
    Ok(Deploy {
        apps,
        version,
        env,
        reason: flags.reason,
        ticket: flags.ticket,
        dry_run: flags.dry_run,
    })
}

impl fmt::Display for Deploy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let apps: Vec<&str> = self.apps.iter().map(Name::as_str).collect();
        write!(
            f,
            "deploy {} {} to {}",
            apps.join(","),
            self.version,
            self.env
        )?;
        super::fmt_options(
            f,
            self.reason.as_deref(),
            self.ticket.as_ref().map(crate::Ticket::as_str),
            self.dry_run,
        )
    }
}
