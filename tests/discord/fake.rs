//! The fake Discord against serenity itself (the client hoist uses): every
//! payload the fake sends deserializes in serenity's models, serenity's REST
//! client reaches it through `HttpBuilder::proxy`, and serenity's gateway
//! client identifies, heartbeats, gets its dispatches, and RESUMEs after a
//! dropped socket with the fake replaying what it missed. If Discord's shapes
//! and the fake's ever part ways, these fail before any hoist test does.

use crate::support::discord::{self, BOT, FakeDiscord, GUILD, TOKEN, wire};
use serde_json::{Value, json};
use serenity::all::{Event, GatewayIntents, Http, HttpBuilder};
use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CHANNEL: &str = "1200000000000000010";
const ALICE: &str = "1200000000000000020";
const SRE: &str = "1200000000000000030";

fn parse<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> T {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{what} does not read in serenity: {e}\n{v:#}"))
}

#[test]
fn every_payload_the_fake_sends_reads_in_serenity() {
    use serenity::all::{
        CurrentApplicationInfo, GatewayEvent, GuildChannel, Interaction, Member, Message,
        PrivateChannel,
    };
    let created = wire::message_create(
        "1",
        CHANNEL,
        ALICE,
        &[SRE],
        &format!("<@{BOT}> deploy api v2 to prod"),
    );
    let m: Message = parse("MESSAGE_CREATE", created.clone());
    assert_eq!(m.mentions.len(), 1, "the bot is mentioned");
    assert_eq!(m.member.unwrap().roles[0].to_string(), SRE);
    let frame = json!({"op": 0, "s": 3, "t": "MESSAGE_CREATE", "d": created});
    assert!(matches!(
        parse::<GatewayEvent>("dispatch", frame),
        GatewayEvent::Dispatch(3, Event::MessageCreate(_))
    ));
    for (t, d) in [
        ("READY", wire::ready("s", "ws://127.0.0.1:1")),
        (
            "MESSAGE_REACTION_ADD",
            wire::reaction_add(ALICE, &[SRE], CHANNEL, "1", "✅"),
        ),
        (
            "MESSAGE_REACTION_REMOVE",
            wire::reaction_remove(ALICE, CHANNEL, "1", "✅"),
        ),
        ("RESUMED", json!({})),
    ] {
        let event = parse::<GatewayEvent>(t, json!({"op": 0, "s": 1, "t": t, "d": d}));
        assert!(matches!(event, GatewayEvent::Dispatch(1, _)), "{t}");
    }
    let _: GuildChannel = parse("thread", wire::channel("9", 11, Some(GUILD), Some(CHANNEL)));
    let _: GuildChannel = parse("text channel", wire::channel("9", 0, Some(GUILD), None));
    let _: PrivateChannel = parse("DM", wire::dm_channel("9", ALICE));
    let _: Member = parse("member", wire::member(ALICE, &[SRE], true));
    let _: CurrentApplicationInfo = parse("application", wire::application(discord::PUBLIC_KEY));
    let _: Message = parse("message", wire::message("2", CHANNEL, BOT, "hi"));
    assert!(matches!(
        parse::<Interaction>("ping", wire::ping("5")),
        Interaction::Ping(_)
    ));
    let alice = wire::Asker {
        user: ALICE,
        roles: &[SRE],
        channel: CHANNEL,
        parent: None,
    };
    let cmd = parse::<Interaction>("command", wire::command("5", "tok", &alice, "status"));
    let Interaction::Command(cmd) = cmd else {
        panic!("not a command")
    };
    assert_eq!(cmd.data.options[0].value.as_str(), Some("status"));
    let hoists = wire::message("2", CHANNEL, BOT, "x");
    let press = wire::press("6", "tok", &alice, hoists, "hoist:approve:1");
    assert!(matches!(
        parse::<Interaction>("press", press),
        Interaction::Component(_)
    ));
}

fn http(fake: &FakeDiscord) -> Arc<Http> {
    // serenity's ratelimiter sends to discord.com whatever the proxy says
    // (serenity-rs/serenity#1739), so a client of the fake goes without it.
    Arc::new(
        HttpBuilder::new(TOKEN)
            .proxy(fake.url.as_str())
            .ratelimiter_disabled(true)
            .build(),
    )
}

#[test]
fn serenity_rest_reaches_the_fake_and_reads_its_answers_and_refusals() {
    let fake = FakeDiscord::start(&[CHANNEL]);
    let http = http(&fake);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let gw = http.get_bot_gateway().await.unwrap();
        assert!(gw.url.starts_with("ws://127.0.0.1:"), "{}", gw.url);
        let me = http.get_current_user().await.unwrap();
        assert_eq!(me.id.to_string(), BOT);
        let channel = serenity::all::ChannelId::new(CHANNEL.parse().unwrap());
        let sent = channel.say(&http, "hello").await.unwrap();
        let map = json!({"name": "deploy api", "auto_archive_duration": 1440});
        let thread = http
            .create_thread_from_message(channel, sent.id, &map, None)
            .await
            .unwrap();
        assert_eq!(thread.id, sent.id.get(), "a thread's id is its message's");
        assert_eq!(thread.parent_id, Some(channel));
        let again = http
            .create_thread_from_message(channel, sent.id, &map, None)
            .await
            .unwrap_err();
        assert!(format!("{again:?}").contains("160004"), "{again:?}");
        let member = http
            .get_member(
                GUILD.parse::<u64>().unwrap().into(),
                ALICE.parse::<u64>().unwrap().into(),
            )
            .await;
        assert!(format!("{member:?}").contains("10007"), "{member:?}");
    });
    fake.set_roles(ALICE, &[SRE]);
    let member = rt
        .block_on(http.get_member(
            GUILD.parse::<u64>().unwrap().into(),
            ALICE.parse::<u64>().unwrap().into(),
        ))
        .unwrap();
    assert_eq!(member.roles[0].to_string(), SRE);
    let calls = fake.calls();
    assert!(
        calls
            .iter()
            .all(|c| c.headers["authorization"] == format!("Bot {TOKEN}"))
    );
    let routes: Vec<&str> = calls.iter().map(|c| c.route.as_str()).collect();
    assert!(
        routes.contains(&"POST /channels/{id}/messages/{id}/threads"),
        "{routes:?}"
    );
}

