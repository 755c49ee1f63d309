//! Discord end to end: the real `hoist serve` binary against the fake
//! Discord of `support::discord` (REST and the gateway websocket on
//! loopback), a bare origin on disk judged by the git CLI. A prod deploy
//! asked by mention over the gateway waits for two reactions of members
//! holding the SRE role (the requester's own and an outsider's are refused,
//! by DM), then lands as a signed commit whose trailers name the approvers
//! and the request's message link; the live message is edited in its
//! thread through the stages, through a 429 on the way.

use crate::support::discord::{self, BOT, FakeDiscord, GUILD, Posted};
use crate::support::{Bot, World, git, serve_command};
use std::time::{Duration, Instant};

pub const DEPLOY: &str = "1200000000000000101";
pub const INCIDENT: &str = "1200000000000000102";
pub const SRE: &str = "1200000000000000201";
pub const DEV: &str = "1200000000000000202";
pub const ALICE: &str = "1200000000000000301";
pub const CAROL: &str = "1200000000000000302";
pub const DAVE: &str = "1200000000000000303";
pub const MALLORY: &str = "1200000000000000304";
pub const WAIT: Duration = Duration::from_secs(15);

/// prod needs two approvals from the SRE role and takes requests in
/// DEPLOY (and incident rollbacks in INCIDENT, with no approvals); console
/// people stand in for earlier history.
pub fn policy() -> String {
    format!(
        "\
groups:
  sre: [discord-role:{SRE}, console:carol, console:dave]
  devs: [discord-role:{DEV}, console:alice]
environments:
  staging:
    deployers: [devs, sre]
  prod:
    deployers: [devs, sre]
    approvals: {{ count: 2, from: [sre] }}
    channels: [discord:{DEPLOY}]
    incident_channels: [discord:{INCIDENT}]
    break_glass: {{ approvals: 0 }}
apps:
  api:
    targets:
      staging: {{ file: apps/api/overlays/staging/kustomization.yaml, kustomize_image: ghcr.io/acme/api }}
      prod:    {{ file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }}
"
    )
}

pub fn world() -> World {
    let w = World::new();
    w.commit_file("hoist.yaml", &policy(), "policy with Discord roles");
    w
}

/// `hoist serve` with the fake Discord's token, API URL and public key.
pub fn serve(w: &World, fake: &FakeDiscord, extra: &[(&str, &str)]) -> Bot {
    let mut cmd = serve_command(w, w.origin.to_str().unwrap());
    cmd.env("HOIST_SIGNING_KEY", &w.key)
        .env("DISCORD_TOKEN", discord::TOKEN)
        .env("DISCORD_API_URL", &fake.url)
        .env("DISCORD_PUBLIC_KEY", discord::PUBLIC_KEY)
        .envs(extra.iter().copied())
        .stderr(std::process::Stdio::inherit());
    Bot::start(cmd)
}

/// The fake with the deploy and incident channels, the role holders, and
/// hoist connected to its gateway.
pub fn connected(w: &World) -> (FakeDiscord, Bot) {
    let fake = FakeDiscord::start(&[DEPLOY, INCIDENT]);
    for (user, roles) in [
        (ALICE, &[DEV][..]),
        (CAROL, &[SRE]),
        (DAVE, &[SRE]),
        (MALLORY, &[]),
    ] {
        fake.set_roles(user, roles);
    }
    let bot = serve(w, &fake, &[]);
    fake.wait_session(WAIT);
    (fake, bot)
}

/// `<@hoist> text`, as a person addresses hoist.
pub fn mention(text: &str) -> String {
    format!("<@{BOT}> {text}")
}

