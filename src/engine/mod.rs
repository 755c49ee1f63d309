//! The engine: decides (policy), records (journal), acts (config repo) and
//! watches (cluster). A request goes in, a [`Reply`] comes out, and every state
//! change of an [`Operation`] is journaled before it is announced through
//! [`ports::Notify`]. Only the traits in [`ports`] are used; no SDK type
//! appears here.

mod approve;
mod audit;
mod chores;
pub mod drift;
mod envs;
mod follow;
mod intent;
mod land;
mod lead;
mod locks;
mod message;
mod operation;
mod ordered;
pub mod ports;
mod pr;
mod read;
mod recheck;
pub(crate) mod render;
mod resume;
mod rollback;
mod rollout;
mod rules;
mod runner;
#[cfg(test)]
mod tests;
mod trail;
pub(crate) mod trust;
mod write;

pub use land::Backoff;
pub use locks::Lock;
pub use message::{invisible, one_line};
pub use operation::{Change, EnvChange, Operation, PullRef, State};
pub use rollout::{Rollout, Step, follow_blocking};
pub use rules::PolicyError;
use trail::log_transition;

use crate::policy::{Environment, Policy, Target};
use hoist_commands::{Command, Name, nearest};
use ports::{Clock, Cluster, ConfigRepo, Journal, JournalError, Notify, RepoError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// The policy file at the config repo's root.
const POLICY_FILE: &str = "hoist.yaml";

/// Who asked, where, and what.
#[derive(Debug, Clone)]
pub struct Request {
    /// `slack:U123`, `console:alice`, ...
    pub actor: String,
    /// The channel the request came from (`slack:C0DEPLOY`), if any.
    pub channel: Option<String>,
    /// Link to the request in chat (goes into `Hoist-Chat`), else the channel.
    pub chat_link: Option<String>,
    /// Platform groups the actor belongs to (`slack-group:S1`), resolved by the adapter.
    pub memberships: Vec<String>,
    pub command: Command,
}

/// How a request ended, for exit codes and HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done, or resting (awaiting approval, pushed).
    Ok,
    /// Refused by policy or bad input; nothing was written.
    Refused,
    /// Something failed (git, the remote, the journal).
    Error,
}

/// The answer to a request; `hoist exec --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reply {
    pub operation: Option<u64>,
    pub state: String,
    pub commit: Option<String>,
    pub pr: Option<String>,
    pub message: String,
    #[serde(skip)]
    pub outcome: Outcome,
}

impl Reply {
    /// A reply that names no operation.
    fn plain(state: &str, outcome: Outcome, message: impl Into<String>) -> Reply {
        Reply {
            operation: None,
            state: state.into(),
            commit: None,
            pr: None,
            message: message.into(),
            outcome,
        }
    }

    /// Refused by policy or bad input: nothing was written.
    pub fn refused(message: impl Into<String>) -> Reply {
        Reply::plain("refused", Outcome::Refused, message)
    }

    fn done(message: impl Into<String>) -> Reply {
        Reply::plain("done", Outcome::Ok, message)
    }

    /// Something failed before or while handling the request.
    pub fn error(message: impl Into<String>) -> Reply {
        Reply::plain("failed", Outcome::Error, message)
    }
}

/// Failures inside the engine, mapped to a reply in one place ([`Engine::handle`]).
#[derive(Debug)]
enum Fail {
    Refused(String),
    Error(String),
}

impl From<RepoError> for Fail {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Target(m) => Fail::Refused(m),
            other => Fail::Error(ports::report(&other)),
        }
    }
}

impl From<JournalError> for Fail {
    fn from(e: JournalError) -> Self {
        if matches!(e, JournalError::Conflict { .. }) {
            CONFLICTED.with(|c| c.set(true));
        }
        Fail::Error(e.report())
    }
}

thread_local! {
    /// Set when a journal write on this thread lost a compare-and-swap to
    /// another replica ([`JournalError::Conflict`]); [`Engine::handle`]
    /// reads and clears it to decide a vote, a cancel or a lock again.
    static CONFLICTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How many times a request that lost a race with another replica is
/// decided again from what the journal holds now.
const CONFLICT_RETRIES: usize = 5;

type Result<T, E = Fail> = std::result::Result<T, E>;

/// The one place a failure becomes a reply.
fn answer(result: Result<Reply>) -> Reply {
    match result {
        Ok(reply) => reply,
        Err(Fail::Refused(m)) => Reply::refused(m),
        Err(Fail::Error(m)) => {
            tracing::warn!(error = %m, "request failed");
            Reply::error(m)
        }
    }
}

/// Settings that shape the engine's behaviour.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Re-planning and pushing again when the branch moved underneath.
    pub push: Backoff,
    /// Follow the reconcile after pushing (when a cluster is configured).
    pub wait: bool,
    /// Reconcile timeout when the environment sets none.
    pub default_timeout_secs: u64,
    /// How long a request waits for approvals when `approvals.expires` is unset.
    pub approval_expiry_secs: u64,
    /// Threads that step followed rollouts (however many are in flight).
    pub followers: usize,
    /// How long a followed rollout waits after a failed step (the journal
    /// or git failed) before it is looked at again.
    pub follow_retry: std::time::Duration,
    /// When drift is said, and said again.
    pub drift: drift::Timing,
    /// How often an open pull request is looked at when no webhook wakes
    /// it sooner (the forge's own hint may ask for sooner).
    pub pr_poll: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            push: Backoff::default(),
            wait: true,
            default_timeout_secs: 900,
            approval_expiry_secs: 24 * 3600,
            followers: 4,
            follow_retry: std::time::Duration::from_secs(10),
            drift: drift::Timing::default(),
            pr_poll: std::time::Duration::from_secs(30),
        }
    }
}

