//! Leader election with a `coordination.k8s.io/v1` Lease, the way
//! client-go's leaderelection does it: every retry period each replica reads
//! the Lease and renews it (its own), takes it (free, or unchanged for its
//! duration as judged on this replica's own clock) or waits. The leader steps
//! down as soon as it has not renewed for the renew deadline, which is
//! shorter than the duration another replica waits before taking over: a
//! leader cut off from the API stops its singleton work before anyone else
//! can start it (no split brain). Every write carries the `resourceVersion`
//! read, so two replicas never both win the same write.
//!
//! The campaign runs on [`Kube`]'s runtime (`campaign.rs`); the pure rules
//! (records, expiry) are in `judge.rs`. Leadership changes reach the caller
//! in order on a dedicated thread, so its callback may block.

mod campaign;
mod judge;

use crate::ha::Kube;
use campaign::Campaign;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, PostParams};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

/// How one replica campaigns for the Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The Lease's name (`HOIST_LEASE_NAME`), in the connection's namespace.
    pub name: String,
    /// This replica's identity ([`crate::ha::identity`]).
    pub identity: String,
    /// How long a lease lasts unrenewed before another replica may take it.
    pub duration: Duration,
    /// How long the leader keeps leading without a successful renewal.
    pub renew_deadline: Duration,
    /// How often every replica tries to acquire or renew.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// Whether these settings keep leadership safe: `retry_period <
    /// renew_deadline < duration` (the leader stops before anyone may take
    /// over), all above zero and at most an hour, the name a DNS-1123
    /// subdomain, the identity 1 to 128 printable characters.
    pub fn check(&self) -> Result<(), String> {
        let Self {
            duration,
            renew_deadline,
            retry_period,
            ..
        } = self;
        if [duration, renew_deadline, retry_period]
            .iter()
            .any(|d| d.is_zero())
        {
            return Err("lease duration, renew deadline and retry period must be above 0".into());
        }
        if *duration > judge::MAX_DURATION {
            return Err(format!(
                "lease duration {duration:?} is above the limit of {:?}",
                judge::MAX_DURATION
            ));
        }
        if renew_deadline >= duration {
            return Err(format!(
                "renew deadline {renew_deadline:?} must be shorter than the lease duration \
                 {duration:?}, or a leader cut off from the API could still act after another \
                 replica took over"
            ));
        }
        if retry_period >= renew_deadline {
            return Err(format!(
                "retry period {retry_period:?} must be shorter than the renew deadline \
                 {renew_deadline:?}, or the leader steps down before it tries again"
            ));
        }
        if !judge::valid_subdomain(&self.name) {
            return Err(format!(
                "lease name {:?} is not a DNS-1123 subdomain (lowercase letters, digits, '-' \
                 and '.', at most 253)",
                crate::engine::one_line(&self.name, 80)
            ));
        }
        let id = &self.identity;
        if id.is_empty() || id.chars().count() > judge::MAX_IDENTITY {
            return Err(format!(
                "the identity must be 1 to {} characters",
                judge::MAX_IDENTITY
            ));
        }
        if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("the identity must be printable, without spaces".into());
        }
        Ok(())
    }
}

/// What the campaign and the caller share.
struct Shared {
    leading: AtomicBool,
    holder: Mutex<Option<String>>,
    /// The callback thread's queue (None once closed) and how many changes
    /// went into it. Held while `leading` flips, so the changes queue in
    /// the order of the flips.
    queue: Mutex<(Option<mpsc::Sender<bool>>, u64)>,
    /// How many changes the callback has returned from.
    done: Mutex<u64>,
    returned: Condvar,
    callback_thread: Mutex<Option<ThreadId>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing holding these locks can leave them half-updated.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn new() -> Shared {
        Shared {
            leading: AtomicBool::new(false),
            holder: Mutex::new(None),
            queue: Mutex::new((None, 0)),
            done: Mutex::new(0),
            returned: Condvar::new(),
            callback_thread: Mutex::new(None),
        }
    }

    /// Set whether this replica leads; on a change, queue the callback and
    /// return its number.
    fn flip(&self, leading: bool) -> Option<u64> {
        let mut queue = lock(&self.queue);
        if self.leading.swap(leading, Ordering::SeqCst) == leading {
            return None;
        }
        queue.1 += 1;
        if let Some(tx) = &queue.0 {
            // The thread only goes away with the queue closed.
            let _ = tx.send(leading);
        }
        Some(queue.1)
    }

