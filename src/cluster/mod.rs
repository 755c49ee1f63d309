//! Following the reconcile. Today: [`Simulated`], the stand-in GitOps engine of
//! `hoist try`, which reports Syncing -> Progressing -> Healthy for every pushed
//! commit and says so in its label. Argo CD and Flux watchers implement the
//! same [`Cluster`] port.

pub mod judge;

use crate::engine::ports::{Cluster, Progress, WatchRequest};
use std::time::Duration;

/// A GitOps engine that is not there: it walks every change to Healthy.
#[derive(Debug, Clone)]
pub struct Simulated {
    /// Pause between reported phases, so the progress reads like a rollout.
    pub step: Duration,
}

impl Default for Simulated {
    fn default() -> Self {
        Simulated {
            step: Duration::from_millis(150),
        }
    }
}

impl Cluster for Simulated {
    fn label(&self) -> &str {
        "simulated"
    }

    fn follow(&self, _request: &WatchRequest, report: &mut dyn FnMut(&Progress)) -> Progress {
        for phase in [Progress::Syncing, Progress::Progressing] {
            report(&phase);
            std::thread::sleep(self.step);
        }
        report(&Progress::Healthy);
        Progress::Healthy
    }
}
