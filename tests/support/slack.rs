//! A fake Slack Web API on loopback (axum on 127.0.0.1:0), reached through
//! `SLACK_API_URL=<url>/api`. It records every call (method, JSON or form
//! body, query), answers in Slack's shapes (`ok`, `channel`, `ts`), checks the
//! bearer token, serves `usergroups.users.list` from groups the test sets, can
//! answer 429 with `Retry-After`, and runs Socket Mode's websocket
//! (`apps.connections.open` hands out its `ws://` URL): the test pushes
//! envelopes, the fake records the acknowledgements.
//! Also the test's side of Slack's signed HTTP requests.

use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub const BOT_TOKEN: &str = "xoxb-test-token";
pub const BOT_USER: &str = "UHOIST";
pub const TEAM_URL: &str = "https://acme.slack.com/";

/// One Web API call as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The JSON body, the form fields, or the query (GET) as an object.
    pub args: Value,
    /// The `ts` the fake gave a posted message.
    pub ts: Option<String>,
    /// When the call arrived (for latency measurements).
    pub at: Instant,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    next_ts: u64,
    groups: HashMap<String, Vec<String>>,
    /// method -> how many more calls answer 429.
    limited: HashMap<String, u32>,
    ws_url: String,
    /// Senders to the open Socket Mode connections, newest last.
    sockets: Vec<mpsc::UnboundedSender<String>>,
    acks: Vec<Value>,
}

pub struct FakeSlack {
    pub url: String,
    state: Arc<Mutex<State>>,
    _runtime: tokio::runtime::Runtime,
}

