//! One GitHub REST request, with every limit in one place: the request's
//! time bound, the answer's size bound, the primary rate limit
//! (`x-ratelimit-remaining` 0: nothing is sent until `x-ratelimit-reset`),
//! secondary limits (403/429 with `retry-after`, or a 403 that says so),
//! hoist's own pacing of content-creating requests (one at a time, through
//! [`Pacer`]), conditional GETs (a remembered `ETag` is sent back as
//! `If-None-Match`; a 304 answers with the remembered body and costs no
//! rate limit; the remembered answers are bounded in bytes, see
//! [`Etags`]), and the `Authorization` header from [`Auther`].
//!
//! A 401 is not taken as final: an App's installation token may have been
//! revoked or expired early, so it is dropped and a new one is asked for on
//! the next request, and the error is [`ForgeError::Api`], which the engine
//! asks again with backoff. A `GITHUB_TOKEN` that is really wrong keeps
//! failing that way (each attempt logged) instead of failing the operation
//! for good.
//!
//! Requests go through octocrab's raw calls (its client: hyper, rustls
//! with ring): octocrab's typed models would drop the headers the limits
//! are read from.

use super::app::Auther;
use super::pace::Pacer;
use crate::engine::one_line;
use crate::engine::ports::ForgeError;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest one request (sending, waiting, reading the answer) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read; a larger one is an error, not a truncated read.
pub const MAX_BODY: usize = 4 << 20;
/// How many `ETag`s are remembered at most.
const MAX_ETAGS: usize = 1024;
/// The bytes of remembered answers at most, all together (the cache is
/// emptied when one more would not fit).
const MAX_ETAG_BYTES: usize = 8 << 20;
/// A larger answer is not remembered (asked for in full each time).
const MAX_ETAG_BODY: usize = 256 << 10;
/// The wait when GitHub limits without saying how long (its guidance: a
/// minute at least).
const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// An answer: status, headers, body (at most [`MAX_BODY`]).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// From the `ETag` cache after a 304.
    pub cached: bool,
}

impl Reply {
    /// The body as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self, doing: &str) -> Result<T, ForgeError> {
        serde_json::from_slice(&self.body).map_err(|e| ForgeError::api(doing.to_string(), e))
    }

    /// GitHub's `message`, flattened and bounded (outside text).
    pub fn message(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Message {
            message: Option<String>,
        }
        serde_json::from_slice::<Message>(&self.body)
            .ok()
            .and_then(|m| m.message)
            .map(|m| one_line(&m, 200))
            .unwrap_or_default()
    }

    /// Success, or the error the status means: 404 missing, 403/422
    /// refused, anything else (a 401 too: see the module's words) an API
    /// failure worth asking again.
    pub fn ok(self, doing: &str) -> Result<Reply, ForgeError> {
        if self.status.is_success() {
            return Ok(self);
        }
        let said = format!(
            "{doing}: GitHub answered {} {}",
            self.status,
            self.message()
        );
        Err(match self.status.as_u16() {
            404 => ForgeError::Missing(doing.to_string()),
            403 | 422 => ForgeError::Refused(said),
            _ => ForgeError::api(doing.to_string(), said),
        })
    }
}

#[derive(Debug)]
struct Cached {
    etag: String,
    body: Vec<u8>,
}

/// The answers remembered for conditional GETs, by path: at most
/// [`MAX_ETAGS`] of them, at most [`MAX_ETAG_BYTES`] of bodies together,
/// none larger than [`MAX_ETAG_BODY`].
#[derive(Debug, Default)]
struct Etags {
    by_path: HashMap<String, Cached>,
    bytes: usize,
}

impl Etags {
    fn etag(&self, path: &str) -> Option<String> {
        self.by_path.get(path).map(|c| c.etag.clone())
    }

    fn body(&self, path: &str) -> Option<Vec<u8>> {
        self.by_path.get(path).map(|c| c.body.clone())
    }

