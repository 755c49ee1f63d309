//! Surgical edits of `hoist-environments.yaml`: add an entry after the last
//! one, remove one entry's lines, change one `expires` scalar. Everything
//! else keeps its bytes. A list a human wrote in flow style
//! (`environments: [{...}]`) is the one exception: it is rewritten as a
//! block list (its entries' values kept, comments inside the brackets lost).
//! Every edit is read back and must give exactly the entries intended, or
//! nothing is written.

use super::{Entry, LIMITS, MAX_ENTRIES, Read, format_time, read, render};
use crate::envs::REGISTRY_FILE;
use crate::yaml::{Kind, Node, Style, scalar_extent};

fn line_start(t: &str, pos: usize) -> usize {
    t[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// The end of the line holding `pos`, after its `\n` (or the end of text).
fn line_end(t: &str, pos: usize) -> usize {
    t[pos..].find('\n').map_or(t.len(), |i| pos + i + 1)
}

/// Where a block list item begins: the start of the line of its `-`.
fn item_begin(t: &str, item: &Node) -> usize {
    let before = t[..item.start].trim_end_matches([' ', '\t', '\n', '\r']);
    match before.strip_suffix('-') {
        Some(rest) => line_start(t, rest.len()),
        None => line_start(t, item.start),
    }
}

/// The end (after its `\n`) of the last line in `from..limit` that holds
/// more than blanks or a comment; at least the end of `from`'s line.
fn content_end(t: &str, from: usize, limit: usize) -> usize {
    let mut end = line_end(t, from);
    let mut at = end;
    while at < limit {
        let next = line_end(t, at);
        let line = t[at..next].trim();
        if !line.is_empty() && !line.starts_with('#') {
            end = next;
        }
        at = next;
    }
    end
}

/// Just past the `]` closing the flow collection opened at `start`.
fn flow_end(t: &str, start: usize) -> Option<usize> {
    let b = t.as_bytes();
    let (mut depth, mut i) = (0usize, start);
    while i < b.len() {
        match b[i] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' => {
                i += 1;
                while i < b.len() && !(b[i] == b'\'' && b.get(i + 1) != Some(&b'\'')) {
                    i += if b[i] == b'\'' { 2 } else { 1 };
                }
            }
            b'#' if i == 0 || b[i - 1].is_ascii_whitespace() => {
                i = line_end(t, i).saturating_sub(1);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `text` with `text[range]` replaced by `with`.
fn splice(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    format!("{}{with}{}", &text[..range.start], &text[range.end..])
}

/// The `environments` key's line rewritten as `environments:` (its comment
/// kept) followed by `entries` as a block list; `rest` is where the old
/// value ended. `None` when the key is not a plain one-line scalar.
fn rewrite_list(t: &str, key: &Node, rest: usize, entries: &[Entry]) -> Result<String, String> {
    let key_end = scalar_extent(t, key)
        .ok_or_else(|| cannot("its `environments` key"))?
        .end;
    let after = line_end(t, rest);
    let tail = t[rest..after].trim();
    if !tail.is_empty() && !tail.starts_with('#') {
        return Err(cannot("the text after its `environments` list"));
    }
    let comment = if tail.is_empty() {
        String::new()
    } else {
        format!(" {tail}")
    };
    let mut out = format!("{}:", &t[..key_end]);
    if entries.is_empty() {
        out.push_str(" []");
    }
    out.push_str(&comment);
    out.push('\n');
    for e in entries {
        out.push_str(&render(e, 2)?);
    }
    out.push_str(&t[after..]);
    Ok(out)
}

fn cannot(what: &str) -> String {
    format!(
        "hoist cannot edit {REGISTRY_FILE} surgically here: {what} is written in a way it does not change"
    )
}

/// Is `v` (the `environments` value) an empty list or null written on the
/// key's line? Then the place its text ends.
fn empty_on_key_line(t: &str, key: &Node, v: &Node) -> Option<usize> {
    let key_end = scalar_extent(t, key)?.end;
    let line = &t[key_end..line_end(t, key_end)];
    let value = line.trim_start().strip_prefix(':')?.trim_start();
    let value = value.split(" #").next().unwrap_or_default().trim_end();
    let empty = matches!(value, "" | "[]" | "[ ]" | "~" | "null" | "Null" | "NULL");
    let is_empty_list = matches!(&v.kind, Kind::Seq(items) if items.is_empty());
    (empty && (v.is_null() || is_empty_list)).then(|| {
        let colon = key_end + line.find(':').unwrap_or_default() + 1;
        let ws = t[colon..].len() - t[colon..].trim_start_matches([' ', '\t']).len();
        colon + ws + value.len()
    })
}

/// Read back `out`: it must hold exactly `want`.
fn verified(out: String, want: &[Entry]) -> Result<String, String> {
    if out.len() > LIMITS.max_bytes {
        return Err(format!(
            "{REGISTRY_FILE} would be larger than {} KiB",
            LIMITS.max_bytes >> 10
        ));
    }
    match super::parse(&out) {
        Ok(got) if got == want => Ok(out),
        _ => Err(cannot("the layout of its entries")),
    }
}

fn list_items(v: &Node) -> &[Node] {
    match &v.kind {
        Kind::Seq(items) => items,
        _ => &[],
    }
}

fn is_flow(t: &str, v: &Node) -> bool {
    t.as_bytes().get(v.start) == Some(&b'[')
}

/// The registry with `entry` added after the last one; `None` (no file
/// yet): a new file with a header comment.
pub fn append(text: Option<&str>, entry: &Entry) -> Result<String, String> {
    let Some(t) = text else {
        let out = format!("{}environments:\n{}", super::HEADER, render(entry, 2)?);
        return verified(out, std::slice::from_ref(entry));
    };
    let Read {
        mut entries,
        list,
        root,
    } = read(t)?;
    if entries.len() >= MAX_ENTRIES {
        return Err(format!(
            "{REGISTRY_FILE} already holds {MAX_ENTRIES} environments"
        ));
    }
    if entries.iter().any(|e| e.name == entry.name) {
        return Err(format!(
            "{REGISTRY_FILE} already records an environment `{}`",
            entry.name
        ));
    }
    let block = render(entry, 2)?;
    let out = match (&root, &list) {
        (None, _) => {
            let sep = if t.is_empty() || t.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            format!("{t}{sep}environments:\n{block}")
        }
        (Some(root), None) if root.is_null() => {
            let sep = if t.ends_with('\n') { "" } else { "\n" };
            let start = line_start(t, root.start.min(t.len()));
            // A `~` or `null` document: replaced by the list.
            let rest = &t[start..];
            if rest.trim().is_empty() || rest.trim_start().starts_with('#') {
                format!("{t}{sep}environments:\n{block}")
            } else {
                format!("{}environments:\n{block}", &t[..start])
            }
        }
        (_, None) => return Err(cannot("its top-level mapping")),
        (_, Some((key, v))) => {
            let items = list_items(v);
            if let Some(rest) = empty_on_key_line(t, key, v) {
                rewrite_list(t, key, rest, std::slice::from_ref(entry))?
            } else if is_flow(t, v) {
                let end = flow_end(t, v.start).ok_or_else(|| cannot("its flow list"))?;
                let mut all = entries.clone();
                all.push(entry.clone());
                rewrite_list(t, key, end, &all)?
            } else if let (Some(first), Some(last)) = (items.first(), items.last()) {
                let dash = t[..first.start]
                    .trim_end_matches([' ', '\t', '\n', '\r'])
                    .len()
                    - 1;
                let indent = dash - line_start(t, dash);
                let at = content_end(t, item_begin(t, last), t.len());
                let sep = if t[..at].ends_with('\n') { "" } else { "\n" };
                splice(t, at..at, &format!("{sep}{}", render(entry, indent)?))
            } else {
                return Err(cannot("its `environments` list"));
            }
        }
    };
    entries.push(entry.clone());
    verified(out, &entries)
}

/// Where `name` stands in `entries`, or the refusal `remove` and
/// `set_expires` give when the registry does not record it.
fn position(entries: &[Entry], name: &str) -> Result<usize, String> {
    entries
        .iter()
        .position(|e| e.name.as_str() == name)
        .ok_or_else(|| {
            format!(
                "{REGISTRY_FILE} records no environment `{}`",
                crate::engine::one_line(name, 64)
            )
        })
}

/// The registry without the entry of `name` (its lines only).
pub fn remove(text: &str, name: &str) -> Result<String, String> {
    let Read {
        mut entries, list, ..
    } = read(text)?;
    let t = text;
    let idx = position(&entries, name)?;
    let (key, v) = list
        .as_ref()
        .expect("an entry was read, so the list is there");
    entries.remove(idx);
    let out = if is_flow(t, v) {
        let end = flow_end(t, v.start).ok_or_else(|| cannot("its flow list"))?;
        rewrite_list(t, key, end, &entries)?
    } else {
        let items = list_items(v);
        let begin = item_begin(t, &items[idx]);
        let limit = items
            .get(idx + 1)
            .map_or(t.len(), |next| item_begin(t, next));
        splice(t, begin..content_end(t, begin, limit), "")
    };
    verified(out, &entries)
}

/// The registry with the `expires` of `name` set to `expires` (that one
/// scalar rewritten, in its quoting style).
pub fn set_expires(text: &str, name: &str, expires: i64) -> Result<String, String> {
    let Read {
        mut entries, list, ..
    } = read(text)?;
    let idx = position(&entries, name)?;
    if expires < entries[idx].created {
        return Err(format!("`{name}` cannot expire before it was created"));
    }
    let when =
        format_time(expires).ok_or_else(|| format!("{expires} is not a time of years 0-9999"))?;
    let (_, v) = list
        .as_ref()
        .expect("an entry was read, so the list is there");
    let node = list_items(v)[idx]
        .get("expires")
        .expect("parse required `expires`");
    let range = scalar_extent(text, node).ok_or_else(|| cannot("its `expires`"))?;
    let written = match node.kind {
        Kind::Scalar {
            style: Style::Double,
            ..
        } => format!("\"{when}\""),
        Kind::Scalar {
            style: Style::Single,
            ..
        } => format!("'{when}'"),
        _ => when,
    };
    entries[idx].expires = expires;
    verified(splice(text, range, &written), &entries)
}
