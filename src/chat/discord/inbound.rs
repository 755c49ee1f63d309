//! What Discord's inbound traffic is, in the neutral terms of
//! [`crate::chat`], shared by the gateway ([`super::gateway`]) and the
//! interactions endpoint ([`super::interactions`]): a message addressed to
//! hoist (a mention or the prefix at its start) is words in a thread of its
//! own; a message in the thread of one of hoist's operations is chatter
//! that may read as a command (answered only when it does, as on Slack);
//! a reaction on one of hoist's messages is a vote. Bots and hoist itself
//! are ignored, and so, at no cost, is every other message: which ones
//! count is decided before any work is queued.
//!
//! Only the threads hoist started for its operations are reported as their
//! parent channel ([`Inbound::request_channel`]); any other thread is a
//! channel of its own, so a policy's channel rules cannot be met from a
//! thread of an incident channel. A reaction is reported with the channel
//! its message's note is kept under (the parent, else the thread).
//!
//! A message is acted on once per id (`discord:message:<id>` in the
//! journal: a RESUME replays dispatches); a reaction once per state
//! ([`ReactionStates`]), an approval standing while any approving reaction
//! of its person does. The roles an event carries are learned only once it
//! is known not to be a replay, and are as old as the event
//! ([`Discord::learn_roles_at`]): a replay after a RESUME cannot bring back
//! a role taken away. The work runs on the shared bounded [`Work`]; a
//! request that finds it full is told so in its channel, briefly.

use super::decode::{ReactionStates, Step, Voter, addressed, snowflake_time};
use super::{Config, Discord, text};
use crate::chat::live::Live;
use crate::chat::outbox::Outbox;
use crate::chat::{Audience, Chat, Message, Platform, Reaction, Said, Work};
use crate::engine::Engine;
use crate::engine::ports::{Clock, Journal};
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

/// At most this many "busy" answers are being sent at once; past that a
/// request dropped for lack of work slots is only logged.
pub const BUSY_REPLIES_MAX: usize = 4;
const BUSY: &str = "hoist is busy right now and did nothing; try again in a minute.";

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
    busy: Arc<tokio::sync::Semaphore>,
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
    /// The emoji itself (a unicode emoji as sent, a custom emoji's id):
    /// 👍 and 👍🏽 are two reactions of one name.
    pub raw: String,
    pub added: bool,
}

/// Every reaction (or every one of an emoji) taken off a message at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleared {
    pub channel: String,
    pub message: String,
    /// The emoji ([`Reacted::raw`]); `None` for all of them.
    pub raw: Option<String>,
}

/// The work a message asks for, and whether it was addressed to hoist
/// (then a full work runtime is answered, not silent).
pub struct Heard<F> {
    pub addressed: bool,
    pub work: F,
}

