//! Two replicas of `hoist serve` (`replica-a`, `replica-b`) as separate
//! processes, each with a data dir and a listen port of its own, sharing what
//! replicas share in a cluster: the bare config repo, one Slack (the fake
//! Web API) and one Kubernetes API server (the loopback fake), which holds the
//! Argo CD Applications, hoist's journal (`HOIST_STORE=kubernetes`) and the
//! Lease. Each replica reaches the API with a bearer token of its own (its
//! name), so the fake can refuse one of them. Leases are short in tests
//! ([`Leases::FAST`]: 3 s, renew deadline 2 s, retry every 250 ms) so a
//! failover fits in a test. Logs go to a file per replica (JSON lines),
//! read to find when a leader stepped down and printed when a test fails.
//! Self-contained over `crate::support`, so `benches/ha.rs` includes it too.

use crate::support::kube::FakeKube;
use crate::support::objects::application;
use crate::support::slack::{self, FakeSlack, now, post, signed, slash_form};
use crate::support::{Bot, World, git};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The Lease's resource in the fake.
pub const LEASES: &str = "coordination.k8s.io/v1/leases";
pub const NAMESPACE: &str = "hoist";
pub const NAMES: [&str; 2] = ["replica-a", "replica-b"];
const SIGNING_SECRET: &str = "5e0a6b2c3d4f8a9b0c1d2e3f4a5b6c7d";
/// The journal key both replicas share (`HOIST_JOURNAL_KEY`).
const JOURNAL_KEY: &str = "9c41d0e7b2a85f36c1d9e0a4b7f28c5d";
/// The longest wait for one step (a replica up, an answer posted).
const PATIENCE: Duration = Duration::from_secs(20);

/// The Lease's timing, as `HOIST_LEASE_*` set it.
#[derive(Debug, Clone, Copy)]
pub struct Leases {
    pub duration: Duration,
    pub renew_deadline: Duration,
    pub retry: Duration,
}

impl Leases {
    /// Short enough for tests, in the ratios of the defaults.
    pub const FAST: Leases = Leases {
        duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry: Duration::from_millis(250),
    };
}

/// Slack people; `api` in staging (no approvals) and prod (two from sre),
/// `web` in prod, all followed through Argo CD. Rollouts may take an hour,
/// so nothing in flight times out during a test.
const HA_POLICY: &str = "\
groups:
  sre: [slack:USRE1, slack:USRE2]
  devs: [slack-group:S0DEVS]
environments:
  staging:
    deployers: [devs, sre]
    timeout: 1h
  prod:
    deployers: [devs, sre]
    approvals: { count: 2, from: [sre] }
    channels: [slack:C0DEPLOY]
    timeout: 1h
