//! The fake API server's front door: who is calling (bearer token), the
//! failures and delay the test scripted, the request size limit, routing a
//! path to a resource, and the reads (get, list with label and field
//! selectors and paging). Writes are in `writes`, watches in `watch`.

use super::{Event, REQUESTS_KEPT, State, reply, status};
use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// The API server's limit on a request body (3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// The request body, or None when it is over [`MAX_BODY`]: then the rest
/// is read and dropped (up to 64 MiB), so the caller gets the 413 instead
/// of a connection closed while it was still sending.
async fn read_body(body: Body) -> Option<Vec<u8>> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let (mut kept, mut seen) = (Vec::new(), 0usize);
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen > 64 * MAX_BODY / 3 {
            break;
        }
        if seen <= MAX_BODY {
            kept.extend_from_slice(&chunk);
        }
    }
    (seen <= MAX_BODY).then_some(kept)
}

/// Where a request goes: `group/version/plural`, namespace, name.
pub(super) struct Target {
    pub resource: String,
    pub ns: Option<String>,
    pub name: Option<String>,
}

impl Target {
    /// `plural.group` as the API server names a resource in messages.
    pub fn qualified(&self) -> String {
        let mut parts = self.resource.split('/');
        let (group, _version, plural) = (
            parts.next().unwrap_or_default(),
            parts.next(),
            parts.next().unwrap_or_default(),
        );
        format!("{plural}.{group}")
    }
}

/// The reason the API server gives with a status code.
fn reason_of(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

/// `code` as the API server answers it, with a Status body.
pub(super) fn failure(code: u16, message: &str) -> Response {
    let http = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    reply(http, status(code, reason_of(code), message))
}

pub(super) fn not_found(target: &Target, name: &str) -> Response {
    failure(404, &format!("{} \"{name}\" not found", target.qualified()))
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| Some(hex(bytes[i + 1])? * 16 + hex(bytes[i + 2])?))
            .flatten();
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b as u8);
                i += 2;
            }
            (b'+', None) => out.push(b' '),
            (b, None) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) async fn serve(
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<Event>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let (delay, failing) = {
        let mut st = state.lock().unwrap();
        if st.requests.len() >= REQUESTS_KEPT {
            st.requests.pop_front();
        }
        st.requests
            .push_back((method.to_string(), uri.path().to_string(), token.clone()));
        let failing = token
            .as_ref()
            .and_then(|t| st.fail_token.get(t).copied())
            .or(st.fail_all);
        (st.delay, failing)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(code) = failing {
        return failure(code, "the fake API server was told to fail this caller");
    }
    let Some(body) = read_body(body).await else {
        return failure(
            413,
            &format!("Request entity too large: limit is {MAX_BODY}"),
        );
    };
    let q: HashMap<String, String> = uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (decode(k), decode(v)))
                .collect()
        })
        .unwrap_or_default();
    let parts: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let target = |g: &str, v: &str, plural: &str, ns: Option<&str>, name: Option<&str>| Target {
        resource: format!("{g}/{v}/{plural}"),
        ns: ns.map(str::to_string),
        name: name.map(str::to_string),
    };
    let target = match parts.as_slice() {
        ["apis", g, v, plural] => target(g, v, plural, None, None),
        ["apis", g, v, "namespaces", ns, plural] => target(g, v, plural, Some(ns), None),
        ["apis", g, v, "namespaces", ns, plural, name] => {
            target(g, v, plural, Some(ns), Some(name))
        }
        _ => return failure(404, "the server could not find the requested resource"),
    };
    let filter = match Filter::new(&q) {
        Ok(filter) => filter,
        Err(message) => return failure(400, &message),
    };
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    match (method, target.name.clone()) {
        (Method::GET, None) if watching => {
            super::watch::watch(state, events, target, filter, q).await
        }
        (Method::GET, None) => list(&state, &target, &filter, &q, uri.query().unwrap_or("")),
        (Method::GET, Some(name)) => {
            let st = state.lock().unwrap();
            match st
                .objects
                .get(&target.resource)
                .and_then(|m| m.get(&(target.ns.clone().unwrap_or_default(), name.clone())))
            {
                Some(o) => reply(StatusCode::OK, o.clone()),
                None => not_found(&target, &name),
            }
        }
        (Method::POST, None) if target.ns.is_some() => {
            super::writes::create(&state, &events, &target, &body)
        }
        (Method::PUT, Some(name)) => super::writes::replace(&state, &events, &target, &name, &body),
        (Method::PATCH, Some(name)) => {
            super::writes::patch(&state, &events, &target, &name, &content_type, &body)
        }
        (Method::DELETE, Some(name)) => {
            super::writes::delete(&state, &events, &target, &name, &body)
        }
        _ => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            status(405, "MethodNotAllowed", "not supported by the fake"),
        ),
    }
}

