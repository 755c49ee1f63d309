//! The interactions endpoint over real loopback HTTP, signed as Discord
//! signs (RFC 8032's first test key): a PING is answered PONG; a flipped
//! byte in the body, the timestamp or the signature, a missing header or a
//! timestamp too far from now is 401 and reaches nothing; other
//! interactions go to the handler, acknowledged at once, or answered busy
//! when the work runtime is full.

use super::*;
use crate::server::{Limits, Metrics, serve};
use ed25519_dalek::{Signer, SigningKey};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const NOW: i64 = 1_764_600_000;
const PING: &str = r#"{"id":"1","application_id":"2","type":1,"token":"t","version":1}"#;
const COMMAND: &str = r#"{"id":"3","application_id":"2","type":2,"token":"t","version":1}"#;

fn bytes32(hex: &str) -> [u8; 32] {
    let mut out = [0; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

struct At(i64);

impl Clock for At {
    fn now(&self) -> i64 {
        self.0
    }
}

/// Records the bodies it is handed; acknowledges with a deferred answer.
#[derive(Default)]
struct Seen(Mutex<Vec<Vec<u8>>>, Arc<AtomicUsize>);

impl Handler for Seen {
    fn answer(&self, body: &[u8]) -> Answer {
        self.0.lock().unwrap().push(body.to_vec());
        let ran = self.1.clone();
        Answer::Then {
            ack: serde_json::json!({"type": 5, "data": {"flags": 64}}),
            busy: serde_json::json!({"type": 4, "data": {"content": "busy", "flags": 64}}),
            work: Box::pin(async move {
                ran.fetch_add(1, Ordering::SeqCst);
            }),
        }
    }
}

fn sign(timestamp: &str, body: &str) -> String {
    let key = SigningKey::from_bytes(&bytes32(SECRET));
    let message = [timestamp.as_bytes(), body.as_bytes()].concat();
    key.sign(&message)
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Server {
    addr: std::net::SocketAddr,
    seen: Arc<Seen>,
    rt: tokio::runtime::Runtime,
}

fn start(work_limit: usize, with_key: bool) -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let seen = Arc::new(Seen::default());
    let work = Work::new(rt.handle().clone(), work_limit);
    let discord = with_key.then(|| {
        let handler: Arc<dyn Handler> = seen.clone();
        Arc::new(Interactions::new(bytes32(PUBLIC), Arc::new(At(NOW)), handler, work).unwrap())
    });
    let state = AppState {
        slack: None,
        github: None,
        discord,
        metrics: Arc::new(Metrics::default()),
        ready: Arc::new(AtomicBool::new(true)),
        limits: Limits::default(),
        stopping: Arc::new(AtomicBool::new(false)),
        jobs: Arc::new(AtomicUsize::new(0)),
    };
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(serve(listener, state, std::future::pending()));
    Server { addr, seen, rt }
}

impl Server {
    /// POST `body` with these headers; the status and the body of the answer.
    fn post(&self, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        let mut head = format!(
            "POST /discord/interactions HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        self.rt.block_on(async {
            let mut conn = tokio::net::TcpStream::connect(self.addr).await.unwrap();
            conn.write_all(head.as_bytes()).await.unwrap();
            conn.write_all(body.as_bytes()).await.unwrap();
            let mut out = Vec::new();
            conn.read_to_end(&mut out).await.unwrap();
            let out = String::from_utf8_lossy(&out).to_string();
            let status = out[9..12].parse().unwrap();
            let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
            (status, body.unwrap_or_default())
        })
    }

    fn signed(&self, timestamp: &str, body: &str) -> (u16, String) {
        let sig = sign(timestamp, body);
        self.post(
            &[
                ("x-signature-ed25519", &sig),
                ("x-signature-timestamp", timestamp),
            ],
            body,
        )
    }

    fn handled(&self) -> usize {
        self.seen.0.lock().unwrap().len()
    }
}

fn flip(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] = if b[at] == b'0' { b'1' } else { b'0' };
    String::from_utf8(b).unwrap()
}

