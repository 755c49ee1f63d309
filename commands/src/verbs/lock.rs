//! `lock [APP in] ENV [for DURATION] [REASON...]` and `unlock [APP in] ENV`.

use crate::error::{ErrorKind, ParseError};
use crate::lex::quote;
use crate::parser::{Cursor, Flag, Flags};
use crate::{Duration, Name};
use std::fmt;

pub const USAGE: &str = "lock [APP in] ENV [for DURATION] [REASON...]";
pub const HELP: &str = "Stop deploys and promotions to ENV (or to APP in ENV) until unlocked or \
    until DURATION (`30m`, `2h`, `1d`) passes. The reason and the holder show in refusals and in \
    `status`. Rollbacks from an incident channel still pass.";
pub const UNLOCK_USAGE: &str = "unlock [APP in] ENV";
pub const UNLOCK_HELP: &str = "Lift a lock set with `lock`.";
pub const FLAGS: &[Flag] = &[Flag::Reason];

/// Hold an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub app: Option<Name>,
    pub env: Name,
    pub duration: Option<Duration>,
    pub reason: Option<String>,
}

/// Release an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlock {
    pub app: Option<Name>,
    pub env: Name,
}

/// `[APP in] ENV`
fn scope(c: &mut Cursor<'_>) -> Result<(Option<Name>, Name), ParseError> {
    let first = c.expect("an environment")?;
    if c.eat_keyword(&["in"]).is_some() {
        let app = c.value(&first)?;
        return Ok((Some(app), c.expect_value("an environment")?));
    }
    Ok((None, c.value(&first)?))
}

pub(crate) fn parse(c: &mut Cursor<'_>, flags: Flags) -> Result<Lock, ParseError> {
    let (app, env) = scope(c)?;
    // `for 2h` is a duration; `for the release` is the start of a reason.
    let mut duration = None;
    if c.eat_keyword(&["for"]).is_some() {
        match c.peek() {
            Some(t) if !t.quoted && t.text.starts_with(|ch: char| ch.is_ascii_digit()) => {
                duration = Some(c.expect_value("a duration")?);
            }
            _ => c.back(),
        }
    }
    let words = c.rest_text();
    let reason = match (flags.reason, words) {
        (Some(_), Some(_)) => {
            let span = c.input.len()..c.input.len();
            return Err(c.error(span, ErrorKind::Duplicate("the reason".into())));
        }
        (a, b) => a.or(b),
    };
    Ok(Lock {
        app,
        env,
        duration,
        reason,
    })
}

pub(crate) fn parse_unlock(c: &mut Cursor<'_>, _flags: Flags) -> Result<Unlock, ParseError> {
    let (app, env) = scope(c)?;
    c.finish()?;
    Ok(Unlock { app, env })
}

fn fmt_scope(f: &mut fmt::Formatter<'_>, app: Option<&Name>, env: &Name) -> fmt::Result {
    match app {
        Some(app) => write!(f, " {app} in {env}"),
        None => write!(f, " {env}"),
    }
}

impl fmt::Display for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("lock")?;
        fmt_scope(f, self.app.as_ref(), &self.env)?;
        if let Some(d) = self.duration {
            write!(f, " for {d}")?;
        }
        if let Some(r) = &self.reason {
            write!(f, " {}", quote(r))?;
        }
        Ok(())
    }
}

impl fmt::Display for Unlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unlock")?;
        fmt_scope(f, self.app.as_ref(), &self.env)
    }
}