/// A list's or watch's `labelSelector` and `fieldSelector`.
#[derive(Clone, Default)]
pub(super) struct Filter {
    labels: Vec<Term>,
    fields: Vec<(String, bool, String)>,
}

/// One term of a label selector: `k=v`/`k==v`, `k!=v`, `k`, `!k`.
#[derive(Clone)]
enum Term {
    Is(String, String),
    IsNot(String, String),
    Has(String),
    HasNot(String),
}

impl Filter {
    fn new(q: &HashMap<String, String>) -> Result<Filter, String> {
        let terms = |s: Option<&String>| {
            s.map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
        };
        let labels = terms(q.get("labelSelector"))
            .into_iter()
            .map(|t| {
                if let Some((k, v)) = t.split_once("!=") {
                    Term::IsNot(k.trim().into(), v.trim().into())
                } else if let Some((k, v)) = t.split_once('=') {
                    Term::Is(k.trim().into(), v.trim_start_matches('=').trim().into())
                } else if let Some(k) = t.strip_prefix('!') {
                    Term::HasNot(k.trim().into())
                } else {
                    Term::Has(t)
                }
            })
            .collect();
        let mut fields = Vec::new();
        for t in terms(q.get("fieldSelector")) {
            let (k, equal, v) = match t.split_once("!=") {
                Some((k, v)) => (k, false, v),
                None => match t.split_once('=') {
                    Some((k, v)) => (k, true, v.trim_start_matches('=')),
                    None => return Err(format!("invalid field selector: {t}")),
                },
            };
            if !matches!(k, "metadata.name" | "metadata.namespace") {
                return Err(format!("field label not supported: {k}"));
            }
            fields.push((k.to_string(), equal, v.to_string()));
        }
        Ok(Filter { labels, fields })
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label = |k: &str| labels.get(k).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|t| match t {
            Term::Is(k, v) => label(k) == Some(v),
            Term::IsNot(k, v) => label(k) != Some(v),
            Term::Has(k) => label(k).is_some(),
            Term::HasNot(k) => label(k).is_none(),
        });
        labels_ok
            && self.fields.iter().all(|(k, equal, v)| {
                let field = k.strip_prefix("metadata.").unwrap_or(k);
                (object["metadata"][field].as_str() == Some(v)) == *equal
            })
    }
}

fn list(
    state: &Mutex<State>,
    target: &Target,
    filter: &Filter,
    q: &HashMap<String, String>,
    raw: &str,
) -> Response {
    let mut st = state.lock().unwrap();
    st.lists.push(raw.to_string());
    let ns = target.ns.as_deref();
    let items: Vec<Value> = st
        .objects
        .get(&target.resource)
        .map(|m| {
            m.iter()
                .filter(|((n, _), o)| ns.is_none_or(|ns| ns == n) && filter.matches(o))
                .map(|(_, o)| o.clone())
                .collect()
        })
        .unwrap_or_default();
    // A continue token is "offset-rv": every page of one list carries the
    // resourceVersion of its first page, as the API server's snapshot does.
    let (start, rv): (usize, u64) = q
        .get("continue")
        .and_then(|c| c.split_once('-'))
        .and_then(|(o, rv)| Some((o.parse().ok()?, rv.parse().ok()?)))
        .unwrap_or((0, st.rv));
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let end = start.saturating_add(limit).min(items.len());
    let more = end < items.len();
    let resource = &target.resource;
    let kind = resource.rsplit('/').next().unwrap_or_default();
    reply(
        StatusCode::OK,
        json!({
            "apiVersion": resource.rsplit_once('/').map(|(gv, _)| gv).unwrap_or_default(),
            "kind": format!("{kind}List"),
            "metadata": {"resourceVersion": rv.to_string(), "continue": if more { format!("{end}-{rv}") } else { String::new() }},
            "items": items[start.min(items.len())..end],
        }),
    )
}
