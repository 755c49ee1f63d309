//! Discord's inbound traffic read as plain values, with no I/O: whether a
//! message addresses hoist (a mention of hoist or the prefix at its start)
//! and the command line left, a reaction's name as votes compare it, which
//! reaction events are a replay of one already seen (a gateway RESUME
//! replays dispatches), the verbs `/hoist` autocompletes, and an
//! interaction's body (`POST /discord/interactions`) as the few fields
//! hoist uses, every id checked to be a snowflake before anything uses it.

use super::places::{Bounded, lock};
use super::text;
use hoist_commands::Verb;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// The longest command line taken from a message or an interaction.
pub const LINE_MAX: usize = 4_000;
/// The longest reaction name kept (a custom emoji's name is at most 32).
pub const REACTION_NAME_MAX: usize = 64;
/// Discord takes at most 25 autocomplete choices, names of 100 characters.
pub const CHOICES_MAX: usize = 25;
const CHOICE_NAME_MAX: usize = 100;

/// The command line of a message that addresses hoist: it starts (after
/// blanks) with a mention of hoist (`<@ME>` or `<@!ME>`) or with `prefix`
/// followed by a blank or the end. `None` when it does not address hoist.
pub fn addressed(content: &str, me: Option<&str>, prefix: &str) -> Option<String> {
    let text = content.trim_start();
    let mut rest = None;
    if let Some(me) = me.filter(|m| text::snowflake(m)) {
        for mention in [format!("<@{me}>"), format!("<@!{me}>")] {
            if let Some(r) = text.strip_prefix(mention.as_str()) {
                rest = Some(r);
            }
        }
    }
    if rest.is_none() && !prefix.is_empty() {
        rest = text
            .strip_prefix(prefix)
            .filter(|r| r.is_empty() || r.starts_with(char::is_whitespace));
    }
    let line = rest?.trim();
    Some(line.chars().take(LINE_MAX).collect())
}

/// The name a reaction votes by: a unicode emoji without skin tone and
/// variation selector, or a custom emoji's name; `None` for a nameless or
/// oversized one.
pub fn reaction_name(unicode: Option<&str>, custom: Option<&str>) -> Option<String> {
    let name = match (unicode, custom) {
        (Some(u), _) => text::reaction_name(u),
        (None, Some(c)) => c.to_string(),
        (None, None) => return None,
    };
    let ok = !name.is_empty()
        && name.chars().count() <= REACTION_NAME_MAX
        && !name.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(name)
}

/// Which reactions are on which message, as far as the events told, per
/// person and raw emoji (👍 and 👍🏽 are two reactions that vote by one
/// name): a replayed add (or remove) finds the state it would set already
/// there, and a person's approval stands while any of their approving
/// reactions on the message does. At most [`REACTION_MESSAGES_MAX`]
/// messages (the oldest forgotten) of [`REACTIONS_PER_MESSAGE_MAX`]
/// reactions each.
#[derive(Debug)]
pub struct ReactionStates(Mutex<Bounded<String, OnMessage>>);

/// The reactions on one message: (person, raw emoji) -> (name, still on).
type OnMessage = HashMap<(String, String), (String, bool)>;

/// Messages whose reactions are remembered.
pub const REACTION_MESSAGES_MAX: usize = 2_000;
/// Reactions remembered per message; past that, a new one is acted on as
/// if nothing were known of it.
pub const REACTIONS_PER_MESSAGE_MAX: usize = 250;

impl Default for ReactionStates {
    fn default() -> Self {
        ReactionStates(Mutex::new(Bounded::new(REACTION_MESSAGES_MAX)))
    }
}

/// What a reaction event does, once compared with what is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A replay: it changes nothing.
    Replay,
    /// New, but the person's vote stays as it was (another approving
    /// reaction of theirs is still on the message, or was already).
    Quiet,
    /// To act on.
    Act,
}

