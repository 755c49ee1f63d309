//! The hoist command language: a chat line becomes a typed [`Command`].
//!
//! # Layout
//!
//! - `lex`: splits a line into tokens with byte spans; quotes group words.
//! - `parser`: options (`--reason`, ...) and a cursor over the remaining words.
//! - `verbs/`: one struct per verb with its usage line, help text, grammar and
//!   canonical `Display` (`parse(display(c)) == c`).
//! - `types`: validated values (names, versions, tickets, durations, operation ids).
//! - `error`: [`ParseError`] with the position, usage line and "did you mean".
//!
//! No I/O, no async, no SDKs: adapters strip their own framing (a Slack
//! mention, a slash command name) and hand the rest to [`parse`].

// A `ParseError` is ~150 bytes because it carries the input for its caret
// picture. Parsing is a cold, once-per-message path; a flat, matchable error
// is worth more to adapters than boxing it.
#![allow(clippy::result_large_err)]

mod error;
mod lex;
mod parser;
mod types;
pub mod verbs;

pub use error::{ErrorKind, ParseError, edit_distance, nearest, visible};
pub use types::{Duration, DurationUnit, Invalid, Name, OpId, Ticket, Version};
pub use verbs::audit::Audit;
pub use verbs::deploy::Deploy;
pub use verbs::env::{Env, EnvCreate, EnvDestroy, EnvExtend};
pub use verbs::help::Help;
pub use verbs::history::History;
pub use verbs::lock::{Lock, Unlock};
pub use verbs::promote::Promote;
pub use verbs::rollback::Rollback;
pub use verbs::status::Status;
pub use verbs::vote::{Approve, Cancel, Deny};

use parser::{Cursor, Flag};
use std::fmt;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Deploy(Deploy),
    Promote(Promote),
    Rollback(Rollback),
    Status(Status),
    History(History),
    Audit(Audit),
    Lock(Lock),
    Unlock(Unlock),
    Approve(Approve),
    Deny(Deny),
    Cancel(Cancel),
    Env(Env),
    Help(Help),
}

/// The verbs, for help and suggestions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Deploy,
    Promote,
    Rollback,
    Status,
    History,
    Audit,
    Lock,
    Unlock,
    Approve,
    Deny,
    Cancel,
    Env,
    Help,
}

impl Verb {
    pub const ALL: [Verb; 13] = [
        Verb::Deploy,
        Verb::Promote,
        Verb::Rollback,
        Verb::Status,
        Verb::History,
        Verb::Audit,
        Verb::Lock,
        Verb::Unlock,
        Verb::Approve,
        Verb::Deny,
        Verb::Cancel,
        Verb::Env,
        Verb::Help,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Verb::Deploy => "deploy",
            Verb::Promote => "promote",
            Verb::Rollback => "rollback",
            Verb::Status => "status",
            Verb::History => "history",
            Verb::Audit => "audit",
            Verb::Lock => "lock",
            Verb::Unlock => "unlock",
            Verb::Approve => "approve",
            Verb::Deny => "deny",
            Verb::Cancel => "cancel",
            Verb::Env => "env",
            Verb::Help => "help",
        }
    }

    /// Case-insensitive lookup of a verb word.
    pub fn from_word(word: &str) -> Option<Verb> {
        Verb::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(word))
    }

    pub fn usage(self) -> &'static str {
        use verbs::*;
        match self {
            Verb::Deploy => deploy::USAGE,
            Verb::Promote => promote::USAGE,
            Verb::Rollback => rollback::USAGE,
            Verb::Status => status::USAGE,
            Verb::History => history::USAGE,
            Verb::Audit => audit::USAGE,
            Verb::Lock => lock::USAGE,
            Verb::Unlock => lock::UNLOCK_USAGE,
            Verb::Approve => vote::APPROVE_USAGE,
            Verb::Deny => vote::DENY_USAGE,
            Verb::Cancel => vote::CANCEL_USAGE,
            Verb::Env => env::USAGE,
            Verb::Help => help::USAGE,
        }
    }

    pub fn help(self) -> &'static str {
        use verbs::*;
        match self {
            Verb::Deploy => deploy::HELP,
            Verb::Promote => promote::HELP,
            Verb::Rollback => rollback::HELP,
            Verb::Status => status::HELP,
            Verb::History => history::HELP,
            Verb::Audit => audit::HELP,
            Verb::Lock => lock::HELP,
            Verb::Unlock => lock::UNLOCK_HELP,
            Verb::Approve => vote::APPROVE_HELP,
            Verb::Deny => vote::DENY_HELP,
            Verb::Cancel => vote::CANCEL_HELP,
            Verb::Env => env::HELP,
            Verb::Help => help::HELP,
        }
    }

    fn flags(self) -> &'static [Flag] {
        use verbs::*;
        match self {
            Verb::Deploy => deploy::FLAGS,
            Verb::Promote => promote::FLAGS,
            Verb::Rollback => rollback::FLAGS,
            Verb::History => history::FLAGS,
            Verb::Lock => lock::FLAGS,
            Verb::Deny => vote::DENY_FLAGS,
            Verb::Env => env::FLAGS,
            _ => &[],
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Command {
    pub fn verb(&self) -> Verb {
        match self {
            Command::Deploy(_) => Verb::Deploy,
            Command::Promote(_) => Verb::Promote,
            Command::Rollback(_) => Verb::Rollback,
            Command::Status(_) => Verb::Status,
            Command::History(_) => Verb::History,
            Command::Audit(_) => Verb::Audit,
            Command::Lock(_) => Verb::Lock,
            Command::Unlock(_) => Verb::Unlock,
            Command::Approve(_) => Verb::Approve,
            Command::Deny(_) => Verb::Deny,
            Command::Cancel(_) => Verb::Cancel,
            Command::Env(_) => Verb::Env,
            Command::Help(_) => Verb::Help,
        }
    }

    /// Does this command ask for a change to the config repo?
    pub fn writes(&self) -> bool {
        match self {
            Command::Deploy(_) | Command::Promote(_) | Command::Rollback(_) => true,
            Command::Env(e) => e.writes(),
            _ => false,
        }
    }

    /// A writing verb asked with `--dry-run`: say what would change, change nothing.
    pub fn dry_run(&self) -> bool {
        match self {
            Command::Deploy(d) => d.dry_run,
            Command::Promote(p) => p.dry_run,
            Command::Rollback(r) => r.dry_run,
            _ => false,
        }
    }
}

impl std::str::FromStr for Command {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        parse(s)
    }
}