    fn leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    fn set_holder(&self, holder: Option<String>) {
        *lock(&self.holder) = holder;
    }

    /// Wait until the callback returned from change `number`; false if it
    /// has not within `within` (or this is the callback's own thread).
    fn wait_returned(&self, number: u64, within: Duration) -> bool {
        if *lock(&self.callback_thread) == Some(std::thread::current().id()) {
            return false;
        }
        let done = lock(&self.done);
        let (done, _) = self
            .returned
            .wait_timeout_while(done, within, |d| *d < number)
            .unwrap_or_else(PoisonError::into_inner);
        *done >= number
    }

    fn close(&self) {
        lock(&self.queue).0 = None;
    }
}

/// One replica's campaign for the Lease.
pub struct Elector {
    kube: Arc<Kube>,
    config: LeaseConfig,
    shared: Arc<Shared>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Elector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elector")
            .field("lease", &self.config.name)
            .field("identity", &self.config.identity)
            .field("leading", &self.leading())
            .field("holder", &self.holder())
            .finish()
    }
}

impl Elector {
    /// Start campaigning; `on_change(true)` when this replica becomes
    /// leader, `on_change(false)` when it stops being one, alternating, in
    /// order. The callback runs on a dedicated thread ("hoist-lease"), never
    /// on the runtime, and may block (it resumes work); changes that happen
    /// meanwhile wait for it. A config that fails [`LeaseConfig::check`]
    /// never campaigns (it could not keep leadership safe): it is logged and
    /// this replica never leads.
    pub fn start(
        kube: Arc<Kube>,
        config: LeaseConfig,
        on_change: Box<dyn Fn(bool) + Send>,
    ) -> Elector {
        let shared = Arc::new(Shared::new());
        let elector = Elector {
            kube,
            config,
            shared,
            task: Mutex::new(None),
        };
        if let Err(why) = elector.config.check() {
            tracing::error!(target: "hoist::lease", lease = %crate::engine::one_line(&elector.config.name, 80),
                "not campaigning for leadership: {why}");
            return elector;
        }
        let (tx, rx) = mpsc::channel();
        let shared = elector.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("hoist-lease".into())
            .spawn(move || deliver(&shared, rx, on_change));
        match spawned {
            Ok(thread) => {
                *lock(&elector.shared.callback_thread) = Some(thread.thread().id());
                lock(&elector.shared.queue).0 = Some(tx);
            }
            Err(e) => {
                tracing::error!(target: "hoist::lease", "not campaigning for leadership: no thread for its callback: {e}");
                return elector;
            }
        }
        let campaign = Campaign::new(
            Api::namespaced(elector.kube.client(), elector.kube.namespace()),
            elector.config.clone(),
            elector.shared.clone(),
        );
        *lock(&elector.task) = Some(elector.kube.spawn(campaign.run()));
        elector
    }

    /// Whether this replica leads: true only while it holds the lease and
    /// renews it in time.
    pub fn leading(&self) -> bool {
        self.shared.leading()
    }

    /// Who holds the lease as last seen (one line, at most 128 characters).
    pub fn holder(&self) -> Option<String> {
        lock(&self.shared.holder).clone()
    }

