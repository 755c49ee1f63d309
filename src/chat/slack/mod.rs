//! Slack: the only module (with its children) that names slack-morphism
//! types, and all it holds is Slack. Requests arrive as slash commands,
//! `app_mention`s, messages in hoist's threads or direct messages, reactions
//! and button presses, over HTTP (`server.rs`, signatures checked in
//! [`verify`]) or Socket Mode ([`socket`]); [`handle`] decodes each into the
//! platform-neutral values of [`crate::chat`], whose shared adapter does the
//! rest (requests, votes, the live messages, notes, dedupe). Slack supplies
//! the [`crate::chat::Platform`] calls and formats ([`platform`]).
//!
//! - `api`: the Web API client, retrying on 429 after `Retry-After`.
//! - `decode`: raw request bodies to slack-morphism values.
//! - `handle`: what each kind of traffic is, in neutral terms.
//! - `place`: permalinks <-> channel and thread.
//! - `platform`: the `Platform` implementation.
//! - `render`: hoist's messages as Block Kit.
//! - `replay`: which requests are the same request (acted on once).
//! - `socket`: Socket Mode, for running with no inbound port.
//! - `text`: escaping, code spans and mentions in Slack's markup.
//! - `verify`: v0 request signatures.

pub mod api;
pub mod decode;
mod handle;
pub mod place;
pub mod platform;
pub mod render;
pub mod replay;
pub mod socket;
pub mod text;
pub mod verify;

pub use crate::chat::work::Work;
pub use platform::SlackPlatform;

use crate::chat::live::Live;
use crate::chat::outbox::Outbox;
use crate::chat::{Chat, Reactions};
use crate::engine::Engine;
use crate::engine::ports::{Clock, Journal};
use std::sync::Arc;
use std::time::Duration;

/// Slack settings, read from the environment by `cli` (`serve/env.rs`):
/// `SLACK_SIGNING_SECRET`, `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN` (Socket
/// Mode), `SLACK_API_URL`; `HOIST_SLACK_APPROVE` / `HOIST_SLACK_DENY`
/// (reaction names), `HOIST_SLACK_GROUP_TTL`.
#[derive(Clone)]
pub struct Config {
    pub signing_secret: Option<String>,
    pub bot_token: String,
    pub app_token: Option<String>,
    pub api_url: String,
    pub approve: Vec<String>,
    pub deny: Vec<String>,
    pub group_ttl: Duration,
}

impl Config {
    /// The reactions that vote.
    pub fn reactions(&self) -> Reactions {
        Reactions {
            approve: self.approve.clone(),
            deny: self.deny.clone(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("Config")
            .field("signing_secret", &set(&self.signing_secret))
            .field("bot_token", &"<redacted>")
            .field("app_token", &set(&self.app_token))
            .field("api_url", &self.api_url)
            .field("approve", &self.approve)
            .field("deny", &self.deny)
            .field("group_ttl", &self.group_ttl)
            .finish()
    }
}

/// The live messages on Slack (the engine's `Notify`); must be called inside
/// the runtime their work runs on.
pub fn live(
    api: &Arc<api::Api>,
    me: &api::Identity,
    config: &Config,
    journal: Arc<dyn Journal>,
) -> Arc<Live<SlackPlatform>> {
    let platform = Arc::new(SlackPlatform::new(api.clone(), me));
    Live::new(Arc::new(Outbox::new(platform)), journal, config.reactions())
}

/// The Slack adapter: shared by the HTTP handlers and Socket Mode.
pub struct Slack {
    chat: Arc<Chat<SlackPlatform>>,
    api: Arc<api::Api>,
    me: api::Identity,
    config: Config,
    /// `None` when only Socket Mode is configured.
    pub verifier: Option<verify::Verifier>,
    pub work: Work,
}

impl std::fmt::Debug for Slack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slack")
            .field("bot", &self.me.user_id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What the adapter needs, wired by `hoist serve`.
pub struct Parts {
    pub engine: Arc<Engine>,
    pub api: Arc<api::Api>,
    /// From [`live`].
    pub live: Arc<Live<SlackPlatform>>,
    pub journal: Arc<dyn Journal>,
    pub clock: Arc<dyn Clock>,
    pub me: api::Identity,
    pub config: Config,
    pub work: Work,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Slack {
    pub fn new(p: Parts) -> Arc<Slack> {
        let verifier = p
            .config
            .signing_secret
            .as_deref()
            .map(|s| verify::Verifier::new(s, p.clock.clone()));
        let chat = Chat::new(crate::chat::Parts {
            engine: p.engine,
            live: p.live,
            journal: p.journal,
            clock: p.clock,
            reactions: p.config.reactions(),
        });
        Arc::new(Slack {
            chat,
            api: p.api,
            me: p.me,
            config: p.config,
            verifier,
            work: p.work,
        })
    }

    /// Web API call counters, for `/metrics`.
    pub fn api_calls(&self) -> &crate::metrics::Counters<(&'static str, &'static str)> {
        &self.api.calls
    }

    /// Seconds spent waiting on Slack's rate limits and post pacing.
    pub fn rate_limit_wait_secs(&self) -> f64 {
        let retried = self
            .api
            .waited_ms
            .load(std::sync::atomic::Ordering::Relaxed) as f64
            / 1000.0;
        retried + self.chat.outbox().waited().as_secs_f64()
    }
}
