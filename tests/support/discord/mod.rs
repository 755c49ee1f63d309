//! A fake Discord on loopback, speaking Discord's wire protocols: the REST
//! API under `/api/v10` (reached through `DISCORD_API_URL`, serenity's
//! `HttpBuilder::proxy`) and the gateway websocket that `GET /gateway/bot`
//! points at. It records every REST call and gateway frame the bot sends,
//! answers in Discord's shapes (`discord/wire.rs`), keeps the little state
//! Discord's refusals need (`discord/rest.rs`), can answer 429 on a route or
//! globally, and lets the test dispatch MESSAGE_CREATE and reactions, drop
//! the socket and watch the RESUME (`discord/gateway.rs`). Also the test's
//! side of Discord's signed interactions (Ed25519, the RFC 8032 test key).

pub mod gateway;
pub mod rest;
pub mod wire;

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// Not every test binary that includes `support` names them.
#[allow(unused_imports)]
pub use wire::{APP, BOT, GUILD};

pub const TOKEN: &str = "fake-discord-bot-token";
/// RFC 8032 test 1: the key Discord's interactions are signed with here.
pub const PUBLIC_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
pub const SECRET_KEY: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// One REST call as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Under `/api/v10`, without the query.
    pub path: String,
    pub query: String,
    /// `METHOD /path` with ids as `{id}` (and a webhook's token as `{token}`).
    pub route: String,
    pub body: Value,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub status: u16,
    /// The id of the message a successful `POST .../messages` created.
    pub posted: Option<String>,
    pub at: Instant,
}

/// A channel the fake knows: `kind` 0 text, 1 DM, 11 thread, 15 forum.
#[derive(Debug, Clone)]
pub struct Chan {
    pub kind: u8,
    pub guild: Option<String>,
    pub parent: Option<String>,
    pub recipient: Option<String>,
}

/// A message (hoist's, an interaction response, or one a test said), with
/// the fields as last posted or edited (`content`, `embeds`, `components`,
/// `allowed_mentions`, `message_reference`).
#[derive(Debug, Clone)]
pub struct Posted {
    pub id: String,
    pub channel: String,
    pub author: String,
    pub body: Value,
    pub edits: usize,
    pub deleted: bool,
}

impl Posted {
    /// Content, embed titles, descriptions and footers, as one text.
    pub fn text(&self) -> String {
        let mut out = self.body["content"].as_str().unwrap_or("").to_string();
        for e in self.body["embeds"].as_array().into_iter().flatten() {
            for part in [&e["title"], &e["description"], &e["footer"]["text"]] {
                if let Some(s) = part.as_str() {
                    out.push('\n');
                    out.push_str(s);
                }
            }
        }
        out
    }
}

#[derive(Debug)]
pub struct State {
    pub calls: Vec<Call>,
    next_id: u64,
    pub channels: HashMap<String, Chan>,
    pub messages: HashMap<String, Posted>,
    /// Message ids in the order they were created.
    pub order: Vec<String>,
    pub members: HashMap<(String, String), Vec<String>>,
    pub dms: HashMap<String, String>,
    pub dm_refused: HashSet<String>,
    pub no_threads: HashSet<String>,
    /// route template -> how many more calls answer 429.
    pub limited: HashMap<String, u32>,
    pub global_limited: u32,
    /// Seconds a 429 asks to wait.
    pub retry_after: f64,
    pub originals: HashMap<String, String>,
    pub commands: HashMap<String, Value>,
    pub gateway: gateway::Gateway,
}

impl State {
    /// The next snowflake (increasing, 19 digits).
    pub fn next_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }
}

