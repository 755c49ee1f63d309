//! The fake GitHub's HTTP side, before and around the routes: the
//! secondary-limit 403 on demand, App installation tokens, bearer-token
//! auth (401 "Bad credentials"), the enforced limit on content-creating
//! requests, `ETag`/304 on every GET (a 304 is not counted against the
//! primary limit), the rate-limit headers, and the record of every call.

use super::app::installation_token;
use super::routes::route;
use super::{Call, State, TOKEN, message};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub(super) fn handle(
    st: &Mutex<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = st.lock().unwrap();
    let path = uri.path().to_string();
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let args: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let content = method != Method::GET;
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut extra: Vec<(&str, String)> = Vec::new();
    let (status, answer) = if s.secondary > 0 {
        s.secondary -= 1;
        extra.push(("retry-after", "7".into()));
        message(
            StatusCode::FORBIDDEN,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        )
    } else if let Some(app) = path
        .strip_prefix("/app/installations/")
        .and_then(|p| p.strip_suffix("/access_tokens"))
    {
        installation_token(&mut s, app, &auth)
    } else if !authorized(&s, &auth) {
        message(StatusCode::UNAUTHORIZED, "Bad credentials")
    } else if content && over_content_limit(&mut s) {
        s.rejected += 1;
        extra.push(("retry-after", "60".into()));
        message(
            StatusCode::FORBIDDEN,
            "You have exceeded a secondary rate limit.",
        )
    } else {
        route(&mut s, &method, &path, &query, &args)
    };
    // Conditional GET of a pull request.
    let etag = format!("W/\"{:x}\"", {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        answer.to_string().hash(&mut h);
        h.finish()
    });
    let not_modified = method == Method::GET
        && status == StatusCode::OK
        && headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str());
    if !not_modified {
        s.counted += 1;
    }
    let status = if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        status
    };
    s.calls.push(Call {
        method: method.to_string(),
        path: uri.to_string(),
        body: args,
        status: status.as_u16(),
    });
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (status, axum::Json(answer)).into_response()
    };
    let h = response.headers_mut();
    h.insert("etag", etag.parse().unwrap());
    h.insert("x-ratelimit-limit", "5000".parse().unwrap());
    let remaining = match s.spent_until {
        Some(_) => 0,
        None => 5000u64.saturating_sub(s.counted),
    };
    h.insert(
        "x-ratelimit-remaining",
        remaining.to_string().parse().unwrap(),
    );
    h.insert(
        "x-ratelimit-reset",
        s.spent_until
            .unwrap_or(jiff::Timestamp::now().as_second() + 3600)
            .to_string()
            .parse()
            .unwrap(),
    );
    for (k, v) in extra {
        h.insert(k, v.parse().unwrap());
    }
    response
}

fn authorized(s: &State, auth: &str) -> bool {
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("token "))
        .unwrap_or("");
    token == TOKEN || s.issued.iter().any(|t| t == token)
}

fn over_content_limit(s: &mut State) -> bool {
    let Some((n, window)) = s.content_limit else {
        return false;
    };
    let now = Instant::now();
    while s
        .content_log
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        s.content_log.pop_front();
    }
    if s.content_log.len() >= n {
        return true;
    }
    s.content_log.push_back(now);
    false
}
