//! Threads and what hoist hears, end to end: a thread hoist did not start
//! is a channel of its own to the policy, so a rollback typed in a thread
//! of the incident channel is no incident rollback; a request from such a
//! thread (where the policy takes it) is answered and voted on in that
//! thread; words in one of hoist's operation threads still count without a
//! mention; a message that neither addresses hoist nor sits in one of its
//! operation threads costs nothing (no lookup of its channel); and a
//! request that finds every work slot taken is told so, not dropped
//! silently.

use crate::discord_e2e::serve;
use crate::discord_e2e::{
    ALICE, CAROL, DAVE, DEPLOY, DEV, INCIDENT, SRE, WAIT, connected, dm_to, hoist_commits,
    live_says, mention, policy, prod_deploy_awaiting_approval, two_prod_deploys_on_the_console,
    wait_until, world,
};
use crate::support::discord::{BOT, FakeDiscord, Posted};

/// A thread someone started in the incident channel.
const IN_INCIDENT: &str = "1200000000000000111";
/// A thread someone started in the deploy channel.
const IN_DEPLOY: &str = "1200000000000000112";
/// A channel where people only talk.
const CHATTER: &str = "1200000000000000113";

/// hoist's first message in `channel` containing `needle`.
fn said_in(fake: &FakeDiscord, channel: &str, needle: &str) -> Posted {
    fake.wait(
        &format!("hoist saying {needle:?} in {channel}"),
        WAIT,
        |f| {
            f.messages()
                .into_iter()
                .find(|m| m.channel == channel && m.author == BOT && m.text().contains(needle))
        },
    )
}

#[test]
fn a_rollback_typed_in_a_thread_of_the_incident_channel_is_no_incident_rollback() {
    let w = world();
    two_prod_deploys_on_the_console(&w);
    let before = hoist_commits(&w).len();
    let (fake, _bot) = connected(&w);
    fake.add_channel(IN_INCIDENT, 11, Some(INCIDENT));
    fake.say(
        ALICE,
        &[DEV],
        IN_INCIDENT,
        &mention("rollback api in prod --reason 500s on login"),
    );
    // The policy sees the thread, which is not the incident channel.
    dm_to(&fake, ALICE, &format!("not in discord:{IN_INCIDENT}"));
    assert_eq!(hoist_commits(&w).len(), before, "no break-glass rollback");
    assert!(
        fake.messages().iter().all(|m| !m.text().contains("pushed")),
        "nothing was pushed"
    );
}

#[test]
fn a_request_from_a_thread_the_policy_takes_is_voted_on_in_that_thread() {
    let w = world();
    let thread = format!("discord:{DEPLOY}, discord:{IN_DEPLOY}");
    let with_thread = policy().replace(&format!("discord:{DEPLOY}"), &thread);
    w.commit_file("hoist.yaml", &with_thread, "the thread takes requests too");
    let (fake, _bot) = connected(&w);
    fake.add_channel(IN_DEPLOY, 11, Some(DEPLOY));
    let request = fake.say(
        ALICE,
        &[DEV],
        IN_DEPLOY,
        &mention("deploy api v1.2.4 to prod"),
    );
    let live = said_in(&fake, IN_DEPLOY, "needs 2 approval(s)");
    assert!(fake.channel(&request).is_none(), "no thread in a thread");
    // The approval request is posted once the live message is noted: only
    // then does a reaction on it find its operation.
    said_in(&fake, IN_DEPLOY, "Approval needed");
    fake.react(CAROL, &[SRE], IN_DEPLOY, &live.id, "✅");
    live_says(&fake, &live, "1 of 2");
    fake.react(DAVE, &[SRE], IN_DEPLOY, &live.id, "✅");
    wait_until("the commit", || hoist_commits(&w).len() == 1);
    assert_eq!(
        w.tip_trailers("Hoist-Approved-By"),
        [format!("discord:{CAROL}"), format!("discord:{DAVE}")]
    );
}

#[test]
fn chatter_outside_hoists_threads_costs_no_lookup() {
    let w = world();
    let (fake, _bot) = connected(&w);
    fake.add_channel(CHATTER, 0, None);
    for n in 0..5 {
        fake.say(ALICE, &[DEV], CHATTER, &format!("lunch at {n}?"));
    }
    let request = fake.say(ALICE, &[DEV], DEPLOY, &mention("deploy api v1.2.4 to prod"));
    fake.wait_message(&request, "needs 2 approval(s)", WAIT);
    let asked = fake.calls_of("GET /channels/{id}");
    assert!(
        asked
            .iter()
            .all(|c| c.path != format!("/channels/{CHATTER}")),
        "chatter made hoist look its channel up: {asked:?}"
    );
}

#[test]
fn words_in_an_operation_thread_count_without_a_mention() {
    let w = world();
    let (fake, _bot) = connected(&w);
    // Once the approval request is posted, the thread is known as #1's.
    let (request, live) = prod_deploy_awaiting_approval(&fake);
    fake.say(CAROL, &[SRE], &request, "approve 1");
    live_says(&fake, &live, "1 of 2");
}

#[test]
fn a_request_that_finds_no_work_slot_is_told_hoist_is_busy() {
    let w = world();
    let fake = FakeDiscord::start(&[DEPLOY, INCIDENT]);
    fake.set_roles(ALICE, &[DEV]);
    let _bot = serve(&w, &fake, &[("HOIST_SLACK_WORK_LIMIT", "1")]);
    fake.wait_session(WAIT);
    // The first request holds the only work slot for three seconds (a 429
    // on looking its channel up).
    fake.set_retry_after(3.0);
    fake.rate_limit("GET /channels/{id}", 1);
    fake.say(ALICE, &[DEV], DEPLOY, &mention("status api"));
    wait_until("the first lookup", || {
        !fake.calls_of("GET /channels/{id}").is_empty()
    });
    fake.say(ALICE, &[DEV], DEPLOY, &mention("status api"));
    let busy = said_in(&fake, DEPLOY, "busy");
    assert!(
        busy.text().starts_with(&format!("<@{ALICE}>")),
        "{}",
        busy.text()
    );
    assert_eq!(
        busy.body["allowed_mentions"]["users"],
        serde_json::json!([ALICE])
    );
}
