//! The `hoist` subcommands (README "Set up" and "Use it from scripts"): `try`, `exec`, `serve`,
//! `check`, `schema`, `audit`, `discord register`.
//! Flags override `HOIST_*` environment variables; secrets never print.
//! Every variable is read in `settings.rs`; each subcommand reads the areas it uses.

mod audit;
mod check;
mod discord;
pub mod example;
mod exec;
mod serve;
mod settings;
mod setup;
mod try_;

pub use try_::seed_origin;

use clap::{Parser, Subcommand};
use settings::{Area, Flags, Settings};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "hoist",
    version,
    about = "ChatOps for GitOps: chat commands become signed commits on the config repo"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// The whole flow locally, no accounts: reads `[as ACTOR:] COMMAND` lines from stdin.
    Try {
        /// A config repo (a git repo or a plain directory) to copy into the throw-away origin.
        #[arg(long)]
        repo: Option<PathBuf>,
    },
    /// Run one command through the engine and return when the operation rests.
    Exec(exec::ExecArgs),
    /// The bot: Slack endpoints (HTTP or Socket Mode), health, metrics.
    Serve(serve::ServeArgs),
    /// Validate hoist.yaml: prints `hoist.yaml:LINE:COL: message` per problem.
    Check {
        /// The config repo's directory (default: the current directory).
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
    /// Print a JSON Schema of hoist.yaml for editors (yaml-language-server).
    Schema,
    /// Every change to a target in the config repo's history: who, what,
    /// through hoist or out of band, and each signature's verdict.
    Audit(audit::AuditArgs),
    /// Discord: `register` the `/hoist` command.
    Discord(discord::DiscordArgs),
}

/// Run the CLI; returns the process exit code.
/// Install the logger from `HOIST_LOG`, `HOIST_LOG_FORMAT` and `NO_COLOR`:
/// `serve` logs at `info` by default (serenity at `warn`:
/// [`crate::logging::SERVE_DEFAULT`]), the others (which talk to a person on
/// stdout) only warnings.
pub fn init_logging(cli: &Cli) -> Result<(), String> {
    let default = match cli.command {
        Sub::Serve(_) => crate::logging::SERVE_DEFAULT,
        _ => "warn",
    };
    let settings = Settings::from_env(Area::LOG, &Flags::default()).map_err(|e| e.to_string())?;
    crate::logging::init(&settings.log, default)
}

/// Arm the durability test's kill switch (`HOIST_TEST_KILL_AT`, never set
/// in normal use).
fn arm_kill_switch(settings: &Settings) {
    if let Some(n) = settings.kill_at {
        crate::engine::set_kill_point(n);
    }
}

pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Sub::Try { repo } => {
            let settings = Settings::from_env(Area::TRY, &Flags::default())?;
            arm_kill_switch(&settings);
            try_::run(repo.as_deref(), &settings)
        }
        // `exec` reads its settings itself: a bad one is its answer.
        Sub::Exec(args) => exec::run(args),
        Sub::Serve(args) => {
            let settings = Settings::from_env(Area::SERVE, &args.flags())?;
            arm_kill_switch(&settings);
            serve::run(settings)
        }
        Sub::Check { repo } => check::run(&repo),
        Sub::Audit(args) => audit::run(args),
        Sub::Discord(args) => discord::run(args),
        Sub::Schema => {
            let schema = serde_json::to_string_pretty(&crate::policy::schema())?;
            println!("{schema}");
            Ok(0)
        }
    }
}