impl ReactionStates {
    /// `user` adding (or removing) `raw` (voting as `name`) on `message`;
    /// `approving` tells which names approve. Remembered either way.
    pub fn apply(
        &self,
        message: &str,
        user: &str,
        (raw, name): (&str, &str),
        added: bool,
        approving: &dyn Fn(&str) -> bool,
    ) -> Step {
        let mut all = lock(&self.0);
        let mut on = all.remove(&message.to_string()).unwrap_or_default();
        let key = (user.to_string(), raw.to_string());
        let was = on.get(&key).map(|(_, a)| *a);
        let step = if was == Some(added) {
            Step::Replay
        } else {
            if was.is_some() || on.len() < REACTIONS_PER_MESSAGE_MAX {
                on.insert(key, (name.to_string(), added));
            }
            let others = on
                .iter()
                .any(|((u, r), (n, a))| u == user && r != raw && *a && approving(n));
            if approving(name) && others {
                Step::Quiet
            } else {
                Step::Act
            }
        };
        all.insert(message.to_string(), on);
        step
    }

    /// Every reaction on `message` removed (MESSAGE_REACTION_REMOVE_ALL):
    /// the people whose approval that took back, with a name that approved.
    pub fn remove_all(&self, message: &str, approving: &dyn Fn(&str) -> bool) -> Vec<Voter> {
        let on = lock(&self.0)
            .remove(&message.to_string())
            .unwrap_or_default();
        let mut gone: Vec<Voter> = Vec::new();
        for ((user, _), (name, added)) in on {
            if added && approving(&name) && !gone.iter().any(|(u, _)| *u == user) {
                gone.push((user, name));
            }
        }
        gone.sort();
        gone
    }

    /// Every `raw` reaction on `message` removed
    /// (MESSAGE_REACTION_REMOVE_EMOJI): the people left with no approving
    /// reaction there, with the name that approved.
    pub fn remove_emoji(
        &self,
        message: &str,
        raw: &str,
        approving: &dyn Fn(&str) -> bool,
    ) -> Vec<Voter> {
        let mut all = lock(&self.0);
        let Some(mut on) = all.remove(&message.to_string()) else {
            return Vec::new();
        };
        let mut hit: Vec<Voter> = Vec::new();
        for ((user, r), (name, added)) in on.iter_mut() {
            if r == raw && *added {
                *added = false;
                if approving(name) {
                    hit.push((user.clone(), name.clone()));
                }
            }
        }
        hit.retain(|(user, _)| {
            !on.iter()
                .any(|((u, _), (n, a))| u == user && *a && approving(n))
        });
        all.insert(message.to_string(), on);
        hit.sort();
        hit
    }
}

/// A person and the reaction name their vote was cast with.
pub type Voter = (String, String);

/// When a snowflake was made (Discord's epoch is 2015-01-01): a message's
/// or an interaction's id tells when it was sent.
pub fn snowflake_time(id: &str) -> Option<std::time::SystemTime> {
    if !text::snowflake(id) {
        return None;
    }
    let ms = (id.parse::<u64>().ok()? >> 22).checked_add(1_420_070_400_000)?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_millis(ms))
}

/// Autocomplete choices for what was typed so far: the verbs whose name
/// starts with its first word (all of them for nothing typed), each shown
/// with its usage line.
pub fn choices(typed: &str) -> Vec<(String, String)> {
    let mut words = typed.split_whitespace();
    let word = words.next().unwrap_or("").to_ascii_lowercase();
    if word == Verb::Env.name() {
        return env_choices(typed, words.next());
    }
    Verb::ALL
        .into_iter()
        .filter(|v| v.name().starts_with(&word) || word.starts_with(v.name()))
        .take(CHOICES_MAX)
        .map(|v| {
            let usage: String = v.usage().chars().take(CHOICE_NAME_MAX).collect();
            // A complete verb keeps what was typed after it.
            let value = if word == v.name() && typed.trim().len() > word.len() {
                typed.trim().chars().take(CHOICE_NAME_MAX).collect()
            } else {
                v.name().to_string()
            };
            (usage, value)
        })
        .collect()
}

