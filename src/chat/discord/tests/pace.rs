//! hoist's own pacing of Discord's rate limits, against a small Discord on
//! loopback that answers with `X-RateLimit-*` headers and 429s as Discord
//! does: a 429's `retry_after` waited and the call tried again (at most 3
//! times), an emptied bucket waited for on its route only, a global 429
//! pausing every route, a wait over the cap refused at once. Also the
//! routes as Discord keys them, and the bounded tables.

use super::fake::{Said, discord};
use crate::chat::Message;
use crate::chat::Platform;
use crate::chat::discord::pace::{Key, Pace, ROUTES_MAX};
use crate::chat::discord::{CallError, Discord};
use serde_json::json;
use std::time::{Duration, Instant};

fn posted() -> Said {
    (200, json!({"id": "1", "channel_id": "200"})).into()
}

fn limited(retry_after: f64, global: bool) -> Said {
    let mut headers = vec![
        ("x-ratelimit-remaining", "0".to_string()),
        ("x-ratelimit-reset-after", format!("{retry_after:.3}")),
        ("retry-after", format!("{}", retry_after.ceil())),
        ("x-ratelimit-bucket", "abc123".to_string()),
        (
            "x-ratelimit-scope",
            if global { "global" } else { "user" }.to_string(),
        ),
    ];
    if global {
        headers.push(("x-ratelimit-global", "true".to_string()));
    }
    let body = json!({"message": "You are being rate limited.", "retry_after": retry_after,
                      "global": global, "code": 0});
    (429, headers, body).into()
}

const POST_200: &str = "POST /channels/200/messages";
const POST_201: &str = "POST /channels/201/messages";

async fn post(d: &Discord, channel: &str) -> Result<String, CallError> {
    d.post(channel, None, &Message::text("hi")).await
}

#[tokio::test]
async fn a_429_is_waited_as_discord_asks_then_tried_once_more() {
    let (d, fake) = discord(|call, nth| match (call, nth) {
        (POST_200, 0) => limited(0.3, false),
        _ => posted(),
    })
    .await;
    let start = Instant::now();
    assert_eq!(post(&d, "200").await, Ok("1".into()));
    assert!(start.elapsed() >= Duration::from_millis(300));
    let arrived = fake.arrivals(POST_200);
    assert_eq!(arrived.len(), 2, "one retry");
    assert!(arrived[1] - arrived[0] >= Duration::from_millis(300));
}

#[tokio::test]
async fn an_emptied_bucket_holds_its_route_and_no_other() {
    let (d, fake) = discord(|call, _| {
        // One bucket per route (Discord's name), counted per channel.
        let name = if call.starts_with("POST") { "b1" } else { "b2" };
        let bucket = ("x-ratelimit-bucket", name.to_string());
        let remaining = if call == POST_200 { "0" } else { "4" };
        let headers = vec![
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset-after", "0.400".to_string()),
            bucket,
        ];
        (200, headers, json!({"id": "1", "channel_id": "200"}))
    })
    .await;
    post(&d, "200").await.expect("post");
    // The same route in another channel (another major parameter) and
    // another route in the same channel go at once.
    let start = Instant::now();
    post(&d, "201").await.expect("post");
    d.edit("200", None, "5", &Message::text("x"))
        .await
        .expect("edit");
    assert!(start.elapsed() < Duration::from_millis(300));
    // The emptied one waits for its reset.
    post(&d, "200").await.expect("post");
    let arrived = fake.arrivals(POST_200);
    assert_eq!(arrived.len(), 2);
    assert!(arrived[1] - arrived[0] >= Duration::from_millis(400));
    let other = fake.arrivals(POST_201)[0];
    assert!(other < arrived[0] + Duration::from_millis(300));
}