    /// Remember `body` under `etag` for `path` (a too large body is not
    /// remembered, and forgets what `path` had).
    fn insert(&mut self, path: &str, etag: &str, body: &[u8]) {
        if let Some(old) = self.by_path.remove(path) {
            self.bytes -= old.body.len();
        }
        if body.len() > MAX_ETAG_BODY {
            return;
        }
        if self.by_path.len() >= MAX_ETAGS || self.bytes + body.len() > MAX_ETAG_BYTES {
            self.by_path.clear();
            self.bytes = 0;
        }
        self.bytes += body.len();
        self.by_path.insert(
            path.to_string(),
            Cached {
                etag: etag.to_string(),
                body: body.to_vec(),
            },
        );
    }

    /// Bodies remembered, in bytes.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.bytes
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_path.len()
    }
}

/// The connection to one GitHub API.
pub struct Api {
    crab: Octocrab,
    pub auth: Auther,
    pacer: Pacer,
    /// Who this is, in errors ("GitHub acme/config").
    pub name: String,
    etags: Mutex<Etags>,
    /// Nothing is sent before this (the primary limit is spent).
    blocked_until: Mutex<Option<SystemTime>>,
    /// At most one content-creating request in flight.
    content: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("name", &self.name).finish()
    }
}

/// Seconds in a header, as a wait.
fn header_secs(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn since_epoch(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

impl Api {
    pub fn new(crab: Octocrab, auth: Auther, pacer: Pacer, name: String) -> Api {
        Api {
            crab,
            auth,
            pacer,
            name,
            etags: Mutex::new(Etags::default()),
            blocked_until: Mutex::new(None),
            content: tokio::sync::Mutex::new(()),
        }
    }

    fn limited(&self, wait: Duration) -> ForgeError {
        ForgeError::RateLimited {
            forge: self.name.clone(),
            wait: wait.max(Duration::from_secs(1)),
        }
    }

    /// `method path` with an optional JSON body, authenticated, paced and
    /// bounded. Rate limits come back as [`ForgeError::RateLimited`]; any
    /// other status is the caller's to judge (see [`Reply::ok`]).
    pub async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        doing: &str,
    ) -> Result<Reply, ForgeError> {
        if let Some(until) = *self.blocked_until.lock().unwrap()
            && let Ok(wait) = until.duration_since(SystemTime::now())
        {
            return Err(self.limited(wait));
        }
        let authorization = self.auth.header(self).await?;
        let reply = if method == Method::GET {
            self.send(method, path, body, &authorization, doing).await
        } else {
            let _one_at_a_time = self.content.lock().await;
            self.pacer
                .admit()
                .await
                .map_err(|wait| self.limited(wait))?;
            let reply = self.send(method, path, body, &authorization, doing).await;
            self.pacer.done();
            reply
        };
        if let Ok(r) = &reply
            && r.status == StatusCode::UNAUTHORIZED
        {
            self.auth.forget().await;
        }
        reply
    }

    /// Send without pacing, with `authorization` as is (also how the App's
    /// token itself is asked for).
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        authorization: &str,
        doing: &str,
    ) -> Result<Reply, ForgeError> {
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| ForgeError::Api {
            doing: doing.to_string(),
            source: crate::engine::ports::Cause::new(e),
        };
        let etag = (method == Method::GET)
            .then(|| self.etags.lock().unwrap().etag(path))
            .flatten();
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header(http::header::USER_AGENT, "hoist");
        if !authorization.is_empty() {
            let mut value = http::HeaderValue::from_str(authorization)
                .map_err(|_| ForgeError::Refused("the GitHub credential is not a header".into()))?;
            value.set_sensitive(true);
            builder = builder.header(http::header::AUTHORIZATION, value);
        }
        if let Some(etag) = &etag {
            builder = builder.header(http::header::IF_NONE_MATCH, etag.as_str());
        }
        let request = self
            .crab
            .build_request(builder, body)
            .map_err(|e| failed(e.into()))?;
        let exchange = async {
            let response = self.crab.execute(request).await?;
            let (parts, body) = response.into_parts();
            let body = http_body_util::Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> {
                    format!("reading the answer (at most {MAX_BODY} bytes): {e}").into()
                })?
                .to_bytes()
                .to_vec();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((parts, body))
        };
        let (parts, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| failed(format!("no answer within {REQUEST_TIMEOUT:?}").into()))?
            .map_err(failed)?;
        let mut reply = Reply {
            status: parts.status,
            headers: parts.headers,
            body,
            cached: false,
        };
        self.note_limits(&reply)?;
        if reply.status == StatusCode::NOT_MODIFIED {
            let cached = self.etags.lock().unwrap().body(path);
            match cached {
                Some(body) => {
                    reply.status = StatusCode::OK;
                    reply.body = body;
                    reply.cached = true;
                }
                None => return Err(failed("304 for an answer never seen".into())),
            }
        } else if method == Method::GET && reply.status == StatusCode::OK {
            self.remember(path, &reply);
        }
        Ok(reply)
    }

    fn remember(&self, path: &str, reply: &Reply) {
        let Some(etag) = reply.headers.get(http::header::ETAG) else {
            return;
        };
        let Ok(etag) = etag.to_str() else { return };
        self.etags.lock().unwrap().insert(path, etag, &reply.body);
    }

    /// Read the rate-limit headers: a spent primary limit blocks further
    /// requests until its reset; a limited answer becomes `RateLimited`.
    fn note_limits(&self, reply: &Reply) -> Result<(), ForgeError> {
        let remaining = header_secs(&reply.headers, "x-ratelimit-remaining");
        let reset = header_secs(&reply.headers, "x-ratelimit-reset").map(since_epoch);
        let until_reset = || {
            reset
                .and_then(|r| r.duration_since(SystemTime::now()).ok())
                .unwrap_or(SECONDARY_WAIT)
        };
        if remaining == Some(0) {
            *self.blocked_until.lock().unwrap() = Some(SystemTime::now() + until_reset());
        }
        let status = reply.status.as_u16();
        if status != 403 && status != 429 {
            return Ok(());
        }
        let message = reply.message().to_ascii_lowercase();
        let wait = if let Some(secs) = header_secs(&reply.headers, "retry-after") {
            Duration::from_secs(secs)
        } else if remaining == Some(0) {
            until_reset()
        } else if status == 429 || message.contains("secondary rate limit") {
            SECONDARY_WAIT
        } else {
            return Ok(());
        };
        // GitHub's guidance: nothing more until the wait is over.
        let until = SystemTime::now() + wait;
        let mut blocked = self.blocked_until.lock().unwrap();
        *blocked = Some(blocked.map_or(until, |b| b.max(until)));
        Err(self.limited(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_answers_are_bounded_in_bytes_and_large_ones_are_not_kept() {
        let mut etags = Etags::default();
        let body = "x".repeat(MAX_ETAG_BODY);
        for i in 0..100 {
            etags.insert(&format!("/p/{i}"), "W/\"1\"", body.as_bytes());
            assert!(etags.bytes() <= MAX_ETAG_BYTES, "{}", etags.bytes());
        }
        assert!((1..=MAX_ETAG_BYTES / MAX_ETAG_BODY).contains(&etags.len()));
        etags.insert("/p/99", "W/\"2\"", "y".repeat(MAX_ETAG_BODY + 1).as_bytes());
        assert_eq!(etags.etag("/p/99"), None, "too large: forgotten, not kept");
        let before = etags.bytes();
        etags.insert("/small", "W/\"3\"", b"{}");
        etags.insert("/small", "W/\"4\"", b"{ }");
        assert_eq!(etags.bytes(), before + 3, "a path counted once");
        assert_eq!(etags.etag("/small").as_deref(), Some("W/\"4\""));
        for i in 0..MAX_ETAGS + 1 {
            etags.insert(&format!("/n/{i}"), "e", b"");
            assert!(etags.len() <= MAX_ETAGS);
        }
    }
}
