//! What hoist says to Slack, made safe. Slack reads `<...>` in a message's
//! text as a control sequence (`<!channel>` pings everyone, `<@U1>` pings a
//! person, `<https://x|y>` is a link) and `&` as the start of an entity, so
//! every word that hoist did not write itself (the asker's command line, and
//! the engine's replies, which quote lock reasons, app names and commit
//! subjects) goes through [`escape`] before it is posted, edited or told:
//! `&` -> `&amp;`, `<` -> `&lt;`, `>` -> `&gt;` (Slack's own rules). Only the
//! mentions hoist builds ([`mention`], [`group`]) stay markup. A quoted
//! command line is put in a code span with [`code`], which a backtick in it
//! cannot end.

use crate::chat::platform::code_span;

/// Slack's escaping of `&`, `<` and `>`. An entity that is already one of
/// those three (`&amp;`, `&lt;`, `&gt;`) is kept, so escaping twice is
/// escaping once (engine text that passes two layers is not garbled). The
/// result never contains `<` or `>`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let step = match tail.as_bytes()[0] {
            b'<' => {
                out.push_str("&lt;");
                1
            }
            b'>' => {
                out.push_str("&gt;");
                1
            }
            _ => match ["&amp;", "&lt;", "&gt;"]
                .iter()
                .find(|e| tail.starts_with(**e))
            {
                Some(entity) => {
                    out.push_str(entity);
                    entity.len()
                }
                None => {
                    out.push_str("&amp;");
                    1
                }
            },
        };
        rest = &tail[step..];
    }
    out.push_str(rest);
    out
}

/// `text` escaped, as one inline code span ([`code_span`]).
pub fn code(text: &str) -> String {
    code_span(escape(text).chars())
}

/// A mention of Slack user `id` (`<@U123>`), hoist's own markup. An id that
/// is not Slack's shape (letters and digits) is said as escaped text, so no
/// value can smuggle markup in through it.
pub fn mention(id: &str) -> String {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        format!("<@{id}>")
    } else {
        escape(id)
    }
}

/// A mention of Slack user group `id` (`<!subteam^S123>`), hoist's own
/// markup; an id of another shape is said as escaped text.
pub fn group(id: &str) -> String {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        format!("<!subteam^{id}>")
    } else {
        escape(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slack_control_sequences_are_escaped() {
        assert_eq!(
            escape("deploy <!channel> & <@U1> <https://x|y>"),
            "deploy &lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://x|y&gt;"
        );
        assert_eq!(
            escape("a &amp; b &lt;"),
            "a &amp; b &lt;",
            "already escaped"
        );
        assert_eq!(escape("&&am;&"), "&amp;&amp;am;&amp;");
    }

    #[test]
    fn a_backtick_cannot_end_a_code_span() {
        assert_eq!(
            code("deploy api v1` <!here> `x"),
            "`deploy api v1ˋ &lt;!here&gt; ˋx`"
        );
        assert_eq!(code("a\nb"), "`a b`");
        assert_eq!(code(" "), "(nothing)");
    }

    #[test]
    fn only_well_formed_ids_become_mentions() {
        assert_eq!(mention("U0ALICE"), "<@U0ALICE>");
        assert_eq!(mention("U1><!channel"), "U1&gt;&lt;!channel");
        assert_eq!(group("S0SRE"), "<!subteam^S0SRE>");
        assert_eq!(group("S1><!here"), "S1&gt;&lt;!here");
    }

    /// Hostile text: control characters, markup, entities, any scalar.
    fn hostile() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            proptest::collection::vec(
                prop_oneof![
                    Just("<".to_string()),
                    Just(">".to_string()),
                    Just("&".to_string()),
                    Just("&amp;".to_string()),
                    Just("&lt;".to_string()),
                    Just("`".to_string()),
                    Just("\n".to_string()),
                    Just("<!channel>".to_string()),
                    Just("\u{0}".to_string()),
                    "[a-z;@!|]{0,3}".prop_map(|s| s),
                ],
                0..40
            )
            .prop_map(|v| v.concat()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn escaped_text_has_no_markup_and_escaping_is_idempotent(s in hostile()) {
            let once = escape(&s);
            prop_assert!(!once.contains('<') && !once.contains('>'), "{once:?}");
            prop_assert_eq!(&escape(&once), &once);
            // Every `&` starts one of the three entities.
            for (i, _) in once.match_indices('&') {
                let tail = &once[i..];
                prop_assert!(
                    tail.starts_with("&amp;") || tail.starts_with("&lt;") || tail.starts_with("&gt;"),
                    "{once:?}"
                );
            }
        }

        #[test]
        fn a_code_span_is_one_span(s in hostile()) {
            let c = code(&s);
            prop_assert!(!c.contains('<') && !c.contains('>') && !c.contains('\n'));
            let ticks = c.matches('`').count();
            prop_assert!(ticks == 0 || (ticks == 2 && c.starts_with('`') && c.ends_with('`')), "{c:?}");
        }

        #[test]
        fn a_mention_is_markup_only_for_an_id(s in hostile()) {
            let m = mention(&s);
            if m.contains('<') {
                prop_assert_eq!(m, format!("<@{s}>"));
                prop_assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
            }
        }
    }

    #[test]
    fn a_mebibyte_of_markup_escapes_in_linear_time() {
        let big = "<&>`".repeat(256 * 1024);
        let start = std::time::Instant::now();
        let out = code(&big);
        assert!(!out.contains('<'));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