apps:
  api:
    targets:
      staging: { file: apps/api/overlays/staging/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
    argocd: { namespace: argocd, application: \"api-{env}\" }
  web:
    targets:
      prod:    { file: apps/web/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/web }
    argocd: { namespace: argocd, application: \"web-{env}\" }
";

pub struct Replica {
    pub name: &'static str,
    pub bot: Bot,
    pub log: PathBuf,
}

/// The shared world and the two replicas, started.
pub struct Pair {
    pub w: World,
    pub kube: FakeKube,
    pub slack: FakeSlack,
    pub replicas: Vec<Replica>,
    /// What replicas are (re)started with.
    #[allow(dead_code)] // read by `restart`, which only benches/ha.rs uses
    pub leases: Leases,
}

/// One commit on origin's main written by hoist: its operation and approvers.
#[derive(Debug)]
pub struct HoistCommit {
    pub subject: String,
    pub operation: u64,
    pub approvers: Vec<String>,
}

/// Wait up to `limit` for `what`, looking every 20 ms.
pub fn until(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Pair {
    /// Both replicas up with `leases`; neither need lead yet.
    pub fn start(leases: Leases) -> Pair {
        let kube = FakeKube::start();
        let w = World::new();
        w.commit_file("hoist.yaml", HA_POLICY, "policy for two replicas");
        let tip = w.tip();
        for app in ["api-staging", "api-prod", "web-prod"] {
            kube.apply(application("argocd", app, &tip));
        }
        let slack = FakeSlack::start();
        slack.set_group("S0DEVS", &["UALICE"]);
        let replicas = NAMES
            .iter()
            .map(|name| replica(&w, &kube, &slack, name, leases))
            .collect();
        Pair {
            w,
            kube,
            slack,
            replicas,
            leases,
        }
    }

    /// The Lease's spec as the API server holds it.
    pub fn lease(&self) -> Option<Value> {
        self.kube
            .object(LEASES, NAMESPACE, "hoist")
            .map(|l| l["spec"].clone())
    }

    /// Which replica holds the Lease now.
    pub fn holder(&self) -> Option<usize> {
        let spec = self.lease()?;
        // `POD_NAME_<8 hex>`: hoist makes each process's name unique.
        let holder = spec["holderIdentity"].as_str()?;
        let (pod, _) = holder.rsplit_once('_')?;
        NAMES.iter().position(|n| *n == pod)
    }

    /// Wait for one replica to lead; which.
    pub fn leader(&self) -> usize {
        until(PATIENCE, "a replica to take the Lease", || {
            self.holder().is_some()
        });
        self.holder().unwrap()
    }

    /// POST a signed request to replica `i`; Slack's deadline is 3 s, so
    /// the answer must beat it.
    fn send(&self, i: usize, path: &str, content_type: &str, body: &str) -> (u16, String) {
        let headers = signed(SIGNING_SECRET, now(), body, content_type);
        let (status, answer, took) = post(&self.replicas[i].bot.addr, path, &headers, body);
        assert!(took < Duration::from_secs(3), "{path} answered in {took:?}");
        (status, answer)
    }

    /// `/hoist <text>` from `user` in `channel`, sent to replica `i`:
    /// acknowledged, not "busy".
    pub fn slash(&self, i: usize, user: &str, channel: &str, text: &str) {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = slash_form(user, channel, text, n);
        let form = "application/x-www-form-urlencoded";
        let (status, answer) = self.send(i, "/slack/commands", form, &body);
        assert_eq!(status, 200, "{text}: {answer}");
        assert!(!answer.contains("busy"), "{text}: {answer}");
    }

    /// `user` reacts with a check mark to hoist's message `ts` in
    /// C0DEPLOY; the event goes to replica `i`.
    pub fn approve(&self, i: usize, user: &str, ts: &str) {
        let body = json!({"token": "x", "team_id": "T0ACME", "api_app_id": "A0HOIST",
            "type": "event_callback", "event_id": format!("Ev{user}{}", ts.replace('.', "")),
            "event_time": now(),
            "event": {"type": "reaction_added", "user": user, "reaction": "white_check_mark",
                "item_user": slack::BOT_USER, "item": {"type": "message", "channel": "C0DEPLOY", "ts": ts},
                "event_ts": format!("{}.000100", now())},
            "authorizations": [{"team_id": "T0ACME", "user_id": slack::BOT_USER, "is_bot": true}]});
        let (status, answer) = self.send(i, "/slack/events", "application/json", &body.to_string());
        assert_eq!(status, 200, "{answer}");
    }

    /// The operation asking for approvals for `summary` (e.g. `deploy api
    /// v1.2.4 to prod`): its id and the `ts` of its live message.
    pub fn awaiting(&self, summary: &str) -> (u64, String) {
        let mut found = None;
        until(
            PATIENCE,
            &format!("the approval request of {summary}"),
            || {
                found = self
                    .slack
                    .calls_of("chat.postMessage")
                    .into_iter()
                    .find(|c| {
                        let text = c.args["text"].as_str().unwrap_or("");
                        text.contains(summary) && text.contains("needs 2 approval(s)")
                    });
                found.is_some()
            },
        );
        let call = found.unwrap();
        let text = call.args["text"].as_str().unwrap();
        let id = text
            .split('#')
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no operation id in {text:?}"));
        (id, call.ts.expect("a posted message has a ts"))
    }

    /// How many messages and edits hoist sent containing `needle`.
    pub fn said(&self, needle: &str) -> usize {
        self.slack
            .calls()
            .iter()
            .filter(|c| matches!(c.method.as_str(), "chat.update" | "chat.postMessage"))
            .filter(|c| c.args.to_string().contains(needle))
            .count()
    }

    /// `hoist_rollouts_in_flight` of replica `i`.
    pub fn in_flight(&self, i: usize) -> Option<u64> {
        let (_, metrics) = slack::get(&self.replicas[i].bot.addr, "/metrics");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("hoist_rollouts_in_flight "))
            .and_then(|n| n.trim().parse().ok())
    }

    /// Kill replica `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        self.replicas[i].bot.kill();
    }

    /// Start replica `i` again (a new process on the same data dir).
    #[allow(dead_code)] // benches/ha.rs kills the leader round after round
    pub fn restart(&mut self, i: usize) {
        self.replicas[i].bot.kill();
        self.replicas[i] = replica(&self.w, &self.kube, &self.slack, NAMES[i], self.leases);
    }

    /// Every commit on origin's main carrying a `Hoist-Operation` trailer.
    pub fn hoist_commits(&self) -> Vec<HoistCommit> {
        let format = "--format=%s%x1f%(trailers:key=Hoist-Operation,valueonly,separator=%x2c)\
                      %x1f%(trailers:key=Hoist-Approved-By,valueonly,separator=%x2c)%x1e";
        git(&self.w.origin, &["log", format, "main"])
            .split('\x1e')
            .filter_map(|record| {
                let mut fields = record.trim_start_matches('\n').split('\x1f');
                let subject = fields.next()?.to_string();
                let operation = fields.next()?.trim().parse().ok()?;
                let approvers = fields
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect();
                Some(HoistCommit {
                    subject,
                    operation,
                    approvers,
                })
            })
            .collect()
    }

    /// When replica `i`'s engine logged that it let go of the singleton
    /// work (`Engine::step_down`).
    pub fn stepped_down(&self, i: usize) -> Vec<jiff::Timestamp> {
        std::fs::read_to_string(&self.replicas[i].log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| {
                l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("not leading: letting go"))
            })
            .filter_map(|l| l["timestamp"].as_str()?.parse().ok())
            .collect()
    }
}

impl Drop for Pair {
    /// A failed test shows the end of each replica's log.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for r in &self.replicas {
            let log = std::fs::read_to_string(&r.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(60)..];
            eprintln!(
                "--- {} (last {} lines)\n{}",
                r.name,
                tail.len(),
                tail.join("\n")
            );
        }
    }
}

