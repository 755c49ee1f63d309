//! Unit tests of Discord's formats: hostile outside text made inert,
//! mentions only for snowflakes, permalinks both ways and their refusals,
//! the JSON hoist posts (embed, buttons, `allowed_mentions`) and Discord's
//! limits. `rest` checks the calls against a small Discord on loopback
//! (`fake`).

mod fake;
mod guards;
mod pace;
mod rest;
mod roles;

use super::platform::{permalink, place_of_link};
use super::render::{self, CONTENT_MAX, DESCRIPTION_MAX, TITLE_MAX};
use super::text::{self, CUT, code, emoji, escape, group, mention, reaction_name, snowflake};
use crate::chat::{Message, Place};
use proptest::prelude::*;

#[test]
fn mentions_markdown_and_links_in_outside_text_are_inert() {
    assert_eq!(escape("@everyone @here"), "\\@everyone \\@here");
    assert_eq!(
        escape("<@123> <@&9> <#7>"),
        "\\<\\@123\\> \\<\\@&9\\> \\<#7\\>"
    );
    assert_eq!(escape("[x](http://evil)"), "\\[x\\](http\\://evil)");
    assert_eq!(escape("`rm -rf`"), "\\`rm -rf\\`");
    assert_eq!(escape("||spoiler||"), "\\|\\|spoiler\\|\\|");
    assert_eq!(escape("# heading\n> quote"), "\\# heading\n\\> quote");
    assert_eq!(
        escape("**b** _i_ ~~s~~"),
        "\\*\\*b\\*\\* \\_i\\_ \\~\\~s\\~\\~"
    );
    assert_eq!(escape("https://evil.example"), "https\\://evil.example");
    assert_eq!(escape("a\\b"), "a\\\\b", "a lone backslash is escaped");
    assert_eq!(
        escape("v1.4.2 (ünïcode) 👍: a-b #1"),
        "v1.4.2 (ünïcode) 👍: a-b #1"
    );
    assert_eq!(
        escape("1. one\n- two\n  + three\n-# small\n12.5%"),
        "1\\. one\n\\- two\n  \\+ three\n\\-# small\n12\\.5%"
    );
}

#[test]
fn escaping_twice_is_escaping_once() {
    for s in ["<@123> *x*", "a\\b", "\\\\*", "\\", "x\\", "[x](y)"] {
        assert_eq!(escape(&escape(s)), escape(s), "{s:?}");
    }
}

#[test]
fn only_snowflakes_become_mentions() {
    assert_eq!(mention("80351110224678912"), "<@80351110224678912>");
    assert_eq!(mention("123><@&1"), "123\\>\\<\\@&1");
    assert_eq!(mention(""), "");
    assert_eq!(group("42"), "<@&42>");
    assert_eq!(group("everyone"), "everyone");
    assert!(snowflake("1") && snowflake("18446744073709551615"));
    assert!(!snowflake("") && !snowflake("123456789012345678901"));
    assert!(!snowflake("12 3") && !snowflake("-1") && !snowflake("１２"));
    assert_eq!(text::id("0"), None, "serenity's ids are never zero");
    assert_eq!(text::id("99999999999999999999"), None, "over u64");
    assert_eq!(text::id("42"), Some(42));
}

#[test]
fn code_spans_and_emoji() {
    assert_eq!(
        code("deploy api v1` @everyone `x"),
        "`deploy api v1ˋ @everyone ˋx`"
    );
    assert_eq!(code("a\nb"), "`a b`");
    assert_eq!(code("  "), "(nothing)");
    assert_eq!(emoji("✅"), "✅");
    assert_eq!(emoji("ship_it"), ":ship\\_it:");
    assert_eq!(emoji("<a:x:1>"), "\\<a:x:1\\>");
    assert_eq!(reaction_name("👍🏽"), "👍");
    assert_eq!(reaction_name("✔\u{fe0f}"), "✔");
    assert_eq!(reaction_name("ship_it"), "ship_it");
}

#[test]
fn a_permalink_round_trips_to_its_thread() {
    // A message in thread 300 of channel 200, guild 100.
    let link = permalink(Some("100"), "200", "400", Some("300"));
    assert_eq!(link, "https://discord.com/channels/100/300/400");
    let known = place_of_link(&link, Some("200"));
    let want = Place {
        channel: "200".into(),
        thread: Some("300".into()),
    };
    assert_eq!(known, Some(want.clone()));
    // The thread's starter message is in the channel: found without
    // knowing any thread.
    let starter = permalink(Some("100"), "200", "300", Some("300"));
    assert_eq!(starter, "https://discord.com/channels/100/200/300");
    assert_eq!(place_of_link(&starter, None), Some(want));
    // Not in a thread, guild unknown.
    let dm = permalink(None, "200", "500", None);
    assert_eq!(dm, "https://discord.com/channels/@me/200/500");
    assert_eq!(
        place_of_link(&dm, None),
        Some(Place {
            channel: "200".into(),
            thread: Some("500".into())
        })
    );
}

