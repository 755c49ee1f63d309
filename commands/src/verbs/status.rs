//! `status [APP] [in ENV]`: what runs where.

use crate::Name;
use crate::error::ParseError;
use crate::parser::{Cursor, Flags};
use std::fmt;

pub const USAGE: &str = "status [APP] [in ENV]";
pub const HELP: &str = "Show the version, state, age and lock of each app in each environment.";

/// Ask what runs where.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    pub app: Option<Name>,
    pub env: Option<Name>,
}

pub(crate) fn parse(c: &mut Cursor<'_>, _flags: Flags) -> Result<Status, ParseError> {
    let mut status = Status::default();
    if c.peek().is_some_and(|t| !t.is_word("in")) {
        status.app = Some(c.expect_value("an app name")?);
    }
    if c.eat_keyword(&["in"]).is_some() {
        status.env = Some(c.expect_value("an environment")?);
    }
    c.finish()?;
    Ok(status)
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("status")?;
        if let Some(app) = &self.app {
            write!(f, " {app}")?;
        }
        if let Some(env) = &self.env {
            write!(f, " in {env}")?;
        }
        Ok(())
    }
}
