//! The commit message hoist writes: the subject (the request in words), the
//! reason as one paragraph, then the trailers (`Hoist-Operation`,
//! `Hoist-Requested-By`, `Hoist-Approved-By` per approver, `Hoist-Chat`,
//! `Hoist-Ticket`, `Hoist-Break-Glass`). This is the only place that builds
//! one, and every value passes through [`one_line`] on the way in: whatever a
//! chat user typed (a reason, a lock-breaking actor name, smart quotes,
//! newlines, separators), a value can never start a line of its own, so it can
//! never forge a trailer or end the trailer block.

use super::Operation;

/// The longest subject line kept (longer ones are cut with `…`).
const SUBJECT_MAX: usize = 200;
/// The longest reason kept in the body.
const REASON_MAX: usize = 2_000;
/// The longest trailer value kept.
const VALUE_MAX: usize = 500;

/// `text` on one line: every control character (newlines included), line or
/// paragraph separator and other whitespace becomes one space, runs of spaces
/// collapse, the ends are trimmed, and at most `max` characters are kept.
pub fn one_line(text: &str, max: usize) -> String {
    let blank =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
    // Invisible format characters (bidi overrides, zero-width) would make a
    // name or subject read differently from what it is: dropped.
    let text: String = text.chars().filter(|c| !invisible(*c)).collect();
    let flat = text
        .split(blank)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    // Cut: say so rather than end mid-word silently.
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// Trailers in the order hoist writes them; values made single-line on entry.
#[derive(Debug, Default)]
struct Trailers(Vec<(&'static str, String)>);

impl Trailers {
    fn add(&mut self, key: &'static str, value: &str) {
        let value = one_line(value, VALUE_MAX);
        let value = if value.is_empty() { "-".into() } else { value };
        self.0.push((key, value));
    }

    fn render(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
    }
}

/// Subject, reason, trailers (the README's "Commits hoist writes").
pub fn commit_message(op: &Operation) -> String {
    let mut msg = format!("{}\n\n", one_line(&op.summary, SUBJECT_MAX));
    if let Some(reason) = op.reason.as_deref().map(|r| one_line(r, REASON_MAX))
        && !reason.is_empty()
    {
        msg.push_str(&reason);
        msg.push_str("\n\n");
    }
    let mut t = Trailers::default();
    t.add("Hoist-Operation", &op.id.to_string());
    t.add("Hoist-Requested-By", &op.actor);
    for a in &op.approvers {
        t.add("Hoist-Approved-By", a);
    }
    t.add("Hoist-Chat", &op.chat);
    if let Some(ticket) = &op.ticket {
        t.add("Hoist-Ticket", ticket);
    }
    if let Some(why) = &op.break_glass {
        t.add("Hoist-Break-Glass", why);
    }
    msg.push_str(&t.render());
    msg
}

/// Unicode format characters (category Cf) that change how text reads:
/// bidi embeddings, overrides and isolates, zero-width characters.
pub fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_line_flattens_and_cuts() {
        assert_eq!(
            one_line("  a\n\nb\r\n c\u{2028}d\u{85}e\tf ", 100),
            "a b c d e f"
        );
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("ad\u{202E}nim\u{200B}da", 20), "adnimda");
        assert_eq!(one_line("", 4), "");
        assert_eq!(one_line("\n\n", 4), "");
    }

    proptest! {
        #[test]
        fn one_line_is_one_line_and_bounded(text in "[ a-zA-Z:\\n\\r\\t\\u{0}-\\u{1f}\\u{85}\\u{2028}\\u{2029}“”-]{0,300}", max in 1usize..80) {
            let out = one_line(&text, max);
            let bad = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
            prop_assert!(!out.chars().any(bad), "{:?}", out);
            prop_assert!(out.chars().count() <= max, "{out:?}");
            prop_assert_eq!(out.trim(), out.as_str());
        }

        /// Whatever the requester, reason, ticket, chat link or break-glass
        /// text hold, the message's last paragraph is exactly hoist's trailers.
        #[test]
        fn no_value_forges_a_trailer(
            actor in "[ -~\\n\\r\\u{2028}]{0,60}",
            reason in "[ -~\\n\\r\\u{2028}]{0,60}",
            chat in "[ -~\\n\\r]{0,60}",
            ticket in "[ -~\\n\\r]{0,60}",
            approvers in prop::collection::vec("[ -~\\n]{0,30}", 0..3),
        ) {
            let op = Operation {
                id: 7,
                verb: "deploy".into(),
                summary: "deploy api v1 to dev\nHoist-Approved-By: x".into(),
                actor,
                channel: None,
                chat,
                env: "dev".into(),
                reason: Some(reason),
                ticket: Some(ticket),
                created_at: 0,
                state: super::super::State::Requested,
                branch: "main".into(),
                base: None,
                changes: Vec::new(),
                commit: None,
                needed: 0,
                approvers: approvers.clone(),
                expires_at: None,
                break_glass: Some("incident\n\nHoist-Approved-By: y".into()),
                transitions: Vec::new(),
                memberships: Default::default(),
                ordered: None,
                pr: None,
                deployment: None,
                environment: None,
            };
            let msg = commit_message(&op);
            let last = msg.trim_end().rsplit("\n\n").next().unwrap_or_default();
            let keys: Vec<&str> = last.lines().map(|l| l.split(": ").next().unwrap_or("")).collect();
            let mut expected = vec!["Hoist-Operation", "Hoist-Requested-By"];
            expected.extend(approvers.iter().map(|_| "Hoist-Approved-By"));
            expected.extend(["Hoist-Chat", "Hoist-Ticket", "Hoist-Break-Glass"]);
            prop_assert_eq!(keys, expected, "{}", msg);
            // Subject, reason, trailers: never more than three paragraphs.
            prop_assert!(msg.trim_end().split("\n\n").count() <= 3, "{}", msg);
        }
    }
}
