//! `hoist-environments.yaml`: the environments made with `env create`, in
//! the config repo beside `hoist.yaml`, so git alone knows which exist.
//! hoist writes it, but it is a file in a repository anyone with push access
//! may edit, so reading is bounded and strict (every field checked, errors
//! name the line), and writing is surgical: an entry added, removed or its
//! `expires` changed touches only those bytes; comments, other entries and
//! a human's formatting (block or flow mappings) stay as they were.

use super::Entry;
use crate::yaml::{self, Kind, Limits, Node};
use hoist_commands::Name;

mod time;
pub use time::{civil, format as format_time, parse as parse_time};

/// The most entries the registry may hold (the policy's `max` is at most this).
pub const MAX_ENTRIES: usize = 1000;

/// The reader's bounds: 1000 entries of a few hundred bytes fit in 256 KiB;
/// nothing in the file nests deeper than three levels.
pub const LIMITS: Limits = Limits {
    max_bytes: 256 << 10,
    max_depth: 8,
    max_nodes: 20_000,
};

/// The first lines of a registry hoist creates.
pub const HEADER: &str = "# Environments made with `env create` (hoist writes this file; \
                          see environments_from in hoist.yaml).\n";

const KEYS: &[&str] = &[
    "name",
    "template",
    "owner",
    "created",
    "expires",
    "operation",
];
const MAX_OWNER: usize = 128;

/// The file's structure as read: the entries, and the nodes an edit needs.
struct Read {
    entries: Vec<Entry>,
    /// The `environments` key and its value, when written.
    list: Option<(Node, Node)>,
    /// The root node, when there is a document.
    root: Option<Node>,
}

fn at(node: &Node, message: impl std::fmt::Display) -> String {
    format!("{}:{}: {message}", super::REGISTRY_FILE, node.pos.line)
}

/// Is `owner` an actor id hoist would write: `platform:id`, the platform
/// lowercase letters and `-`, the id 1-128 of `A-Za-z0-9._@/-`.
pub fn owner_ok(owner: &str) -> bool {
    owner.split_once(':').is_some_and(|(platform, id)| {
        !platform.is_empty()
            && platform
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-')
            && (1..=MAX_OWNER).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._@/-".contains(&b))
    })
}

fn read(text: &str) -> Result<Read, String> {
    if text.len() > LIMITS.max_bytes {
        return Err(format!(
            "{}: the file is {} bytes; hoist reads at most {} KiB",
            super::REGISTRY_FILE,
            text.len(),
            LIMITS.max_bytes >> 10
        ));
    }
    let docs = yaml::load(text, LIMITS).map_err(|e| {
        format!(
            "{}:{}: {}{}",
            super::REGISTRY_FILE,
            e.pos_line,
            if e.over_limit { "" } else { "not valid YAML: " },
            e.message
        )
    })?;
    if docs.len() > 1 {
        return Err(at(&docs[1], "more than one YAML document"));
    }
    let Some(root) = docs.into_iter().next() else {
        return Ok(Read {
            entries: Vec::new(),
            list: None,
            root: None,
        });
    };
    if let Some((_, dup)) = yaml::duplicate_keys(&root).first() {
        return Err(at(
            dup,
            format!("duplicate key `{}`", dup.as_str().unwrap_or_default()),
        ));
    }
    let mut list = None;
    match &root.kind {
        _ if root.is_null() => {}
        Kind::Map(pairs) => {
            for (k, v) in pairs {
                if k.as_str() != Some("environments") {
                    return Err(at(k, "unknown key; the file holds only `environments:`"));
                }
                list = Some((k.clone(), v.clone()));
            }
        }
        _ => return Err(at(&root, "should be a mapping holding `environments:`")),
    }
    let mut entries: Vec<Entry> = Vec::new();
    if let Some((_, v)) = &list {
        let items = match &v.kind {
            Kind::Seq(items) => items.as_slice(),
            _ if v.is_null() => &[],
            _ => return Err(at(v, "`environments` should be a list")),
        };
        if items.len() > MAX_ENTRIES {
            return Err(at(v, format!("more than {MAX_ENTRIES} environments")));
        }
        for item in items {
            let entry = entry(item)?;
            if entries.iter().any(|e| e.name == entry.name) {
                return Err(at(
                    item,
                    format!("environment `{}` is listed twice", entry.name),
                ));
            }
            entries.push(entry);
        }
    }
    Ok(Read {
        entries,
        list,
        root: Some(root),
    })
}