#[test]
fn other_links_are_not_places() {
    for link in [
        "javascript:alert(1)//https://discord.com/channels/1/2/3",
        "https://evil.example/channels/1/2/3",
        "https://discord.com.evil.example/channels/1/2/3",
        "http://discord.com/channels/1/2/3",
        "https://discord.com/channels/1/2",
        "https://discord.com/channels/1/2/3/4",
        "https://discord.com/channels/1/2/3?x=1",
        "https://discord.com/channels/1/a2/3",
        "https://discord.com/channels/x/2/3",
        "https://discord.com/channels/1/2/123456789012345678901",
        "discord:200",
        "",
    ] {
        assert_eq!(place_of_link(link, None), None, "{link}");
    }
    assert_eq!(permalink(Some("1"), "2", "x<@1>", None), "discord:2");
    assert_eq!(permalink(Some("1"), "ch", "3", None), "discord");
    assert_eq!(
        permalink(Some("<@1>"), "2", "3", None),
        "https://discord.com/channels/@me/2/3",
        "a guild that is not a snowflake is not put in a link"
    );
}

#[test]
fn a_live_message_is_one_embed_with_buttons() {
    let body = render::body(&Message {
        header: Some("#1 deploy api v1 to prod: waiting".into()),
        body: "needs 2 approvals".into(),
        context: Some("requested by <@11>".into()),
        vote_on: Some(1),
    });
    assert_eq!(body["content"], "");
    let embed = &body["embeds"][0];
    assert_eq!(embed["title"], "#1 deploy api v1 to prod: waiting");
    assert_eq!(
        embed["description"],
        "needs 2 approvals\n\nrequested by <@11>"
    );
    let row = &body["components"][0];
    assert_eq!(row["type"], 1);
    assert_eq!(row["components"][0]["custom_id"], "hoist:approve:1");
    assert_eq!(row["components"][0]["style"], 3);
    assert_eq!(row["components"][1]["custom_id"], "hoist:deny:1");
    assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    assert_eq!(body["allowed_mentions"]["users"], serde_json::json!(["11"]));
}

#[test]
fn words_are_content_and_only_hoists_own_mentions_may_notify() {
    let hostile = "@everyone <@666> <@&667> \\<@668> `<@669>` [x](http://evil)";
    let said = format!(
        "{} {} asked: {} {}",
        mention("11"),
        group("22"),
        escape(hostile),
        code("<@670>")
    );
    let body = render::body(&Message {
        vote_on: Some(7),
        ..Message::text(said.clone())
    });
    assert_eq!(body["content"], said);
    assert_eq!(body["embeds"], serde_json::json!([]));
    assert_eq!(
        body["components"][0]["components"][1]["custom_id"],
        "hoist:deny:7"
    );
    let allowed = &body["allowed_mentions"];
    assert_eq!(allowed["users"], serde_json::json!(["11"]));
    assert_eq!(allowed["roles"], serde_json::json!(["22"]));
    assert_eq!(allowed["parse"], serde_json::json!([]));
    // No buttons on words alone, and an empty list clears old ones on edit.
    let plain = render::body(&Message::text("done"));
    assert_eq!(plain["components"], serde_json::json!([]));
    assert_eq!(plain["allowed_mentions"]["users"], serde_json::json!([]));
}

#[test]
fn discords_limits_are_kept_with_a_marker() {
    let long = "x".repeat(10_000);
    let words = render::body(&Message::text(long.clone()));
    let content = words["content"].as_str().expect("content");
    assert_eq!(content.chars().count(), CONTENT_MAX);
    assert!(content.ends_with(CUT));
    let live = render::body(&Message {
        header: Some(long.clone()),
        body: long.clone(),
        context: Some(long),
        vote_on: None,
    });
    let embed = &live["embeds"][0];
    let title = embed["title"].as_str().expect("title");
    let description = embed["description"].as_str().expect("description");
    assert_eq!(title.chars().count(), TITLE_MAX);
    assert_eq!(description.chars().count(), DESCRIPTION_MAX);
    assert!(title.chars().count() + description.chars().count() <= render::EMBED_MAX);
    // A cut never leaves an escape open on the marker, nor half a mention.
    let escaped = escape(&"*".repeat(3_000));
    let cut = text::bounded(&escaped, 1_001);
    assert!(
        cut.ends_with(CUT) && !cut.ends_with(&format!("\\{CUT}")),
        "{cut}"
    );
    let cut = text::bounded(&format!("{}<@123456>bbb", "a".repeat(1_990)), 2_000);
    assert_eq!(cut, format!("{}{CUT}", "a".repeat(1_990)));
    // Discord counts UTF-16 units: an emoji is two.
    let thumbs = render::body(&Message::text("👍".repeat(1_500)));
    let content = thumbs["content"].as_str().expect("content");
    assert!(
        text::discord_len(content) <= CONTENT_MAX,
        "{}",
        text::discord_len(content)
    );
    assert!(content.starts_with("👍👍") && content.ends_with(CUT));
    // An escaped `<` early on is not a mention to drop.
    let early = text::bounded(&escape(&format!("<{}", "a".repeat(3_000))), 100);
    assert_eq!(text::discord_len(&early), 100, "{early}");
    // A header of many lines is one title line.
    let multi = render::body(&Message {
        header: Some("a\nb\r\nc".into()),
        ..Message::default()
    });
    assert_eq!(multi["embeds"][0]["title"], "a b c");
}