impl<F> std::fmt::Debug for Heard<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heard")
            .field("addressed", &self.addressed)
            .finish_non_exhaustive()
    }
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
            busy: Arc::new(tokio::sync::Semaphore::new(BUSY_REPLIES_MAX)),
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

    /// Whether reaction `name` approves.
    fn approving(&self, name: &str) -> bool {
        self.discord.reactions().approve.iter().any(|a| a == name)
    }

    /// Whether `channel` is, as already learned, the thread of one of
    /// hoist's operations (no I/O beyond the journal's notes).
    fn known_operation_thread(&self, channel: &str) -> bool {
        let parent = self.discord.places().parent(channel);
        parent.is_some_and(|p| self.chat.notes().operation_of_thread(&p, channel).is_some())
    }

    /// The channel a request from `actual` is checked against (and
    /// answered in): the parent of one of hoist's own operation threads,
    /// with that thread; any other thread as a channel of its own.
    pub async fn request_channel(&self, actual: &str) -> (String, Option<String>) {
        match self.discord.locate(actual).await {
            (parent, Some(thread))
                if self
                    .chat
                    .notes()
                    .operation_of_thread(&parent, &thread)
                    .is_none() =>
            {
                (actual.to_string(), None)
            }
            located => located,
        }
    }

    /// The channel a reaction on `message` in `actual` is reported with:
    /// the one its note is kept under (the parent, else the thread).
    async fn vote_channel(&self, actual: &str, message: &str) -> String {
        let (parent, thread) = self.discord.locate(actual).await;
        let notes = self.chat.notes();
        if thread.is_some()
            && notes.operation_of(&parent, message).is_none()
            && notes.operation_of(actual, message).is_some()
        {
            return actual.to_string();
        }
        parent
    }

    /// Handle a message: queue its work, if any; a request that finds the
    /// work runtime full is told so (see [`Inbound::busy`]).
    pub fn message(self: &Arc<Self>, m: Posted) {
        let (channel, author) = (m.channel.clone(), m.author.clone());
        let Some(heard) = self.on_message(m) else {
            return;
        };
        if !self.work.try_run(heard.work) {
            tracing::warn!("discord: busy: a message was dropped");
            if heard.addressed {
                self.busy(&channel, &author);
            }
        }
    }

    /// Tell `user` in `channel` that hoist is too busy to take their
    /// request (at most [`BUSY_REPLIES_MAX`] such answers at once).
    fn busy(&self, channel: &str, user: &str) {
        let Ok(permit) = self.busy.clone().try_acquire_owned() else {
            return;
        };
        let (discord, channel) = (self.discord.clone(), channel.to_string());
        let words = format!("{} {}", text::mention(user), text::escape(BUSY));
        tokio::spawn(async move {
            let words = Message::text(words);
            if let Err(e) = discord.post(&channel, None, &words).await {
                tracing::warn!(error = %e, "discord: could not say hoist is busy");
            }
            drop(permit);
        });
    }

    /// The work a message asks for, if any. Decided here, without I/O: a
    /// message that neither addresses hoist nor is in the thread of one of
    /// hoist's operations costs nothing.
    pub fn on_message(
        self: &Arc<Self>,
        m: Posted,
    ) -> Option<Heard<impl Future<Output = ()> + Send + 'static>> {
        let ids = [&m.id, &m.channel, &m.author];
        if m.bot || self.is_me(&m.author) || !ids.iter().all(|id| text::snowflake(id)) {
            return None;
        }
        self.discord.learn(&m.channel, m.guild.as_deref(), None);
        let me = self.discord.me();
        let line = addressed(&m.content, me.as_deref(), &self.prefix);
        if line.is_none() && !self.known_operation_thread(&m.channel) {
            return None;
        }
        let addressed = line.is_some();
        let this = self.clone();
        let work = async move {
            let (channel, thread) = this.request_channel(&m.channel).await;
            let (text, addressed) = match line {
                Some(line) => (line, true),
                None => {
                    // Chatter counts only in the thread of one of hoist's operations.
                    if thread.is_none() {
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
            // Not a replay: its roles are as old as the message.
            if let (Some(g), Some(roles), Some(at)) = (
                m.guild.as_deref(),
                m.roles.as_deref(),
                snowflake_time(&m.id),
            ) {
                this.discord.learn_roles_at(g, &m.author, roles, at);
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
        };
        Some(Heard { addressed, work })
    }

    /// The work a reaction asks for, if any: none for a replay, nor when
    /// the person's vote stays as it was.
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
        self.discord.learn(&r.channel, r.guild.as_deref(), None);
        let approving = |n: &str| self.approving(n);
        let emoji = (r.raw.as_str(), name.as_str());
        let step = self
            .reactions
            .apply(&r.message, &user, emoji, r.added, &approving);
        if step == Step::Replay {
            tracing::info!(message = %r.message, "discord: a reaction already handled (a replay)");
            return None;
        }
        // Not a replay: its roles are as of now (a reaction has no id).
        if let (Some(g), Some(roles)) = (r.guild.as_deref(), r.roles.as_deref()) {
            self.discord
                .learn_roles_at(g, &user, roles, SystemTime::now());
        }
        if step == Step::Quiet {
            return None;
        }
        let this = self.clone();
        Some(async move {
            let channel = this.vote_channel(&r.channel, &r.message).await;
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

    /// The work of reactions taken off a message all at once: the
    /// approvals they held withdrawn.
    pub fn on_cleared(
        self: &Arc<Self>,
        c: Cleared,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        if !text::snowflake(&c.channel) || !text::snowflake(&c.message) {
            return None;
        }
        let approving = |n: &str| self.approving(n);
        let gone: Vec<Voter> = match &c.raw {
            Some(raw) => self.reactions.remove_emoji(&c.message, raw, &approving),
            None => self.reactions.remove_all(&c.message, &approving),
        };
        if gone.is_empty() {
            return None;
        }
        let this = self.clone();
        Some(async move {
            let channel = this.vote_channel(&c.channel, &c.message).await;
            for (user, name) in gone {
                let r = Reaction {
                    user,
                    channel: channel.clone(),
                    message: c.message.clone(),
                    name,
                    added: false,
                };
                this.chat.on_reaction(r).await;
            }
        })
    }
}
