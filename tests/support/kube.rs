//! A fake Kubernetes API server over real HTTP on 127.0.0.1, speaking the
//! wire protocol kube's client and watcher use for namespaced objects under
//! `/apis/GROUP/VERSION/...` (custom resources such as Argo CD's, Flux's and
//! hoist's own journal, and `coordination.k8s.io/v1` Leases): get, list
//! (`resourceVersion`, `limit`/`continue`, `labelSelector`, `fieldSelector`
//! on the name), watch (chunked ADDED/MODIFIED/DELETED/BOOKMARK events from
//! the asked resourceVersion, `ERROR` 410 below the last compaction), create
//! (409 AlreadyExists), replace and merge-patch with `resourceVersion`
//! preconditions (409 Conflict), delete with `DeleteOptions` preconditions,
//! and the API server's request and object size limits (413). The test
//! scripts status changes and failures: bearer tokens tell callers apart,
//! so one caller can be answered 500 while another is served (split brain).
//! Objects are JSON as their writers wrote them.

use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

#[path = "kube/watch.rs"]
mod watch;
#[path = "kube/wire.rs"]
mod wire;
#[path = "kube/writes.rs"]
mod writes;

/// The most requests [`FakeKube::requests`] remembers (the latest ones).
const REQUESTS_KEPT: usize = 100_000;

/// A kubeconfig in `dir` pointing at the server at `url`.
pub fn kubeconfig_for(url: &str, dir: &Path) -> PathBuf {
    write_kubeconfig(&dir.join("kubeconfig"), url, "{}")
}

fn write_kubeconfig(path: &Path, url: &str, user: &str) -> PathBuf {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n\
             users:\n- name: fake\n  user: {user}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n\
             current-context: fake\n"
    );
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
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
    /// Objects created so far (their uids).
    created: u64,
    /// Status codes answered to every request with this bearer token.
    fail_token: HashMap<String, u16>,
    /// A status code answered to every request.
    fail_all: Option<u16>,
    /// How long every answer is held.
    delay: Duration,
    /// (method, path, bearer token) of the latest requests.
    requests: VecDeque<(String, String, Option<String>)>,
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
            .fallback(move |m, u, h, b| wire::serve(st.clone(), tx.clone(), m, u, h, b));
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

    /// A kubeconfig (`dir/kubeconfig-TOKEN`) whose user sends
    /// `Authorization: Bearer TOKEN`, so the fake can tell callers apart.
    pub fn kubeconfig_with_token(&self, dir: &Path, token: &str) -> PathBuf {
        assert!(
            !token.is_empty()
                && token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "a test token is letters, digits, '-', '_' and '.'"
        );
        let path = dir.join(format!("kubeconfig-{token}"));
        write_kubeconfig(&path, &self.url, &format!("{{token: {token}}}"))
    }

    /// Answer `code` (a Status body) to every request carrying bearer
    /// `token`, or serve it again with `None`.
    pub fn fail_for(&self, token: &str, code: Option<u16>) {
        let mut st = self.state.lock().unwrap();
        match code {
            Some(code) => st.fail_token.insert(token.to_string(), code),
            None => st.fail_token.remove(token),
        };
    }

    /// Answer `code` to every request, or serve again with `None`.
    pub fn fail_all(&self, code: Option<u16>) {
        self.state.lock().unwrap().fail_all = code;
    }

    /// Hold every answer this long (`Duration::ZERO`: none, the default).
    pub fn delay(&self, by: Duration) {
        self.state.lock().unwrap().delay = by;
    }

    /// (method, path, bearer token) of the latest requests (at most 100,000).
    pub fn requests(&self) -> Vec<(String, String, Option<String>)> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .cloned()
            .collect()
    }

    /// Every object of `resource` (`group/version/plural`, e.g.
    /// `hoist.dev/v1alpha1/hoistoperations`), in namespace then name order.
    pub fn list_objects(&self, resource: &str) -> Vec<Value> {
        let st = self.state.lock().unwrap();
        st.objects
            .get(resource)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Object `ns/name` of `resource` as the server holds it.
    pub fn object(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        let st = self.state.lock().unwrap();
        st.objects
            .get(resource)?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Write `value` (its `metadata.name` set) as object `ns/NAME` of
    /// `resource`, as another writer would, with no precondition: created or
    /// replaced (keeping its uid and creation time), a new resourceVersion,
    /// and an event for watches. The stored object.
    pub fn put_object(&self, resource: &str, ns: &str, mut value: Value) -> Value {
        let name = value["metadata"]["name"]
            .as_str()
            .expect("put_object: metadata.name")
            .to_string();
        let mut st = self.state.lock().unwrap();
        let old = st
            .objects
            .get(resource)
            .and_then(|m| m.get(&(ns.to_string(), name.clone())))
            .cloned();
        value["metadata"]["namespace"] = json!(ns);
        let kind = match &old {
            Some(old) => {
                writes::keep_identity(&mut value, old);
                "MODIFIED"
            }
            None => {
                writes::new_identity(&mut st, &mut value);
                "ADDED"
            }
        };
        emit(&mut st, &self.events, resource.to_string(), kind, value);
        st.objects[resource][&(ns.to_string(), name)].clone()
    }

    /// Delete object `ns/name` of `resource` as another writer would; false
    /// when there was none.
    pub fn delete_object(&self, resource: &str, ns: &str, name: &str) -> bool {
        let mut st = self.state.lock().unwrap();
        let Some(old) = st
            .objects
            .get(resource)
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
            .cloned()
        else {
            return false;
        };
        emit(&mut st, &self.events, resource.to_string(), "DELETED", old);
        true
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

/// A `Status` failure body as the API server writes it.
fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn reply(code: StatusCode, body: Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        code,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}