/// Records what serenity's gateway client hands its handler.
struct Seen(Arc<Mutex<Vec<String>>>);

#[serenity::async_trait]
impl serenity::all::RawEventHandler for Seen {
    async fn raw_event(&self, _ctx: serenity::all::Context, ev: Event) {
        let what = match &ev {
            Event::MessageCreate(m) => format!("message {}", m.message.content),
            Event::ReactionAdd(r) => format!("reaction {}", r.reaction.emoji),
            Event::Ready(_) => "ready".into(),
            Event::Resumed(_) => "resumed".into(),
            other => format!("{other:?}").chars().take(40).collect(),
        };
        self.0.lock().unwrap().push(what);
    }
}

#[test]
fn serenity_gateway_identifies_gets_dispatches_and_resumes_after_a_drop() {
    let fake = FakeDiscord::start(&[CHANNEL]);
    fake.set_heartbeat_ms(300);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let intents = GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::GUILD_MESSAGE_REACTIONS
        | GatewayIntents::MESSAGE_CONTENT;
    let http = HttpBuilder::new(TOKEN)
        .proxy(fake.url.as_str())
        .ratelimiter_disabled(true)
        .build();
    let mut client = rt
        .block_on(
            serenity::all::ClientBuilder::new_with_http(http, intents)
                .raw_event_handler(Seen(seen.clone()))
                .into_future(),
        )
        .unwrap();
    rt.spawn(async move { client.start().await });
    let session = fake.wait_session(Duration::from_secs(10));
    let identify = fake.identifies()[0].clone();
    assert_eq!(
        identify["intents"].as_u64(),
        Some(intents.bits()),
        "{identify}"
    );
    let said = |needle: &str| {
        let seen = seen.clone();
        let needle = needle.to_string();
        fake.wait(&needle.clone(), Duration::from_secs(10), move |_| {
            seen.lock()
                .unwrap()
                .iter()
                .any(|s| s == &needle)
                .then_some(())
        })
    };
    fake.say(ALICE, &[SRE], CHANNEL, "one");
    said("message one");
    fake.wait("heartbeats", Duration::from_secs(5), |f| {
        (f.heartbeats() >= 2).then_some(())
    });

    fake.drop_socket();
    let missed = fake.say(ALICE, &[SRE], CHANNEL, "two");
    fake.react(ALICE, &[SRE], CHANNEL, &missed, "✅");
    said("resumed");
    let resume = fake.resumes()[0].clone();
    assert_eq!(resume["session_id"], session.as_str(), "{resume}");
    assert_eq!(
        resume["seq"].as_u64(),
        Some(2),
        "READY was 1, `one` was 2: {resume}"
    );
    said("message two");
    said("reaction ✅");
    let seen = seen.lock().unwrap().clone();
    let ones = seen.iter().filter(|s| *s == "message one").count();
    assert_eq!(
        ones, 2,
        "the fake replays the last event seen, once more: {seen:?}"
    );
    assert_eq!(fake.identifies().len(), 1, "resumed, not identified again");
}
