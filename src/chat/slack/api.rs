//! The Slack Web API as hoist uses it, over slack-morphism's hyper client:
//! post, edit, delete and ephemeral messages, `auth.test`, and user-group
//! members (cached with a TTL). An answer of 429 is retried after its
//! `Retry-After` (a few times, then given up with a warning: chat is where
//! progress is shown, never a reason to fail an operation); posts are paced
//! per channel before they get here (`crate::chat::outbox`). A user group's
//! members are kept for `HOIST_SLACK_GROUP_TTL`; when a lookup fails, the
//! last answer is used for at most one more TTL, then nobody counts as a
//! member (fail closed), each counted in
//! `hoist_slack_api_calls_total{method="usergroups.users.list"}` as outcome
//! `stale` or `failed_closed`.

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyper_util::client::legacy::connect::HttpConnector;

/// The connector type of hoist's Slack client.
pub type Connector = SlackClientHyperConnector<hyper_rustls::HttpsConnector<HttpConnector>>;

/// How many times a rate-limited call is tried in all.
const ATTEMPTS: u32 = 5;

/// Who the bot is, from `auth.test`.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The bot's own user id (to strip `<@U..>` mentions and skip its own messages).
    pub user_id: String,
    /// `https://acme.slack.com/`, the base of permalinks.
    pub team_url: String,
}

/// The Web API client with hoist's pacing and retries.
pub struct Api {
    client: std::sync::Arc<SlackClient<Connector>>,
    token: SlackApiToken,
    groups: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    group_ttl: Duration,
    /// Calls by (method, outcome), for `/metrics`.
    pub calls: crate::metrics::Counters<(&'static str, &'static str)>,
    /// Milliseconds spent waiting on Slack's rate limits (Retry-After), for
    /// `/metrics`.
    pub waited_ms: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A call that did not succeed after its retries.
#[derive(Debug, thiserror::Error)]
#[error("slack {method}: {message}")]
pub struct CallError {
    pub method: &'static str,
    pub message: String,
}

/// Slack could not be set up: what was being done, and why.
#[derive(Debug, thiserror::Error)]
#[error("Slack: {doing}")]
pub struct SetupError {
    doing: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl SetupError {
    pub fn new(
        doing: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> SetupError {
        SetupError {
            doing: doing.into(),
            source: source.into(),
        }
    }
}

impl Api {
    /// A client of `base_url` (`https://slack.com/api`, or a fake's
    /// `http://127.0.0.1:PORT/api`) with the bot token.
    pub fn new(base_url: &str, bot_token: &str, group_ttl: Duration) -> Result<Api, SetupError> {
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let https = if base_url.starts_with("http://") {
            // Loopback fakes and self-hosted proxies: no certificates needed.
            let config =
                rustls_config_without_roots().map_err(|e| SetupError::new("configuring TLS", e))?;
            builder.with_tls_config(config).https_or_http()
        } else {
            builder
                .with_native_roots()
                .map_err(|e| SetupError::new("loading the system's root certificates", e))?
                .https_only()
        };
        let connector = SlackClientHyperConnector::with_connector(https.enable_http1().build())
            .with_slack_api_url(base_url.trim_end_matches('/'));
        Ok(Api {
            client: std::sync::Arc::new(SlackClient::new(connector)),
            token: SlackApiToken::new(bot_token.to_string().into()),
            groups: Mutex::new(HashMap::new()),
            group_ttl,
            calls: Default::default(),
            waited_ms: Default::default(),
        })
    }

    /// Run `call` until it is not rate limited (at most [`ATTEMPTS`] times).
    async fn retrying<T, F, Fut>(&self, method: &'static str, call: F) -> Result<T, CallError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ClientResult<T>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(v) => {
                    self.calls.inc((method, "ok"));
                    return Ok(v);
                }
                Err(SlackClientError::RateLimitError(e)) if attempt < ATTEMPTS => {
                    self.calls.inc((method, "rate_limited"));
                    let wait = e.retry_after.unwrap_or(Duration::from_secs(1));
                    tracing::info!(method, ?wait, "slack rate limit; waiting as asked");
                    self.waited(wait);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => {
                    self.calls.inc((method, "error"));
                    return Err(CallError {
                        method,
                        message: e.to_string(),
                    });
                }
            }
        }
    }

    /// `auth.test`: the bot's user id and the workspace URL.
    pub async fn identity(&self) -> Result<Identity, CallError> {
        let r = self
            .retrying("auth.test", || async {
                self.client.open_session(&self.token).auth_test().await
            })
            .await?;
        Ok(Identity {
            user_id: r.user_id.to_string(),
            team_url: r.url.0.to_string(),
        })
    }

