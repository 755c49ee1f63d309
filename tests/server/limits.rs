//! `hoist serve` against slow and greedy clients, over raw TCP on 127.0.0.1:
//! half-sent request heads, stalled and oversize bodies, a flood of idle
//! connections under a small open-file limit, and SIGTERM with all of that
//! in flight. Every limit is set small (1 s) so each test ends in seconds;
//! every read has a deadline, so a server that never answers fails the test
//! instead of hanging it.

use crate::support::{BIN, World};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The header and body timeouts the tests run with.
const LIMIT: Duration = Duration::from_secs(1);
/// Longest any answer or disconnect may take here: the 1 s limit plus slack
/// for a loaded CI machine, far below "forever".
const BOUND: Duration = Duration::from_secs(5);

/// `hoist serve` as a child process (no chat surface), killed when dropped.
pub struct Served {
    child: Child,
    pub addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `hoist serve` on 127.0.0.1:0 with 1 s timeouts and `env` on top;
/// `files` lowers the open-file limit (`ulimit -n`) it runs under.
pub fn serve(w: &World, env: &[(&str, &str)], files: Option<u32>) -> Served {
    let ulimit = files
        .map(|n| format!("ulimit -n {n} && "))
        .unwrap_or_default();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{ulimit}exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(["serve", "--repo", w.origin.to_str().unwrap()])
        .args([
            "--data-dir",
            w.data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("SLACK_APP_TOKEN")
        .env_remove("HOIST_HTTP_MAX_CONNECTIONS")
        .env("HOME", w.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOIST_HTTP_HEADER_TIMEOUT", "1s")
        .env("HOIST_HTTP_BODY_TIMEOUT", "1s")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hoist serve starts");
    let addr = super::support::loopback::listening(&mut child);
    Served { child, addr }
}

/// A connection that has sent `bytes` and waits.
fn open(addr: &str, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(bytes).unwrap();
    s
}

/// What came back on `s` within `within`: the status of an answer (if
/// one came), whether the server closed the connection, and when.
fn outcome(s: &mut TcpStream, within: Duration) -> (Option<u16>, bool, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        let left = within.saturating_sub(start.elapsed());
        if left.is_zero() {
            break false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false;
            }
            Err(e) => panic!("reading the answer: {e}"),
        }
    };
    let status = String::from_utf8_lossy(&got)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok());
    (status, closed, start.elapsed())
}

/// `GET path` on a fresh connection: its status, if answered within `BOUND`.
fn get(addr: &str, path: &str) -> Option<u16> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: hoist\r\nConnection: close\r\n\r\n");
    outcome(&mut open(addr, req.as_bytes()), BOUND).0
}

