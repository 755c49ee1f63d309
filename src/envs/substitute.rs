//! The copy of one file of the template environment's directory for a new
//! environment (`env create pr-123 from staging`). Most files are copied
//! byte for byte; in YAML the template's name is replaced only where it is
//! unmistakably the environment's name: a whole scalar value (`env:
//! staging`), or inside the value of a kustomize `namePrefix`, `nameSuffix`
//! or `namespace` (`staging-` becomes `pr-123-`). Keys, comments, block
//! scalars, URLs and values that merely contain the name are left alone.
//!
//! Only the scalar's content bytes change: quotes, comments, indentation
//! and line endings are kept, found with the span-preserving reader
//! [`crate::yaml`]. The result is read back and compared with the source,
//! node for node; a file the reader refuses (not YAML, a Helm template,
//! over its limits, not UTF-8) or whose result would read differently than
//! intended comes back unchanged.

use crate::yaml::{self, Kind, Limits, Node, Style};
use std::collections::HashMap;
use std::ops::Range;

/// Keys whose value is a name built from the environment's name: every
/// occurrence of the template's name in it is replaced.
const NAME_KEYS: [&str; 3] = ["namePrefix", "nameSuffix", "namespace"];

/// `bytes`, the file at `path` in the template environment's directory, as
/// the new environment's copy: `from` (the template's name) replaced by
/// `to` as described in the module's documentation. Never fails: what it
/// cannot change safely it copies unchanged.
pub fn substitute(path: &str, bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    if from.is_empty() || to.is_empty() || from == to || !is_yaml(path) {
        return bytes.to_vec();
    }
    let Ok(src) = std::str::from_utf8(bytes) else {
        return bytes.to_vec();
    };
    match rewrite(src, from, to) {
        Some(out) => out.into_bytes(),
        None => bytes.to_vec(),
    }
}

/// `.yaml` or `.yml`, in any case.
fn is_yaml(path: &str) -> bool {
    std::path::Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// What a node is to its parent, which decides what may change in it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A document, a list item or a mapping value: a whole `from` changes.
    Value,
    /// The value of a [`NAME_KEYS`] key: every `from` in it changes.
    Name,
}

/// One scalar to change: where its content is, what goes there, and the
/// value it must then read as.
struct Change {
    content: Range<usize>,
    text: String,
    /// The value before and after.
    old: String,
    value: String,
}

/// The rewritten text, or `None` when nothing changes or the change cannot
/// be made safely.
fn rewrite(src: &str, from: &str, to: &str) -> Option<String> {
    let docs = yaml::load(src, Limits::TARGET).ok()?;
    // An anchored scalar changes everywhere it is aliased: refused when an
    // alias is a mapping key (the key would change too).
    let anchors_ok = !docs.iter().any(alias_as_key);
    let mut changes: HashMap<usize, Change> = HashMap::new();
    let mut todo: Vec<(&Node, Role)> = docs.iter().map(|d| (d, Role::Value)).collect();
    while let Some((node, role)) = todo.pop() {
        match &node.kind {
            Kind::Scalar { value, style } => {
                if node.anchored && !anchors_ok {
                    continue;
                }
                let wanted = match role {
                    Role::Value if value == from => to.to_string(),
                    Role::Name if value.contains(from) => value.replace(from, to),
                    _ => continue,
                };
                if let Some(change) = change(src, node, value, *style, from, to, wanted) {
                    changes.insert(node.start, change);
                }
            }
            Kind::Seq(items) => todo.extend(items.iter().map(|n| (n, Role::Value))),
            Kind::Map(entries) => {
                for (key, value) in entries {
                    // Keys are never changed, nor anything inside a complex key.
                    let role = match key.as_str() {
                        Some(k) if NAME_KEYS.contains(&k) => Role::Name,
                        _ => Role::Value,
                    };
                    todo.push((value, role));
                }
            }
            Kind::Alias => {}
        }
    }
    if changes.is_empty() {
        return None;
    }
    let mut ordered: Vec<&Change> = changes.values().collect();
    ordered.sort_by_key(|c| c.content.start);
    let mut out = String::with_capacity(src.len() + ordered.len() * to.len());
    let mut at = 0;
    for c in &ordered {
        // Distinct scalars never overlap; checked anyway.
        out.push_str(src.get(at..c.content.start)?);
        out.push_str(&c.text);
        at = c.content.end;
    }
    out.push_str(src.get(at..)?);
    let again = yaml::load(&out, Limits::TARGET).ok()?;
    same_but(&docs, &again, &changes).then_some(out)
}

