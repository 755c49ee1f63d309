//! `rollback APP [in] ENV [to VERSION]`: a forward commit back to an earlier version.

use crate::error::ParseError;
use crate::parser::{Cursor, Flag, Flags};
use crate::{Name, Version};
use std::fmt;

pub const USAGE: &str =
    "rollback APP [in] ENV [to VERSION] [--reason TEXT] [--ticket KEY] [--dry-run]";
pub const HELP: &str = "Put APP in ENV back to VERSION, or, without one, to the version it had \
    before the current one. A new commit, never a history rewrite.";
pub const FLAGS: &[Flag] = &[Flag::Reason, Flag::Ticket, Flag::DryRun];

/// Go back to an earlier version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub app: Name,
    pub env: Name,
    pub to: Option<Version>,
    pub reason: Option<String>,
    pub ticket: Option<crate::Ticket>,
    pub dry_run: bool,
}

pub(crate) fn parse(c: &mut Cursor<'_>, flags: Flags) -> Result<Rollback, ParseError> {
    let app = c.expect_value("an app name")?;
    c.eat_keyword(&["in"]);
    let env = c.expect_value("an environment")?;
    let to = match c.eat_keyword(&["to"]) {
        Some(_) => Some(c.expect_value("a version")?),
        None => None,
    };
    c.finish()?;
    Ok(Rollback {
        app,
        env,
        to,
        reason: flags.reason,
        ticket: flags.ticket,
        dry_run: flags.dry_run,
    })
}

impl fmt::Display for Rollback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rollback {} in {}", self.app, self.env)?;
        if let Some(v) = &self.to {
            write!(f, " to {v}")?;
        }
        super::fmt_options(
            f,
            self.reason.as_deref(),
            self.ticket.as_ref().map(crate::Ticket::as_str),
            self.dry_run,
        )
    }
}
