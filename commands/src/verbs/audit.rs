//! `audit ENV [since DURATION]`: how ENV's targets changed, counted from the
//! config repo's history.

use crate::error::ParseError;
use crate::parser::{Cursor, Flags};
use crate::{Duration, Name};
use std::fmt;

pub const USAGE: &str = "audit ENV [since DURATION]";
pub const HELP: &str = "Count the changes to ENV's targets in the config repo's history since \
    DURATION ago (`30d`, `12h`; default 30d): through hoist, out of band, by signature verdict, \
    break-glass. `hoist audit` on the command line exports every row.";

/// Ask how an environment changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub env: Name,
    pub since: Option<Duration>,
}

pub(crate) fn parse(c: &mut Cursor<'_>, _flags: Flags) -> Result<Audit, ParseError> {
    let env = c.expect_value("an environment")?;
    let since = match c.eat_keyword(&["since"]) {
        Some(_) => Some(c.expect_value("a duration")?),
        None => None,
    };
    c.finish()?;
    Ok(Audit { env, since })
}

impl fmt::Display for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit {}", self.env)?;
        if let Some(d) = self.since {
            write!(f, " since {d}")?;
        }
        Ok(())
    }
}
