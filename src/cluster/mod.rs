//! Following the reconcile: the [`Cluster`] port's two implementations.
//! [`Live`] watches Argo CD and Flux objects through the Kubernetes API (one
//! watch per kind, shared by every operation), judges revision R by
//! the rules in [`judge`], pokes the engines after a push and reports
//! drift. [`Simulated`] is the stand-in engine of `hoist try`, which walks
//! every pushed commit to Healthy and says so in its label.

pub mod drift;
pub mod judge;
pub mod kinds;
mod live;

pub use live::{Alert, Live, Options};

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
    fn label(&self, _request: &WatchRequest) -> String {
        "simulated".into()
    }

    fn follows(&self, _request: &WatchRequest) -> bool {
        true
    }

    fn poke(&self, _request: &WatchRequest) -> Result<(), String> {
        Ok(())
    }

    fn follow(
        &self,
        _request: &WatchRequest,
        _contains: &dyn Fn(&str) -> bool,
        report: &mut dyn FnMut(&Progress),
    ) -> Progress {
        for phase in [Progress::Syncing, Progress::Progressing] {
            report(&phase);
            std::thread::sleep(self.step);
        }
        report(&Progress::Healthy);
        Progress::Healthy
    }
}
