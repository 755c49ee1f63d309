//! A span-preserving view of YAML: documents become a small tree whose every
//! node knows its byte range and line:col in the source. The editor uses it to
//! find the exact bytes of one scalar; the policy loader uses it to report
//! problems at the line and column where they are. Nothing here writes YAML.

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::ops::Range;

/// Where a node starts, for messages (`hoist.yaml:LINE:COL`), both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// How a scalar is written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Single,
    Double,
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Scalar { value: String, style: Style },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Alias,
}

/// One node. `start` is the byte offset of its first character; `anchored` is
/// set when it carries an `&anchor` (edits refuse anchored or aliased nodes).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub start: usize,
    pub pos: Pos,
    pub anchored: bool,
}

/// A YAML syntax error at a position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos_line}:{pos_col}: {message}")]
pub struct SyntaxError {
    pub pos_line: usize,
    pub pos_col: usize,
    pub message: String,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Look up a key in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node of `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: Style::Plain } if value.is_empty() || value == "~" || value == "null")
    }

    /// A short word for messages: "a mapping", "a list", "a text value".
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { .. } => "a single value",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
            Kind::Alias => "an alias",
        }
    }
}

/// Parse every document in `src`.
pub fn load(src: &str) -> Result<Vec<Node>, SyntaxError> {
    // saphyr reports character indices; map them to byte offsets.
    let mut byte_at: Vec<usize> = src.char_indices().map(|(b, _)| b).collect();
    byte_at.push(src.len());
    let mut stack: Vec<Node> = Vec::new();
    let mut docs = Vec::new();
    for item in Parser::new_from_str(src) {
        let (event, span) = item.map_err(|e| SyntaxError {
            pos_line: e.marker().line(),
            pos_col: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let start = byte_at
            .get(span.start.index())
            .copied()
            .unwrap_or(src.len());
        let pos = Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
        };
        let node = |kind, anchor: usize| Node {
            kind,
            start,
            pos,
            anchored: anchor != 0,
        };
        let finished = match event {
            Event::Scalar(value, style, anchor, _) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::Single,
                    ScalarStyle::DoubleQuoted => Style::Double,
                    _ => Style::Block,
                };
                Some(node(
                    Kind::Scalar {
                        value: value.into_owned(),
                        style,
                    },
                    anchor,
                ))
            }
            Event::Alias(_) => Some(node(Kind::Alias, 0)),
            Event::SequenceStart(anchor, _) => {
                stack.push(node(Kind::Seq(Vec::new()), anchor));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(node(Kind::Map(Vec::new()), anchor));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => stack.pop(),
            _ => None,
        };
        let Some(done) = finished else { continue };
        match stack.last_mut() {
            None => docs.push(done),
            Some(Node {
                kind: Kind::Seq(items),
                ..
            }) => items.push(done),
            Some(Node {
                kind: Kind::Map(entries),
                ..
            }) => match entries.last_mut() {
                Some((_, v)) if matches!(v.kind, Kind::Alias) && v.start == usize::MAX => *v = done,
                _ => entries.push((done, pending())),
            },
            Some(_) => {}
        }
    }
    Ok(docs)
}

/// Placeholder for a mapping value not yet read (a key was just pushed).
fn pending() -> Node {
    Node {
        kind: Kind::Alias,
        start: usize::MAX,
        pos: Pos::default(),
        anchored: false,
    }
}

/// The byte range of a scalar's source text (quotes included), when it sits on
/// one line. Multi-line and block scalars give `None`: hoist does not edit them.
pub fn scalar_extent(src: &str, node: &Node) -> Option<Range<usize>> {
    let Kind::Scalar { value, style } = &node.kind else {
        return None;
    };
    let rest = src.get(node.start..)?;
    let line_end = rest.find(['\n', '\r']).unwrap_or(rest.len());
    let line = &rest[..line_end];
    let len = match style {
        Style::Plain => line.starts_with(value.as_str()).then_some(value.len())?,
        Style::Single => {
            let body = line.strip_prefix('\'')?;
            let mut i = 0;
            let bytes = body.as_bytes();
            loop {
                let q = body[i..].find('\'')? + i;
                if bytes.get(q + 1) == Some(&b'\'') {
                    i = q + 2;
                } else {
                    break q + 2;
                }
            }
        }
        Style::Double => {
            let body = line.strip_prefix('"')?;
            let bytes = body.as_bytes();
            let mut i = 0;
            loop {
                match bytes.get(i)? {
                    b'\\' => i += 2,
                    b'"' => break i + 2,
                    _ => i += 1,
                }
            }
        }
        Style::Block => return None,
    };
    Some(node.start..node.start + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_know_their_positions() {
        let src = "# c\nimages:\n  - name: ghcr.io/acme/api # x\n    newTag: \"v1\"\n";
        let docs = load(src).unwrap();
        let images = docs[0].get("images").unwrap();
        let Kind::Seq(items) = &images.kind else {
            panic!()
        };
        let tag = items[0].get("newTag").unwrap();
        assert_eq!(tag.pos, Pos { line: 4, col: 13 });
        assert_eq!(&src[scalar_extent(src, tag).unwrap()], "\"v1\"");
        let name = items[0].get("name").unwrap();
        assert_eq!(&src[scalar_extent(src, name).unwrap()], "ghcr.io/acme/api");
    }

    #[test]
    fn extents_cover_quotes_and_escapes() {
        let src = "a: 'it''s'\nb: \"x\\\"y\"\nc: é-plain  \r\nd: |\n  block\n";
        let doc = &load(src).unwrap()[0];
        let ext = |k| &src[scalar_extent(src, doc.get(k).unwrap()).unwrap()];
        assert_eq!(ext("a"), "'it''s'");
        assert_eq!(ext("b"), "\"x\\\"y\"");
        assert_eq!(ext("c"), "é-plain");
        assert_eq!(scalar_extent(src, doc.get("d").unwrap()), None);
    }

    #[test]
    fn anchors_and_aliases_are_visible() {
        let doc = &load("a: &x 1\nb: *x\n").unwrap()[0];
        assert!(doc.get("a").unwrap().anchored);
        assert!(matches!(doc.get("b").unwrap().kind, Kind::Alias));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = load("a: [1, 2\nb: c\n").unwrap_err();
        assert!(err.pos_line >= 1, "{err}");
    }
}
