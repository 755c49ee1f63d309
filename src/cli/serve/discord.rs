//! Discord in `hoist serve`: the summary's lines (the gateway is on with
//! `DISCORD_TOKEN`, the interactions endpoint with `DISCORD_PUBLIC_KEY` too;
//! each names the variable missing when off), the platform built from the
//! settings and told who it is before anything is served (a token Discord
//! refuses stops the start), its live messages, and the engine's one
//! `Notify` when Slack and Discord are both on ([`Both`]: each update and
//! alert goes to both, and each platform ignores what is not its own: an
//! operation asked elsewhere, a channel of another prefix). The
//! interactions endpoint's handler is the Discord adapter's
//! ([`Inbound::answer`]).

use super::life::Part;
use crate::chat::Reactions;
use crate::chat::discord::gateway::Gateway;
use crate::chat::discord::inbound::{self, Inbound};
use crate::chat::discord::{Config, Discord, register, text};
use crate::chat::live::Live;
use crate::cli::settings::discord::Discord as Settings;
use crate::engine::Operation;
use crate::engine::ports::{Journal, Notify};
use crate::server::discord::{Answer, Handler};
use anyhow::anyhow;
use std::sync::Arc;

/// The platform's settings from `hoist`'s.
pub fn config(s: &Settings) -> Config {
    Config {
        token: s.token.expose().to_string(),
        api_url: s.api_url.clone(),
        role_ttl: s.role_ttl,
        // Named as inbound reactions are: `✅\u{FE0F}` is `✅`.
        reactions: Reactions {
            approve: s.approve.iter().map(|n| text::reaction_name(n)).collect(),
            deny: s.deny.iter().map(|n| text::reaction_name(n)).collect(),
        },
    }
}

/// The summary's Discord lines.
pub fn parts(s: Option<&Settings>) -> Vec<Part> {
    let Some(s) = s else {
        return vec![Part::Off(
            "Discord: DISCORD_TOKEN is not set (and DISCORD_PUBLIC_KEY for /hoist over \
             interactions)"
                .into(),
        )];
    };
    let at = s.api_url.as_deref().unwrap_or("https://discord.com");
    vec![
        Part::On(format!(
            "Discord gateway at {at} (messages by mention or `{}`, reactions)",
            s.prefix
        )),
        match s.public_key {
            Some(_) => Part::On("Discord interactions (POST /discord/interactions)".into()),
            None => Part::Off(
                "Discord interactions: DISCORD_PUBLIC_KEY is not set (/hoist and buttons)".into(),
            ),
        },
    ]
}

/// Discord, set up and identified; its live messages.
pub struct Started {
    pub discord: Discord,
    pub config: Config,
    pub live: Arc<Live<Discord>>,
}

/// Set Discord up on `work_rt` (its live messages' runtime).
pub fn start(
    s: &Settings,
    work_rt: &tokio::runtime::Runtime,
    journal: Arc<dyn Journal>,
) -> anyhow::Result<Started> {
    let config = config(s);
    let discord = Discord::new(&config)?;
    work_rt
        .block_on(register::identify(&discord))
        .map_err(|e| anyhow!("Discord: {e} (is DISCORD_TOKEN a bot token?)"))?;
    let live = {
        let _in_runtime = work_rt.enter();
        inbound::live(&discord, &config, journal)
    };
    Ok(Started {
        discord,
        config,
        live,
    })
}

/// Every update and alert to each platform's `Notify`.
pub struct Both(pub Vec<Arc<dyn Notify>>);

impl std::fmt::Debug for Both {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Both").field(&self.0.len()).finish()
    }
}

impl Notify for Both {
    fn update(&self, op: &Operation, text: &str) {
        for n in &self.0 {
            n.update(op, text);
        }
    }

    fn alert(&self, channel: &str, text: &str) {
        for n in &self.0 {
            n.alert(channel, text);
        }
    }
}

impl Handler for Arc<Inbound> {
    fn answer(&self, body: &[u8]) -> Answer {
        Inbound::answer(self, body)
    }
}

/// With replicas, only the leader holds Discord's gateway (it sends every
/// event to every connection, and a reaction has no id to be handled once
/// by): connected when this replica starts leading, closed when it stops.
/// The Lease's callback only queues the change; one task connects and
/// closes, in order, so the callback never waits on Discord.
pub fn leader_gateway(
    inbound: Arc<Inbound>,
    config: Config,
    slot: Arc<tokio::sync::Mutex<Option<Gateway>>>,
) -> Box<dyn Fn(bool) + Send> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    tokio::spawn(async move {
        while let Some(leading) = rx.recv().await {
            let mut held = slot.lock().await;
            if let Some(g) = held.take() {
                g.stop().await;
            }
            if leading {
                match Gateway::start(inbound.clone(), &config).await {
                    Ok(g) => *held = Some(g),
                    Err(e) => super::life::tell(true, &format!("discord gateway: {e}")),
                }
            }
        }
    });
    Box::new(move |leading| {
        let _ = tx.send(leading);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Said(Mutex<Vec<String>>);

    impl Notify for Said {
        fn update(&self, op: &Operation, text: &str) {
            self.0.lock().unwrap().push(format!("{} {text}", op.id));
        }
        fn alert(&self, channel: &str, text: &str) {
            self.0.lock().unwrap().push(format!("{channel} {text}"));
        }
    }

    #[test]
    fn both_platforms_hear_every_update_and_alert() {
        let (a, b) = (Arc::new(Said::default()), Arc::new(Said::default()));
        let both = Both(vec![a.clone(), b.clone()]);
        both.alert("discord:1", "drift");
        for s in [a, b] {
            assert_eq!(*s.0.lock().unwrap(), ["discord:1 drift"]);
        }
    }

    #[test]
    fn configured_reactions_are_named_as_inbound_ones_are() {
        let mut s = settings();
        s.approve = vec!["👍🏽".into(), "✅\u{FE0F}".into(), "shipit".into()];
        let c = config(&s);
        assert_eq!(c.reactions.approve, ["👍", "✅", "shipit"]);
        assert_eq!(c.token, "t");
    }

    fn settings() -> Settings {
        Settings {
            token: crate::cli::settings::Secret::new("t".into()),
            public_key: None,
            api_url: None,
            prefix: "!hoist".into(),
            role_ttl: std::time::Duration::from_secs(300),
            approve: vec![],
            deny: vec![],
        }
    }

    #[test]
    fn the_summary_names_what_is_missing() {
        let off = parts(None);
        assert!(matches!(&off[..], [Part::Off(t)] if t.contains("DISCORD_TOKEN")));
        let p = parts(Some(&settings()));
        assert!(matches!(&p[0], Part::On(t) if t.contains("gateway")));
        assert!(matches!(&p[1], Part::Off(t) if t.contains("DISCORD_PUBLIC_KEY")));
    }
}
