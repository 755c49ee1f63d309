//! `help [VERB]`: the usage line and help text of every verb, which live next
//! to each verb's grammar.

use crate::Verb;
use crate::error::{ErrorKind, ParseError, nearest};
use crate::parser::{Cursor, Flags};
use std::fmt;

pub const USAGE: &str = "help [VERB]";
pub const HELP: &str = "List the commands, or explain one.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    pub verb: Option<Verb>,
}

pub(crate) fn parse(c: &mut Cursor<'_>, _flags: Flags) -> Result<Help, ParseError> {
    let verb = match c.next() {
        None => None,
        Some(tok) => match Verb::from_word(&tok.text) {
            Some(v) => Some(v),
            None => {
                let suggestion = nearest(&tok.text, Verb::ALL.iter().map(|v| v.name()));
                return Err(c
                    .error(tok.span, ErrorKind::UnknownVerb(tok.text))
                    .with_suggestion(suggestion));
            }
        },
    };
    c.finish()?;
    Ok(Help { verb })
}

impl Help {
    /// The text to show for this request.
    pub fn text(&self) -> String {
        match self.verb {
            Some(v) => format!("{}\n  {}", v.usage(), v.help()),
            None => {
                let mut out = String::from("hoist commands:\n");
                for v in Verb::ALL {
                    out.push_str("  ");
                    out.push_str(v.usage());
                    out.push('\n');
                }
                out.push_str("`help VERB` explains one.");
                out
            }
        }
    }
}

impl fmt::Display for Help {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("help")?;
        if let Some(v) = self.verb {
            write!(f, " {}", v.name())?;
        }
        Ok(())
    }
}
