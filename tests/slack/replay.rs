//! Replays: a signed request is good for five minutes, so the same signed
//! slash command, button press or Socket Mode payload arriving again must not
//! act again. Between the first delivery and the replay a person puts the
//! staging tag back by hand, so a replay that acted would show as a second
//! hoist commit on origin.

use super::*;

const STAGING: &str = "apps/api/overlays/staging/kustomization.yaml";

/// Put api's staging tag back to v1.2.3 by hand (not a hoist commit).
fn revert_by_hand(w: &World) {
    let text = w.show("main", STAGING).replace("v1.2.4", "v1.2.3");
    w.commit_file(STAGING, &text, "back to v1.2.3 by hand");
}

/// Watch for up to `within` that `more` never becomes true.
fn stays_false(within: Duration, mut more: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if more() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

fn echoes(fake: &FakeSlack) -> usize {
    fake.calls_of("chat.postMessage")
        .iter()
        .filter(|c| c.args["text"].as_str().unwrap_or("").contains(" asked: "))
        .count()
}

#[test]
fn the_same_signed_slash_command_posted_twice_commits_once() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let bot = http_bot(&w, &fake);
    let body = slash_body("UALICE", "C0DEV", "deploy api v1.2.4 to staging");
    let headers = signed(SECRET, now(), &body, FORM);
    assert_eq!(post(&bot.addr, "/slack/commands", &headers, &body).0, 200);
    wait_until("the deploy on origin", || hoist_commits(&w).len() == 1);
    revert_by_hand(&w);

    // The very same bytes and headers, well inside the signature's window.
    let (status, answer, _) = post(&bot.addr, "/slack/commands", &headers, &body);
    assert_eq!(
        (status, answer.as_str()),
        (200, ""),
        "acknowledged, no more"
    );
    assert!(
        stays_false(Duration::from_secs(3), || hoist_commits(&w).len() > 1),
        "the replay committed again: {:?}",
        hoist_commits(&w)
    );
    assert_eq!(echoes(&fake), 1, "{:#?}", fake.calls());
    let told: Vec<_> = fake
        .calls_of("chat.postEphemeral")
        .into_iter()
        .filter(|c| c.args["user"] == "UALICE")
        .collect();
    assert!(told.is_empty(), "the replay is not answered: {told:#?}");
}

#[test]
fn the_same_button_press_posted_twice_is_one_vote() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let bot = http_bot(&w, &fake);
    let ask = slash_body("UALICE", "C0DEPLOY", "deploy api v1.2.4 to prod");
    send(&bot, "/slack/commands", FORM, &ask);
    let live = fake.wait_for("chat.postMessage", "needs 2 approval(s)", WAIT);
    let body = button(
        "USRE1",
        "hoist_approve",
        live.ts.as_deref().unwrap(),
        "7.7.7",
    );
    let headers = signed(SECRET, now(), &body, FORM);
    assert_eq!(
        post(&bot.addr, "/slack/interactive", &headers, &body).0,
        200
    );
    fake.wait_for("chat.update", "1 of 2", WAIT);
    assert_eq!(
        post(&bot.addr, "/slack/interactive", &headers, &body).0,
        200
    );
    // A second vote would be refused by the engine and told to USRE1.
    let told = || {
        fake.calls_of("chat.postEphemeral")
            .iter()
            .any(|c| c.args["user"] == "USRE1")
    };
    assert!(
        stays_false(Duration::from_secs(2), told),
        "the replayed press was handled: {:#?}",
        fake.calls_of("chat.postEphemeral")
    );
    assert!(hoist_commits(&w).is_empty(), "one approval of two");
}

#[test]
fn the_same_slash_command_pushed_twice_over_socket_mode_commits_once() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let _bot = serve(&w, &fake, &[("SLACK_APP_TOKEN", "xapp-1-A0HOIST-test")]);
    let form = json!({"token": "x", "team_id": "T0ACME", "team_domain": "acme", "channel_id": "C0DEV",
        "channel_name": "dev", "user_id": "UALICE", "user_name": "alice", "command": "/hoist",
        "text": "deploy api v1.2.4 to staging", "response_url": "https://hooks.slack.com/commands/T0ACME/3/x",
        "trigger_id": "9.9.9"});
    let envelope = |id: &str| {
        json!({"envelope_id": id, "type": "slash_commands", "accepts_response_payload": true,
               "payload": form})
    };
    fake.push_envelope(envelope("env-a"));
    wait_until("the deploy on origin", || hoist_commits(&w).len() == 1);
    revert_by_hand(&w);
    fake.push_envelope(envelope("env-b"));
    wait_until("the second ack", || {
        fake.acks().iter().any(|a| a["envelope_id"] == "env-b")
    });
    assert!(
        stays_false(Duration::from_secs(3), || hoist_commits(&w).len() > 1),
        "the pushed-again payload committed again: {:?}",
        hoist_commits(&w)
    );
    assert_eq!(echoes(&fake), 1, "{:#?}", fake.calls());
}