/// Parse one command line. Never panics; every error says where and what was expected.
pub fn parse(input: &str) -> Result<Command, ParseError> {
    let mut tokens = lex::tokenize(input)?;
    if tokens.is_empty() {
        let end = input.len();
        return Err(ParseError::new(input, end..end, ErrorKind::Empty));
    }
    let head = tokens.remove(0);
    let verb = match Verb::from_word(&head.text).filter(|_| !head.quoted) {
        Some(v) => v,
        None => {
            let suggestion = nearest(&head.text, Verb::ALL.iter().map(|v| v.name()));
            return Err(
                ParseError::new(input, head.span, ErrorKind::UnknownVerb(head.text))
                    .with_suggestion(suggestion),
            );
        }
    };
    let (mut c, flags) = Cursor::new(input, verb.usage(), tokens, verb.flags())?;
    let c = &mut c;
    use verbs::*;
    Ok(match verb {
        Verb::Deploy => Command::Deploy(deploy::parse(c, flags)?),
        Verb::Promote => Command::Promote(promote::parse(c, flags)?),
        Verb::Rollback => Command::Rollback(rollback::parse(c, flags)?),
        Verb::Status => Command::Status(status::parse(c, flags)?),
        Verb::History => Command::History(history::parse(c, flags)?),
        Verb::Audit => Command::Audit(audit::parse(c, flags)?),
        Verb::Lock => Command::Lock(lock::parse(c, flags)?),
        Verb::Unlock => Command::Unlock(lock::parse_unlock(c, flags)?),
        Verb::Approve => Command::Approve(vote::parse_approve(c, flags)?),
        Verb::Deny => Command::Deny(vote::parse_deny(c, flags)?),
        Verb::Cancel => Command::Cancel(vote::parse_cancel(c, flags)?),
        Verb::Env => Command::Env(env::parse(c, flags)?),
        Verb::Help => Command::Help(help::parse(c, flags)?),
    })
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Deploy(c) => c.fmt(f),
            Command::Promote(c) => c.fmt(f),
            Command::Rollback(c) => c.fmt(f),
            Command::Status(c) => c.fmt(f),
            Command::History(c) => c.fmt(f),
            Command::Audit(c) => c.fmt(f),
            Command::Lock(c) => c.fmt(f),
            Command::Unlock(c) => c.fmt(f),
            Command::Approve(c) => c.fmt(f),
            Command::Deny(c) => c.fmt(f),
            Command::Cancel(c) => c.fmt(f),
            Command::Env(c) => c.fmt(f),
            Command::Help(c) => c.fmt(f),
        }
    }
}
