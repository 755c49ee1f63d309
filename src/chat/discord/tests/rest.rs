//! The REST calls the platform makes, against the small Discord on
//! loopback of `fake`: the thread started from the operation's message, a
//! reply where none can be, edits found after a restart, whispers through
//! an interaction, a DM or a mention, roles read per member and cached.

use super::fake::{Fake, discord, refused};
use crate::chat::discord::Discord;
use crate::chat::{Message, Platform};
use serde_json::{Value, json};
use std::sync::Arc;

fn message(id: &str) -> (u16, Value) {
    (200, json!({"id": id, "channel_id": "0", "content": ""}))
}

/// A fake answering every call with a message, and a `Discord` that knows
/// who it is and its application (20), as after the gateway's READY.
async fn ready() -> (Discord, Arc<Fake>) {
    let (d, fake) = discord(|_, _| message("1")).await;
    d.set_identity("10", "20");
    (d, fake)
}

/// `user` is told `text` privately in channel 200.
async fn whisper(d: &Discord, user: &str, text: &str) {
    d.ephemeral("200", user, None, text).await.expect("whisper");
}

#[tokio::test]
async fn a_reply_starts_the_thread_once_and_is_edited_there() {
    let (d, fake) = discord(|call, _| match call {
        "POST /channels/200/messages/300/threads" => (
            201,
            json!({"id": "300", "type": 11, "guild_id": "100", "parent_id": "200"}),
        ),
        "POST /channels/300/messages" => message("400"),
        _ => message("1"),
    })
    .await;
    let said = Message::text("hello");
    assert_eq!(d.post("200", Some("300"), &said).await, Ok("400".into()));
    assert_eq!(d.post("200", Some("300"), &said).await, Ok("400".into()));
    d.edit("200", Some("300"), "400", &said)
        .await
        .expect("edit");
    assert_eq!(
        fake.asked(),
        [
            "POST /channels/200/messages/300/threads",
            "POST /channels/300/messages",
            "POST /channels/300/messages",
            "PATCH /channels/300/messages/400",
        ]
    );
    assert_eq!(fake.calls()[0].1["name"], "hello");
    assert_eq!(
        d.permalink("200", "400", Some("300")),
        "https://discord.com/channels/100/300/400"
    );
    assert_eq!(d.locate("300").await, ("200".into(), Some("300".into())));
    assert_eq!(fake.calls().len(), 4, "the thread was known: no GET");
}

#[tokio::test]
async fn where_no_thread_can_start_a_post_replies_to_the_message() {
    let (d, fake) = discord(|call, _| match call {
        "POST /channels/200/messages/300/threads" => refused(400, 50_024),
        "POST /channels/200/messages/301/threads" => refused(400, 160_004),
        _ => message("500"),
    })
    .await;
    let said = Message::text("hi");
    d.post("200", Some("300"), &said).await.expect("post");
    d.post("200", Some("310"), &said).await.expect("post");
    let calls = fake.calls();
    assert_eq!(calls[1].0, "POST /channels/200/messages");
    assert_eq!(calls[1].1["message_reference"]["message_id"], "300");
    assert_eq!(calls[2].0, "POST /channels/200/messages", "not asked again");
    assert_eq!(calls[2].1["message_reference"]["message_id"], "310");
    // An existing thread is used.
    let (d, fake) = discord(|call, _| match call {
        "POST /channels/200/messages/301/threads" => refused(400, 160_004),
        _ => message("501"),
    })
    .await;
    d.post("200", Some("301"), &said).await.expect("post");
    assert_eq!(fake.asked()[1], "POST /channels/301/messages");
    // Ids that are not snowflakes go nowhere.
    assert_eq!(d.locate("1/../2").await, ("1/../2".into(), None));
    assert!(d.post("20/0", None, &said).await.is_err());
    assert!(d.post("200", Some("../x"), &said).await.is_err());
    assert_eq!(fake.calls().len(), 2);
}

#[tokio::test]
async fn after_a_restart_an_edit_looks_in_the_thread_then_the_channel() {
    let (d, fake) = discord(|call, _| match call {
        "PATCH /channels/300/messages/400" => refused(404, 10_008),
        _ => message("400"),
    })
    .await;
    d.edit("200", Some("300"), "400", &Message::text("x"))
        .await
        .expect("edit");
    d.delete("200", Some("300"), "400").await.expect("delete");
    assert_eq!(
        fake.asked(),
        [
            "PATCH /channels/300/messages/400",
            "PATCH /channels/200/messages/400",
            "DELETE /channels/200/messages/400",
        ]
    );
}

