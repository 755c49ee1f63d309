//! `hoist exec`: one command through the same engine as the bot, for scripts
//! and CI. Exit 0 = done or resting, 1 = refused (nothing written), 2 = error.
//!
//! `--as` is believed, not proven: whoever can run `exec` with the data dir
//! and the signing key can claim any actor. So it is an operator's tool, and
//! it refuses to speak as a chat platform's person (`slack:`, `discord:`,
//! `github:` and their groups) unless `--trusted` says the caller vouches
//! for that identity (a CI job mapping its own authenticated user, say).

use super::settings::{Area, Flags, Settings};
use super::setup;
use crate::chat::console::{Printer, Silent};
use crate::engine::ports::Notify;
use crate::engine::{Outcome, Request};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The config repo: a git URL or a local path (else `HOIST_REPO`).
    #[arg(long)]
    repo: Option<String>,
    /// Where hoist keeps its mirror and journal (else `HOIST_DATA_DIR`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Who is asking: `console:alice`, or (with `--trusted`) `slack:U123`, ...
    #[arg(long = "as", value_name = "ACTOR")]
    actor: String,
    /// The caller vouches for `--as`: needed to act as a chat platform's user.
    #[arg(long)]
    trusted: bool,
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

/// Chat platforms whose people `--as` may name only with `--trusted`.
const CHAT_PLATFORMS: [&str; 3] = ["slack", "discord", "github"];

/// `platform:id` with a plain platform name and an id of `[A-Za-z0-9._@+-]`;
/// a chat platform's person only when `trusted`.
fn check_actor(actor: &str, trusted: bool) -> Result<(), String> {
    let shape =
        "expected `platform:id`, e.g. `console:alice` (letters, digits and `._@+-` in the id)";
    let Some((platform, id)) = actor.split_once(':') else {
        return Err(format!(
            "--as `{}`: {shape}",
            hoist_commands::visible(actor)
        ));
    };
    let platform_ok = (1..=32).contains(&platform.len())
        && platform
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let id_ok = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'+' | b'-'));
    if !platform_ok || !id_ok {
        return Err(format!(
            "--as `{}`: {shape}",
            hoist_commands::visible(actor)
        ));
    }
    let chat = CHAT_PLATFORMS
        .iter()
        .any(|p| platform == *p || platform.strip_prefix(p).is_some_and(|r| r.starts_with('-')));
    if chat && !trusted {
        return Err(format!(
            "--as {actor}: exec cannot prove who a {platform} user is; pass --trusted if this \
             caller vouches for that identity, or act as a console:NAME listed in hoist.yaml"
        ));
    }
    Ok(())
}

/// `--channel` is a claim too: a chat channel (an incident channel opens the
/// break-glass path) only with `--trusted`.
fn check_channel(channel: Option<&str>, trusted: bool) -> Result<(), String> {
    let Some(channel) = channel else {
        return Ok(());
    };
    let platform = channel.split_once(':').map_or(channel, |(p, _)| p);
    if CHAT_PLATFORMS.contains(&platform) && !trusted {
        return Err(format!(
            "--channel {}: exec cannot prove a request comes from a {platform} channel \
             (an incident channel passes locks and freezes); pass --trusted if this caller \
             vouches for it",
            hoist_commands::visible(channel)
        ));
    }
    Ok(())
}

pub fn run(args: ExecArgs) -> anyhow::Result<i32> {
    let claims = check_actor(&args.actor, args.trusted)
        .and_then(|()| check_channel(args.channel.as_deref(), args.trusted));
    if let Err(why) = claims {
        print(args.json, &crate::engine::Reply::refused(why));
        return Ok(1);
    }
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
    // A bad setting or key, or an unreachable repo, is an answer too:
    // `--json` callers get one object whatever happens.
    let flags = Flags {
        repo: args.repo.clone(),
        data_dir: args.data_dir.clone(),
        listen: None,
    };
    let engine = match Settings::from_env(Area::EXEC, &flags)
        .map_err(anyhow::Error::from)
        .and_then(|s| {
            super::arm_kill_switch(&s);
            let signer = setup::signer(&s.git)?;
            let cluster = setup::cluster(&s.cluster)?;
            let engine = crate::engine::Settings {
                wait: !args.no_wait,
                push: s.git.push.clone(),
                pr_poll: s.github.poll,
                ..crate::engine::Settings::default()
            };
            let place = &s.place;
            let hub = setup::github(&s.github, &place.repo)?;
            let git = setup::git_access(&s.git, &s.github, hub.as_ref(), &place.repo);
            setup::engine(
                &place.data_dir,
                &place.repo,
                signer,
                &git,
                cluster,
                hub.map(|h| h as Arc<dyn crate::engine::ports::Forge>),
                notify,
                engine,
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
    // Its own rollout is followed to the end (unless --no-wait); rollouts
    // other processes left behind are not waited for.
    let reply = engine.wait(reply);
    print(args.json, &reply);
    Ok(match reply.outcome {
        Outcome::Ok => 0,
        Outcome::Refused => 1,
        Outcome::Error => 2,
    })
}

#[cfg(test)]
mod tests {
    use super::check_actor;

    #[test]
    fn channel_names_a_chat_channel_only_when_trusted() {
        use super::check_channel;
        assert!(check_channel(None, false).is_ok());
        assert!(check_channel(Some("console:ops"), false).is_ok());
        assert!(
            check_channel(Some("slack:C0INCIDENT"), false)
                .unwrap_err()
                .contains("--trusted")
        );
        assert!(check_channel(Some("slack:C0INCIDENT"), true).is_ok());
    }

    #[test]
    fn as_names_a_chat_user_only_when_trusted() {
        assert!(check_actor("console:alice", false).is_ok());
        assert!(check_actor("ci:deploy-bot", false).is_ok());
        for chat in [
            "slack:U0SRE1",
            "discord:8035",
            "github:octocat",
            "slack-group:S1",
        ] {
            assert!(
                check_actor(chat, false).unwrap_err().contains("--trusted"),
                "{chat}"
            );
            assert!(check_actor(chat, true).is_ok(), "{chat}");
        }
        for bad in [
            "alice",
            "console:",
            ":x",
            "console:a b",
            "console:a\nHoist-Approved-By: x",
            "Console:a",
        ] {
            assert!(check_actor(bad, true).is_err(), "{bad:?}");
        }
    }
}
