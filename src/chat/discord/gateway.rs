//! Discord's gateway: a serenity [`Client`] (one shard; intents
//! GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS and the privileged
//! MESSAGE_CONTENT) that receives messages and reactions and hands each to
//! [`Inbound`], which decides at once and queues the work on the shared
//! bounded work runtime: the gateway's own task never waits on the engine.
//! The client is built on the same REST settings as the platform
//! (`DISCORD_API_URL` included), so `GET /gateway/bot` tells it where the
//! websocket is. Heartbeats, reconnects and RESUME (replaying what was
//! missed) are serenity's; each connection stage and each RESUME is
//! logged, and a replayed dispatch is acted on once ([`Inbound`]).
//! READY tells hoist who it is ([`super::Discord::set_identity`]).
//! Reactions taken off a message all at once (MESSAGE_REACTION_REMOVE_ALL,
//! MESSAGE_REACTION_REMOVE_EMOJI) withdraw the approvals they held.
//! [`Gateway::stop`] closes the websocket (the shard manager's shutdown).

use super::decode::reaction_name;
use super::inbound::{Cleared, Inbound, Posted, Reacted};
use super::{Config, api_base};
use serenity::all::{
    ChannelId, ClientBuilder, Context, EventHandler, GatewayIntents, HttpBuilder, Message,
    MessageId, Ready, ResumedEvent, ShardManager, ShardStageUpdateEvent,
};
use serenity::model::channel::{Reaction, ReactionType};
use std::sync::Arc;

/// How long a shutdown waits for the gateway client to end.
pub const STOP_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// What hoist asks the gateway for.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::GUILD_MESSAGE_REACTIONS
        | GatewayIntents::MESSAGE_CONTENT
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
#[error("Discord gateway: {0}")]
pub struct StartError(String);

/// A running gateway connection.
pub struct Gateway {
    shards: Arc<ShardManager>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gateway")
    }
}

struct Handler(Arc<Inbound>);

impl Handler {
    fn run(
        &self,
        what: &str,
        work: Option<impl std::future::Future<Output = ()> + Send + 'static>,
    ) {
        if let Some(work) = work
            && !self.0.work.try_run(work)
        {
            tracing::warn!("discord: busy: a {what} was dropped");
        }
    }
}

/// The raw emoji (a unicode emoji as sent, a custom emoji's id) and the
/// name it votes by.
fn emoji(e: &ReactionType) -> (String, Option<String>) {
    match e {
        ReactionType::Unicode(u) => {
            let raw = u.chars().take(super::decode::REACTION_NAME_MAX).collect();
            (raw, reaction_name(Some(u), None))
        }
        ReactionType::Custom { id, name, .. } => {
            (id.to_string(), reaction_name(None, name.as_deref()))
        }
        _ => (String::new(), None),
    }
}

/// A reaction event in plain values.
fn reacted(r: &Reaction, added: bool) -> Reacted {
    let (raw, name) = emoji(&r.emoji);
    Reacted {
        channel: r.channel_id.to_string(),
        message: r.message_id.to_string(),
        user: r.user_id.map(|u| u.to_string()),
        guild: r.guild_id.map(|g| g.to_string()),
        bot: r.member.as_ref().is_some_and(|m| m.user.bot),
        roles: r
            .member
            .as_ref()
            .map(|m| m.roles.iter().map(|r| r.to_string()).collect()),
        name,
        raw,
        added,
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _: Context, ready: Ready) {
        let (user, app) = (ready.user.id.to_string(), ready.application.id.to_string());
        self.0.discord().set_identity(&user, &app);
        tracing::info!(user = %user, application = %app, "discord: gateway ready");
    }

    async fn resume(&self, _: Context, _: ResumedEvent) {
        tracing::info!("discord: gateway session resumed");
    }

    async fn shard_stage_update(&self, _: Context, e: ShardStageUpdateEvent) {
        tracing::info!(from = %e.old, to = %e.new, "discord: gateway connection");
    }

    async fn message(&self, _: Context, m: Message) {
        let posted = Posted {
            id: m.id.to_string(),
            channel: m.channel_id.to_string(),
            guild: m.guild_id.map(|g| g.to_string()),
            author: m.author.id.to_string(),
            bot: m.author.bot || m.webhook_id.is_some(),
            content: m.content,
            roles: m
                .member
                .as_ref()
                .map(|p| p.roles.iter().map(|r| r.to_string()).collect()),
        };
        self.0.message(posted);
    }

    async fn reaction_add(&self, _: Context, r: Reaction) {
        self.run("reaction", self.0.on_reaction(reacted(&r, true)));
    }

    async fn reaction_remove(&self, _: Context, r: Reaction) {
        self.run("reaction", self.0.on_reaction(reacted(&r, false)));
    }

    async fn reaction_remove_all(&self, _: Context, channel: ChannelId, message: MessageId) {
        let cleared = Cleared {
            channel: channel.to_string(),
            message: message.to_string(),
            raw: None,
        };
        self.run("reaction removal", self.0.on_cleared(cleared));
    }

    async fn reaction_remove_emoji(&self, _: Context, r: Reaction) {
        let (raw, _) = emoji(&r.emoji);
        if raw.is_empty() {
            return;
        }
        let cleared = Cleared {
            channel: r.channel_id.to_string(),
            message: r.message_id.to_string(),
            raw: Some(raw),
        };
        self.run("reaction removal", self.0.on_cleared(cleared));
    }
}

impl Gateway {
    /// Connect as the bot of `config` and start receiving. Returns once
    /// the client is built; the connection itself runs in the background
    /// (serenity retries it).
    pub async fn start(inbound: Arc<Inbound>, config: &Config) -> Result<Gateway, StartError> {
        let mut http = HttpBuilder::new(config.token.trim());
        if let Some(url) = &config.api_url {
            let base = api_base(url).map_err(|e| StartError(e.to_string()))?;
            // serenity's ratelimiter ignores the proxy (see `Discord::new`).
            http = http.proxy(base).ratelimiter_disabled(true);
        }
        let mut client = ClientBuilder::new_with_http(http.build(), intents())
            .event_handler(Handler(inbound))
            .await
            .map_err(|e| StartError(crate::engine::one_line(&e.to_string(), 200)))?;
        let shards = client.shard_manager.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = client.start().await {
                let e = crate::engine::one_line(&e.to_string(), 200);
                tracing::error!(error = %e, "discord: the gateway stopped");
            }
        });
        Ok(Gateway { shards, task })
    }

    /// Close the websocket and wait (at most [`STOP_TIME`]) for the client to end.
    pub async fn stop(self) {
        self.shards.shutdown_all().await;
        if tokio::time::timeout(STOP_TIME, self.task).await.is_err() {
            tracing::warn!("discord: the gateway did not stop in time; left behind");
        }
    }
}
