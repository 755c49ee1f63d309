//! Decoding Discord's inbound traffic: mentions and the prefix, hostile
//! text, emoji names, replayed reactions, autocomplete, interaction bodies.

use super::*;
use proptest::prelude::*;

const ME: &str = "80351110224678912";

#[test]
fn a_mention_or_the_prefix_at_the_start_addresses_hoist() {
    let a = |s: &str| addressed(s, Some(ME), "!hoist");
    assert_eq!(
        a("<@80351110224678912> deploy api v2 to prod").as_deref(),
        Some("deploy api v2 to prod")
    );
    assert_eq!(
        a("  <@!80351110224678912>status").as_deref(),
        Some("status")
    );
    assert_eq!(a("!hoist  status api ").as_deref(), Some("status api"));
    assert_eq!(a("!hoist").as_deref(), Some(""));
    // Not at the start, another bot, a longer word, another user: not hoist's.
    assert_eq!(a("hey <@80351110224678912> status"), None);
    assert_eq!(a("<@1> status"), None);
    assert_eq!(a("!hoisting status"), None);
    assert_eq!(a("status"), None);
    // Before READY hoist does not know itself: only the prefix works.
    assert_eq!(addressed("<@80351110224678912> x", None, "!hoist"), None);
    assert_eq!(addressed("!hoist x", None, "!hoist").as_deref(), Some("x"));
}

#[test]
fn hostile_text_stays_text_and_is_bounded() {
    let a = |s: &str| addressed(s, Some(ME), "!hoist").unwrap();
    assert_eq!(
        a("!hoist @everyone <@&1> [x](http://evil)"),
        "@everyone <@&1> [x](http://evil)"
    );
    let long = format!("!hoist deploy {}", "x".repeat(100_000));
    assert_eq!(a(&long).chars().count(), LINE_MAX);
    let nul = a("!hoist deploy\u{0}api\u{202e}");
    assert!(hoist_commands::parse(&nul).is_err(), "{nul:?}");
}

#[test]
fn skin_tones_and_variation_selectors_are_the_same_reaction() {
    assert_eq!(reaction_name(Some("👍🏽"), None).as_deref(), Some("👍"));
    assert_eq!(
        reaction_name(Some("✅\u{FE0F}"), None).as_deref(),
        Some("✅")
    );
    assert_eq!(
        reaction_name(None, Some("shipit")).as_deref(),
        Some("shipit")
    );
    assert_eq!(reaction_name(None, None), None);
    assert_eq!(reaction_name(None, Some("")), None);
    assert_eq!(reaction_name(None, Some(&"a".repeat(65))), None);
    assert_eq!(reaction_name(Some("a\nb"), None), None);
}

fn approving(name: &str) -> bool {
    ["✅", "👍"].contains(&name)
}

#[test]
fn a_replayed_reaction_is_not_fresh_but_taking_it_back_is() {
    let s = ReactionStates::default();
    let step = |m: &str, u: &str, raw: &str, added| s.apply(m, u, (raw, raw), added, &approving);
    assert_eq!(step("m1", "u1", "✅", true), Step::Act);
    assert_eq!(step("m1", "u1", "✅", true), Step::Replay, "a replayed add");
    assert_eq!(step("m1", "u2", "✅", true), Step::Act, "another person");
    assert_eq!(step("m1", "u1", "❌", true), Step::Act, "another emoji");
    assert_eq!(step("m1", "u1", "✅", false), Step::Act, "taken back");
    assert_eq!(
        step("m1", "u1", "✅", false),
        Step::Replay,
        "a replayed remove"
    );
    assert_eq!(step("m1", "u1", "✅", true), Step::Act, "added again");
    // Bounded: the oldest messages are forgotten, never more than the cap,
    // and never more than the cap of reactions on one message.
    for n in 0..REACTION_MESSAGES_MAX + 10 {
        step(&n.to_string(), "u", "✅", true);
    }
    assert!(lock(&s.0).len() <= REACTION_MESSAGES_MAX);
    for n in 0..REACTIONS_PER_MESSAGE_MAX + 10 {
        step("m2", &n.to_string(), "✅", true);
    }
    let on = lock(&s.0).get(&"m2".to_string()).map(|on| on.len());
    assert_eq!(on, Some(REACTIONS_PER_MESSAGE_MAX));
}

#[test]
fn an_approval_stands_while_any_approving_reaction_of_that_person_does() {
    let s = ReactionStates::default();
    let step =
        |u: &str, raw: &str, name: &str, added| s.apply("m", u, (raw, name), added, &approving);
    assert_eq!(step("u1", "👍", "👍", true), Step::Act);
    assert_eq!(step("u1", "👍🏽", "👍", true), Step::Quiet, "a skin tone");
    assert_eq!(
        step("u1", "✅", "✅", true),
        Step::Quiet,
        "another approving"
    );
    assert_eq!(step("u1", "👍", "👍", false), Step::Quiet, "two still on");
    assert_eq!(step("u1", "👍🏽", "👍", false), Step::Quiet, "✅ still on");
    assert_eq!(step("u1", "✅", "✅", false), Step::Act, "the last one");
    // Taking every reaction off (or every one of an emoji) withdraws the
    // approvals that were on, once.
    step("u1", "✅", "✅", true);
    step("u2", "👍", "👍", true);
    step("u2", "✅", "✅", true);
    step("u3", "❌", "❌", true);
    let voters = |v: &[(&str, &str)]| -> Vec<Voter> {
        v.iter()
            .map(|(u, n)| (u.to_string(), n.to_string()))
            .collect()
    };
    assert_eq!(
        s.remove_emoji("m", "✅", &approving),
        voters(&[("u1", "✅")])
    );
    assert_eq!(s.remove_emoji("m", "✅", &approving), voters(&[]));
    assert_eq!(s.remove_all("m", &approving), voters(&[("u2", "👍")]));
    assert_eq!(s.remove_all("m", &approving), voters(&[]));
    assert_eq!(
        step("u1", "✅", "✅", true),
        Step::Act,
        "fresh after the removal"
    );
}

