//! The guards the security review asked for: a refused whisper is said
//! publicly only where hoist posted and rarely, the same words go once, a
//! channel that cannot be read is not asked for every event, an
//! interaction token never reaches an error's words, a huge role TTL does
//! not overflow, and invisible characters never reach a post.

use super::fake::{discord, pointed_at, refused};
use crate::chat::discord::text::{code, escape};
use crate::chat::discord::{CallError, Discord, members};
use crate::chat::{Message, Platform};
use proptest::prelude::*;
use serde_json::json;
use serenity::http::{LightMethod, Route};
use serenity::model::id::ApplicationId;
use std::time::Duration;

fn count(asked: &[String], call: &str) -> usize {
    asked.iter().filter(|c| *c == call).count()
}

#[tokio::test]
async fn a_refused_whisper_is_said_only_where_hoist_posted_once_in_a_while() {
    let (d, fake) = discord(|call, _| match call {
        "POST /users/@me/channels" => (200, json!({"id": "900", "type": 1})),
        "POST /channels/900/messages" => refused(403, 50_007),
        "POST /channels/200/messages/300/threads" => (
            201,
            json!({"id": "300", "type": 11, "guild_id": "100", "parent_id": "200"}),
        ),
        _ => (200, json!({"id": "2", "channel_id": "0", "content": ""})),
    })
    .await;
    // Where hoist never posted, a refused whisper is dropped.
    for (channel, thread, text) in [
        ("700", None, "not counted"),
        ("200", Some("300"), "not counted here"),
    ] {
        d.ephemeral(channel, "11", thread, text)
            .await
            .expect("dropped");
    }
    let asked = fake.asked();
    assert_eq!(count(&asked, "POST /channels/700/messages"), 0, "{asked:?}");
    assert_eq!(
        count(&asked, "POST /channels/200/messages/300/threads"),
        0,
        "no thread started for a whisper: {asked:?}"
    );
    // hoist posts its live message in the operation's thread: said there,
    // once per five minutes.
    d.post("200", Some("300"), &Message::text("live"))
        .await
        .expect("post");
    for text in ["first", "second", "second"] {
        d.ephemeral("200", "11", Some("300"), text)
            .await
            .expect("whisper");
    }
    let asked = fake.asked();
    assert_eq!(
        count(&asked, "POST /channels/300/messages"),
        2,
        "the live message and one mention: {asked:?}"
    );
    assert_eq!(
        count(&asked, "POST /channels/900/messages"),
        4,
        "each new whisper tries a DM, the same words again do not: {asked:?}"
    );
    assert_eq!(count(&asked, "POST /users/@me/channels"), 1, "{asked:?}");
}

#[tokio::test]
async fn a_channel_that_cannot_be_read_is_not_asked_for_every_event() {
    let (d, fake) = discord(|_, _| refused(403, 50_001)).await;
    for _ in 0..3 {
        assert_eq!(d.locate("200").await, ("200".into(), None));
    }
    assert_eq!(fake.asked(), ["GET /channels/200"]);
}

#[tokio::test]
async fn a_failed_webhook_call_never_says_its_token() {
    let token = "secret-interaction-token";
    let followup = |d: &Discord| {
        let d = d.clone();
        async move {
            let route = Route::WebhookFollowupMessages {
                application_id: ApplicationId::new(20),
                token,
            };
            d.call(route, LightMethod::Post, Some(&json!({"content": "x"})))
                .await
                .expect_err("a failure")
        }
    };
    // Nobody listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let d = pointed_at(&format!("http://{addr}"));
    let e = followup(&d).await;
    assert!(matches!(e, CallError::Transport(_)), "{e:?}");
    assert!(!e.to_string().contains(token), "{e}");
    assert!(!format!("{e:?}").contains(token), "{e:?}");
    // Discord answers 404 (an expired token).
    let (d, _fake) = discord(|_, _| refused(404, 10_015)).await;
    let e = followup(&d).await;
    assert_eq!(e.status(), Some(404));
    assert!(!e.to_string().contains(token), "{e}");
}

#[test]
fn a_huge_role_ttl_does_not_overflow() {
    assert_eq!(members::grace(Duration::MAX), Duration::MAX);
    assert_eq!(
        members::grace(Duration::from_secs(300)),
        Duration::from_secs(600)
    );
}

#[test]
fn bidi_and_zero_width_characters_never_reach_a_post() {
    let hostile = "ok\u{202e}gnp.exe\u{202c} \u{2066}x\u{2069}\u{200b}@\u{200d}everyone";
    assert_eq!(escape(hostile), "okgnp.exe x\\@everyone");
    assert_eq!(code(hostile), "`okgnp.exe x@everyone`");
    assert_eq!(code("\u{200b}\u{200f}"), "(nothing)");
}

proptest! {
    #[test]
    fn escaped_and_quoted_text_holds_no_invisible_character(
        text in "[a-z@<>`*\\\\ \n\u{200b}-\u{200f}\u{202a}-\u{202e}\u{2066}-\u{2069}]{0,60}"
    ) {
        for out in [escape(&text), code(&text)] {
            prop_assert!(!out.chars().any(crate::engine::invisible), "{out:?}");
        }
        prop_assert_eq!(escape(&escape(&text)), escape(&text));
    }
}
