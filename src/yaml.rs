//! A span-preserving view of YAML: documents become a small tree whose every
//! node knows its byte range and line:col in the source. The editor uses it to
//! find the exact bytes of one scalar; the policy loader uses it to report
//! problems at the line and column where they are. Nothing here writes YAML.

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
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

/// A YAML syntax error at a position, or a limit the input went past.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos_line}:{pos_col}: {message}")]
pub struct SyntaxError {
    pub pos_line: usize,
    pub pos_col: usize,
    pub message: String,
    /// Set when the text went past one of the reader's [`Limits`] (it may
    /// well be valid YAML): callers say so instead of "not valid YAML".
    pub over_limit: bool,
}

/// How much the reader accepts before it stops. Every YAML hoist reads comes
/// from a repository anyone with push access can change (and `status` reads
/// it for any chat user), so reading must be bounded: the tree is built
/// without recursion, but its nodes are dropped, compared and walked
/// recursively, and saphyr's scanner does work per open flow level for each
/// token, so a few hundred kilobytes of `[[[[` would otherwise abort the
/// process with a stack overflow or spin for minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest text read at all, in bytes.
    pub max_bytes: usize,
    /// How many sequences and mappings may be open inside each other.
    pub max_depth: usize,
    /// How many nodes (scalars, aliases, sequences, mappings) a file may hold,
    /// which bounds the memory of the tree (about 100 bytes a node).
    pub max_nodes: usize,
}

impl Limits {
    /// `hoist.yaml`: a policy for hundreds of apps is tens of kilobytes and
    /// six levels deep (`apps.api.targets.prod.file`); 1 MiB, 64 levels and
    /// 100,000 nodes leave room for generated policies and nothing else.
    pub const POLICY: Limits = Limits {
        max_bytes: 1 << 20,
        max_depth: 64,
        max_nodes: 100_000,
    };
    /// Target files (kustomizations, Helm values, manifests with a marker
    /// line): large generated values files and CRD bundles stay under a
    /// few megabytes and a few dozen levels; 4 MiB, 128 levels and a
    /// million nodes (about 100 MB of tree at worst) bound one read.
    /// (saphyr itself stops at 256 open flow collections.)
    pub const TARGET: Limits = Limits {
        max_bytes: 4 << 20,
        max_depth: 128,
        max_nodes: 1_000_000,
    };

    /// The error for a text longer than `max_bytes`, if it is.
    pub fn check_size(&self, src: &str) -> Result<(), SyntaxError> {
        if src.len() <= self.max_bytes {
            return Ok(());
        }
        Err(SyntaxError {
            pos_line: 1,
            pos_col: 1,
            message: format!(
                "the file is {} bytes; hoist reads at most {} ({} MiB) here",
                src.len(),
                self.max_bytes,
                self.max_bytes >> 20
            ),
            over_limit: true,
        })
    }
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

/// Parse every document in `src`, within `limits`. The parser is pulled one
/// event at a time, so a limit stops the reading where it is passed: a
/// 100,000-deep input costs the first `max_depth` levels, no more.
pub fn load(src: &str, limits: Limits) -> Result<Vec<Node>, SyntaxError> {
    limits.check_size(src)?;
    // saphyr reports character indices; map them to byte offsets (the same
    // numbers for ASCII text, the common case).
    let byte_at: Vec<usize> = if src.is_ascii() {
        Vec::new()
    } else {
        src.char_indices()
            .map(|(b, _)| b)
            .chain([src.len()])
            .collect()
    };
    let mut stack: Vec<Node> = Vec::new();
    let mut docs = Vec::new();
    let mut nodes = 0usize;
    for item in Parser::new_from_str(src) {
        let (event, span) = item.map_err(|e| {
            // saphyr counts open flow collections in a `u8` and stops at 256
            // with this error, possibly before our own count (it looks ahead).
            let too_deep = e.info() == "recursion limit exceeded";
            SyntaxError {
                pos_line: e.marker().line(),
                pos_col: e.marker().col() + 1,
                message: if too_deep {
                    format!("nesting deeper than {} levels", limits.max_depth)
                } else {
                    e.info().to_string()
                },
                over_limit: too_deep,
            }
        })?;
        let start = if byte_at.is_empty() {
            span.start.index().min(src.len())
        } else {
            byte_at
                .get(span.start.index())
                .copied()
                .unwrap_or(src.len())
        };
        let pos = Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
        };
        let over = |message: String| SyntaxError {
            pos_line: pos.line,
            pos_col: pos.col,
            message,
            over_limit: true,
        };
        if matches!(
            event,
            Event::Scalar(..)
                | Event::Alias(_)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
        ) {
            nodes += 1;
            if nodes > limits.max_nodes {
                return Err(over(format!(
                    "more than {} values in one file",
                    limits.max_nodes
                )));
            }
        }
        if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..))
            && stack.len() >= limits.max_depth
        {
            return Err(over(format!(
                "nesting deeper than {} levels",
                limits.max_depth
            )));
        }
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

/// Every key written twice in one mapping, anywhere under `root`, as (the
/// first key, the repeated one), in source order. Keys are compared by their
/// text (`a` and `"a"` are the same key). Walks with its own stack.
pub fn duplicate_keys(root: &Node) -> Vec<(&Node, &Node)> {
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(node) = todo.pop() {
        match &node.kind {
            Kind::Map(entries) => {
                let mut seen = HashMap::new();
                for (k, v) in entries {
                    if let Some(text) = k.as_str() {
                        match seen.entry(text) {
                            Entry::Occupied(first) => out.push((*first.get(), k)),
                            Entry::Vacant(slot) => {
                                slot.insert(k);
                            }
                        }
                    }
                    todo.push(k);
                    todo.push(v);
                }
            }
            Kind::Seq(items) => todo.extend(items),
            Kind::Scalar { .. } | Kind::Alias => {}
        }
    }
    out.sort_by_key(|(_, dup)| dup.start);
    out
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
pub(crate) mod tests;
