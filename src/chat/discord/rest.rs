//! REST calls to Discord: serenity's routes and requests, sent here (so
//! the answer's rate-limit headers are seen) and paced by hoist's own
//! rate limiting ([`super::pace`]; serenity's ratelimiter is off), each
//! bounded in time and in the size of its answer, and their errors as hoist
//! reports them: Discord's status, error code and message, flattened and
//! bounded.

use super::pace::{Key, WAIT_MAX};
use super::{Discord, SetupError};
use crate::engine::one_line;
use serde_json::Value;
use serenity::http::{LightMethod, Route};
use std::time::Duration;
use tokio::time::Instant;

/// Why a Discord call did not succeed (after the rate-limit waits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Discord answered with an error: its HTTP status, its JSON error code
    /// (`-1` when the body was not Discord's error shape) and its message,
    /// flattened and bounded.
    #[error("Discord said {status} (code {code}): {message}")]
    Discord {
        status: u16,
        code: i64,
        message: String,
    },
    /// The request did not get an answer (connection, timeout, a body too
    /// large or not JSON).
    #[error("Discord could not be reached: {0}")]
    Transport(String),
    /// A value that is not a Discord id was not sent anywhere.
    #[error("not a Discord id: {0}")]
    NotAnId(String),
    /// A webhook call before hoist knows its application id.
    #[error("hoist's Discord application id is not known yet")]
    NoApplication,
    /// Discord's rate limit asked for a wait longer than hoist waits (at
    /// once, or within the call's time): the call was not made.
    #[error(
        "Discord's {} rate limit asks to wait {wait_ms} ms; hoist waits at most {}s at once and {}s per call",
        if *global { "global" } else { "route's" },
        WAIT_MAX.as_secs(),
        CALL_TIME.as_secs()
    )]
    RateLimited { global: bool, wait_ms: u64 },
}

impl CallError {
    /// Discord's JSON error code, when Discord answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            CallError::Discord { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The HTTP status, when Discord answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Discord { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn not_an_id(value: &str) -> CallError {
        CallError::NotAnId(one_line(value, ERROR_TEXT_MAX))
    }
}

/// At most this many characters of Discord's words in an error.
pub const ERROR_TEXT_MAX: usize = 200;
/// At most this long for one REST call, rate-limit waits included.
pub const CALL_TIME: Duration = Duration::from_secs(60);
/// At most this many bytes of one REST answer.
pub const ANSWER_MAX: usize = 1024 * 1024;
/// How often a call answered 429 is tried again (each after the wait
/// Discord asked for, see [`super::pace`]).
pub const RETRIES_429: u32 = 3;

/// One answer: its status, headers and body.
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Discord {
    /// One REST call: `body` as JSON, the answer as JSON (`null` when
    /// empty), paced by Discord's rate limits ([`super::pace`]), bounded in
    /// time (rate-limit waits included) and size.
    pub(crate) async fn call(
        &self,
        route: Route<'_>,
        method: LightMethod,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        let deadline = Instant::now() + CALL_TIME;
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let key = Key::of(method.reqwest_method().as_str(), &route.path());
        let pace = &self.inner.pace;
        let mut limited = 0;
        loop {
            pace.ready(&key, deadline).await?;
            let answer = self.send(route, method, bytes.clone(), deadline).await?;
            let asked = pace.learn(&key, answer.status, &answer.headers, &answer.body);
            if let Some(wait) = asked {
                tracing::debug!(route = key.route(), ?wait, "discord: a 429");
                if limited < RETRIES_429 {
                    limited += 1;
                    continue;
                }
            }
            return answer.value();
        }
    }

    /// The request for `route`, built here rather than by serenity's
    /// `Request::build`, whose tracing span (at INFO) records the route,
    /// and a webhook's route holds an interaction token. The token headers
    /// are marked sensitive.
    fn request(
        &self,
        route: Route<'_>,
        method: LightMethod,
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::RequestBuilder, CallError> {
        use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
        let http = &self.inner.http;
        let mut url = route.path().into_owned();
        if let Some(proxy) = http.proxy.as_deref() {
            url = url.replace("https://discord.com", proxy.trim_end_matches('/'));
        }
        let url = reqwest::Url::parse(&url)
            .map_err(|_| CallError::Transport("a route that is not a URL".into()))?;
        let mut token = http::HeaderValue::from_str(http.token())
            .map_err(|_| CallError::Transport("a token that is not a header".into()))?;
        token.set_sensitive(true);
        let builder = self
            .inner
            .client
            .request(method.reqwest_method(), url)
            .header(USER_AGENT, serenity::constants::USER_AGENT)
            .header(AUTHORIZATION, token);
        Ok(match body {
            Some(bytes) => builder.header(CONTENT_TYPE, "application/json").body(bytes),
            None => builder.header(CONTENT_LENGTH, 0),
        })
    }

    /// `route` called as it is (no ratelimiter: [`super::pace`] paces), its
    /// answer read up to [`ANSWER_MAX`] bytes, all before `deadline`.
    async fn send(
        &self,
        route: Route<'_>,
        method: LightMethod,
        body: Option<Vec<u8>>,
        deadline: Instant,
    ) -> Result<Answer, CallError> {
        let built = self.request(route, method, body)?;
        let exchange = async {
            let mut response = built.send().await.map_err(unanswered)?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(unanswered)? {
                if body.len() + chunk.len() > ANSWER_MAX {
                    return Err(CallError::Transport(format!(
                        "an answer over {ANSWER_MAX} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Answer {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout_at(deadline, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(CallError::Transport(format!(
                    "no answer in {}s",
                    CALL_TIME.as_secs()
                )))
            })
    }
}

impl Answer {
    /// A success's JSON (`null` when empty), or Discord's error.
    fn value(self) -> Result<Value, CallError> {
        let blank = self.body.iter().all(u8::is_ascii_whitespace);
        if (200..300).contains(&self.status) {
            if blank {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&self.body).map_err(|e| transport(&e));
        }
        let error: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        let message = match error["message"].as_str() {
            Some(m) => m.to_string(),
            None if blank => String::new(),
            None => format!(
                "not Discord's error: {}",
                String::from_utf8_lossy(&self.body)
            ),
        };
        Err(CallError::Discord {
            status: self.status,
            code: error["code"].as_i64().unwrap_or(-1),
            message: one_line(&message, ERROR_TEXT_MAX),
        })
    }
}

fn transport(e: &dyn std::fmt::Display) -> CallError {
    CallError::Transport(one_line(&e.to_string(), ERROR_TEXT_MAX))
}

/// A request that got no answer, said without its URL: a webhook's URL
/// holds an interaction token, which never reaches an error or a log.
fn unanswered(e: reqwest::Error) -> CallError {
    transport(&e.without_url())
}

/// The base URL serenity's proxy setting takes: `http(s)://host[:port]`.
pub(super) fn api_base(url: &str) -> Result<String, SetupError> {
    let bad = || SetupError::ApiUrl(one_line(url, ERROR_TEXT_MAX));
    let base = url.trim().trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
        .ok_or_else(bad)?;
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if rest.is_empty() || !rest.chars().all(ok) {
        return Err(bad());
    }
    Ok(base.to_string())
}