pub struct FakeDiscord {
    /// `DISCORD_API_URL` for hoist.
    pub url: String,
    state: Arc<Mutex<State>>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeDiscord {
    /// A fake with one text channel per id in `channels` (in [`GUILD`]).
    pub fn start(channels: &[&str]) -> FakeDiscord {
        let state = Arc::new(Mutex::new(State {
            calls: Vec::new(),
            next_id: 1_300_000_000_000_000_000,
            channels: HashMap::new(),
            messages: HashMap::new(),
            order: Vec::new(),
            members: HashMap::new(),
            dms: HashMap::new(),
            dm_refused: HashSet::new(),
            no_threads: HashSet::new(),
            limited: HashMap::new(),
            global_limited: 0,
            retry_after: 1.0,
            originals: HashMap::new(),
            commands: HashMap::new(),
            gateway: gateway::Gateway {
                heartbeat_ms: 2_000,
                replay_last: true,
                ..Default::default()
            },
        }));
        let app = axum::Router::new()
            .route("/api/v10/{*rest}", axum::routing::any(rest::api))
            .with_state(state.clone());
        let (url, runtime) = super::loopback::serve_loopback(app);
        let ws = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        state.lock().unwrap().gateway.url = format!("ws://{}", ws.local_addr().unwrap());
        let st = state.clone();
        runtime.spawn(async move {
            while let Ok((tcp, _)) = ws.accept().await {
                tokio::spawn(gateway::connection(st.clone(), tcp));
            }
        });
        let fake = FakeDiscord {
            url,
            state,
            _runtime: runtime,
        };
        for c in channels {
            fake.add_channel(c, 0, None);
        }
        fake
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// A channel of `kind` in the guild (a thread when `parent` is set).
    pub fn add_channel(&self, id: &str, kind: u8, parent: Option<&str>) {
        let chan = Chan {
            kind,
            guild: Some(GUILD.into()),
            parent: parent.map(str::to_string),
            recipient: None,
        };
        self.st().channels.insert(id.into(), chan);
    }

    /// `user`'s roles in the guild (what `GET /guilds/G/members/U` answers).
    pub fn set_roles(&self, user: &str, roles: &[&str]) {
        let roles = roles.iter().map(|r| r.to_string()).collect();
        self.st().members.insert((GUILD.into(), user.into()), roles);
    }

    /// `user` accepts no DMs: posting in their DM channel answers 50007.
    pub fn refuse_dms(&self, user: &str) {
        self.st().dm_refused.insert(user.into());
    }

    /// hoist may not start threads in `channel` (50013).
    pub fn no_threads(&self, channel: &str) {
        self.st().no_threads.insert(channel.into());
    }

    /// The next `n` calls of `route` (see [`Call::route`]) answer 429.
    pub fn rate_limit(&self, route: &str, n: u32) {
        self.st().limited.insert(route.into(), n);
    }

    /// The next `n` calls of any route answer a global 429.
    pub fn global_limit(&self, n: u32) {
        self.st().global_limited = n;
    }

    /// What a 429 asks to wait, in seconds.
    pub fn set_retry_after(&self, secs: f64) {
        self.st().retry_after = secs;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.st().calls.clone()
    }

    /// The calls of `route` (`"PATCH /channels/{id}/messages/{id}"`).
    pub fn calls_of(&self, route: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.route == route)
            .collect()
    }

    pub fn message(&self, id: &str) -> Option<Posted> {
        self.st().messages.get(id).cloned()
    }

    /// Every message created (by REST, webhooks or the test), oldest first.
    pub fn messages(&self) -> Vec<Posted> {
        let st = self.st();
        st.order
            .iter()
            .filter_map(|id| st.messages.get(id).cloned())
            .collect()
    }

    pub fn channel(&self, id: &str) -> Option<Chan> {
        self.st().channels.get(id).cloned()
    }

    /// The DM channel opened with `user`, if any.
    pub fn dm_of(&self, user: &str) -> Option<String> {
        self.st().dms.get(user).cloned()
    }

    /// The commands last registered (`"global"` or a guild id).
    pub fn commands(&self, scope: &str) -> Option<Value> {
        self.st().commands.get(scope).cloned()
    }

    /// Wait (at most `within`) until `f` gives something.
    pub fn wait<T>(
        &self,
        what: &str,
        within: Duration,
        mut f: impl FnMut(&FakeDiscord) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            if let Some(t) = f(self) {
                return t;
            }
            if start.elapsed() > within {
                let calls: Vec<String> = self
                    .calls()
                    .iter()
                    .map(|c| format!("{} {} -> {} {}", c.route, c.path, c.status, c.body))
                    .collect();
                panic!("no {what} within {within:?}; calls:\n{}", calls.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Wait for a message in `channel` whose text contains `needle`.
    pub fn wait_message(&self, channel: &str, needle: &str, within: Duration) -> Posted {
        self.wait(
            &format!("message with {needle:?} in {channel}"),
            within,
            |f| {
                f.messages()
                    .into_iter()
                    .find(|m| m.channel == channel && !m.deleted && m.text().contains(needle))
            },
        )
    }

    // --- the gateway ---

    /// Heartbeat interval HELLO announces (default 2 s, so tests see some).
    pub fn set_heartbeat_ms(&self, ms: u64) {
        self.st().gateway.heartbeat_ms = ms;
    }

    /// Whether a RESUME also replays the event at the client's last `s`.
    pub fn set_replay_last(&self, on: bool) {
        self.st().gateway.replay_last = on;
    }

    /// Wait until a session is live (READY or RESUMED sent) and give its id.
    pub fn wait_session(&self, within: Duration) -> String {
        self.wait("a gateway session", within, |f| {
            let st = f.st();
            st.gateway.live.as_ref().map(|_| st.gateway.session.clone())
        })
    }

    /// Dispatch event `t` with data `d`: its `s`.
    pub fn dispatch(&self, t: &str, d: Value) -> u64 {
        self.st().gateway.dispatch(t, d)
    }

    /// Drop the live socket without a close frame (a network failure).
    pub fn drop_socket(&self) {
        if let Some(live) = self.st().gateway.live.take() {
            let _ = live.send(gateway::Out::Drop);
        }
    }

    pub fn identifies(&self) -> Vec<Value> {
        self.st().gateway.identifies.clone()
    }

    pub fn resumes(&self) -> Vec<Value> {
        self.st().gateway.resumes.clone()
    }

    pub fn heartbeats(&self) -> u32 {
        self.st().gateway.heartbeats
    }

    pub fn connections(&self) -> u32 {
        self.st().gateway.connections
    }

    /// `author` (holding `roles`) says `content` in `channel`: a new message
    /// id, known to the fake, dispatched as MESSAGE_CREATE.
    pub fn say(&self, author: &str, roles: &[&str], channel: &str, content: &str) -> String {
        let mut st = self.st();
        let id = st.next_id();
        let posted = Posted {
            id: id.clone(),
            channel: channel.into(),
            author: author.into(),
            body: serde_json::json!({"content": content}),
            edits: 0,
            deleted: false,
        };
        st.order.push(id.clone());
        st.messages.insert(id.clone(), posted);
        st.gateway.dispatch(
            "MESSAGE_CREATE",
            wire::message_create(&id, channel, author, roles, content),
        );
        id
    }

    /// `user` (holding `roles`) reacts with `emoji` on `message` in `channel`.
    pub fn react(
        &self,
        user: &str,
        roles: &[&str],
        channel: &str,
        message: &str,
        emoji: &str,
    ) -> u64 {
        self.dispatch(
            "MESSAGE_REACTION_ADD",
            wire::reaction_add(user, roles, channel, message, emoji),
        )
    }

    /// `user` takes back their `emoji` on `message`.
    pub fn unreact(&self, user: &str, channel: &str, message: &str, emoji: &str) -> u64 {
        self.dispatch(
            "MESSAGE_REACTION_REMOVE",
            wire::reaction_remove(user, channel, message, emoji),
        )
    }

    /// A fresh snowflake (interaction ids and the like).
    pub fn snowflake(&self) -> String {
        self.st().next_id()
    }
}

/// Discord's signature of an interaction: Ed25519 over `timestamp + body`
/// with [`SECRET_KEY`], hex.
pub fn sign(timestamp: &str, body: &str) -> String {
    use ed25519_dalek::Signer;
    let secret: [u8; 32] = hex(SECRET_KEY).try_into().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body.as_bytes());
    key.sign(&message)
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The headers of an interaction signed at `timestamp`.
pub fn signed(timestamp: &str, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/json".to_string()),
        ("X-Signature-Ed25519", sign(timestamp, body)),
        ("X-Signature-Timestamp", timestamp.to_string()),
    ]
}

/// Now, in Unix seconds, as Discord's `X-Signature-Timestamp` says it.
pub fn now() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}
