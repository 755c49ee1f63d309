//! Taking reactions back, end to end: a person's approval stands while any
//! of their approving reactions on the live message does (✅ and 👍, or
//! 👍 in two skin tones), and a moderator clearing every reaction
//! (MESSAGE_REACTION_REMOVE_ALL) or every one of an emoji
//! (MESSAGE_REACTION_REMOVE_EMOJI) withdraws the approvals it took away.

use crate::discord_e2e::{
    CAROL, DAVE, SRE, connected, hoist_commits, live_says, prod_deploy_awaiting_approval,
    wait_until, world,
};
use crate::support::discord::GUILD;
use serde_json::json;

#[test]
fn an_approval_stands_while_another_approving_reaction_of_that_person_does() {
    let w = world();
    let (fake, _bot) = connected(&w);
    let (request, live) = prod_deploy_awaiting_approval(&fake);
    fake.react(CAROL, &[SRE], &request, &live.id, "✅");
    live_says(&fake, &live, "1 of 2");
    fake.react(CAROL, &[SRE], &request, &live.id, "👍");
    fake.react(CAROL, &[SRE], &request, &live.id, "👍🏽");
    fake.unreact(CAROL, &request, &live.id, "✅");
    fake.unreact(CAROL, &request, &live.id, "👍");
    // Her 👍🏽 still approves: Dave's makes two.
    fake.react(DAVE, &[SRE], &request, &live.id, "✅");
    wait_until("the commit", || hoist_commits(&w).len() == 1);
    assert_eq!(
        w.tip_trailers("Hoist-Approved-By"),
        [format!("discord:{CAROL}"), format!("discord:{DAVE}")]
    );
}

#[test]
fn clearing_the_reactions_of_the_live_message_withdraws_their_approvals() {
    let w = world();
    let (fake, _bot) = connected(&w);
    let (request, live) = prod_deploy_awaiting_approval(&fake);
    fake.react(CAROL, &[SRE], &request, &live.id, "✅");
    live_says(&fake, &live, "1 of 2");
    fake.dispatch(
        "MESSAGE_REACTION_REMOVE_ALL",
        json!({"channel_id": request, "message_id": live.id, "guild_id": GUILD}),
    );
    live_says(&fake, &live, "0 of 2");
    fake.react(CAROL, &[SRE], &request, &live.id, "👍");
    live_says(&fake, &live, "1 of 2");
    // serenity 0.12.5 reads this event as a whole reaction: it needs
    // `burst` and `type` too.
    fake.dispatch(
        "MESSAGE_REACTION_REMOVE_EMOJI",
        json!({"channel_id": request, "message_id": live.id, "guild_id": GUILD,
               "emoji": {"id": null, "name": "👍"}, "burst": false, "type": 0}),
    );
    live_says(&fake, &live, "0 of 2");
    fake.react(DAVE, &[SRE], &request, &live.id, "✅");
    live_says(&fake, &live, "1 of 2");
    assert!(
        hoist_commits(&w).is_empty(),
        "Carol's approval was taken away"
    );
}
