//! A fake Kubernetes API server over real HTTP on 127.0.0.1, speaking the
//! wire protocol kube's client and watcher use for custom resources:
//! `GET .../namespaces/NS/PLURAL[/NAME]` and the all-namespaces collection;
//! lists with `resourceVersion`, `limit`/`continue` and `labelSelector`;
//! `?watch=true` as chunked newline-delimited events (ADDED, MODIFIED,
//! DELETED, BOOKMARK) replayed from the asked resourceVersion, closed at
//! `timeoutSeconds`; a resourceVersion older than the last compaction answered
//! as an in-stream `ERROR` event with code 410 (what makes a watcher relist);
//! merge-patch `PATCH` (recorded, and streamed like any change). The test
//! scripts status changes; objects are JSON as Argo CD and Flux write them.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

/// A kubeconfig in `dir` pointing at the server at `url`.
pub fn kubeconfig_for(url: &str, dir: &Path) -> PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n\
             users:\n- name: fake\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n\
             current-context: fake\n",
        url
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `group/version/plural` of a kind the fake serves.
fn resource_of(api_version: &str, kind: &str) -> String {
    let kind = kind.to_lowercase();
    let plural = match kind.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{kind}s"),
    };
    format!("{api_version}/{plural}")
}

#[derive(Debug, Clone)]
struct Event {
    rv: u64,
    resource: String,
    namespace: String,
    kind: &'static str,
    object: Value,
}

#[derive(Default)]
struct State {
    rv: u64,
    /// resource -> (namespace, name) -> object
    objects: HashMap<String, BTreeMap<(String, String), Value>>,
    log: Vec<Event>,
    expired_below: u64,
    max_watch_secs: Option<u64>,
    patches: Vec<(String, Value)>,
    lists: Vec<String>,
    watches: Vec<String>,
    /// When each object last changed (for latency measurements).
    changed_at: HashMap<String, Instant>,
}

/// The fake server; dropped with the test.
pub struct FakeKube {
    pub url: String,
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<Event>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeKube {
    pub fn start() -> FakeKube {
        let state = Arc::new(Mutex::new(State::default()));
        let (events, _) = broadcast::channel(1 << 16);
        let (st, tx) = (state.clone(), events.clone());
        let app = axum::Router::new()
            .fallback(move |m, u, h, b| serve(st.clone(), tx.clone(), m, u, h, b));
        let (url, runtime) = super::loopback::serve_loopback(app);
        FakeKube {
            url,
            state,
            events,
            _runtime: runtime,
        }
    }

    /// A kubeconfig pointing at this server.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        kubeconfig_for(&self.url, dir)
    }

    fn emit(&self, st: &mut State, resource: String, kind: &'static str, object: Value) {
        emit(st, &self.events, resource, kind, object);
    }

    /// Create or replace an object (`apiVersion`, `kind`, `metadata` set).
    pub fn apply(&self, object: Value) {
        let resource = resource_of(
            object["apiVersion"].as_str().unwrap(),
            object["kind"].as_str().unwrap(),
        );
        let mut st = self.state.lock().unwrap();
        let key = (
            object["metadata"]["namespace"]
                .as_str()
                .unwrap()
                .to_string(),
            object["metadata"]["name"].as_str().unwrap().to_string(),
        );
        let exists = st
            .objects
            .get(&resource)
            .is_some_and(|m| m.contains_key(&key));
        let kind = if exists { "MODIFIED" } else { "ADDED" };
        self.emit(&mut st, resource, kind, object);
    }

    /// Replace an object's `status`, as its controller would.
    pub fn set_status(&self, api_version: &str, kind: &str, ns: &str, name: &str, status: Value) {
        let resource = resource_of(api_version, kind);
        let mut st = self.state.lock().unwrap();
        let mut object = st.objects[&resource][&(ns.to_string(), name.to_string())].clone();
        object["status"] = status;
        self.emit(&mut st, resource, "MODIFIED", object);
    }

    /// Argo CD writes the status of Application `argocd/NAME`.
    pub fn argo(&self, name: &str, status: Value) {
        self.set_status(
            "argoproj.io/v1alpha1",
            "Application",
            "argocd",
            name,
            status,
        );
    }