    fn waited(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.waited_ms
            .fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Post a message (in a thread when `thread_ts` is set); returns its ts.
    pub async fn post(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        content: SlackMessageContent,
    ) -> Result<String, CallError> {
        let mut req = SlackApiChatPostMessageRequest::new(channel.into(), content);
        req.thread_ts = thread_ts.map(Into::into);
        let r = self
            .retrying("chat.postMessage", || async {
                self.client
                    .open_session(&self.token)
                    .chat_post_message(&req)
                    .await
            })
            .await?;
        Ok(r.ts.to_string())
    }

    /// Edit a message in place.
    pub async fn update(
        &self,
        channel: &str,
        ts: &str,
        content: SlackMessageContent,
    ) -> Result<(), CallError> {
        let req = SlackApiChatUpdateRequest::new(channel.into(), content, ts.into());
        self.retrying("chat.update", || async {
            self.client
                .open_session(&self.token)
                .chat_update(&req)
                .await
        })
        .await
        .map(drop)
    }

    /// A message only `user` sees (refusals, confirmations).
    pub async fn ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread_ts: Option<&str>,
        text: &str,
    ) -> Result<(), CallError> {
        let mut req = SlackApiChatPostEphemeralRequest::new(
            channel.into(),
            user.into(),
            SlackMessageContent::new().with_text(text.to_string()),
        );
        req.thread_ts = thread_ts.map(Into::into);
        self.retrying("chat.postEphemeral", || async {
            self.client
                .open_session(&self.token)
                .chat_post_ephemeral(&req)
                .await
        })
        .await
        .map(drop)
    }

    /// Delete one of the bot's own messages.
    pub async fn delete(&self, channel: &str, ts: &str) -> Result<(), CallError> {
        let req = SlackApiChatDeleteRequest::new(channel.into(), ts.into());
        self.retrying("chat.delete", || async {
            self.client
                .open_session(&self.token)
                .chat_delete(&req)
                .await
        })
        .await
        .map(drop)
    }

    /// The members of a user group (`S0123`), cached for the TTL. A lookup
    /// that fails keeps the last answer for at most one more TTL, then
    /// counts nobody: a group that cannot be read grants nothing.
    pub async fn group_members(&self, group: &str) -> Vec<String> {
        if let Some((at, users)) = self.cached(group)
            && at.elapsed() < self.group_ttl
        {
            return users;
        }
        let req = SlackApiUserGroupsUsersListRequest::new(group.to_string().into());
        let fetched = self
            .retrying("usergroups.users.list", || async {
                self.client
                    .open_session(&self.token)
                    .usergroups_users_list(&req)
                    .await
            })
            .await;
        match fetched {
            Ok(r) => {
                let users: Vec<String> = r.users.iter().map(ToString::to_string).collect();
                let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
                groups.insert(group.to_string(), (Instant::now(), users.clone()));
                users
            }
            Err(e) => match stale(self.cached(group), self.group_ttl) {
                Some(users) => {
                    self.calls.inc(("usergroups.users.list", "stale"));
                    tracing::warn!(error = %e, group, "resolving a user group; \
                        using the last answer, at most one TTL past its expiry");
                    users
                }
                None => {
                    self.calls.inc(("usergroups.users.list", "failed_closed"));
                    tracing::warn!(error = %e, group, "resolving a user group; \
                        no recent answer, so nobody counts as its member");
                    Vec::new()
                }
            },
        }
    }

    fn cached(&self, group: &str) -> Option<(Instant, Vec<String>)> {
        let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        groups.get(group).cloned()
    }

    /// The slack-morphism client (Socket Mode opens its connections with it).
    pub fn client(&self) -> std::sync::Arc<SlackClient<Connector>> {
        self.client.clone()
    }
}

/// What a failed group lookup may still use: the last answer (fetched at
/// `at`) while it is less than two TTLs old, i.e. at most one TTL expired.
fn stale(last: Option<(Instant, Vec<String>)>, ttl: Duration) -> Option<Vec<String>> {
    let (at, users) = last?;
    (at.elapsed() < ttl.saturating_mul(2)).then_some(users)
}

/// A TLS configuration that trusts nothing, for plain-HTTP base URLs (the
/// connector still needs one; it is never used for `http://`).
fn rustls_config_without_roots() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(ago: Duration) -> Option<(Instant, Vec<String>)> {
        let at = Instant::now().checked_sub(ago)?;
        Some((at, vec!["U1".to_string()]))
    }

    #[test]
    fn a_failed_lookup_keeps_the_last_answer_for_one_more_ttl_then_counts_nobody() {
        let ttl = Duration::from_secs(60);
        let Some(last) = answered(Duration::from_secs(90)) else {
            return; // the machine has been up for less than 90 s
        };
        assert_eq!(stale(Some(last), ttl), Some(vec!["U1".to_string()]));
        let Some(last) = answered(Duration::from_secs(121)) else {
            return;
        };
        assert_eq!(stale(Some(last), ttl), None, "two TTLs old: fail closed");
        assert_eq!(stale(None, ttl), None, "never answered: nobody");
        let now = answered(Duration::ZERO);
        assert_eq!(stale(now, Duration::ZERO), None, "no TTL: no grace");
    }
}
