//! Drift: an object hoist deploys through (an app's `argocd`/`flux` entry in
//! an environment with an `alerts` channel) that the cluster shows out of
//! sync or failing while no hoist operation is following it means the cluster
//! or the repo changed outside hoist. The cluster adapter only reports each
//! object's [`Condition`]; deciding that it is drift, and saying it once, is
//! here. It is said once it has lasted a grace period (a push by someone else
//! is OutOfSync for seconds before auto-sync catches up), then again every
//! reminder interval while it lasts, and once more when it ends. What is
//! watched is read from `hoist.yaml` on every look, so a policy change is
//! picked up by a running bot. [`Tracker`] is the pure state; the engine's
//! chores feed it.

use super::ports::{Condition, WatchRequest};
use super::{Engine, State};
use crate::policy::{Policy, Watch};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long drift must last before it is said, and how often it is said
/// again while it lasts.
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

/// One object hoist deploys through in one environment (several apps may
/// share it, e.g. one Flux Kustomization), and where its drift is said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    /// What the cluster is asked about (the first app's request).
    pub request: WatchRequest,
    /// Every app deployed through this object in this environment.
    pub apps: Vec<String>,
    /// The object, resolved for the environment: what drift is keyed by.
    pub object: String,
    pub channel: String,
}

/// A message for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub channel: String,
    pub text: String,
}

#[derive(Debug)]
struct Open {
    watched: Watched,
    since: Instant,
    what: String,
    /// When drift was last said (reset while hoist is changing the object).
    alerted: Option<Instant>,
    /// Drift was said at least once: its end is said too.
    said: bool,
}

/// Which watched objects drift, since when, and what was said about them.
#[derive(Debug, Default)]
pub struct Tracker {
    open: HashMap<String, Open>,
}

/// The object a watch names in `env`, as one string (`{env}` resolved).
fn object_of(watch: &Watch, env: &str) -> String {
    match watch {
        Watch::ArgoCd {
            namespace,
            application,
        } => format!("argocd {namespace}/{application}").replace("{env}", env),
        Watch::Flux {
            kind,
            namespace,
            name,
        } => format!("flux {kind} {namespace}/{name}").replace("{env}", env),
    }
}

/// Every object the policy names for an app in an environment that has an
/// `alerts` channel, with the apps deployed through it.
pub fn watched(policy: &Policy) -> Vec<Watched> {
    let mut out: Vec<Watched> = Vec::new();
    for app in &policy.apps {
        let Some(watch) = &app.watch else { continue };
        for env in app.targets.keys() {
            let Some(channel) = policy.env(env).and_then(|e| e.alerts.clone()) else {
                continue;
            };
            let object = format!("{env} {}", object_of(watch, env.as_str()));
            if let Some(w) = out.iter_mut().find(|w| w.object == object) {
                w.apps.push(app.name.to_string());
                continue;
            }
            out.push(Watched {
                request: WatchRequest {
                    app: app.name.to_string(),
                    env: env.to_string(),
                    watch: Some(watch.clone()),
                    revision: String::new(),
                    timeout_secs: 0,
                },
                apps: vec![app.name.to_string()],
                object,
                channel,
            });
        }
    }
    out
}

impl Watched {
    fn who(&self) -> String {
        format!("{} in {}", self.apps.join(", "), self.request.env)
    }
}

impl Tracker {
    /// What the cluster shows of `w` now. Returns the all-clear when drift
    /// that was said has ended.
    pub fn observe(&mut self, w: &Watched, now_is: Condition, now: Instant) -> Option<Alert> {
        match now_is {
            Condition::Unknown => None,
            Condition::Drifting(what) => {
                let open = self.open.entry(w.object.clone()).or_insert(Open {
                    watched: w.clone(),
                    since: now,
                    what: what.clone(),
                    alerted: None,
                    said: false,
                });
                open.what = what;
                open.watched = w.clone();
                None
            }
            Condition::InSync(what) => {
                let ended = self.open.remove(&w.object)?;
                ended.said.then(|| Alert {
                    channel: w.channel.clone(),
                    text: format!(
                        "drift over: {}: {what} is back in sync and healthy",
                        w.who()
                    ),
                })
            }
        }
    }

