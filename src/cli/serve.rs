//! `hoist serve`: the bot. Given every setting read and checked first
//! ([`super::settings`]), it opens the mirror and the journal, switches on
//! the chat surfaces the environment configures (Slack over HTTP with
//! `SLACK_SIGNING_SECRET`, over Socket Mode with `SLACK_APP_TOKEN`; Discord's
//! gateway with `DISCORD_TOKEN` and its interactions endpoint with
//! `DISCORD_PUBLIC_KEY`, [`discord`]), connects
//! GitHub for `via: pull-request` environments when a token or an App is set
//! (its webhook with `GITHUB_WEBHOOK_SECRET`, [`github`]), follows
//! rollouts when a cluster is configured (drift alerts go to each
//! environment's `alerts` channel), prints one summary of what is on and
//! off, carries on what a previous process left unfinished, and serves the
//! HTTP endpoints within the limits `HOIST_HTTP_*` set and the open-file
//! limit allows ([`env`](mod@env)) until SIGTERM or SIGINT ([`life`]). The
//! engine's journal, config repo, cluster and forge ports are wrapped so
//! `/metrics` can observe operations (`server::ops`).

pub(super) mod discord;
mod env;
mod github;
mod life;
mod replicas;
mod retention;

use super::{settings, setup};
use crate::chat::discord::gateway::Gateway;
use crate::chat::discord::inbound::{self, Inbound};
use crate::chat::live::LiveNotify;
use crate::chat::slack::{self, Slack, api::Api};
use crate::engine::ports::{Clock, Cluster, ConfigRepo, Forge, Journal, Notify, SystemClock};
use crate::engine::{Engine, Operation, Settings};
use crate::gitops::GitRepo;
use crate::server::ops::Observed;
use crate::server::{self, AppState, Metrics};
use anyhow::{Context, anyhow};
use life::Part;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The config repo: a git URL or a local path (else `HOIST_REPO`).
    #[arg(long)]
    repo: Option<String>,
    /// Where hoist keeps its mirror and journal (else `HOIST_DATA_DIR`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address of the HTTP endpoints (else `HOIST_LISTEN`, else `0.0.0.0:8080`).
    #[arg(long)]
    listen: Option<String>,
}

