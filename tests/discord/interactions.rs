//! Discord's HTTP interactions end to end, signed as Discord signs them
//! (Ed25519, the RFC 8032 test key): a bad or missing signature gets 401 and
//! hoist calls nothing; PING gets PONG; `/hoist` is answered with a deferred
//! response at once and the result edited in through the interaction's
//! webhook; the Approve button votes; `hoist discord register` overwrites
//! the `/hoist` command of a guild.

use crate::discord_e2e::{
    ALICE, CAROL, DAVE, DEPLOY, DEV, SRE, WAIT, connected, hoist_commits, live_says, world,
};
use crate::support::discord::{self, APP, FakeDiscord, GUILD, wire};
use crate::support::slack::post;
use crate::support::{BIN, Bot};
use serde_json::{Value, json};
use std::time::Duration;

/// POST `body` to hoist's interactions endpoint with `headers`: (status,
/// answer); Discord gives up after 3 s, so every answer must beat that.
fn send(bot: &Bot, headers: &[(&str, String)], body: &str) -> (u16, String) {
    let (status, answer, took) = post(&bot.addr, "/discord/interactions", headers, body);
    assert!(took < Duration::from_secs(3), "answered in {took:?}");
    (status, answer)
}

fn signed(bot: &Bot, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let (status, answer) = send(bot, &discord::signed(&discord::now(), &body), &body);
    (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
}

#[test]
fn bad_or_missing_signatures_get_401_and_nothing_else_and_a_ping_gets_pong() {
    let w = world();
    let (fake, bot) = connected(&w);
    let before = fake.calls().len();
    let body = wire::command(
        "1",
        "tok",
        &asker(ALICE, &[DEV]),
        "deploy api v1.2.4 to staging",
    )
    .to_string();
    let t = discord::now();
    let good = discord::signed(&t, &body);
    let flip = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b[5] = if b[5] == b'0' { b'1' } else { b'0' };
        String::from_utf8(b).unwrap()
    };
    let with = |sig: String, ts: String| {
        vec![
            ("Content-Type", "application/json".to_string()),
            ("X-Signature-Ed25519", sig),
            ("X-Signature-Timestamp", ts),
        ]
    };
    let old = (t.parse::<i64>().unwrap() - 3600).to_string();
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, String);
    let cases: Vec<Case> = vec![
        (
            "one flipped byte in the body",
            good.clone(),
            body.replacen("staging", "stagin9", 1),
        ),
        (
            "one flipped byte in the timestamp",
            with(good[1].1.clone(), flip(&t)),
            body.clone(),
        ),
        (
            "one flipped byte in the signature",
            with(flip(&good[1].1), t.clone()),
            body.clone(),
        ),
        (
            "a signature of an hour ago",
            with(discord::sign(&old, &body), old),
            body.clone(),
        ),
        (
            "no signature headers",
            vec![("Content-Type", "application/json".into())],
            body.clone(),
        ),
        (
            "no timestamp",
            vec![good[0].clone(), good[1].clone()],
            body.clone(),
        ),
    ];
    for (case, headers, body) in cases {
        let (status, _) = send(&bot, &headers, &body);
        assert_eq!(status, 401, "{case}");
    }
    let (status, pong) = signed(&bot, &wire::ping("2"));
    assert_eq!((status, &pong), (200, &json!({"type": 1})), "PONG");
    std::thread::sleep(Duration::from_millis(300));
    let after: Vec<String> = fake.calls()[before..]
        .iter()
        .map(|c| c.route.clone())
        .collect();
    assert!(
        after.is_empty(),
        "a refused interaction makes no call: {after:?}"
    );
    assert!(hoist_commits(&w).is_empty());
}

fn asker<'a>(user: &'a str, roles: &'a [&'a str]) -> wire::Asker<'a> {
    wire::Asker {
        user,
        roles,
        channel: DEPLOY,
        parent: None,
    }
}

