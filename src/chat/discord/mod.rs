//! Discord: the only module (with its children) that names serenity types,
//! and all it holds is Discord. Like Slack beside it, it is a thin adapter
//! on the platform-neutral chat layer: [`Discord`] is the
//! [`crate::chat::Platform`] (posts, edits, deletes, whispers, roles, and
//! Discord's formats), and learns where things are from the inbound traffic
//! the gateway and the interactions endpoint decode ([`Discord::learn`],
//! [`Discord::learn_roles`], [`Discord::locate`], [`Discord::interaction`]).
//!
//! REST uses serenity's routes and requests, sent by hoist and paced by its
//! own rate limiting (`pace`: per-route buckets from `X-RateLimit-*`, 429
//! `retry_after`, the global limit), the same with Discord or a fake; only
//! ids checked to be snowflakes ([`text::snowflake`]) and interaction
//! tokens of Discord's shape are ever put in a route.
//!
//! - `platform`: the `Platform` implementation (threads, edits, deletes).
//! - `render`: hoist's messages as Discord JSON, `allowed_mentions`, limits.
//! - `rest`: one REST call, bounded, and its errors.
//! - `pace`: Discord's rate limits, waited out.
//! - `text`: escaping, code spans, mentions, emoji, snowflakes.
//! - `places`: what was learned (guilds, thread parents, hoist's messages).
//! - `members`: a member's roles, cached with a TTL.
//! - `whisper`: words to one person (interaction, DM, or a mention).

pub mod members;
pub mod pace;
pub mod places;
pub mod platform;
pub mod render;
pub mod rest;
pub mod text;
pub mod whisper;
// The inbound side: the gateway, the interactions endpoint's answers,
// decoding, and `hoist discord register`.
pub mod decode;
pub mod gateway;
pub mod inbound;
pub mod interactions;
pub mod register;

#[cfg(test)]
mod tests;

use crate::chat::Reactions;
use places::{Kind, Places};
use rest::api_base;
pub use rest::{CallError, ERROR_TEXT_MAX};
use serenity::http::{Http, HttpBuilder, LightMethod, Route};
use serenity::model::id::{ApplicationId, ChannelId};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Discord settings, read from the environment by `cli`: `DISCORD_TOKEN`,
/// `DISCORD_API_URL` (tests: the fake's base URL), `HOIST_DISCORD_ROLE_TTL`,
/// `HOIST_DISCORD_APPROVE` / `HOIST_DISCORD_DENY` (reaction names).
#[derive(Clone)]
pub struct Config {
    /// The bot token (a secret: never logged; `Debug` redacts it).
    pub token: String,
    pub api_url: Option<String>,
    pub role_ttl: Duration,
    pub reactions: Reactions,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("token", &"<redacted>")
            .field("api_url", &self.api_url)
            .field("role_ttl", &self.role_ttl)
            .field("reactions", &self.reactions)
            .finish()
    }
}

impl Config {
    /// The default reactions: approve ✅ 👍, deny ❌ 👎.
    pub fn default_reactions() -> Reactions {
        Reactions::new(&["✅", "👍"], &["❌", "👎"])
    }
}

/// Why the Discord client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("DISCORD_TOKEN is empty or not one line of printable characters")]
    Token,
    #[error("DISCORD_API_URL must be http(s)://host[:port] with no path, not {0}")]
    ApiUrl(String),
    #[error("the HTTP client for Discord could not be built (TLS)")]
    Client,
}

/// hoist on Discord: cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Discord {
    inner: Arc<Inner>,
}

struct Inner {
    http: Arc<Http>,
    /// The HTTP client `http` holds too: REST calls are sent with it.
    client: reqwest::Client,
    pace: pace::Pace,
    me: Mutex<Option<String>>,
    application: Mutex<Option<String>>,
    places: Places,
    members: members::Members,
    whispers: whisper::Whispers,
    reactions: Reactions,
}

impl std::fmt::Debug for Discord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discord")
            .field("me", &self.me())
            .field("application", &self.application())
            .field("api", &self.inner.http.proxy)
            .finish_non_exhaustive()
    }
}

impl Discord {
    /// The client for `config`. With `api_url` set (tests), REST goes there
    /// instead of `https://discord.com`. serenity's ratelimiter is always
    /// off: it sends every request to discord.com whatever the proxy
    /// (0.12.5 `ratelimiting.rs`; by design, serenity-rs/serenity#1739), and
    /// its errors drop the headers and `retry_after`; hoist paces its calls
    /// itself (`pace`), so production and tests take the same path.
    pub fn new(config: &Config) -> Result<Discord, SetupError> {
        let token = config.token.trim();
        if token.is_empty() || token.chars().any(|c| c.is_control()) {
            return Err(SetupError::Token);
        }
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .build()
            .map_err(|_| SetupError::Client)?;
        let mut builder = HttpBuilder::new(token)
            .client(client.clone())
            .ratelimiter_disabled(true);
        if let Some(url) = &config.api_url {
            builder = builder.proxy(api_base(url)?);
        }
        Ok(Discord {
            inner: Arc::new(Inner {
                http: Arc::new(builder.build()),
                client,
                pace: pace::Pace::default(),
                me: Mutex::new(None),
                application: Mutex::new(None),
                places: Places::default(),
                members: members::Members::new(config.role_ttl),
                whispers: whisper::Whispers::default(),
                reactions: config.reactions.clone(),
            }),
        })
    }

    /// serenity's client, for the gateway and command registration.
    pub fn http(&self) -> Arc<Http> {
        self.inner.http.clone()
    }