/// One item of the list, every field checked.
fn entry(item: &Node) -> Result<Entry, String> {
    let Kind::Map(pairs) = &item.kind else {
        return Err(at(item, "an environment should be a mapping"));
    };
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    };
    for (k, _) in pairs {
        if !k.as_str().is_some_and(|k| KEYS.contains(&k)) {
            return Err(at(
                k,
                format!("unknown key; an environment has {}", KEYS.join(", ")),
            ));
        }
    }
    let text = |key: &str, node: Option<&Node>| -> Result<(String, Node), String> {
        let node = node.ok_or_else(|| at(item, format!("an environment needs `{key}`")))?;
        match &node.kind {
            Kind::Scalar { value, .. } => Ok((value.clone(), node.clone())),
            _ => Err(at(node, format!("`{key}` should be a single value"))),
        }
    };
    let name_of = |key: &str, node: Option<&Node>| -> Result<Name, String> {
        let (value, node) = text(key, node)?;
        value
            .parse::<Name>()
            .map_err(|e| at(&node, format!("`{key}` is not a valid name: {}", e.rule)))
    };
    let time_of = |key: &str, node: Option<&Node>| -> Result<i64, String> {
        let (value, node) = text(key, node)?;
        parse_time(&value).ok_or_else(|| {
            at(
                &node,
                format!("`{key}` should be a UTC time like 2026-12-01T22:00:00Z"),
            )
        })
    };
    let name = name_of("name", get("name"))?;
    let template = name_of("template", get("template"))?;
    let (owner, owner_node) = text("owner", get("owner"))?;
    if !owner_ok(&owner) {
        return Err(at(
            &owner_node,
            "`owner` should be an actor id like slack:U123",
        ));
    }
    let created = time_of("created", get("created"))?;
    let expires = time_of("expires", get("expires"))?;
    if expires < created {
        return Err(at(
            item,
            format!("environment `{name}` expires before it was created"),
        ));
    }
    let operation = match get("operation") {
        None => None,
        Some(n) if n.is_null() => None,
        Some(n) => Some(
            n.as_str()
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| at(n, "`operation` should be an operation number"))?,
        ),
    };
    Ok(Entry {
        name,
        template,
        owner,
        created,
        expires,
        operation,
    })
}

/// The environments the registry records; an empty or absent list is none.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    read(text).map(|r| r.entries)
}

/// `entry` as the lines of one block list item, the dash at `indent`.
fn render(entry: &Entry, indent: usize) -> Result<String, String> {
    if !owner_ok(&entry.owner) {
        return Err("the owner is not an actor id (platform:id)".into());
    }
    let time = |t: i64| format_time(t).ok_or_else(|| format!("{t} is not a time of years 0-9999"));
    let (created, expires) = (time(entry.created)?, time(entry.expires)?);
    if entry.expires < entry.created {
        return Err(format!(
            "environment `{}` would expire before it was created",
            entry.name
        ));
    }
    let pad = " ".repeat(indent);
    let mut out = format!(
        "{pad}- name: {}\n{pad}  template: {}\n{pad}  owner: \"{}\"\n{pad}  created: \"{created}\"\n\
         {pad}  expires: \"{expires}\"\n",
        entry.name, entry.template, entry.owner
    );
    if let Some(op) = entry.operation {
        out.push_str(&format!("{pad}  operation: {op}\n"));
    }
    Ok(out)
}

mod edit;
pub use edit::{append, remove, set_expires};

#[cfg(test)]
mod tests;
