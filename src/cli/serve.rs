//! `hoist serve`: the bot. Opens the mirror and the journal, switches on the
//! chat surfaces the environment configures (Slack over HTTP with
//! `SLACK_SIGNING_SECRET`, over Socket Mode with `SLACK_APP_TOKEN`), follows
//! rollouts when a cluster is configured (drift alerts go to each
//! environment's `alerts` channel), carries on what a previous process left
//! unfinished, and serves the HTTP endpoints until SIGTERM or SIGINT, within
//! the limits `HOIST_HTTP_*` set (see [`http_limits`]).

use super::setup;
use crate::chat::slack::{self, Slack, api::Api, live::Live, live::LiveNotify};
use crate::engine::ports::{Clock, Notify, SystemClock};
use crate::engine::{Engine, Operation, Settings};
use crate::gitops::GitRepo;
use crate::server::{self, AppState, Limits, Metrics};
use crate::store::Store;
use anyhow::{Context, anyhow};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The config repo: a git URL or a local path.
    #[arg(long, env = "HOIST_REPO")]
    repo: String,
    /// Where hoist keeps its mirror and journal.
    #[arg(long, env = "HOIST_DATA_DIR")]
    data_dir: PathBuf,
    /// Address of the HTTP endpoints.
    #[arg(long, env = "HOIST_LISTEN", default_value = "0.0.0.0:8080")]
    listen: String,
}

/// Without a chat surface, progress goes to the log.
#[derive(Debug)]
struct Logged;

impl Notify for Logged {
    fn update(&self, op: &Operation, text: &str) {
        tracing::info!(operation = op.id, "{text}");
    }

    fn alert(&self, channel: &str, text: &str) {
        tracing::warn!(channel, "{text}");
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    eprintln!("hoist: shutting down; requests in flight finish first");
}

/// `HOIST_SLACK_WORK_LIMIT`: requests worked on at once (default 512).
fn work_limit() -> anyhow::Result<usize> {
    Ok(positive("HOIST_SLACK_WORK_LIMIT")?.unwrap_or(512))
}

/// A positive number from `name`, if set.
fn positive(name: &str) -> anyhow::Result<Option<usize>> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| anyhow!("{name}: `{v}` is not a positive number")),
        _ => Ok(None),
    }
}

/// A wait like `250ms` or `2s` from `name`, if set (not zero).
fn wait(name: &str) -> anyhow::Result<Option<Duration>> {
    let Some(v) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    setup::wait(v.trim())
        .ok()
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| anyhow!("{name}: `{v}` is not a wait like `250ms` or `2s`"))
}

/// File descriptors kept for everything but inbound connections: git's
/// pipes, the journal, the Slack and Kubernetes clients, the runtimes.
const FD_RESERVE: usize = 64;

/// The soft limit on open files (Linux; `None` elsewhere or unlimited).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The listener's limits: `HOIST_HTTP_HEADER_TIMEOUT` (`10s`),
/// `HOIST_HTTP_BODY_TIMEOUT` (`10s`), `HOIST_HTTP_MAX_CONNECTIONS` (512).
/// The cap never exceeds what the open-file limit leaves after
/// [`FD_RESERVE`], so accepting never runs the process out of descriptors.
fn http_limits() -> anyhow::Result<Limits> {
    let mut limits = Limits::default();
    if let Some(d) = wait("HOIST_HTTP_HEADER_TIMEOUT")? {
        limits.header_timeout = d;
    }
    if let Some(d) = wait("HOIST_HTTP_BODY_TIMEOUT")? {
        limits.body_timeout = d;
    }
    if let Some(n) = positive("HOIST_HTTP_MAX_CONNECTIONS")? {
        limits.max_connections = n;
    }
    if let Some(files) = open_file_limit() {
        let room = files.saturating_sub(FD_RESERVE).max(files / 2).max(1);
        if limits.max_connections > room {
            eprintln!(
                "hoist: serving at most {room} connections at once (open-file limit {files})"
            );
            limits.max_connections = room;
        }
    }
    Ok(limits)
}

