//! The engine's only view of the world. Adapters implement these traits;
//! the engine never names a git, chat, cluster or database type. All methods
//! are blocking: hoist's load is human-paced and async adapters bridge in.

use crate::policy::{Target, Watch};

mod forge;
pub use forge::*;
use hoist_commands::Version;

/// A commit id in hex.
pub type Sha = String;

/// Why the config repo could not do what was asked. A failure of git or of
/// signing keeps its cause (`source()`), shown as it was; each kind has a
/// stable label for metrics ([`RepoError::kind`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RepoError {
    /// The remote, the mirror or git itself failed.
    #[error(transparent)]
    Git(Cause),
    /// The target cannot be read or edited as configured (a policy/repo problem).
    #[error("{0}")]
    Target(String),
    /// Someone else moved the branch first: fetch, re-plan, retry.
    #[error("the branch moved while pushing: {0}")]
    Stale(String),
    /// The remote refused the push (a hook, branch protection); not retried.
    #[error("the remote refused the push: {0}")]
    Refused(String),
    /// No key, or the key could not sign.
    #[error(transparent)]
    Signing(Cause),
}

impl RepoError {
    /// Git (or the mirror) failed because of `cause`.
    pub fn git(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> RepoError {
        RepoError::Git(Cause::new(cause))
    }

    /// Signing failed because of `cause`.
    pub fn signing(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> RepoError {
        RepoError::Signing(Cause::new(cause))
    }

    /// A stable label for this kind of failure (`hoist_errors_total{kind}`).
    pub fn kind(&self) -> &'static str {
        match self {
            RepoError::Git(_) => "repo_git",
            RepoError::Target(_) => "repo_target",
            RepoError::Stale(_) => "repo_stale",
            RepoError::Refused(_) => "repo_refused",
            RepoError::Signing(_) => "repo_signing",
        }
    }
}

/// An error and its causes on one line: `annotating X: 403 Forbidden`.
pub fn report(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        // Causes often repeat what was said (kube's API errors do): once.
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

/// An error kept as the cause of another: shown as it is, its own causes
/// reachable through `source()`, cheap to clone (shared fetch results).
#[derive(Debug, Clone)]
pub struct Cause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Cause {
        Cause(std::sync::Arc::from(cause.into()))
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// One changed line of a file, for the diff shown in chat.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineChange {
    pub line: usize,
    pub old: String,
    pub new: String,
}

/// One file of a plan: the new content and what changes in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub path: String,
    pub old_value: Option<String>,
    pub new_value: String,
    pub lines: Vec<LineChange>,
    pub content: Vec<u8>,
}

/// Everything a commit will contain, computed from one base commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub branch: String,
    pub base: Sha,
    /// Targets' values edited in place.
    pub files: Vec<PlannedFile>,
    /// Whole files written, created or replaced (path, bytes): an
    /// environment's copies and `hoist-environments.yaml`.
    pub writes: Vec<(String, Vec<u8>)>,
    /// Files deleted (an environment destroyed).
    pub removes: Vec<String>,
}

impl Plan {
    /// Nothing would change: every target already holds the version, and
    /// no whole file is written or removed.
    pub fn is_noop(&self) -> bool {
        self.files.iter().all(|f| f.lines.is_empty())
            && self.writes.is_empty()
            && self.removes.is_empty()
    }
}

/// The most files [`ConfigRepo::list_files`] lists under one directory.
pub const MAX_LISTED_FILES: usize = 2000;

/// A commit that changed a target's value, newest first in history answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub sha: Sha,
    /// Commit time, seconds since the epoch.
    pub time: i64,
    pub subject: String,
    /// `Key: value` lines of the message's last paragraph, as written: only
    /// hoist's words when `signed_by_hoist`.
    pub trailers: Vec<(String, String)>,
    /// The commit carries a valid signature by hoist's signing key.
    pub signed_by_hoist: bool,
    /// `Some(H)`: the commit is a pull request's merge (not signed by hoist)
    /// whose second parent `H` is hoist's signed commit and brought exactly
    /// H's target file; `signed_by_hoist` and `trailers` are then H's.
    pub merged: Option<Sha>,
    /// The target's value after this commit.
    pub value: Option<String>,
}

