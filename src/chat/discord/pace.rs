//! hoist's own pacing of Discord's REST rate limits, used for every call
//! (serenity's ratelimiter is off: it would send to discord.com whatever
//! the proxy, so tests could never reach it, and its errors drop the
//! headers a 429 is read from). It follows Discord's documented rules:
//!
//! - a route is its method and path with its major parameters (channel id,
//!   guild id, webhook id and token) kept and other ids blanked ([`Key`]);
//!   Discord names the route's bucket (`X-RateLimit-Bucket`), and a bucket
//!   counts per major parameter;
//! - `X-RateLimit-Remaining` and `X-RateLimit-Reset-After` say how many
//!   calls are left until when: a call on a bucket with none left waits for
//!   the reset (calls going out are counted here too, so concurrent ones do
//!   not all take the last one);
//! - a 429's `retry_after` (JSON, seconds) is waited before that route is
//!   called again; a global one (`X-RateLimit-Global`, `"global": true`,
//!   scope `global`) pauses every route; scope `shared` is taken like
//!   `user`.
//!
//! Every wait is bounded ([`WAIT_MAX`], and the call's own deadline): a
//! longer one is refused with [`CallError::RateLimited`] instead of hoist
//! sleeping for ever. The tables are bounded ([`ROUTES_MAX`], the oldest
//! forgotten first).

use super::CallError;
use super::places::{Bounded, lock};
use http::HeaderMap;
use serde_json::Value;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// At most this long for one wait.
pub const WAIT_MAX: Duration = Duration::from_secs(60);
/// At most this many routes, and this many buckets, are remembered.
pub const ROUTES_MAX: usize = 1_000;
/// A wait Discord asks for is remembered for at most this long (a longer
/// one is refused anyway; this keeps the arithmetic finite).
const REMEMBER_MAX: Duration = Duration::from_secs(3_600);
/// A bucket's name from Discord is used only if this short and printable.
const BUCKET_NAME_MAX: usize = 64;

/// A route as Discord limits it: `method /path` with its major parameters
/// shown as `{major}` and other ids as `{id}`, and the major parameters'
/// values on their own.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    route: String,
    major: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A webhook's major parameter is an interaction token: not shown.
        f.write_str(&self.route)
    }
}

impl Key {
    /// The route of `method` on `url` (serenity's `Route::path()`, under
    /// `/api/v10`).
    pub fn of(method: &str, url: &str) -> Key {
        let path = url.split_once("/api/v10/").map_or(url, |(_, p)| p);
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let first = parts.first().copied().unwrap_or_default();
        let mut route = Vec::with_capacity(parts.len());
        let mut major = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let is_major = match first {
                "channels" | "guilds" => i == 1,
                "webhooks" => i == 1 || i == 2,
                _ => false,
            };
            let after = i.checked_sub(1).map(|j| parts[j]);
            if is_major {
                route.push("{major}");
                major.push(*part);
            } else if part.bytes().all(|b| b.is_ascii_digit()) {
                route.push("{id}");
            } else if after == Some("reactions") {
                route.push("{emoji}");
            } else if first == "interactions" && i == 2 {
                route.push("{token}");
            } else {
                route.push(part);
            }
        }
        Key {
            route: format!("{method} /{}", route.join("/")),
            major: major.join("/"),
        }
    }

    /// The route with its major parameters blanked, e.g.
    /// `PATCH /channels/{major}/messages/{id}`.
    pub fn route(&self) -> &str {
        &self.route
    }
}

/// What is known of one bucket (for one major parameter).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    remaining: u64,
    reset: Instant,
}

#[derive(Debug)]
struct State {
    /// Route -> Discord's name of its bucket.
    names: Bounded<String, String>,
    /// Bucket (its name, else its route; and the major parameters) -> what
    /// is left of it.
    buckets: Bounded<String, Bucket>,
    /// Every route waits until then.
    global: Option<Instant>,
}

/// Discord's rate limits as hoist learned them.
#[derive(Debug)]
pub struct Pace {
    state: Mutex<State>,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace::new(ROUTES_MAX)
    }
}

impl Pace {
    /// At most `cap` routes and `cap` buckets remembered.
    pub fn new(cap: usize) -> Pace {
        Pace {
            state: Mutex::new(State {
                names: Bounded::new(cap),
                buckets: Bounded::new(cap),
                global: None,
            }),
        }
    }

