//! The runner owns operations after their request has been answered: a
//! pushed change is handed over here and followed to its final state, and a
//! pull request is waited on until it is merged (then followed) or closed,
//! while the request's thread (and its chat work slot) is free again. It is
//! event driven: every operation is [`Work`] parked in a queue, woken by the
//! cluster adapter when its object changes or by the forge when its PR may
//! have changed (or when its next look is due), and stepped by one of a
//! fixed number of worker threads.
//! The number of threads does not grow with the number of operations in
//! flight. Workers are started on the first hand-over and end when the engine
//! is dropped.

use super::Engine;
use super::follow::Following;
use super::ports::Wake;
use super::pr::PrWait;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Instant;

/// How many ancestry answers are kept before the runner starts over.
const ANCESTRY_KEPT: usize = 4096;

/// The queue of followed operations and the workers that step them.
#[derive(Default)]
pub(super) struct Runner {
    shared: Arc<Shared>,
    /// "Is revision x R or a descendant of R?" as git answered it, by (x, R).
    /// History does not change, so an answer holds for every later step and
    /// every operation at R: a change of one object that wakes a thousand
    /// operations pushed at one commit asks git once, not once per operation.
    ancestry: Mutex<HashMap<(String, String), bool>>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Rung when there is work (a wake, a hand-over, stopping).
    work: Condvar,
    /// Rung when an operation leaves the runner.
    done: Condvar,
}

#[derive(Default)]
struct Queue {
    /// Operations waiting for their next look.
    parked: HashMap<u64, Parked>,
    /// Operations a worker is stepping now.
    busy: HashSet<u64>,
    /// Woken operations, in the order they were woken, each at most once.
    woken: VecDeque<u64>,
    queued: HashSet<u64>,
    /// (env, app) of every operation followed, parked or busy.
    flying: HashMap<u64, Vec<(String, String)>>,
    workers: usize,
    stopping: bool,
    /// Not the leader (another replica follows): nothing is taken, and
    /// what a worker is stepping is let go when its step ends.
    standby: bool,
}

/// What the runner holds for one operation.
#[derive(Debug)]
pub(super) enum Work {
    /// A rollout being followed.
    Follow(Box<Following>),
    /// A pull request being waited on.
    Pr(PrWait),
}

impl Work {
    fn op(&self) -> u64 {
        match self {
            Work::Follow(f) => f.op,
            Work::Pr(p) => p.op,
        }
    }

    /// The (env, app) it rolls out now (a PR waiting rolls nothing out yet).
    fn apps(&self) -> Vec<(String, String)> {
        match self {
            Work::Follow(f) => f.apps(),
            Work::Pr(_) => Vec::new(),
        }
    }
}

struct Parked {
    work: Work,
    /// Look again at this time even without a wake.
    due: Instant,
}

impl Queue {
    /// The next operation to step: woken first, then the most overdue.
    fn next(&mut self, now: Instant) -> Option<(u64, Parked)> {
        // A wake for an operation being stepped waits until it is parked again.
        let mut later = VecDeque::new();
        let mut found = None;
        while let Some(id) = self.woken.pop_front() {
            if self.busy.contains(&id) {
                later.push_back(id);
                continue;
            }
            self.queued.remove(&id);
            if let Some(p) = self.parked.remove(&id) {
                found = Some((id, p));
                break;
            }
        }
        while let Some(id) = later.pop_back() {
            self.woken.push_front(id);
        }
        if found.is_some() {
            return found;
        }
        let id = self
            .parked
            .iter()
            .filter(|(_, p)| p.due <= now)
            .min_by_key(|(_, p)| p.due)
            .map(|(id, _)| *id)?;
        self.parked.remove(&id).map(|p| (id, p))
    }

    fn earliest(&self) -> Option<Instant> {
        self.parked.values().map(|p| p.due).min()
    }

