//! Discord's settings: the bot's token (`DISCORD_TOKEN`: the gateway, REST
//! and `hoist discord register`), the application's public key
//! (`DISCORD_PUBLIC_KEY`: 64 hex digits, a valid Ed25519 key, checked at
//! start; it switches the interactions endpoint on), where Discord's API is
//! (`DISCORD_API_URL`, tests only: http(s) and a host, nothing else), the
//! prefix that addresses hoist in a message (`HOIST_DISCORD_PREFIX`,
//! `!hoist`), how long a member's roles are trusted (`HOIST_DISCORD_ROLE_TTL`,
//! 300 s) and the reactions that vote (`HOIST_DISCORD_APPROVE` /
//! `HOIST_DISCORD_DENY`). A public key without a token is refused: hoist
//! could verify interactions but never answer them. `Debug` redacts the token.

use super::read::{Error, Secret, Vars};
use std::ffi::OsString;
use std::time::Duration;

/// The longest a member's roles are trusted (`HOIST_DISCORD_ROLE_TTL`, in
/// seconds): a role taken away must stop counting within the hour.
pub const ROLE_TTL_MAX: u64 = 3_600;

/// The prefix that addresses hoist when `HOIST_DISCORD_PREFIX` is not set.
pub const PREFIX: &str = "!hoist";

/// The longest prefix taken: a word or two, not a sentence.
const PREFIX_MAX: usize = 32;

/// The reactions that approve and deny by default.
pub const APPROVE: [&str; 2] = ["✅", "👍"];
pub const DENY: [&str; 2] = ["❌", "👎"];

/// Everything about Discord; `None` in [`super::Settings`] without a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discord {
    /// `DISCORD_TOKEN`: the bot's token.
    pub token: Secret,
    /// `DISCORD_PUBLIC_KEY`: `POST /discord/interactions` is on.
    pub public_key: Option<[u8; 32]>,
    /// `DISCORD_API_URL`, without a trailing `/` (`None`: discord.com).
    pub api_url: Option<String>,
    /// `HOIST_DISCORD_PREFIX`.
    pub prefix: String,
    /// `HOIST_DISCORD_ROLE_TTL`.
    pub role_ttl: Duration,
    /// `HOIST_DISCORD_APPROVE`, `HOIST_DISCORD_DENY`: reaction names
    /// (a unicode emoji, or a custom emoji's name).
    pub approve: Vec<String>,
    pub deny: Vec<String>,
}

/// 64 hex digits as 32 bytes.
fn hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// An http(s) URL of a host (a proxy in serenity's sense): no path is
/// needed, no blank or control character is taken.
fn api_url(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    let ok = !rest.is_empty()
        && !rest.starts_with('/')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| s.trim_end_matches('/').to_string())
}

pub fn discord<F: Fn(&str) -> Option<OsString>>(v: &Vars<F>) -> Result<Option<Discord>, Error> {
    let token = v.text("DISCORD_TOKEN")?.map(|t| t.trim().to_string());
    let public_key = v.parsed(
        "DISCORD_PUBLIC_KEY",
        |s| {
            let key = hex32(s)?;
            crate::chat::discord::interactions::Key::new(key)?;
            Some(key)
        },
        "is not an Ed25519 public key (64 hex digits: the application's \"Public Key\")",
    )?;
    let api_url = v.parsed(
        "DISCORD_API_URL",
        api_url,
        "is not an http(s) URL of a host (like `http://127.0.0.1:3000`)",
    )?;
    let Some(token) = token else {
        if public_key.is_some() {
            return Err(Error::said(
                "DISCORD_TOKEN",
                "Discord: DISCORD_PUBLIC_KEY is set but DISCORD_TOKEN is not: hoist needs the \
                 bot's token to answer",
            ));
        }
        return Ok(None);
    };
    let prefix = v.parsed(
        "HOIST_DISCORD_PREFIX",
        |s| {
            let ok = s.chars().count() <= PREFIX_MAX
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
                && !s.starts_with("<@");
            ok.then(|| s.to_string())
        },
        &format!("is not a prefix (one word, at most {PREFIX_MAX} characters, not a mention)"),
    )?;
    let reactions = |name, default: &[&str]| {
        Ok::<_, Error>(
            v.names(name, &[':'])?
                .unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect()),
        )
    };
    Ok(Some(Discord {
        token: Secret::new(token),
        public_key,
        api_url,
        prefix: prefix.unwrap_or_else(|| PREFIX.to_string()),
        role_ttl: role_ttl(v)?,
        approve: reactions("HOIST_DISCORD_APPROVE", &APPROVE)?,
        deny: reactions("HOIST_DISCORD_DENY", &DENY)?,
    }))
}