/// The deploy engine.
pub struct Engine {
    repo: Arc<dyn ConfigRepo>,
    journal: Arc<dyn Journal>,
    cluster: Option<Arc<dyn Cluster>>,
    /// The config repo's host, for `via: pull-request` and deployments;
    /// set once, after construction ([`Engine::set_forge`]).
    forge: OnceLock<Arc<dyn ports::Forge>>,
    /// Best-effort forge calls that failed (see [`Engine::forge_errors`]).
    forge_errors: AtomicU64,
    /// What each waiting PR's thread was told once.
    pr_said: pr::Said,
    notify: Arc<dyn Notify>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    /// The remote's default branch, asked once; forgotten when fetching it
    /// fails (the remote may have renamed it), so a running bot follows a rename.
    policy_branch: Mutex<Option<String>>,
    /// One mutex per operation being voted on or carried: concurrent votes on
    /// the same operation are taken one at a time, so none is lost and the
    /// quorum is reached (and the commit written) exactly once.
    in_hand: Mutex<HashMap<u64, Arc<Mutex<()>>>>,
    /// Writes to one branch, serialized and batched (see [`land`]).
    lanes: land::Lanes,
    /// (policy tip, the platform groups its hoist.yaml names).
    groups_cache: Mutex<Option<(String, Vec<String>)>>,
    /// Registry entries judged against the journal: was each made by an
    /// `env create` of this hoist? (see [`envs`]).
    made: envs::Made,
    /// Follows pushed operations after their request was answered.
    runner: runner::Runner,
    /// What the chores thread keeps between rounds: drift seen, the policy
    /// it last read (see [`chores`]).
    chores: Mutex<chores::Chores>,
    /// Does this replica do the singleton work (following, PR waits,
    /// drift, expiry)? Always, unless replicas elect a leader ([`lead`]).
    lead: lead::Lead,
    /// The engine itself, for the runner's workers (which end with it).
    me: Weak<Engine>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop_following();
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(
        repo: Arc<dyn ConfigRepo>,
        journal: Arc<dyn Journal>,
        cluster: Option<Arc<dyn Cluster>>,
        notify: Arc<dyn Notify>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Engine {
            repo,
            journal,
            cluster,
            forge: OnceLock::new(),
            forge_errors: AtomicU64::new(0),
            pr_said: pr::Said::default(),
            notify,
            clock,
            settings,
            policy_branch: Mutex::new(None),
            in_hand: Mutex::new(HashMap::new()),
            lanes: land::Lanes::default(),
            groups_cache: Mutex::new(None),
            made: envs::Made::default(),
            runner: runner::Runner::default(),
            chores: Mutex::default(),
            lead: lead::Lead::new(),
            me: me.clone(),
        })
    }

    /// Handle one request up to its first resting state (refused, awaiting
    /// approval, pushed, failed). A pushed change is followed by the runner
    /// from then on; [`Engine::wait`] waits for it.
    pub fn handle(&self, req: &Request) -> Reply {
        let _span =
            tracing::info_span!("request", actor = %req.actor, command = %req.command).entered();
        let noted = trust::Noted::begin();
        let result = match &req.command {
            // A write creates its operation: it is never run twice. Its own
            // transitions are compare-and-swaps, so a race lost to another
            // replica ends this request and leaves the operation to the winner.
            Command::Deploy(_) | Command::Promote(_) | Command::Rollback(_) => self.write(req),
            // Environments made from templates: written like a deploy, once.
            Command::Env(e) => self.env(req, e),
            Command::Status(s) => self.status(s),
            Command::History(h) => self.history(h),
            Command::Audit(a) => self.audit(a),
            Command::Help(h) => Ok(Reply::done(h.text())),
            // Votes, cancels and locks lost to another replica's write are
            // decided again on what the journal holds now (a vote counted
            // once per person, whatever the replica).
            _ => self.decided_again(|| match &req.command {
                Command::Approve(a) => self.vote(req, a.id.0, None),
                Command::Deny(d) => self.vote(req, d.id.0, Some(d.reason.clone())),
                Command::Cancel(c) => self.cancel(req, c.id.0),
                Command::Lock(l) => self.lock(req, l),
                Command::Unlock(u) => self.unlock(req, u),
                _ => Err(Fail::Error("not a vote, a cancel or a lock".into())),
            }),
        };
        noted.finish(answer(result))
    }

    /// Run `decide` again (at most [`CONFLICT_RETRIES`] times) while it
    /// fails because another replica wrote first.
    fn decided_again(&self, decide: impl Fn() -> Result<Reply>) -> Result<Reply> {
        let mut tries = 0;
        loop {
            CONFLICTED.with(|c| c.set(false));
            let result = decide();
            let lost = CONFLICTED.with(|c| c.replace(false));
            if result.is_ok() || !lost || tries >= CONFLICT_RETRIES {
                return result;
            }
            tries += 1;
            tracing::info!(tries, "another replica wrote first; deciding again");
        }
    }

    /// The mutex that serializes work on operation `id` in this process.
    fn slot(&self, id: u64) -> Arc<Mutex<()>> {
        let mut map = self
            .in_hand
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(id).or_default().clone()
    }

    /// Forget operation `id`'s mutex once nobody holds it, so the map does
    /// not grow with every operation ever handled.
    fn release_slot(&self, id: u64) {
        let mut map = self
            .in_hand
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.get(&id).is_some_and(|m| Arc::strong_count(m) == 1) {
            map.remove(&id);
        }
    }

    /// Record a transition of several operations in one durable write.
    fn save_all(
        &self,
        ops: &mut [&mut Operation],
        state: impl Fn(&Operation) -> State,
    ) -> Result<()> {
        let now = self.clock.now();
        for op in ops.iter_mut() {
            let next = state(op);
            op.enter(next, now);
        }
        let all: Vec<&Operation> = ops.iter().map(|o| &**o).collect();
        self.journal.put_all(&all)?;
        for op in ops.iter() {
            log_transition(op);
            checkpoint(op.state.name());
        }
        Ok(())
    }

    /// Record a transition; durable before anything announces it.
    fn save(&self, op: &mut Operation, state: State) -> Result<()> {
        op.enter(state, self.clock.now());
        self.journal.put(op)?;
        log_transition(op);
        checkpoint(op.state.name());
        Ok(())
    }
}