/// A commit that changed `hoist.yaml` without a policy signer's signature.
/// `author` and `subject` are the commit's own words (anyone's): flatten and
/// bound them before they reach people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offender {
    pub sha: Sha,
    pub author: String,
    pub subject: String,
}

/// Which version of `hoist.yaml` may decide at a tip, when policy signers
/// are configured (see `gitops::trust` for the chain rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTrust {
    /// A commit whose `hoist.yaml` is the trusted version; `None` when no
    /// version is (the first one was not signed).
    pub trusted: Option<Sha>,
    /// The first change since the trusted version that is not trusted;
    /// `None` when the tip's version is the trusted one.
    pub offending: Option<Offender>,
}

/// A commit signature judged against a set of trusted keys (hoist's own,
/// or those `hoist audit --signers` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Valid, and by a trusted key.
    Good,
    /// A signature that does not verify (or that git could not check).
    Bad,
    /// A valid signature by a key that is not trusted.
    UnknownKey,
    Unsigned,
}

impl Verdict {
    /// `good`, `bad`, `unknown key`, `unsigned`.
    pub fn words(self) -> &'static str {
        match self {
            Verdict::Good => "good",
            Verdict::Bad => "bad",
            Verdict::UnknownKey => "unknown key",
            Verdict::Unsigned => "unsigned",
        }
    }
}

/// One first-parent commit that changed a target's file (the audit's raw
/// material): its value before and after, the message's trailers as
/// written, and the signature's verdict. A commit that changed several
/// targets is one `Touch` per target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub sha: Sha,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    /// `Name <email>` as the commit says (outside text).
    pub author: String,
    pub subject: String,
    /// `Key: value` lines of the last paragraph: hoist's words only when
    /// [`Touch::via_hoist`].
    pub trailers: Vec<(String, String)>,
    pub verdict: Verdict,
    /// Who signed, when known (principals, user id).
    pub signer: Option<String>,
    /// `Some(H)`: a pull request's merge whose second parent `H` is hoist's
    /// signed commit and brought exactly H's target file; `trailers`,
    /// `verdict` and `signer` are then H's (see `gitops::audit::merged`).
    pub merged: Option<Sha>,
    /// Which of the targets asked about (an index into them).
    pub target: usize,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Touch {
    /// The values of trailer `key`, as written.
    pub fn trailer<'t>(&'t self, key: &'t str) -> impl Iterator<Item = &'t str> + 't {
        self.trailers
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value changed through hoist: a good signature on a commit that
    /// carries hoist's trailers. Anything else that touched the file (a
    /// value changed without one, another key of the file edited) is out of band.
    pub fn via_hoist(&self) -> bool {
        self.verdict == Verdict::Good
            && self.old != self.new
            && self.trailer("Hoist-Operation").next().is_some()
    }
}

/// The config repo: read values, plan surgical edits, write signed commits, push.
pub trait ConfigRepo: Send + Sync {
    /// The branch the remote's HEAD names (where `hoist.yaml` is read first).
    fn default_branch(&self) -> Result<String, RepoError>;
    /// Fetch `branch` and return its tip. Callers that ask while a fetch of
    /// the branch is under way may share its result.
    fn refresh(&self, branch: &str) -> Result<Sha, RepoError>;
    /// The tip last seen (fetched or pushed) without asking the remote;
    /// fetches when the branch was never seen.
    fn known_tip(&self, branch: &str) -> Result<Sha, RepoError>;
    /// A file's bytes at a commit, `None` when absent.
    fn read_file(&self, at: &str, path: &str) -> Result<Option<Vec<u8>>, RepoError>;
    /// Every file under directory `dir` at a commit (recursively; paths
    /// from the repo's root, sorted), empty when `dir` is absent. A symlink
    /// or a submodule under it, or more than [`MAX_LISTED_FILES`] files, is
    /// a `Target` error (an environment's directory hoist cannot copy).
    fn list_files(&self, at: &str, dir: &str) -> Result<Vec<String>, RepoError>;
    /// The value a target holds at a commit.
    fn read_value(&self, at: &str, target: &Target) -> Result<Option<String>, RepoError>;
    /// Compute the edits that set each target to its version, on top of `base`.
    fn plan(
        &self,
        branch: &str,
        base: &str,
        edits: &[(Target, Version)],
    ) -> Result<Plan, RepoError>;
    /// Write the plan as one commit (local to the mirror), signed when `sign`
    /// is set; `sign` without a configured key is a `Signing` error.
    fn commit(&self, plan: &Plan, message: &str, sign: bool) -> Result<Sha, RepoError>;
    /// Push `commit` to `branch` iff the remote still has `expected` there.
    fn push(&self, branch: &str, commit: &str, expected: &str) -> Result<(), RepoError>;
    /// Can this repo sign commits?
    fn can_sign(&self) -> bool;
    /// Is `commit` `tip` or an ancestor of it (so on the branch whose tip it is)?
    fn contains(&self, tip: &str, commit: &str) -> Result<bool, RepoError>;
    /// Commits reachable from `tip` (first parent) that changed `target`'s value.
    fn history(&self, tip: &str, target: &Target, limit: usize)
    -> Result<Vec<Revision>, RepoError>;
    /// Every commit reachable from `tip` (first parent, newest first,
    /// committed at or after `since` when set) that changed one of
    /// `targets`' files, its signature judged against hoist's own key.
    fn history_all(
        &self,
        tip: &str,
        targets: &[Target],
        since: Option<i64>,
    ) -> Result<Vec<Touch>, RepoError>;
    /// Which `hoist.yaml` may decide at `tip`; `None` when no policy
    /// signers are configured (every version is obeyed, as committed).
    fn trusted_policy(&self, tip: &str) -> Result<Option<PolicyTrust>, RepoError>;
}

