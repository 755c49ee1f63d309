//! Roles carried by events are as old as the event: a late or replayed
//! event (a gateway RESUME replays dispatches from before a role was taken
//! away) neither counts as fresh nor replaces what a later event told.

use super::fake::{discord, refused};
use crate::chat::Platform;
use serde_json::json;
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn roles_from_an_old_event_are_stale_and_never_replace_newer_ones() {
    let (d, fake) = discord(|call, _| match call {
        "GET /guilds/100/members/13" => (200, json!({"roles": []})),
        "GET /guilds/100/members/14" => (200, json!({"roles": []})),
        _ => refused(404, 10_007),
    })
    .await;
    d.learn("200", Some("100"), None);
    let groups: Vec<String> = ["6"].map(String::from).to_vec();
    let now = SystemTime::now();
    // A replayed message from ten minutes ago (the TTL is five) still
    // carried role 6: Discord is asked, and says it is gone.
    d.learn_roles_at("100", "13", &["6".into()], now - Duration::from_secs(600));
    assert!(d.member_of("13", "200", &groups).await.is_empty());
    assert_eq!(fake.asked(), ["GET /guilds/100/members/13"]);
    // Seen without role 6 just now; an older event with it changes nothing.
    d.learn_roles_at("100", "14", &[], now);
    d.learn_roles_at("100", "14", &["6".into()], now - Duration::from_secs(5));
    assert!(d.member_of("14", "200", &groups).await.is_empty());
    // A newer event does replace it, and is trusted without asking.
    d.learn_roles_at("100", "14", &["6".into()], SystemTime::now());
    assert_eq!(d.member_of("14", "200", &groups).await, ["6"]);
    assert_eq!(fake.asked(), ["GET /guilds/100/members/13"]);
}
