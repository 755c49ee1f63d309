//! Votes and places over the gateway, end to end: an approving reaction
//! taken back before the quorum withdraws that approval (Discord sends
//! MESSAGE_REACTION_REMOVE without the member); where hoist may not start a
//! thread (missing permission, 50013) it answers in the channel as a reply
//! to the request, and edits its message there.

use crate::discord_e2e::{
    ALICE, CAROL, DAVE, DEPLOY, DEV, SRE, WAIT, connected, hoist_commits, live_says, mention,
    prod_deploy_awaiting_approval, wait_until, world,
};
use crate::support::discord::BOT;

#[test]
fn a_reaction_taken_back_before_the_quorum_withdraws_that_approval() {
    let w = world();
    let (fake, _bot) = connected(&w);
    let (request, live) = prod_deploy_awaiting_approval(&fake);
    fake.react(CAROL, &[SRE], &request, &live.id, "✅");
    live_says(&fake, &live, "1 of 2");
    fake.unreact(CAROL, &request, &live.id, "✅");
    live_says(&fake, &live, "0 of 2");
    fake.react(DAVE, &[SRE], &request, &live.id, "✅");
    live_says(&fake, &live, "1 of 2");
    assert!(
        hoist_commits(&w).is_empty(),
        "carol's approval was taken back"
    );
    fake.react(CAROL, &[SRE], &request, &live.id, "✅");
    wait_until("the commit", || hoist_commits(&w).len() == 1);
    assert_eq!(
        w.tip_trailers("Hoist-Approved-By"),
        [format!("discord:{DAVE}"), format!("discord:{CAROL}")]
    );
}

#[test]
fn where_no_thread_may_be_started_hoist_replies_to_the_request_in_the_channel() {
    let w = world();
    let (fake, _bot) = connected(&w);
    fake.no_threads(DEPLOY);
    let request = fake.say(ALICE, &[DEV], DEPLOY, &mention("deploy api v1.2.4 to prod"));
    let live = fake.wait("hoist's reply in the channel", WAIT, |f| {
        f.messages().into_iter().find(|m| {
            m.channel == DEPLOY && m.author == BOT && m.text().contains("needs 2 approval(s)")
        })
    });
    assert_eq!(
        live.body["message_reference"]["message_id"],
        request.as_str(),
        "a reply to the request: {}",
        live.body
    );
    assert!(fake.channel(&request).is_none(), "no thread was started");
    let refused = fake.calls_of("POST /channels/{id}/messages/{id}/threads");
    assert!(refused.iter().all(|c| c.status == 403), "{refused:?}");
    // Reactions on the reply, in the channel itself, are votes too.
    fake.wait_message(DEPLOY, "Approval needed", WAIT);
    fake.react(CAROL, &[SRE], DEPLOY, &live.id, "✅");
    fake.react(DAVE, &[SRE], DEPLOY, &live.id, "✅");
    wait_until("the commit", || hoist_commits(&w).len() == 1);
    live_says(&fake, &live, "pushed");
    let edits = fake.calls_of("PATCH /channels/{id}/messages/{id}");
    let here = format!("/channels/{DEPLOY}/messages/{}", live.id);
    assert!(
        edits.iter().any(|c| c.status == 200 && c.path == here),
        "edited where it was posted: {edits:?}"
    );
}