/// The change of one scalar's content, when its source bytes are exactly
/// its value (no escapes, on one line) so that replacing bytes replaces
/// the value.
fn change(
    src: &str,
    node: &Node,
    value: &str,
    style: Style,
    from: &str,
    to: &str,
    wanted: String,
) -> Option<Change> {
    // The reader's start is that of the node's properties (`&anchor`,
    // `!tag`) when it has any: the scalar itself follows them.
    let mut start = node.start;
    while let Some(rest) = src.get(start..).filter(|r| r.starts_with(['&', '!'])) {
        let token = rest
            .find([' ', '\t'])
            .filter(|&n| !rest[..n].contains(['\n', '\r']))?;
        let blanks = rest[token..].len() - rest[token..].trim_start_matches([' ', '\t']).len();
        start += token + blanks;
    }
    let at = Node {
        start,
        ..node.clone()
    };
    let extent = yaml::scalar_extent(src, &at)?;
    let content = match style {
        Style::Plain => extent,
        Style::Single | Style::Double => extent.start + 1..extent.end - 1,
        Style::Block => return None,
    };
    let raw = src.get(content.clone())?;
    if raw != value {
        return None;
    }
    let to = match style {
        Style::Single => to.replace('\'', "''"),
        Style::Double => to.replace('\\', "\\\\").replace('"', "\\\""),
        _ => to.to_string(),
    };
    Some(Change {
        content,
        text: raw.replace(from, &to),
        old: value.to_string(),
        value: wanted,
    })
}

/// Whether any alias anywhere in `root` is a mapping key.
fn alias_as_key(root: &Node) -> bool {
    let mut todo = vec![root];
    while let Some(node) = todo.pop() {
        match &node.kind {
            Kind::Map(entries) => {
                for (k, v) in entries {
                    if matches!(k.kind, Kind::Alias) {
                        return true;
                    }
                    todo.push(k);
                    todo.push(v);
                }
            }
            Kind::Seq(items) => todo.extend(items),
            Kind::Scalar { .. } | Kind::Alias => {}
        }
    }
    false
}

/// Whether `after` reads as `before` with exactly the `changes` (keyed by
/// the changed node's start in `before`): same shapes, styles, anchors,
/// keys and values everywhere else.
fn same_but(before: &[Node], after: &[Node], changes: &HashMap<usize, Change>) -> bool {
    if before.len() != after.len() {
        return false;
    }
    let mut todo: Vec<(&Node, &Node)> = before.iter().zip(after).collect();
    while let Some((b, a)) = todo.pop() {
        if b.anchored != a.anchored {
            return false;
        }
        match (&b.kind, &a.kind) {
            (
                Kind::Scalar {
                    value: bv,
                    style: bs,
                },
                Kind::Scalar {
                    value: av,
                    style: as_,
                },
            ) => {
                // A null value may start where the next scalar does.
                let expected = changes
                    .get(&b.start)
                    .filter(|c| &c.old == bv)
                    .map_or(bv, |c| &c.value);
                if bs != as_ || expected != av {
                    return false;
                }
            }
            (Kind::Seq(bi), Kind::Seq(ai)) if bi.len() == ai.len() => {
                todo.extend(bi.iter().zip(ai))
            }
            (Kind::Map(be), Kind::Map(ae)) if be.len() == ae.len() => {
                for ((bk, bv), (ak, av)) in be.iter().zip(ae) {
                    todo.push((bk, ak));
                    todo.push((bv, av));
                }
            }
            (Kind::Alias, Kind::Alias) => {}
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests;