#[tokio::test]
async fn a_whisper_answers_the_interaction_then_follows_up() {
    let (d, fake) = ready().await;
    d.interaction("200", "11", "tok-EN.1");
    whisper(&d, "11", "first").await;
    whisper(&d, "11", "second").await;
    d.finish_interaction("200", "11", "done").await;
    d.interaction("200", "12", "tok/../x");
    d.finish_interaction("200", "12", "done").await;
    let calls = fake.calls();
    assert_eq!(calls[0].0, "PATCH /webhooks/20/tok-EN.1/messages/@original");
    assert_eq!(calls[0].1["content"], "first");
    assert_eq!(calls[1].0, "POST /webhooks/20/tok-EN.1");
    assert_eq!(calls[1].1["flags"], 64);
    assert_eq!(calls.len(), 2, "finished already; a bad token is not used");
}

#[tokio::test]
async fn a_refused_dm_is_said_in_the_thread_mentioning_the_person() {
    let (d, fake) = discord(|call, _| match call {
        "POST /users/@me/channels" => (200, json!({"id": "900", "type": 1})),
        "POST /channels/900/messages" => refused(403, 50_007),
        "POST /channels/200/messages/300/threads" => refused(403, 50_013),
        _ => message("2"),
    })
    .await;
    // hoist posted there (no thread can start: a reply in the channel).
    d.post("200", Some("300"), &Message::text("live"))
        .await
        .expect("post");
    d.ephemeral("200", "11", Some("300"), "only you")
        .await
        .expect("whisper");
    let calls = fake.calls();
    assert_eq!(calls[2].1["recipient_id"], "11");
    let last = calls.last().expect("a post");
    assert_eq!(last.0, "POST /channels/200/messages");
    assert_eq!(last.1["content"], "<@11> only you");
    assert_eq!(last.1["allowed_mentions"]["users"], json!(["11"]));
}

#[tokio::test]
async fn roles_are_read_per_member_and_kept_for_the_ttl() {
    let (d, fake) = discord(|call, _| match call {
        "GET /channels/200" => (200, json!({"id": "200", "type": 0, "guild_id": "100"})),
        "GET /guilds/100/members/11" => (200, json!({"roles": ["5", "x/y"]})),
        _ => refused(404, 10_007),
    })
    .await;
    let groups: Vec<String> = ["5", "6", "100"].map(String::from).to_vec();
    assert_eq!(d.member_of("11", "200", &groups).await, ["5", "100"]);
    assert_eq!(d.member_of("11", "200", &groups).await, ["5", "100"]);
    assert_eq!(d.member_of("12", "200", &groups).await, ["100"]);
    d.learn_roles("100", "13", &["6".to_string()]);
    assert_eq!(d.member_of("13", "200", &groups).await, ["6", "100"]);
    assert_eq!(
        d.member_of("11", "20/0", &groups).await,
        Vec::<String>::new()
    );
    assert_eq!(
        fake.asked(),
        [
            "GET /channels/200",
            "GET /guilds/100/members/11",
            "GET /guilds/100/members/12",
        ]
    );
}

#[tokio::test]
async fn discords_error_words_are_flattened_and_bounded() {
    let hostile = format!("line one\nline two\u{202e} {}", "x".repeat(5_000));
    let (d, _fake) = discord(move |_, _| (400, json!({"code": 50_035, "message": hostile}))).await;
    let e = d
        .post("200", None, &Message::text("hi"))
        .await
        .expect_err("refused");
    assert_eq!(e.code(), Some(50_035));
    assert_eq!(e.status(), Some(400));
    let said = e.to_string();
    assert!(!said.contains('\n') && !said.contains('\u{202e}'), "{said}");
    assert!(said.chars().count() < 300, "{said}");
    assert!(said.contains("line one line two"), "{said}");
}

#[tokio::test]
async fn a_button_press_whispers_in_follow_ups_never_in_the_pressed_message() {
    let (d, fake) = ready().await;
    d.interaction_component("200", "11", "press-1");
    whisper(&d, "11", "first").await;
    whisper(&d, "11", "second").await;
    d.finish_interaction("200", "11", "done").await;
    let calls = fake.calls();
    assert_eq!(calls.len(), 2, "nothing edits @original: {calls:?}");
    for (call, text) in calls.iter().zip(["first", "second"]) {
        assert_eq!(call.0, "POST /webhooks/20/press-1");
        assert_eq!(call.1["flags"], 64);
        assert_eq!(call.1["content"], text);
    }
}

#[tokio::test]
async fn a_press_during_a_command_whispers_through_the_command() {
    let (d, fake) = ready().await;
    d.interaction("200", "11", "command-1");
    d.interaction_component("200", "11", "press-1");
    whisper(&d, "11", "counted").await;
    d.finish_interaction("200", "11", "done").await;
    d.interaction_component("200", "11", "press-2");
    whisper(&d, "11", "again").await;
    // Another person's press is their own.
    d.interaction_component("200", "12", "press-3");
    whisper(&d, "12", "yours").await;
    assert_eq!(
        fake.asked(),
        [
            "PATCH /webhooks/20/command-1/messages/@original",
            "POST /webhooks/20/command-1",
            "POST /webhooks/20/press-3",
        ],
        "the command's answer once, then its follow-ups; the end had nothing left to fill"
    );
    assert_eq!(fake.calls()[1].1["flags"], 64);
}