#[test]
fn a_mebibyte_of_markup_escapes_and_renders_in_linear_time() {
    let big = "<@1>`\\*_".repeat(128 * 1024);
    let start = std::time::Instant::now();
    let escaped = escape(&big);
    let body = render::body(&Message::text(escaped));
    assert_eq!(body["allowed_mentions"]["users"], serde_json::json!([]));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

/// Whether escaped text has no markup left: every character that is
/// always markup escaped, no `://`, no line starting with `#`, `-`, `+` or
/// `1.`.
fn inert(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let mut line_start = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\\' {
            if !next.is_some_and(|n| n.is_ascii_punctuation()) {
                return false;
            }
            line_start = false;
            i += 2;
            continue;
        }
        if line_start && c.is_ascii_digit() {
            let run = chars[i..].iter().take_while(|d| d.is_ascii_digit()).count();
            if chars.get(i + run) == Some(&'.') {
                return false;
            }
        }
        if "*_~`|<>[]@".contains(c)
            || (c == ':' && next == Some('/'))
            || (line_start && "#-+".contains(c))
        {
            return false;
        }
        line_start = matches!(c, '\n' | '\r') || (line_start && matches!(c, ' ' | '\t'));
        i += 1;
    }
    true
}

/// Hostile text: any scalar, or pieces of Discord's markup.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            prop_oneof![
                Just("<@1>".to_string()),
                Just("<@&2>".to_string()),
                Just("\\".to_string()),
                Just("`".to_string()),
                Just("@everyone".to_string()),
                Just("[x](http://e)".to_string()),
                Just("\n".to_string()),
                Just("||".to_string()),
                Just("1. ".to_string()),
                Just("-# ".to_string()),
                Just("://".to_string()),
                "[a-z0-9*_~#>:<@&!./+ -]{0,3}".prop_map(|s| s),
            ],
            0..40
        )
        .prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn escaped_text_mentions_nobody_and_escaping_is_idempotent(s in hostile()) {
        let once = escape(&s);
        prop_assert_eq!(&escape(&once), &once);
        let (users, roles) = render::mentions(&once);
        prop_assert!(users.is_empty() && roles.is_empty(), "{once:?}");
        prop_assert!(inert(&once), "{once:?}");
    }

    #[test]
    fn a_code_span_is_one_span(s in hostile()) {
        let c = code(&s);
        let ticks = c.matches('`').count();
        prop_assert!(ticks == 0 || (ticks == 2 && c.starts_with('`') && c.ends_with('`')), "{c:?}");
        prop_assert!(!c.contains('\n'));
        let (users, roles) = render::mentions(&c);
        prop_assert!(users.is_empty() && roles.is_empty());
    }

    #[test]
    fn a_mention_is_markup_only_for_a_snowflake(s in hostile()) {
        let m = mention(&s);
        if m.starts_with("<@") {
            prop_assert!(snowflake(&s));
        }
        prop_assert!(place_of_link(&s, None).is_none() || s.starts_with("https://discord.com/channels/"));
    }
}

#[test]
fn the_client_refuses_a_bad_token_or_api_url_and_never_shows_the_token() {
    use super::{Config, Discord, SetupError};
    let config = |token: &str, url: Option<&str>| Config {
        token: token.into(),
        api_url: url.map(String::from),
        role_ttl: std::time::Duration::from_secs(300),
        reactions: Config::default_reactions(),
    };
    assert!(matches!(
        Discord::new(&config(" ", None)),
        Err(SetupError::Token)
    ));
    assert!(matches!(
        Discord::new(&config("a\nb", None)),
        Err(SetupError::Token)
    ));
    for url in [
        "ftp://x",
        "http://x/path",
        "http://",
        "javascript:x",
        "http://a b",
    ] {
        let e = Discord::new(&config("t", Some(url)));
        assert!(matches!(e, Err(SetupError::ApiUrl(_))), "{url}");
    }
    let ok = config("s3cret-token", Some("http://127.0.0.1:9/"));
    assert!(!format!("{ok:?}").contains("s3cret"));
    let d = Discord::new(&ok).expect("client");
    assert!(!format!("{d:?}").contains("s3cret"));
    // Identity and what was learned take snowflakes only.
    d.set_identity("<@1>", "2/3");
    assert_eq!((d.me(), d.application()), (None, None));
    d.set_identity("10", "20");
    assert_eq!(
        (d.me().as_deref(), d.application().as_deref()),
        (Some("10"), Some("20"))
    );
    d.learn("300", Some("../1"), Some("2 00"));
    assert_eq!(d.places().parent("300"), None);
    assert_eq!(d.places().guild("300"), None);
}
