//! What hoist says to Discord, made safe, and Discord's ids. Discord reads
//! markdown (`*`, `_`, `~`, `|`, `` ` ``, `#`, `-`, `>`, `[x](url)`), mentions
//! (`<@1>`, `<@&1>`, `<#1>`, `@everyone`, `@here`), links and emoji markup
//! (`<:name:1>`, `<t:1>`) in a message, so every word hoist did not write
//! itself goes through [`escape`], which puts a backslash before every ASCII
//! punctuation character (Discord's own escape: the backslash is not shown).
//! Only the mentions hoist builds ([`mention`], [`group`]) stay markup, and
//! only for a snowflake ([`snowflake`]). A quoted command line is one code
//! span ([`code`]) that a backtick in it cannot end.

/// The longest snowflake Discord sends (`u64::MAX` has 20 digits).
pub const SNOWFLAKE_MAX: usize = 20;

/// Whether `id` is a Discord snowflake: 1 to 20 ASCII digits. Nothing else
/// from outside is used as an id (nor put in a URL path).
pub fn snowflake(id: &str) -> bool {
    !id.is_empty() && id.len() <= SNOWFLAKE_MAX && id.bytes().all(|b| b.is_ascii_digit())
}

/// `id` as the number serenity's id types hold: a snowflake that fits in
/// a `u64` and is not zero.
pub fn id(id: &str) -> Option<u64> {
    if !snowflake(id) {
        return None;
    }
    id.parse::<u64>().ok().filter(|n| *n != 0)
}

/// Whether `c` is escaped with a backslash: every ASCII punctuation
/// character (Discord's markdown treats a backslash before any of them as
/// an escape and shows the character alone).
fn special(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// Outside text made inert. A backslash already escaping a punctuation
/// character is kept with it, so escaping escaped text changes nothing;
/// every other punctuation character (the backslash too) gets one.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && special(next)
        {
            out.push('\\');
            out.push(next);
            chars.next();
            continue;
        }
        if special(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What stands for a backtick inside a code span: U+02CB MODIFIER LETTER
/// GRAVE ACCENT, which looks the same.
pub const BACKTICK: char = '\u{2cb}';

/// `text` as one inline code span: inside it Discord shows every character
/// as it is (no markdown, no mention), backticks become [`BACKTICK`] and line
/// breaks spaces, so the span ends where hoist ends it.
pub fn code(text: &str) -> String {
    let inner: String = text
        .chars()
        .map(|c| match c {
            '`' => BACKTICK,
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    if inner.trim().is_empty() {
        // An empty span is shown as two backticks; say it in words instead.
        return "(nothing)".to_string();
    }
    format!("`{inner}`")
}

/// A mention of user `id` (`<@1>`), hoist's own markup, or the id as
/// escaped text when it is not a snowflake.
pub fn mention(id: &str) -> String {
    if snowflake(id) {
        format!("<@{id}>")
    } else {
        escape(id)
    }
}

/// A mention of role `id` (`<@&1>`), or the id as escaped text.
pub fn group(id: &str) -> String {
    if snowflake(id) {
        format!("<@&{id}>")
    } else {
        escape(id)
    }
}

/// How reaction `name` is written: a unicode emoji as it is, a custom
/// emoji's name (letters, digits, `_`) as `:name:`; anything else escaped.
pub fn emoji(name: &str) -> String {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        format!(":{}:", escape(name))
    } else {
        escape(name)
    }
}

/// The name a reaction votes by: a unicode emoji without its skin tone
/// (U+1F3FB..U+1F3FF) and variation selector (U+FE0F), so `👍🏽` is `👍`;
/// a custom emoji's name as it is.
pub fn reaction_name(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '\u{1F3FB}'..='\u{1F3FF}' | '\u{FE0F}'))
        .collect()
}

/// The marker a cut text ends with.
pub const CUT: &str = "… (cut)";

/// `text` in at most `max` characters: when longer, cut at a character
/// boundary (never in the middle of an escape) and ended with [`CUT`].
pub fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let keep = max.saturating_sub(CUT.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    // A cut `<@123` is inert text (no closing `>`), but drop it for looks;
    // then a trailing lone backslash would escape the marker's first
    // character.
    if let Some(open) = out.rfind('<')
        && !out[open..].contains('>')
    {
        out.truncate(open);
    }
    let trailing = out.chars().rev().take_while(|c| *c == '\\').count();
    if trailing % 2 == 1 {
        out.pop();
    }
    out.push_str(CUT);
    out
}
