//! Surgical edits: find one scalar (a kustomize `images[]` entry's `newTag` /
//! `digest`, or a YAML path such as `image.tag`) and replace exactly its bytes,
//! written in the style the old value used. Comments, key order, quoting and
//! indentation elsewhere stay byte-identical; the diff is the value's line
//! (plus, when a digest is set on an `images[]` entry without a `digest:`
//! key, the one line that adds it). Target files are read within
//! [`Limits::TARGET`]: anyone who can push to the config repo writes them.

pub use crate::engine::ports::LineChange;
use crate::policy::Locator;
use crate::yaml::{self, Kind, Limits, Node, Style};
use hoist_commands::Version;
use std::ops::Range;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    #[error("not valid YAML at {0}")]
    Syntax(yaml::SyntaxError),
    /// Past one of [`Limits::TARGET`]: too big, too deep, too many values.
    #[error("{0}")]
    TooLarge(yaml::SyntaxError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0} is an anchor or an alias; hoist will not guess which uses should change")]
    Anchored(String),
    #[error("{0} spans several lines or is a block scalar; hoist edits single-line values only")]
    MultiLine(String),
    #[error("{0} is found in more than one document of the file")]
    Ambiguous(String),
    #[error("{0}")]
    Unsupported(String),
}

/// The result of planning an edit on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub old_value: Option<String>,
    pub new_text: String,
    pub lines: Vec<LineChange>,
}

/// A path segment of `a.b[2].c` (`\.` escapes a dot inside a key).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Result<Vec<Seg>, EditError> {
    let bad = || {
        EditError::Unsupported(format!(
            "`{path}` is not a valid YAML path (like `image.tag` or `a.b[2].c`)"
        ))
    };
    let mut segs = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars().peekable();
    let mut after_index = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => key.push(chars.next().ok_or_else(bad)?),
            '.' => {
                if key.is_empty() && !after_index {
                    return Err(bad());
                }
                if !key.is_empty() {
                    segs.push(Seg::Key(std::mem::take(&mut key)));
                }
                after_index = false;
            }
            '[' => {
                if !key.is_empty() {
                    segs.push(Seg::Key(std::mem::take(&mut key)));
                }
                let digits: String = chars.by_ref().take_while(|c| *c != ']').collect();
                segs.push(Seg::Index(digits.parse().map_err(|_| bad())?));
                after_index = true;
            }
            c => key.push(c),
        }
    }
    if !key.is_empty() {
        segs.push(Seg::Key(key));
    }
    if segs.is_empty() {
        Err(bad())
    } else {
        Ok(segs)
    }
}

fn walk<'a>(node: &'a Node, path: &[Seg]) -> Option<&'a Node> {
    path.iter()
        .try_fold(node, |node, seg| match (seg, &node.kind) {
            (Seg::Key(k), Kind::Map(_)) => node.get(k),
            (Seg::Index(i), Kind::Seq(items)) => items.get(*i),
            _ => None,
        })
}

/// The scalar nodes a locator points at, with a label for messages. For a
/// kustomize image: (`newTag`, `digest`) of the matching `images[]` entry,
/// and the entry itself (where a missing `digest:` is added).
struct Found<'a> {
    tag: Option<&'a Node>,
    digest: Option<&'a Node>,
    entry: Option<&'a Node>,
}

fn find<'a>(docs: &'a [Node], locator: &Locator) -> Result<Found<'a>, EditError> {
    let mut hits = Vec::new();
    for doc in docs {
        let hit = match locator {
            Locator::KustomizeImage(image) => {
                let Some(Node {
                    kind: Kind::Seq(items),
                    ..
                }) = doc.get("images")
                else {
                    continue;
                };
                items
                    .iter()
                    .find(|i| i.get("name").and_then(Node::as_str) == Some(image))
                    .map(|entry| Found {
                        tag: entry.get("newTag"),
                        digest: entry.get("digest"),
                        entry: Some(entry),
                    })
            }
            Locator::YamlPath(path) => walk(doc, &parse_path(path)?).map(|n| Found {
                tag: Some(n),
                digest: None,
                entry: None,
            }),
            Locator::Marker(_) => unreachable!("marker lines are not YAML lookups"),
        };
        hits.extend(hit);
    }
    let label = locator.to_string();
    match hits.len() {
        0 => Err(EditError::NotFound(format!("{label} is not in the file"))),
        1 => Ok(hits.remove(0)),
        _ => Err(EditError::Ambiguous(label)),
    }
}