    /// Flux writes the status of Kustomization `flux-system/NAME`.
    pub fn flux(&self, name: &str, status: Value) {
        self.set_status(
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            "flux-system",
            name,
            status,
        );
    }

    /// The object as the server holds it.
    pub fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Value {
        let st = self.state.lock().unwrap();
        st.objects[&resource_of(api_version, kind)][&(ns.to_string(), name.to_string())].clone()
    }

    /// Every PATCH: ("PLURAL NS/NAME", body).
    pub fn patches(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().patches.clone()
    }

    /// Query strings of every list and every watch call.
    pub fn lists(&self) -> Vec<String> {
        self.state.lock().unwrap().lists.clone()
    }

    pub fn watches(&self) -> Vec<String> {
        self.state.lock().unwrap().watches.clone()
    }

    /// Compact history as etcd does while other resources are written: the
    /// resourceVersion moves on, and a watch from any older one gets 410.
    pub fn compact(&self) {
        let mut st = self.state.lock().unwrap();
        st.rv += 1;
        st.expired_below = st.rv;
        st.log.clear();
    }

    /// Close every watch after at most this long (as API servers do).
    pub fn cap_watch(&self, secs: u64) {
        self.state.lock().unwrap().max_watch_secs = Some(secs);
    }

    /// When `ns/name` last changed on the server.
    pub fn changed_at(&self, ns: &str, name: &str) -> Option<Instant> {
        self.state
            .lock()
            .unwrap()
            .changed_at
            .get(&format!("{ns}/{name}"))
            .copied()
    }

