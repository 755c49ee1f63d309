//! hoist's messages in Discord's shape (the JSON body of create and edit
//! message). Words alone are the message's `content` (where mentions
//! notify: an approval request pings who may approve); a message with a
//! header (the live message) is one embed: the header as its title, the
//! words as its description and the small print (who asked, who approved)
//! under them in the description, where mentions are shown as names (an
//! embed's footer would show them raw). While an operation waits for votes,
//! Approve / Deny buttons follow, their `custom_id`s `hoist:approve:<id>` /
//! `hoist:deny:<id>`.
//!
//! Every body says whom it may notify: `allowed_mentions` lists exactly the
//! users and roles hoist mentioned itself (`<@id>`, `<@&id>` outside code
//! spans and escapes, which [`super::text::escape`] can never produce from
//! outside text) and parses nothing else, so no text can ping `@everyone`
//! or anyone hoist did not name. Discord's limits are kept by cutting with
//! a marker: content 2,000 characters, title 256, description 4,096, all of
//! an embed 6,000.

use super::text;
use crate::chat::Message;
use serde_json::{Value, json};

/// The `custom_id` prefixes of the vote buttons; the operation id follows.
pub const APPROVE: &str = "hoist:approve:";
pub const DENY: &str = "hoist:deny:";

/// Discord's limits, in UTF-16 code units ([`text::discord_len`]).
pub const CONTENT_MAX: usize = 2_000;
pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 4_096;
pub const EMBED_MAX: usize = 6_000;
/// At most this many users and roles in `allowed_mentions` (Discord's cap).
pub const MENTIONS_MAX: usize = 100;

/// The JSON body posting or editing `message`.
pub fn body(message: &Message) -> Value {
    let mut out = serde_json::Map::new();
    let shown: String;
    match &message.header {
        None => {
            shown = text::bounded(&message.body, CONTENT_MAX);
            out.insert("content".into(), json!(shown));
            out.insert("embeds".into(), json!([]));
        }
        Some(header) => {
            let title = text::bounded(&flat(header), TITLE_MAX);
            let mut description = message.body.trim_end().to_string();
            if let Some(context) = message.context.as_deref().filter(|c| !c.trim().is_empty()) {
                if !description.is_empty() {
                    description.push_str("\n\n");
                }
                description.push_str(context);
            }
            let room = DESCRIPTION_MAX.min(EMBED_MAX - text::discord_len(&title));
            let description = text::bounded(&description, room);
            let mut embed = serde_json::Map::new();
            embed.insert("title".into(), json!(title));
            if !description.is_empty() {
                embed.insert("description".into(), json!(description));
            }
            shown = format!("{title}\n{description}");
            out.insert("content".into(), json!(""));
            out.insert("embeds".into(), json!([embed]));
        }
    }
    let components = match message.vote_on {
        Some(id) => json!([buttons(id)]),
        None => json!([]),
    };
    out.insert("components".into(), components);
    out.insert("allowed_mentions".into(), allowed(&shown));
    Value::Object(out)
}

/// A plain-text body (a whisper): `text` as content, its own mentions only.
pub fn words(text_: &str) -> Value {
    let content = text::bounded(text_, CONTENT_MAX);
    let allowed = allowed(&content);
    json!({"content": content, "allowed_mentions": allowed})
}

/// A title is one line.
fn flat(text_: &str) -> String {
    text_
        .split(['\n', '\r'])
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn buttons(id: u64) -> Value {
    json!({"type": 1, "components": [
        {"type": 2, "style": 3, "label": "Approve", "custom_id": format!("{APPROVE}{id}")},
        {"type": 2, "style": 4, "label": "Deny", "custom_id": format!("{DENY}{id}")}
    ]})
}

/// `allowed_mentions` for text hoist built: the users and roles its own
/// mention markup names, nothing parsed.
pub fn allowed(shown: &str) -> Value {
    let (users, roles) = mentions(shown);
    json!({"parse": [], "users": users, "roles": roles, "replied_user": false})
}

/// The users and roles mentioned by live markup in `shown`: `<@id>`,
/// `<@!id>` and `<@&id>` not escaped by a backslash and not in a code span.
pub fn mentions(shown: &str) -> (Vec<String>, Vec<String>) {
    let mut users: Vec<String> = Vec::new();
    let mut roles: Vec<String> = Vec::new();
    let b = shown.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'`' => {
                // A code span: to the next backtick (or the end).
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
                i += 1;
            }
            b'<' if b.get(i + 1) == Some(&b'@') => {
                let role = b.get(i + 2) == Some(&b'&');
                let bang = b.get(i + 2) == Some(&b'!');
                let start = i + 2 + usize::from(role || bang);
                let len = b[start.min(b.len())..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                let end = start + len;
                if len > 0 && b.get(end) == Some(&b'>') {
                    let id = &shown[start..end];
                    let into = if role { &mut roles } else { &mut users };
                    if text::snowflake(id)
                        && !into.iter().any(|x| x == id)
                        && into.len() < MENTIONS_MAX
                    {
                        into.push(id.to_string());
                    }
                    i = end + 1;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    (users, roles)
}