fn scalar<'a>(node: &'a Node, label: &str) -> Result<&'a str, EditError> {
    if node.anchored || matches!(node.kind, Kind::Alias) {
        return Err(EditError::Anchored(label.to_string()));
    }
    node.as_str().ok_or_else(|| {
        EditError::Unsupported(format!("{label} is {}, not a value", node.describe()))
    })
}

/// The current value a locator points at (`tag`, `sha256:..`, or `tag@sha256:..`).
pub fn read_value(src: &str, locator: &Locator) -> Result<Option<String>, EditError> {
    Limits::TARGET
        .check_size(src)
        .map_err(EditError::TooLarge)?;
    if let Locator::Marker(name) = locator {
        return marker::read_value(src, name);
    }
    value_of(&find(&parse(src)?, locator)?)
}

/// The documents of a target file, within [`Limits::TARGET`]. A key written
/// twice in one mapping is refused: hoist would read and edit the first
/// while Helm and kustomize use the last, so what hoist reports and changes
/// would not be what runs.
fn parse(src: &str) -> Result<Vec<Node>, EditError> {
    let docs = yaml::load(src, Limits::TARGET).map_err(|e| {
        if e.over_limit {
            EditError::TooLarge(e)
        } else {
            EditError::Syntax(e)
        }
    })?;
    for doc in &docs {
        if let Some((first, again)) = yaml::duplicate_keys(doc).first() {
            return Err(EditError::Unsupported(format!(
                "key `{}` is written twice ({}:{} and {}:{}); tools disagree on which one \
                 counts, so hoist will not read or edit this file until one is removed",
                first.as_str().unwrap_or_default().escape_debug(),
                first.pos.line,
                first.pos.col,
                again.pos.line,
                again.pos.col
            )));
        }
    }
    Ok(docs)
}

/// The value held by the nodes a locator found.
fn value_of(found: &Found<'_>) -> Result<Option<String>, EditError> {
    // An empty value is no value: deploying a tag over a pinned entry
    // writes `digest: ""`, which kustomize reads as "no digest".
    let tag = found
        .tag
        .filter(|n| !n.is_null())
        .map(|n| scalar(n, "newTag"))
        .transpose()?
        .filter(|t| !t.is_empty());
    let digest = found
        .digest
        .filter(|n| !n.is_null())
        .map(|n| scalar(n, "digest"))
        .transpose()?
        .filter(|d| !d.is_empty());
    Ok(match (tag, digest) {
        (Some(t), Some(d)) => Some(format!("{t}@{d}")),
        (Some(t), None) => Some(t.to_string()),
        (None, Some(d)) => Some(d.to_string()),
        (None, None) => None,
    })
}

/// Plan the edit that sets `locator` to `version`. The file is unchanged when
/// it already holds that version (`lines` is then empty).
pub fn apply(src: &str, locator: &Locator, version: &Version) -> Result<Edited, EditError> {
    Limits::TARGET
        .check_size(src)
        .map_err(EditError::TooLarge)?;
    if let Locator::Marker(name) = locator {
        return marker::apply(src, name, version);
    }
    let docs = parse(src)?;
    let found = find(&docs, locator)?;
    let old_value = value_of(&found)?;
    let mut replacements: Vec<(Range<usize>, String)> = Vec::new();
    let mut added = None;
    let mut set = |node: Option<&Node>, key: &str, value: &str| -> Result<(), EditError> {
        let label = format!("{locator} ({key})");
        let Some(node) = node else {
            return Err(EditError::NotFound(format!(
                "{label}: the entry has no `{key}:` key; add one (any value) so hoist can set it"
            )));
        };
        scalar(node, &label)?;
        let Kind::Scalar { style, .. } = node.kind else {
            unreachable!("checked by scalar()")
        };
        let span =
            yaml::scalar_extent(src, node).ok_or_else(|| EditError::MultiLine(label.clone()))?;
        replacements.push((span, render(value, style)));
        Ok(())
    };
    match locator {
        Locator::KustomizeImage(_) => {
            if let Some(tag) = version.tag() {
                set(found.tag, "newTag", tag)?;
            }
            if let Some(digest) = version.digest() {
                match (found.digest, found.entry) {
                    // What `kustomize edit set image` does: add the key.
                    (None, Some(entry)) => added = Some(insert::digest(src, entry, &digest)?),
                    (node, _) => set(node, "digest", &digest)?,
                }
            } else if found.digest.is_some_and(|d| !d.is_null()) {
                // A digest would override the new tag: kustomize pins by digest first.
                set(found.digest, "digest", "")?;
            }
        }
        Locator::YamlPath(_) => set(found.tag, "value", &version.to_string())?,
        Locator::Marker(_) => unreachable!("handled above"),
    }
    let inserted = added.is_some();
    replacements.extend(added);
    if old_value.as_deref() == Some(version.to_string().as_str()) {
        return Ok(Edited {
            old_value,
            new_text: src.to_string(),
            lines: Vec::new(),
        });
    }
    let edited = splice(src, replacements, old_value);
    if inserted {
        // A new key is new syntax: read it back before anyone commits it.
        let docs = parse(&edited.new_text).ok();
        let digest = docs.as_ref().and_then(|d| find(d, locator).ok());
        let digest = digest.and_then(|f| f.digest).and_then(Node::as_str);
        if digest != version.digest().as_deref() {
            return Err(EditError::Unsupported(format!(
                "{locator}: hoist could not add a `digest:` key to this entry's layout; \
                 add one (any value) so hoist can set it"
            )));
        }
    }
    Ok(edited)
}

