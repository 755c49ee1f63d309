//! The `hoist` subcommands (README "Set up" and "Use it from scripts"): `try`, `exec`, `serve`,
//! `check`, `schema`.
//! Flags override `HOIST_*` environment variables; secrets never print.

mod check;
pub mod example;
mod exec;
mod serve;
mod setup;
mod try_;

pub use try_::seed_origin;

use clap::{Parser, Subcommand};
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
}

/// Run the CLI; returns the process exit code.
/// Install the logger from `HOIST_LOG`, `HOIST_LOG_FORMAT` and `NO_COLOR`:
/// `serve` logs at `info` by default, the others (which talk to a person on
/// stdout) only warnings.
pub fn init_logging(cli: &Cli) -> Result<(), String> {
    let default = match cli.command {
        Sub::Serve(_) => "info",
        _ => "warn",
    };
    let settings = crate::logging::Settings {
        filter: std::env::var("HOIST_LOG").ok(),
        format: std::env::var("HOIST_LOG_FORMAT").ok(),
        no_color: std::env::var_os("NO_COLOR").is_some(),
    };
    crate::logging::init(&settings, default)
}

pub fn run(cli: Cli) -> anyhow::Result<i32> {
    // The durability test's kill switch (never set in normal use).
    if let Some(n) = std::env::var("HOIST_TEST_KILL_AT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        crate::engine::set_kill_point(n);
    }
    match cli.command {
        Sub::Try { repo } => try_::run(repo.as_deref()),
        Sub::Exec(args) => exec::run(args),
        Sub::Serve(args) => serve::run(args),
        Sub::Check { repo } => check::run(&repo),
        Sub::Schema => {
            let schema = serde_json::to_string_pretty(&crate::policy::schema())?;
            println!("{schema}");
            Ok(0)
        }
    }
}
