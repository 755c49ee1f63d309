//! Request bodies, bounded before anything buffers them: a size limit per
//! endpoint and a deadline for the whole body. A `Content-Length` above the
//! limit is answered 413 at once, without reading a byte of the body; a
//! chunked body is cut off (413) as soon as it crosses the limit; a body that
//! has not arrived whole within the body timeout is answered 408. Those
//! three answers close the connection. What passes reaches the handlers
//! already in memory, so their own extractors never wait on the client.

use super::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// Slack's requests (slash commands, events, interactions) are a few KiB;
/// 64 KiB leaves room for a large modal's state.
pub const SLACK_BODY_LIMIT: usize = 64 * 1024;

/// The largest body `path` takes: Slack's endpoints and GitHub's webhook
/// take one, the probes and `/metrics` (and unknown paths) none.
pub fn body_limit(path: &str) -> usize {
    if path.starts_with("/slack/") {
        SLACK_BODY_LIMIT
    } else if path == "/github/webhook" {
        super::github::GITHUB_BODY_LIMIT
    } else if path == "/discord/interactions" {
        super::discord::DISCORD_BODY_LIMIT
    } else {
        0
    }
}

/// The `Content-Length` a request announces, if it announces one that parses.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// An answer that ends the connection (the rest of the body is not read).
fn closing(status: StatusCode, text: &'static str) -> Response {
    let mut r = (status, text).into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Middleware: read the body within its limits, then hand the request on.
pub async fn bounded(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let limit = body_limit(req.uri().path());
    // usize always fits in u64 on the platforms Rust supports.
    if content_length(req.headers()).is_some_and(|n| n > limit as u64) {
        s.metrics.refused.inc("body_too_large");
        return closing(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
    }
    let (parts, body) = req.into_parts();
    let read = Limited::new(body, limit).collect();
    let bytes = match tokio::time::timeout(s.limits.body_timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<LengthLimitError>() => {
            s.metrics.refused.inc("body_too_large");
            return closing(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "reading a request body failed");
            return closing(StatusCode::BAD_REQUEST, "request body unreadable\n");
        }
        Err(_) => {
            s.metrics.refused.inc("body_timeout");
            return closing(StatusCode::REQUEST_TIMEOUT, "request body too slow\n");
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_slack_and_github_endpoints_take_a_body() {
        assert_eq!(body_limit("/slack/commands"), 64 * 1024);
        assert_eq!(body_limit("/slack/interactive"), 64 * 1024);
        assert_eq!(body_limit("/healthz"), 0);
        assert_eq!(body_limit("/metrics"), 0);
        assert_eq!(body_limit("/slackish"), 0);
        assert_eq!(body_limit("/github/webhook"), 1024 * 1024);
        assert_eq!(body_limit("/github/other"), 0);
    }

    #[test]
    fn a_content_length_that_does_not_parse_is_left_to_hyper() {
        let mut h = HeaderMap::new();
        assert_eq!(content_length(&h), None);
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("1048576"));
        assert_eq!(content_length(&h), Some(1_048_576));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("lots"));
        assert_eq!(content_length(&h), None);
    }
}
