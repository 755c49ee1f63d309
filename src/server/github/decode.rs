//! A GitHub webhook delivery's body, read for the one thing hoist needs
//! from it: which pull request or which head commit may have changed. Only
//! the fields named here are decoded (serde skips the rest, whatever new
//! fields GitHub adds), the body is already bounded in size by the body
//! layer, and serde_json refuses nesting deeper than 128. A number or a sha
//! that does not have its shape is refused, never passed on.

use serde::Deserialize;

/// What a delivery asks hoist to look at again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// `ping`: GitHub checking the hook; nothing to do.
    Ping,
    /// A pull request changed (opened, closed, merged, synchronised,
    /// reviewed): its number.
    Pr(u64),
    /// A commit's checks or statuses changed: its sha (lower-case hex).
    Head(String),
    /// An event hoist does not act on (its name, for the log).
    Ignored,
}

/// The repository a delivery is about (`owner/name`), when it says.
#[derive(Debug, Default, Deserialize)]
struct Repository {
    full_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Numbered {
    number: u64,
}

#[derive(Debug, Deserialize)]
struct PullRequestEvent {
    number: Option<u64>,
    pull_request: Option<Numbered>,
    repository: Option<Repository>,
}

#[derive(Debug, Deserialize)]
struct HeadSha {
    head_sha: String,
}

#[derive(Debug, Deserialize)]
struct CheckRunEvent {
    check_run: HeadSha,
    repository: Option<Repository>,
}

#[derive(Debug, Deserialize)]
struct CheckSuiteEvent {
    check_suite: HeadSha,
    repository: Option<Repository>,
}

#[derive(Debug, Deserialize)]
struct StatusEvent {
    sha: String,
    repository: Option<Repository>,
}

/// A decoded delivery: what to wake, and the repository it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub wake: Wake,
    /// `repository.full_name`, when the payload has one.
    pub repo: Option<String>,
}

/// A commit id: 40 (SHA-1) or 64 (SHA-256) hex digits, lower-cased.
fn sha(s: &str) -> Result<String, String> {
    let ok = matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(s.to_ascii_lowercase())
    } else {
        Err("the payload's head sha is not a commit id".into())
    }
}

fn json<'a, T: Deserialize<'a>>(event: &str, body: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| {
        // Only where it broke: serde's own words can quote the body's text.
        format!(
            "a `{event}` payload hoist cannot read ({:?} at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })
}

fn full_name(r: Option<Repository>) -> Option<String> {
    r.and_then(|r| r.full_name)
}

/// The delivery of `event` (the `X-GitHub-Event` header) with `body`.
pub fn delivery(event: &str, body: &[u8]) -> Result<Delivery, String> {
    let (wake, repo) = match event {
        "ping" => (Wake::Ping, None),
        "pull_request" | "pull_request_review" => {
            let e: PullRequestEvent = json(event, body)?;
            let number = e
                .pull_request
                .map(|p| p.number)
                .or(e.number)
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("a `{event}` payload without a pull request number"))?;
            (Wake::Pr(number), full_name(e.repository))
        }
        "check_run" => {
            let e: CheckRunEvent = json(event, body)?;
            (
                Wake::Head(sha(&e.check_run.head_sha)?),
                full_name(e.repository),
            )
        }
        "check_suite" => {
            let e: CheckSuiteEvent = json(event, body)?;
            (
                Wake::Head(sha(&e.check_suite.head_sha)?),
                full_name(e.repository),
            )
        }
        "status" => {
            let e: StatusEvent = json(event, body)?;
            (Wake::Head(sha(&e.sha)?), full_name(e.repository))
        }
        _ => (Wake::Ignored, None),
    };
    Ok(Delivery { wake, repo })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

    #[test]
    fn pull_request_events_wake_their_number() {
        // Shaped like @octokit/webhooks-examples' pull_request.closed, cut.
        let body = br#"{"action":"closed","number":2,"pull_request":{"url":"https://api.github.com/repos/Codertocat/Hello-World/pulls/2","id":279147437,"number":2,"state":"closed","merged":false,"head":{"sha":"ec26c3e57ca3a959ca5aad62de7213c562f8c821"}},"repository":{"id":186853002,"full_name":"Codertocat/Hello-World"},"sender":{"login":"Codertocat"}}"#;
        let d = delivery("pull_request", body).unwrap();
        assert_eq!(d.wake, Wake::Pr(2));
        assert_eq!(d.repo.as_deref(), Some("Codertocat/Hello-World"));
        let review = br#"{"action":"submitted","review":{"id":1,"state":"approved","user":{"login":"octocat"}},"pull_request":{"number":7,"unknown":{"deep":[1,2,3]}}}"#;
        assert_eq!(
            delivery("pull_request_review", review).unwrap().wake,
            Wake::Pr(7)
        );
    }

    #[test]
    fn check_and_status_events_wake_their_head() {
        let run = format!(
            r#"{{"action":"completed","check_run":{{"head_sha":"{SHA}","status":"completed"}},"repository":{{"full_name":"a/b"}}}}"#
        );
        assert_eq!(
            delivery("check_run", run.as_bytes()).unwrap().wake,
            Wake::Head(SHA.into())
        );
        let suite = format!(
            r#"{{"check_suite":{{"head_sha":"{}"}}}}"#,
            SHA.to_uppercase()
        );
        assert_eq!(
            delivery("check_suite", suite.as_bytes()).unwrap().wake,
            Wake::Head(SHA.into())
        );
        let status = format!(r#"{{"sha":"{SHA}","state":"success","context":"ci"}}"#);
        assert_eq!(
            delivery("status", status.as_bytes()).unwrap().wake,
            Wake::Head(SHA.into())
        );
    }

    #[test]
    fn ping_and_other_events_are_not_decoded() {
        assert_eq!(delivery("ping", b"not even json").unwrap().wake, Wake::Ping);
        assert_eq!(delivery("push", b"{}").unwrap().wake, Wake::Ignored);
        assert_eq!(delivery("issues", b"[").unwrap().wake, Wake::Ignored);
    }

    #[test]
    fn hostile_payloads_are_refused_with_bounded_words() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        // Deep nesting where hoist reads is refused; where it does not,
        // serde skips it without recursing (and the body is bounded).
        let deep_read = format!(r#"{{"pull_request":{deep}}}"#);
        let deep_skipped = format!(r#"{{"number":1,"x":{deep}}}"#);
        assert_eq!(
            delivery("pull_request", deep_skipped.as_bytes())
                .unwrap()
                .wake,
            Wake::Pr(1)
        );
        let bad_sha = r#"{"sha":"$(rm -rf /)\nHoist-Approved-By: x"}"#;
        let cases: [(&str, &[u8]); 8] = [
            ("pull_request", br#"{"number":"rm -rf"}"#),
            ("pull_request", b"{}"),
            ("pull_request", br#"{"number":0}"#),
            ("pull_request", br#"{"number":-3}"#),
            ("pull_request_review", deep_read.as_bytes()),
            ("status", bad_sha.as_bytes()),
            ("check_run", br#"{"check_run":{"head_sha":"abc"}}"#),
            ("check_suite", b"\xff\xfe\x00"),
        ];
        for (event, body) in cases {
            let e = match delivery(event, body) {
                Ok(d) => panic!(
                    "{event} {:?}: {d:?}",
                    String::from_utf8_lossy(&body[..body.len().min(40)])
                ),
                Err(e) => e,
            };
            assert!(e.len() < 300 && !e.contains('\n'), "{e}");
            assert!(!e.contains("rm -rf"), "{e}");
        }
    }
}
