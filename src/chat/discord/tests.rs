//! Unit tests of Discord's formats: escaping hostile text, mentions and
//! snowflakes, permalinks both ways, and the JSON hoist posts.

use super::text::{code, escape, mention, snowflake};

#[test]
fn everyone_and_mentions_in_outside_text_are_inert() {
    assert_eq!(escape("@everyone"), "\\@everyone");
    assert_eq!(escape("<@123>"), "\\<\\@123\\>");
    assert_eq!(escape(&escape("<@123> *x*")), escape("<@123> *x*"));
    assert_eq!(mention("123"), "<@123>");
    assert_eq!(mention("12a"), "12a");
    assert!(snowflake("80351110224678912"));
    assert!(!snowflake("123456789012345678901"));
    assert_eq!(code("a`b"), "`aˋb`");
}
