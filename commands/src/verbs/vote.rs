//! `approve ID`, `deny ID [REASON...]` and `cancel ID`: acting on an operation
//! that waits for approval.

use crate::OpId;
use crate::error::{ErrorKind, ParseError};
use crate::lex::quote;
use crate::parser::{Cursor, Flag, Flags};
use std::fmt;

pub const APPROVE_USAGE: &str = "approve ID";
pub const APPROVE_HELP: &str = "Approve operation ID. Counts only if the policy lists you as an \
    approver for its environment and you did not ask for it.";
pub const DENY_USAGE: &str = "deny ID [REASON...]";
pub const DENY_HELP: &str = "Reject operation ID; it will not be applied.";
pub const CANCEL_USAGE: &str = "cancel ID";
pub const CANCEL_HELP: &str = "Withdraw your own request ID while it waits.";
pub const DENY_FLAGS: &[Flag] = &[Flag::Reason];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approve {
    pub id: OpId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    pub id: OpId,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancel {
    pub id: OpId,
}

fn id(c: &mut Cursor<'_>) -> Result<OpId, ParseError> {
    c.expect_value("an operation id")
}

pub(crate) fn parse_approve(c: &mut Cursor<'_>, _flags: Flags) -> Result<Approve, ParseError> {
    let id = id(c)?;
    c.finish()?;
    Ok(Approve { id })
}

pub(crate) fn parse_deny(c: &mut Cursor<'_>, flags: Flags) -> Result<Deny, ParseError> {
    let id = id(c)?;
    let reason = match (flags.reason, c.rest_text()) {
        (Some(_), Some(_)) => {
            let span = c.input.len()..c.input.len();
            return Err(c.error(span, ErrorKind::Duplicate("the reason".into())));
        }
        (a, b) => a.or(b),
    };
    Ok(Deny { id, reason })
}

pub(crate) fn parse_cancel(c: &mut Cursor<'_>, _flags: Flags) -> Result<Cancel, ParseError> {
    let id = id(c)?;
    c.finish()?;
    Ok(Cancel { id })
}

impl fmt::Display for Approve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "approve {}", self.id)
    }
}

impl fmt::Display for Deny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deny {}", self.id)?;
        if let Some(r) = &self.reason {
            write!(f, " {}", quote(r))?;
        }
        Ok(())
    }
}

impl fmt::Display for Cancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cancel {}", self.id)
    }
}
