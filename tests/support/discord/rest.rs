//! The fake's REST side: `/api/v10/...` as serenity's `Http` reaches it
//! through `HttpBuilder::proxy`. Every call is recorded (method, path, route
//! template, JSON body, headers, status); answers carry `X-RateLimit-*`
//! bucket headers, and a route the test limited answers 429 with
//! `Retry-After` and `retry_after` (or the global limit) first. Channels,
//! threads, messages, members and DMs keep just enough state for Discord's
//! own refusals: 160004 (thread already started), 50024 (no threads in this
//! kind of channel), 50013 (missing permission), 50007 (DMs refused),
//! 10003 / 10008 / 10007 (unknown channel / message / member).

use super::wire::{self, APP, BOT};
use super::{Call, Chan, Posted, State, TOKEN};
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// `PATCH /channels/1/messages/2` -> `PATCH /channels/{id}/messages/{id}`;
/// an interaction webhook's token is `{token}`.
pub fn template(method: &str, path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let shaped: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                "{id}".to_string()
            } else if i == 2 && parts[0] == "webhooks" {
                "{token}".to_string()
            } else {
                p.to_string()
            }
        })
        .collect();
    format!("{method} /{}", shaped.join("/"))
}

fn error(status: u16, code: u32, message: &str) -> (u16, Value) {
    (status, json!({"message": message, "code": code}))
}

pub async fn api(
    AxState(state): AxState<Arc<Mutex<State>>>,
    method: Method,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let path = format!("/{}", rest.trim_end_matches('/'));
    let route = template(method.as_str(), &path);
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let recorded: std::collections::HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let mut st = state.lock().unwrap();
    let bucket = format!(
        "{:016x}",
        route
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
    );
    let limited = if st.global_limited > 0 {
        st.global_limited -= 1;
        Some(true)
    } else if let Some(n) = st.limited.get_mut(&route).filter(|n| **n > 0) {
        *n -= 1;
        Some(false)
    } else {
        None
    };
    let (status, answer) = match limited {
        Some(global) => (
            429,
            json!({"message": "You are being rate limited.", "retry_after": st.retry_after,
                   "global": global, "code": 0}),
        ),
        None => {
            let webhook = path.starts_with("/webhooks/");
            let auth = recorded.get("authorization").map(String::as_str);
            if !webhook && auth != Some(&format!("Bot {TOKEN}")) {
                error(401, 0, "401: Unauthorized")
            } else {
                answer(&mut st, method.as_str(), &path, &json_body)
            }
        }
    };
    let posted = (status < 300 && method == Method::POST && path.ends_with("/messages"))
        .then(|| answer["id"].as_str().map(str::to_string))
        .flatten();
    st.calls.push(Call {
        method: method.to_string(),
        path,
        query: query.unwrap_or_default(),
        route,
        body: json_body,
        headers: recorded,
        status,
        posted,
        at: Instant::now(),
    });
    let retry = st.retry_after;
    drop(st);
    let mut response = if status == 204 {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response()
    };
    let h = response.headers_mut();
    let reset_after = if limited.is_some() { retry } else { 1.0 };
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + reset_after;
    let mut set = |k: &'static str, v: String| {
        h.insert(k, v.parse().unwrap());
    };
    set("x-ratelimit-limit", "5".into());
    set(
        "x-ratelimit-remaining",
        if limited.is_some() { "0" } else { "4" }.into(),
    );
    set("x-ratelimit-reset", format!("{reset:.3}"));
    set("x-ratelimit-reset-after", format!("{reset_after:.3}"));
    set("x-ratelimit-bucket", bucket);
    if let Some(global) = limited {
        set("retry-after", format!("{}", retry.ceil() as u64));
        set(
            "x-ratelimit-scope",
            if global { "global" } else { "user" }.into(),
        );
        if global {
            set("x-ratelimit-global", "true".into());
        }
    }
    response
}

