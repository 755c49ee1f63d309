//! Parse errors: what went wrong, where (a byte span of the input), the usage
//! line of the verb being parsed and, when a near word exists, "did you mean".
//! `Display` renders the input with a caret line under the offending span.

use std::fmt;
use std::ops::Range;

/// What went wrong, in words a chat user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Nothing but whitespace.
    Empty,
    /// The first word is not a verb.
    UnknownVerb(String),
    /// A quote was opened and never closed.
    UnterminatedQuote,
    /// A specific word or kind of value was expected here.
    Expected {
        expected: String,
        found: Option<String>,
    },
    /// A value that does not follow the rules (name, version, duration, ...).
    Invalid {
        what: &'static str,
        value: String,
        rule: &'static str,
    },
    /// More words than the grammar allows.
    Unexpected(String),
    /// `--flag` that the verb does not take.
    UnknownFlag(String),
    /// A flag given twice, or a value given both ways.
    Duplicate(String),
    /// A flag that needs a value got none.
    MissingValue(String),
}

/// A command that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The whole input line.
    pub input: String,
    /// Byte range of the problem in `input` (empty at the end of input).
    pub span: Range<usize>,
    pub kind: ErrorKind,
    /// The usage line of the verb being parsed, when the verb is known.
    pub usage: Option<&'static str>,
    /// The nearest valid word, when one is close enough.
    pub suggestion: Option<String>,
}

impl ParseError {
    pub fn new(input: &str, span: Range<usize>, kind: ErrorKind) -> Self {
        ParseError {
            input: input.to_string(),
            span,
            kind,
            usage: None,
            suggestion: None,
        }
    }

    pub fn with_usage(mut self, usage: &'static str) -> Self {
        self.usage.get_or_insert(usage);
        self
    }

    pub fn with_suggestion(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }

    /// 1-based column (in characters) where the problem starts.
    pub fn column(&self) -> usize {
        let at = self.span.start.min(self.input.len());
        self.input[..at].chars().count() + 1
    }

    /// The one-line message, without the caret picture or usage.
    pub fn message(&self) -> String {
        match &self.kind {
            ErrorKind::Empty => "empty command; try `help`".into(),
            ErrorKind::UnknownVerb(v) => format!("unknown command `{}`", visible(v)),
            ErrorKind::UnterminatedQuote => "this quote is never closed".into(),
            ErrorKind::Expected {
                expected,
                found: Some(f),
            } => {
                format!("expected {expected}, found `{}`", visible(f))
            }
            ErrorKind::Expected {
                expected,
                found: None,
            } => {
                format!("expected {expected}, but the command ends here")
            }
            ErrorKind::Invalid { what, value, rule } => {
                format!("`{}` is not a valid {what}: {rule}", visible(value))
            }
            ErrorKind::Unexpected(w) => format!("unexpected `{}`", visible(w)),
            ErrorKind::UnknownFlag(f) => format!("unknown option `{}`", visible(f)),
            ErrorKind::Duplicate(f) => format!("{f} is given twice"),
            ErrorKind::MissingValue(f) => format!("{f} needs a value"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} (at column {})", self.message(), self.column())?;
        writeln!(f, "  {}", visible(&self.input))?;
        let start = self.column() - 1;
        let end = self.span.end.clamp(self.span.start, self.input.len());
        let width = self.input[self.span.start.min(end)..end]
            .chars()
            .count()
            .max(1);
        write!(f, "  {}{}", " ".repeat(start), "^".repeat(width))?;
        if let Some(s) = &self.suggestion {
            write!(f, "\ndid you mean `{s}`?")?;
        }
        if let Some(u) = self.usage {
            write!(f, "\nusage: {u}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// `s` with every control character (newlines included) and line or
/// paragraph separator shown as `·`, one char for one, so an error message
/// stays on its lines and the caret under the input still points right.
pub fn visible(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                '·'
            } else {
                c
            }
        })
        .collect()
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transposition).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The candidate nearest to `word`, if it is close enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let word = word.to_ascii_lowercase();
    let limit = match word.chars().count() {
        0..=2 => 1,
        3..=5 => 2,
        _ => 3,
    };
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_transpositions_as_one() {
        assert_eq!(edit_distance("ot", "to"), 1);
        assert_eq!(edit_distance("promot", "promote"), 1);
        assert_eq!(edit_distance("deplyo", "deploy"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn nearest_ignores_far_words() {
        assert_eq!(
            nearest("rolback", ["rollback", "deploy"]),
            Some("rollback".into())
        );
        assert_eq!(nearest("xyzzy", ["rollback", "deploy"]), None);
    }

    #[test]
    fn display_draws_a_caret_under_the_span() {
        let e = ParseError::new("promot api", 0..6, ErrorKind::UnknownVerb("promot".into()))
            .with_suggestion(Some("promote".into()));
        let text = e.to_string();
        assert!(
            text.contains("unknown command `promot` (at column 1)"),
            "{text}"
        );
        assert!(text.contains("\n  ^^^^^^\n"), "{text}");
        assert!(text.contains("did you mean `promote`?"), "{text}");
    }
}