    /// Waits until a call on `key` may go out, and counts it. A wait over
    /// [`WAIT_MAX`] or past `deadline` is refused.
    pub async fn ready(&self, key: &Key, deadline: Instant) -> Result<(), CallError> {
        loop {
            let (until, global) = {
                let mut st = lock(&self.state);
                let now = Instant::now();
                let id = bucket_id(&st, key);
                let global = st.global.filter(|g| *g > now);
                let bucket = st.buckets.get(&id).copied().filter(|b| b.reset > now);
                let emptied = bucket.filter(|b| b.remaining == 0).map(|b| b.reset);
                match (global, emptied) {
                    (None, None) => {
                        if let Some(b) = bucket {
                            let left = Bucket {
                                remaining: b.remaining - 1,
                                ..b
                            };
                            st.buckets.insert(id, left);
                        }
                        return Ok(());
                    }
                    (Some(g), e) if e.is_none_or(|e| g >= e) => (g, true),
                    (_, e) => (e.unwrap_or(now), false),
                }
            };
            let wait = until.saturating_duration_since(Instant::now());
            if wait > WAIT_MAX || until > deadline {
                return Err(CallError::RateLimited {
                    global,
                    wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                });
            }
            tracing::debug!(route = %key.route, ?wait, global, "discord: waiting out a rate limit");
            tokio::time::sleep_until(until).await;
        }
    }

    /// What an answer on `key` told (`status`, its headers and body); for a
    /// 429, how long Discord asked to wait.
    pub fn learn(
        &self,
        key: &Key,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Duration> {
        let now = Instant::now();
        let mut st = lock(&self.state);
        let name = header(headers, "x-ratelimit-bucket").filter(|n| name_ok(n));
        if let Some(name) = name
            && st.names.get(&key.route).map(String::as_str) != Some(name)
        {
            st.names.insert(key.route.clone(), name.to_string());
        }
        let id = bucket_id(&st, key);
        let remaining = header(headers, "x-ratelimit-remaining").and_then(|r| r.parse().ok());
        let reset_after = header(headers, "x-ratelimit-reset-after").and_then(seconds);
        if let (Some(remaining), Some(after)) = (remaining, reset_after) {
            let reset = now + after;
            st.buckets.insert(id.clone(), Bucket { remaining, reset });
        }
        if status != 429 {
            return None;
        }
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let wait = json["retry_after"]
            .as_f64()
            .and_then(bounded)
            .or_else(|| header(headers, "retry-after").and_then(seconds))
            .or(reset_after)
            .unwrap_or(Duration::from_secs(1));
        let global = json["global"] == Value::Bool(true)
            || header(headers, "x-ratelimit-global")
                .is_some_and(|g| g.eq_ignore_ascii_case("true"))
            || header(headers, "x-ratelimit-scope") == Some("global");
        let until = now + wait;
        if global {
            st.global = Some(st.global.map_or(until, |g| g.max(until)));
        } else {
            // Scopes `user` and `shared` alike: this bucket waits.
            let remaining = 0;
            st.buckets.insert(
                id,
                Bucket {
                    remaining,
                    reset: until,
                },
            );
        }
        Some(wait)
    }

    /// How many buckets are remembered.
    pub fn buckets(&self) -> usize {
        lock(&self.state).buckets.len()
    }
}

/// The bucket `key` counts against: Discord's name for its route when
/// known, else the route; per major parameter.
fn bucket_id(st: &State, key: &Key) -> String {
    let name = st.names.get(&key.route).unwrap_or(&key.route);
    format!("{name} {}", key.major)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn name_ok(name: &str) -> bool {
    !name.is_empty() && name.len() <= BUCKET_NAME_MAX && name.bytes().all(|b| b.is_ascii_graphic())
}

/// Seconds as Discord writes them (`0.3`, `1`), bounded; not a number of
/// seconds (negative, NaN, infinite, words) is `None`.
fn seconds(text: &str) -> Option<Duration> {
    bounded(text.trim().parse().ok()?)
}

fn bounded(s: f64) -> Option<Duration> {
    if !s.is_finite() || s < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(s.min(REMEMBER_MAX.as_secs_f64())))
}
