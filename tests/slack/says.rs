//! What hoist says to whom: a refused slash command or bad input posts
//! nothing in the channel (only the asker is told), whatever the asker wrote
//! is escaped so it cannot ping or link, and a user group that cannot be read
//! stops granting anything one TTL after its answer expired.

use super::*;

/// Every text hoist sent to Slack, with the call's method.
fn texts(fake: &FakeSlack) -> Vec<(String, String)> {
    fake.calls()
        .into_iter()
        .map(|c| (c.method, c.args["text"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn an_outsiders_markup_is_told_back_escaped_and_never_posted() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let bot = http_bot(&w, &fake);
    let tip = w.tip();
    // Bad input: the markup is a word of its own.
    let bad = slash_body("UOUTSIDER", "C0DEPLOY", "deploy api v1 to prod <!channel>");
    send(&bot, "/slack/commands", FORM, &bad);
    let told = fake.wait_for("chat.postEphemeral", "&lt;!channel&gt;", WAIT);
    assert_eq!(told.args["user"], "UOUTSIDER");
    // Well-formed but refused (not a deployer), with markup and a backtick
    // that would end a code span in its reason.
    let refused = slash_body(
        "UOUTSIDER",
        "C0DEPLOY",
        "deploy api v1.2.4 to staging --reason \"` <!here> <https://evil.example|docs> &\"",
    );
    send(&bot, "/slack/commands", FORM, &refused);
    wait_until("both answers", || {
        fake.calls_of("chat.postEphemeral").len() == 2
    });
    for c in fake.calls_of("chat.postEphemeral") {
        assert_eq!(c.args["user"], "UOUTSIDER", "{c:?}");
    }
    // Give the refused request time to (wrongly) echo, edit or delete.
    std::thread::sleep(Duration::from_millis(500));
    let public: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| ["chat.postMessage", "chat.update", "chat.delete"].contains(&c.method.as_str()))
        .collect();
    assert!(public.is_empty(), "said in the channel: {public:#?}");
    for (method, text) in texts(&fake) {
        assert!(
            !text.contains('<') && !text.contains('>'),
            "{method} carries markup: {text}"
        );
    }
    assert_eq!(w.tip(), tip, "nothing was written");
}

#[test]
fn a_slash_commands_echo_quotes_the_asker_escaped() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let bot = http_bot(&w, &fake);
    let ask = "deploy api v1.2.4 to staging --reason \"fix <!here> `now` & then\"";
    send(
        &bot,
        "/slack/commands",
        FORM,
        &slash_body("UALICE", "C0DEV", ask),
    );
    let echo = fake.wait_for("chat.postMessage", " asked: ", WAIT);
    assert_eq!(
        echo.args["text"],
        "<@UALICE> asked: `deploy api v1.2.4 to staging --reason \"fix &lt;!here&gt; ˋnowˋ &amp; then\"`"
    );
    wait_until("the deploy on origin", || hoist_commits(&w).len() == 1);
}

#[test]
fn a_group_that_cannot_be_read_grants_nothing_one_ttl_after_it_expired() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let bot = serve(
        &w,
        &fake,
        &[
            ("SLACK_SIGNING_SECRET", SECRET),
            ("HOIST_SLACK_GROUP_TTL", "1"),
        ],
    );
    let lookups = || fake.calls_of("usergroups.users.list").len();
    let deploy = |n: usize, version: &str| {
        let mention = json!({"type": "app_mention", "user": "UALICE", "channel": "C0DEV",
            "text": format!("<@{}> deploy api {version} to staging", slack::BOT_USER),
            "ts": format!("1795600850.00020{n}"), "event_ts": format!("1795600850.00020{n}")});
        let body = callback(&format!("EvGROUP{n}"), mention);
        assert_eq!(send(&bot, "/slack/events", JSON, &body).0, 200);
    };
    deploy(1, "v1.2.4");
    wait_until("the first lookup", || lookups() == 1);
    // The answer is cached from about now; the group goes away.
    let answered = Instant::now();
    fake.remove_group("S0DEVS");
    wait_until("the first deploy", || hoist_commits(&w).len() == 1);

    // Expired (TTL 1 s) but less than one more TTL past it: the last answer stands.
    std::thread::sleep(Duration::from_millis(1200).saturating_sub(answered.elapsed()));
    deploy(2, "v1.2.5");
    wait_until("the second deploy", || hoist_commits(&w).len() == 2);

    // Two TTLs after the last good answer: nobody is in the group.
    std::thread::sleep(Duration::from_millis(2300).saturating_sub(answered.elapsed()));
    deploy(3, "v1.2.6");
    let refused = fake.wait_for("chat.postEphemeral", "UALICE", WAIT);
    assert_eq!(refused.args["user"], "UALICE");
    assert_eq!(hoist_commits(&w).len(), 2, "{:?}", hoist_commits(&w));
    let (_, metrics) = slack::get(&bot.addr, "/metrics");
    for outcome in ["stale", "failed_closed"] {
        let row = format!(
            r#"hoist_slack_api_calls_total{{method="usergroups.users.list",outcome="{outcome}"}} 1"#
        );
        assert!(metrics.contains(&row), "{row} in {metrics}");
    }
}
