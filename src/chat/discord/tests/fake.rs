//! The small Discord on loopback the unit tests of the REST side share
//! (`rest`, `pace`, `guards`, `roles`): real HTTP through serenity's `Http`
//! with its proxy set, answering each `METHOD /path` (under `/api/v10`) by a
//! rule of the test's own (status, headers, JSON body), and remembering
//! what it was asked, with what body and when. One fake, so every test of
//! the REST side speaks to Discord the same way. The fuller fake (gateway,
//! signed interactions) is `tests/support/discord`.

use crate::chat::discord::{Config, Discord};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An answer: status, headers, JSON body.
pub(super) struct Said {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

impl From<(u16, Value)> for Said {
    fn from((status, body): (u16, Value)) -> Self {
        Said {
            status,
            headers: Vec::new(),
            body,
        }
    }
}

impl From<(u16, Vec<(&'static str, String)>, Value)> for Said {
    fn from((status, headers, body): (u16, Vec<(&'static str, String)>, Value)) -> Self {
        Said {
            status,
            headers,
            body,
        }
    }
}

/// How the fake answers `METHOD /path`, the how-many-th call of that same
/// `METHOD /path` it is (from 0).
type Rule = dyn Fn(&str, usize) -> Said + Send + Sync;

/// What one call asked: `METHOD /path`, its JSON body (`null` when none)
/// and when it arrived.
type Asked = (String, Value, Instant);

/// What the fake was asked and how it answers.
pub(super) struct Fake {
    calls: Mutex<Vec<Asked>>,
    rule: Box<Rule>,
}

impl Fake {
    /// Every call so far: `METHOD /path` and its body.
    pub(super) fn calls(&self) -> Vec<(String, Value)> {
        let calls = self.calls.lock().expect("calls");
        calls
            .iter()
            .map(|(c, b, _)| (c.clone(), b.clone()))
            .collect()
    }

    /// Every call so far, `METHOD /path` only.
    pub(super) fn asked(&self) -> Vec<String> {
        let calls = self.calls.lock().expect("calls");
        calls.iter().map(|(c, _, _)| c.clone()).collect()
    }

    /// When each call of `METHOD /path` arrived.
    pub(super) fn arrivals(&self, call: &str) -> Vec<Instant> {
        let calls = self.calls.lock().expect("calls");
        calls
            .iter()
            .filter(|(c, _, _)| c == call)
            .map(|c| c.2)
            .collect()
    }

    /// How many calls so far.
    pub(super) fn count(&self) -> usize {
        self.calls.lock().expect("calls").len()
    }
}

async fn answer(State(fake): State<Arc<Fake>>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().strip_prefix("/api/v10").unwrap_or(uri.path());
    let call = format!("{method} {path}");
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let nth = {
        let mut calls = fake.calls.lock().expect("calls");
        let nth = calls.iter().filter(|(c, _, _)| *c == call).count();
        calls.push((call.clone(), body, Instant::now()));
        nth
    };
    let said = (fake.rule)(&call, nth);
    let mut response = (
        StatusCode::from_u16(said.status).expect("status"),
        axum::Json(said.body),
    )
        .into_response();
    for (k, v) in said.headers {
        let name = HeaderName::from_static(k);
        let value = HeaderValue::from_str(&v).expect("header");
        response.headers_mut().insert(name, value);
    }
    response
}

/// A fake answering with `rule` (given `METHOD /path` and the how-many-th
/// call of it that is), and a `Discord` pointed at it.
pub(super) async fn discord<S: Into<Said>>(
    rule: impl Fn(&str, usize) -> S + Send + Sync + 'static,
) -> (Discord, Arc<Fake>) {
    let fake = Arc::new(Fake {
        calls: Mutex::new(Vec::new()),
        rule: Box::new(move |call, nth| rule(call, nth).into()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (pointed_at(&format!("http://{addr}")), fake)
}

/// Discord's answer refusing a call: `status`, its JSON error `code`.
pub(super) fn refused(status: u16, code: i64) -> (u16, Value) {
    (status, json!({"code": code, "message": "refused"}))
}

/// A `Discord` whose REST calls go to `api_url`, with the defaults.
pub(super) fn pointed_at(api_url: &str) -> Discord {
    Discord::new(&Config {
        token: "t0ken".into(),
        api_url: Some(api_url.to_string()),
        role_ttl: Duration::from_secs(300),
        reactions: Config::default_reactions(),
    })
    .expect("discord")
}