    fn wake(&mut self, id: u64) -> bool {
        if self.queued.insert(id) {
            self.woken.push_back(id);
            return true;
        }
        false
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Runner {
    /// The wake of operation `id`: queue a look, never block.
    pub(super) fn waker(&self, id: u64) -> Wake {
        let shared = Arc::downgrade(&self.shared);
        Arc::new(move || {
            if let Some(shared) = shared.upgrade()
                && shared.lock().wake(id)
            {
                shared.work.notify_one();
            }
        })
    }

    /// Take `work` over; it is stepped at once. False when the runner
    /// already holds the operation (or is stopping): the work is dropped.
    pub(super) fn hand(&self, engine: &Weak<Engine>, work: Work, workers: usize) -> bool {
        let id = work.op();
        let mut q = self.shared.lock();
        if q.stopping || q.standby || q.busy.contains(&id) || q.parked.contains_key(&id) {
            return false;
        }
        q.flying.insert(id, work.apps());
        q.parked.insert(
            id,
            Parked {
                work,
                due: Instant::now(),
            },
        );
        q.wake(id);
        while q.workers < workers.max(1) {
            q.workers += 1;
            let (shared, engine) = (self.shared.clone(), engine.clone());
            let spawned = std::thread::Builder::new()
                .name("hoist-runner".into())
                .spawn(move || run(&shared, &engine));
            if let Err(e) = spawned {
                q.workers -= 1;
                tracing::error!(error = %e, "could not start a runner thread");
                break;
            }
        }
        drop(q);
        self.shared.work.notify_one();
        true
    }

    /// Look at operation `id` now, if the runner holds it.
    pub(super) fn wake(&self, id: u64) {
        (self.waker(id))();
    }

    /// What git said about (x, R) before, if it was asked.
    pub(super) fn known_ancestry(&self, x: &str, r: &str) -> Option<bool> {
        let known = self.ancestry.lock().unwrap_or_else(|e| e.into_inner());
        known.get(&(x.to_string(), r.to_string())).copied()
    }

    /// Remember what git said about (x, R).
    pub(super) fn learn_ancestry(&self, x: &str, r: &str, answer: bool) {
        let mut known = self.ancestry.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= ANCESTRY_KEPT {
            known.clear();
        }
        known.insert((x.to_string(), r.to_string()), answer);
    }

    /// Block until operation `id` has left the runner.
    pub(super) fn wait(&self, id: u64) {
        let mut q = self.shared.lock();
        while !q.stopping && (q.parked.contains_key(&id) || q.busy.contains(&id)) {
            q = self.shared.done.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The (env, app) pairs being followed now.
    pub(super) fn apps_in_flight(&self) -> HashSet<(String, String)> {
        let q = self.shared.lock();
        q.flying.values().flatten().cloned().collect()
    }

    /// Does the runner hold operation `id` (parked or being stepped)?
    pub(super) fn holds(&self, id: u64) -> bool {
        let q = self.shared.lock();
        q.parked.contains_key(&id) || q.busy.contains(&id)
    }

    /// Stand by (another replica leads) or take work again. Standing by
    /// hands back what is parked, for unwatching; a step running now ends
    /// and is let go. The journal says where each operation is: the leader
    /// carries them on.
    pub(super) fn stand_by(&self, standby: bool) -> Vec<Work> {
        let mut q = self.shared.lock();
        q.standby = standby;
        if !standby {
            return Vec::new();
        }
        let q = &mut *q;
        q.flying.retain(|id, _| q.busy.contains(id));
        q.woken.clear();
        q.queued.clear();
        let left = q.parked.drain().map(|(_, p)| p.work).collect();
        self.shared.done.notify_all();
        left
    }

    /// Has following stopped (the engine is shutting down)?
    pub(super) fn stopped(&self) -> bool {
        self.shared.lock().stopping
    }

    /// How many operations are followed now.
    pub(super) fn in_flight(&self) -> usize {
        let q = self.shared.lock();
        q.parked.len() + q.busy.len()
    }

    /// Stop the workers; what they followed is handed back for unwatching.
    /// The journal still says where each operation is: the next start
    /// follows them again.
    pub(super) fn stop(&self) -> Vec<Work> {
        let mut q = self.shared.lock();
        q.stopping = true;
        q.flying.clear();
        let left = q.parked.drain().map(|(_, p)| p.work).collect();
        drop(q);
        self.shared.work.notify_all();
        self.shared.done.notify_all();
        left
    }
}

impl Engine {
    /// One look at `work`: `Some(t)` look again at `t` at the latest.
    fn step(&self, work: &mut Work) -> Result<Option<Instant>, String> {
        if !self.leads() {
            // The Lease was lost (its callback may not have run yet): let
            // go now; the next leader carries it on from the journal.
            self.unwatch(work);
            return Ok(None);
        }
        match work {
            Work::Follow(f) => self.follow_step(f),
            Work::Pr(_) => self.pr_step(work),
        }
    }

    /// Stop watching what `work` watches.
    pub(super) fn unwatch(&self, work: &mut Work) {
        match work {
            Work::Follow(f) => self.unwatch_following(f),
            Work::Pr(p) => self.unwatch_pr(p),
        }
    }
}

/// A worker: step whatever is due until the runner stops or the engine is gone.
fn run(shared: &Shared, engine: &Weak<Engine>) {
    loop {
        let (id, mut parked) = {
            let mut q = shared.lock();
            loop {
                if q.stopping {
                    return;
                }
                if let Some(next) = q.next(Instant::now()) {
                    q.busy.insert(next.0);
                    break next;
                }
                q = match q.earliest() {
                    Some(at) => {
                        let wait = at.saturating_duration_since(Instant::now());
                        match shared.work.wait_timeout(q, wait) {
                            Ok((q, _)) => q,
                            Err(e) => e.into_inner().0,
                        }
                    }
                    None => shared.work.wait(q).unwrap_or_else(|e| e.into_inner()),
                };
            }
        };
        let Some(engine) = engine.upgrade() else {
            return;
        };
        // A bug in one step must not cost the runner a thread, nor leave the
        // operation marked busy forever: it is tried again later.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.step(&mut parked.work)
        }))
        .unwrap_or_else(|_| Err("following panicked; trying again".into()));
        let mut q = shared.lock();
        q.busy.remove(&id);
        if q.stopping || q.standby {
            // Stopped (or no longer the leader) while this step ran: not
            // parked again, not watched.
            let stopping = q.stopping;
            q.flying.remove(&id);
            drop(q);
            engine.unwatch(&mut parked.work);
            engine.release_slot(id);
            shared.done.notify_all();
            if stopping {
                return;
            }
            continue;
        }
        match outcome {
            Ok(None) => {
                q.flying.remove(&id);
                engine.release_slot(id);
                shared.done.notify_all();
            }
            Ok(Some(due)) => {
                parked.due = due;
                // A PR merged in this step is followed from now on.
                q.flying.insert(id, parked.work.apps());
                q.parked.insert(id, parked);
            }
            Err(e) => {
                tracing::warn!(op = id, error = %e, "following failed; trying again");
                parked.due = Instant::now() + engine.settings.follow_retry;
                q.parked.insert(id, parked);
            }
        }
        // Woken while it was being stepped: another worker may take it now.
        let woken = q.queued.contains(&id);
        drop(q);
        drop(engine);
        if woken {
            shared.work.notify_one();
        }
    }
}
