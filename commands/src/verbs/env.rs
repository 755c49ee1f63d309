//! `env create NAME [from ENV] [for DURATION]`, `env destroy NAME`,
//! `env extend NAME for DURATION` and `env list`: environments of one's own,
//! copied from the template `hoist.yaml` names (`environments_from`).
//!
//! `env` takes a second word, the sub-verb; once it is read, errors carry that
//! sub-verb's usage line. The grammar is strict: a word the grammar does not
//! expect is an error (a reason goes after `--reason`, never as loose words),
//! and `--reason` is taken only by the sub-verbs that write a commit message of
//! their own (`create`, `destroy`).

use crate::error::{ErrorKind, ParseError, nearest};
use crate::parser::{Cursor, Flag, Flags};
use crate::{Duration, Name};
use std::fmt;

#[cfg(test)]
mod tests;

pub const USAGE: &str =
    "env create NAME [from ENV] [for DURATION] | destroy NAME | extend NAME for DURATION | list";
pub const CREATE_USAGE: &str = "env create NAME [from ENV] [for DURATION] [--reason TEXT]";
pub const DESTROY_USAGE: &str = "env destroy NAME [--reason TEXT]";
pub const EXTEND_USAGE: &str = "env extend NAME for DURATION";
pub const LIST_USAGE: &str = "env list";
pub const HELP: &str = "Environments of your own, made from the template `hoist.yaml` names \
    (`environments_from`), each one a commit on the config repo under the same policy as a deploy.\n  \
    `env create NAME [from ENV] [for DURATION] [--reason TEXT]`: copy the template environment's \
    files (or ENV's) for NAME, with the same versions, and record who made it and when it \
    expires (after DURATION, or the rule's `ttl`); hoist says when NAME is ready. \
    `env create pr-123 from staging for 1h`.\n  \
    `env destroy NAME [--reason TEXT]`: remove NAME's files and its record in one commit.\n  \
    `env extend NAME for DURATION`: give NAME more time before it expires; the reply says until \
    when.\n  \
    `env list`: the environments made this way, their template, owner and expiry.\n  \
    hoist warns in the creator's thread an hour before an environment expires, then destroys it.";
pub const FLAGS: &[Flag] = &[Flag::Reason];

/// The sub-verbs, with their usage lines (for help and autocomplete).
pub const SUBVERBS: [(&str, &str); 4] = [
    ("create", CREATE_USAGE),
    ("destroy", DESTROY_USAGE),
    ("extend", EXTEND_USAGE),
    ("list", LIST_USAGE),
];

/// An environment of one's own: make, remove, keep longer, list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Env {
    Create(EnvCreate),
    Destroy(EnvDestroy),
    Extend(EnvExtend),
    List,
}

/// `env create NAME [from ENV] [for DURATION] [--reason TEXT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvCreate {
    pub name: Name,
    /// The environment to copy; the rule's template when absent.
    pub from: Option<Name>,
    /// How long it lives; the rule's `ttl` when absent.
    pub ttl: Option<Duration>,
    pub reason: Option<String>,
}

/// `env destroy NAME [--reason TEXT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvDestroy {
    pub name: Name,
    pub reason: Option<String>,
}

/// `env extend NAME for DURATION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvExtend {
    pub name: Name,
    pub ttl: Duration,
}

impl Env {
    /// Does this ask for a commit on the config repo (everything but `list`)?
    pub fn writes(&self) -> bool {
        !matches!(self, Env::List)
    }

    /// The environment it is about (`None` for `list`).
    pub fn name(&self) -> Option<&Name> {
        match self {
            Env::Create(c) => Some(&c.name),
            Env::Destroy(d) => Some(&d.name),
            Env::Extend(e) => Some(&e.name),
            Env::List => None,
        }
    }
}

const SUBVERB_EXPECTED: &str = "`create`, `destroy`, `extend` or `list`";