    /// The reactions that vote.
    pub fn reactions(&self) -> &Reactions {
        &self.inner.reactions
    }

    /// Once known (READY or GET /users/@me, GET /oauth2/applications/@me):
    /// hoist's own user id (its reactions and messages are ignored inbound)
    /// and application id (webhooks). A value that is not a snowflake is
    /// ignored.
    pub fn set_identity(&self, user: &str, application: &str) {
        if text::snowflake(user) {
            *places::lock(&self.inner.me) = Some(user.to_string());
        }
        if let Some(n) = text::id(application) {
            *places::lock(&self.inner.application) = Some(application.to_string());
            self.inner.http.set_application_id(ApplicationId::new(n));
        }
    }

    pub fn me(&self) -> Option<String> {
        places::lock(&self.inner.me).clone()
    }

    pub fn application(&self) -> Option<String> {
        places::lock(&self.inner.application).clone()
    }

    /// What an inbound event told: the guild of a channel, the parent of a
    /// thread. Values that are not snowflakes are ignored.
    pub fn learn(&self, channel: &str, guild: Option<&str>, parent: Option<&str>) {
        if !text::snowflake(channel) {
            return;
        }
        let guild = guild.filter(|g| text::snowflake(g));
        let parent = parent.filter(|p| text::snowflake(p) && *p != channel);
        self.inner.places.learn(channel, guild, parent);
    }

    /// A member's roles as an inbound event carried them (fresh for
    /// `role_ttl`).
    pub fn learn_roles(&self, guild: &str, user: &str, roles: &[String]) {
        if text::snowflake(guild) && text::snowflake(user) {
            self.inner.members.learn(guild, user, roles);
        }
    }

    /// A member's roles as an inbound event of time `at` carried them:
    /// fresh for `role_ttl` from `at`, never replacing roles seen later.
    pub fn learn_roles_at(
        &self,
        guild: &str,
        user: &str,
        roles: &[String],
        at: std::time::SystemTime,
    ) {
        if text::snowflake(guild) && text::snowflake(user) {
            self.inner.members.learn_at(guild, user, roles, at);
        }
    }

    /// Where an inbound event's channel sits: a thread's as `(parent,
    /// Some(thread))`, any other as `(channel, None)`. From what was
    /// learned, else GET /channels/{id} (types 10, 11, 12 are threads),
    /// remembered. A channel that cannot be read is taken as it is, and not
    /// asked again for [`places::UNREADABLE_FOR`].
    pub async fn locate(&self, actual: &str) -> (String, Option<String>) {
        let places = &self.inner.places;
        if let Some(parent) = places.parent(actual) {
            return (parent, Some(actual.to_string()));
        }
        let Some(n) = text::id(actual) else {
            return (actual.to_string(), None);
        };
        if places.kind(actual).is_some() || places.recently_unreadable(actual) {
            return (actual.to_string(), None);
        }
        let route = Route::Channel {
            channel_id: ChannelId::new(n),
        };
        let channel = match self.call(route, LightMethod::Get, None).await {
            Ok(channel) => channel,
            Err(e) => {
                tracing::debug!(error = %e, "discord: a channel could not be read");
                places.unreadable(actual);
                return (actual.to_string(), None);
            }
        };
        let guild = channel["guild_id"].as_str().filter(|g| text::snowflake(g));
        let kind = channel["type"].as_u64();
        let parent = channel["parent_id"]
            .as_str()
            .filter(|p| text::snowflake(p) && *p != actual);
        match (kind, parent) {
            (Some(10..=12), Some(parent)) => {
                places.learn(actual, guild, Some(parent));
                (parent.to_string(), Some(actual.to_string()))
            }
            _ => {
                places.learn(actual, guild, None);
                // DMs (1, 3) and forums (15, 16) cannot start a thread from
                // a message.
                let kind = match kind {
                    Some(1 | 3 | 15 | 16) => Kind::NoThreads,
                    _ => Kind::Channel,
                };
                places.set_kind(actual, kind);
                (actual.to_string(), None)
            }
        }
    }

    /// An interaction of `user` in `channel` (as [`Discord::locate`] names
    /// it), whose token (valid 15 minutes) whispers go to: a command
    /// deferred with an answer of its own (type 5), whose first whisper
    /// fills that answer.
    pub fn interaction(&self, channel: &str, user: &str, token: &str) {
        self.inner
            .whispers
            .register(channel, user, token, whisper::Kind::Command);
    }

    /// A button press (MESSAGE_COMPONENT, deferred as an update, type 6)
    /// of `user` in `channel`: its whispers are ephemeral follow-ups only,
    /// never an edit of its original response, which is the pressed
    /// message (hoist's live message).
    pub fn interaction_component(&self, channel: &str, user: &str, token: &str) {
        self.inner
            .whispers
            .register(channel, user, token, whisper::Kind::Component);
    }

    /// The end of handling an interaction: if no whisper used its deferred
    /// original response, `text` (already escaped) is edited into it, so
    /// "hoist is thinking" never stays.
    pub async fn finish_interaction(&self, channel: &str, user: &str, text: &str) {
        if let Err(e) = whisper::finish(self, channel, user, text).await {
            tracing::warn!(error = %e, "discord: could not answer an interaction");
        }
    }

    pub(crate) fn places(&self) -> &Places {
        &self.inner.places
    }

    pub(crate) fn members(&self) -> &members::Members {
        &self.inner.members
    }

    pub(crate) fn whispers(&self) -> &whisper::Whispers {
        &self.inner.whispers
    }
}
