//! The HTTP side of `hoist serve` (axum): `POST /slack/commands`,
//! `POST /slack/events`, `POST /slack/interactive`, `POST /github/webhook`
//! ([`github`]: wake-ups for pull requests), `GET /healthz`,
//! `GET /readyz`, `GET /metrics` (Prometheus text).
//!
//! Every Slack request is verified on its raw body before anything else
//! (a 401 records nothing but a counter), then acknowledged at once: the work
//! goes to the adapter's own runtime ([`crate::chat::slack::Work`]), so
//! Slack's 3-second deadline holds however long git or the engine take, and
//! a flood is answered "busy" rather than queued without bound. Shutdown is
//! a future passed in; in-flight requests finish. Before that, `serve` sets
//! [`AppState::stopping`]: `/readyz` answers 503 and Slack requests 503
//! (Slack delivers events again later), while acknowledged work finishes
//! ([`AppState::jobs`] counts it).
//!
//! `/metrics` also carries what [`ops`] observes of operations through the
//! engine's ports, and `hoist_build_info`.
//!
//! Before any of that, what an unauthenticated client can hold is bounded:
//! the accept loop ([`accept`]) caps connections and times out request
//! heads, the body layer ([`body`]) caps and times out request bodies.

use crate::chat::slack::{Slack, decode};
use crate::metrics::{Counters, family, gauge, label_value};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use slack_morphism::prelude::SlackPushEvent;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

mod accept;
mod body;
pub mod discord;
pub mod github;
pub mod ops;
mod stall;

pub use accept::Limits;
pub use body::SLACK_BODY_LIMIT;

/// Request counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (endpoint, HTTP status).
    requests: Counters<(&'static str, u16)>,
    /// Why a request was refused before it was read.
    rejected: Counters<&'static str>,
    /// Endpoint of a request turned away at the work limit.
    busy: Counters<&'static str>,
    /// Why a connection or request was cut off before a handler saw it
    /// (connection cap, header or body timeout, body too large).
    refused: Counters<&'static str>,
    /// Operations, observed through the engine's ports.
    pub ops: ops::Ops,
}

impl Metrics {
    fn count(&self, endpoint: &'static str, status: StatusCode) {
        self.requests.inc((endpoint, status.as_u16()));
    }
}

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// `None` when Slack is not configured: its endpoints answer 404.
    pub slack: Option<Arc<Slack>>,
    /// `None` without `GITHUB_WEBHOOK_SECRET`: `/github/webhook` answers 404.
    pub github: Option<Arc<github::Webhook>>,
    /// `None` without `DISCORD_PUBLIC_KEY`: `/discord/interactions` answers 404.
    pub discord: Option<Arc<discord::Interactions>>,
    pub metrics: Arc<Metrics>,
    /// Set once start-up (mirror, journal, resume) is done.
    pub ready: Arc<AtomicBool>,
    /// Timeouts and the connection cap of the listener.
    pub limits: Limits,
    /// Set on the first SIGTERM/SIGINT: not ready, no new Slack work.
    pub stopping: Arc<AtomicBool>,
    /// Slack requests acknowledged over HTTP whose work has not ended.
    pub jobs: Arc<AtomicUsize>,
}

/// Counts one acknowledged request's work in [`AppState::jobs`] from
/// creation until it ends (or is dropped unstarted).
struct Job(Arc<AtomicUsize>);

impl Job {
    fn start(jobs: &Arc<AtomicUsize>) -> Job {
        jobs.fetch_add(1, Ordering::AcqRel);
        Job(jobs.clone())
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `work`, counted in `jobs` while it lives.
fn counted(
    jobs: &Arc<AtomicUsize>,
    work: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let job = Job::start(jobs);
    async move {
        work.await;
        drop(job);
    }
}

/// `hoist_build_info`'s commit: `HOIST_BUILD_COMMIT` when the build set it.
pub const BUILD_COMMIT: &str = match option_env!("HOIST_BUILD_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

/// The router of `hoist serve`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/events", post(events))
        .route("/slack/interactive", post(interactive))
        .route("/github/webhook", post(github::webhook))
        .route("/discord/interactions", post(discord::interactions))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // On every path, unknown ones too: no body is read without bounds.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body::bounded,
        ))
        .with_state(state)
}

