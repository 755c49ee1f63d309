//! Votes from reactions on every message hoist posts about an operation: the
//! echo of a slash command that roots the request's thread counts like the
//! live message and the approval request, taking an approving reaction back
//! withdraws it, and the approval request mentions who may approve.

use super::*;

fn reaction_removed(user: &str, name: &str, channel: &str, ts: &str) -> Value {
    let mut event = reaction(user, name, channel, ts);
    event["type"] = "reaction_removed".into();
    event
}

#[test]
fn a_reaction_on_the_slash_commands_echo_is_a_vote_and_taking_it_back_withdraws_it() {
    let w = world();
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let bot = http_bot(&w, &fake);
    let ask = slash_body("UALICE", "C0DEPLOY", "deploy api v1.2.4 to prod");
    assert_eq!(send(&bot, "/slack/commands", FORM, &ask).0, 200);
    let echo = fake.wait_for("chat.postMessage", "<@UALICE> asked: ", WAIT);
    let echo_ts = echo.ts.unwrap();
    let request = fake.wait_for("chat.postMessage", "Approval needed", WAIT);
    assert_eq!(request.args["thread_ts"], echo_ts.as_str());
    let text = request.args["text"].as_str().unwrap();
    assert!(
        text.contains("not <@UALICE>): <@USRE1>, <@USRE2>."),
        "the approvers are mentioned: {text}"
    );

    let on_echo = |id: &str, event: Value| {
        assert_eq!(
            send(&bot, "/slack/events", JSON, &callback(id, event)).0,
            200
        );
    };
    on_echo(
        "EvECHO1",
        reaction("USRE1", "white_check_mark", "C0DEPLOY", &echo_ts),
    );
    fake.wait_for("chat.update", "waiting for approvals (1 of 2)", WAIT);
    on_echo(
        "EvECHO2",
        reaction_removed("USRE1", "white_check_mark", "C0DEPLOY", &echo_ts),
    );
    fake.wait_for("chat.update", "waiting for approvals (0 of 2)", WAIT);
    on_echo("EvECHO3", reaction("USRE1", "+1", "C0DEPLOY", &echo_ts));
    wait_until("the approval counted again", || {
        fake.calls_of("chat.update")
            .iter()
            .filter(|c| c.args["text"].as_str().unwrap_or("").contains("(1 of 2)"))
            .count()
            == 2
    });
    assert!(hoist_commits(&w).is_empty(), "one approval of two");
    let on_request = callback(
        "EvASK1",
        reaction(
            "USRE2",
            "white_check_mark",
            "C0DEPLOY",
            request.ts.as_deref().unwrap(),
        ),
    );
    assert_eq!(send(&bot, "/slack/events", JSON, &on_request).0, 200);
    wait_until("the commit on origin", || hoist_commits(&w).len() == 1);
    assert_eq!(
        w.tip_trailers("Hoist-Approved-By"),
        ["slack:USRE1", "slack:USRE2"]
    );
    assert!(
        fake.calls_of("chat.postEphemeral").is_empty(),
        "no vote was refused: {:#?}",
        fake.calls_of("chat.postEphemeral")
    );
}
