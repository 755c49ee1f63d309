//! `promote APP[,APP...] [from] ENV to ENV`: take the version running in one
//! environment to the next.

use crate::Name;
use crate::error::ParseError;
use crate::parser::{Cursor, Flag, Flags};
use std::fmt;

pub const USAGE: &str =
    "promote APP[,APP...] [from] ENV to ENV [--reason TEXT] [--ticket KEY] [--dry-run]";
pub const HELP: &str = "Deploy to the second environment the version APP runs in the first. \
    Policy may require that version to have been Healthy there for a soak time.";
pub const FLAGS: &[Flag] = &[Flag::Reason, Flag::Ticket, Flag::DryRun];

/// Move a version along the promotion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promote {
    pub apps: Vec<Name>,
    pub from: Name,
    pub to: Name,
    pub reason: Option<String>,
    pub ticket: Option<crate::Ticket>,
    pub dry_run: bool,
}

pub(crate) fn parse(c: &mut Cursor<'_>, flags: Flags) -> Result<Promote, ParseError> {
    let apps = c.name_list("an app name")?;
    c.eat_keyword(&["from"]);
    let from = c.expect_value("the environment to promote from")?;
    c.keyword(&["to"], "`to`")?;
    let to = c.expect_value("the environment to promote to")?;
    c.finish()?;
    Ok(Promote {
        apps,
        from,
        to,
        reason: flags.reason,
        ticket: flags.ticket,
        dry_run: flags.dry_run,
    })
}

impl fmt::Display for Promote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let apps: Vec<&str> = self.apps.iter().map(Name::as_str).collect();
        write!(
            f,
            "promote {} from {} to {}",
            apps.join(","),
            self.from,
            self.to
        )?;
        super::fmt_options(
            f,
            self.reason.as_deref(),
            self.ticket.as_ref().map(crate::Ticket::as_str),
            self.dry_run,
        )
    }
}
