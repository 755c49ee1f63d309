//! `POST /github/webhook`: GitHub telling hoist that a pull request or a
//! commit's checks changed, so the operation waiting on it is looked at now
//! instead of at its next poll. A delivery is worth nothing but a wake-up:
//! the forge adapter then asks GitHub itself, so a forged or stale payload
//! can never move an operation.
//!
//! In order: the `X-Hub-Signature-256` header must be `sha256=` +
//! hex(HMAC-SHA256(`GITHUB_WEBHOOK_SECRET`, raw body)), compared in constant
//! time, before anything else reads the body (else 401, counted, nothing
//! else done); the delivery id (`X-GitHub-Delivery`) is remembered in the
//! journal (`github:delivery:<id>`), so a redelivery is answered 200 and
//! not acted on twice; the event (`X-GitHub-Event`) is decoded
//! ([`decode`]): `ping` is answered, `pull_request` and
//! `pull_request_review` wake the PR by number, `check_run`, `check_suite`
//! and `status` wake by head sha, anything else is answered 200 and
//! ignored. A delivery about another repository (an organisation-wide hook)
//! is ignored too. Without a secret the route is 404: hoist polls instead.
//!
//! What a wake-up does is behind [`Hooks`] (the GitHub adapter, wired in
//! `src/cli`), so no forge SDK type reaches the server.

pub mod decode;

use super::AppState;
use crate::engine::ports::{Clock, Journal};
use crate::metrics::{Counters, family};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use decode::Wake;
use hmac::{Hmac, KeyInit, Mac};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The largest delivery taken. GitHub caps payloads at 25 MB, but the
/// events hoist subscribes to are tens of KiB (a `pull_request` payload
/// with its repository is about 30 KiB).
pub const GITHUB_BODY_LIMIT: usize = 1024 * 1024;

/// The longest delivery id kept (GitHub's are GUIDs, 36 characters).
const DELIVERY_ID_MAX: usize = 64;

/// What a verified delivery wakes. Called on the server's threads: both
/// must return at once (queue a wake, never call GitHub).
pub trait Hooks: Send + Sync {
    /// Pull request `number` may have changed.
    fn pull_request(&self, number: u64);
    /// The checks or statuses of commit `sha` may have changed.
    fn head(&self, sha: &str);
}

/// The webhook's secret, the repository it is for and what it wakes.
pub struct Webhook {
    secret: Vec<u8>,
    /// `owner/name`: deliveries naming another repository are ignored.
    repo: String,
    hooks: Arc<dyn Hooks>,
    journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
    /// Deliveries by event and what became of them.
    deliveries: Counters<(String, &'static str)>,
    /// Deliveries refused before reading them, by reason.
    rejected: Counters<&'static str>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("secret", &"<redacted>")
            .field("repo", &self.repo)
            .finish_non_exhaustive()
    }
}

/// Why a delivery was refused (401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    Missing,
    Malformed,
    Mismatch,
}

impl Reject {
    fn label(self) -> &'static str {
        match self {
            Reject::Missing => "missing_signature",
            Reject::Malformed => "malformed_signature",
            Reject::Mismatch => "bad_signature",
        }
    }
}

impl Webhook {
    pub fn new(
        secret: &str,
        repo: &str,
        hooks: Arc<dyn Hooks>,
        journal: Arc<dyn Journal>,
        clock: Arc<dyn Clock>,
    ) -> Webhook {
        Webhook {
            secret: secret.as_bytes().to_vec(),
            repo: repo.to_string(),
            hooks,
            journal,
            clock,
            deliveries: Counters::default(),
            rejected: Counters::default(),
        }
    }

    /// `sha256=<hex>` of `body`, as GitHub signs it.
    pub fn sign(&self, body: &[u8]) -> String {
        sign(&self.secret, body)
    }

    /// Accept `body` iff `signature` (the header's value) is its signature.
    pub fn verify(&self, signature: Option<&[u8]>, body: &[u8]) -> Result<(), Reject> {
        let given = signature.ok_or(Reject::Missing)?;
        if given.len() != "sha256=".len() + 64 || !given.starts_with(b"sha256=") {
            return Err(Reject::Malformed);
        }
        // GitHub sends lower-case hex; compare exactly what it would send.
        let expected = self.sign(body);
        if bool::from(expected.as_bytes().ct_eq(given)) {
            Ok(())
        } else {
            Err(Reject::Mismatch)
        }
    }

    /// `hoist_github_webhook_*` for `/metrics`.
    pub fn render(&self, out: &mut String) {
        family(
            out,
            "hoist_github_webhook_deliveries_total",
            "GitHub webhook deliveries by event and outcome (woke, replayed, ignored, bad).",
            self.deliveries
                .snapshot()
                .into_iter()
                .map(|((e, o), n)| (format!("event=\"{e}\",outcome=\"{o}\""), n)),
        );
        family(
            out,
            "hoist_github_webhook_rejected_total",
            "GitHub webhook deliveries refused before reading them (401), by reason.",
            self.rejected
                .snapshot()
                .into_iter()
                .map(|(r, n)| (format!("reason=\"{r}\""), n)),
        );
    }
}

fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        Hmac::<sha2_11::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in mac.finalize().into_bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// An event name as a metric label: GitHub's are `[a-z_]`; anything else
/// is `other`, so a client cannot grow the label set.
fn event_label(event: &str) -> String {
    const KNOWN: [&str; 7] = [
        "ping",
        "pull_request",
        "pull_request_review",
        "check_run",
        "check_suite",
        "status",
        "push",
    ];
    if KNOWN.contains(&event) {
        event.to_string()
    } else {
        "other".into()
    }
}