/// `HOIST_DISCORD_ROLE_TTL`: 1..=[`ROLE_TTL_MAX`] seconds, 300 unless set.
fn role_ttl(v: &Vars<impl Fn(&str) -> Option<OsString>>) -> Result<Duration, Error> {
    const NAME: &str = "HOIST_DISCORD_ROLE_TTL";
    match v.seconds(NAME)? {
        None => Ok(Duration::from_secs(300)),
        Some(t) if (1..=ROLE_TTL_MAX).contains(&t.as_secs()) => Ok(t),
        Some(_) => Err(Error::bad(
            NAME,
            format!("must be 1 to {ROLE_TTL_MAX} seconds"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn s(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    const KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn read(vars: &[(&str, &str)]) -> Result<Option<Discord>, Error> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        discord(&Vars(|name: &str| vars.get(name).map(OsString::from)))
    }

    #[test]
    fn discord_is_off_without_a_token_and_has_defaults_with_one() {
        assert_eq!(read(&[]), Ok(None));
        let d = read(&[("DISCORD_TOKEN", " Bot-SECRET-TOKEN-77 ")])
            .unwrap()
            .unwrap();
        assert_eq!(d.token.expose(), "Bot-SECRET-TOKEN-77");
        assert_eq!(d.public_key, None);
        assert_eq!(d.api_url, None);
        assert_eq!(d.prefix, "!hoist");
        assert_eq!(d.role_ttl, Duration::from_secs(300));
        assert_eq!((d.approve, d.deny), (s(&["✅", "👍"]), s(&["❌", "👎"])));
        let shown = format!("{:?}", read(&[("DISCORD_TOKEN", "SECRET-TOKEN-77")]));
        assert!(!shown.contains("SECRET-TOKEN-77"), "{shown}");
    }

    #[test]
    fn every_discord_variable_is_read() {
        let d = read(&[
            ("DISCORD_TOKEN", "t"),
            ("DISCORD_PUBLIC_KEY", &KEY.to_uppercase()),
            ("DISCORD_API_URL", "http://127.0.0.1:3000/"),
            ("HOIST_DISCORD_PREFIX", "!ship"),
            ("HOIST_DISCORD_ROLE_TTL", "60"),
            ("HOIST_DISCORD_APPROVE", "🚀, :shipit:"),
            ("HOIST_DISCORD_DENY", "🛑"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(d.public_key.map(|k| k[0]), Some(0xd7));
        assert_eq!(d.api_url.as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(d.prefix, "!ship");
        assert_eq!(d.role_ttl, Duration::from_secs(60));
        assert_eq!((d.approve, d.deny), (s(&["🚀", "shipit"]), s(&["🛑"])));
    }

    #[test]
    fn bad_discord_values_are_refused_naming_their_variable() {
        let t = ("DISCORD_TOKEN", "t");
        let cases: [(&[(&str, &str)], &str); 9] = [
            (&[("DISCORD_PUBLIC_KEY", KEY)], "DISCORD_TOKEN"),
            (
                &[t, ("DISCORD_PUBLIC_KEY", &KEY[..63])],
                "DISCORD_PUBLIC_KEY",
            ),
            (
                &[t, ("DISCORD_PUBLIC_KEY", &format!("{}g", &KEY[..63]))],
                "DISCORD_PUBLIC_KEY",
            ),
            (&[t, ("DISCORD_API_URL", "ftp://x")], "DISCORD_API_URL"),
            (&[t, ("DISCORD_API_URL", "http://")], "DISCORD_API_URL"),
            (&[t, ("DISCORD_API_URL", "http://a b")], "DISCORD_API_URL"),
            (
                &[t, ("HOIST_DISCORD_PREFIX", "<@1>")],
                "HOIST_DISCORD_PREFIX",
            ),
            (
                &[t, ("HOIST_DISCORD_ROLE_TTL", "5m")],
                "HOIST_DISCORD_ROLE_TTL",
            ),
            (&[t, ("HOIST_DISCORD_DENY", " , ")], "HOIST_DISCORD_DENY"),
        ];
        for (vars, variable) in cases {
            let e = read(vars).unwrap_err();
            assert_eq!(e.variable, variable, "{vars:?}");
            assert!(e.to_string().contains(variable), "{e}");
        }
    }

    #[test]
    fn a_role_ttl_outside_one_second_to_an_hour_is_refused() {
        let t = ("DISCORD_TOKEN", "t");
        for ttl in ["0", "3601", "18446744073709551615"] {
            let e = read(&[t, ("HOIST_DISCORD_ROLE_TTL", ttl)]).unwrap_err();
            assert_eq!(e.variable, "HOIST_DISCORD_ROLE_TTL", "{ttl}");
            assert!(e.to_string().contains("HOIST_DISCORD_ROLE_TTL"), "{e}");
        }
        for (ttl, secs) in [("1", 1), ("3600", 3_600)] {
            let d = read(&[t, ("HOIST_DISCORD_ROLE_TTL", ttl)])
                .unwrap()
                .unwrap();
            assert_eq!(d.role_ttl, Duration::from_secs(secs));
        }
    }
}