    /// Give the lease up (graceful shutdown): stop campaigning, step down
    /// (the callback gets `false` and is waited for, at most the renew
    /// deadline), then, if this replica holds the lease, clear its holder so
    /// another replica takes over at its next try instead of after the lease
    /// expires. When the callback has not returned in time the lease is left
    /// to expire, so no other replica starts while this one's work still
    /// runs. Bounded: the renew deadline plus two API calls.
    pub fn release(&self) {
        let task = lock(&self.task).take();
        if let Some(task) = task {
            task.abort();
            let stopped = self.kube.run("stopping the lease campaign", async move {
                let _ = task.await;
                Ok::<_, kube::Error>(())
            });
            if let Err(e) = stopped {
                tracing::warn!(target: "hoist::lease", "{e}");
            }
        }
        let stepped = self.shared.flip(false);
        self.shared.close();
        if let Some(number) = stepped {
            tracing::info!(target: "hoist::lease", lease = %self.config.name, identity = %self.config.identity,
                "stepped down: releasing the lease");
            if !self
                .shared
                .wait_returned(number, self.config.renew_deadline)
            {
                tracing::warn!(target: "hoist::lease", lease = %self.config.name,
                    "the leader's work did not stop within {:?}; the lease is left to expire",
                    self.config.renew_deadline);
                return;
            }
        }
        let api: Api<Lease> = Api::namespaced(self.kube.client(), self.kube.namespace());
        let cleared = clear(api, self.config.name.clone(), self.config.identity.clone());
        match self.kube.run("releasing the lease", cleared) {
            Ok(true) => {
                tracing::info!(target: "hoist::lease", lease = %self.config.name, identity = %self.config.identity,
                    "released the lease");
                self.shared.set_holder(None);
            }
            Ok(false) => {}
            Err(e) if e.code() == Some(404) => {}
            Err(e) => {
                tracing::warn!(target: "hoist::lease", "{e}; the lease is left to expire");
            }
        }
    }
}

impl Drop for Elector {
    /// Stops campaigning without a callback or a release (see [`Elector::release`]).
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
        self.shared.close();
    }
}

/// The callback thread: every change in order, each counted once returned.
fn deliver(shared: &Shared, changes: mpsc::Receiver<bool>, on_change: Box<dyn Fn(bool) + Send>) {
    for leading in changes {
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| on_change(leading)));
        if ran.is_err() {
            tracing::error!(target: "hoist::lease", leading, "the leadership callback panicked");
        }
        *lock(&shared.done) += 1;
        shared.returned.notify_all();
    }
}

/// Clear the lease's holder if it is `me` (a 409 re-reads, at most thrice):
/// true if this call cleared it.
async fn clear(api: Api<Lease>, name: String, me: String) -> Result<bool, kube::Error> {
    for _ in 0..3 {
        let mut lease = api.get(&name).await?;
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(me.as_str()) {
            return Ok(false);
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
        match api.replace(&name, &PostParams::default(), &lease).await {
            Ok(_) => return Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LeaseConfig {
        LeaseConfig {
            name: "hoist".into(),
            identity: "hoist-0".into(),
            duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    #[test]
    fn the_defaults_pass() {
        assert_eq!(config().check(), Ok(()));
    }

    #[test]
    fn settings_that_could_make_two_leaders_are_refused() {
        type Change = fn(&mut LeaseConfig);
        let cases: [(&str, Change); 9] = [
            ("shorter than", |c| c.renew_deadline = c.duration),
            ("shorter than", |c| {
                c.renew_deadline = Duration::from_secs(20)
            }),
            ("shorter than the renew", |c| {
                c.retry_period = c.renew_deadline
            }),
            ("above 0", |c| c.retry_period = Duration::ZERO),
            ("above 0", |c| c.duration = Duration::ZERO),
            ("limit", |c| c.duration = Duration::from_secs(7200)),
            ("DNS-1123", |c| c.name = "Hoist_Lease".into()),
            ("1 to 128", |c| c.identity = String::new()),
            ("1 to 128", |c| c.identity = "x".repeat(129)),
        ];
        for (said, change) in cases {
            let mut c = config();
            change(&mut c);
            let why = c.check().expect_err(said);
            assert!(why.contains(said), "{why}");
        }
        let mut c = config();
        c.identity = "a\nb".into();
        assert!(c.check().unwrap_err().contains("printable"));
        c.name = "evil\nname".repeat(50);
        let why = c.check().unwrap_err();
        assert!(!why.contains('\n') && why.len() < 300, "{why}");
    }

    #[test]
    fn changes_are_queued_once_each_in_order() {
        let shared = Shared::new();
        let (tx, rx) = mpsc::channel();
        lock(&shared.queue).0 = Some(tx);
        assert_eq!(shared.flip(false), None);
        assert_eq!(shared.flip(true), Some(1));
        assert_eq!(shared.flip(true), None);
        assert_eq!(shared.flip(false), Some(2));
        assert_eq!(shared.flip(true), Some(3));
        shared.close();
        assert_eq!(rx.iter().collect::<Vec<_>>(), [true, false, true]);
        assert!(!shared.wait_returned(1, Duration::from_millis(10)));
    }
}