/// Serve the router of `state` on `listener`, within `state.limits`, until
/// `shutdown` resolves; requests in flight then finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (limits, metrics) = (state.limits, state.metrics.clone());
    accept::serve(listener, router(state), limits, metrics, shutdown).await
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    (status, text.into()).into_response()
}

/// The Slack adapter, if the signature on `body` holds; else the answer.
fn verified(
    s: &AppState,
    endpoint: &'static str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Arc<Slack>, (StatusCode, String)> {
    let no = |status: StatusCode, text: &str| {
        s.metrics.count(endpoint, status);
        (status, text.to_string())
    };
    let Some(slack) = &s.slack else {
        return Err(no(StatusCode::NOT_FOUND, "Slack is not configured\n"));
    };
    let Some(verifier) = &slack.verifier else {
        return Err(no(
            StatusCode::NOT_FOUND,
            "Slack over HTTP needs SLACK_SIGNING_SECRET\n",
        ));
    };
    if s.stopping.load(Ordering::Acquire) {
        return Err(no(
            StatusCode::SERVICE_UNAVAILABLE,
            "hoist is shutting down and did nothing; try again in a minute\n",
        ));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match verifier.verify(
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
    ) {
        Ok(()) => Ok(slack.clone()),
        Err(e) => {
            s.metrics.rejected.inc(e.metric_label());
            tracing::info!(endpoint, reason = %e, "rejected a Slack request");
            Err(no(StatusCode::UNAUTHORIZED, &format!("{e}\n")))
        }
    }
}

fn bad(s: &AppState, endpoint: &'static str, why: String) -> Response {
    s.metrics.count(endpoint, StatusCode::BAD_REQUEST);
    plain(StatusCode::BAD_REQUEST, format!("{why}\n"))
}

async fn commands(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    const AT: &str = "/slack/commands";
    let slack = match verified(&s, AT, &headers, &body) {
        Ok(slack) => slack,
        Err(r) => return r.into_response(),
    };
    let ev = match decode::command(&body) {
        Ok(ev) => ev,
        Err(why) => return bad(&s, AT, why),
    };
    s.metrics.count(AT, StatusCode::OK);
    if !slack
        .work
        .try_run(counted(&s.jobs, slack.clone().on_command(ev)))
    {
        s.metrics.busy.inc(AT);
        // Slack shows the acknowledgement's body to the asker alone.
        let busy = serde_json::json!({"response_type": "ephemeral",
            "text": "hoist is busy right now and did nothing; try again in a minute."});
        return axum::Json(busy).into_response();
    }
    StatusCode::OK.into_response()
}

async fn events(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    const AT: &str = "/slack/events";
    let slack = match verified(&s, AT, &headers, &body) {
        Ok(slack) => slack,
        Err(r) => return r.into_response(),
    };
    let ev = match decode::event(&body) {
        Ok(ev) => ev,
        Err(why) => return bad(&s, AT, why),
    };
    let busy = StatusCode::SERVICE_UNAVAILABLE;
    let answered = |status| s.metrics.count(AT, status);
    match ev {
        SlackPushEvent::UrlVerification(v) => {
            answered(StatusCode::OK);
            ([(header::CONTENT_TYPE, "text/plain")], v.challenge).into_response()
        }
        SlackPushEvent::EventCallback(cb) => {
            if slack
                .work
                .try_run(counted(&s.jobs, slack.clone().on_event(cb)))
            {
                answered(StatusCode::OK);
                StatusCode::OK.into_response()
            } else {
                // Not seen yet (dedupe happens in the work): Slack retries it.
                s.metrics.busy.inc(AT);
                answered(busy);
                plain(busy, "busy; deliver it again later\n")
            }
        }
        SlackPushEvent::AppRateLimited(r) => {
            answered(StatusCode::OK);
            tracing::warn!(team = %r.team_id, "Slack is rate limiting this app's events");
            StatusCode::OK.into_response()
        }
    }
}

async fn interactive(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    const AT: &str = "/slack/interactive";
    let slack = match verified(&s, AT, &headers, &body) {
        Ok(slack) => slack,
        Err(r) => return r.into_response(),
    };
    let ev = match decode::interaction(&body) {
        Ok(ev) => ev,
        Err(why) => return bad(&s, AT, why),
    };
    if !slack
        .work
        .try_run(counted(&s.jobs, slack.clone().on_interaction(ev)))
    {
        s.metrics.busy.inc(AT);
        s.metrics.count(AT, StatusCode::SERVICE_UNAVAILABLE);
        return plain(StatusCode::SERVICE_UNAVAILABLE, "busy; press it again\n");
    }
    s.metrics.count(AT, StatusCode::OK);
    StatusCode::OK.into_response()
}

async fn readyz(State(s): State<AppState>) -> Response {
    if s.stopping.load(Ordering::Acquire) {
        plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else if s.ready.load(Ordering::Acquire) {
        plain(StatusCode::OK, "ready\n")
    } else {
        plain(StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let m = &s.metrics;
    let mut out = String::new();
    let requests = m.requests.snapshot().into_iter();
    family(
        &mut out,
        "hoist_http_requests_total",
        "HTTP requests (Slack, GitHub) by endpoint and answer.",
        requests.map(|((e, st), n)| (format!("endpoint=\"{e}\",status=\"{st}\""), n)),
    );
    let rejected = m.rejected.snapshot().into_iter();
    family(
        &mut out,
        "hoist_slack_rejected_total",
        "Slack requests refused before reading them.",
        rejected.map(|(r, n)| (format!("reason=\"{r}\""), n)),
    );
    let busy = m.busy.snapshot().into_iter();
    family(
        &mut out,
        "hoist_slack_busy_total",
        "Slack requests turned away: work was at its limit.",
        busy.map(|(e, n)| (format!("endpoint=\"{e}\""), n)),
    );
    if let Some(slack) = &s.slack {
        let calls = slack.api_calls().snapshot().into_iter();
        family(
            &mut out,
            "hoist_slack_api_calls_total",
            "Slack Web API calls by method and outcome.",
            calls.map(|((me, o), n)| (format!("method=\"{me}\",outcome=\"{o}\""), n)),
        );
        let name = "hoist_chat_rate_limit_wait_seconds_total";
        out.push_str(&format!(
            "# HELP {name} Time spent waiting on a chat platform's rate limits (Retry-After and per-channel pacing of posts).\n\
             # TYPE {name} counter\n{name}{{platform=\"slack\"}} {:.3}\n",
            slack.rate_limit_wait_secs()
        ));
    }
    if let Some(github) = &s.github {
        github.render(&mut out);
    }
    if let Some(discord) = &s.discord {
        discord.render(&mut out);
    }
    let refused = m.refused.snapshot().into_iter();
    family(
        &mut out,
        "hoist_http_refused_total",
        "Connections and requests cut off before a handler saw them.",
        refused.map(|(r, n)| (format!("reason=\"{r}\""), n)),
    );
    m.ops.render(&mut out);
    let ready = s.ready.load(Ordering::Acquire) && !s.stopping.load(Ordering::Acquire);
    gauge(
        &mut out,
        "hoist_ready",
        "1 when /readyz answers 200.",
        "",
        i64::from(ready),
    );
    let version = env!("CARGO_PKG_VERSION");
    gauge(
        &mut out,
        "hoist_build_info",
        "The running build: version and the commit it was built from.",
        &format!(
            "version=\"{version}\",commit=\"{}\"",
            label_value(BUILD_COMMIT)
        ),
        1,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
