//! `hoist serve` and GitHub's webhook, end to end: GitHub's documented
//! signature example is accepted and a changed byte is not; a PR a human
//! closes on GitHub cancels its operation at once when the webhook says so
//! (the poll is set to ten minutes, so only the delivery can have woken
//! it), and within a poll without a webhook; a delivery with a bad
//! signature is answered 401 and changes nothing (the same delivery id,
//! signed, is then acted on: the bad one was not remembered); a delivery
//! seen before is answered without acting again. Forge failures (a
//! secondary rate limit) are counted in `hoist_errors_total{kind}`.

use super::forge_e2e::{exec, github_world, serve, wait_for};
use crate::support::slack::{get, post};
use hmac::{Hmac, KeyInit, Mac};
use std::io::{Read, Write};

const SECRET: &str = "It's a Secret to Everybody";

/// `sha256=<hex>` of `body` with `secret`, as GitHub signs deliveries.
fn sign(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2_11::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn deliver(addr: &str, event: &str, id: &str, signature: &str, body: &str) -> (u16, String) {
    let headers = [
        ("Content-Type", "application/json".to_string()),
        ("X-GitHub-Event", event.to_string()),
        ("X-GitHub-Delivery", id.to_string()),
        ("X-Hub-Signature-256", signature.to_string()),
    ];
    let (status, text, _) = post(addr, "/github/webhook", &headers, body);
    (status, text)
}

/// `pull_request` `closed`, shaped like @octokit/webhooks-examples'.
fn closed(number: u64) -> String {
    serde_json::json!({
        "action": "closed",
        "number": number,
        "pull_request": {"number": number, "state": "closed", "merged": false,
            "head": {"ref": format!("hoist/{number}")}, "base": {"ref": "main"}},
        "repository": {"full_name": "acme/config", "name": "config", "owner": {"login": "acme"}},
        "sender": {"login": "octocat", "type": "User"}
    })
    .to_string()
}

/// A counter's value in `/metrics`, 0 when absent.
fn metric(addr: &str, line_start: &str) -> u64 {
    let (_, text) = get(addr, "/metrics");
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

const CANCELLED: &str = "hoist_operations_total{verb=\"deploy\",env=\"prod\",state=\"cancelled\"}";

#[test]
fn githubs_documented_signature_is_accepted_and_a_changed_one_is_not() {
    let (w, fake) = github_world();
    assert_eq!(
        sign(SECRET, "Hello, World!"),
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
    let bot = serve(&w, &fake, &[("GITHUB_WEBHOOK_SECRET", SECRET)]);
    let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    assert_eq!(deliver(&bot.addr, "ping", id, good, "Hello, World!").0, 200);
    let bad = good.replace("e17", "e18");
    assert_eq!(deliver(&bot.addr, "ping", id, &bad, "Hello, World!").0, 401);
    let (status, _, _) = post(&bot.addr, "/github/webhook", &[], "Hello, World!");
    assert_eq!(status, 401, "no signature");
    let rejected = "hoist_github_webhook_rejected_total{reason=\"bad_signature\"}";
    assert_eq!(metric(&bot.addr, rejected), 1);
    assert_eq!(
        metric(
            &bot.addr,
            "hoist_github_webhook_rejected_total{reason=\"missing_signature\"}"
        ),
        1
    );
    // Announcing more than 1 MiB: refused before a byte of it is read.
    let mut s = std::net::TcpStream::connect(&bot.addr).unwrap();
    write!(
        s,
        "POST /github/webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n",
        1024 * 1024 + 1
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[test]
fn without_a_secret_the_webhook_is_not_there() {
    let (w, fake) = github_world();
    let bot = serve(&w, &fake, &[]);
    let body = closed(1);
    let (status, text) = deliver(
        &bot.addr,
        "pull_request",
        "d-1",
        &sign(SECRET, &body),
        &body,
    );
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("GITHUB_WEBHOOK_SECRET"), "{text}");
}

#[test]
fn a_pr_closed_on_github_cancels_at_once_by_webhook_and_a_bad_signature_changes_nothing() {
    let (w, fake) = github_world();
    let (code, opened) = exec(&w, &fake, "console:alice", "deploy api v1.2.4 to prod");
    assert_eq!(
        (code, opened["state"].as_str()),
        (0, Some("pr-opened")),
        "{opened}"
    );
    let bot = serve(
        &w,
        &fake,
        &[
            ("GITHUB_WEBHOOK_SECRET", SECRET),
            ("HOIST_GITHUB_POLL", "600s"),
        ],
    );
    // Resumed: the bot looked at the PR. The fake's first read says
    // `mergeable: null`, so the bot asks again after 3 s; only after that
    // second read does it wait the 10 min poll. Closing the PR before then
    // would let that second look cancel it with no webhook at all.
    wait_for("the resumed looks", || {
        let reads = fake
            .calls()
            .iter()
            .filter(|c| {
                c.method == "GET"
                    && c.path
                        .split('?')
                        .next()
                        .is_some_and(|p| p.ends_with("/pulls/1"))
            })
            .count();
        (reads >= 2).then_some(())
    });
    fake.close(1, "octocat");
    let body = closed(1);
    let id = "2f4a9c30-0000-4000-8000-000000000001";
    let forged = sign("not the secret", &body);
    assert_eq!(
        deliver(&bot.addr, "pull_request", id, &forged, &body).0,
        401
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        metric(&bot.addr, CANCELLED),
        0,
        "a forged delivery changes nothing"
    );

    let (status, text) = deliver(&bot.addr, "pull_request", id, &sign(SECRET, &body), &body);
    assert_eq!(status, 200, "{text}");
    wait_for("the cancellation", || {
        (metric(&bot.addr, CANCELLED) == 1).then_some(())
    });
    let (status, text) = deliver(&bot.addr, "pull_request", id, &sign(SECRET, &body), &body);
    assert_eq!((status, text.trim()), (200, "already seen"));
    let replayed =
        "hoist_github_webhook_deliveries_total{event=\"pull_request\",outcome=\"replayed\"}";
    assert_eq!(metric(&bot.addr, replayed), 1);
    // Another repository's delivery (an organisation-wide hook) is not ours.
    let other = body.replace("acme/config", "acme/other");
    let (status, _) = deliver(
        &bot.addr,
        "pull_request",
        "d-other",
        &sign(SECRET, &other),
        &other,
    );
    assert_eq!(status, 200);
    drop(bot);
    let (_, status) = exec(&w, &fake, "console:alice", "status api in prod");
    assert!(
        !status["message"].as_str().unwrap_or("").contains("v1.2.4"),
        "nothing was deployed: {status}"
    );
}

#[test]
fn without_a_webhook_a_pr_closed_on_github_is_seen_at_the_next_poll() {
    let (w, fake) = github_world();
    let (code, opened) = exec(&w, &fake, "console:alice", "deploy api v1.2.4 to prod");
    assert_eq!(code, 0, "{opened}");
    // GitHub's secondary limit answers the next request: the bot waits
    // as told, counts it, and carries on.
    fake.secondary_limit(1);
    let bot = serve(&w, &fake, &[("HOIST_GITHUB_POLL", "5s")]);
    fake.close(1, "octocat");
    wait_for("the cancellation", || {
        (metric(&bot.addr, CANCELLED) == 1).then_some(())
    });
    let limited = "hoist_errors_total{kind=\"forge_rate_limited\"}";
    assert_eq!(metric(&bot.addr, limited), 1, "counted by kind");
}
