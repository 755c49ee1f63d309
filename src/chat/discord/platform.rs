//! Discord as a [`Platform`]. An operation's thread hangs from a message R
//! in channel C; on Discord a thread started from R has R's id, so a post in
//! thread R starts that thread (POST /channels/C/messages/R/threads; one
//! that exists already is used) and goes into channel R. Where C cannot hold
//! threads (a thread itself, a DM, a forum, no permission) the post goes in
//! C as a reply to R (`message_reference`). Where each of hoist's messages
//! went is remembered, so an edit or a delete goes there; one hoist forgot
//! (a restart) is looked for in the thread, then in the channel.
//!
//! Posts go at most one a second per channel (Discord allows about five
//! messages in five seconds per channel).

use super::places::Kind;
use super::{CallError, Discord, members, render, text, whisper};
use crate::chat::{Message, Place, Platform};
use crate::engine::one_line;
use serde_json::{Value, json};
use serenity::http::{LightMethod, Route};
use serenity::model::id::{ChannelId, MessageId};
use std::time::Duration;

/// The host of Discord's message links.
pub const LINK_BASE: &str = "https://discord.com/channels/";
/// A thread's name: at most this many characters (Discord's limit).
pub const THREAD_NAME_MAX: usize = 100;
/// Discord's codes for "a thread has already been created for this message".
const THREAD_EXISTS: i64 = 160_004;
/// Discord's codes saying a channel cannot get a thread from hoist: missing
/// access, cannot execute on a DM, missing permissions, cannot execute on
/// this channel type.
const NO_THREADS: [i64; 4] = [50_001, 50_003, 50_013, 50_024];

impl Platform for Discord {
    type Error = CallError;

    fn name(&self) -> &'static str {
        "discord"
    }

    fn group_kind(&self) -> &'static str {
        "discord-role"
    }

    fn post_gap(&self) -> Duration {
        Duration::from_secs(1)
    }

    async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &Message,
    ) -> Result<String, CallError> {
        checked(channel)?;
        let mut body = render::body(message);
        let target = match thread {
            None => channel.to_string(),
            Some(root) => {
                checked(root)?;
                match self.thread_of(channel, root, message).await? {
                    Some(t) => t,
                    None => {
                        body["message_reference"] = json!({
                            "message_id": root, "channel_id": channel, "fail_if_not_exists": false
                        });
                        channel.to_string()
                    }
                }
            }
        };
        let route = Route::ChannelMessages {
            channel_id: ChannelId::new(checked(&target)?),
        };
        let posted = self.call(route, LightMethod::Post, Some(&body)).await?;
        let id = posted["id"]
            .as_str()
            .filter(|id| text::snowflake(id))
            .ok_or_else(|| CallError::Transport("a posted message without an id".into()))?;
        self.places().posted(id, &target);
        Ok(id.to_string())
    }

    async fn edit(
        &self,
        channel: &str,
        thread: Option<&str>,
        id: &str,
        message: &Message,
    ) -> Result<(), CallError> {
        let body = render::body(message);
        self.at_message(channel, thread, id, LightMethod::Patch, Some(&body))
            .await
    }

    async fn delete(&self, channel: &str, thread: Option<&str>, id: &str) -> Result<(), CallError> {
        self.at_message(channel, thread, id, LightMethod::Delete, None)
            .await?;
        self.places().forget(id);
        Ok(())
    }

    async fn ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread: Option<&str>,
        text: &str,
    ) -> Result<(), CallError> {
        whisper::ephemeral(self, channel, user, thread, text).await
    }

    /// Discord lists no role's members; [`Platform::member_of`] asks per
    /// member instead.
    async fn group_members(&self, _id: &str) -> Vec<String> {
        Vec::new()
    }

    async fn member_of(&self, user: &str, channel: &str, groups: &[String]) -> Vec<String> {
        members::member_of(self, user, channel, groups).await
    }

    fn mention(&self, id: &str) -> String {
        text::mention(id)
    }

    fn mention_group(&self, id: &str) -> String {
        text::group(id)
    }

    fn escape(&self, t: &str) -> String {
        text::escape(t)
    }

    fn code(&self, t: &str) -> String {
        text::code(t)
    }

    fn emoji(&self, name: &str) -> String {
        text::emoji(name)
    }

    fn permalink(&self, channel: &str, id: &str, thread: Option<&str>) -> String {
        let guild = self.places().guild(channel);
        permalink(guild.as_deref(), channel, id, thread)
    }

    fn place_of_link(&self, link: &str) -> Option<Place> {
        let (_, at, _) = link_parts(link)?;
        place_of_link(link, self.places().parent(at).as_deref())
    }
}