pub(crate) fn parse(c: &mut Cursor<'_>, flags: Flags) -> Result<Env, ParseError> {
    let word = c.expect(SUBVERB_EXPECTED)?;
    let Some(&(sub, usage)) = SUBVERBS.iter().find(|(w, _)| word.is_word(w)) else {
        let suggestion = if word.quoted {
            None
        } else {
            nearest(&word.text, SUBVERBS.iter().map(|(w, _)| *w))
        };
        return Err(c
            .error(
                word.span,
                ErrorKind::Expected {
                    expected: SUBVERB_EXPECTED.into(),
                    found: Some(word.text),
                },
            )
            .with_suggestion(suggestion));
    };
    // From here on, errors show the sub-verb's own usage line.
    c.usage = usage;
    match sub {
        "create" => create(c, flags).map(Env::Create),
        "destroy" => {
            let name = c.expect_value("the environment to destroy")?;
            end(c, &[])?;
            Ok(Env::Destroy(EnvDestroy {
                name,
                reason: flags.reason,
            }))
        }
        "extend" => {
            no_reason(c, &flags)?;
            let name = c.expect_value("the environment to extend")?;
            c.keyword(&["for"], "`for`")?;
            let ttl = c.expect_value("a duration")?;
            end(c, &[])?;
            Ok(Env::Extend(EnvExtend { name, ttl }))
        }
        _ => {
            no_reason(c, &flags)?;
            end(c, &[])?;
            Ok(Env::List)
        }
    }
}

/// `NAME` then `from ENV` and `for DURATION` in either order, each at most once.
fn create(c: &mut Cursor<'_>, flags: Flags) -> Result<EnvCreate, ParseError> {
    let name = c.expect_value("a name for the new environment")?;
    let (mut from, mut ttl) = (None, None);
    while let Some(word) = c.eat_keyword(&["from", "for"]) {
        let is_from = word.is_word("from");
        if (is_from && from.is_some()) || (!is_from && ttl.is_some()) {
            let what = format!("`{}`", word.text.to_ascii_lowercase());
            return Err(c.error(word.span, ErrorKind::Duplicate(what)));
        }
        if is_from {
            from = Some(c.expect_value("the environment to copy")?);
        } else {
            ttl = Some(c.expect_value("a duration")?);
        }
    }
    end(c, &["from", "for"])?;
    Ok(EnvCreate {
        name,
        from,
        ttl,
        reason: flags.reason,
    })
}

/// Nothing may follow but options: a stray word is an error that says what
/// could stand there (`more`: keywords still allowed, for "did you mean").
fn end(c: &mut Cursor<'_>, more: &[&str]) -> Result<(), ParseError> {
    let Some(word) = c.next() else {
        return Ok(());
    };
    let reason = if c.usage.contains("--reason") {
        " (a reason goes after `--reason`)"
    } else {
        ""
    };
    let expected = match more {
        [] => format!("the end of the command{reason}"),
        _ => {
            let words: Vec<String> = more.iter().map(|w| format!("`{w}`")).collect();
            format!("{} or the end of the command{reason}", words.join(", "))
        }
    };
    let suggestion = if word.quoted {
        None
    } else {
        nearest(&word.text, more.iter().copied())
    };
    Err(c
        .error(
            word.span,
            ErrorKind::Expected {
                expected,
                found: Some(word.text),
            },
        )
        .with_suggestion(suggestion))
}

/// `extend` and `list` write no message of their own: `--reason` is refused.
fn no_reason(c: &Cursor<'_>, flags: &Flags) -> Result<(), ParseError> {
    match &flags.reason_span {
        Some(span) => Err(c.error(span.clone(), ErrorKind::Unexpected("--reason".into()))),
        None => Ok(()),
    }
}

fn fmt_reason(f: &mut fmt::Formatter<'_>, reason: Option<&str>) -> fmt::Result {
    super::fmt_options(f, reason, None, false)
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Env::Create(c) => c.fmt(f),
            Env::Destroy(d) => d.fmt(f),
            Env::Extend(e) => e.fmt(f),
            Env::List => f.write_str("env list"),
        }
    }
}

impl fmt::Display for EnvCreate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "env create {}", self.name)?;
        if let Some(from) = &self.from {
            write!(f, " from {from}")?;
        }
        if let Some(ttl) = self.ttl {
            write!(f, " for {ttl}")?;
        }
        fmt_reason(f, self.reason.as_deref())
    }
}

impl fmt::Display for EnvDestroy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "env destroy {}", self.name)?;
        fmt_reason(f, self.reason.as_deref())
    }
}

impl fmt::Display for EnvExtend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "env extend {} for {}", self.name, self.ttl)
    }
}