/// `src` with each byte range replaced by its text (ranges do not overlap);
/// the diff is the lines that differ.
fn splice(
    src: &str,
    mut replacements: Vec<(Range<usize>, String)>,
    old_value: Option<String>,
) -> Edited {
    replacements.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(src.len() + 80);
    let mut at = 0;
    for (range, text) in &replacements {
        out.push_str(&src[at..range.start]);
        out.push_str(text);
        at = range.end;
    }
    out.push_str(&src[at..]);
    let lines = changed_lines(src, &out);
    Edited {
        old_value,
        new_text: out,
        lines,
    }
}

/// Write `value` the way the old scalar was written: a quoted value stays
/// quoted; a plain one stays plain unless YAML would read it as something other
/// than text (`1.10` would become a number), in which case it is double-quoted.
fn render(value: &str, style: Style) -> String {
    match style {
        Style::Single => format!("'{}'", value.replace('\'', "''")),
        Style::Plain if plain_is_text(value) => value.to_string(),
        _ => format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

/// Would a plain scalar with this text be read back as the same string by
/// YAML 1.1 and 1.2 readers (Go's yaml.v2/v3, kustomize, Helm)? Numbers,
/// booleans and nulls of either spec would not be (`1.10` becomes 1.1).
fn plain_is_text(v: &str) -> bool {
    static NOT_TEXT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let not_text = NOT_TEXT.get_or_init(|| {
        regex::Regex::new(concat!(
            r"^(?:",
            r"[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*)",
            r"|[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?",
            r"|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+",
            r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
            r"|(?i:y|n|yes|no|on|off|true|false|null)|~",
            r")$"
        ))
        .expect("the YAML scalar pattern is a valid regex")
    });
    let safe_chars = v.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b':' | b'/' | b'@' | b'+')
    });
    // Indicator characters at the start would change the meaning; quote those.
    let safe_start = !v.starts_with(['-', '.', ':', '@', '+']);
    !v.is_empty() && safe_chars && safe_start && !not_text.is_match(v)
}

/// Lines that differ between `old` and `new`, where `new` is `old` with some
/// lines changed in place and some whole lines inserted (an added `digest:`).
/// An inserted line is reported with an empty `old` at its new line number.
fn changed_lines(old: &str, new: &str) -> Vec<LineChange> {
    let a: Vec<&str> = old.split('\n').collect();
    let b: Vec<&str> = new.split('\n').collect();
    let mut inserted = b.len().saturating_sub(a.len());
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    let clean = |s: &str| s.trim_end_matches('\r').to_string();
    while j < b.len() {
        let old_line = a.get(i).copied();
        if old_line == Some(b[j]) {
            i += 1;
        } else if inserted > 0 && (old_line.is_none() || old_line == b.get(j + 1).copied()) {
            inserted -= 1;
            out.push(LineChange {
                line: j + 1,
                old: String::new(),
                new: clean(b[j]),
            });
        } else {
            out.push(LineChange {
                line: j + 1,
                old: clean(old_line.unwrap_or_default()),
                new: clean(b[j]),
            });
            i += 1;
        }
        j += 1;
    }
    out
}

#[cfg(test)]
mod hostile;
mod insert;
mod marker;
#[cfg(test)]
mod tests;
