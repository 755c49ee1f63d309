//! `POST /discord/interactions`: Discord's HTTP interactions (the `/hoist`
//! command, its autocomplete, the Approve and Deny buttons, and the PING
//! Discord sends to check the endpoint).
//!
//! In order: the `X-Signature-Ed25519` header must be Discord's Ed25519
//! signature of `X-Signature-Timestamp` + the raw body under the
//! application's public key (`DISCORD_PUBLIC_KEY`), checked with serenity's
//! verifier before anything reads the body, and the timestamp must be within
//! [`SKEW`] of now (a signed body replayed later is refused); else 401,
//! counted, nothing else done (Discord sends bad signatures on purpose to
//! check this). Then a PING is answered PONG; anything else goes to the
//! [`Handler`] (the Discord adapter, wired in `src/cli`), which says what to
//! answer at once (Discord's deadline is 3 s) and what work follows on the
//! shared work runtime. When that runtime is full the answer is the
//! handler's "busy" one. Without a public key the route is 404.

use super::AppState;
use crate::chat::Work;
use crate::engine::ports::Clock;
use crate::metrics::{Counters, family};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Interactions are a few KiB (a command's options, a button's message).
pub const DISCORD_BODY_LIMIT: usize = 64 * 1024;

/// How far a signed timestamp may be from now, either way.
pub const SKEW: i64 = 5 * 60;

pub use crate::chat::discord::interactions::{Answer, Job, Key};

/// What a verified interaction (not a PING) becomes. Called on the
/// server's threads: it must answer at once and put the rest in the job.
pub trait Handler: Send + Sync {
    fn answer(&self, body: &[u8]) -> Answer;
}

/// Why an interaction was refused (401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    Missing,
    Malformed,
    /// The timestamp is more than [`SKEW`] from now.
    Stale,
    Mismatch,
}

impl Reject {
    fn label(self) -> &'static str {
        match self {
            Reject::Missing => "missing_signature",
            Reject::Malformed => "malformed_signature",
            Reject::Stale => "stale_timestamp",
            Reject::Mismatch => "bad_signature",
        }
    }
}

/// The endpoint: the key, the clock, the handler and the work runtime.
pub struct Interactions {
    key: Key,
    clock: Arc<dyn Clock>,
    handler: Arc<dyn Handler>,
    work: Work,
    /// Refused before reading, by reason.
    rejected: Counters<&'static str>,
    /// Answered, by interaction type (`ping`, `other`) and outcome.
    answered: Counters<(&'static str, &'static str)>,
}

impl std::fmt::Debug for Interactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interactions").finish_non_exhaustive()
    }
}

impl Interactions {
    /// `public_key`: the application's, checked by settings already;
    /// `None` when it is not a key.
    pub fn new(
        public_key: [u8; 32],
        clock: Arc<dyn Clock>,
        handler: Arc<dyn Handler>,
        work: Work,
    ) -> Option<Interactions> {
        Some(Interactions {
            key: Key::new(public_key)?,
            clock,
            handler,
            work,
            rejected: Counters::default(),
            answered: Counters::default(),
        })
    }

    /// Accept `body` iff `signature` signs `timestamp` + `body` and the
    /// timestamp is recent.
    pub fn verify(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
    ) -> Result<(), Reject> {
        let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
            return Err(Reject::Missing);
        };
        let hex = |s: &str| s.len() == 128 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let digits =
            (1..=12).contains(&timestamp.len()) && timestamp.bytes().all(|b| b.is_ascii_digit());
        if !hex(signature) || !digits {
            return Err(Reject::Malformed);
        }
        // The signature first: an unsigned timestamp tells nothing.
        if !self.key.verify(signature, timestamp, body) {
            return Err(Reject::Mismatch);
        }
        let at: i64 = timestamp.parse().map_err(|_| Reject::Malformed)?;
        if (self.clock.now() - at).abs() > SKEW {
            return Err(Reject::Stale);
        }
        Ok(())
    }

    /// `hoist_discord_interactions_*` for `/metrics`.
    pub fn render(&self, out: &mut String) {
        family(
            out,
            "hoist_discord_interactions_total",
            "Verified Discord interactions by kind and outcome.",
            self.answered
                .snapshot()
                .into_iter()
                .map(|((k, o), n)| (format!("kind=\"{k}\",outcome=\"{o}\""), n)),
        );
        family(
            out,
            "hoist_discord_rejected_total",
            "Discord interactions refused before reading them (401), by reason.",
            self.rejected
                .snapshot()
                .into_iter()
                .map(|(r, n)| (format!("reason=\"{r}\""), n)),
        );
    }
}

/// Only the type, read before the handler reads the rest.
#[derive(serde::Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: u8,
}

/// The handler of `POST /discord/interactions`.
pub async fn interactions(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    const AT: &str = "/discord/interactions";
    let answer = |status: StatusCode, text: &str| {
        s.metrics.count(AT, status);
        (status, format!("{text}\n")).into_response()
    };
    let Some(endpoint) = s.discord.clone() else {
        return answer(
            StatusCode::NOT_FOUND,
            "Discord interactions need DISCORD_PUBLIC_KEY and DISCORD_TOKEN",
        );
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verified = endpoint.verify(
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
        &body,
    );
    if let Err(why) = verified {
        endpoint.rejected.inc(why.label());
        // Debug only: anyone can send these, and the counter above keeps them.
        tracing::debug!(
            endpoint = AT,
            reason = why.label(),
            "rejected a Discord interaction"
        );
        return answer(StatusCode::UNAUTHORIZED, "invalid request signature");
    }
    let json = |v: serde_json::Value| {
        s.metrics.count(AT, StatusCode::OK);
        axum::Json(v).into_response()
    };
    match serde_json::from_slice::<Kind>(&body) {
        Ok(Kind { kind: 1 }) => {
            endpoint.answered.inc(("ping", "pong"));
            return json(serde_json::json!({"type": 1}));
        }
        Ok(_) => {}
        Err(e) => {
            endpoint.answered.inc(("other", "bad"));
            return answer(
                StatusCode::BAD_REQUEST,
                &format!(
                    "not an interaction: {}",
                    crate::engine::one_line(&e.to_string(), 200)
                ),
            );
        }
    }
    if s.stopping.load(Ordering::Acquire) {
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "hoist is shutting down and did nothing; try again in a minute",
        );
    }
    match endpoint.handler.answer(&body) {
        Answer::Now(v) => {
            endpoint.answered.inc(("other", "answered"));
            json(v)
        }
        Answer::Then { ack, busy, work } => {
            if endpoint.work.try_run(super::counted(&s.jobs, work)) {
                endpoint.answered.inc(("other", "acknowledged"));
                json(ack)
            } else {
                endpoint.answered.inc(("other", "busy"));
                s.metrics.busy.inc(AT);
                json(busy)
            }
        }
        Answer::Bad(why) => {
            endpoint.answered.inc(("other", "bad"));
            answer(StatusCode::BAD_REQUEST, &why)
        }
    }
}

#[cfg(test)]
#[path = "discord/tests.rs"]
mod tests;