impl Discord {
    /// The thread channel for thread `root` of `channel`, started when it
    /// is not yet; `None` when `channel` cannot hold one.
    async fn thread_of(
        &self,
        channel: &str,
        root: &str,
        message: &Message,
    ) -> Result<Option<String>, CallError> {
        let places = self.places();
        if places.parent(root).is_some() {
            return Ok(Some(root.to_string()));
        }
        if places.kind(channel) == Some(Kind::NoThreads) || places.parent(channel).is_some() {
            return Ok(None);
        }
        let route = Route::ChannelMessageThreads {
            channel_id: ChannelId::new(checked(channel)?),
            message_id: MessageId::new(checked(root)?),
        };
        let body = json!({"name": thread_name(message), "auto_archive_duration": 1440});
        match self.call(route, LightMethod::Post, Some(&body)).await {
            Ok(started) => {
                let guild = started["guild_id"].as_str().filter(|g| text::snowflake(g));
                places.learn(root, guild, Some(channel));
                Ok(Some(root.to_string()))
            }
            Err(e) if e.code() == Some(THREAD_EXISTS) => {
                places.learn(root, None, Some(channel));
                Ok(Some(root.to_string()))
            }
            Err(e) if e.code().is_some_and(|c| NO_THREADS.contains(&c)) => {
                places.set_kind(channel, Kind::NoThreads);
                Ok(None)
            }
            // Another refusal (the message is gone, the name refused):
            // this post replies in the channel.
            Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {
                tracing::warn!(error = %e, "discord: no thread for a reply");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `method` on hoist's message `id`: where it is remembered to be, else
    /// in the thread, then in the channel (a 404 tries the next).
    async fn at_message(
        &self,
        channel: &str,
        thread: Option<&str>,
        id: &str,
        method: LightMethod,
        body: Option<&Value>,
    ) -> Result<(), CallError> {
        let message_id = MessageId::new(checked(id)?);
        let mut candidates: Vec<String> = Vec::new();
        let remembered = self.places().message(id);
        for c in [remembered.as_deref(), thread, Some(channel)]
            .into_iter()
            .flatten()
        {
            if text::snowflake(c) && !candidates.iter().any(|x| x == c) {
                candidates.push(c.to_string());
            }
        }
        let mut last = CallError::not_an_id(channel);
        for c in candidates {
            let route = Route::ChannelMessage {
                channel_id: ChannelId::new(checked(&c)?),
                message_id,
            };
            match self.call(route, method, body).await {
                Ok(_) => {
                    self.places().posted(id, &c);
                    return Ok(());
                }
                Err(e) if e.status() == Some(404) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}

/// A snowflake as serenity's id number, or why not.
fn checked(id: &str) -> Result<u64, CallError> {
    text::id(id).ok_or_else(|| CallError::not_an_id(id))
}

/// A thread's name: the message's header (else its first line), shown as
/// plain text (escapes taken out), one line, at most 100 characters.
fn thread_name(message: &Message) -> String {
    let source = message
        .header
        .as_deref()
        .unwrap_or_else(|| message.body.lines().next().unwrap_or(""));
    let mut plain = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(n)) if n.is_ascii_punctuation() => {
                plain.push(*n);
                chars.next();
            }
            _ => plain.push(c),
        }
    }
    let name = one_line(&plain, THREAD_NAME_MAX);
    if name.is_empty() {
        "hoist".to_string()
    } else {
        name
    }
}

/// `https://discord.com/channels/<guild>/<where>/<id>`: `<where>` is the
/// thread when the message is in one (a thread's starter message, whose id
/// is the thread's, is in the channel), `<guild>` `@me` when unknown. Ids
/// that are not snowflakes make no link: `discord:<channel>` instead.
pub fn permalink(guild: Option<&str>, channel: &str, id: &str, thread: Option<&str>) -> String {
    let at = match thread {
        Some(t) if t != id => t,
        _ => channel,
    };
    if !text::snowflake(at) || !text::snowflake(id) {
        return if text::snowflake(channel) {
            format!("discord:{channel}")
        } else {
            "discord".to_string()
        };
    }
    let guild = guild.filter(|g| text::snowflake(g)).unwrap_or("@me");
    format!("{LINK_BASE}{guild}/{at}/{id}")
}

/// The guild (or `@me`), channel and message of a link of [`permalink`]'s
/// shape; anything else (another host, a query, non-digits) is none.
fn link_parts(link: &str) -> Option<(&str, &str, &str)> {
    let rest = link.strip_prefix(LINK_BASE)?;
    let mut parts = rest.split('/');
    let (guild, at, id) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !(guild == "@me" || text::snowflake(guild))
        || !text::snowflake(at)
        || !text::snowflake(id)
    {
        return None;
    }
    Some((guild, at, id))
}

/// The thread a link points at: `.../G/X/M` is thread X of `parent` when X
/// is known to be a thread (`parent` set), else the thread hanging from
/// message M in channel X.
pub fn place_of_link(link: &str, parent: Option<&str>) -> Option<Place> {
    let (_, at, id) = link_parts(link)?;
    Some(match parent {
        Some(p) => Place {
            channel: p.to_string(),
            thread: Some(at.to_string()),
        },
        None => Place {
            channel: at.to_string(),
            thread: Some(id.to_string()),
        },
    })
}