/// After `env`, its sub-verbs whose name starts with the second word, each
/// shown with its own usage line; a complete one keeps what was typed.
fn env_choices(typed: &str, second: Option<&str>) -> Vec<(String, String)> {
    let sub = second.unwrap_or("").to_ascii_lowercase();
    let typed: String = typed.trim().chars().take(CHOICE_NAME_MAX).collect();
    hoist_commands::verbs::env::SUBVERBS
        .into_iter()
        .filter(|(name, _)| name.starts_with(&sub) || sub.starts_with(name))
        .map(|(name, usage)| {
            let value = if sub == name {
                typed.clone()
            } else {
                format!("env {name}")
            };
            (usage.to_string(), value)
        })
        .collect()
}

/// An interaction as Discord sends it, only the fields hoist reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Interaction {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub data: Option<Data>,
    #[serde(default)]
    pub guild_id: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub channel: Option<Channel>,
    #[serde(default)]
    pub member: Option<Member>,
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Data {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub options: Vec<Option_>,
    #[serde(default)]
    pub custom_id: Option<String>,
}

/// A command's option (`command:<text>`).
#[derive(Debug, Clone, Deserialize)]
pub struct Option_ {
    pub name: String,
    #[serde(default)]
    pub value: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Channel {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: Option<u8>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub guild_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub bot: bool,
}

/// What an interaction asks, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// `/hoist command:<line>`.
    Command(String),
    /// A button: approve (or deny) operation `id`.
    Press { operation: u64, approve: bool },
    /// Autocomplete of what was typed.
    Complete(String),
}

/// Where an interaction came from, every id a snowflake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    pub user: String,
    pub channel: String,
    pub guild: Option<String>,
    /// The parent channel when `channel` is a thread.
    pub parent: Option<String>,
    /// The member's roles (from a guild only).
    pub roles: Vec<String>,
}

impl Interaction {
    /// Read a body (already verified).
    pub fn read(body: &[u8]) -> Result<Interaction, String> {
        let i: Interaction = serde_json::from_slice(body).map_err(|e| {
            format!(
                "not an interaction: {}",
                crate::engine::one_line(&e.to_string(), 200)
            )
        })?;
        if !text::snowflake(&i.id) {
            return Err("an interaction id is a snowflake".into());
        }
        Ok(i)
    }

    /// Who and where; `None` in a DM (a `user`, no `member`) or when an id
    /// is not a snowflake.
    pub fn from(&self) -> Option<From> {
        let member = self.member.as_ref()?;
        let user = member.user.as_ref()?;
        let channel = self
            .channel
            .as_ref()
            .map(|c| c.id.clone())
            .or_else(|| self.channel_id.clone())?;
        let guild = self
            .guild_id
            .clone()
            .or_else(|| self.channel.as_ref().and_then(|c| c.guild_id.clone()));
        let parent = self
            .channel
            .as_ref()
            .filter(|c| matches!(c.kind, Some(10..=12)))
            .and_then(|c| c.parent_id.clone());
        let ok = text::snowflake(&user.id)
            && text::snowflake(&channel)
            && guild.as_deref().is_none_or(text::snowflake)
            && parent.as_deref().is_none_or(text::snowflake);
        if !ok || user.bot {
            return None;
        }
        let roles = member
            .roles
            .iter()
            .filter(|r| text::snowflake(r))
            .cloned()
            .collect();
        Some(From {
            user: user.id.clone(),
            channel,
            guild,
            parent,
            roles,
        })
    }

    /// The `command` option's text (the first string option).
    fn line(&self) -> Option<String> {
        let data = self.data.as_ref()?;
        let option = data.options.iter().find(|o| o.name == "command")?;
        let line = option.value.as_ref()?.as_str()?;
        Some(line.trim().chars().take(LINE_MAX).collect())
    }

    /// What it asks; `None` for what hoist does not take.
    pub fn ask(&self) -> Option<Ask> {
        match self.kind {
            2 => Some(Ask::Command(self.line().unwrap_or_default())),
            4 => Some(Ask::Complete(self.line().unwrap_or_default())),
            3 => {
                let id = self.data.as_ref()?.custom_id.as_deref()?;
                let (approve, rest) = match id.strip_prefix(super::render::APPROVE) {
                    Some(rest) => (true, rest),
                    None => (false, id.strip_prefix(super::render::DENY)?),
                };
                let ok = (1..=20).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit());
                let operation = rest.parse().ok().filter(|_| ok)?;
                Some(Ask::Press { operation, approve })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