#[tokio::test]
async fn a_global_429_pauses_every_route() {
    let (d, fake) = discord(|call, nth| match (call, nth) {
        (POST_200, 0) => limited(0.3, true),
        _ => posted(),
    })
    .await;
    let first = tokio::spawn({
        let d = d.clone();
        async move { post(&d, "200").await }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while fake.count() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Give the 429's answer time to be read.
    tokio::time::sleep(Duration::from_millis(50)).await;
    post(&d, "201").await.expect("post");
    assert_eq!(first.await.expect("task"), Ok("1".into()));
    let limited_at = fake.arrivals(POST_200)[0];
    let other = fake.arrivals(POST_201)[0];
    assert!(other - limited_at >= Duration::from_millis(300), "paused");
}

#[tokio::test]
async fn a_wait_over_the_cap_is_refused_not_slept() {
    let (d, fake) = discord(|call, _| match call {
        POST_200 => limited(3_600.0, false),
        _ => posted(),
    })
    .await;
    let start = Instant::now();
    let e = post(&d, "200").await.expect_err("refused");
    assert!(
        matches!(e, CallError::RateLimited { global: false, wait_ms } if wait_ms > 3_000_000),
        "{e:?}"
    );
    assert!(e.to_string().contains("at most 60s"), "{e}");
    // The route stays held, without a call; another goes.
    assert!(matches!(
        post(&d, "200").await,
        Err(CallError::RateLimited { .. })
    ));
    assert_eq!(post(&d, "201").await, Ok("1".into()));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.arrivals(POST_200).len(), 1);
}

#[tokio::test]
async fn a_route_answering_429_is_tried_at_most_three_more_times() {
    let (d, fake) = discord(|_, _| limited(0.05, false)).await;
    let e = post(&d, "200").await.expect_err("limited");
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.code(), Some(0));
    assert_eq!(fake.arrivals(POST_200).len(), 4);
}

#[tokio::test]
async fn a_global_wait_over_the_cap_is_refused_for_every_route() {
    let (d, fake) = discord(|_, _| limited(120.0, true)).await;
    let e = post(&d, "200").await.expect_err("refused");
    assert!(
        matches!(e, CallError::RateLimited { global: true, .. }),
        "{e:?}"
    );
    let e = d.locate("300").await;
    assert_eq!(e, ("300".into(), None), "not read, taken as it is");
    assert_eq!(fake.count(), 1);
}

#[test]
fn routes_are_keyed_by_method_path_and_major_parameters() {
    let key = |m, p| Key::of(m, &format!("https://discord.com/api/v10{p}"));
    let a = key("PATCH", "/channels/1/messages/2");
    assert_eq!(a.route(), "PATCH /channels/{major}/messages/{id}");
    assert_eq!(a, key("PATCH", "/channels/1/messages/3"), "same bucket");
    assert_ne!(a, key("PATCH", "/channels/9/messages/2"), "another channel");
    assert_ne!(a, key("DELETE", "/channels/1/messages/2"), "another method");
    let hook = key("POST", "/webhooks/20/tok-EN.1");
    assert_eq!(hook.route(), "POST /webhooks/{major}/{major}");
    assert_ne!(hook, key("POST", "/webhooks/20/other"), "per token");
    assert!(
        !format!("{hook:?}").contains("tok-EN"),
        "the token not shown"
    );
    assert_eq!(
        key("PUT", "/channels/1/messages/2/reactions/%E2%9C%85/@me").route(),
        "PUT /channels/{major}/messages/{id}/reactions/{emoji}/@me"
    );
    assert_eq!(
        key("POST", "/interactions/5/secret/callback").route(),
        "POST /interactions/{id}/{token}/callback"
    );
    assert_eq!(
        key("GET", "/guilds/100/members/11").route(),
        "GET /guilds/{major}/members/{id}"
    );
    assert_eq!(key("GET", "/users/@me").route(), "GET /users/@me");
}

#[test]
fn the_buckets_kept_are_bounded() {
    let pace = Pace::default();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-ratelimit-remaining", "3".parse().expect("value"));
    headers.insert("x-ratelimit-reset-after", "1e9".parse().expect("value"));
    headers.insert("x-ratelimit-bucket", "b1".parse().expect("value"));
    for channel in 0..ROUTES_MAX + 200 {
        let key = Key::of(
            "GET",
            &format!("https://discord.com/api/v10/channels/{channel}"),
        );
        assert_eq!(pace.learn(&key, 200, &headers, b""), None);
    }
    assert_eq!(pace.buckets(), ROUTES_MAX);
}
