//! Slack end to end: the real `hoist serve` binary on 127.0.0.1, signed
//! requests made the way Slack documents them, the fake Web API of
//! `support::slack` recording what hoist says, a bare remote on disk judged
//! by the git CLI. Also Socket Mode over the fake's websocket.

mod support;

#[path = "slack/failover.rs"]
mod failover;
#[path = "slack/logs.rs"]
mod logs;
#[path = "slack/replay.rs"]
mod replay;
#[path = "slack/rollouts.rs"]
mod rollouts;
#[path = "slack/says.rs"]
mod says;
#[path = "slack/votes.rs"]
mod votes;

use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::slack::{self, FakeSlack, encode, now, post, signed};
use support::{BIN, Bot, World, git};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";
const WAIT: Duration = Duration::from_secs(20);

/// People in this policy are Slack users; `devs` is a Slack user group.
const POLICY: &str = "\
groups:
  sre: [slack:USRE1, slack:USRE2]
  devs: [slack-group:S0DEVS]
environments:
  staging:
    deployers: [devs, sre]
  prod:
    deployers: [devs, sre]
    approvals: { count: 2, from: [sre] }
    channels: [slack:C0DEPLOY]
apps:
  api:
    targets:
      staging: { file: apps/api/overlays/staging/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
";

fn serve(world: &World, fake: &FakeSlack, env: &[(&str, &str)]) -> Bot {
    let mut cmd = support::serve_command(world, world.origin.to_str().unwrap());
    cmd.env("HOIST_SIGNING_KEY", &world.key)
        .env("SLACK_BOT_TOKEN", slack::BOT_TOKEN)
        .env("SLACK_API_URL", fake.api_url())
        .envs(env.iter().copied())
        .stderr(Stdio::inherit());
    Bot::start(cmd)
}

fn world() -> World {
    let w = World::new();
    w.commit_file("hoist.yaml", POLICY, "policy with Slack people");
    w
}

fn http_bot(world: &World, fake: &FakeSlack) -> Bot {
    serve(world, fake, &[("SLACK_SIGNING_SECRET", SECRET)])
}

/// A slash command as Slack sends it, with a `trigger_id` of its own (Slack
/// gives each invocation one; hoist acts once per `trigger_id`).
fn slash_body(user: &str, channel: &str, text: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    slack::slash_form(user, channel, text, n)
}

fn callback(event_id: &str, event: Value) -> String {
    json!({"token": "x", "team_id": "T0ACME", "api_app_id": "A0HOIST", "type": "event_callback",
           "event_id": event_id, "event_time": 1_795_600_800, "event": event,
           "authorizations": [{"team_id": "T0ACME", "user_id": slack::BOT_USER, "is_bot": true}]})
    .to_string()
}

fn reaction(user: &str, name: &str, channel: &str, ts: &str) -> Value {
    json!({"type": "reaction_added", "user": user, "reaction": name, "item_user": slack::BOT_USER,
           "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": "1795600900.000100"})
}

/// Post a signed request; Slack's deadline is 3 s, so every answer must beat it.
/// The form body of `user` pressing button `action` (`hoist_approve` or
/// `hoist_deny`) on hoist's message `ts` of operation 1 in C0DEPLOY.
fn button(user: &str, action: &str, ts: &str, trigger_id: &str) -> String {
    let text = if action == "hoist_deny" {
        "Deny"
    } else {
        "Approve"
    };
    let payload = json!({"type": "block_actions", "team": {"id": "T0ACME", "domain": "acme"},
        "user": {"id": user, "username": user.to_lowercase(), "team_id": "T0ACME"}, "api_app_id": "A0HOIST",
        "token": "x", "trigger_id": trigger_id, "container": {"type": "message", "message_ts": ts,
        "channel_id": "C0DEPLOY", "is_ephemeral": false}, "channel": {"id": "C0DEPLOY", "name": "deploy"},
        "response_url": "https://hooks.slack.com/actions/T0ACME/1/x",
        "actions": [{"type": "button", "action_id": action, "block_id": "hoist-1", "value": "1",
            "text": {"type": "plain_text", "text": text}, "action_ts": "1795600999.000100"}]});
    format!("payload={}", encode(&payload.to_string()))
}

fn send(bot: &Bot, path: &str, content_type: &str, body: &str) -> (u16, String) {
    let (status, answer, took) = post(
        &bot.addr,
        path,
        &signed(SECRET, now(), body, content_type),
        body,
    );
    assert!(took < Duration::from_secs(3), "{path} answered in {took:?}");
    (status, answer)
}

fn hoist_commits(world: &World) -> Vec<String> {
    git(&world.origin, &["log", "--format=%H %s", "main"])
        .lines()
        .filter(|l| l.contains(" deploy "))
        .map(str::to_string)
        .collect()
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn prod_deploy_from_slack_waits_for_two_sre_reactions_then_commits_with_trailers() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let bot = http_bot(&w, &fake);

    let (status, _) = send(
        &bot,
        "/slack/commands",
        FORM,
        &slash_body("UALICE", "C0DEPLOY", "deploy api v1.2.4 to prod"),
    );
    assert_eq!(status, 200);
    let root = fake.wait_for(
        "chat.postMessage",
        "<@UALICE> asked: `deploy api v1.2.4 to prod`",
        WAIT,
    );
    let root_ts = root.ts.unwrap();
    let live = fake.wait_for("chat.postMessage", "needs 2 approval(s)", WAIT);
    assert_eq!(
        live.args["thread_ts"],
        root_ts.as_str(),
        "the live message is in the request's thread"
    );
    let live_ts = live.ts.clone().unwrap();
    assert!(
        live.args["blocks"].to_string().contains("hoist_approve"),
        "the approval request carries Approve / Deny buttons: {}",
        live.args["blocks"]
    );
    fake.wait_for("chat.postMessage", "Approval needed", WAIT);

    // The requester and an outsider react first: neither counts, both are told why.
    for (i, user) in ["UALICE", "UOUTSIDER"].iter().enumerate() {
        let body = callback(
            &format!("Ev0{i}"),
            reaction(user, "white_check_mark", "C0DEPLOY", &live_ts),
        );
        assert_eq!(send(&bot, "/slack/events", JSON, &body).0, 200);
    }
    wait_until("two refusals", || {
        fake.calls_of("chat.postEphemeral").len() >= 2
    });
    let told: Vec<(String, String)> = fake
        .calls_of("chat.postEphemeral")
        .iter()
        .map(|c| {
            (
                c.args["user"].as_str().unwrap().to_string(),
                c.args["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        told.iter()
            .any(|(u, t)| u == "UALICE" && t.contains("not counted")),
        "{told:?}"
    );
    assert!(
        told.iter()
            .any(|(u, t)| u == "UOUTSIDER" && t.contains("not counted")),
        "{told:?}"
    );
    assert!(hoist_commits(&w).is_empty(), "nothing written yet");

    let first = callback(
        "Ev10",
        reaction("USRE1", "white_check_mark", "C0DEPLOY", &live_ts),
    );
    assert_eq!(send(&bot, "/slack/events", JSON, &first).0, 200);
    let edit = fake.wait_for("chat.update", "1 of 2", WAIT);
    assert_eq!(
        edit.args["ts"],
        live_ts.as_str(),
        "the live message is edited in place"
    );
    assert!(hoist_commits(&w).is_empty(), "one approval is not enough");

    // A thumbs-up with a skin tone is a thumbs-up.
    let second = callback(
        "Ev11",
        reaction("USRE2", "+1::skin-tone-3", "C0DEPLOY", &live_ts),
    );
    assert_eq!(send(&bot, "/slack/events", JSON, &second).0, 200);
    wait_until("the commit on origin", || hoist_commits(&w).len() == 1);
    assert_eq!(
        w.tip_trailers("Hoist-Approved-By"),
        ["slack:USRE1", "slack:USRE2"]
    );
    assert_eq!(w.tip_trailers("Hoist-Requested-By"), ["slack:UALICE"]);
    let link = format!(
        "https://acme.slack.com/archives/C0DEPLOY/p{}",
        root_ts.replace('.', "")
    );
    assert_eq!(w.tip_trailers("Hoist-Chat"), [link]);
    let verify = w.verify("main", &w.allowed_signers);
    assert!(verify.status.success(), "{verify:?}");
    let pushed = fake.wait_for("chat.update", "pushed", WAIT);
    assert_eq!(pushed.args["ts"], live_ts.as_str());
    assert_eq!(
        fake.calls_of("chat.postMessage")
            .iter()
            .filter(|c| c.args["text"].as_str().unwrap_or("").contains("needs 2"))
            .count(),
        1,
        "one live message, edited, not reposted"
    );
}

#[test]
fn the_same_event_delivered_four_times_makes_one_operation() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    // The first post is rate limited: hoist waits as asked and posts again.
    fake.rate_limit("chat.postMessage", 1);
    let bot = http_bot(&w, &fake);
    let mention = json!({"type": "app_mention", "user": "UALICE", "channel": "C0DEV",
        "text": format!("<@{}> deploy api v1.2.4 to staging", slack::BOT_USER),
        "ts": "1795600850.000200", "event_ts": "1795600850.000200"});
    let body = callback("Ev4TIMES", mention);
    let sends: Vec<_> = (0..4)
        .map(|retry| {
            let (addr, body) = (bot.addr.clone(), body.clone());
            std::thread::spawn(move || {
                let mut headers = signed(SECRET, now(), &body, JSON);
                if retry > 0 {
                    headers.push(("X-Slack-Retry-Num", retry.to_string()));
                    headers.push(("X-Slack-Retry-Reason", "http_timeout".into()));
                }
                post(&addr, "/slack/events", &headers, &body).0
            })
        })
        .collect();
    for s in sends {
        assert_eq!(s.join().unwrap(), 200);
    }
    let live = fake.wait_for("chat.postMessage", "pushed", WAIT);
    assert_eq!(
        live.args["thread_ts"], "1795600850.000200",
        "answered in the mention's thread"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hoist_commits(&w).len(), 1, "{:?}", hoist_commits(&w));
    let posts = fake.calls_of("chat.postMessage");
    assert_eq!(posts.len(), 1, "one live message: {posts:#?}");
    assert_eq!(fake.calls_of("chat.postMessage (429)").len(), 1);
    let (_, metrics) = slack::get(&bot.addr, "/metrics");
    assert!(
        metrics.contains(
            r#"hoist_slack_api_calls_total{method="chat.postMessage",outcome="rate_limited"} 1"#
        ),
        "{metrics}"
    );
    // The fake asked for a 1 s wait, and hoist waited it.
    let waited: f64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"hoist_chat_rate_limit_wait_seconds_total{platform="slack"} "#)
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no rate-limit wait in {metrics}"));
    assert!(waited >= 1.0, "{waited}");
}

#[test]
fn unsigned_tampered_or_stale_requests_get_401_and_change_nothing() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let bot = http_bot(&w, &fake);
    let tip = w.tip();
    let body = slash_body("UALICE", "C0DEPLOY", "deploy api v1.2.4 to staging");
    let t = now();
    let tampered = body.replace("UALICE", "USRE1");
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        ("tampered body", signed(SECRET, t, &body, FORM), &tampered),
        (
            "stale timestamp",
            signed(SECRET, t - 301, &body, FORM),
            &body,
        ),
        (
            "wrong secret",
            signed("8f742231b10e8888abcd99yyyzzz85a6", t, &body, FORM),
            &body,
        ),
        (
            "missing headers",
            vec![("Content-Type", FORM.to_string())],
            &body,
        ),
    ];
    for (what, headers, sent) in &cases {
        let (status, answer, _) = post(&bot.addr, "/slack/commands", headers, sent);
        assert_eq!(status, 401, "{what}: {answer}");
    }
    let (status, _, _) = post(
        &bot.addr,
        "/slack/events",
        &signed(SECRET, t - 600, "{}", JSON),
        "{}",
    );
    assert_eq!(status, 401);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(w.tip(), tip, "nothing was written");
    let said: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method != "auth.test")
        .collect();
    assert!(said.is_empty(), "nothing was said: {said:#?}");
    let (_, metrics) = slack::get(&bot.addr, "/metrics");
    assert!(
        metrics.contains(r#"hoist_slack_rejected_total{reason="bad_signature"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"hoist_slack_rejected_total{reason="stale"} 2"#),
        "{metrics}"
    );
    // The URL verification handshake and health endpoints answer.
    let challenge = json!({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}).to_string();
    let (status, answer) = send(&bot, "/slack/events", JSON, &challenge);
    assert_eq!(
        (status, answer.as_str()),
        (200, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    );
    assert_eq!(slack::get(&bot.addr, "/healthz").0, 200);
    wait_until("ready", || slack::get(&bot.addr, "/readyz").0 == 200);
    assert_eq!(slack::get(&bot.addr, "/readyz").1, "ready\n");
}

#[test]
fn bad_input_and_refusals_are_told_only_to_the_asker() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let bot = http_bot(&w, &fake);
    let tip = w.tip();
    send(
        &bot,
        "/slack/commands",
        FORM,
        &slash_body("UALICE", "C0DEPLOY", "deploy api v1.2.4 to stagin"),
    );
    let typo = fake.wait_for("chat.postEphemeral", "did you mean `staging`", WAIT);
    assert_eq!(typo.args["user"], "UALICE");
    send(
        &bot,
        "/slack/commands",
        FORM,
        &slash_body("UOUTSIDER", "C0DEPLOY", "deploy api v1.2.4 to staging"),
    );
    let refused = fake.wait_for("chat.postEphemeral", "UOUTSIDER", WAIT);
    assert_eq!(refused.args["user"], "UOUTSIDER");
    // The refused request was never echoed in the channel.
    assert!(
        fake.calls_of("chat.postMessage").is_empty(),
        "{:#?}",
        fake.calls()
    );
    assert_eq!(w.tip(), tip, "nothing was written");
    send(
        &bot,
        "/slack/commands",
        FORM,
        &slash_body(
            "UALICE",
            "C0DEPLOY",
            "deploy api v1.2.4 to staging --dry-run",
        ),
    );
    fake.wait_for("chat.postEphemeral", "dry run", WAIT);
    assert_eq!(w.tip(), tip);
}

#[test]
fn socket_mode_takes_slash_commands_and_events_with_no_inbound_port() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let _bot = serve(&w, &fake, &[("SLACK_APP_TOKEN", "xapp-1-A0HOIST-test")]);
    let form: Value = json!({"token": "x", "team_id": "T0ACME", "team_domain": "acme", "channel_id": "C0DEV",
        "channel_name": "dev", "user_id": "UALICE", "user_name": "alice", "command": "/deploy",
        "text": "api v1.2.4 to staging", "response_url": "https://hooks.slack.com/commands/T0ACME/2/x",
        "trigger_id": "1.2.3"});
    fake.push_envelope(json!({"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": true, "payload": form}));
    wait_until("the command's ack", || {
        fake.acks().iter().any(|a| a["envelope_id"] == "env-1")
    });
    fake.wait_for("chat.postMessage", "pushed", WAIT);
    assert_eq!(hoist_commits(&w).len(), 1);

    // An event retried over the socket is handled once.
    let mention = json!({"type": "app_mention", "user": "UALICE", "channel": "C0DEV",
        "text": format!("<@{}> status api", slack::BOT_USER), "ts": "1795600990.000300", "event_ts": "1795600990.000300"});
    let payload: Value = serde_json::from_str(&callback("EvSOCK", mention)).unwrap();
    for (i, retry) in [0, 1].iter().enumerate() {
        fake.push_envelope(json!({"envelope_id": format!("env-ev-{i}"), "type": "events_api",
            "accepts_response_payload": false, "retry_attempt": retry, "retry_reason": "timeout", "payload": payload}));
    }
    wait_until("both acks", || {
        fake.acks()
            .iter()
            .filter(|a| {
                a["envelope_id"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("env-ev-")
            })
            .count()
            == 2
    });
    let in_thread = || {
        fake.calls_of("chat.postMessage")
            .into_iter()
            .filter(|c| c.args["thread_ts"] == "1795600990.000300")
            .collect::<Vec<_>>()
    };
    wait_until("the status in the mention's thread", || {
        !in_thread().is_empty()
    });
    assert!(
        in_thread()[0].args["text"]
            .as_str()
            .unwrap()
            .contains("v1.2.4"),
        "{:?}",
        in_thread()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let statuses = fake
        .calls_of("chat.postMessage")
        .into_iter()
        .filter(|c| c.args["thread_ts"] == "1795600990.000300")
        .count();
    assert_eq!(statuses, 1, "the retried event answered once");
}

#[test]
fn the_deny_button_on_an_approval_request_rejects_it() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let bot = http_bot(&w, &fake);
    let ask = slash_body("UALICE", "C0DEPLOY", "deploy api v1.2.4 to prod");
    send(&bot, "/slack/commands", FORM, &ask);
    let live = fake.wait_for("chat.postMessage", "needs 2 approval(s)", WAIT);
    let id = live.args["blocks"].to_string();
    assert!(id.contains("hoist_deny"), "{id}");
    let body = button("USRE1", "hoist_deny", live.ts.as_deref().unwrap(), "1.2.3");
    assert_eq!(send(&bot, "/slack/interactive", FORM, &body).0, 200);
    let edit = fake.wait_for("chat.update", "denied by slack:USRE1", WAIT);
    assert_eq!(edit.args["ts"], live.ts.as_deref().unwrap());
    fake.wait_for(
        "chat.postMessage",
        "<@UALICE> #1 deploy api v1.2.4 to prod: denied",
        WAIT,
    );
    assert!(hoist_commits(&w).is_empty(), "nothing was written");
}
