//! `history APP [in ENV] [--limit N]`: the commits hoist (and others) made to an app's targets.

use crate::Name;
use crate::error::ParseError;
use crate::parser::{Cursor, Flag, Flags};
use std::fmt;

pub const USAGE: &str = "history APP [in ENV] [--limit N]";
pub const HELP: &str = "List the changes to APP's version, newest first, with who asked and \
    who approved (read from the commit trailers).";
pub const FLAGS: &[Flag] = &[Flag::Limit];

/// Ask what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub app: Name,
    pub env: Option<Name>,
    pub limit: Option<u32>,
}

pub(crate) fn parse(c: &mut Cursor<'_>, flags: Flags) -> Result<History, ParseError> {
    let app = c.expect_value("an app name")?;
    let env = match c.eat_keyword(&["in"]) {
        Some(_) => Some(c.expect_value("an environment")?),
        None => None,
    };
    c.finish()?;
    Ok(History {
        app,
        env,
        limit: flags.limit,
    })
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "history {}", self.app)?;
        if let Some(env) = &self.env {
            write!(f, " in {env}")?;
        }
        if let Some(n) = self.limit {
            write!(f, " --limit {n}")?;
        }
        Ok(())
    }
}
