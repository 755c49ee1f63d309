//! Engine unit tests on in-memory ports: a real [`Engine`] over the
//! in-memory config repo ([`crate::gitops::memory::Memory`]) and journal
//! ([`crate::store::Memory`]), a notifier that records what it is told, a
//! clock the test sets, and no cluster or the simulated one. No git, no
//! disk: each test runs in milliseconds. The end-to-end suites under
//! `tests/` cover the same engine over real git and redb.
//!
//! - `writes`: refusals, a deploy's one commit and its trailers, the remote
//!   moving underneath, `status` and `history` reading back, following to
//!   Healthy.
//! - `approvals`: waiting for a quorum, self-approval, one commit at quorum.
//! - `memory_repo`: the in-memory repo itself (compare-and-swap, ancestry,
//!   history).
//! - `trust`: policy signers: an unsigned `hoist.yaml` change is not obeyed.
//! - `ordered`: ordered promotion (`depends_on`): one quorum, one commit per
//!   step in dependency order, a restart between steps.
//! - `faults`: a final state the journal could not take is kept and written
//!   on a later step.
//! - `pr` and `pr_life`: `via: pull-request` over `forge`, an in-memory forge:
//!   opened and answered at once, merged at quorum and followed, closed or
//!   merged by a person, rebuilt on a moved base, GitHub reviews, restarts.

mod approvals;
mod envs;
mod faults;
mod forge;
mod gated;
mod lead;
mod memory_repo;
mod ordered;
mod pr;
mod pr_base;
mod pr_ends;
mod pr_life;
mod pr_merges;
mod pr_rules;
mod trust;
mod writes;

use super::ports::{Clock, Cluster, Journal, Notify};
use super::{Engine, Operation, Reply, Request, Settings};
use crate::gitops::memory::{Commit, Memory};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Wednesday 2026-11-25 10:00 UTC.
const WEDNESDAY: i64 = 1_795_600_800;

/// Anyone deploys to dev; prod takes two approvals from sre.
const POLICY: &str = "\
groups:
  sre: [console:carol, console:dave]
  devs: [console:alice]
environments:
  dev:
    deployers: [\"*\"]
  prod:
    deployers: [devs, sre]
    approvals: { count: 2, from: [sre], expires: 1h }
apps:
  api:
    targets:
      dev:  { file: apps/api/dev/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
      prod: { file: apps/api/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
  worker:
    targets:
      dev: { file: apps/worker/dev/values.yaml, yaml_path: image.tag }
";

const DEV_API: &str = "apps/api/dev/kustomization.yaml";
const PROD_API: &str = "apps/api/prod/kustomization.yaml";

/// A kustomization with `api` at `tag` and a sidecar at `sidecar`.
fn kustomization(tag: &str, sidecar: &str) -> String {
    format!(
        "# api. hoist edits only the newTag below; keep comments here.\n\
         kind: Kustomization\n\
         images:\n  \
         - name: ghcr.io/acme/api\n    \
         newTag: {tag}   # managed by hoist\n  \
         - name: ghcr.io/acme/sidecar\n    \
         newTag: \"{sidecar}\"\n"
    )
}

/// The time, set by the test.
#[derive(Debug)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Everything the engine said: (operation, text), alerts as operation 0.
#[derive(Debug, Default)]
struct Said(Mutex<Vec<(u64, String)>>);

impl Notify for Said {
    fn update(&self, op: &Operation, text: &str) {
        self.0.lock().unwrap().push((op.id, text.to_string()));
    }

    fn alert(&self, channel: &str, text: &str) {
        self.0
            .lock()
            .unwrap()
            .push((0, format!("[{channel}] {text}")));
    }
}

/// An engine over in-memory ports, and the ports, for the test to look at.
struct World {
    repo: Arc<Memory>,
    journal: Arc<crate::store::Memory>,
    said: Arc<Said>,
    clock: Arc<TestClock>,
    engine: Arc<Engine>,
}

impl World {
    /// The policy above and api at v1.0.0 in dev and prod; no cluster.
    fn new() -> World {
        World::with_cluster(None)
    }

    fn with_cluster(cluster: Option<Arc<dyn Cluster>>) -> World {
        World::with_settings(cluster, |_| {})
    }

    /// As [`World::with_cluster`], the engine's settings adjusted by `adjust`.
    fn with_settings(
        cluster: Option<Arc<dyn Cluster>>,
        adjust: impl FnOnce(&mut Settings),
    ) -> World {
        let clock = Arc::new(TestClock(AtomicI64::new(WEDNESDAY)));
        let files = [
            ("hoist.yaml", POLICY.to_string()),
            (DEV_API, kustomization("v1.0.0", "2.0.1")),
            (PROD_API, kustomization("v1.0.0", "2.0.1")),
            (
                "apps/worker/dev/values.yaml",
                "image:\n  tag: 3.1.0\n".into(),
            ),
        ];
        let repo = Arc::new(
            Memory::new("main", files)
                .signing()
                .with_clock(clock.clone()),
        );
        let journal = Arc::new(crate::store::Memory::with_clock(clock.clone()));
        let mut settings = Settings {
            push: super::Backoff {
                first: Duration::from_millis(1),
                cap: Duration::from_millis(5),
                ..Default::default()
            },
            ..Default::default()
        };
        adjust(&mut settings);
        World::over(repo, journal, cluster, clock, settings)
    }

    /// An engine over these ports, telling a fresh recording `Notify`.
    fn over(
        repo: Arc<Memory>,
        journal: Arc<crate::store::Memory>,
        cluster: Option<Arc<dyn Cluster>>,
        clock: Arc<TestClock>,
        settings: Settings,
    ) -> World {
        let said = Arc::new(Said::default());
        let engine = Engine::new(
            repo.clone(),
            journal.clone(),
            cluster,
            said.clone(),
            clock.clone(),
            settings,
        );
        World {
            repo,
            journal,
            said,
            clock,
            engine,
        }
    }

    /// `actor` says `text` (from the command line), answered at the first
    /// resting state.
    fn ask(&self, actor: &str, text: &str) -> Reply {
        let command = hoist_commands::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        self.engine.handle(&Request {
            actor: actor.to_string(),
            channel: None,
            chat_link: None,
            memberships: Vec::new(),
            command,
        })
    }

    fn advance(&self, secs: i64) {
        self.clock.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// Commits on the remote's main that carry hoist's trailers, newest first.
    fn hoist_commits(&self) -> Vec<(String, Commit)> {
        self.repo
            .log("main")
            .into_iter()
            .filter(|(_, c)| c.message.contains("\nHoist-Operation: "))
            .collect()
    }

    /// `path` on the remote's tip, as text.
    fn remote_file(&self, path: &str) -> String {
        let (_, tip) = &self.repo.log("main")[0];
        String::from_utf8(tip.files[path].clone()).unwrap()
    }

    /// The operation as journaled.
    fn op(&self, id: u64) -> Operation {
        self.journal.get(id).unwrap().expect("journaled")
    }

    /// What the engine said about operation `id`.
    fn said_about(&self, id: u64) -> Vec<String> {
        let said = self.said.0.lock().unwrap();
        said.iter()
            .filter(|(op, _)| *op == id)
            .map(|(_, t)| t.clone())
            .collect()
    }
}
