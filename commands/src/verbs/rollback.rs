//! `rollback APP[,APP...] [in] ENV [to VERSION]`: a forward commit back to an
//! earlier version. Several apps go back together, each to its own previous
//! version, in one commit; `to VERSION` names one app's version, so it takes
//! exactly one app.

use crate::error::{ErrorKind, ParseError};
use crate::parser::{Cursor, Flag, Flags};
use crate::{Name, Version};
use std::fmt;

pub const USAGE: &str =
    "rollback APP[,APP...] [in] ENV [to VERSION] [--reason TEXT] [--ticket KEY] [--dry-run]";
pub const HELP: &str = "Put APP in ENV back to VERSION, or, without one, to the version it had \
    before the current one (several apps: each to its own, in one commit). A new commit, never a \
    history rewrite.";
pub const FLAGS: &[Flag] = &[Flag::Reason, Flag::Ticket, Flag::DryRun];

/// Go back to an earlier version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    /// One or more, in the order given; never empty.
    pub apps: Vec<Name>,
    pub env: Name,
    pub to: Option<Version>,
    pub reason: Option<String>,
    pub ticket: Option<crate::Ticket>,
    pub dry_run: bool,
}

pub(crate) fn parse(c: &mut Cursor<'_>, flags: Flags) -> Result<Rollback, ParseError> {
    let apps = c.name_list("an app name")?;
    c.eat_keyword(&["in"]);
    let env = c.expect_value("an environment")?;
    let to = match c.eat_keyword(&["to"]) {
        Some(word) if apps.len() > 1 => {
            return Err(c.error(
                word.span,
                ErrorKind::Expected {
                    expected: "the end of the command: `to VERSION` takes one app (several apps \
                               each go back to their own previous version)"
                        .into(),
                    found: Some(word.text),
                },
            ));
        }
        Some(_) => Some(c.expect_value("a version")?),
        None => None,
    };
    c.finish()?;
    Ok(Rollback {
        apps,
        env,
        to,
        reason: flags.reason,
        ticket: flags.ticket,
        dry_run: flags.dry_run,
    })
}

impl fmt::Display for Rollback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let apps: Vec<&str> = self.apps.iter().map(Name::as_str).collect();
        write!(f, "rollback {} in {}", apps.join(","), self.env)?;
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
