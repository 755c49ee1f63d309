//! A platform for the neutral layer's own tests: it records every call (with
//! the time it was made) and answers at once with ids `m1`, `m2`, ... It is
//! named `discord` (people `discord:U1`, groups `discord-role:G1`) only so
//! that a policy accepts its people; nothing else about it is Discord's. Its
//! formats are its own on purpose: `{@U1}` mentions a user, `{group:G1}` a
//! group, escaping turns `{`, `}`, `<` and `>` into `(lb)`, `(rb)`, `(lt)`
//! and `(gt)`, so a test can tell hoist's own markup from outside text.

use super::platform::{Message, Place, Platform};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One call the neutral layer made.
#[derive(Debug, Clone)]
pub struct Call {
    /// `post`, `edit`, `delete` or `ephemeral`.
    pub method: &'static str,
    pub channel: String,
    pub thread: Option<String>,
    /// The message posted (its new id), edited or deleted.
    pub id: Option<String>,
    pub user: Option<String>,
    /// The body of the message, or the ephemeral's words.
    pub text: String,
    pub message: Option<Message>,
    pub at: Instant,
}

#[derive(Debug)]
pub struct Recorder {
    gap: Duration,
    calls: Mutex<Vec<Call>>,
    next: AtomicU64,
    groups: Mutex<HashMap<String, Vec<String>>>,
}

impl Recorder {
    pub fn new(post_gap: Duration) -> Recorder {
        Recorder {
            gap: post_gap,
            calls: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
            groups: Mutex::new(HashMap::new()),
        }
    }

    pub fn set_group(&self, id: &str, users: &[&str]) {
        let users = users.iter().map(|u| u.to_string()).collect();
        self.groups
            .lock()
            .expect("groups")
            .insert(id.to_string(), users);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }

    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// Wait up to 10 s for `done` to hold of the calls so far.
    pub fn wait_for(&self, what: &str, done: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let start = Instant::now();
        loop {
            let calls = self.calls();
            if done(&calls) {
                return calls;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no {what}: {calls:#?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn record(&self, call: Call) {
        self.calls.lock().expect("calls").push(call);
    }

    fn call(&self, method: &'static str, channel: &str) -> Call {
        Call {
            method,
            channel: channel.to_string(),
            thread: None,
            id: None,
            user: None,
            text: String::new(),
            message: None,
            at: Instant::now(),
        }
    }
}

impl Platform for Recorder {
    type Error = String;

    fn name(&self) -> &'static str {
        "discord"
    }

    fn group_kind(&self) -> &'static str {
        "discord-role"
    }

    fn post_gap(&self) -> Duration {
        self.gap
    }

    async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &Message,
    ) -> Result<String, String> {
        let id = format!("m{}", self.next.fetch_add(1, Ordering::Relaxed) + 1);
        self.record(Call {
            thread: thread.map(str::to_string),
            id: Some(id.clone()),
            text: message.body.clone(),
            message: Some(message.clone()),
            ..self.call("post", channel)
        });
        Ok(id)
    }

    async fn edit(
        &self,
        channel: &str,
        _thread: Option<&str>,
        id: &str,
        message: &Message,
    ) -> Result<(), String> {
        self.record(Call {
            id: Some(id.to_string()),
            text: message.body.clone(),
            message: Some(message.clone()),
            ..self.call("edit", channel)
        });
        Ok(())
    }

    async fn delete(&self, channel: &str, _thread: Option<&str>, id: &str) -> Result<(), String> {
        self.record(Call {
            id: Some(id.to_string()),
            ..self.call("delete", channel)
        });
        Ok(())
    }

    async fn ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread: Option<&str>,
        text: &str,
    ) -> Result<(), String> {
        self.record(Call {
            thread: thread.map(str::to_string),
            user: Some(user.to_string()),
            text: text.to_string(),
            ..self.call("ephemeral", channel)
        });
        Ok(())
    }

    async fn group_members(&self, id: &str) -> Vec<String> {
        let groups = self.groups.lock().expect("groups");
        groups.get(id).cloned().unwrap_or_default()
    }

    fn mention(&self, id: &str) -> String {
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            format!("{{@{id}}}")
        } else {
            self.escape(id)
        }
    }

    fn mention_group(&self, id: &str) -> String {
        format!("{{group:{}}}", self.escape(id))
    }

    fn escape(&self, text: &str) -> String {
        text.replace('<', "(lt)")
            .replace('>', "(gt)")
            .replace('{', "(lb)")
            .replace('}', "(rb)")
    }

    fn code(&self, text: &str) -> String {
        format!("`{}`", self.escape(text))
    }

    fn emoji(&self, name: &str) -> String {
        format!(":{name}:")
    }

    fn permalink(&self, channel: &str, id: &str, thread: Option<&str>) -> String {
        match thread {
            Some(t) => format!("test://{channel}/{id}?thread={t}"),
            None => format!("test://{channel}/{id}"),
        }
    }

    fn place_of_link(&self, link: &str) -> Option<Place> {
        let rest = link.strip_prefix("test://")?;
        let (path, thread) = match rest.split_once("?thread=") {
            Some((p, t)) => (p, Some(t)),
            None => (rest, None),
        };
        let (channel, id) = path.split_once('/')?;
        Some(Place {
            channel: channel.to_string(),
            thread: Some(thread.unwrap_or(id).to_string()),
        })
    }
}