/// One REST call's answer: (status, JSON; `Null` with 204).
fn answer(st: &mut State, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, p.as_slice()) {
        ("GET", ["gateway", "bot"]) => (
            200,
            json!({"url": st.gateway.url, "shards": 1,
                   "session_start_limit": {"total": 1000, "remaining": 999,
                                           "reset_after": 14_400_000, "max_concurrency": 1}}),
        ),
        ("GET", ["gateway"]) => (200, json!({"url": st.gateway.url})),
        ("GET", ["users", "@me"]) => (200, wire::ready("", "")["user"].clone()),
        ("GET", ["oauth2", "applications", "@me"]) => (200, wire::application(super::PUBLIC_KEY)),
        ("GET", ["channels", c]) => match st.channels.get(*c) {
            Some(ch) => (200, channel_json(c, ch)),
            None => error(404, 10003, "Unknown Channel"),
        },
        ("POST", ["channels", c, "messages"]) => post_message(st, c, body),
        ("PATCH", ["channels", c, "messages", m]) => match st.messages.get_mut(*m) {
            Some(msg) if msg.channel == *c && !msg.deleted => {
                merge(&mut msg.body, body);
                msg.edits += 1;
                let m = msg.clone();
                (200, message_json(&m))
            }
            _ => error(404, 10008, "Unknown Message"),
        },
        ("GET", ["channels", c, "messages", m]) => match st.messages.get(*m) {
            Some(msg) if msg.channel == *c && !msg.deleted => (200, message_json(msg)),
            _ => error(404, 10008, "Unknown Message"),
        },
        ("DELETE", ["channels", c, "messages", m]) => match st.messages.get_mut(*m) {
            Some(msg) if msg.channel == *c && !msg.deleted => {
                msg.deleted = true;
                (204, Value::Null)
            }
            _ => error(404, 10008, "Unknown Message"),
        },
        ("POST", ["channels", c, "messages", m, "threads"]) => start_thread(st, c, m, body),
        ("PUT" | "DELETE", ["channels", _, "messages", _, "reactions", ..]) => (204, Value::Null),
        ("GET", ["guilds", g, "members", u]) => {
            match st.members.get(&(g.to_string(), u.to_string())) {
                Some(roles) => {
                    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
                    (200, wire::member(u, &roles, true))
                }
                None => error(404, 10007, "Unknown Member"),
            }
        }
        ("POST", ["users", "@me", "channels"]) => {
            let Some(user) = body["recipient_id"].as_str().map(str::to_string) else {
                return error(400, 50035, "Invalid Form Body");
            };
            let id = match st.dms.get(&user) {
                Some(id) => id.clone(),
                None => {
                    let id = st.next_id();
                    st.dms.insert(user.clone(), id.clone());
                    st.channels.insert(
                        id.clone(),
                        Chan {
                            kind: 1,
                            guild: None,
                            parent: None,
                            recipient: Some(user.clone()),
                        },
                    );
                    id
                }
            };
            (200, wire::dm_channel(&id, &user))
        }
        (_, ["webhooks", app, _token, ..]) if *app != APP => error(404, 10015, "Unknown Webhook"),
        ("PATCH", ["webhooks", _, token, "messages", m]) => webhook_message(st, token, m, body),
        ("POST", ["webhooks", _, token]) => webhook_message(st, token, "new", body),
        ("POST", ["interactions", _, _, "callback"]) => (204, Value::Null),
        ("PUT", ["applications", app, "commands"]) if *app == APP => put_commands(st, None, body),
        ("PUT", ["applications", app, "guilds", g, "commands"]) if *app == APP => {
            put_commands(st, Some(g), body)
        }
        _ => error(404, 0, "404: Not Found"),
    }
}

fn channel_json(id: &str, ch: &Chan) -> Value {
    match (&ch.recipient, ch.kind) {
        (Some(user), 1) => wire::dm_channel(id, user),
        _ => wire::channel(id, ch.kind, ch.guild.as_deref(), ch.parent.as_deref()),
    }
}

fn message_json(m: &Posted) -> Value {
    let mut v = wire::message(
        &m.id,
        &m.channel,
        &m.author,
        m.body["content"].as_str().unwrap_or(""),
    );
    for key in ["embeds", "components", "message_reference"] {
        if !m.body[key].is_null() {
            v[key] = m.body[key].clone();
        }
    }
    if let Some(r) = m.body["message_reference"].as_object() {
        v["type"] = json!(if r.contains_key("message_id") { 19 } else { 0 });
        v["message_reference"]["channel_id"] = json!(m.channel);
    }
    v
}

/// Fields of `patch` replace those of `into` (Discord's PATCH semantics).
fn merge(into: &mut Value, patch: &Value) {
    if let (Some(into), Some(patch)) = (into.as_object_mut(), patch.as_object()) {
        for (k, v) in patch {
            into.insert(k.clone(), v.clone());
        }
    }
}

