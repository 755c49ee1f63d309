//! An in-process engine over a real world (bare origin on disk, hoist's own
//! mirror, the redb journal) with a clock the test moves and a notifier that
//! records every message. Restarting is dropping the engine and opening a new
//! one on the same data dir, which is what a process restart amounts to.

use super::{World, git};
use hoist::engine::ports::{Clock, Cluster, Notify};
use hoist::engine::{Engine, Operation, Reply, Request, Settings};
use hoist::gitops::sign::Signer;
use hoist::gitops::{Author, GitRepo};
use hoist::store::Store;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// Wednesday 2026-11-25 10:00 UTC: outside the fixture's Friday freeze.
pub const WEDNESDAY: i64 = 1_795_600_800;
/// Friday 2026-11-27 17:00 Europe/Berlin (16:00 UTC): inside the freeze.
pub const FRIDAY_EVENING: i64 = 1_795_795_200;

/// The fixture policy used by the engine tests.
pub const POLICY: &str = include_str!("../fixtures/policy.yaml");

#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Every message the engine sent to "chat".
#[derive(Debug, Default)]
pub struct Said(Mutex<Vec<String>>);

impl Notify for Said {
    fn update(&self, _op: &Operation, text: &str) {
        self.0.lock().unwrap().push(text.to_string());
    }

    fn alert(&self, channel: &str, text: &str) {
        self.0.lock().unwrap().push(format!("[{channel}] {text}"));
    }
}

impl Said {
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

pub struct Harness {
    pub world: World,
    /// `None` only while restarting: redb allows one open handle per file.
    engine: Option<Arc<Engine>>,
    pub clock: Arc<TestClock>,
    pub said: Arc<Said>,
    /// Used by the next `restart`.
    pub settings: Settings,
    cluster: Option<Arc<dyn Cluster>>,
}

impl Harness {
    /// The example repo with `policy` as its hoist.yaml, the clock at `now`.
    pub fn new(policy: &str, now: i64) -> Harness {
        Harness::with_settings(policy, now, Settings::default())
    }

    /// The same, with engine settings of the test's choosing.
    pub fn with_settings(policy: &str, now: i64, settings: Settings) -> Harness {
        Harness::with_cluster(policy, now, settings, None)
    }

    /// The same, following rollouts in `cluster`.
    pub fn with_cluster(
        policy: &str,
        now: i64,
        settings: Settings,
        cluster: Option<Arc<dyn Cluster>>,
    ) -> Harness {
        let world = World::new();
        world.commit_file("hoist.yaml", policy, "policy for this test");
        let clock = Arc::new(TestClock(AtomicI64::new(now)));
        let said = Arc::new(Said::default());
        let engine = Some(open(
            &world,
            clock.clone(),
            said.clone(),
            settings.clone(),
            cluster.clone(),
        ));
        Harness {
            world,
            engine,
            clock,
            said,
            settings,
            cluster,
        }
    }

    /// Drop the engine and open a new one on the same data dir; as `exec`
    /// would, wait for the rollouts it follows again.
    pub fn restart(&mut self) -> Vec<Reply> {
        let replies = self.reopen();
        let engine = self.engine();
        replies.into_iter().map(|r| engine.wait(r)).collect()
    }

    /// Drop the engine and open a new one on the same data dir; as `serve`
    /// would, leave the rollouts it follows again to its runner.
    pub fn reopen(&mut self) -> Vec<Reply> {
        // A runner thread may hold the engine for the rest of one step.
        if let Some(old) = self.engine.take().map(|e| {
            e.stop_following();
            Arc::downgrade(&e)
        }) {
            for _ in 0..1000 {
                if old.strong_count() == 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        let engine = self.engine.insert(open(
            &self.world,
            self.clock.clone(),
            self.said.clone(),
            self.settings.clone(),
            self.cluster.clone(),
        ));
        engine.resume()
    }

    /// Restart without (or with another) cluster, as `exec` with
    /// `HOIST_CLUSTER=off` would open the same data dir.
    #[allow(dead_code)] // not every test crate uses it
    pub fn restart_with_cluster(&mut self, cluster: Option<Arc<dyn Cluster>>) -> Vec<Reply> {
        self.cluster = cluster;
        self.restart()
    }

    pub fn engine(&self) -> &Engine {
        self.engine
            .as_ref()
            .expect("engine is open between restarts")
    }

    pub fn advance(&self, secs: i64) {
        self.clock.0.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn set_time(&self, now: i64) {
        self.clock.0.store(now, Ordering::SeqCst);
    }

    /// `actor` says `text` in `channel` (None: from the command line); as
    /// `hoist exec` does, a followed rollout is waited for.
    pub fn say(&self, actor: &str, channel: Option<&str>, text: &str) -> Reply {
        self.engine().wait(self.ask(actor, channel, text))
    }

    /// The same, answered at the first resting state as `serve` answers:
    /// a pushed change is left to the runner.
    pub fn ask(&self, actor: &str, channel: Option<&str>, text: &str) -> Reply {
        let command = hoist_commands::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        self.engine().handle(&Request {
            actor: actor.to_string(),
            channel: channel.map(str::to_string),
            chat_link: None,
            memberships: Vec::new(),
            command,
        })
    }

    /// In the fixture's deploy channel.
    pub fn in_deploy(&self, actor: &str, text: &str) -> Reply {
        self.say(actor, Some("slack:C0DEPLOY"), text)
    }

    /// Commits on origin's main since the policy commit.
    pub fn hoist_commits(&self) -> Vec<String> {
        git(
            &self.world.origin,
            &["log", "--format=%H", "--grep=^Hoist-Operation:", "main"],
        )
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// The values of trailer `key` on origin's tip.
    pub fn tip_trailers(&self, key: &str) -> Vec<String> {
        self.world.tip_trailers(key)
    }

    /// The value line of a file on origin's tip that contains `needle`.
    pub fn line_with(&self, path: &str, needle: &str) -> String {
        self.world
            .show("main", path)
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

fn open(
    world: &World,
    clock: Arc<TestClock>,
    said: Arc<Said>,
    settings: Settings,
    cluster: Option<Arc<dyn Cluster>>,
) -> Arc<Engine> {
    let signer = Signer::from_file(&world.key, None).expect("test key loads");
    let repo = GitRepo::open(
        &world.data,
        world.origin.to_str().unwrap(),
        Some(signer),
        Author::default(),
        &Default::default(),
    )
    .expect("mirror opens");
    let store = Store::open(&world.data).expect("journal opens");
    Engine::new(
        Arc::new(repo),
        Arc::new(store),
        cluster,
        said,
        clock,
        settings,
    )
}