pub fn run(args: ServeArgs) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hoist-serve")
        .build()
        .context("starting the runtime")?;
    // The work after each acknowledgement runs apart from the server's own
    // threads, so acknowledgements never wait behind it.
    let work_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hoist-work")
        .build()
        .context("starting the work runtime")?;
    let work = slack::Work::new(work_rt.handle().clone(), work_limit()?);
    let limits = http_limits()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let signer = setup::signer_from_env()?;
    let author = setup::author_from_env()?;
    let repo = Arc::new(
        GitRepo::open(&args.data_dir, &args.repo, signer, author)
            .with_context(|| format!("opening the mirror of {}", args.repo))?,
    );
    let store = Arc::new(Store::open(&args.data_dir).map_err(|e| anyhow!(e))?);
    let settings = Settings {
        push: setup::backoff_from_env()?,
        ..Settings::default()
    };

    let slack_config = slack::Config::from_env()?;
    let mut slack_parts = None;
    let notify: Arc<dyn Notify> = match &slack_config {
        Some(config) => {
            let api = Arc::new(Api::new(
                &config.api_url,
                &config.bot_token,
                config.group_ttl,
            )?);
            let me = work_rt.block_on(api.identity()).map_err(|e| {
                anyhow!("{e} (is SLACK_BOT_TOKEN a bot token of an installed app?)")
            })?;
            let live = {
                let _in_runtime = work_rt.enter();
                Live::new(api.clone(), store.clone())
            };
            slack_parts = Some((api, live.clone(), me, config.clone()));
            Arc::new(LiveNotify(live))
        }
        None => Arc::new(Logged),
    };

    // Drift alerts need the policy (which objects, which channel): read it
    // once with an engine that follows nothing, before the cluster starts.
    let cluster = if setup::cluster_configured() {
        let probe = Engine::new(
            repo.clone(),
            store.clone(),
            None,
            notify.clone(),
            clock.clone(),
            settings.clone(),
        );
        let drift = match probe.policy() {
            Ok(p) => crate::cluster::drift::from_policy(&p),
            Err(e) => {
                eprintln!("hoist: no drift alerts: {e}");
                Vec::new()
            }
        };
        let to = notify.clone();
        setup::cluster_with_drift(
            drift,
            Some(Arc::new(move |ch: &str, t: &str| to.alert(ch, t))),
        )?
    } else {
        None
    };
    let engine = Arc::new(Engine::new(
        repo,
        store.clone(),
        cluster,
        notify,
        clock.clone(),
        settings,
    ));
    let slack = slack_parts.map(|(api, live, me, config)| {
        Slack::new(slack::Parts {
            engine: engine.clone(),
            api,
            live,
            journal: store.clone(),
            clock: clock.clone(),
            me,
            config,
            work: work.clone(),
        })
    });
    let ready = Arc::new(AtomicBool::new(false));
    let state = AppState {
        slack: slack.clone(),
        metrics: Arc::new(Metrics::default()),
        ready: ready.clone(),
        limits,
    };
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let socket = match (
            &slack,
            slack_config.as_ref().and_then(|c| c.app_token.clone()),
        ) {
            (Some(s), Some(token)) => {
                Some(slack::socket::SocketMode::start(s.clone(), &token).await?)
            }
            _ => None,
        };
        // Beside the server: ready once the config repo answers and its
        // hoist.yaml reads (until then /readyz says 503), then carry on what a
        // previous process left unfinished (a rollout can take its timeout).
        let starting = engine.clone();
        std::thread::spawn(move || {
            while let Err(e) = starting.policy() {
                eprintln!("hoist: not ready: {e}; trying again in 5s");
                std::thread::sleep(std::time::Duration::from_secs(5));
            }
            ready.store(true, Ordering::Release);
            for r in starting.resume() {
                eprintln!("hoist: resumed: {}", r.message);
            }
        });
        println!("hoist: listening on http://{addr}");
        eprintln!(
            "hoist: slack {}, socket mode {}",
            if slack.is_some() { "on" } else { "off" },
            if socket.is_some() { "on" } else { "off" }
        );
        server::serve(listener, state, shutdown_signal()).await?;
        if let Some(s) = socket {
            s.stop().await;
        }
        anyhow::Ok(())
    })?;
    // Requests already acknowledged get their answers before the process ends.
    work_rt.shutdown_timeout(Duration::from_secs(30));
    Ok(0)
}