/// Ask `/healthz` as a probe does (again every 50 ms while it is turned
/// away) until it answers 200; how long that took.
fn probe_until_healthy(addr: &str) -> Duration {
    let start = Instant::now();
    while get(addr, "/healthz") != Some(200) {
        assert!(start.elapsed() < BOUND, "/healthz never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

const HALF_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: hoist\r\nX-Slow: ";

#[test]
fn a_client_that_sends_half_a_header_is_disconnected_within_the_header_timeout() {
    let w = World::new();
    let bot = serve(&w, &[], None);
    let mut slow = open(&bot.addr, HALF_HEAD);
    let (status, closed, took) = outcome(&mut slow, BOUND);
    assert!(closed, "still open after {took:?} (answered {status:?})");
    assert!(took >= LIMIT / 2, "closed too early: {took:?}");
    // So is one that sends nothing at all.
    let mut silent = TcpStream::connect(&bot.addr).unwrap();
    let (_, closed, took) = outcome(&mut silent, BOUND);
    assert!(closed, "silent connection still open after {took:?}");
    // A keep-alive connection idling after an answer is let go the same way.
    let mut idle = open(&bot.addr, b"GET /healthz HTTP/1.1\r\nHost: hoist\r\n\r\n");
    let (status, closed, took) = outcome(&mut idle, BOUND);
    assert_eq!(status, Some(200));
    assert!(
        closed,
        "idle keep-alive connection still open after {took:?}"
    );
}

#[test]
fn a_body_that_stalls_is_cut_off_within_the_body_timeout() {
    let w = World::new();
    let bot = serve(&w, &[], None);
    let head = "POST /slack/commands HTTP/1.1\r\nHost: hoist\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n";
    let mut s = open(&bot.addr, format!("{head}text=deploy").as_bytes());
    let (status, closed, took) = outcome(&mut s, BOUND);
    assert_eq!(status, Some(408), "after {took:?}");
    assert!(closed, "the connection is closed with the answer");
    assert!(took >= LIMIT / 2, "cut off too early: {took:?}");
}

#[test]
fn an_oversize_slack_body_gets_413_without_being_read() {
    let w = World::new();
    let bot = serve(&w, &[], None);
    // Announced: answered at once, though not one byte of the body came.
    let head = "POST /slack/commands HTTP/1.1\r\nHost: hoist\r\nContent-Length: 1048576\r\n\r\n";
    let (status, closed, took) = outcome(&mut open(&bot.addr, head.as_bytes()), BOUND);
    assert_eq!(status, Some(413), "after {took:?}");
    assert!(
        closed && took < LIMIT,
        "answered and closed at once: {took:?}"
    );
    // Chunked: cut off as soon as the limit is crossed (64 KiB and one
    // byte; the body is never finished).
    let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, "a".repeat(16 * 1024));
    let mut s = open(
        &bot.addr,
        b"POST /slack/events HTTP/1.1\r\nHost: hoist\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for _ in 0..4 {
        s.write_all(chunk.as_bytes()).unwrap();
    }
    s.write_all(b"1\r\na").unwrap();
    let (status, _, took) = outcome(&mut s, BOUND);
    assert_eq!(status, Some(413), "after {took:?}");
    assert!(took < LIMIT, "answered before the body timeout: {took:?}");
    // The probes take no body at all.
    let head = "GET /healthz HTTP/1.1\r\nHost: hoist\r\nContent-Length: 10\r\n\r\n";
    assert_eq!(
        outcome(&mut open(&bot.addr, head.as_bytes()), BOUND).0,
        Some(413)
    );
}

#[test]
fn beyond_the_connection_cap_a_new_connection_is_closed_at_once_and_served_once_slots_free() {
    let w = World::new();
    let bot = serve(&w, &[("HOIST_HTTP_MAX_CONNECTIONS", "4")], None);
    let holders: Vec<TcpStream> = (0..4).map(|_| open(&bot.addr, HALF_HEAD)).collect();
    // The holders are accepted in order; the fifth finds no slot.
    let mut extra = open(&bot.addr, b"GET /healthz HTTP/1.1\r\nHost: hoist\r\n\r\n");
    let (status, closed, took) = outcome(&mut extra, BOUND);
    assert!(closed && status.is_none(), "{status:?} after {took:?}");
    assert!(
        took < LIMIT / 2,
        "closed at once, not after a timeout: {took:?}"
    );
    // The header timeout frees the slots; the next probe is answered.
    probe_until_healthy(&bot.addr);
    drop(holders);
    let metrics = "GET /metrics HTTP/1.1\r\nHost: hoist\r\nConnection: close\r\n\r\n";
    let mut s = open(&bot.addr, metrics.as_bytes());
    s.set_read_timeout(Some(BOUND)).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(
        text.contains("hoist_http_refused_total{reason=\"connection_cap\"}"),
        "{text}"
    );
}

#[test]
fn two_hundred_half_sent_requests_under_a_small_open_file_limit_leave_healthz_answering() {
    let w = World::new();
    // No cap configured: the default is held under the open-file limit.
    let bot = serve(&w, &[], Some(160));
    let flood: Vec<TcpStream> = (0..200).map(|_| open(&bot.addr, HALF_HEAD)).collect();
    let took = probe_until_healthy(&bot.addr);
    assert!(
        took < LIMIT * 3,
        "answered within about one header timeout: {took:?}"
    );
    drop(flood);
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_and_exits_despite_idle_clients() {
    let w = World::new();
    let mut bot = serve(&w, &[("HOIST_HTTP_BODY_TIMEOUT", "5s")], None);
    let _idle = open(&bot.addr, HALF_HEAD);
    let body = "payload=%7B%7D";
    let head = format!(
        "POST /slack/interactive HTTP/1.1\r\nHost: hoist\r\nExpect: 100-continue\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let mut busy = open(&bot.addr, head.as_bytes());
    // `100 Continue` comes once the server reads the body: the request is in.
    let mut interim = [0u8; 25];
    busy.set_read_timeout(Some(BOUND)).unwrap();
    busy.read_exact(&mut interim).unwrap();
    assert!(interim.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"));
    let pid = bot.child.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    busy.write_all(body.as_bytes()).unwrap();
    // Slack is not configured here: the request is answered 404, but answered.
    let (status, _, took) = outcome(&mut busy, BOUND);
    assert_eq!(status, Some(404), "after {took:?}");
    let start = Instant::now();
    let code = loop {
        if let Some(code) = bot.child.try_wait().unwrap() {
            break code;
        }
        assert!(start.elapsed() < BOUND, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(code.success(), "{code:?}");
    assert!(
        TcpStream::connect(&bot.addr).is_err(),
        "no longer listening"
    );
}

#[test]
fn a_client_that_pipelines_and_never_reads_loses_its_slot_at_the_write_deadline() {
    let w = World::new();
    let bot = serve(&w, &[("HOIST_HTTP_MAX_CONNECTIONS", "1")], None);
    // One connection asks for /metrics over and over and reads nothing: the
    // answers fill both sockets' buffers and hoist's write waits.
    let staller = TcpStream::connect(&bot.addr).unwrap();
    let mut writer = staller.try_clone().unwrap();
    let flood = std::thread::spawn(move || {
        let one = b"GET /metrics HTTP/1.1\r\nHost: hoist\r\n\r\n";
        for _ in 0..50_000 {
            if writer.write_all(one).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(LIMIT / 4);
    // It holds the only slot until its write deadline (the body timeout).
    let took = probe_until_healthy(&bot.addr);
    assert!(
        took < LIMIT * 3,
        "freed within about one deadline: {took:?}"
    );
    drop(staller);
    let _ = flood.join();
}
