//! `hoist exec`: one command through the same engine as the bot, for scripts
//! and CI. Exit 0 = done or resting, 1 = refused (nothing written), 2 = error.

use super::setup;
use crate::chat::console::{Printer, Silent};
use crate::engine::ports::Notify;
use crate::engine::{Outcome, Request, Settings};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The config repo: a git URL or a local path.
    #[arg(long, env = "HOIST_REPO")]
    repo: String,
    /// Where hoist keeps its mirror and journal.
    #[arg(long, env = "HOIST_DATA_DIR")]
    data_dir: PathBuf,
    /// Who is asking: `slack:U123`, `console:alice`, ...
    #[arg(long = "as", value_name = "ACTOR")]
    actor: String,
    /// The channel the request comes from, for policies that name channels.
    #[arg(long)]
    channel: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Return once pushed instead of following the reconcile.
    #[arg(long)]
    no_wait: bool,
    /// The command, e.g. `deploy api v1.2.4 to staging`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

fn print(json: bool, reply: &crate::engine::Reply) {
    if json {
        println!(
            "{}",
            serde_json::to_string(reply).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        );
    } else if reply.outcome == Outcome::Ok {
        println!("{}", reply.message);
    } else {
        eprintln!("{}", reply.message);
    }
}

pub fn run(args: ExecArgs) -> anyhow::Result<i32> {
    let text = args.command.join(" ");
    let command = match hoist_commands::parse(&text) {
        Ok(c) => c,
        Err(e) => {
            let reply = crate::engine::Reply::refused(e.to_string());
            print(args.json, &reply);
            return Ok(1);
        }
    };
    let notify: Arc<dyn Notify> = if args.json {
        Arc::new(Silent)
    } else {
        Arc::new(Printer::new(Box::new(std::io::stderr())))
    };
    let push = match setup::backoff_from_env() {
        Ok(b) => b,
        Err(e) => {
            print(args.json, &crate::engine::Reply::error(format!("{e:#}")));
            return Ok(2);
        }
    };
    let settings = Settings {
        wait: !args.no_wait,
        push,
        ..Settings::default()
    };
    // A bad key or an unreachable repo is an answer too: `--json` callers get
    // one object whatever happens.
    let engine = match setup::signer_from_env().and_then(|signer| {
        let cluster = setup::cluster_from_env()?;
        setup::engine(
            &args.data_dir,
            &args.repo,
            signer,
            cluster,
            notify,
            settings,
        )
    }) {
        Ok(engine) => engine,
        Err(e) => {
            print(args.json, &crate::engine::Reply::error(format!("{e:#}")));
            return Ok(2);
        }
    };
    // Operations a previous process left unfinished are carried on first.
    for resumed in engine.resume() {
        eprintln!("hoist: resumed: {}", resumed.message);
    }
    let reply = engine.handle(&Request {
        actor: args.actor,
        channel: args.channel,
        chat_link: None,
        memberships: Vec::new(),
        command,
    });
    print(args.json, &reply);
    Ok(match reply.outcome {
        Outcome::Ok => 0,
        Outcome::Refused => 1,
        Outcome::Error => 2,
    })
}