    /// Wait until a PATCH matching `what` arrives; true if it did in time.
    pub fn wait_for_patch(&self, what: &str, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if self.patches().iter().any(|(p, _)| p.contains(what)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

fn selected(object: &Value, selector: Option<&String>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return true;
    };
    selector.split(',').all(|term| match term.split_once('=') {
        Some((k, v)) => object["metadata"]["labels"][k].as_str() == Some(v.trim_start_matches('=')),
        None => object["metadata"]["labels"].get(term).is_some(),
    })
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn reply(code: StatusCode, body: Value) -> Response {
    (
        code,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn serve(
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<Event>,
    method: Method,
    uri: Uri,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let q: HashMap<String, String> = uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        v.replace("%3D", "=")
                            .replace("%2C", ",")
                            .replace("%2F", "/"),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let parts: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let (resource, ns, name) = match parts.as_slice() {
        ["apis", g, v, plural] => (format!("{g}/{v}/{plural}"), None, None),
        ["apis", g, v, "namespaces", ns, plural] => {
            (format!("{g}/{v}/{plural}"), Some(ns.to_string()), None)
        }
        ["apis", g, v, "namespaces", ns, plural, name] => (
            format!("{g}/{v}/{plural}"),
            Some(ns.to_string()),
            Some(name.to_string()),
        ),
        _ => {
            return reply(
                StatusCode::NOT_FOUND,
                status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            );
        }
    };
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    match (method, name) {
        (Method::GET, None) if watching => watch(state, events, resource, ns, q).await,
        (Method::GET, None) => list(
            &state,
            &resource,
            ns.as_deref(),
            &q,
            uri.query().unwrap_or(""),
        ),
        (Method::GET, Some(name)) => {
            let st = state.lock().unwrap();
            match st
                .objects
                .get(&resource)
                .and_then(|m| m.get(&(ns.unwrap_or_default(), name.clone())))
            {
                Some(o) => reply(StatusCode::OK, o.clone()),
                None => reply(
                    StatusCode::NOT_FOUND,
                    status(404, "NotFound", &format!("\"{name}\" not found")),
                ),
            }
        }
        (Method::PATCH, Some(name)) => {
            let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
                return reply(
                    StatusCode::BAD_REQUEST,
                    status(400, "BadRequest", "bad patch"),
                );
            };
            let ns = ns.unwrap_or_default();
            let mut st = state.lock().unwrap();
            let Some(mut object) = st
                .objects
                .get(&resource)
                .and_then(|m| m.get(&(ns.clone(), name.clone())))
                .cloned()
            else {
                return reply(
                    StatusCode::NOT_FOUND,
                    status(404, "NotFound", &format!("\"{name}\" not found")),
                );
            };
            merge(&mut object, &patch);
            let plural = resource.rsplit('/').next().unwrap_or_default().to_string();
            st.patches.push((format!("{plural} {ns}/{name}"), patch));
            emit(&mut st, &events, resource.clone(), "MODIFIED", object);
            reply(StatusCode::OK, st.objects[&resource][&(ns, name)].clone())
        }
        _ => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            status(405, "MethodNotAllowed", "not supported by the fake"),
        ),
    }
}

/// Store a change, log it for watches that resume, and stream it.
fn emit(
    st: &mut State,
    events: &broadcast::Sender<Event>,
    resource: String,
    kind: &'static str,
    mut object: Value,
) {
    st.rv += 1;
    object["metadata"]["resourceVersion"] = json!(st.rv.to_string());
    let namespace = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    st.changed_at
        .insert(format!("{namespace}/{name}"), Instant::now());
    let map = st.objects.entry(resource.clone()).or_default();
    if kind == "DELETED" {
        map.remove(&(namespace.clone(), name));
    } else {
        map.insert((namespace.clone(), name), object.clone());
    }
    let event = Event {
        rv: st.rv,
        resource,
        namespace,
        kind,
        object,
    };
    st.log.push(event.clone());
    let _ = events.send(event);
}

/// JSON merge patch (RFC 7386).
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn list(
    state: &Mutex<State>,
    resource: &str,
    ns: Option<&str>,
    q: &HashMap<String, String>,
    raw: &str,
) -> Response {
    let mut st = state.lock().unwrap();
    st.lists.push(raw.to_string());
    let items: Vec<Value> = st
        .objects
        .get(resource)
        .map(|m| {
            m.iter()
                .filter(|((n, _), o)| {
                    ns.is_none_or(|ns| ns == n) && selected(o, q.get("labelSelector"))
                })
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

async fn watch(
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<Event>,
    resource: String,
    ns: Option<String>,
    q: HashMap<String, String>,
) -> Response {
    // Subscribed before the backlog is read, so nothing falls in between.
    let mut live = events.subscribe();
    let since: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let selector = q.get("labelSelector").cloned();
    let wants = move |e: &Event| {
        e.resource == resource
            && ns.as_deref().is_none_or(|n| n == e.namespace)
            && selected(&e.object, selector.as_ref())
    };
    let (backlog, expired, secs, rv_now) = {
        let mut st = state.lock().unwrap();
        st.watches.push(format!("{q:?}"));
        let asked: u64 = q
            .get("timeoutSeconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1800);
        let secs = st.max_watch_secs.map_or(asked, |m| m.min(asked));
        let expired = since != 0 && since < st.expired_below;
        let backlog: Vec<Event> = st
            .log
            .iter()
            .filter(|e| e.rv > since && wants(e))
            .cloned()
            .collect();
        (backlog, expired, secs, st.rv)
    };
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let (tx, rx) = mpsc::channel::<Bytes>(4096);
    let line = |kind: &str, object: &Value| {
        Bytes::from(format!("{}\n", json!({"type": kind, "object": object})))
    };
    tokio::spawn(async move {
        if expired {
            let gone = status(
                410,
                "Expired",
                &format!("too old resource version: {since} ({rv_now})"),
            );
            let _ = tx.send(line("ERROR", &gone)).await;
            return;
        }
        let mut last = since;
        for e in backlog {
            last = e.rv;
            if tx.send(line(e.kind, &e.object)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(Duration::from_secs(secs));
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                got = live.recv() => match got {
                    Ok(e) if e.rv > last && wants(&e) => {
                        last = e.rv;
                        if tx.send(line(e.kind, &e.object)).await.is_err() { return; }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let gone = status(410, "Expired", "watch fell behind");
                        let _ = tx.send(line("ERROR", &gone)).await;
                        return;
                    }
                    Err(_) => return,
                },
                _ = tick.tick(), if bookmarks => {
                    let mark = json!({"kind": "Bookmark", "apiVersion": "v1", "metadata": {"resourceVersion": last.max(since).to_string()}});
                    if tx.send(line("BOOKMARK", &mark)).await.is_err() { return; }
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(b), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}