    /// Forget drift on objects no longer watched (the policy changed).
    pub fn keep_only(&mut self, watched: &[Watched]) {
        let keep: HashSet<&str> = watched.iter().map(|w| w.object.as_str()).collect();
        self.open.retain(|k, _| keep.contains(k.as_str()));
    }

    /// Alerts due at `now`. Drift on an object a hoist operation is changing
    /// (`hoists(env, app)` for any of its apps: following a rollout there, or
    /// whose last change there ended failed and was said in its own thread)
    /// belongs to that operation, so its clock restarts instead.
    pub fn due(
        &mut self,
        now: Instant,
        timing: Timing,
        hoists: &dyn Fn(&str, &str) -> bool,
    ) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for open in self.open.values_mut() {
            let w = &open.watched;
            if w.apps.iter().any(|app| hoists(&w.request.env, app)) {
                open.since = now;
                open.alerted = None;
                continue;
            }
            let lasting = now.saturating_duration_since(open.since);
            let first = open.alerted.is_none() && lasting >= timing.grace;
            let again = open
                .alerted
                .is_some_and(|t| now.saturating_duration_since(t) >= timing.remind);
            if first || again {
                let word = if again { "still drifting" } else { "drift" };
                alerts.push(Alert {
                    channel: w.channel.clone(),
                    text: format!(
                        "{word}: {}: {} for {} and no hoist operation is \
                         changing it; the cluster or the repo was changed outside hoist",
                        w.who(),
                        open.what,
                        super::render::age(lasting.as_secs() as i64)
                    ),
                });
                open.alerted = Some(now);
                open.said = true;
            }
        }
        alerts.sort_by(|a, b| a.text.cmp(&b.text));
        alerts
    }
}