#[test]
fn a_signed_ping_is_answered_pong() {
    let s = start(4, true);
    let (status, body) = s.signed(&NOW.to_string(), PING);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v, serde_json::json!({"type": 1}));
    assert_eq!(s.handled(), 0, "a PING is the endpoint's own answer");
}

#[test]
fn one_flipped_byte_anywhere_is_401_and_nothing_else() {
    let s = start(4, true);
    let ts = NOW.to_string();
    let sig = sign(&ts, COMMAND);
    let cases: Vec<(String, String, String)> = vec![
        // the body: one byte of the id changed
        (sig.clone(), ts.clone(), COMMAND.replace("\"3\"", "\"4\"")),
        // the timestamp (still within the window)
        (sig.clone(), (NOW - 1).to_string(), COMMAND.to_string()),
        // the signature, first and last byte
        (flip(&sig, 0), ts.clone(), COMMAND.to_string()),
        (flip(&sig, 127), ts.clone(), COMMAND.to_string()),
    ];
    for (sig, ts, body) in cases {
        let (status, text) = s.post(
            &[
                ("x-signature-ed25519", &sig),
                ("x-signature-timestamp", &ts),
            ],
            &body,
        );
        assert_eq!(
            (status, text.as_str()),
            (401, "invalid request signature\n")
        );
    }
    assert_eq!(s.handled(), 0);
    // The same, unflipped, reaches the handler and is acknowledged.
    let (status, body) = s.signed(&ts, COMMAND);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v, serde_json::json!({"type": 5, "data": {"flags": 64}}));
    assert_eq!(s.handled(), 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while s.seen.1.load(Ordering::SeqCst) == 0 {
        assert!(std::time::Instant::now() < deadline, "the work never ran");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn missing_or_malformed_headers_are_401() {
    let s = start(4, true);
    let ts = NOW.to_string();
    let sig = sign(&ts, PING);
    let cases: [&[(&str, &str)]; 5] = [
        &[],
        &[("x-signature-ed25519", &sig)],
        &[("x-signature-timestamp", &ts)],
        &[
            ("x-signature-ed25519", &sig[..126]),
            ("x-signature-timestamp", &ts),
        ],
        &[
            ("x-signature-ed25519", &sig),
            ("x-signature-timestamp", "17646e8"),
        ],
    ];
    for headers in cases {
        assert_eq!(s.post(headers, PING).0, 401, "{headers:?}");
    }
    assert_eq!(s.handled(), 0);
}

#[test]
fn a_timestamp_more_than_five_minutes_away_is_401_even_signed() {
    let s = start(4, true);
    for at in [NOW - SKEW - 1, NOW + SKEW + 1, 0] {
        assert_eq!(s.signed(&at.to_string(), PING).0, 401, "{at}");
    }
    for at in [NOW - SKEW, NOW + SKEW] {
        assert_eq!(s.signed(&at.to_string(), PING).0, 200, "{at}");
    }
}

#[test]
fn a_full_work_runtime_answers_busy_and_bad_bodies_are_400() {
    let s = start(0, true);
    let ts = NOW.to_string();
    let (status, body) = s.signed(&ts, COMMAND);
    assert_eq!(status, 200);
    assert!(body.contains("busy"), "{body}");
    // Signed, but not an interaction: refused before the handler.
    let (status, _) = s.signed(&ts, "[1,2]");
    assert_eq!(status, 400);
    assert_eq!(s.handled(), 1);
}

#[test]
fn without_a_key_the_route_is_404_and_big_bodies_are_413() {
    let s = start(4, false);
    assert_eq!(s.signed(&NOW.to_string(), PING).0, 404);
    let s = start(4, true);
    let big = format!(r#"{{"type":1,"pad":"{}"}}"#, "x".repeat(DISCORD_BODY_LIMIT));
    assert_eq!(s.signed(&NOW.to_string(), &big).0, 413);
}