fn post_message(st: &mut State, channel: &str, body: &Value) -> (u16, Value) {
    let Some(ch) = st.channels.get(channel).cloned() else {
        return error(404, 10003, "Unknown Channel");
    };
    if ch.kind == 1
        && ch
            .recipient
            .as_ref()
            .is_some_and(|u| st.dm_refused.contains(u))
    {
        return error(403, 50007, "Cannot send messages to this user");
    }
    if ch.kind == 15 {
        return error(400, 50024, "Cannot execute action on this channel type");
    }
    let content = body["content"].as_str().unwrap_or("");
    if content.chars().count() > 2000 {
        return error(400, 50035, "Invalid Form Body");
    }
    let id = st.next_id();
    let posted = Posted {
        id: id.clone(),
        channel: channel.to_string(),
        author: BOT.to_string(),
        body: body.clone(),
        edits: 0,
        deleted: false,
    };
    let answer = message_json(&posted);
    st.order.push(id.clone());
    st.messages.insert(id, posted);
    (200, answer)
}

fn start_thread(st: &mut State, channel: &str, message: &str, body: &Value) -> (u16, Value) {
    let Some(ch) = st.channels.get(channel).cloned() else {
        return error(404, 10003, "Unknown Channel");
    };
    if matches!(ch.kind, 1 | 10 | 11 | 12 | 15) {
        return error(400, 50024, "Cannot execute action on this channel type");
    }
    if st.no_threads.contains(channel) {
        return error(403, 50013, "Missing Permissions");
    }
    if st
        .messages
        .get(message)
        .is_none_or(|m| m.channel != channel)
    {
        return error(404, 10008, "Unknown Message");
    }
    if st.channels.contains_key(message) {
        return error(
            400,
            160004,
            "A thread has already been created for this message",
        );
    }
    if body["name"]
        .as_str()
        .is_none_or(|n| n.is_empty() || n.chars().count() > 100)
    {
        return error(400, 50035, "Invalid Form Body");
    }
    let thread = Chan {
        kind: 11,
        guild: ch.guild,
        parent: Some(channel.to_string()),
        recipient: None,
    };
    let answer = channel_json(message, &thread);
    st.channels.insert(message.to_string(), thread);
    (201, answer)
}

/// The deferred original response (`@original`) or a follow-up (`new`) of
/// the interaction whose token is `token`.
fn webhook_message(st: &mut State, token: &str, which: &str, body: &Value) -> (u16, Value) {
    let channel = format!("webhook:{token}");
    let id = if which == "@original" {
        match st.originals.get(token) {
            Some(id) => id.clone(),
            None => {
                let id = st.next_id();
                st.originals.insert(token.to_string(), id.clone());
                id
            }
        }
    } else if which == "new" {
        st.next_id()
    } else {
        which.to_string()
    };
    let m = st.messages.entry(id.clone()).or_insert_with(|| Posted {
        id: id.clone(),
        channel: channel.clone(),
        author: APP.to_string(),
        body: json!({}),
        edits: 0,
        deleted: false,
    });
    if m.channel != channel {
        return error(404, 10008, "Unknown Message");
    }
    merge(&mut m.body, body);
    m.edits += 1;
    let mut v = message_json(m);
    v["webhook_id"] = json!(APP);
    v["application_id"] = json!(APP);
    (200, v)
}

fn put_commands(st: &mut State, guild: Option<&str>, body: &Value) -> (u16, Value) {
    let Some(list) = body.as_array() else {
        return error(400, 50035, "Invalid Form Body");
    };
    let mut out = Vec::new();
    for c in list {
        let mut c = c.clone();
        c["id"] = json!(st.next_id());
        c["application_id"] = json!(APP);
        c["version"] = json!(st.next_id());
        if c["type"].is_null() {
            c["type"] = json!(1);
        }
        if let Some(g) = guild {
            c["guild_id"] = json!(g);
        }
        if c["description"].is_null() {
            return error(400, 50035, "Invalid Form Body");
        }
        out.push(c);
    }
    st.commands.insert(
        guild.unwrap_or("global").to_string(),
        Value::Array(out.clone()),
    );
    (200, Value::Array(out))
}
