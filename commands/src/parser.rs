//! The shared machinery every verb's grammar uses: options (`--reason`,
//! `--ticket`, `--dry-run`, `--limit`) are pulled out first, wherever they
//! stand; the remaining words are read in order through a [`Cursor`] that knows
//! the verb's usage line, so every error it raises carries it.

use crate::error::{ErrorKind, ParseError, nearest};
use crate::lex::Token;
use crate::types::{Invalid, Ticket};
use std::str::FromStr;

/// Options a verb accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Reason,
    Ticket,
    DryRun,
    Limit,
}

impl Flag {
    fn name(self) -> &'static str {
        match self {
            Flag::Reason => "--reason",
            Flag::Ticket => "--ticket",
            Flag::DryRun => "--dry-run",
            Flag::Limit => "--limit",
        }
    }
}

/// Option values found in a command.
#[derive(Debug, Default)]
pub struct Flags {
    pub reason: Option<String>,
    /// Where `--reason` stands (the option word, or `--reason=...`), for a
    /// verb that refuses it after reading which form it was asked in.
    pub reason_span: Option<std::ops::Range<usize>>,
    pub ticket: Option<Ticket>,
    pub dry_run: bool,
    pub limit: Option<u32>,
}

/// Does the value of `--flag=value` open with a quote (`--reason="a b"`)?
fn inline_quoted(input: &str, tok: &Token) -> bool {
    input
        .get(tok.span.clone())
        .and_then(|raw| raw.split_once('='))
        .is_some_and(|(_, v)| v.starts_with(['"', '“', '”', '„', '\'', '‘', '’']))
}

