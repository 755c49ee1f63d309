//! Splitting a chat line into tokens. Whitespace separates tokens; `"double"`,
//! `'single'` and the typographic quotes chat clients substitute (`“…”`, `‘…’`)
//! group words. Every token remembers its byte span in the input so errors can
//! point at it, and whether it began with a quote (a quoted token is never a
//! keyword or a flag).

use crate::error::{ErrorKind, ParseError};
use std::ops::Range;

/// One word of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text with quotes removed and escapes resolved.
    pub text: String,
    /// Byte range in the original input, quotes included.
    pub span: Range<usize>,
    /// The token started with a quote: it is data, never a keyword or flag.
    pub quoted: bool,
}

impl Token {
    /// Is this an unquoted word equal to `word` (ASCII case-insensitive)?
    pub fn is_word(&self, word: &str) -> bool {
        !self.quoted && self.text.eq_ignore_ascii_case(word)
    }

    /// Is this an unquoted `--flag` token?
    pub fn is_flag(&self) -> bool {
        !self.quoted && self.text.starts_with("--")
    }
}

fn closing_quote(open: char) -> Option<char> {
    match open {
        '"' => Some('"'),
        '“' | '”' | '„' => Some('”'),
        '\'' => Some('\''),
        '‘' | '’' => Some('’'),
        _ => None,
    }
}

fn is_double(open: char) -> bool {
    matches!(open, '"' | '“' | '”' | '„')
}

/// Split `input` into tokens. Fails only on an unterminated quote.
pub fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut text = String::new();
        let mut quoted = false;
        let mut end = start;
        while let Some(&(at, c)) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            // A quote opens at the start of a token or right after `=` (`--reason="a b"`).
            let may_open = text.is_empty() || text.ends_with('=');
            match closing_quote(c).filter(|_| may_open) {
                Some(close) => {
                    if text.is_empty() {
                        quoted = true;
                    }
                    chars.next();
                    end = read_quoted(input, at, c, close, &mut chars, &mut text)?;
                }
                None => {
                    chars.next();
                    text.push(c);
                    end = at + c.len_utf8();
                }
            }
        }
        tokens.push(Token {
            text,
            span: start..end,
            quoted,
        });
    }
    Ok(tokens)
}

/// Read up to the closing quote; returns the byte offset just past it.
fn read_quoted(
    input: &str,
    open_at: usize,
    open: char,
    close: char,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    text: &mut String,
) -> Result<usize, ParseError> {
    // `"` also closes a `“` (clients mix them), and `'` closes `‘`.
    let alt_close = if is_double(open) { '"' } else { '\'' };
    while let Some((at, c)) = chars.next() {
        if c == close || c == alt_close {
            return Ok(at + c.len_utf8());
        }
        let escaped = chars
            .peek()
            .map(|&(_, n)| n)
            .filter(|n| matches!(n, '"' | '\\' | '”'));
        if let (true, Some(next)) = (c == '\\' && is_double(open), escaped) {
            chars.next();
            text.push(next);
            continue;
        }
        text.push(c);
    }
    Err(ParseError::new(
        input,
        open_at..open_at + open.len_utf8(),
        ErrorKind::UnterminatedQuote,
    ))
}

/// Quote `text` for display if reading it back would not give the same token.
pub fn quote_if_needed(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.starts_with("--")
        && !text
            .chars()
            .any(|c| c.is_whitespace() || closing_quote(c).is_some() || c == '\\');
    if plain { text.to_string() } else { quote(text) }
}

/// Always quote, escaping `\` and `"`.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' || c == '”' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<String> {
        tokenize(input)
            .unwrap()
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn splits_on_whitespace_and_keeps_quoted_words_together() {
        assert_eq!(
            texts("deploy  api\tv1 --reason \"a b\""),
            ["deploy", "api", "v1", "--reason", "a b"]
        );
        assert_eq!(
            texts("--reason=\"x y\" 'it s' don't"),
            ["--reason=x y", "it s", "don't"]
        );
        assert_eq!(
            texts("lock prod “code freeze”"),
            ["lock", "prod", "code freeze"]
        );
        assert_eq!(texts(r#""a \"q\" \\ b""#), [r#"a "q" \ b"#]);
    }

    #[test]
    fn spans_point_into_the_input() {
        let toks = tokenize("ab  \"c d\"").unwrap();
        assert_eq!(toks[0].span, 0..2);
        assert_eq!(toks[1].span, 4..9);
        assert!(toks[1].quoted && !toks[0].quoted);
    }

    #[test]
    fn unterminated_quote_points_at_the_opening_quote() {
        let err = tokenize("lock prod \"oops").unwrap_err();
        assert_eq!(err.span, 10..11);
    }

    #[test]
    fn quote_round_trips() {
        for s in ["", "a b", "--x", "q\"", "back\\slash", "plain", "”"] {
            let q = quote_if_needed(s);
            assert_eq!(texts(&q), [s.to_string()], "{q}");
        }
    }
}
