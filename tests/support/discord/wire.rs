//! Discord's JSON shapes as the fake sends them: users, guild members,
//! messages, channels, gateway dispatches and interaction bodies, written
//! from Discord's API documentation with every field serenity requires, so
//! the bot's real deserializers read them (`tests/discord/fake.rs` checks
//! that against serenity's models).

use serde_json::{Value, json};

/// The fake's guild, the bot's user and its application (distinct ids, so a
/// mix-up between the two shows).
pub const GUILD: &str = "1100000000000000001";
pub const BOT: &str = "1100000000000000002";
pub const APP: &str = "1100000000000000003";
/// An ISO 8601 timestamp Discord would send.
pub const WHEN: &str = "2026-11-25T10:00:00.000000+00:00";

/// A user object (a person unless `id` is the bot's).
pub fn user(id: &str) -> Value {
    json!({"id": id, "username": format!("user{}", &id[id.len().saturating_sub(4)..]),
           "discriminator": "0", "global_name": null, "avatar": null,
           "bot": id == BOT, "public_flags": 0, "flags": 0})
}

/// A guild member object holding `roles` (with its user when `with_user`).
pub fn member(id: &str, roles: &[&str], with_user: bool) -> Value {
    let mut m = json!({"roles": roles, "joined_at": WHEN, "deaf": false, "mute": false,
                       "flags": 0, "pending": false, "nick": null, "avatar": null,
                       "premium_since": null, "communication_disabled_until": null});
    if with_user {
        m["user"] = user(id);
    }
    m
}

/// A message object as REST answers it (no `guild_id`, no `member`).
pub fn message(id: &str, channel: &str, author: &str, content: &str) -> Value {
    json!({"id": id, "channel_id": channel, "author": user(author), "content": content,
           "timestamp": WHEN, "edited_timestamp": null, "tts": false,
           "mention_everyone": false, "mentions": [], "mention_roles": [],
           "attachments": [], "embeds": [], "components": [], "pinned": false,
           "type": 0, "flags": 0, "webhook_id": null})
}

/// A MESSAGE_CREATE dispatch's data: a message by `author` (holding `roles`)
/// in `channel` of the fake's guild; a `<@BOT>` in `content` mentions the bot.
pub fn message_create(
    id: &str,
    channel: &str,
    author: &str,
    roles: &[&str],
    content: &str,
) -> Value {
    let mut m = message(id, channel, author, content);
    m["guild_id"] = json!(GUILD);
    m["member"] = member(author, roles, false);
    if content.contains(&format!("<@{BOT}>")) || content.contains(&format!("<@!{BOT}>")) {
        m["mentions"] = json!([user(BOT)]);
    }
    m
}

/// A MESSAGE_REACTION_ADD dispatch's data.
pub fn reaction_add(
    user_id: &str,
    roles: &[&str],
    channel: &str,
    message: &str,
    emoji: &str,
) -> Value {
    json!({"user_id": user_id, "channel_id": channel, "message_id": message, "guild_id": GUILD,
           "member": member(user_id, roles, true), "emoji": {"id": null, "name": emoji},
           "message_author_id": BOT, "burst": false, "burst_colors": [], "type": 0})
}

/// A MESSAGE_REACTION_REMOVE dispatch's data (Discord sends no member).
pub fn reaction_remove(user_id: &str, channel: &str, message: &str, emoji: &str) -> Value {
    json!({"user_id": user_id, "channel_id": channel, "message_id": message, "guild_id": GUILD,
           "emoji": {"id": null, "name": emoji}, "burst": false, "type": 0})
}

