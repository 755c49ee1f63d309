//! What a chat platform supplies to the platform-neutral chat layer, and
//! nothing more: the calls that post, edit, delete and whisper a message, the
//! members of one of its groups, and its formats (how a person or a group is
//! mentioned, how outside text is escaped and quoted, how an emoji is
//! written, what a permalink looks like and which thread one points at).
//! Verifying and decoding inbound traffic stays in the platform's own module,
//! which hands the neutral layer plain values ([`crate::chat::Said`],
//! [`crate::chat::Reaction`], [`crate::chat::Press`]). What hoist says is a
//! [`Message`], which each platform renders in its own markup.

use std::future::Future;
use std::time::Duration;

/// A channel, and the thread in it (`None`: the channel itself). A thread is
/// named by the id of the message it hangs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub channel: String,
    pub thread: Option<String>,
}

/// One message of hoist's before a platform renders it. Every field is text
/// the neutral layer already escaped with [`Platform::escape`]; only the
/// mentions it built with [`Platform::mention`] are markup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// A headline shown first (in bold where the platform can).
    pub header: Option<String>,
    /// The words.
    pub body: String,
    /// A line of small print under the words (who asked, who approved).
    pub context: Option<String>,
    /// Approve and Deny buttons for this operation.
    pub vote_on: Option<u64>,
}

impl Message {
    /// Words and nothing else.
    pub fn text(body: impl Into<String>) -> Message {
        Message {
            body: body.into(),
            ..Message::default()
        }
    }
}

/// A chat platform as the neutral layer uses it. Message, channel, thread and
/// user ids are the platform's own strings; people in a policy are
/// `NAME:USER` (`slack:U123`) and their groups `GROUP_KIND:ID`
/// (`slack-group:S0123`).
pub trait Platform: Send + Sync + 'static {
    /// Why a call did not succeed (after any retries the platform makes).
    type Error: std::fmt::Display + Send;

    /// `slack`: the prefix of actors, of channels in a policy or a request,
    /// and of the journal notes the neutral layer keeps for this platform.
    fn name(&self) -> &'static str;
    /// `slack-group`: the prefix of this platform's groups in a policy.
    fn group_kind(&self) -> &'static str;
    /// The least time between two posts in one channel.
    fn post_gap(&self) -> Duration;

    /// Post `message` in `channel` (in `thread` when set); its id.
    fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &Message,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send;
    /// Replace the message `id` of hoist's in place; it was posted in
    /// `channel` (in `thread` when set), as [`Platform::post`] was asked.
    fn edit(
        &self,
        channel: &str,
        thread: Option<&str>,
        id: &str,
        message: &Message,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Delete the message `id` of hoist's, posted in `channel` (`thread`).
    fn delete(
        &self,
        channel: &str,
        thread: Option<&str>,
        id: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Words only `user` sees (already escaped).
    fn ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread: Option<&str>,
        text: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// The user ids in group `id` (the part after `GROUP_KIND:`). A group
    /// that cannot be read has nobody in it.
    fn group_members(&self, id: &str) -> impl Future<Output = Vec<String>> + Send;
    /// Which of `groups` (ids after `GROUP_KIND:`) `user` is in, asked from
    /// `channel`. By default from [`Platform::group_members`]; a platform
    /// whose groups are read per member (Discord's roles) answers itself.
    fn member_of(
        &self,
        user: &str,
        channel: &str,
        groups: &[String],
    ) -> impl Future<Output = Vec<String>> + Send {
        let _ = channel;
        async move {
            let mut out = Vec::new();
            for g in groups {
                if self.group_members(g).await.iter().any(|u| u == user) {
                    out.push(g.clone());
                }
            }
            out
        }
    }

    /// A mention of user `id` (markup), or the id as escaped text when it
    /// is not one of the platform's ids.
    fn mention(&self, id: &str) -> String;
    /// A mention of group `id`, or the id as escaped text.
    fn mention_group(&self, id: &str) -> String;
    /// Outside text made inert: it cannot mention, link or format.
    /// Escaping escaped text changes nothing (words may pass twice).
    fn escape(&self, text: &str) -> String;
    /// Outside text escaped and quoted as one inline code span.
    fn code(&self, text: &str) -> String;
    /// How the reaction `name` is written in a message.
    fn emoji(&self, name: &str) -> String;
    /// The link to message `id` in `channel` (a reply in `thread`).
    fn permalink(&self, channel: &str, id: &str, thread: Option<&str>) -> String;
    /// The thread a permalink of [`Platform::permalink`] points at.
    fn place_of_link(&self, link: &str) -> Option<Place>;
}

/// How `actor` is named on `p`: a mention for one of its users
/// (`slack:U1`), anyone else (`console:alice`, `cli`) as escaped text.
pub fn actor<P: Platform>(p: &P, actor: &str) -> String {
    match own(p.name(), actor) {
        Some(id) => p.mention(id),
        None => p.escape(actor),
    }
}

/// The part after `NAME:` when `value` is one of platform `name`'s.
pub fn own<'a>(name: &str, value: &'a str) -> Option<&'a str> {
    value.strip_prefix(name)?.strip_prefix(':')
}

/// What stands for a backtick inside a code span (Slack and Discord have no
/// escape for one there): U+02CB MODIFIER LETTER GRAVE ACCENT, which looks
/// the same.
pub const BACKTICK: char = '\u{2cb}';

/// `text`, already made inert by the platform's rules, as one inline code
/// span of backtick markup (Slack's and Discord's `Platform::code`):
/// backticks become [`BACKTICK`] and line breaks spaces, so the span ends
/// where hoist ends it.
pub fn code_span(text: impl IntoIterator<Item = char>) -> String {
    let inner: String = text
        .into_iter()
        .map(|c| match c {
            '`' => BACKTICK,
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect();
    if inner.trim().is_empty() {
        // An empty span is shown as two backticks; say it in words instead.
        return "(nothing)".to_string();
    }
    format!("`{inner}`")
}
