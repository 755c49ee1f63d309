//! The [`Cluster`] port over a real Kubernetes API: one kube-runtime watcher
//! per kind (per namespace when namespaces are configured) feeding a
//! reflector cache, shared by every operation. A watch registers interest in
//! an object and a wake, called when it (or, for a HelmRelease, its parent
//! Kustomization) changes; a look reads the cached object and judges it on
//! the caller's thread without waiting, so no thread is held per rollout and
//! a slow caller never holds up the watch stream. The watchers run on a small
//! tokio runtime owned here, which keeps the engine free of async. Pokes are
//! merge patches of one annotation.

use super::kinds::{self, Key, Kind};
use super::{condition, judge};
use crate::engine::ports::{
    Cause, Cluster, ClusterError, Condition, Look, Progress, Wake, WatchId, WatchRequest,
};
use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::core::DynamicObject;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod shared;

use shared::{Shared, on_event};

/// What to watch and whether to poke.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A kubeconfig file to use instead of the in-cluster config or `KUBECONFIG`.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Watch only these namespaces (one watch per kind and namespace); all
    /// namespaces when empty.
    pub namespaces: Vec<String>,
    /// A label selector every watch uses (`team=payments`).
    pub selector: Option<String>,
    /// Annotate the engine's objects after a push so they look now.
    pub poke: bool,
}

/// The reflector cache per (kind, namespace; `None` = all namespaces).
type Caches = HashMap<(Kind, Option<String>), Store<DynamicObject>>;

/// Argo CD and Flux, watched through the Kubernetes API.
pub struct Live {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    options: Options,
    shared: Arc<Shared>,
    stores: Mutex<Caches>,
    next_follower: std::sync::atomic::AtomicU64,
    /// Every watch handed out and what its verdict needs.
    follows: Mutex<HashMap<WatchId, Follow>>,
}

/// How long a first look waits for its kind's cache to be listed.
const LIST_WAIT: Duration = Duration::from_secs(10);

/// One watch: the object, its wake, the state of a Helm release's judgement.
struct Follow {
    key: Option<Key>,
    app: String,
    wake: Wake,
    release: Release,
    started: Instant,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("options", &self.options)
            .finish()
    }
}