impl Engine {
    /// One look for drift: what the policy watches, as the cluster shows it,
    /// said in each environment's `alerts` channel when it is due.
    pub(super) fn look_for_drift(&self, policy: &Policy) {
        let Some(cluster) = &self.cluster else { return };
        let watched = watched(policy);
        let now = Instant::now();
        let flying = self.runner.apps_in_flight();
        // The last change hoist made there failed: its thread said so.
        let failed_there = |env: &str, app: &str| {
            matches!(
                self.journal.latest(env, app),
                Ok(Some(op)) if matches!(
                    op.state,
                    State::Degraded { .. } | State::Failed { .. } | State::TimedOut
                )
            )
        };
        let hoists = |env: &str, app: &str| {
            flying.contains(&(env.to_string(), app.to_string())) || failed_there(env, app)
        };
        let mut alerts = Vec::new();
        {
            let mut chores = self
                .chores
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let tracker = &mut chores.drift;
            tracker.keep_only(&watched);
            for w in &watched {
                alerts.extend(tracker.observe(w, cluster.condition(&w.request), now));
            }
            alerts.extend(tracker.due(now, self.settings.drift, &hoists));
        }
        for a in alerts {
            tracing::warn!(channel = %a.channel, "{}", a.text);
            self.notify.alert(&a.channel, &a.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prod() -> Watched {
        Watched {
            apps: vec!["api".into()],
            object: "prod argocd argocd/api-prod".into(),
            request: WatchRequest {
                app: "api".into(),
                env: "prod".into(),
                watch: Some(Watch::ArgoCd {
                    namespace: "argocd".into(),
                    application: "api-prod".into(),
                }),
                revision: String::new(),
                timeout_secs: 0,
            },
            channel: "slack:C0ALERTS".into(),
        }
    }

    const TIMING: Timing = Timing {
        grace: Duration::from_secs(60),
        remind: Duration::from_secs(3600),
    };

    fn off() -> Condition {
        Condition::Drifting("Application argocd/api-prod is OutOfSync (health Healthy)".into())
    }

    fn fine() -> Condition {
        Condition::InSync("Application argocd/api-prod".into())
    }

    #[test]
    fn drift_is_said_after_grace_once_then_reminded_then_cleared() {
        let (mut t, w) = (Tracker::default(), prod());
        let t0 = Instant::now();
        let idle = |_: &str, _: &str| false;
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(t.observe(&w, off(), t0), None);
        assert!(t.due(at(30), TIMING, &idle).is_empty());
        let first = t.due(at(61), TIMING, &idle);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].channel, "slack:C0ALERTS");
        assert!(
            first[0]
                .text
                .starts_with("drift: api in prod: Application argocd/api-prod is OutOfSync"),
            "{first:?}"
        );
        // Further looks within the reminder interval say nothing.
        t.observe(&w, off(), at(62));
        assert!(t.due(at(600), TIMING, &idle).is_empty());
        let again = t.due(at(61 + 3600), TIMING, &idle);
        assert!(again[0].text.starts_with("still drifting"), "{again:?}");
        let over = t.observe(&w, fine(), at(4000));
        assert!(over.unwrap().text.starts_with("drift over"));
        assert!(t.due(at(9000), TIMING, &idle).is_empty());
        // Not knowing (the cache is not listed yet) changes nothing.
        assert_eq!(t.observe(&w, Condition::Unknown, at(9001)), None);
    }

    #[test]
    fn drift_during_an_operation_belongs_to_the_operation() {
        let (mut t, w) = (Tracker::default(), prod());
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        t.observe(&w, off(), t0);
        assert!(t.due(at(90), TIMING, &|_, _| true).is_empty());
        // The operation ended at +90s: the grace period starts again there.
        assert!(t.due(at(120), TIMING, &|_, _| false).is_empty());
        assert_eq!(t.due(at(151), TIMING, &|_, _| false).len(), 1);
        // Drift that was never said ends silently.
        let mut t = Tracker::default();
        t.observe(&w, off(), t0);
        assert_eq!(t.observe(&w, fine(), t0), None);
        // An object the policy no longer watches is forgotten.
        t.observe(&w, off(), t0);
        t.keep_only(&[]);
        assert!(t.due(at(9999), TIMING, &|_, _| false).is_empty());
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
  cron:
    targets:
      prod: {file: e.yaml, yaml_path: image.tag}
    flux: {kind: HelmRelease, namespace: "apps-{env}", name: worker}
"#;
        let (policy, problems) = crate::policy::load(yaml);
        assert!(problems.is_empty(), "{problems:?}");
        let mut w: Vec<String> = watched(&policy)
            .iter()
            .map(|w| format!("{} -> {} ({})", w.who(), w.channel, w.object))
            .collect();
        w.sort();
        assert_eq!(
            w,
            [
                "api in prod -> slack:C0ALERTS (prod argocd argocd/api-prod)",
                "worker, cron in prod -> slack:C0ALERTS (prod flux HelmRelease apps-prod/worker)"
            ]
        );
    }

    #[test]
    fn an_object_shared_by_apps_is_said_once_and_its_end_after_an_operation_too() {
        let mut shared = prod();
        shared.apps = vec!["api".into(), "web".into()];
        let mut t = Tracker::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        t.observe(&shared, off(), t0);
        let said = t.due(at(61), TIMING, &|_, _| false);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].text.starts_with("drift: api, web in prod: "),
            "{said:?}"
        );
        // hoist changes web there: the drift is that change's business now...
        assert!(t.due(at(70), TIMING, &|_, app| app == "web").is_empty());
        // ...and when the object is fine again, the channel that was told
        // about the drift hears that it ended.
        let over = t.observe(&shared, fine(), at(80)).expect("said over");
        assert!(
            over.text.starts_with("drift over: api, web in prod"),
            "{over:?}"
        );
    }
}
