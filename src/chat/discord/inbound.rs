//! What Discord's inbound traffic is, in the neutral terms of
//! [`crate::chat`], shared by the gateway ([`super::gateway`]) and the
//! interactions endpoint ([`super::interactions`]): a message addressed to
//! hoist (a mention or the prefix at its start) is words in a thread of its
//! own; a message in the thread of one of hoist's operations is chatter
//! that may read as a command (answered only when it does, as on Slack);
//! a reaction on one of hoist's messages is a vote. Bots and hoist itself
//! are ignored. What an event carries is learned first (the guild of a
//! channel, a member's roles), and its channel located (a thread's events
//! are its parent's, in that thread), so votes on the live message in an
//! operation's thread find their operation. A message is acted on once per
//! id (`discord:message:<id>` in the journal: a RESUME replays dispatches);
//! a reaction once per state ([`ReactionStates`]). The work runs on the
//! shared bounded [`Work`]: the sync part here only decides and returns it.

use super::decode::{ReactionStates, addressed};
use super::{Config, Discord, text};
use crate::chat::live::Live;
use crate::chat::outbox::Outbox;
use crate::chat::{Audience, Chat, Reaction, Said, Work};
use crate::engine::Engine;
use crate::engine::ports::{Clock, Journal};
use std::future::Future;
use std::sync::Arc;

/// The live messages on Discord (the engine's `Notify`); must be called
/// inside the runtime their work runs on.
pub fn live(discord: &Discord, config: &Config, journal: Arc<dyn Journal>) -> Arc<Live<Discord>> {
    let out = Arc::new(Outbox::new(Arc::new(discord.clone())));
    Live::new(out, journal, config.reactions.clone())
}

/// The Discord adapter's inbound side.
pub struct Inbound {
    pub(super) chat: Arc<Chat<Discord>>,
    pub(super) discord: Discord,
    pub work: Work,
    prefix: String,
    reactions: ReactionStates,
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound")
            .field("discord", &self.discord)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// What [`Inbound::new`] needs, wired by `hoist serve`.
pub struct Parts {
    pub engine: Arc<Engine>,
    pub discord: Discord,
    /// From [`live`].
    pub live: Arc<Live<Discord>>,
    pub journal: Arc<dyn Journal>,
    pub clock: Arc<dyn Clock>,
    /// `HOIST_DISCORD_PREFIX`.
    pub prefix: String,
    pub work: Work,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A message as the gateway delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub id: String,
    pub channel: String,
    pub guild: Option<String>,
    pub author: String,
    pub bot: bool,
    pub content: String,
    /// The author's roles, when the event carried the member.
    pub roles: Option<Vec<String>>,
}

/// A reaction added or removed, as the gateway delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reacted {
    pub channel: String,
    pub message: String,
    pub user: Option<String>,
    pub guild: Option<String>,
    pub bot: bool,
    pub roles: Option<Vec<String>>,
    /// Normalised ([`super::decode::reaction_name`]).
    pub name: Option<String>,
    pub added: bool,
}

impl Inbound {
    pub fn new(p: Parts) -> Arc<Inbound> {
        let chat = Chat::new(crate::chat::Parts {
            engine: p.engine,
            live: p.live,
            journal: p.journal,
            clock: p.clock,
            reactions: p.discord.reactions().clone(),
        });
        Arc::new(Inbound {
            chat,
            discord: p.discord,
            work: p.work,
            prefix: p.prefix,
            reactions: ReactionStates::default(),
        })
    }

    pub fn discord(&self) -> &Discord {
        &self.discord
    }

    pub fn chat(&self) -> &Arc<Chat<Discord>> {
        &self.chat
    }

    /// Whether `user` is hoist itself.
    fn is_me(&self, user: &str) -> bool {
        self.discord.me().is_some_and(|me| me == user)
    }

    /// What was learned from an event: the channel's guild, the member's roles.
    fn learn(&self, channel: &str, guild: Option<&str>, user: &str, roles: Option<&[String]>) {
        self.discord.learn(channel, guild, None);
        if let (Some(g), Some(roles)) = (guild, roles) {
            self.discord.learn_roles(g, user, roles);
        }
    }

    /// The work a message asks for, if any.
    pub fn on_message(
        self: &Arc<Self>,
        m: Posted,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        let ids = [&m.id, &m.channel, &m.author];
        if m.bot || self.is_me(&m.author) || !ids.iter().all(|id| text::snowflake(id)) {
            return None;
        }
        self.learn(
            &m.channel,
            m.guild.as_deref(),
            &m.author,
            m.roles.as_deref(),
        );
        let me = self.discord.me();
        let line = addressed(&m.content, me.as_deref(), &self.prefix);
        let this = self.clone();
        Some(async move {
            let (channel, thread) = this.discord.locate(&m.channel).await;
            let (text, addressed) = match line {
                Some(line) => (line, true),
                None => {
                    // Chatter counts only in the thread of one of hoist's operations.
                    let notes = this.chat.notes();
                    let ours = thread
                        .as_deref()
                        .is_some_and(|t| notes.operation_of_thread(&channel, t).is_some());
                    if !ours {
                        return;
                    }
                    let text = m.content.trim().chars().take(super::decode::LINE_MAX);
                    (text.collect(), false)
                }
            };
            if !this
                .chat
                .first_seen(format!("discord:message:{}", m.id))
                .await
            {
                return;
            }
            this.chat
                .on_words(Said {
                    user: m.author,
                    channel,
                    message: Some(m.id),
                    thread,
                    text,
                    addressed,
                    audience: Audience::Thread,
                })
                .await
        })
    }

    /// The work a reaction asks for, if any: none for a replay.
    pub fn on_reaction(
        self: &Arc<Self>,
        r: Reacted,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        let user = r.user.clone()?;
        let name = r.name.clone()?;
        let ids = [&r.channel, &r.message, &user];
        if r.bot || self.is_me(&user) || !ids.iter().all(|id| text::snowflake(id)) {
            return None;
        }
        self.learn(&r.channel, r.guild.as_deref(), &user, r.roles.as_deref());
        if !self.reactions.fresh(&r.message, &user, &name, r.added) {
            tracing::info!(message = %r.message, "discord: a reaction already handled (a replay)");
            return None;
        }
        let this = self.clone();
        Some(async move {
            let (channel, _) = this.discord.locate(&r.channel).await;
            this.chat
                .on_reaction(Reaction {
                    user,
                    channel,
                    message: r.message,
                    name,
                    added: r.added,
                })
                .await
        })
    }
}