/// Commits on origin's main written by hoist.
pub fn hoist_commits(w: &World) -> Vec<String> {
    git(
        &w.origin,
        &["log", "--format=%H", "--grep=^Hoist-Operation:", "main"],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

pub fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The DM hoist sent `user` containing `needle`.
pub fn dm_to(fake: &FakeDiscord, user: &str, needle: &str) -> Posted {
    fake.wait(&format!("a DM to {user} with {needle:?}"), WAIT, |f| {
        let dm = f.dm_of(user)?;
        f.messages()
            .into_iter()
            .find(|m| m.channel == dm && m.text().contains(needle))
    })
}

/// v1.2.4 then v1.2.5 reach prod before hoist meets Discord: asked and
/// approved on the console, the history a rollback goes back in.
pub fn two_prod_deploys_on_the_console(w: &World) {
    for v in ["v1.2.4", "v1.2.5"] {
        let (code, asked) = w.exec("console:alice", &format!("deploy api {v} to prod"));
        assert_eq!(code, 0, "{asked}");
        let id = asked["operation"].as_u64().expect("an operation");
        for who in ["console:carol", "console:dave"] {
            let (code, r) = w.exec(who, &format!("approve {id}"));
            assert_eq!(code, 0, "{r}");
        }
    }
}

/// Alice asks by mention in DEPLOY for the prod deploy that needs two SRE
/// approvals: the request's id and hoist's live message in its thread,
/// once the approval request is posted too. hoist notes the live message
/// after Discord answers its post, and posts the approval request after
/// that: only then does a reaction on the live message find its operation.
pub fn prod_deploy_awaiting_approval(fake: &FakeDiscord) -> (String, Posted) {
    let request = fake.say(ALICE, &[DEV], DEPLOY, &mention("deploy api v1.2.4 to prod"));
    let live = fake.wait_message(&request, "needs 2 approval(s)", WAIT);
    fake.wait_message(&request, "Approval needed", WAIT);
    (request, live)
}

/// Wait until hoist's message `live`, edited in place, says `needle`.
pub fn live_says(fake: &FakeDiscord, live: &Posted, needle: &str) -> Posted {
    fake.wait(&format!("the live message at {needle}"), WAIT, |f| {
        f.message(&live.id).filter(|m| m.text().contains(needle))
    })
}

#[test]
fn a_prod_deploy_asked_by_mention_lands_after_two_sre_reactions_with_its_message_link() {
    let w = world();
    let (fake, bot) = connected(&w);
    let identify = &fake.identifies()[0];
    // GUILD_MESSAGES (1 << 9), GUILD_MESSAGE_REACTIONS (1 << 10), MESSAGE_CONTENT (1 << 15).
    let intents = identify["intents"].as_u64().unwrap();
    assert_eq!(
        intents & (1 << 9 | 1 << 10 | 1 << 15),
        1 << 9 | 1 << 10 | 1 << 15,
        "{identify}"
    );

    let request = fake.say(ALICE, &[DEV], DEPLOY, &mention("deploy api v1.2.4 to prod"));
    // The thread hangs from the request; the live message is in it.
    let live = fake.wait_message(&request, "needs 2 approval(s)", WAIT);
    let thread = fake
        .channel(&request)
        .expect("hoist started a thread from the request");
    assert_eq!((thread.kind, thread.parent.as_deref()), (11, Some(DEPLOY)));
    assert!(
        live.body["components"]
            .to_string()
            .contains("hoist:approve:1"),
        "Approve / Deny buttons: {}",
        live.body
    );
    let asked = fake.wait_message(&request, "Approval needed", WAIT);
    let mentioned = asked.body["allowed_mentions"].clone();
    assert_eq!(mentioned["parse"], serde_json::json!([]), "{mentioned}");
    assert!(
        mentioned["roles"].to_string().contains(SRE),
        "the approvers' role is pinged: {mentioned}"
    );

    // The requester and an outsider react: neither counts, and each is told:
    // by DM, or in the thread with a mention when DMs are refused (50007).
    fake.refuse_dms(MALLORY);
    fake.react(ALICE, &[DEV], &request, &live.id, "✅");
    fake.react(MALLORY, &[], &request, &live.id, "✅");
    dm_to(&fake, ALICE, "not counted");
    let told = fake.wait_message(&request, &format!("<@{MALLORY}>"), WAIT);
    assert!(told.text().contains("not counted"), "{told:?}");
    let pinged = told.body["allowed_mentions"]["users"].to_string();
    assert!(pinged.contains(MALLORY), "the mention pings: {}", told.body);
    assert!(hoist_commits(&w).is_empty(), "nothing written yet");

    // The live message's next edit meets a 429: hoist waits and edits again.
    let patch = "PATCH /channels/{id}/messages/{id}";
    fake.rate_limit(patch, 1);
    fake.react(CAROL, &[SRE], &request, &live.id, "✅");
    live_says(&fake, &live, "1 of 2");
    let edits = fake.calls_of(patch);
    let limited = edits
        .iter()
        .position(|c| c.status == 429)
        .expect("a 429 was answered");
    let retried = &edits[limited + 1..];
    assert!(
        retried
            .iter()
            .any(|c| c.status == 200 && c.path == edits[limited].path),
        "the same edit again after the wait: {edits:?}"
    );
    assert!(
        retried[0].at - edits[limited].at >= Duration::from_millis(900),
        "hoist waited the second Discord asked for"
    );
    assert!(hoist_commits(&w).is_empty(), "one approval is not enough");
    // A thumbs-up with a skin tone is a thumbs-up.
    fake.react(DAVE, &[SRE], &request, &live.id, "👍🏽");
    wait_until("the commit on origin", || hoist_commits(&w).len() == 1);
    // One trailer per approver (`Hoist-Approved-By: discord:C` twice).
    assert_eq!(
        w.tip_trailers("Hoist-Approved-By"),
        [format!("discord:{CAROL}"), format!("discord:{DAVE}")]
    );
    assert_eq!(
        w.tip_trailers("Hoist-Requested-By"),
        [format!("discord:{ALICE}")]
    );
    let link = format!("https://discord.com/channels/{GUILD}/{DEPLOY}/{request}");
    assert_eq!(w.tip_trailers("Hoist-Chat"), [link]);
    let verify = w.verify("main", &w.allowed_signers);
    assert!(verify.status.success(), "{verify:?}");
    live_says(&fake, &live, "pushed");
    let in_thread: Vec<_> = fake
        .calls_of(patch)
        .into_iter()
        .filter(|c| {
            c.status == 200 && c.path == format!("/channels/{request}/messages/{}", live.id)
        })
        .collect();
    assert!(
        in_thread.len() >= 2,
        "edited in place through the stages: {in_thread:?}"
    );
    let lives: Vec<_> = fake
        .calls_of("POST /channels/{id}/messages")
        .into_iter()
        .filter(|c| c.body.to_string().contains("needs 2 approval(s)"))
        .collect();
    assert_eq!(
        lives.len(),
        1,
        "one live message, edited, not reposted: {lives:#?}"
    );
    drop(bot);
}

#[test]
fn hostile_text_in_a_request_pings_nobody_and_links_nowhere() {
    let w = world();
    let (fake, _bot) = connected(&w);
    let evil = format!(
        "deploy api v1.2.4 to prod @everyone @here <@&{SRE}> <@{DAVE}> [click](http://evil.example) ||x|| `y`"
    );
    fake.say(ALICE, &[DEV], DEPLOY, &mention(&evil));
    // Whatever hoist answers (a refusal, by DM or in the thread), wait for it.
    fake.wait("hoist's answer", WAIT, |f| {
        let said: Vec<_> = f
            .calls()
            .into_iter()
            .filter(|c| {
                matches!(c.method.as_str(), "POST" | "PATCH") && c.route.ends_with("/messages")
            })
            .collect();
        (!said.is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    let said: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.route.contains("/messages") && !c.body.is_null())
        .collect();
    assert!(!said.is_empty());
    for c in &said {
        let mentions = &c.body["allowed_mentions"];
        assert_eq!(
            mentions["parse"],
            serde_json::json!([]),
            "{} {}",
            c.path,
            c.body
        );
        let roles = mentions["roles"].as_array().cloned().unwrap_or_default();
        assert!(roles.is_empty(), "no role pinged for a refusal: {}", c.body);
        let users = mentions["users"].as_array().cloned().unwrap_or_default();
        assert!(
            users.iter().all(|u| u == ALICE),
            "only the asker, if anyone: {}",
            c.body
        );
        let text = c.body.to_string();
        assert!(
            !text.contains("[click](http"),
            "the masked link is inert: {text}"
        );
        assert!(
            !text.contains(&format!("<@&{SRE}>")),
            "the role mention is inert: {text}"
        );
        assert!(
            !text.contains(&format!("<@{DAVE}>")),
            "the user mention is inert: {text}"
        );
    }
    assert!(hoist_commits(&w).is_empty());
}
