//! Slack: the only module (with its children) that names slack-morphism types.
//! Requests arrive as slash commands, `app_mention`s, messages in hoist's
//! threads or direct messages, reactions and button presses, over HTTP
//! (`server.rs`, signatures checked in [`verify`]) or Socket Mode
//! ([`socket`]). Each becomes an engine `Request` from `slack:<user id>`,
//! with the user's `slack-group:` memberships resolved through
//! `usergroups.users.list` (cached). Answers: the operation's live message in
//! the request's thread ([`live`]); refusals only the asker sees (ephemeral).
//!
//! - `api`: the Web API client, paced and retrying on 429.
//! - `handle`: what each kind of traffic means.
//! - `live`: the engine's `Notify` port: one edited message per operation.
//! - `place`: permalinks <-> channel and thread.
//! - `replay`: which requests are the same request (acted on once).
//! - `socket`: Socket Mode, for running with no inbound port.
//! - `text`: escaping of everything hoist says.
//! - `verify`: v0 request signatures.

pub mod api;
pub mod decode;
mod handle;
pub mod live;
pub mod place;
pub mod replay;
pub mod socket;
pub mod text;
pub mod verify;

use crate::engine::ports::{Clock, Journal};
use crate::engine::{Engine, Reply, Request};
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

/// Where the work after an acknowledgement runs: a runtime of its own, so
/// acknowledgements never queue behind it, and at most `limit` requests at a
/// time. Past that, a request is answered "busy" (or, for events, refused so
/// that Slack delivers it again later) instead of piling up without bound.
#[derive(Debug, Clone)]
pub struct Work {
    handle: tokio::runtime::Handle,
    permits: Arc<tokio::sync::Semaphore>,
}

impl Work {
    pub fn new(handle: tokio::runtime::Handle, limit: usize) -> Work {
        Work {
            handle,
            permits: Arc::new(tokio::sync::Semaphore::new(limit)),
        }
    }

    /// Start `job` unless `limit` jobs are running; false when busy.
    pub fn try_run(&self, job: impl std::future::Future<Output = ()> + Send + 'static) -> bool {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return false;
        };
        self.handle.spawn(async move {
            job.await;
            drop(permit);
        });
        true
    }
}

/// The Slack adapter: shared by the HTTP handlers and Socket Mode.
pub struct Slack {
    engine: Arc<Engine>,
    api: Arc<api::Api>,
    live: Arc<live::Live>,
    journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
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
    pub live: Arc<live::Live>,
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
        Arc::new(Slack {
            engine: p.engine,
            api: p.api,
            live: p.live,
            journal: p.journal,
            clock: p.clock,
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
        self.api
            .waited_ms
            .load(std::sync::atomic::Ordering::Relaxed) as f64
            / 1000.0
    }

    /// Run a request through the engine on a blocking thread.
    async fn run(&self, req: Request) -> Reply {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.handle(&req))
            .await
            .unwrap_or_else(|e| Reply::error(format!("the engine stopped: {e}")))
    }

    /// The `slack-group:` ids (of those the policy names) that `user` is in.
    async fn memberships(&self, user: &str) -> Vec<String> {
        let engine = self.engine.clone();
        let groups = tokio::task::spawn_blocking(move || engine.platform_groups())
            .await
            .unwrap_or_default();
        let mut out = Vec::new();
        for g in groups {
            let Some(id) = g.strip_prefix("slack-group:") else {
                continue;
            };
            if self.api.group_members(id).await.iter().any(|u| u == user) {
                out.push(g.clone());
            }
        }
        out
    }

    /// Is this request new? `key` is its [`replay`] key: retried deliveries
    /// (`X-Slack-Retry-Num`, Socket Mode's `retry_attempt`) and replays of a
    /// signed body carry the same one.
    async fn first_seen(&self, key: String) -> bool {
        let journal = self.journal.clone();
        let now = self.clock.now();
        let shown = key.clone();
        let seen = tokio::task::spawn_blocking(move || journal.first_seen(&key, now)).await;
        match seen {
            Ok(Ok(fresh)) => {
                if !fresh {
                    tracing::info!(key = %shown, "a request already handled (a retry or a replay)");
                }
                fresh
            }
            Ok(Err(e)) => {
                // Not knowing is answered as "new": a lost approval is worse
                // than a vote counted twice, which the engine refuses anyway.
                tracing::warn!(error = %e, key = %shown, "dedupe store");
                true
            }
            Err(_) => true,
        }
    }

    /// Tell only `user`; a failure to tell is logged, never fatal. `text` is
    /// escaped ([`text::escape`]): it never carries hoist's own markup.
    async fn tell(&self, channel: &str, user: &str, thread: Option<&str>, text: &str) {
        let text = text::escape(text);
        if let Err(e) = self.api.ephemeral(channel, user, thread, &text).await {
            tracing::warn!(error = %e, "ephemeral reply");
        }
    }

    /// Say in the channel (in `thread`), for everyone; `text` is escaped.
    async fn say(&self, channel: &str, thread: Option<&str>, text: &str) {
        let text = text::escape(text);
        let content = slack_morphism::prelude::SlackMessageContent::new().with_text(text);
        if let Err(e) = self.api.post(channel, thread, content).await {
            tracing::warn!(error = %e, "reply");
        }
    }
}
