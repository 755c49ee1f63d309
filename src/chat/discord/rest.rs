//! REST calls to Discord through serenity's [`Http`] (its ratelimiter, or
//! with `DISCORD_API_URL` a retry of 429s here), each bounded in time and in
//! the size of its answer, and their errors as hoist reports them: Discord's
//! status, error code and message, flattened and bounded.

use super::{Discord, SetupError};
use crate::engine::one_line;
use serde_json::Value;
use serenity::http::{LightMethod, Request, Route};
use std::time::Duration;

/// Why a Discord call did not succeed (after serenity's rate-limit waits).
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

    pub(crate) fn from_serenity(e: serenity::Error) -> CallError {
        use serenity::http::HttpError;
        match e {
            serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => CallError::Discord {
                status: r.status_code.as_u16(),
                code: i64::try_from(r.error.code).unwrap_or(-1),
                message: one_line(&r.error.message, ERROR_TEXT_MAX),
            },
            serenity::Error::Http(HttpError::ApplicationIdMissing) => CallError::NoApplication,
            other => CallError::Transport(one_line(&other.to_string(), ERROR_TEXT_MAX)),
        }
    }
}

/// At most this many characters of Discord's words in an error.
pub const ERROR_TEXT_MAX: usize = 200;
/// At most this long for one REST call, rate-limit waits included.
pub const CALL_TIME: Duration = Duration::from_secs(60);
/// At most this many bytes of one REST answer.
pub const ANSWER_MAX: usize = 1024 * 1024;
/// With `DISCORD_API_URL` (no ratelimiter, see [`Discord::new`]): how often
/// a 429 is tried again, after 1 s, then 2 s.
const RETRIES_429: u32 = 2;

impl Discord {
    /// One REST call: `body` as JSON, the answer as JSON (`null` when
    /// empty), bounded in time and size.
    pub(crate) async fn call(
        &self,
        route: Route<'_>,
        method: LightMethod,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let mut attempt = 0;
        loop {
            let request = Request::new(route, method).body(bytes.clone());
            let answer = tokio::time::timeout(CALL_TIME, self.once(request)).await;
            let result = answer.unwrap_or_else(|_| {
                Err(CallError::Transport(format!(
                    "no answer in {}s",
                    CALL_TIME.as_secs()
                )))
            });
            match result {
                Err(e)
                    if self.inner.proxied && e.status() == Some(429) && attempt < RETRIES_429 =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(1 << (attempt - 1))).await;
                }
                other => return other,
            }
        }
    }

    async fn once(&self, request: Request<'_>) -> Result<Value, CallError> {
        let transport = |e: &dyn std::fmt::Display| {
            CallError::Transport(one_line(&e.to_string(), ERROR_TEXT_MAX))
        };
        let mut response = self
            .inner
            .http
            .request(request)
            .await
            .map_err(CallError::from_serenity)?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
            if body.len() + chunk.len() > ANSWER_MAX {
                return Err(CallError::Transport(format!(
                    "an answer over {ANSWER_MAX} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| transport(&e))
    }
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