impl Live {
    /// Connect with the in-cluster config or `KUBECONFIG`. Watches start
    /// when an object of their kind is first asked about.
    pub fn connect(options: Options) -> Result<Live, ClusterError> {
        let failed = |doing: String| {
            move |e: Box<dyn std::error::Error + Send + Sync>| ClusterError::Api {
                doing,
                source: Cause::new(e),
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hoist-watch")
            .enable_all()
            .build()
            .map_err(|e| failed("starting the cluster watcher's runtime".into())(e.into()))?;
        let (client, _) = runtime
            .block_on(crate::ha::client(options.kubeconfig.as_deref()))
            .map_err(|(doing, source)| failed(doing)(source))?;
        let live = Live {
            runtime,
            client,
            shared: Arc::new(Shared {
                followers: Mutex::new(HashMap::new()),
                listed: Mutex::new(Default::default()),
            }),
            options,
            stores: Mutex::new(HashMap::new()),
            next_follower: Default::default(),
            follows: Mutex::default(),
        };
        Ok(live)
    }

    /// The watch scope that sees `key`, or why none does.
    fn scope_of(&self, key: &Key) -> Result<Option<String>, String> {
        if self.options.namespaces.is_empty() {
            return Ok(None);
        }
        if self.options.namespaces.contains(&key.namespace) {
            return Ok(Some(key.namespace.clone()));
        }
        Err(format!(
            "{key} is in namespace {}, which hoist does not watch (HOIST_WATCH_NAMESPACES={})",
            key.namespace,
            self.options.namespaces.join(",")
        ))
    }

    /// The cache of `kind` in `ns`, starting its watch on first use.
    fn store(&self, kind: Kind, ns: Option<String>) -> Store<DynamicObject> {
        let mut stores = self
            .stores
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = stores.get(&(kind, ns.clone())) {
            return s.clone();
        }
        let resource = kind.resource();
        let api: Api<DynamicObject> = match &ns {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        let mut config = watcher::Config::default();
        if let Some(selector) = &self.options.selector {
            config = config.labels(selector);
        }
        let writer = reflector::store::Writer::new(resource);
        let reader = writer.as_reader();
        let shared = self.shared.clone();
        let scope = ns.clone();
        let stream = watcher(api, config)
            .default_backoff()
            .modify(kinds::slim)
            .reflect(writer);
        self.runtime.spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(watcher::Event::InitDone) => {
                        shared
                            .listed
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert((kind, scope.clone()));
                        shared.wake_kind(kind);
                    }
                    Ok(event) => on_event(&shared, kind, &event),
                    Err(e) => {
                        tracing::warn!(kind = kind.name(), error = %e, "watch failed; retrying")
                    }
                }
            }
        });
        stores.insert((kind, ns), reader.clone());
        reader
    }

    fn get(&self, key: &Key) -> Result<Option<Arc<DynamicObject>>, String> {
        let store = self.store(key.kind, self.scope_of(key)?);
        let oref = ObjectRef::new_with(&key.name, key.kind.resource()).within(&key.namespace);
        Ok(store.get(&oref))
    }

    /// The object straight from the API server (pokes must not wait for a cache).
    fn fetch(&self, key: &Key) -> Result<serde_json::Value, ClusterError> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &key.namespace, &key.kind.resource());
        match self.runtime.block_on(api.get_opt(&key.name)) {
            Ok(Some(obj)) => Ok(kinds::as_json(&obj)),
            Ok(None) => Err(ClusterError::Missing(key.to_string())),
            Err(e) => Err(ClusterError::Api {
                doing: format!("reading {key}"),
                source: Cause::new(e),
            }),
        }
    }

    fn annotate(&self, key: &Key, name: &str, value: &str) -> Result<(), ClusterError> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &key.namespace, &key.kind.resource());
        let patch = json!({"metadata": {"annotations": {name: value}}});
        self.runtime
            .block_on(api.patch(&key.name, &PatchParams::default(), &Patch::Merge(&patch)))
            .map(drop)
            .map_err(|e| ClusterError::Api {
                doing: format!("annotating {key}"),
                source: Cause::new(e),
            })
    }

    fn register(&self, key: &Key, id: u64, wake: &Wake) {
        let mut followers = self
            .shared
            .followers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        followers
            .entry(key.clone())
            .or_default()
            .push((id, wake.clone()));
    }

    fn unregister(&self, id: u64) {
        let mut followers = self
            .shared
            .followers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for list in followers.values_mut() {
            list.retain(|(i, _)| *i != id);
        }
        followers.retain(|_, l| !l.is_empty());
    }

    /// Judge `key` against R from the cache as it is now.
    fn judge(
        &self,
        key: &Key,
        contains: &dyn Fn(&str) -> bool,
        release: &mut Release,
        wake: (u64, &Wake),
    ) -> Result<Progress, String> {
        let Some(obj) = self.get(key)? else {
            return Ok(Progress::NotSeenYet);
        };
        let obj = kinds::as_json(&obj);
        Ok(match key.kind {
            Kind::Application => judge::argo_application(&obj, contains),
            Kind::Kustomization => judge::flux_kustomization(&obj, contains),
            Kind::HelmRelease => {
                let Some(ks) = kinds::parent_kustomization(&obj) else {
                    return Err(format!(
                        "{key} carries no kustomize.toolkit.fluxcd.io/name label, so the \
                         Kustomization that applies it (and with it the revision) is unknown"
                    ));
                };
                if release.parent.as_ref() != Some(&ks) {
                    self.register(&ks, wake.0, wake.1);
                    release.parent = Some(ks.clone());
                }
                let parent = match self.get(&ks)? {
                    Some(p) => judge::flux_kustomization(&kinds::as_json(&p), contains),
                    None => Progress::NotSeenYet,
                };
                release.judge(&obj, parent)
            }
            Kind::GitRepository => Progress::NotSeenYet,
        })
    }
}

impl Live {
    /// One look at a watch taken out of the map.
    fn look_at(&self, id: WatchId, follow: &mut Follow, contains: &dyn Fn(&str) -> bool) -> Look {
        let Some(key) = follow.key.clone() else {
            let why = format!("{} names no Argo CD or Flux object", follow.app);
            return Look {
                progress: Some(Progress::Failed(why)),
                ..Look::default()
            };
        };
        // The first verdict is given on a listed cache, not an empty one
        // (matters when following resumes with little of the timeout left);
        // the watcher wakes followers of a kind when its list is complete.
        let listed = match self.scope_of(&key) {
            Ok(scope) => lock(&self.shared.listed).contains(&(key.kind, scope)),
            Err(_) => false,
        };
        let waited = follow.started.elapsed();
        if !listed && waited < LIST_WAIT {
            return Look {
                again_in: Some(LIST_WAIT - waited),
                ..Look::default()
            };
        }
        let wake = follow.wake.clone();
        let progress = match self.judge(&key, contains, &mut follow.release, (id, &wake)) {
            Ok(p) => p,
            Err(message) => Progress::Failed(message),
        };
        // A release settling is looked at again without an event.
        let settling = follow.release.parent_at_r.is_some() && progress == Progress::Applied;
        // Absent from a complete list only: a watch that never listed
        // (RBAC, the API down) says nothing about the object.
        let missing = (listed && matches!(self.get(&key), Ok(None))).then(|| {
            format!(
                "{key} does not exist in the cluster (as far as hoist may watch); \
                 check the app's argocd/flux entry in hoist.yaml"
            )
        });
        Look {
            progress: Some(progress),
            missing,
            again_in: settling.then_some(Duration::from_secs(1)),
        }
    }
}