/// The checkpoint at which the process parks (the durability test's kill
/// switch, `HOIST_TEST_KILL_AT`, read by `cli`); unset: never.
static KILL_AT: OnceLock<u64> = OnceLock::new();

/// Park the process at its `n`-th checkpoint. Set once, before any work.
pub fn set_kill_point(n: u64) {
    // A second call changes nothing: the first point set stands.
    let _ = KILL_AT.set(n);
}

/// Crash points for the durability test. With a kill point N set, the
/// process stops at its N-th checkpoint (after each journal write, and between
/// a side effect and its record), says `hoist: kill point N (LABEL)` on stderr
/// and waits there to be killed with SIGKILL. Unset, this is one load.
pub(crate) fn checkpoint(label: &str) {
    static PASSED: AtomicU64 = AtomicU64::new(0);
    let Some(&at) = KILL_AT.get() else { return };
    let n = PASSED.fetch_add(1, Ordering::Relaxed) + 1;
    if n == at {
        eprintln!("hoist: kill point {n} ({label})");
        loop {
            std::thread::park();
        }
    }
}

/// A name read back from the journal (written by hoist, so valid unless damaged).
fn journal_name(s: &str) -> Result<Name> {
    s.parse()
        .map_err(|_| Fail::Error(format!("journal: `{s}` is not a valid name")))
}

/// The app named in a request, or a refusal listing the known ones.
fn app_of<'p>(policy: &'p Policy, name: &Name) -> Result<&'p crate::policy::App> {
    policy.app(name).ok_or_else(|| {
        let known: Vec<&str> = policy.apps.iter().map(|a| a.name.as_str()).collect();
        unknown("app", name, &known)
    })
}

/// "unknown environment `stagin`; environments are staging, prod (did you mean `staging`?)"
fn unknown(what: &str, name: &Name, known: &[&str]) -> Fail {
    let hint = nearest(name.as_str(), known.iter().copied())
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    Fail::Refused(format!(
        "unknown {what} `{name}`; {what}s are {}{hint}",
        known.join(", ")
    ))
}

fn env_of<'p>(policy: &'p Policy, name: &Name) -> Result<&'p Environment> {
    policy.env(name).ok_or_else(|| {
        let known: Vec<&str> = policy
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        unknown("environment", name, &known)
    })
}

fn target_of(policy: &Policy, app: &Name, env: &Name) -> Result<Target> {
    app_of(policy, app)?
        .targets
        .get(env)
        .cloned()
        .ok_or_else(|| {
            Fail::Refused(format!(
                "{app} is not deployed to {env} (no target for it in hoist.yaml)"
            ))
        })
}