#[test]
fn a_snowflake_tells_when_it_was_made() {
    // Discord's documented example: 175928847299117063 is 2016-04-30
    // 11:18:25.796 UTC.
    let at = snowflake_time("175928847299117063").expect("a time");
    let ms = at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert_eq!(ms, 1_462_015_105_796);
    assert_eq!(snowflake_time("x1"), None);
    assert_eq!(snowflake_time(""), None);
}

#[test]
fn autocomplete_offers_the_verbs_that_match() {
    let names = |t: &str| -> Vec<String> { choices(t).into_iter().map(|(_, v)| v).collect() };
    assert_eq!(names("de"), ["deploy", "deny"]);
    assert_eq!(names("ROLL"), ["rollback"]);
    assert_eq!(names("deploy api v2"), ["deploy api v2"]);
    assert_eq!(names("").len(), hoist_commands::Verb::ALL.len());
    assert!(names("zzz").is_empty());
    assert_eq!(
        names("env"),
        ["env create", "env destroy", "env extend", "env list"]
    );
    assert_eq!(names("env ex"), ["env extend"]);
    assert_eq!(names("ENV create pr-1"), ["ENV create pr-1"]);
    assert_eq!(
        choices("env d")[0].0,
        hoist_commands::verbs::env::DESTROY_USAGE
    );
    assert!(names("env zzz").is_empty());
    assert!(
        choices("")
            .iter()
            .all(|(n, v)| n.chars().count() <= 100 && v.len() <= 100)
    );
}

#[test]
fn interactions_are_read_with_snowflakes_only() {
    let body = br#"{"id":"11","type":2,"token":"tok","guild_id":"7",
        "channel":{"id":"55","type":11,"parent_id":"44","guild_id":"7"},
        "member":{"user":{"id":"9"},"roles":["3","x"]},
        "data":{"name":"hoist","options":[{"name":"command","type":3,"value":" status api "}]}}"#;
    let i = Interaction::read(body).unwrap();
    assert_eq!(i.ask(), Some(Ask::Command("status api".into())));
    let from = i.from().unwrap();
    assert_eq!(
        from,
        From {
            user: "9".into(),
            channel: "55".into(),
            guild: Some("7".into()),
            parent: Some("44".into()),
            roles: vec!["3".into()],
        }
    );
    // A DM carries `user`, not `member`: nobody hoist can place.
    let dm = Interaction::read(br#"{"id":"1","type":2,"user":{"id":"9"},"channel_id":"5"}"#);
    assert_eq!(dm.unwrap().from(), None);
    // Ids that are not snowflakes go nowhere.
    let bad = br#"{"id":"1","type":2,"channel_id":"../x","member":{"user":{"id":"9"}}}"#;
    assert_eq!(Interaction::read(bad).unwrap().from(), None);
    assert!(Interaction::read(br#"{"id":"1/2","type":1}"#).is_err());
    assert!(Interaction::read(b"{").is_err());
}

#[test]
fn buttons_name_an_operation_and_unknown_kinds_ask_nothing() {
    let press = |id: &str, kind: u8| {
        let body = serde_json::json!({"id": "1", "type": kind, "data": {"custom_id": id}});
        Interaction::read(body.to_string().as_bytes())
            .unwrap()
            .ask()
    };
    assert_eq!(
        press("hoist:approve:42", 3),
        Some(Ask::Press {
            operation: 42,
            approve: true
        })
    );
    assert_eq!(
        press("hoist:deny:7", 3),
        Some(Ask::Press {
            operation: 7,
            approve: false
        })
    );
    assert_eq!(press("hoist:approve:", 3), None);
    assert_eq!(press("hoist:approve:-1", 3), None);
    assert_eq!(press("hoist:approve:99999999999999999999", 3), None);
    assert_eq!(press("other:1", 3), None);
    assert_eq!(press("hoist:approve:1", 9), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn decoding_never_panics_on_any_text(s in any::<String>(), body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Some(line) = addressed(&s, Some(ME), "!hoist") {
            prop_assert!(line.chars().count() <= LINE_MAX);
            let _ = hoist_commands::parse(&line);
        }
        let _ = reaction_name(Some(&s), None);
        let _ = choices(&s);
        if let Ok(i) = Interaction::read(&body) {
            let _ = (i.from(), i.ask());
        }
    }
}