#[test]
fn a_prod_deploy_through_slash_hoist_lands_after_two_approve_buttons() {
    let w = world();
    let (fake, bot) = connected(&w);
    let token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpBbGljZQ";
    let cmd = wire::command(
        &fake.snowflake(),
        token,
        &asker(ALICE, &[DEV]),
        "deploy api v1.2.4 to prod",
    );
    // Discord's global limit answers the first call after: hoist waits it out.
    fake.global_limit(1);
    let (status, ack) = signed(&bot, &cmd);
    assert_eq!(status, 200);
    assert_eq!(ack["type"], 5, "a deferred answer at once: {ack}");

    // Nobody saw the command, so hoist says it in the channel (the echo)
    // and the operation's thread hangs from that.
    let echo = fake.wait_message(DEPLOY, "deploy api v1.2.4 to prod", WAIT);
    let live = fake.wait_message(&echo.id, "needs 2 approval(s)", WAIT);
    // hoist notes its thread after Discord answers the live message's post,
    // then asks for approval: a press before that note would be taken as
    // one in some other thread (and answered through its own token).
    fake.wait_message(&echo.id, "Approval needed", WAIT);
    assert_eq!(
        fake.channel(&echo.id).and_then(|c| c.parent).as_deref(),
        Some(DEPLOY)
    );
    let original = format!("/webhooks/{APP}/{token}/messages/@original");
    fake.wait("the deferred answer edited", WAIT, |f| {
        f.calls()
            .into_iter()
            .find(|c| c.method == "PATCH" && c.path == original && c.status == 200)
    });

    let calls = fake.calls();
    let limited = calls
        .iter()
        .position(|c| c.status == 429)
        .expect("a global 429");
    assert!(
        calls[limited + 1..]
            .iter()
            .any(|c| c.route == calls[limited].route && c.status < 300),
        "the same call again after the wait: {:?}",
        &calls[limited..]
    );

    let hoists = fake_message(&fake, &live.id);
    // The requester's own Approve does not count; her /hoist is still
    // pending, so she is told in an ephemeral follow-up of it.
    let own = wire::Asker {
        user: ALICE,
        roles: &[DEV],
        channel: &echo.id,
        parent: Some(DEPLOY),
    };
    let press = wire::press(
        &fake.snowflake(),
        "aW50ZXJhY3Rpb246b3du",
        &own,
        hoists.clone(),
        "hoist:approve:1",
    );
    assert_eq!(signed(&bot, &press).1["type"], 6);
    let followups = format!("/webhooks/{APP}/{token}");
    let told = fake.wait("the requester told", WAIT, |f| {
        f.calls().into_iter().find(|c| {
            c.method == "POST" && c.path == followups && c.body.to_string().contains("not counted")
        })
    });
    assert_eq!(told.body["flags"], 64, "ephemeral: {}", told.body);
    assert!(
        fake.message(&live.id)
            .unwrap()
            .text()
            .contains("needs 2 approval(s)"),
        "the live message is not overwritten"
    );
    for (n, user) in [CAROL, DAVE].iter().enumerate() {
        let who = wire::Asker {
            user,
            roles: &[SRE],
            channel: &echo.id,
            parent: Some(DEPLOY),
        };
        let press = wire::press(
            &fake.snowflake(),
            &format!("{token}{n}"),
            &who,
            hoists.clone(),
            "hoist:approve:1",
        );
        let (status, ack) = signed(&bot, &press);
        assert_eq!((status, &ack["type"]), (200, &json!(6)), "{ack}");
        if n == 0 {
            live_says(&fake, &live, "1 of 2");
            assert!(hoist_commits(&w).is_empty(), "one approval is not enough");
        }
    }
    crate::discord_e2e::wait_until("the commit", || hoist_commits(&w).len() == 1);
    assert_eq!(
        w.tip_trailers("Hoist-Approved-By"),
        [format!("discord:{CAROL}"), format!("discord:{DAVE}")]
    );
    let link = format!("https://discord.com/channels/{GUILD}/{DEPLOY}/{}", echo.id);
    assert_eq!(w.tip_trailers("Hoist-Chat"), [link]);
    assert!(w.verify("main", &w.allowed_signers).status.success());
    live_says(&fake, &live, "pushed");
}