fn args_of(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Value {
    let form = |bytes: &[u8]| -> Value {
        url_pairs(bytes)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        serde_json::from_slice(body).unwrap_or(Value::Null)
    } else if !body.is_empty() {
        form(body)
    } else {
        form(query.unwrap_or("").as_bytes())
    }
}

/// `a=1&b=two%20words` -> pairs (the fake's own small decoder).
fn url_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The form body of `/hoist <text>` from `user` in `channel`, as Slack
/// sends it, with trigger id number `n` (hoist acts once per `trigger_id`).
#[allow(dead_code)] // not every test crate sends slash commands
pub fn slash_form(user: &str, channel: &str, text: &str, n: u64) -> String {
    let trigger = format!("13345224609.738474920.{n:08x}");
    [
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", "T0ACME"),
        ("team_domain", "acme"),
        ("channel_id", channel),
        ("channel_name", "deploy"),
        ("user_id", user),
        ("user_name", "someone"),
        ("command", "/hoist"),
        ("text", text),
        (
            "response_url",
            "https://hooks.slack.com/commands/T0ACME/1/abc",
        ),
        ("trigger_id", trigger.as_str()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", encode(v)))
    .collect::<Vec<_>>()
    .join("&")
}

/// Percent-encode a form value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn api(
    AxState(state): AxState<Arc<Mutex<State>>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let args = args_of(&headers, query.as_deref(), &body);
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut st = state.lock().unwrap();
    if let Some(n) = st.limited.get_mut(&method)
        && *n > 0
    {
        *n -= 1;
        st.calls.push(Call {
            method: format!("{method} (429)"),
            args,
            ts: None,
            at: Instant::now(),
        });
        let body = json!({"ok": false, "error": "ratelimited"}).to_string();
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1"), ("content-type", "application/json")],
            body,
        )
            .into_response();
    }
    let token_ok = bearer == format!("Bearer {BOT_TOKEN}")
        || (method == "apps.connections.open" && bearer.starts_with("Bearer xapp-"));
    if !token_ok {
        return axum::Json(json!({"ok": false, "error": "invalid_auth"})).into_response();
    }
    st.next_ts += 1;
    let ts = format!("1795600800.{:06}", st.next_ts);
    let channel = args["channel"].clone();
    let (answer, posted) = match method.as_str() {
        "auth.test" => (
            json!({"ok": true, "url": TEAM_URL, "team": "Acme", "user": "hoist",
                   "team_id": "T0ACME", "user_id": BOT_USER, "bot_id": "BHOIST"}),
            None,
        ),
        "chat.postMessage" => (
            json!({"ok": true, "channel": channel, "ts": ts,
                   "message": {"type": "message", "text": args["text"], "user": BOT_USER, "ts": ts}}),
            Some(ts),
        ),
        "chat.update" => (
            json!({"ok": true, "channel": channel, "ts": args["ts"], "text": args["text"],
                   "message": {"type": "message", "text": args["text"], "user": BOT_USER}}),
            None,
        ),
        "chat.postEphemeral" => (json!({"ok": true, "message_ts": ts}), None),
        "chat.delete" => (
            json!({"ok": true, "channel": channel, "ts": args["ts"]}),
            None,
        ),
        "usergroups.users.list" => {
            let group = args["usergroup"].as_str().unwrap_or("");
            match st.groups.get(group) {
                Some(users) => (json!({"ok": true, "users": users}), None),
                None => (json!({"ok": false, "error": "no_such_subteam"}), None),
            }
        }
        "apps.connections.open" => (json!({"ok": true, "url": st.ws_url}), None),
        _ => (json!({"ok": false, "error": "unknown_method"}), None),
    };
    st.calls.push(Call {
        method,
        args,
        ts: posted,
        at: Instant::now(),
    });
    axum::Json(answer).into_response()
}

/// One Socket Mode connection: say hello, forward the test's envelopes,
/// record what comes back.
async fn socket(state: Arc<Mutex<State>>, tcp: tokio::net::TcpStream) {
    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    state.lock().unwrap().sockets.push(tx);
    let hello = json!({"type": "hello", "num_connections": 1,
        "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
        "connection_info": {"app_id": "A0HOIST"}});
    if sink
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(text) => if sink.send(Message::Text(text.into())).await.is_err() { return },
                None => return,
            },
            inbound = stream.next() => match inbound {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    state.lock().unwrap().acks.push(v);
                }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

impl FakeSlack {
    pub fn start() -> FakeSlack {
        let state = Arc::new(Mutex::new(State::default()));
        let app = axum::Router::new()
            .route("/api/{method}", axum::routing::any(api))
            .with_state(state.clone());
        let (url, runtime) = super::loopback::serve_loopback(app);
        let ws = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        state.lock().unwrap().ws_url = format!("ws://{}/link", ws.local_addr().unwrap());
        let st = state.clone();
        runtime.spawn(async move {
            while let Ok((tcp, _)) = ws.accept().await {
                tokio::spawn(socket(st.clone(), tcp));
            }
        });
        FakeSlack {
            url,
            state,
            _runtime: runtime,
        }
    }

    /// `SLACK_API_URL` for hoist.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.url)
    }

    pub fn set_group(&self, id: &str, users: &[&str]) {
        let users = users.iter().map(|u| u.to_string()).collect();
        self.state.lock().unwrap().groups.insert(id.into(), users);
    }

    /// From now on `usergroups.users.list` of `id` answers `no_such_subteam`.
    pub fn remove_group(&self, id: &str) {
        self.state.lock().unwrap().groups.remove(id);
    }

    /// The next `n` calls of `method` answer 429 with `Retry-After: 1`.
    pub fn rate_limit(&self, method: &str, n: u32) {
        self.state.lock().unwrap().limited.insert(method.into(), n);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The calls from the `from`th on (cheaper than `calls` when polling).
    pub fn calls_since(&self, from: usize) -> Vec<Call> {
        let st = self.state.lock().unwrap();
        st.calls.get(from..).unwrap_or_default().to_vec()
    }

    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// Wait (up to `within`) for a call of `method` whose `text` contains `needle`.
    pub fn wait_for(&self, method: &str, needle: &str, within: Duration) -> Call {
        let start = Instant::now();
        loop {
            let found = self
                .calls_of(method)
                .into_iter()
                .find(|c| c.args["text"].as_str().unwrap_or("").contains(needle));
            if let Some(c) = found {
                return c;
            }
            assert!(
                start.elapsed() < within,
                "no {method} containing {needle:?} within {within:?}; calls: {:#?}",
                self.calls()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Push a Socket Mode envelope down the newest connection.
    pub fn push_envelope(&self, envelope: Value) {
        let start = Instant::now();
        loop {
            if let Some(tx) = self.state.lock().unwrap().sockets.last() {
                tx.send(envelope.to_string()).unwrap();
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no socket connected"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn acks(&self) -> Vec<Value> {
        self.state.lock().unwrap().acks.clone()
    }
}

/// Slack's v0 signature of `body` at `ts` (computed here independently of
/// hoist, with the `hmac` and `sha2` crates hoist also uses).
pub fn sign(secret: &str, ts: i64, body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2_11::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("v0={hex}")
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// One HTTP/1.1 POST to hoist on loopback: (status, body, time to answer).
pub fn post(
    addr: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (u16, String, Duration) {
    let start = Instant::now();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let (status, body) = answer(&mut s);
    (status, body, start.elapsed())
}

/// Read a whole `Connection: close` answer: (status, body).
fn answer(s: &mut std::net::TcpStream) -> (u16, String) {
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A GET to hoist: (status, body).
pub fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    answer(&mut s)
}

/// Headers of a request signed with `secret` at `ts`.
pub fn signed(
    secret: &str,
    ts: i64,
    body: &str,
    content_type: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", content_type.to_string()),
        ("X-Slack-Request-Timestamp", ts.to_string()),
        ("X-Slack-Signature", sign(secret, ts, body)),
    ]
}