/// A MicroTime or RFC 3339 timestamp of the Lease.
pub fn time(spec: &Value, field: &str) -> jiff::Timestamp {
    spec[field]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {spec}"))
}

/// `250ms` for 250 ms: the form `HOIST_LEASE_*` take.
fn millis(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn replica(
    w: &World,
    kube: &FakeKube,
    fake: &FakeSlack,
    name: &'static str,
    leases: Leases,
) -> Replica {
    let dir = w.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = kube.kubeconfig_with_token(&dir, name);
    let log = dir.join("serve.log");
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let origin = w.origin.to_str().unwrap();
    let mut cmd = crate::support::serve_command_in(w, origin, &dir.join("data"));
    cmd.env("HOIST_SIGNING_KEY", &w.key)
        .env("SLACK_BOT_TOKEN", slack::BOT_TOKEN)
        .env("SLACK_API_URL", fake.api_url())
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .env("KUBECONFIG", &kubeconfig)
        .env("HOIST_STORE", "kubernetes")
        .env("HOIST_JOURNAL_KEY", JOURNAL_KEY)
        .env("POD_NAMESPACE", NAMESPACE)
        .env("POD_NAME", name)
        .env("HOIST_LEASE_NAME", "hoist")
        .env("HOIST_LEASE_DURATION", millis(leases.duration))
        .env("HOIST_LEASE_RENEW_DEADLINE", millis(leases.renew_deadline))
        .env("HOIST_LEASE_RETRY_PERIOD", millis(leases.retry))
        .env("HOIST_LOG", "hoist=info,warn")
        .env("HOIST_LOG_FORMAT", "json")
        .stderr(stderr);
    Replica {
        name,
        bot: Bot::start(cmd),
        log,
    }
}