impl ServeArgs {
    /// The flags, for [`super::settings`] to merge over the variables.
    pub fn flags(&self) -> super::settings::Flags {
        super::settings::Flags {
            repo: self.repo.clone(),
            data_dir: self.data_dir.clone(),
            listen: self.listen.clone(),
        }
    }
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

/// What is on and off, with the variable that switches each on.
fn parts(
    slack: Option<&slack::Config>,
    cluster: &settings::Cluster,
    signing: Option<String>,
) -> Vec<Part> {
    let mut parts = Vec::new();
    match slack {
        Some(c) => {
            parts.push(match &c.signing_secret {
                Some(_) => Part::On(
                    "Slack over HTTP (POST /slack/commands, /slack/events, /slack/interactive)"
                        .into(),
                ),
                None => Part::Off("Slack over HTTP: SLACK_SIGNING_SECRET is not set".into()),
            });
            parts.push(match &c.app_token {
                Some(_) => Part::On("Slack Socket Mode".into()),
                None => Part::Off("Slack Socket Mode: SLACK_APP_TOKEN is not set".into()),
            });
        }
        None => parts.push(Part::Off(
            "Slack: SLACK_BOT_TOKEN is not set (and SLACK_SIGNING_SECRET for HTTP or \
             SLACK_APP_TOKEN for Socket Mode)"
                .into(),
        )),
    }
    parts.push(if cluster.configured() {
        let from = if cluster.kubeconfig.is_some() {
            "KUBECONFIG"
        } else {
            "in-cluster service account"
        };
        Part::On(format!("cluster: following rollouts ({from})"))
    } else if cluster.kubeconfig.is_some() || cluster.in_pod {
        Part::Off("cluster: HOIST_CLUSTER is off; rollouts are not followed".into())
    } else {
        Part::Off(
            "cluster: KUBECONFIG is not set and not in a pod; rollouts are not followed".into(),
        )
    });
    parts.push(match signing {
        Some(key) => Part::On(format!("signing key {key}")),
        None => Part::Off("signing: HOIST_SIGNING_KEY is not set; commits are not signed".into()),
    });
    parts
}

/// Serve with `config`, every setting already read and checked
/// ([`super::settings`], [`Area::SERVE`](super::settings::Area::SERVE)).
pub fn run(config: settings::Settings) -> anyhow::Result<i32> {
    let args = &config.place;
    let work_limit = config.serve.work_limit;
    let limits = env::within_open_files(config.http);
    let grace = config.serve.grace;
    let retention = config.serve.retention;
    let signer = setup::signer(&config.git)?;
    let settings = Settings {
        push: config.git.push.clone(),
        drift: config.serve.drift,
        pr_poll: config.github.poll,
        ..Settings::default()
    };
    let chores_tick = settings.drift.grace;
    let slack_config = config.slack.clone();
    let mut summary = parts(
        slack_config.as_ref(),
        &config.cluster,
        signer.as_ref().map(|s| s.describe()),
    );
    let hub = setup::github(&config.github, &args.repo)?;
    let hub_repo = setup::github_repo(&config.github, &args.repo)
        .filter(|_| hub.is_some())
        .map(|(owner, name)| format!("{owner}/{name}"));
    summary.push(github::part(&config.github, hub_repo.as_deref()));
    summary.extend(discord::parts(config.discord.as_ref()));
    let git_settings = setup::git_access(&config.git, &config.github, hub.as_ref(), &args.repo);

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
    let work = slack::Work::new(work_rt.handle().clone(), work_limit);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics = Arc::new(Metrics::default());
    let git = Arc::new(
        GitRepo::open(
            &args.data_dir,
            &args.repo,
            signer,
            git_settings.author.clone(),
            &git_settings.access,
        )
        .with_context(|| format!("opening the mirror of {}", args.repo))
        .and_then(|repo| setup::policy_signers(repo, &config.git.policy))?,
    );
    let repo: Arc<dyn ConfigRepo> = Arc::new(Observed::<dyn ConfigRepo>::new(git, metrics.clone()));
    let mut opened = replicas::open(
        &config.store,
        config.cluster.kubeconfig.as_deref(),
        &args.data_dir,
        clock.clone(),
    )?;
    let store = opened.journal.clone();
    summary.push(std::mem::replace(&mut opened.part, Part::On(String::new())));
    retention::start(Arc::downgrade(&store), clock.clone(), retention)?;
    let journal: Arc<dyn Journal> =
        Arc::new(Observed::<dyn Journal>::new(store.clone(), metrics.clone()));

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
                slack::live(&api, &me, config, store.clone())
            };
            slack_parts = Some((api, live.clone(), me, config.clone()));
            Arc::new(LiveNotify(live))
        }
        None => Arc::new(Logged),
    };
    let discord_started = match &config.discord {
        Some(d) => Some(discord::start(d, &work_rt, store.clone())?),
        None => None,
    };
    let notify: Arc<dyn Notify> = match &discord_started {
        Some(d) if slack_config.is_some() => Arc::new(discord::Both(vec![
            notify,
            Arc::new(LiveNotify(d.live.clone())),
        ])),
        Some(d) => Arc::new(LiveNotify(d.live.clone())),
        None => notify,
    };

    let cluster = setup::cluster(&config.cluster)?
        .map(|c| Arc::new(Observed::<dyn Cluster>::new(c, metrics.clone())) as Arc<dyn Cluster>);
    let engine = Engine::new(
        repo,
        journal.clone(),
        cluster,
        notify,
        clock.clone(),
        settings,
    );
    opened.prepare(&engine);
    let webhook = match (&hub, &hub_repo) {
        (Some(hub), Some(repo)) => {
            engine.set_forge(Arc::new(Observed::<dyn Forge>::new(
                hub.clone(),
                metrics.clone(),
            )));
            config.github.webhook_secret.as_ref().map(|secret| {
                Arc::new(server::github::Webhook::new(
                    secret.expose(),
                    repo,
                    hub.clone(),
                    journal.clone(),
                    clock.clone(),
                ))
            })
        }
        _ => None,
    };
    // The engine and the webhook hold the journal now; at shutdown the
    // store must be theirs alone to be closed.
    drop(journal);
    let runner = engine.clone();
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
    let inbound = discord_started.as_ref().map(|d| {
        Inbound::new(inbound::Parts {
            engine: engine.clone(),
            discord: d.discord.clone(),
            live: d.live.clone(),
            journal: store.clone(),
            clock: clock.clone(),
            prefix: config
                .discord
                .as_ref()
                .map(|s| s.prefix.clone())
                .unwrap_or_default(),
            work: work.clone(),
        })
    });
    let key = config.discord.as_ref().and_then(|d| d.public_key);
    let interactions = match (&inbound, key) {
        (Some(i), Some(key)) => {
            let handler: Arc<dyn server::discord::Handler> = Arc::new(i.clone());
            server::discord::Interactions::new(key, clock.clone(), handler, work).map(Arc::new)
        }
        _ => None,
    };
    let ready = Arc::new(AtomicBool::new(false));
    // This replica's Lease campaign, once started (replicas only).
    let elector: Arc<std::sync::OnceLock<Arc<crate::ha::lease::Elector>>> = Arc::default();
    let state = AppState {
        slack: slack.clone(),
        github: webhook,
        discord: interactions,
        metrics,
        ready: ready.clone(),
        limits,
        stopping: Arc::new(AtomicBool::new(false)),
        jobs: Arc::new(AtomicUsize::new(0)),
    };
    let app_token = slack_config.as_ref().and_then(|c| c.app_token.clone());
    rt.block_on(async move {
        let mut signals = life::Signals::listen().context("catching SIGTERM and SIGINT")?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let socket = match (&slack, app_token) {
            (Some(s), Some(token)) => {
                Some(slack::socket::SocketMode::start(s.clone(), &token).await?)
            }
            _ => None,
        };
        // Discord's gateway sends every event to every connection: alone,
        // hoist connects now; a replica connects only while it leads.
        let gateway: Arc<tokio::sync::Mutex<Option<Gateway>>> = Arc::default();
        let connect = match (&inbound, &discord_started) {
            (Some(i), Some(d)) if opened.replicas() => Some(discord::leader_gateway(
                i.clone(),
                d.config.clone(),
                gateway.clone(),
            )),
            (Some(i), Some(d)) => {
                *gateway.lock().await = Some(Gateway::start(i.clone(), &d.config).await?);
                None
            }
            _ => None,
        };
        // Beside the server: ready once the config repo answers and its
        // hoist.yaml reads (until then /readyz says 503), then carry on what a
        // previous process left unfinished (a rollout can take its timeout).
        let starting = engine.clone();
        let stopping = state.stopping.clone();
        let electing = elector.clone();
        std::thread::spawn(move || {
            while let Err(e) = starting.policy() {
                life::tell(true, &format!("not ready: {e}; trying again in 5s"));
                std::thread::sleep(Duration::from_secs(5));
            }
            if stopping.load(Ordering::Acquire) {
                return;
            }
            ready.store(true, Ordering::Release);
            // Alone: resume now. A replica: campaign; leading takes over.
            if let Some(e) = opened.start(&starting, connect) {
                let _ = electing.set(e);
            }
            // Drift, expiry and policy changes, from now on, on their own.
            let tick = (chores_tick / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
            if let Err(e) = starting.start_chores(tick) {
                life::tell(true, &format!("no chores thread (drift, expiry): {e}"));
            }
        });
        println!("hoist: listening on http://{addr}");
        life::summary(&summary);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut server = tokio::spawn(server::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        let (name, _) = tokio::select! {
            sig = signals.next() => sig,
            ended = &mut server => {
                ended.context("the server stopped")??;
                anyhow::bail!("the server stopped");
            }
        };
        life::tell(
            false,
            &format!("{name}: shutting down; a second signal exits at once"),
        );
        tokio::spawn(async move {
            let (name, number) = signals.next().await;
            life::tell(
                true,
                &format!("{name} again: exiting now; the next start carries on"),
            );
            std::process::exit(128 + number);
        });
        if let Some(s) = socket {
            s.stop().await;
        }
        if let Some(g) = gateway.lock().await.take() {
            g.stop().await;
        }
        if let Some(e) = elector.get() {
            // Given up first, so another replica takes over at its next try
            // while this one drains (what it pushes now, the leader follows).
            let e = e.clone();
            let _ = tokio::task::spawn_blocking(move || e.release()).await;
        }
        life::drain(&state, grace).await;
        // `send` fails only if the server already ended, which is fine.
        let _ = stop.send(());
        server.await.context("the server stopped")??;
        anyhow::Ok(())
    })?;
    // Rollouts still followed stop here, and work that outlived the grace
    // is left: the journal holds where each is; the next start carries on.
    runner.stop_following();
    drop(runner);
    work_rt.shutdown_background();
    rt.shutdown_background();
    match Arc::strong_count(&store) {
        1 => {
            drop(store);
            life::tell(false, "journal closed; stopped");
        }
        _ => life::tell(
            false,
            "stopped; a rollout being followed still holds the journal \
             (every transition is already on disk; the next start follows it again)",
        ),
    }
    Ok(0)
}
