//! Following the reconcile: the [`Cluster`] port's two implementations.
//! [`Live`] watches Argo CD and Flux objects through the Kubernetes API (one
//! watch per kind, shared by every operation), judges revision R by
//! the rules in [`judge`], pokes the engines after a push and reports each
//! object's [`condition`] (the engine judges drift). [`Simulated`] is the stand-in engine of `hoist try`, which walks
//! every pushed commit to Healthy and says so in its label.

pub mod condition;
pub mod judge;
pub mod kinds;
mod live;

pub use live::{Live, Options};

use crate::engine::ports::{
    Cluster, ClusterError, Condition, Look, Progress, Wake, WatchId, WatchRequest,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A GitOps engine that is not there: it walks every change to Healthy,
/// one phase per `step` (Syncing, Progressing, Healthy).
#[derive(Debug)]
pub struct Simulated {
    /// Pause between reported phases, so the progress reads like a rollout.
    pub step: Duration,
    /// Each watch's phase and when it was entered.
    started: Mutex<HashMap<WatchId, (Instant, usize)>>,
    next: AtomicU64,
}

impl Simulated {
    pub fn new(step: Duration) -> Simulated {
        Simulated {
            step,
            started: Mutex::default(),
            next: AtomicU64::new(1),
        }
    }
}

impl Default for Simulated {
    fn default() -> Self {
        Simulated::new(Duration::from_millis(150))
    }
}

impl Cluster for Simulated {
    fn label(&self, _request: &WatchRequest) -> String {
        "simulated".into()
    }

    fn follows(&self, _request: &WatchRequest) -> bool {
        true
    }

    fn poke(&self, _request: &WatchRequest) -> Result<(), ClusterError> {
        Ok(())
    }

    fn watch(&self, _request: &WatchRequest, _wake: Wake) -> WatchId {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        started.insert(id, (Instant::now(), 0));
        id
    }

    fn look(&self, id: WatchId, _contains: &dyn Fn(&str) -> bool) -> Look {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        let Some((since, phase)) = started.get_mut(&id) else {
            return Look::default();
        };
        // One phase per step, each shown once, however late the look.
        if *phase < 2 && since.elapsed() >= self.step {
            *phase += 1;
            *since = Instant::now();
        }
        let progress =
            [Progress::Syncing, Progress::Progressing, Progress::Healthy][*phase].clone();
        Look {
            progress: Some(progress),
            missing: None,
            again_in: (*phase < 2).then(|| self.step.saturating_sub(since.elapsed())),
        }
    }

    fn condition(&self, _request: &WatchRequest) -> Condition {
        Condition::Unknown
    }

    fn unwatch(&self, id: WatchId) {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        started.remove(&id);
    }
}
