//! Drift alerts: an Argo CD Application going OutOfSync, or a Flux
//! Kustomization/HelmRelease failing, while no hoist operation is following
//! it, means the cluster or the repo changed outside hoist. It is reported to
//! the environment's `alerts` channel once it has lasted a grace period (a
//! push by someone else is OutOfSync for seconds before auto-sync catches up),
//! then again every reminder interval while it lasts, and once more when it
//! ends. Only objects the policy names (an app's `argocd`/`flux` per env) are
//! judged; the tracker is pure state fed by the watchers and a ticker.

use super::kinds::{Key, Kind};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// One object hoist deploys through, and where its drift is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub key: Key,
    pub app: String,
    pub env: String,
    pub channel: String,
}

/// How long drift must last before it is reported, and how often it is
/// repeated while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub grace: Duration,
    pub remind: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            grace: Duration::from_secs(120),
            remind: Duration::from_secs(4 * 3600),
        }
    }
}

/// A message for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub channel: String,
    pub text: String,
}

#[derive(Debug)]
struct Open {
    since: Instant,
    reason: String,
    alerted: Option<Instant>,
}

/// Which watched objects drift, since when, and what was said about them.
#[derive(Debug)]
pub struct Tracker {
    watched: HashMap<Key, Watched>,
    timing: Timing,
    open: HashMap<Key, Open>,
}

/// Why an object counts as drifting, or `None` when it does not.
pub fn drifting(kind: Kind, obj: &Value) -> Option<String> {
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str);
    match kind {
        Kind::Application => (text("/status/sync/status") == Some("OutOfSync")).then(|| {
            let health = text("/status/health/status").unwrap_or("Unknown");
            format!("is OutOfSync (health {health})")
        }),
        Kind::Kustomization | Kind::HelmRelease => {
            let conditions = obj.pointer("/status/conditions")?.as_array()?;
            let find = |t: &str| {
                conditions
                    .iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some(t))
            };
            fn said<'a>(c: &'a Value, k: &str) -> &'a str {
                c.get(k).and_then(Value::as_str).unwrap_or("")
            }
            if let Some(c) = find("Stalled").filter(|c| said(c, "status") == "True") {
                return Some(format!(
                    "is stalled: {}: {}",
                    said(c, "reason"),
                    said(c, "message")
                ));
            }
            find("Ready")
                .filter(|c| said(c, "status") == "False")
                .map(|c| format!("is failing: {}: {}", said(c, "reason"), said(c, "message")))
        }
        Kind::GitRepository => None,
    }
}

/// Every object the policy names for an app in an environment that has an
/// `alerts` channel: what drift is watched on, and where it is reported.
pub fn from_policy(policy: &crate::policy::Policy) -> Vec<Watched> {
    let mut watched = Vec::new();
    for app in &policy.apps {
        let Some(watch) = &app.watch else { continue };
        for env in app.targets.keys() {
            let channel = policy.env(env).and_then(|e| e.alerts.clone());
            if let (Some(channel), Some(key)) = (channel, Key::for_watch(watch, env.as_str())) {
                watched.push(Watched {
                    key,
                    app: app.name.to_string(),
                    env: env.to_string(),
                    channel,
                });
            }
        }
    }
    watched
}

impl Tracker {
    pub fn new(watched: Vec<Watched>, timing: Timing) -> Tracker {
        Tracker {
            watched: watched.into_iter().map(|w| (w.key.clone(), w)).collect(),
            timing,
            open: HashMap::new(),
        }
    }

    /// Is drift on `key` watched?
    pub fn tracks(&self, key: &Key) -> bool {
        self.watched.contains_key(key)
    }

    /// The kinds to watch from the start so drift is seen.
    pub fn kinds(&self) -> BTreeSet<Kind> {
        self.watched.keys().map(|k| k.kind).collect()
    }

    /// An object was added or changed. Returns the all-clear when drift that
    /// was reported has ended.
    pub fn observe(&mut self, key: &Key, obj: &Value, now: Instant) -> Option<Alert> {
        let watched = self.watched.get(key)?;
        match drifting(key.kind, obj) {
            Some(reason) => {
                let open = self.open.entry(key.clone()).or_insert(Open {
                    since: now,
                    reason: reason.clone(),
                    alerted: None,
                });
                open.reason = reason;
                None
            }
            None => {
                let ended = self.open.remove(key)?;
                ended.alerted.map(|_| Alert {
                    channel: watched.channel.clone(),
                    text: format!(
                        "drift over: {} in {}: {key} is back in sync and healthy",
                        watched.app, watched.env
                    ),
                })
            }
        }
    }

    /// The object is gone from the cluster: stop tracking it.
    pub fn forget(&mut self, key: &Key) {
        self.open.remove(key);
    }