/// hoist's message `id` as Discord would put it in an interaction.
fn fake_message(fake: &FakeDiscord, id: &str) -> Value {
    let m = fake.message(id).expect("hoist posted it");
    let mut v = wire::message(
        &m.id,
        &m.channel,
        &m.author,
        m.body["content"].as_str().unwrap_or(""),
    );
    v["components"] = m.body["components"].clone();
    v["embeds"] = m.body["embeds"].clone();
    v
}

/// `hoist discord register ARGS` against `fake`: what it said.
fn register(fake: &FakeDiscord, args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["discord", "register"])
        .args(args)
        .env("HOME", home.path())
        .env("DISCORD_TOKEN", discord::TOKEN)
        .env("DISCORD_API_URL", &fake.url)
        .env_remove("DISCORD_PUBLIC_KEY")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(
        !said.contains(discord::TOKEN),
        "the token never shows: {said}"
    );
    said
}

#[test]
fn register_overwrites_slash_hoist_with_one_command_option_in_a_guild_or_globally() {
    let fake = FakeDiscord::start(&[]);
    let said = register(&fake, &["--guild", GUILD]);
    assert!(said.contains("hoist"), "says what it did: {said}");
    let puts = fake.calls_of("PUT /applications/{id}/guilds/{id}/commands");
    assert_eq!(puts.len(), 1, "{:?}", fake.calls());
    assert_eq!(
        puts[0].path,
        format!("/applications/{APP}/guilds/{GUILD}/commands")
    );
    let commands = puts[0]
        .body
        .as_array()
        .expect("a bulk overwrite: an array")
        .clone();
    assert_eq!(commands.len(), 1, "{commands:?}");
    let hoist = &commands[0];
    assert_eq!(hoist["name"], "hoist", "{hoist}");
    assert!(
        hoist["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{hoist}"
    );
    let option = &hoist["options"][0];
    assert_eq!(
        (&option["name"], &option["type"], &option["required"]),
        (&json!("command"), &json!(3), &json!(true)),
        "{hoist}"
    );
    assert!(fake.commands(GUILD).is_some());
    assert!(fake.commands("global").is_none(), "a guild's only");

    register(&fake, &[]);
    let global = fake.calls_of("PUT /applications/{id}/commands");
    assert_eq!(global.len(), 1, "{:?}", fake.calls());
    assert_eq!(global[0].path, format!("/applications/{APP}/commands"));
    assert_eq!(global[0].body, puts[0].body, "the same command");
    // A guild id that is not a snowflake never reaches a URL.
    let before = fake.calls().len();
    let out = std::process::Command::new(BIN)
        .args(["discord", "register", "--guild", "../../users/@me"])
        .env("DISCORD_TOKEN", discord::TOKEN)
        .env("DISCORD_API_URL", &fake.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let after: Vec<_> = fake.calls()[before..]
        .iter()
        .map(|c| c.path.clone())
        .collect();
    assert!(
        after
            .iter()
            .all(|p| !p.contains("users/@me/commands") && !p.contains("..")),
        "{after:?}"
    );
}

#[test]
fn serve_says_which_discord_parts_are_on_and_names_the_missing_variable() {
    let w = world();
    let fake = FakeDiscord::start(&[DEPLOY]);
    let mut cmd = crate::support::serve_command(&w, w.origin.to_str().unwrap());
    cmd.env("DISCORD_TOKEN", discord::TOKEN)
        .env("DISCORD_API_URL", &fake.url)
        .stderr(std::process::Stdio::piped());
    let bot = Bot::start(cmd);
    fake.wait_session(WAIT);
    let (status, _, _) = post(&bot.addr, "/discord/interactions", &[], "{}");
    assert_eq!(status, 404, "no public key, no endpoint");
    let said = crate::forge_e2e::said_by(bot);
    assert!(said.contains("Discord gateway"), "{said}");
    assert!(
        said.contains("DISCORD_PUBLIC_KEY is not set"),
        "names what is missing: {said}"
    );
    assert!(
        !said.contains(discord::TOKEN),
        "the token never shows: {said}"
    );
}
