//! The gateway end to end: a socket dropped under hoist is resumed (the
//! session and the last sequence number it saw), the fake replays what was
//! missed and the last event hoist had already handled, and a replayed
//! MESSAGE_CREATE makes no second operation. An incident rollback asked in
//! the incident channel goes out with no approvals, to the last version
//! that settled in prod. After a restart, a reaction in an operation's
//! thread (which the new process learns from Discord) still votes.

use crate::discord_e2e::{
    ALICE, CAROL, DAVE, DEPLOY, DEV, INCIDENT, SRE, WAIT, connected, hoist_commits, live_says,
    mention, prod_deploy_awaiting_approval, serve, two_prod_deploys_on_the_console, wait_until,
    world,
};
use crate::support::discord::GUILD;

#[test]
fn a_dropped_socket_is_resumed_and_a_replayed_message_makes_no_second_operation() {
    let w = world();
    let (fake, bot) = connected(&w);
    let session = fake.wait_session(WAIT);
    let first = fake.say(
        ALICE,
        &[DEV],
        DEPLOY,
        &mention("deploy api v1.2.4 to staging"),
    );
    fake.wait_message(&first, "pushed", WAIT);

    fake.drop_socket();
    // Said while hoist is away: delivered by the replay.
    let second = fake.say(
        ALICE,
        &[DEV],
        DEPLOY,
        &mention("deploy api v1.2.5 to staging"),
    );
    fake.wait_message(&second, "pushed", WAIT);
    let resumes = fake.resumes();
    assert_eq!(resumes.len(), 1, "{resumes:?}");
    assert_eq!(resumes[0]["session_id"], session.as_str());
    assert_eq!(
        resumes[0]["seq"].as_u64(),
        Some(2),
        "READY 1, the first request 2"
    );
    assert_eq!(fake.identifies().len(), 1, "resumed, not identified again");

    // The first request came twice (before the drop and in the replay).
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(hoist_commits(&w).len(), 2, "one operation per request");
    let threads = fake
        .calls_of("POST /channels/{id}/messages/{id}/threads")
        .into_iter()
        .filter(|c| c.path.contains(&first))
        .count();
    let posted_in_first = fake
        .messages()
        .into_iter()
        .filter(|m| m.channel == first)
        .count();
    assert!(threads >= 1);
    let lives = fake
        .messages()
        .into_iter()
        .filter(|m| m.channel == first && m.text().contains("v1.2.4"))
        .count();
    assert_eq!(
        lives, 1,
        "one live message for the first request: {posted_in_first} in its thread"
    );
    drop(bot);
}

#[test]
fn an_incident_rollback_from_the_incident_channel_needs_no_approval() {
    let w = world();
    two_prod_deploys_on_the_console(&w);
    let before = hoist_commits(&w).len();
    let (fake, _bot) = connected(&w);
    let request = fake.say(
        ALICE,
        &[DEV],
        INCIDENT,
        &mention("rollback api in prod --reason 500s on login"),
    );
    fake.wait_message(&request, "pushed", WAIT);
    assert_eq!(hoist_commits(&w).len(), before + 1);
    let tag = w.show("main", "apps/api/overlays/prod/kustomization.yaml");
    assert!(
        tag.contains("newTag: v1.2.4"),
        "back to the last before v1.2.5: {tag}"
    );
    assert_eq!(
        w.tip_trailers("Hoist-Break-Glass"),
        [format!(
            "incident rollback by discord:{ALICE} in discord:{INCIDENT}: 500s on login"
        )]
    );
    assert_eq!(
        w.tip_trailers("Hoist-Chat"),
        [format!(
            "https://discord.com/channels/{GUILD}/{INCIDENT}/{request}"
        )]
    );
    assert!(w.tip_trailers("Hoist-Approved-By").is_empty());
    assert!(w.verify("main", &w.allowed_signers).status.success());
}

#[test]
fn after_a_restart_a_reaction_in_the_thread_still_votes_and_the_live_message_is_edited() {
    let w = world();
    let (fake, bot) = connected(&w);
    let (request, live) = prod_deploy_awaiting_approval(&fake);
    fake.react(CAROL, &[SRE], &request, &live.id, "✅");
    live_says(&fake, &live, "1 of 2");
    drop(bot);

    // A new process knows nothing of the thread but what Discord tells it.
    let _bot = serve(&w, &fake, &[]);
    wait_until("a second session", || fake.identifies().len() == 2);
    fake.react(DAVE, &[SRE], &request, &live.id, "✅");
    wait_until("the commit", || hoist_commits(&w).len() == 1);
    assert_eq!(
        w.tip_trailers("Hoist-Approved-By"),
        [format!("discord:{CAROL}"), format!("discord:{DAVE}")]
    );
    let asked = fake.calls_of("GET /channels/{id}");
    assert!(
        asked
            .iter()
            .any(|c| c.path == format!("/channels/{request}")),
        "where the reaction was is asked of Discord: {asked:?}"
    );
    live_says(&fake, &live, "pushed");
}