/// A channel object: `kind` 0 text, 1 DM, 11 public thread, 15 forum.
pub fn channel(id: &str, kind: u8, guild: Option<&str>, parent: Option<&str>) -> Value {
    let mut c = json!({"id": id, "type": kind, "name": format!("chan-{}", &id[id.len().saturating_sub(4)..]),
                       "position": 0, "permission_overwrites": [], "nsfw": false,
                       "parent_id": parent, "last_message_id": null, "flags": 0});
    if let Some(g) = guild {
        c["guild_id"] = json!(g);
    }
    if matches!(kind, 10..=12) {
        c["thread_metadata"] = json!({"archived": false, "auto_archive_duration": 1440,
            "archive_timestamp": WHEN, "locked": false, "create_timestamp": WHEN});
        c["owner_id"] = json!(BOT);
        c["message_count"] = json!(0);
        c["member_count"] = json!(1);
    }
    c
}

/// A DM channel object with `recipient`.
pub fn dm_channel(id: &str, recipient: &str) -> Value {
    json!({"id": id, "type": 1, "last_message_id": null, "flags": 0,
           "recipients": [user(recipient)]})
}

/// READY's data for session `session`, resumable at `resume_url`.
pub fn ready(session: &str, resume_url: &str) -> Value {
    json!({"v": 10, "user": {"id": BOT, "username": "hoist", "discriminator": "0",
           "global_name": null, "avatar": null, "bot": true, "verified": true,
           "mfa_enabled": false, "flags": 0},
           "guilds": [{"id": GUILD, "unavailable": true}], "session_id": session,
           "resume_gateway_url": resume_url, "shard": [0, 1],
           "application": {"id": APP, "flags": 8_953_856}})
}

/// `GET /oauth2/applications/@me`.
pub fn application(verify_key: &str) -> Value {
    json!({"id": APP, "name": "hoist", "icon": null, "description": "", "summary": "",
           "bot_public": false, "bot_require_code_grant": false, "verify_key": verify_key,
           "team": null, "flags": 8_953_856, "owner": user("1100000000000000009"),
           "rpc_origins": [], "tags": []})
}

/// Who sends an interaction, and from where (`parent` when `channel` is a
/// thread).
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    pub user: &'a str,
    pub roles: &'a [&'a str],
    pub channel: &'a str,
    pub parent: Option<&'a str>,
}

/// The fields every guild interaction has: `id`, `token`, who, where.
fn interaction(kind: u8, id: &str, token: &str, who: &Asker) -> Value {
    let mut m = member(who.user, who.roles, true);
    m["permissions"] = json!("1125899906842623");
    let kind_of_channel = if who.parent.is_some() { 11 } else { 0 };
    let mut channel = self::channel(who.channel, kind_of_channel, Some(GUILD), who.parent);
    channel["permissions"] = json!("1125899906842623");
    json!({"type": kind, "id": id, "application_id": APP, "token": token, "version": 1,
           "guild_id": GUILD, "channel_id": who.channel, "channel": channel,
           "member": m, "locale": "en-US", "guild_locale": "en-US",
           "app_permissions": "1125899906842623", "entitlements": [],
           "attachment_size_limit": 10_485_760,
           "authorizing_integration_owners": {"0": GUILD}, "context": 0})
}

/// A PING interaction (type 1), as Discord sends it to check the endpoint.
pub fn ping(id: &str) -> Value {
    json!({"type": 1, "id": id, "application_id": APP, "token": "ping-token", "version": 1,
           "entitlements": [], "user": null})
}

/// `/hoist command:<text>` (APPLICATION_COMMAND, type 2).
pub fn command(id: &str, token: &str, who: &Asker, text: &str) -> Value {
    let mut i = interaction(2, id, token, who);
    i["data"] = json!({"id": "1100000000000000077", "name": "hoist", "type": 1,
                       "guild_id": GUILD,
                       "options": [{"name": "command", "type": 3, "value": text}]});
    i
}

/// A button press (MESSAGE_COMPONENT, type 3) of `custom_id` on hoist's
/// message `message` (as the fake answers it).
pub fn press(id: &str, token: &str, who: &Asker, message: Value, custom_id: &str) -> Value {
    let mut i = interaction(3, id, token, who);
    i["message"] = message;
    i["data"] = json!({"custom_id": custom_id, "component_type": 2});
    i
}
