//! How one variable's value becomes a typed value: the lookup the settings
//! are read through ([`Vars`]), what counts as unset (absent, empty or only
//! blanks), and one parser per shape (a positive number, a wait, a duration,
//! a switch, a list of names). Every error names its variable.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// A setting that is missing or does not parse; its text names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// The variable at fault (`HOIST_REPO` also stands for `--repo`).
    pub variable: &'static str,
    message: String,
}

impl Error {
    /// `NAME: why`.
    pub fn bad(variable: &'static str, why: impl std::fmt::Display) -> Error {
        Error {
            variable,
            message: format!("{variable}: {why}"),
        }
    }

    /// A message of its own, which names `variable` in its words.
    pub fn said(variable: &'static str, message: impl Into<String>) -> Error {
        Error {
            variable,
            message: message.into(),
        }
    }
}

/// The environment as settings read it: a lookup by name.
pub struct Vars<F>(pub F);

impl<F: Fn(&str) -> Option<OsString>> Vars<F> {
    /// The raw value of `name`, unless unset or blank.
    fn raw(&self, name: &str) -> Option<OsString> {
        (self.0)(name).filter(|v| !v.to_str().is_some_and(|s| s.trim().is_empty()))
    }

    /// Whether `name` is there at all, even empty (`NO_COLOR`).
    pub fn present(&self, name: &str) -> bool {
        (self.0)(name).is_some()
    }

    /// The text of `name` as given (not trimmed), unless unset or blank.
    pub fn text(&self, name: &'static str) -> Result<Option<String>, Error> {
        self.raw(name)
            .map(|v| {
                v.into_string()
                    .map_err(|_| Error::bad(name, "the value is not UTF-8 text"))
            })
            .transpose()
    }

    /// A file or directory named by `name` (any bytes the OS allows).
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.raw(name).map(PathBuf::from)
    }

    /// A number above zero.
    pub fn positive(&self, name: &'static str) -> Result<Option<usize>, Error> {
        self.parsed(
            name,
            |v| v.parse().ok().filter(|n| *n > 0),
            "is not a positive number",
        )
    }

    /// A whole number of seconds.
    pub fn seconds(&self, name: &'static str) -> Result<Option<Duration>, Error> {
        self.parsed(
            name,
            |v| v.parse().ok().map(Duration::from_secs),
            "is not a number of seconds",
        )
    }

    /// A wait like `250ms` or `2s`; zero only when `zero` allows it.
    pub fn wait(&self, name: &'static str, zero: bool) -> Result<Option<Duration>, Error> {
        self.parsed(
            name,
            |v| wait(v).filter(|d| zero || !d.is_zero()),
            "is not a wait like `250ms` or `2s`",
        )
    }

    /// A duration like `30d` or `12h` (the command language's).
    pub fn duration(&self, name: &'static str) -> Result<Option<Duration>, Error> {
        self.parsed(
            name,
            |v| {
                let d: hoist_commands::Duration = v.parse().ok()?;
                Some(Duration::from_secs(d.as_secs()))
            },
            "is not a duration like `30d` or `12h`",
        )
    }

    /// `on`/`off` (also `true`/`false`, `yes`/`no`, `1`/`0`).
    pub fn switch(&self, name: &'static str) -> Result<Option<bool>, Error> {
        self.parsed(
            name,
            |v| match v.to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" | "1" => Some(true),
                "off" | "false" | "no" | "0" => Some(false),
                _ => None,
            },
            "is not `on` or `off`",
        )
    }

    /// Comma-separated names (each trimmed, `:x:` read as `x`); at least one.
    pub fn names(&self, name: &'static str, trim: &[char]) -> Result<Option<Vec<String>>, Error> {
        self.parsed(
            name,
            |v| {
                let list: Vec<String> = v
                    .split(',')
                    .map(|s| s.trim().trim_matches(trim).to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                (!list.is_empty()).then_some(list)
            },
            "names nothing (a comma-separated list)",
        )
    }

    /// `name`'s trimmed text through `parse`; `why` says what it is not.
    pub fn parsed<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
        why: &str,
    ) -> Result<Option<T>, Error> {
        let Some(v) = self.text(name)? else {
            return Ok(None);
        };
        parse(v.trim())
            .map(Some)
            .ok_or_else(|| Error::bad(name, format!("`{v}` {why}")))
    }
}

/// `250ms`, `2s`.
fn wait(v: &str) -> Option<Duration> {
    if let Some(ms) = v.strip_suffix("ms") {
        ms.parse().ok().map(Duration::from_millis)
    } else {
        v.strip_suffix('s')?.parse().ok().map(Duration::from_secs)
    }
}

/// A secret's value: shown to nobody by `Debug`, handed out by [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}
