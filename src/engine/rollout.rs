//! One app's rollout, followed to a verdict without holding a thread: a
//! [`Rollout`] is a watch on the cluster plus what the engine decided so far
//! (the last verdict reported, when the timeout passes, when to look again).
//! Each [`Rollout::step`] asks the cluster for a look and says what is new
//! and whether it is over; the engine owns the timeout and what a timeout
//! means (still failing: failed; object never seen: misconfigured; else
//! timed out). The [runner](super::runner) steps many rollouts on a few
//! threads; [`follow_blocking`] steps one on the caller's thread.

use super::ports::{Cluster, Progress, Wake, WatchId, WatchRequest};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A rollout being followed.
#[derive(Debug)]
pub struct Rollout {
    id: WatchId,
    deadline: Instant,
    last: Option<Progress>,
    again: Option<Instant>,
    /// The cluster cannot judge yet and asked to be looked at again: the
    /// timeout is not called before one real verdict (a rollout followed
    /// again after a restart has its cache to fill first).
    waiting: bool,
    over: bool,
}

/// What one look brought.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// A verdict that differs from the last one reported.
    pub news: Option<Progress>,
    /// The final verdict; the watch has been stopped.
    pub end: Option<Progress>,
}

impl Rollout {
    /// Watch `request`'s object; `wake` queues the next look.
    pub fn start(cluster: &dyn Cluster, request: &WatchRequest, wake: Wake) -> Rollout {
        Rollout {
            id: cluster.watch(request, wake),
            deadline: Instant::now() + Duration::from_secs(request.timeout_secs),
            last: None,
            again: None,
            waiting: false,
            over: false,
        }
    }

    /// Look at the cluster now.
    pub fn step(&mut self, cluster: &dyn Cluster, contains: &dyn Fn(&str) -> bool) -> Step {
        if self.over {
            return Step::default();
        }
        let look = cluster.look(self.id, contains);
        let now = Instant::now();
        let mut step = Step::default();
        self.waiting = look.progress.is_none() && look.again_in.is_some();
        if let Some(p) = look.progress {
            if self.last.as_ref() != Some(&p) {
                step.news = Some(p.clone());
                self.last = Some(p.clone());
            }
            if p.is_final() {
                step.end = Some(p);
            }
        }
        if step.end.is_none() && now >= self.deadline && !self.waiting {
            step.end = Some(match (&self.last, look.missing) {
                (Some(Progress::Retrying(m)), _) => {
                    Progress::Failed(format!("{m} (still failing when the timeout passed)"))
                }
                // A misnamed object is a configuration problem, not a slow rollout.
                (_, Some(why)) => Progress::Failed(why),
                _ => Progress::TimedOut,
            });
        }
        if step.end.is_some() {
            self.stop(cluster);
        } else {
            self.again = look.again_in.map(|d| now + d);
        }
        step
    }

    /// When to look again if nothing wakes it first.
    pub fn next_look(&self) -> Instant {
        match self.again {
            Some(again) if self.waiting => again,
            Some(again) => again.min(self.deadline),
            None => self.deadline,
        }
    }

    /// Stop watching (idempotent).
    pub fn stop(&mut self, cluster: &dyn Cluster) {
        if !self.over {
            self.over = true;
            cluster.unwatch(self.id);
        }
    }
}

/// Follow one rollout on this thread until it is final or its timeout
/// passes, reporting each new verdict (the final one included).
pub fn follow_blocking(
    cluster: &dyn Cluster,
    request: &WatchRequest,
    contains: &dyn Fn(&str) -> bool,
    report: &mut dyn FnMut(&Progress),
) -> Progress {
    let signal = Arc::new((Mutex::new(false), Condvar::new()));
    let woken = signal.clone();
    let wake: Wake = Arc::new(move || {
        *woken.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        woken.1.notify_one();
    });
    let mut rollout = Rollout::start(cluster, request, wake);
    loop {
        let step = rollout.step(cluster, contains);
        if let Some(p) = &step.news {
            report(p);
        }
        if let Some(end) = step.end {
            return end;
        }
        let (flag, bell) = &*signal;
        let mut woken = flag.lock().unwrap_or_else(|e| e.into_inner());
        while !*woken {
            let left = rollout
                .next_look()
                .saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            woken = bell
                .wait_timeout(woken, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *woken = false;
    }
}
