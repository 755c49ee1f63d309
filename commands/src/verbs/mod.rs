//! One file per verb (or per pair of verbs that share a grammar): the struct a
//! parsed command becomes, its usage line and help text, its grammar, and its
//! canonical `Display`.

pub mod audit;
pub mod deploy;
pub mod env;
pub mod help;
pub mod history;
pub mod lock;
pub mod promote;
pub mod rollback;
pub mod status;
pub mod vote;

use crate::lex::{quote, quote_if_needed};
use std::fmt;

/// Print the options shared by the writing verbs, in canonical order.
pub(crate) fn fmt_options(
    f: &mut fmt::Formatter<'_>,
    reason: Option<&str>,
    ticket: Option<&str>,
    dry_run: bool,
) -> fmt::Result {
    if let Some(r) = reason {
        write!(f, " --reason {}", quote(r))?;
    }
    if let Some(t) = ticket {
        write!(f, " --ticket {}", quote_if_needed(t))?;
    }
    if dry_run {
        f.write_str(" --dry-run")?;
    }
    Ok(())
}
