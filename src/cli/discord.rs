//! `hoist discord register [--guild ID]`: registers the `/hoist`
//! application command (one required string option, `command`, with
//! autocomplete) with Discord, for every guild hoist is in (global
//! commands) or for one guild (shown at once: good for trying it out). It
//! needs only `DISCORD_TOKEN` (and `DISCORD_API_URL` in tests); the
//! application id is asked of Discord. Prints what it did.

use super::serve::discord::config;
use super::settings::{Area, Flags, Settings};
use crate::chat::discord::{Discord, register, text};
use anyhow::{Context, anyhow};

#[derive(Debug, clap::Args)]
pub struct DiscordArgs {
    #[command(subcommand)]
    command: DiscordCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DiscordCommand {
    /// Register the `/hoist` command (globally, or in one guild).
    Register {
        /// A guild (server) id: register there only, shown at once.
        #[arg(long)]
        guild: Option<String>,
    },
}

pub fn run(args: DiscordArgs) -> anyhow::Result<i32> {
    let DiscordCommand::Register { guild } = args.command;
    if let Some(g) = &guild
        && !text::snowflake(g)
    {
        eprintln!(
            "hoist: --guild: `{}` is not a Discord id (digits only)",
            crate::engine::one_line(g, 40)
        );
        return Ok(2);
    }
    let settings = Settings::from_env(Area::DISCORD, &Flags::default())?;
    let discord_settings = settings.discord.ok_or_else(|| {
        anyhow!("DISCORD_TOKEN is not set: hoist needs the bot's token to register /hoist")
    })?;
    let discord = Discord::new(&config(&discord_settings))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let done = rt
        .block_on(register::register(&discord, guild.as_deref()))
        .map_err(|e| anyhow!("registering /hoist: {e} (is DISCORD_TOKEN a bot token?)"))?;
    let id = done
        .id
        .map(|i| format!(" (command {i})"))
        .unwrap_or_default();
    match &done.guild {
        Some(g) => println!(
            "registered /hoist for application {} in guild {g}{id}",
            done.application
        ),
        None => println!(
            "registered /hoist for application {} globally{id} (it may take a while to show \
             everywhere; --guild ID shows it in one guild at once)",
            done.application
        ),
    }
    Ok(0)
}