/// What the engine learns about a change's rollout in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Progress {
    NotSeenYet,
    Syncing,
    Applied,
    Progressing,
    Healthy,
    Degraded(String),
    /// Failing at R while the engine retries (Flux `Ready=False`): not final;
    /// if it still fails when the timeout passes, the change failed.
    Retrying(String),
    Failed(String),
    Stalled(String),
    TimedOut,
}

impl Progress {
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Progress::Healthy
                | Progress::Degraded(_)
                | Progress::Failed(_)
                | Progress::Stalled(_)
                | Progress::TimedOut
        )
    }
}

/// What to follow: one app in one environment at (a descendant of) `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchRequest {
    pub app: String,
    pub env: String,
    pub watch: Option<Watch>,
    pub revision: Sha,
    /// How long the rollout may still take (the env's `timeout`, less what
    /// has passed since the push when following resumes after a restart).
    pub timeout_secs: u64,
}

/// Called, from any thread, when a watched rollout may have news. It must
/// not block: it only queues a look.
pub type Wake = std::sync::Arc<dyn Fn() + Send + Sync>;

/// One watch on a rollout, handed out by [`Cluster::watch`].
pub type WatchId = u64;

/// What the cluster shows about a watched rollout right now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Look {
    /// The verdict on revision R, or `None` while the cluster cannot tell
    /// yet (its cache of the object's kind is not listed).
    pub progress: Option<Progress>,
    /// Set when the object is absent from a complete cache: why, in words.
    /// A missing object is only a verdict when the timeout passes (it may be
    /// created by the very commit being followed).
    pub missing: Option<String>,
    /// Look again after this long even without a wake (a verdict that
    /// changes with time alone, such as a Helm release settling).
    pub again_in: Option<std::time::Duration>,
}

/// Why the cluster could not be asked something.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The object (`Application argocd/api-prod`) is not in the cluster.
    #[error("{0} does not exist")]
    Missing(String),
    /// The object is there but cannot be used as configured (a HelmRelease
    /// with no parent Kustomization label).
    #[error("{0}")]
    Config(String),
    /// The Kubernetes API failed: `doing` what, and why.
    #[error("{doing}")]
    Api {
        doing: String,
        #[source]
        source: Cause,
    },
}

impl ClusterError {
    /// A stable label for this kind of failure (`hoist_errors_total{kind}`).
    pub fn kind(&self) -> &'static str {
        match self {
            ClusterError::Missing(_) => "cluster_missing",
            ClusterError::Config(_) => "cluster_config",
            ClusterError::Api { .. } => "cluster_api",
        }
    }
}

/// What the cluster shows of an object hoist deploys through, whatever
/// revision it is at: the raw material of drift, which the engine judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Not known yet (the cache is not listed) or the object is absent.
    Unknown,
    /// In sync and healthy; the object, in words (`Application argocd/api-prod`).
    InSync(String),
    /// Out of sync or failing, in words
    /// (`Application argocd/api-prod is OutOfSync (health Healthy)`).
    Drifting(String),
}