/// A delivery id: a GUID's characters, bounded.
fn delivery_id(headers: &HeaderMap) -> Option<&str> {
    let id = headers.get("x-github-delivery")?.to_str().ok()?.trim();
    let ok = (1..=DELIVERY_ID_MAX).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(id)
}

/// The handler of `POST /github/webhook`.
pub async fn webhook(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    const AT: &str = "/github/webhook";
    let answer = |status: StatusCode, text: &str| {
        s.metrics.count(AT, status);
        (status, format!("{text}\n")).into_response()
    };
    let Some(hook) = s.github.clone() else {
        return answer(
            StatusCode::NOT_FOUND,
            "GitHub webhooks need GITHUB_WEBHOOK_SECRET (hoist polls instead)",
        );
    };
    let signature = headers.get("x-hub-signature-256").map(|v| v.as_bytes());
    if let Err(why) = hook.verify(signature, &body) {
        hook.rejected.inc(why.label());
        tracing::info!(
            endpoint = AT,
            reason = why.label(),
            "rejected a GitHub delivery"
        );
        return answer(StatusCode::UNAUTHORIZED, "signature does not match");
    }
    let event = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_string();
    let label = event_label(&event);
    let outcome = |o: &'static str| hook.deliveries.inc((label.clone(), o));
    let Some(id) = delivery_id(&headers).map(str::to_string) else {
        outcome("bad");
        return answer(StatusCode::BAD_REQUEST, "missing or bad X-GitHub-Delivery");
    };
    let delivery = match decode::delivery(&event, &body) {
        Ok(d) => d,
        Err(why) => {
            outcome("bad");
            return answer(StatusCode::BAD_REQUEST, &why);
        }
    };
    let other_repo = delivery
        .repo
        .as_deref()
        .is_some_and(|r| !r.eq_ignore_ascii_case(&hook.repo));
    if matches!(delivery.wake, Wake::Ignored | Wake::Ping) || other_repo {
        outcome(if delivery.wake == Wake::Ping {
            "ping"
        } else {
            "ignored"
        });
        return answer(StatusCode::OK, "ok");
    }
    // A redelivery (GitHub's "Redeliver", or a retry through a proxy) is
    // acted on once. The journal is on disk: off the server's threads.
    let seen = {
        let (journal, now) = (hook.journal.clone(), hook.clock.now());
        let key = format!("github:delivery:{id}");
        tokio::task::spawn_blocking(move || journal.first_seen(&key, now)).await
    };
    match seen {
        Ok(Ok(false)) => {
            outcome("replayed");
            return answer(StatusCode::OK, "already seen");
        }
        Ok(Ok(true)) => {}
        // A wake-up is harmless twice: act on it rather than drop it.
        Ok(Err(e)) => tracing::warn!(error = %e, "could not remember a GitHub delivery"),
        Err(e) => tracing::warn!(error = %e, "could not remember a GitHub delivery"),
    }
    match &delivery.wake {
        Wake::Pr(n) => hook.hooks.pull_request(*n),
        Wake::Head(sha) => hook.hooks.head(sha),
        Wake::Ping | Wake::Ignored => {}
    }
    outcome("woke");
    answer(StatusCode::OK, "ok")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented example ("Validating webhook deliveries").
    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const EXPECTED: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_documented_example_signs_and_verifies() {
        assert_eq!(sign(SECRET.as_bytes(), BODY), EXPECTED);
    }

    #[test]
    fn signatures_are_checked_exactly() {
        struct Nothing;
        impl Hooks for Nothing {
            fn pull_request(&self, _: u64) {}
            fn head(&self, _: &str) {}
        }
        let hook = Webhook::new(
            SECRET,
            "a/b",
            Arc::new(Nothing),
            Arc::new(crate::store::Memory::default()),
            Arc::new(crate::engine::ports::SystemClock),
        );
        assert_eq!(hook.verify(Some(EXPECTED.as_bytes()), BODY), Ok(()));
        assert!(
            format!("{hook:?}").contains("<redacted>") && !format!("{hook:?}").contains(SECRET)
        );
        let upper = format!("sha256={}", EXPECTED[7..].to_uppercase());
        let sha1 = "sha1=0a4d55a8d778e5022fab701977c5d840bbc486d0";
        let cases: [(Option<&str>, &[u8], Reject); 6] = [
            (None, BODY, Reject::Missing),
            (Some(sha1), BODY, Reject::Malformed),
            (Some(&EXPECTED[..70]), BODY, Reject::Malformed),
            (Some(EXPECTED), b"Hello, World?", Reject::Mismatch),
            (Some(&upper), BODY, Reject::Mismatch),
            (Some("sha256=\u{0}"), BODY, Reject::Malformed),
        ];
        for (sig, body, why) in cases {
            assert_eq!(
                hook.verify(sig.map(str::as_bytes), body),
                Err(why),
                "{sig:?}"
            );
        }
    }

    #[test]
    fn delivery_ids_and_event_labels_are_bounded() {
        let mut h = HeaderMap::new();
        assert_eq!(delivery_id(&h), None);
        h.insert(
            "x-github-delivery",
            "72d3162e-cc78-11e3-81ab-4c9367dc0958".parse().unwrap(),
        );
        assert_eq!(
            delivery_id(&h),
            Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        h.insert("x-github-delivery", "a:b".parse().unwrap());
        assert_eq!(delivery_id(&h), None);
        h.insert("x-github-delivery", "a".repeat(65).parse().unwrap());
        assert_eq!(delivery_id(&h), None);
        assert_eq!(event_label("check_run"), "check_run");
        assert_eq!(event_label("x\"}evil"), "other");
    }
}
