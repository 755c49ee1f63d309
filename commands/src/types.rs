//! The values a command carries, each validated on construction so a `Command`
//! can never hold an app name or version the contract forbids: names
//! (`^[a-z0-9][a-z0-9-]{0,62}$`), versions (an image tag, a `sha256:` digest, or
//! both), tickets (one token of `[A-Za-z0-9._/#:-]`, at most 64), durations
//! (`30m`, `2h`, `1d`) and operation ids. A ticket goes into a commit trailer,
//! so it can never hold a space, a newline or any other control character.

use std::fmt;
use std::str::FromStr;

/// Why a value was refused; turned into a positioned `ParseError` by the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub what: &'static str,
    pub rule: &'static str,
}

/// An app or environment name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

pub const NAME_RULE: &str =
    "names are 1-63 lowercase letters, digits and `-`, starting with a letter or digit";

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Name {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_lowercase() || b.is_ascii_digit() || (b == b'-' && i > 0));
        if ok {
            Ok(Name(s.to_string()))
        } else {
            Err(Invalid {
                what: "name",
                rule: NAME_RULE,
            })
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// What to deploy: an image tag, a digest, or a tag pinned to a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Version {
    Tag(String),
    /// The 64 lowercase hex digits of a `sha256:` digest.
    Digest(String),
    TagDigest {
        tag: String,
        digest: String,
    },
}

pub const VERSION_RULE: &str = "expected an image tag (letters, digits, `_`, `.`, `-`; up to 128, \
     not starting with `.` or `-`), a digest `sha256:<64 hex>`, or `TAG@sha256:<64 hex>`";

fn valid_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn parse_digest(s: &str) -> Option<String> {
    let hex = s.strip_prefix("sha256:")?;
    let ok = hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ok.then(|| hex.to_string())
}

impl Version {
    /// The tag part, if any.
    pub fn tag(&self) -> Option<&str> {
        match self {
            Version::Tag(t) | Version::TagDigest { tag: t, .. } => Some(t),
            Version::Digest(_) => None,
        }
    }

    /// The digest as `sha256:<hex>`, if any.
    pub fn digest(&self) -> Option<String> {
        match self {
            Version::Digest(d) | Version::TagDigest { digest: d, .. } => {
                Some(format!("sha256:{d}"))
            }
            Version::Tag(_) => None,
        }
    }
}

impl FromStr for Version {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let bad = Invalid {
            what: "version",
            rule: VERSION_RULE,
        };
        if s.starts_with("sha256:") {
            return parse_digest(s).map(Version::Digest).ok_or(bad);
        }
        match s.split_once('@') {
            Some((tag, digest)) if valid_tag(tag) => parse_digest(digest)
                .map(|digest| Version::TagDigest {
                    tag: tag.to_string(),
                    digest,
                })
                .ok_or(bad),
            Some(_) => Err(bad),
            None if valid_tag(s) => Ok(Version::Tag(s.to_string())),
            None => Err(bad),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Tag(t) => f.write_str(t),
            Version::Digest(d) => write!(f, "sha256:{d}"),
            Version::TagDigest { tag, digest } => write!(f, "{tag}@sha256:{digest}"),
        }
    }
}

/// A ticket key (`OPS-12`, `JIRA#4`, `team/123`): one token of a safe charset,
/// because it is written into a commit trailer (`Hoist-Ticket`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ticket(String);

pub const TICKET_RULE: &str = "a ticket is one word of 1-64 letters, digits and `._/#:-`";

impl Ticket {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Ticket {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'#' | b':' | b'-')
            });
        if ok {
            Ok(Ticket(s.to_string()))
        } else {
            Err(Invalid {
                what: "ticket",
                rule: TICKET_RULE,
            })
        }
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A duration as written (`30m`, `2h`, `1d`); the unit is kept so it prints back the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    pub amount: u32,
    pub unit: DurationUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

pub const DURATION_RULE: &str =
    "expected a number and a unit, like `30m`, `2h` or `1d` (s, m, h, d)";

impl Duration {
    pub fn as_secs(&self) -> u64 {
        let per = match self.unit {
            DurationUnit::Seconds => 1,
            DurationUnit::Minutes => 60,
            DurationUnit::Hours => 3600,
            DurationUnit::Days => 86_400,
        };
        u64::from(self.amount) * per
    }
}

impl FromStr for Duration {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let bad = Invalid {
            what: "duration",
            rule: DURATION_RULE,
        };
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or(bad.clone())?;
        let (digits, unit) = s.split_at(split);
        let amount: u32 = digits.parse().map_err(|_| bad.clone())?;
        let unit = match unit {
            "s" => DurationUnit::Seconds,
            "m" => DurationUnit::Minutes,
            "h" => DurationUnit::Hours,
            "d" => DurationUnit::Days,
            _ => return Err(bad),
        };
        if amount == 0 || digits.starts_with('0') {
            return Err(bad);
        }
        Ok(Duration { amount, unit })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            DurationUnit::Seconds => "s",
            DurationUnit::Minutes => "m",
            DurationUnit::Hours => "h",
            DurationUnit::Days => "d",
        };
        write!(f, "{}{unit}", self.amount)
    }
}

/// An operation id as users type it: `7` or `#7`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

impl FromStr for OpId {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let bad = Invalid {
            what: "operation id",
            rule: "expected a number such as `7` or `#7`",
        };
        let digits = s.strip_prefix('#').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
        digits.parse().map(OpId).map_err(|_| bad)
    }
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        for ok in ["api", "a", "web-2", "0x", &"a".repeat(63)] {
            assert!(ok.parse::<Name>().is_ok(), "{ok}");
        }
        for bad in ["", "-api", "Api", "a_b", "a.b", &"a".repeat(64), "é"] {
            assert!(bad.parse::<Name>().is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_follow_the_contract() {
        let d = "a".repeat(64);
        assert_eq!("v1.2.4".parse(), Ok(Version::Tag("v1.2.4".into())));
        assert_eq!(
            format!("sha256:{d}").parse(),
            Ok(Version::Digest(d.clone()))
        );
        assert_eq!(
            format!("v1@sha256:{d}").parse(),
            Ok(Version::TagDigest {
                tag: "v1".into(),
                digest: d
            })
        );
        for bad in [
            "v1.2;rm",
            "",
            ".v1",
            "-v1",
            "sha256:abc",
            &"a".repeat(129),
            "v1@v2",
            "a b",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
        assert!(
            format!("sha256:{}", "A".repeat(64))
                .parse::<Version>()
                .is_err()
        );
    }

    #[test]
    fn tickets_are_one_safe_token() {
        for ok in ["OPS-12", "JIRA#4", "team/123", "a:b.c_d", &"T".repeat(64)] {
            assert_eq!(
                ok.parse::<Ticket>().map(|t| t.to_string()),
                Ok(ok.to_string())
            );
        }
        for bad in [
            "",
            "ABC-1\nHoist-Approved-By: slack:U0SRE1",
            "ABC-1\n\nHoist-Requested-By: x",
            "ABC 1",
            "ABC-1\r",
            "ABC\u{2028}1",
            "ABC\u{0085}1",
            "“ABC-1”",
            "ABC-1\t",
            &"T".repeat(65),
        ] {
            assert!(bad.parse::<Ticket>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_parse_and_print_back() {
        for s in ["30m", "2h", "1d", "45s"] {
            assert_eq!(s.parse::<Duration>().unwrap().to_string(), s);
        }
        assert_eq!("2h".parse::<Duration>().unwrap().as_secs(), 7200);
        for bad in ["", "m", "0m", "05m", "2w", "1.5h", "99999999999m"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
    }
}