/// The GitOps engine in the cluster (Argo CD, Flux) or a simulation of it.
/// Following is event driven: [`Cluster::watch`] registers interest and a
/// [`Wake`]; [`Cluster::look`] judges from what the adapter already knows,
/// without waiting. The engine owns the timeout and the decision that a
/// rollout is over, so no thread is parked per rollout.
pub trait Cluster: Send + Sync {
    /// Who reports on this request, shown with every report ("simulated" for
    /// `hoist try`, "Argo CD api-prod" for a watched Application).
    fn label(&self, request: &WatchRequest) -> String;
    /// Can this request be followed (an engine object is named for the app)?
    fn follows(&self, request: &WatchRequest) -> bool;
    /// Ask the GitOps engine to look at the repo now instead of at its next
    /// poll. Best effort: an error is reported, not fatal.
    fn poke(&self, request: &WatchRequest) -> Result<(), ClusterError>;
    /// Start watching the object `request` names; `wake` is called whenever
    /// it (or what its verdict depends on) may have changed. Never blocks on
    /// the network.
    fn watch(&self, request: &WatchRequest, wake: Wake) -> WatchId;
    /// The rollout as the cluster shows it now. `contains(x)` answers "is
    /// revision x the pushed commit or a descendant of it?".
    fn look(&self, id: WatchId, contains: &dyn Fn(&str) -> bool) -> Look;
    /// Stop watching; `wake` is not called for `id` after this returns.
    fn unwatch(&self, id: WatchId);
    /// The object's condition as last seen, without waiting (the first ask
    /// for a kind may start its watch and answer `Unknown`).
    fn condition(&self, request: &WatchRequest) -> Condition;
}

/// Why the journal could not do what was asked. The cause is kept as the
/// error's `source` (boxed, so no storage type leaks into the engine).
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The journal could not be opened or created at `path`.
    #[error("journal: cannot open {}", path.display())]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The storage underneath failed (I/O, a transaction, a full disk).
    #[error("journal: storage failed")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A record does not decode (damaged, or written by a newer hoist).
    #[error("journal: {what} does not decode")]
    Corrupt {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Another writer (another replica) changed the record since this
    /// process read it: nothing was written; read it again and decide again.
    #[error("journal: {what} was changed by another writer since it was read")]
    Conflict { what: String },
    /// A record could not be encoded.
    #[error("journal: {what} cannot be encoded")]
    Encode {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl JournalError {
    /// A stable label for counting errors by kind (`hoist_errors_total{kind}`).
    pub fn kind(&self) -> &'static str {
        match self {
            JournalError::Open { .. } => "journal_open",
            JournalError::Storage(_) => "journal_storage",
            JournalError::Corrupt { .. } => "journal_corrupt",
            JournalError::Encode { .. } => "journal_encode",
            JournalError::Conflict { .. } => "journal_conflict",
        }
    }

    /// The message with its causes (`journal: storage failed: No space
    /// left on device`), for places that keep an error as text.
    pub fn report(&self) -> String {
        report(self)
    }
}

/// What [`Journal::prune`] dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub dedupe_keys: u64,
    pub notes: u64,
}

/// The part of a version or value that names what runs, as the journal's
/// [`Journal::of_version`] compares them: from `sha256:` on when there is a
/// digest (`v1@sha256:x` and `sha256:x` run the same image), else all of it.
/// Values the engine counts as the same always have the same key.
pub fn version_key(value: &str) -> &str {
    value.find("sha256:").map_or(value, |at| &value[at..])
}

