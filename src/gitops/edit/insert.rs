//! Adding a key that is not there: a kustomize `images[]` entry without a
//! `digest:` gets one, as `kustomize edit set image NAME:TAG@sha256:...`
//! writes it. A block entry gets one new line after `newTag` (or `newName`,
//! or `name`), at that key's indentation and with the line ending the file
//! already uses; a flow entry (`- {name: x, newTag: y}`) gets
//! `, digest: ...` right after that value. Nothing else in the file moves,
//! and the caller reads the result back before trusting it.

use super::{EditError, render};
use crate::yaml::{self, Node, Style};
use std::ops::Range;

/// The keys a new `digest:` goes after, in order of preference.
const ANCHORS: [&str; 3] = ["newTag", "newName", "name"];

/// The insertion (an empty range and the text to put there) that adds
/// `digest: <digest>` to the `images[]` entry `entry`.
pub(super) fn digest(
    src: &str,
    entry: &Node,
    digest: &str,
) -> Result<(Range<usize>, String), EditError> {
    let (anchor, key, value) = ANCHORS
        .iter()
        .find_map(|a| entry.entry(a).map(|(k, v)| (*a, k, v)))
        .ok_or_else(|| {
            EditError::NotFound(
                "the images[] entry has no `name:`; hoist cannot place a `digest:`".into(),
            )
        })?;
    let value_span = yaml::scalar_extent(src, value).ok_or_else(|| {
        EditError::MultiLine(format!(
            "`{anchor}` of the images[] entry (where a new `digest:` would go)"
        ))
    })?;
    let text = render(digest, Style::Plain);
    if src.as_bytes().get(entry.start) == Some(&b'{') {
        let at = value_span.end;
        return Ok((at..at, format!(", digest: {text}")));
    }
    // A block mapping: its keys start at the same column (YAML indents with
    // spaces only), so the new line starts where the anchor key does.
    let indent = " ".repeat(key.pos.col.saturating_sub(1));
    let rest = &src[value_span.end..];
    Ok(match rest.find('\n') {
        Some(nl) => {
            let at = value_span.end + nl + 1;
            let eol = if rest[..nl].ends_with('\r') {
                "\r\n"
            } else {
                "\n"
            };
            (at..at, format!("{indent}digest: {text}{eol}"))
        }
        None => {
            // The anchor is on the last line, which has no line end.
            let eol = if src.contains("\r\n") { "\r\n" } else { "\n" };
            (src.len()..src.len(), format!("{eol}{indent}digest: {text}"))
        }
    })
}
