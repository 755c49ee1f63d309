//! The console surface: lines of `[as ACTOR:] COMMAND` become requests, and
//! operation updates are printed where a chat client would show the message
//! being edited.

use crate::engine::ports::Notify;
use crate::engine::{Operation, Request};
use hoist_commands::ParseError;
use std::io::Write;
use std::sync::Mutex;

/// Split `as console:alice: deploy ...` into (actor, command text).
pub fn split_actor<'a>(line: &'a str, default_actor: &'a str) -> (&'a str, &'a str) {
    let trimmed = line.trim();
    if let Some(rest) = trimmed.strip_prefix("as ") {
        // The actor is `platform:id`; the command follows the next `: `.
        if let Some(end) = rest.find(": ") {
            let actor = rest[..end].trim();
            if actor.contains(':') && !actor.contains(' ') {
                return (actor, rest[end + 2..].trim());
            }
        }
    }
    (default_actor, trimmed)
}

/// Parse a console line into a request.
pub fn request(
    line: &str,
    default_actor: &str,
    channel: Option<&str>,
) -> Result<Request, Box<ParseError>> {
    let (actor, text) = split_actor(line, default_actor);
    let command = hoist_commands::parse(text).map_err(Box::new)?;
    Ok(Request {
        actor: actor.to_string(),
        channel: channel.map(String::from),
        chat_link: None,
        memberships: Vec::new(),
        command,
    })
}

/// Prints updates to a writer (stdout for `try`, stderr for `exec`).
pub struct Printer {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Printer")
    }
}

impl Printer {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Printer {
            out: Mutex::new(out),
        }
    }

    pub fn line(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // A closed pipe is not worth failing a deploy over.
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

impl Notify for Printer {
    fn update(&self, _op: &Operation, text: &str) {
        for l in text.lines() {
            self.line(&format!("  | {l}"));
        }
    }

    fn alert(&self, channel: &str, text: &str) {
        self.line(&format!("[alert to {channel}] {text}"));
    }
}

/// Prints nothing (for `exec --json`).
#[derive(Debug, Default)]
pub struct Silent;

impl Notify for Silent {
    fn update(&self, _op: &Operation, _text: &str) {}

    fn alert(&self, _channel: &str, _text: &str) {}
}

#[cfg(test)]
mod tests {
    use super::split_actor;

    #[test]
    fn actor_prefix_is_optional() {
        assert_eq!(
            split_actor("as console:alice: deploy api v1 to dev", "console:you"),
            ("console:alice", "deploy api v1 to dev")
        );
        assert_eq!(
            split_actor("status", "console:you"),
            ("console:you", "status")
        );
        assert_eq!(
            split_actor("as slack:U1: approve 3", "x"),
            ("slack:U1", "approve 3")
        );
    }
}
