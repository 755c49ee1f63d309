//! The fake's gateway websocket, speaking Discord's protocol (API v10, JSON
//! text frames): HELLO (op 10) on connect; IDENTIFY (op 2) -> READY with a
//! session id and a `resume_gateway_url` back here; HEARTBEAT (op 1) ->
//! HEARTBEAT_ACK (op 11); dispatches (op 0) with increasing `s`, kept in a
//! log; a socket the test drops; RESUME (op 6) with the session and the last
//! `s` the client saw -> the events after it replayed (and, to check the
//! bot's dedupe, the one at that `s` again), then RESUMED. A wrong token is
//! closed with 4004, an unknown session gets INVALID_SESSION (op 9).

use super::{State, TOKEN, wire};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// What the test sends down the live socket.
#[derive(Debug)]
pub enum Out {
    Text(String),
    /// Drop the TCP connection without a closing handshake.
    Drop,
}

/// The gateway's state, inside the fake's [`State`].
#[derive(Debug, Default)]
pub struct Gateway {
    pub url: String,
    pub session: String,
    pub seq: u64,
    /// Every dispatch sent (or waiting for a resume), by `s`.
    pub log: Vec<(u64, Value)>,
    /// The socket of the identified (or resumed) session.
    pub live: Option<mpsc::UnboundedSender<Out>>,
    pub identifies: Vec<Value>,
    pub resumes: Vec<Value>,
    pub heartbeats: u32,
    pub connections: u32,
    pub heartbeat_ms: u64,
    /// On RESUME, send the event at the client's `s` again (a duplicate).
    pub replay_last: bool,
}

impl Gateway {
    /// Give `t`/`d` the next `s`, log it, send it if a session is live.
    pub fn dispatch(&mut self, t: &str, d: Value) -> u64 {
        self.seq += 1;
        let payload = json!({"op": 0, "t": t, "s": self.seq, "d": d});
        if let Some(live) = &self.live {
            let _ = live.send(Out::Text(payload.to_string()));
        }
        self.log.push((self.seq, payload));
        self.seq
    }
}

fn token_ok(token: &Value) -> bool {
    let t = token.as_str().unwrap_or("");
    t.strip_prefix("Bot ").unwrap_or(t) == TOKEN
}

/// One websocket connection, from HELLO to its end.
pub async fn connection(state: Arc<Mutex<State>>, tcp: tokio::net::TcpStream) {
    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
    let hello = {
        let mut st = state.lock().unwrap();
        st.gateway.connections += 1;
        json!({"op": 10, "d": {"heartbeat_interval": st.gateway.heartbeat_ms}, "s": null, "t": null})
    };
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
                Some(Out::Text(text)) => if sink.send(Message::Text(text.into())).await.is_err() { return },
                Some(Out::Drop) | None => return,
            },
            inbound = stream.next() => {
                let Some(Ok(Message::Text(text))) = inbound else {
                    match inbound {
                        Some(Ok(_)) => continue,
                        _ => return,
                    }
                };
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                match on_frame(&state, &tx, &v) {
                    Reply::None => {}
                    Reply::Send(frames) => for f in frames {
                        if sink.send(Message::Text(f.into())).await.is_err() { return }
                    },
                    Reply::Close(code, reason) => {
                        let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                        let _ = sink.send(Message::Close(Some(frame))).await;
                        return;
                    }
                }
            }
        }
    }
}

enum Reply {
    None,
    Send(Vec<String>),
    Close(u16, &'static str),
}

fn on_frame(state: &Arc<Mutex<State>>, tx: &mpsc::UnboundedSender<Out>, v: &Value) -> Reply {
    let mut st = state.lock().unwrap();
    let gw = &mut st.gateway;
    match v["op"].as_u64() {
        Some(1) => {
            gw.heartbeats += 1;
            Reply::Send(vec![json!({"op": 11}).to_string()])
        }
        Some(2) => {
            gw.identifies.push(v["d"].clone());
            if !token_ok(&v["d"]["token"]) {
                return Reply::Close(4004, "Authentication failed.");
            }
            if gw.live.is_some() {
                // A new session replaces the old one (as Discord does).
                if let Some(old) = gw.live.take() {
                    let _ = old.send(Out::Drop);
                }
            }
            gw.session = format!("fake-session-{}", gw.identifies.len());
            gw.live = Some(tx.clone());
            let ready = wire::ready(&gw.session, &gw.url);
            gw.dispatch("READY", ready);
            Reply::None
        }
        Some(6) => {
            gw.resumes.push(v["d"].clone());
            let session_ok = v["d"]["session_id"].as_str() == Some(gw.session.as_str())
                && !gw.session.is_empty();
            if !token_ok(&v["d"]["token"]) {
                return Reply::Close(4004, "Authentication failed.");
            }
            if !session_ok {
                return Reply::Send(vec![
                    json!({"op": 9, "d": false, "s": null, "t": null}).to_string(),
                ]);
            }
            let from = v["d"]["seq"].as_u64().unwrap_or(0);
            let from = if gw.replay_last { from } else { from + 1 };
            let mut frames: Vec<String> = gw
                .log
                .iter()
                .filter(|(s, p)| *s >= from && p["t"] != "READY" && p["t"] != "RESUMED")
                .map(|(_, p)| p.to_string())
                .collect();
            gw.seq += 1;
            let resumed = json!({"op": 0, "t": "RESUMED", "s": gw.seq, "d": {}});
            gw.log.push((gw.seq, resumed.clone()));
            frames.push(resumed.to_string());
            if let Some(old) = gw.live.replace(tx.clone()) {
                let _ = old.send(Out::Drop);
            }
            Reply::Send(frames)
        }
        _ => Reply::Close(4001, "Unknown opcode."),
    }
}