/// A mutex's guard, also after a panic elsewhere poisoned it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How long a HelmRelease may keep its generation after its parent applied
/// R before its status is taken as R's (R need not change the release's spec,
/// e.g. values from an unhashed ConfigMap).
const RELEASE_SETTLE: Duration = Duration::from_secs(10);

/// A followed HelmRelease: its parent Kustomization, and the generation it
/// had while the parent was not yet at R. The parent's status and the
/// release's arrive on two watches, in either order: until the release's spec
/// moves past that generation (or `RELEASE_SETTLE` passes), its Ready is about
/// the old values.
#[derive(Debug, Default)]
struct Release {
    parent: Option<Key>,
    before: Option<i64>,
    parent_at_r: Option<Instant>,
}

impl Release {
    fn judge(&mut self, hr: &serde_json::Value, parent: Progress) -> Progress {
        let generation = hr.pointer("/metadata/generation").and_then(|g| g.as_i64());
        if !matches!(parent, Progress::Healthy | Progress::Applied) {
            self.before = self.before.or(generation);
            self.parent_at_r = None;
        } else if let (Some(before), Some(now)) = (self.before, generation)
            && now <= before
            && self.parent_at_r.get_or_insert_with(Instant::now).elapsed() < RELEASE_SETTLE
        {
            return Progress::Applied;
        }
        judge::flux_helm_release(hr, &parent)
    }
}

fn key_of(request: &WatchRequest) -> Option<Key> {
    Key::for_watch(request.watch.as_ref()?, &request.env)
}

impl Cluster for Live {
    fn label(&self, request: &WatchRequest) -> String {
        match key_of(request) {
            Some(k) => format!("{} {}", k.kind.engine(), k.name),
            None => "no GitOps object".into(),
        }
    }

    fn follows(&self, request: &WatchRequest) -> bool {
        key_of(request).is_some()
    }

    fn poke(&self, request: &WatchRequest) -> Result<(), ClusterError> {
        let Some(key) = key_of(request).filter(|_| self.options.poke) else {
            return Ok(());
        };
        if key.kind == Kind::Application {
            return self.annotate(&key, "argocd.argoproj.io/refresh", "normal");
        }
        let ks = match key.kind {
            Kind::HelmRelease => {
                kinds::parent_kustomization(&self.fetch(&key)?).ok_or_else(|| {
                    ClusterError::Config(format!("{key} has no parent Kustomization label"))
                })?
            }
            _ => key,
        };
        let now = jiff::Timestamp::now().to_string();
        if let Some(source) = kinds::git_source(&self.fetch(&ks)?) {
            self.annotate(&source, "reconcile.fluxcd.io/requestedAt", &now)?;
        }
        self.annotate(&ks, "reconcile.fluxcd.io/requestedAt", &now)
    }

    fn watch(&self, request: &WatchRequest, wake: Wake) -> WatchId {
        let id = self
            .next_follower
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = key_of(request);
        // Registered before the first look, so no change falls in between.
        if let Some(key) = &key {
            self.register(key, id, &wake);
            if let Ok(scope) = self.scope_of(key) {
                self.store(key.kind, scope);
            }
        }
        let follow = Follow {
            key,
            app: request.app.clone(),
            wake,
            release: Release::default(),
            started: Instant::now(),
        };
        self.follows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, follow);
        id
    }

    fn look(&self, id: WatchId, contains: &dyn Fn(&str) -> bool) -> Look {
        // Judged without holding the map: `contains` may ask git (even fetch).
        let Some(mut follow) = lock(&self.follows).remove(&id) else {
            return Look::default();
        };
        let look = self.look_at(id, &mut follow, contains);
        lock(&self.follows).insert(id, follow);
        look
    }

    fn unwatch(&self, id: WatchId) {
        lock(&self.follows).remove(&id);
        self.unregister(id);
    }

    fn condition(&self, request: &WatchRequest) -> Condition {
        let Some(key) = key_of(request) else {
            return Condition::Unknown;
        };
        let Ok(scope) = self.scope_of(&key) else {
            return Condition::Unknown;
        };
        self.store(key.kind, scope.clone());
        if !self
            .shared
            .listed
            .lock()
            .unwrap()
            .contains(&(key.kind, scope))
        {
            return Condition::Unknown;
        }
        match self.get(&key) {
            Ok(Some(obj)) => match condition::drifting(key.kind, &kinds::as_json(&obj)) {
                Some(why) => Condition::Drifting(format!("{key} {why}")),
                None => Condition::InSync(key.to_string()),
            },
            _ => Condition::Unknown,
        }
    }
}