/// Durable record of operations, locks, dedupe keys and chat notes.
///
/// Request paths read operations through the indexed queries
/// ([`Journal::unfinished`], [`Journal::latest`], [`Journal::of_version`],
/// [`Journal::of_app`]), whose cost does not grow with the number of
/// finished operations in other environments and apps; [`Journal::list`]
/// is for tools and tests. Indexes are kept in the same durable write as the
/// operation they describe.
///
/// Retention ([`Journal::prune`]): operations are never dropped (finished
/// ones are the audit trail, and soak and rollback read what settled);
/// dedupe keys and chat notes are.
pub trait Journal: Send + Sync {
    /// Insert or replace an operation; durable when this returns.
    fn put(&self, op: &crate::engine::Operation) -> Result<(), JournalError>;
    /// Give a new operation the next id (never reused) and insert it, in one
    /// durable write.
    fn create(&self, op: &mut crate::engine::Operation) -> Result<(), JournalError>;
    /// Insert or replace several operations in one durable transaction.
    fn put_all(&self, ops: &[&crate::engine::Operation]) -> Result<(), JournalError>;
    fn get(&self, id: u64) -> Result<Option<crate::engine::Operation>, JournalError>;
    /// All operations, oldest first. Reads the whole journal: not for
    /// request paths.
    fn list(&self) -> Result<Vec<crate::engine::Operation>, JournalError>;
    /// Every operation whose state is not terminal, oldest first.
    fn unfinished(&self) -> Result<Vec<crate::engine::Operation>, JournalError>;
    /// Every operation in `env` with a change to `app`, oldest first. Grows
    /// with that app's history in that environment (rollback reads it).
    fn of_app(&self, env: &str, app: &str) -> Result<Vec<crate::engine::Operation>, JournalError>;
    /// The newest operation in `env` with a change to `app`.
    fn latest(
        &self,
        env: &str,
        app: &str,
    ) -> Result<Option<crate::engine::Operation>, JournalError>;
    /// Every operation in `env` whose change to `app` asked for, wrote or
    /// replaced `version` (its version, new value or old value has the same
    /// [`version_key`]), oldest first.
    fn of_version(
        &self,
        env: &str,
        app: &str,
        version: &str,
    ) -> Result<Vec<crate::engine::Operation>, JournalError>;
    /// Every lock held (expired ones included; the engine judges expiry).
    fn locks(&self) -> Result<Vec<crate::engine::Lock>, JournalError>;
    /// Take or replace the lock on (env, app).
    fn put_lock(&self, lock: &crate::engine::Lock) -> Result<(), JournalError>;
    /// Release the lock on (env, app), returning it if there was one.
    fn remove_lock(
        &self,
        env: &str,
        app: Option<&str>,
    ) -> Result<Option<crate::engine::Lock>, JournalError>;
    /// Remember `key` (a chat event id) as first seen at `now`; `false` when
    /// it was seen before, so retried deliveries are handled once.
    fn first_seen(&self, key: &str, now: i64) -> Result<bool, JournalError>;
    /// Keep a small note for a chat adapter (which message shows operation
    /// 7, which operation a message belongs to), so it survives a restart.
    /// The journal records when each note was last written (its own clock).
    fn remember(&self, key: &str, value: &str) -> Result<(), JournalError>;
    /// A note kept with [`Journal::remember`].
    fn recall(&self, key: &str) -> Result<Option<String>, JournalError>;
    /// Drop what is older than `before` (seconds since the epoch) and that
    /// nothing unfinished needs, in one durable write:
    ///
    /// - dedupe keys first seen before `before` (a replay that old is
    ///   refused by the chat platform's signature window anyway);
    /// - notes last written before `before` **and** before the creation of
    ///   the oldest unfinished operation. A note about an operation is
    ///   written after that operation exists, so every note an unfinished
    ///   operation may need (its live message, its thread, its milestones,
    ///   the messages whose reactions are votes) is kept, whatever the
    ///   adapter's key format;
    /// - never an operation, never a lock.
    fn prune(&self, before: i64) -> Result<Pruned, JournalError>;
}

/// Where progress is shown: the chat message of the request, or a terminal.
pub trait Notify: Send + Sync {
    /// Edit (or first post) the operation's message.
    fn update(&self, op: &crate::engine::Operation, text: &str);
    /// Post to a channel that is not a request's thread (drift alerts).
    fn alert(&self, channel: &str, text: &str);
    /// Post `text` as a new reply in the operation's thread, to its
    /// requester (an environment about to expire, or expired): something to
    /// be seen, not an edit of the live message. By default, an update.
    fn reply(&self, op: &crate::engine::Operation, text: &str) {
        self.update(op, text);
    }
}

/// The time, injectable for tests.
pub trait Clock: Send + Sync {
    /// Seconds since the epoch.
    fn now(&self) -> i64;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }
}