/// Reads the words of one verb.
#[derive(Debug)]
pub struct Cursor<'a> {
    pub input: &'a str,
    pub usage: &'static str,
    words: Vec<Token>,
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Separate options from words. `tokens` excludes the verb itself.
    pub fn new(
        input: &'a str,
        usage: &'static str,
        tokens: Vec<Token>,
        allowed: &[Flag],
    ) -> Result<(Self, Flags), ParseError> {
        let mut flags = Flags::default();
        let mut words = Vec::new();
        let mut iter = tokens.into_iter().peekable();
        let err = |span: std::ops::Range<usize>, kind| {
            ParseError::new(input, span, kind).with_usage(usage)
        };
        while let Some(tok) = iter.next() {
            if !tok.is_flag() {
                words.push(tok);
                continue;
            }
            let (name, inline) = match tok.text.split_once('=') {
                Some((n, v)) => (n.to_ascii_lowercase(), Some(v.to_string())),
                None => (tok.text.to_ascii_lowercase(), None),
            };
            let Some(flag) = allowed.iter().copied().find(|f| f.name() == name) else {
                let suggestion = nearest(&name, allowed.iter().map(|f| f.name()));
                return Err(err(tok.span, ErrorKind::UnknownFlag(name)).with_suggestion(suggestion));
            };
            let dup = || err(tok.span.clone(), ErrorKind::Duplicate(flag.name().into()));
            let missing = || {
                err(
                    tok.span.clone(),
                    ErrorKind::MissingValue(flag.name().into()),
                )
            };
            match flag {
                Flag::DryRun if inline.is_some() => {
                    return Err(err(tok.span, ErrorKind::Unexpected(tok.text)));
                }
                Flag::DryRun if flags.dry_run => return Err(dup()),
                Flag::DryRun => flags.dry_run = true,
                Flag::Reason => {
                    if flags.reason.is_some() {
                        return Err(dup());
                    }
                    // A quoted reason is the quoted text (`--reason "x" for 1h`
                    // leaves `for 1h` to the grammar); an unquoted one runs up
                    // to the next option.
                    let mut parts: Vec<String> = Vec::new();
                    let closed = match inline {
                        Some(v) => {
                            parts.push(v);
                            inline_quoted(input, &tok)
                        }
                        None => match iter.next_if(|t| !t.is_flag()) {
                            Some(first) => {
                                parts.push(first.text);
                                first.quoted
                            }
                            None => false,
                        },
                    };
                    while let Some(next) = iter.next_if(|t| !closed && !t.is_flag()) {
                        parts.push(next.text);
                    }
                    let text = parts.join(" ");
                    if text.trim().is_empty() {
                        return Err(missing());
                    }
                    flags.reason = Some(text);
                    flags.reason_span = Some(tok.span.clone());
                }
                Flag::Ticket | Flag::Limit => {
                    let (value, span) = match inline {
                        Some(v) => (v, tok.span.clone()),
                        None => iter
                            .next_if(|t| !t.is_flag())
                            .map(|t| (t.text, t.span))
                            .ok_or_else(missing)?,
                    };
                    if value.is_empty() {
                        return Err(missing());
                    }
                    if flag == Flag::Ticket {
                        // One safe token: it is written into a commit trailer.
                        let ticket: Ticket = value.parse().map_err(|e: Invalid| {
                            err(
                                span,
                                ErrorKind::Invalid {
                                    what: e.what,
                                    value: value.clone(),
                                    rule: e.rule,
                                },
                            )
                        })?;
                        if flags.ticket.replace(ticket).is_some() {
                            return Err(dup());
                        }
                    } else {
                        let n: u32 = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                            err(
                                tok.span.clone(),
                                ErrorKind::Invalid {
                                    what: "limit",
                                    value: value.clone(),
                                    rule: "expected a positive whole number",
                                },
                            )
                        })?;
                        if flags.limit.replace(n).is_some() {
                            return Err(dup());
                        }
                    }
                }
            }
        }
        Ok((
            Cursor {
                input,
                usage,
                words,
                at: 0,
            },
            flags,
        ))
    }

    pub fn error(&self, span: std::ops::Range<usize>, kind: ErrorKind) -> ParseError {
        ParseError::new(self.input, span, kind).with_usage(self.usage)
    }

    /// Where the command ends (for "expected X, but the command ends here").
    fn end_span(&self) -> std::ops::Range<usize> {
        let end = self.input.trim_end().len();
        end..end
    }

    pub fn peek(&self) -> Option<&Token> {
        self.words.get(self.at)
    }

    pub fn next(&mut self) -> Option<Token> {
        let tok = self.words.get(self.at).cloned();
        self.at += usize::from(tok.is_some());
        tok
    }

    /// Step back over the word just taken.
    pub fn back(&mut self) {
        self.at = self.at.saturating_sub(1);
    }

    /// Take the next word, or fail saying what was expected.
    pub fn expect(&mut self, expected: &str) -> Result<Token, ParseError> {
        self.next().ok_or_else(|| {
            self.error(
                self.end_span(),
                ErrorKind::Expected {
                    expected: expected.into(),
                    found: None,
                },
            )
        })
    }

    /// Take the next word if it is one of `keywords`.
    pub fn eat_keyword(&mut self, keywords: &[&str]) -> Option<Token> {
        let hit = self
            .peek()
            .is_some_and(|t| keywords.iter().any(|k| t.is_word(k)));
        if hit { self.next() } else { None }
    }

    /// The next word must be one of `keywords`.
    pub fn keyword(&mut self, keywords: &[&str], expected: &str) -> Result<Token, ParseError> {
        if let Some(tok) = self.eat_keyword(keywords) {
            return Ok(tok);
        }
        let tok = self.expect(expected)?;
        let suggestion = if tok.quoted {
            None
        } else {
            nearest(&tok.text, keywords.iter().copied())
        };
        Err(self
            .error(
                tok.span,
                ErrorKind::Expected {
                    expected: expected.into(),
                    found: Some(tok.text),
                },
            )
            .with_suggestion(suggestion))
    }

    /// Convert a word into a validated value, pointing at it on failure.
    pub fn value<T: FromStr<Err = Invalid>>(&self, tok: &Token) -> Result<T, ParseError> {
        tok.text.parse::<T>().map_err(|e| {
            self.error(
                tok.span.clone(),
                ErrorKind::Invalid {
                    what: e.what,
                    value: tok.text.clone(),
                    rule: e.rule,
                },
            )
        })
    }

    /// Read the next word as a value.
    pub fn expect_value<T: FromStr<Err = Invalid>>(
        &mut self,
        expected: &str,
    ) -> Result<T, ParseError> {
        let tok = self.expect(expected)?;
        self.value(&tok)
    }

    /// A comma-separated list of names, tolerating `api, worker` and `api ,worker`.
    pub fn name_list(&mut self, expected: &str) -> Result<Vec<crate::Name>, ParseError> {
        let first = self.expect(expected)?;
        let mut pieces = vec![first];
        loop {
            let last = pieces
                .last()
                .map(|t| t.text.ends_with(','))
                .unwrap_or(false);
            let next_starts = self
                .peek()
                .is_some_and(|t| !t.quoted && t.text.starts_with(','));
            if !(last || next_starts) {
                break;
            }
            match self.next() {
                Some(t) => pieces.push(t),
                None => break,
            }
        }
        let mut names = Vec::new();
        for tok in &pieces {
            let mut offset = tok.span.start;
            for part in tok.text.split(',') {
                let span = offset..offset + part.len();
                offset += part.len() + 1;
                if part.is_empty() {
                    continue;
                }
                let piece = Token {
                    text: part.to_string(),
                    span,
                    quoted: tok.quoted,
                };
                let name: crate::Name = self.value(&piece)?;
                if names.contains(&name) {
                    return Err(self.error(piece.span, ErrorKind::Duplicate(format!("`{name}`"))));
                }
                names.push(name);
            }
        }
        if names.is_empty() {
            return Err(self.error(
                pieces[0].span.clone(),
                ErrorKind::Expected {
                    expected: expected.into(),
                    found: Some(pieces[0].text.clone()),
                },
            ));
        }
        Ok(names)
    }

    /// All remaining words joined by single spaces (free text such as a lock reason).
    pub fn rest_text(&mut self) -> Option<String> {
        let rest: Vec<String> = self.words[self.at..]
            .iter()
            .map(|t| t.text.clone())
            .collect();
        self.at = self.words.len();
        (!rest.is_empty()).then(|| rest.join(" "))
    }

    /// Nothing may follow.
    pub fn finish(&mut self) -> Result<(), ParseError> {
        match self.next() {
            None => Ok(()),
            Some(tok) => Err(self.error(tok.span, ErrorKind::Unexpected(tok.text))),
        }
    }
}
