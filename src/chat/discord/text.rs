//! What hoist says to Discord, made safe, and Discord's ids. Discord reads
//! markdown (`*`, `_`, `~`, `|`, `` ` ``, `#`, `-`, `>`, `[x](url)`), mentions
//! (`<@1>`, `<@&1>`, `<#1>`, `@everyone`, `@here`), links and emoji markup
//! (`<:name:1>`, `<t:1>`) in a message, so every word hoist did not write
//! itself goes through [`escape`], which puts a backslash (Discord's own
//! escape, not shown) before each character that would be markup there.
//! Only the mentions hoist builds ([`mention`], [`group`]) stay markup, and
//! only for a snowflake ([`snowflake`]). A quoted command line is one code
//! span ([`code`]) that a backtick in it cannot end.

use crate::chat::platform::code_span;
use crate::engine::invisible;

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

/// Characters that are markup wherever they are: emphasis, strikethrough,
/// spoilers, code, quotes, masked links, mentions and `<...>` markup, and
/// the backslash itself.
fn always(c: char) -> bool {
    matches!(
        c,
        '\\' | '*' | '_' | '~' | '`' | '|' | '<' | '>' | '[' | ']' | '@'
    )
}

/// Outside text made inert, with a backslash (Discord's own escape, not
/// shown): before every character that is always markup ([`always`]),
/// before `#`, `-` and `+` starting a line (headings, subtext, lists) and
/// the `.` of a number starting one (`1.` lists), and before the `:` of
/// `://` (links). Other punctuation stays as it is, so the words read the
/// same in a notification. A backslash already escaping punctuation is
/// kept with it, so escaping escaped text changes nothing. Invisible
/// format characters (bidi overrides and isolates, zero-width ones:
/// [`crate::engine::invisible`]) are dropped, so the words read as they
/// are.
pub fn escape(text: &str) -> String {
    let chars: Vec<char> = text.chars().filter(|c| !invisible(*c)).collect();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut line_start = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\\' && next.is_some_and(|n| n.is_ascii_punctuation()) {
            out.push(c);
            out.extend(next);
            line_start = false;
            i += 2;
            continue;
        }
        if line_start && c.is_ascii_digit() {
            let run = chars[i..].iter().take_while(|d| d.is_ascii_digit()).count();
            out.extend(&chars[i..i + run]);
            i += run;
            if chars.get(i) == Some(&'.') {
                out.push_str("\\.");
                i += 1;
            }
            line_start = false;
            continue;
        }
        let starts_line = line_start && matches!(c, '#' | '-' | '+');
        let link = c == ':' && next == Some('/');
        if always(c) || starts_line || link {
            out.push('\\');
        }
        out.push(c);
        line_start = match c {
            '\n' | '\r' => true,
            ' ' | '\t' => line_start,
            _ => false,
        };
        i += 1;
    }
    out
}

/// `text` as one inline code span: inside it Discord shows every character
/// as it is (no markdown, no mention), so only what would end the span is
/// changed ([`code_span`]); control characters become spaces and invisible
/// format characters are dropped.
pub fn code(text: &str) -> String {
    code_span(
        text.chars()
            .filter(|c| !invisible(*c))
            .map(|c| if c.is_control() { ' ' } else { c }),
    )
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

/// The length Discord's limits count, taken as UTF-16 code units (what a
/// JavaScript string's length is; never less than the characters).
pub fn discord_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// `text` within `max` of [`discord_len`]: when longer, cut at a character
/// boundary (never in the middle of an escape or of a mention) and ended
/// with [`CUT`].
pub fn bounded(text: &str, max: usize) -> String {
    if discord_len(text) <= max {
        return text.to_string();
    }
    let mut room = max.saturating_sub(discord_len(CUT));
    let mut out = String::new();
    for c in text.chars() {
        let w = c.len_utf16();
        if w > room {
            break;
        }
        room -= w;
        out.push(c);
    }
    // A cut `<@123` is inert text (no closing `>`), but drop it for looks;
    // then a trailing lone backslash would escape the marker's first
    // character.
    if let Some(open) = out.rfind("<@") {
        let tail = out[open + 2..].trim_start_matches(['&', '!']);
        if tail.bytes().all(|b| b.is_ascii_digit()) {
            out.truncate(open);
        }
    }
    let trailing = out.chars().rev().take_while(|c| *c == '\\').count();
    if trailing % 2 == 1 {
        out.pop();
    }
    out.push_str(CUT);
    out
}