    /// Alerts due at `now`. Drift on an object a hoist operation is following
    /// belongs to that operation (it reports in its own thread), so its clock
    /// restarts instead.
    pub fn due(&mut self, now: Instant, in_flight: &dyn Fn(&Key) -> bool) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for (key, open) in &mut self.open {
            if in_flight(key) {
                open.since = now;
                open.alerted = None;
                continue;
            }
            let Some(w) = self.watched.get(key) else {
                continue;
            };
            let lasting = now.saturating_duration_since(open.since);
            let first = open.alerted.is_none() && lasting >= self.timing.grace;
            let again = open
                .alerted
                .is_some_and(|t| now.saturating_duration_since(t) >= self.timing.remind);
            if first || again {
                let word = if again { "still drifting" } else { "drift" };
                alerts.push(Alert {
                    channel: w.channel.clone(),
                    text: format!(
                        "{word}: {} in {}: {key} {} for {} and no hoist operation is \
                         changing it; the cluster or the repo was changed outside hoist",
                        w.app,
                        w.env,
                        open.reason,
                        crate::engine::render::age(lasting.as_secs() as i64)
                    ),
                });
                open.alerted = Some(now);
            }
        }
        alerts.sort_by(|a, b| a.text.cmp(&b.text));
        alerts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tracker() -> (Tracker, Key) {
        let key = Key {
            kind: Kind::Application,
            namespace: "argocd".into(),
            name: "api-prod".into(),
        };
        let w = Watched {
            key: key.clone(),
            app: "api".into(),
            env: "prod".into(),
            channel: "slack:C0ALERTS".into(),
        };
        let timing = Timing {
            grace: Duration::from_secs(60),
            remind: Duration::from_secs(3600),
        };
        (Tracker::new(vec![w], timing), key)
    }

    fn app(sync: &str) -> Value {
        json!({"status": {"sync": {"status": sync}, "health": {"status": "Healthy"}}})
    }

    #[test]
    fn drift_is_reported_after_grace_once_then_reminded_then_cleared() {
        let (mut t, key) = tracker();
        let t0 = Instant::now();
        let idle = |_: &Key| false;
        assert_eq!(t.observe(&key, &app("OutOfSync"), t0), None);
        assert!(t.due(t0 + Duration::from_secs(30), &idle).is_empty());
        let first = t.due(t0 + Duration::from_secs(61), &idle);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].channel, "slack:C0ALERTS");
        assert!(
            first[0]
                .text
                .starts_with("drift: api in prod: Application argocd/api-prod is OutOfSync"),
            "{first:?}"
        );
        // Further events and ticks within the reminder interval say nothing.
        t.observe(&key, &app("OutOfSync"), t0 + Duration::from_secs(62));
        assert!(t.due(t0 + Duration::from_secs(600), &idle).is_empty());
        let again = t.due(t0 + Duration::from_secs(61 + 3600), &idle);
        assert!(again[0].text.starts_with("still drifting"), "{again:?}");
        let over = t.observe(&key, &app("Synced"), t0 + Duration::from_secs(4000));
        assert!(over.unwrap().text.starts_with("drift over"));
        assert!(t.due(t0 + Duration::from_secs(9000), &idle).is_empty());
    }

    #[test]
    fn drift_during_an_operation_belongs_to_the_operation() {
        let (mut t, key) = tracker();
        let t0 = Instant::now();
        t.observe(&key, &app("OutOfSync"), t0);
        assert!(t.due(t0 + Duration::from_secs(90), &|_| true).is_empty());
        // The operation ended at +90s: the grace period starts again there.
        assert!(t.due(t0 + Duration::from_secs(120), &|_| false).is_empty());
        assert_eq!(t.due(t0 + Duration::from_secs(151), &|_| false).len(), 1);
        // Drift that was never reported ends silently.
        let (mut t, key) = tracker();
        t.observe(&key, &app("OutOfSync"), t0);
        assert_eq!(t.observe(&key, &app("Synced"), t0), None);
    }

    #[test]
    fn the_policy_names_what_is_watched_for_drift_and_where_it_is_said() {
        let yaml = r#"
environments:
  staging: {deployers: ["*"]}
  prod: {deployers: ["*"], alerts: "slack:C0ALERTS"}
apps:
  api:
    targets:
      staging: {file: a.yaml, yaml_path: image.tag}
      prod: {file: b.yaml, yaml_path: image.tag}
    argocd: {namespace: argocd, application: "api-{env}"}
  worker:
    targets:
      prod: {file: c.yaml, yaml_path: image.tag}
    flux: {kind: HelmRelease, namespace: "apps-{env}", name: worker}
  web:
    targets:
      prod: {file: d.yaml, yaml_path: image.tag}
"#;
        let (policy, problems) = crate::policy::load(yaml);
        assert!(problems.is_empty(), "{problems:?}");
        let mut w = from_policy(&policy);
        w.sort_by(|a, b| a.key.cmp(&b.key));
        let keys: Vec<String> = w
            .iter()
            .map(|w| format!("{} -> {}", w.key, w.channel))
            .collect();
        assert_eq!(
            keys,
            [
                "Application argocd/api-prod -> slack:C0ALERTS",
                "HelmRelease apps-prod/worker -> slack:C0ALERTS"
            ]
        );
        assert_eq!((w[0].app.as_str(), w[0].env.as_str()), ("api", "prod"));
    }

    #[test]
    fn flux_failing_or_stalled_counts_and_unknown_objects_do_not() {
        let ks = json!({"status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "HealthCheckFailed", "message": "timeout waiting for: [Deployment/apps/worker status: 'InProgress']"}
        ]}});
        let why = drifting(Kind::Kustomization, &ks).unwrap();
        assert!(why.starts_with("is failing: HealthCheckFailed"), "{why}");
        let stalled = json!({"status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "ArtifactFailed", "message": "x"},
            {"type": "Stalled", "status": "True", "reason": "InvalidPath", "message": "no such path"}
        ]}});
        assert!(
            drifting(Kind::Kustomization, &stalled)
                .unwrap()
                .starts_with("is stalled: InvalidPath")
        );
        let (mut t, _) = tracker();
        let other = Key {
            kind: Kind::Application,
            namespace: "argocd".into(),
            name: "not-ours".into(),
        };
        t.observe(&other, &app("OutOfSync"), Instant::now());
        assert!(
            t.due(Instant::now() + Duration::from_secs(9999), &|_| false)
                .is_empty()
        );
    }
}
