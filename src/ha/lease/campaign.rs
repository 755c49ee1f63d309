//! The campaign: one task on the Kubernetes connection's runtime that, every
//! retry period, reads the Lease and creates, renews or takes it over as
//! `judge` decides, each write with the `resourceVersion` it read (a 409
//! re-reads once). It leads from the first write that succeeded in time
//! and steps down when no renewal has succeeded for the renew deadline,
//! counted from when the last successful write was sent (the earliest its
//! record can have been seen by another replica), or when another replica
//! holds the lease. Each try is bounded so that it ends by that deadline.
//! A Lease that disappears is recreated at once only by its leader (or on a
//! fresh install); any other replica waits a lease duration first (see
//! [`judge::decide_missing`]), so a deleted Lease never makes two leaders.
//! Failures are logged at warn once per streak of the same kind.

use super::judge::{self, Move, Observed, Record};
use super::{LeaseConfig, Shared};
use crate::ha::KubeError;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The shortest pause between tries, whatever the settings.
const MIN_PAUSE: Duration = Duration::from_millis(10);

pub(super) struct Campaign {
    api: Api<Lease>,
    config: LeaseConfig,
    shared: Arc<Shared>,
    observed: Option<Observed>,
    /// When the current streak of 404s began (None: the last read found
    /// the Lease).
    missing_since: Option<Instant>,
    /// When the last successful write that made or kept this replica the
    /// holder was sent.
    renewed_at: Option<Instant>,
    /// The kind of failure of the current streak (logged once at warn).
    failing: Option<String>,
}

/// What a try found.
enum Outcome {
    /// This replica holds the lease, by a write sent at `sent`.
    Held { sent: Instant },
    /// Another replica holds it and it is alive.
    Other,
    /// Someone else wrote it meanwhile (409): read it again.
    Raced,
}

/// A try that failed.
struct Failure {
    kind: String,
    error: KubeError,
}

impl Failure {
    fn from_kube(doing: &str, e: kube::Error) -> Failure {
        let error = KubeError::from_kube(doing, e);
        let kind = match &error {
            KubeError::Status { code, .. } => format!("status {code}"),
            KubeError::Timeout { .. } => "timeout".into(),
            _ => "transport".into(),
        };
        Failure { kind, error }
    }

    fn timeout(doing: &str, after: Duration) -> Failure {
        Failure {
            kind: "timeout".into(),
            error: KubeError::Timeout {
                doing: doing.into(),
                after,
            },
        }
    }
}

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// The parts of a Lease that say who holds it and whether its holder
/// renewed it: its spec only. Labels, annotations and the resourceVersion
/// move whenever anyone touches the object, so they say nothing of the
/// holder (the resourceVersion still guards every write).
fn record(lease: &Lease) -> Record {
    let spec = lease.spec.as_ref();
    let micros = |t: Option<&MicroTime>| t.map(|t| t.0.as_microsecond());
    Record {
        holder: spec.and_then(|s| s.holder_identity.clone()),
        renewed: micros(spec.and_then(|s| s.renew_time.as_ref())),
        acquired: micros(spec.and_then(|s| s.acquire_time.as_ref())),
        duration_secs: spec.and_then(|s| s.lease_duration_seconds),
        transitions: spec.and_then(|s| s.lease_transitions),
    }
}

/// A stamp for `renewTime` that differs from `before`, so a renewal always
/// reads as one, even on a wall clock that stepped back.
fn fresh_stamp(before: Option<&MicroTime>) -> MicroTime {
    let now = jiff::Timestamp::now();
    match before {
        Some(b) if b.0 == now => MicroTime(
            now.checked_add(jiff::SignedDuration::from_micros(1))
                .unwrap_or(now),
        ),
        _ => MicroTime(now),
    }
}

impl Campaign {
    pub(super) fn new(api: Api<Lease>, config: LeaseConfig, shared: Arc<Shared>) -> Campaign {
        Campaign {
            api,
            config,
            shared,
            observed: None,
            missing_since: None,
            renewed_at: None,
            failing: None,
        }
    }

    /// Campaign until aborted.
    pub(super) async fn run(mut self) {
        loop {
            self.check_deadline();
            let bound = match self.deadline() {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => self.config.renew_deadline,
            };
            let tried = match tokio::time::timeout(bound, self.try_once()).await {
                Ok(tried) => tried,
                Err(_) => Err(Failure::timeout("renewing or acquiring the lease", bound)),
            };
            self.settle(tried);
            self.check_deadline();
            let mut pause = self.config.retry_period;
            if let Some(deadline) = self.deadline() {
                pause = pause.min(deadline.saturating_duration_since(Instant::now()));
            }
            tokio::time::sleep(pause.max(MIN_PAUSE)).await;
        }
    }

    /// While leading: when it must step down unless it renews first.
    fn deadline(&self) -> Option<Instant> {
        let at = self.renewed_at.filter(|_| self.shared.leading())?;
        Some(at + self.config.renew_deadline)
    }

    fn check_deadline(&mut self) {
        if self.deadline().is_some_and(|d| d <= Instant::now()) {
            let after = self.config.renew_deadline;
            self.step_down(&format!("no renewal succeeded for {after:?}"));
        }
    }

    /// Read, then write what `judge` decides; a 409 reads again, once.
    async fn try_once(&mut self) -> Result<Outcome, Failure> {
        for _ in 0..2 {
            match self.round().await? {
                Outcome::Raced => continue,
                done => return Ok(done),
            }
        }
        Ok(Outcome::Raced)
    }

    async fn round(&mut self) -> Result<Outcome, Failure> {
        let name = self.config.name.clone();
        let lease = match self.api.get(&name).await {
            Ok(lease) => lease,
            Err(e) if code(&e) == Some(404) => return self.missing().await,
            Err(e) => return Err(Failure::from_kube("reading the lease", e)),
        };
        let now = Instant::now();
        if self.missing_since.take().is_some() {
            // Back after a 404: whatever it holds is alive from now, even a
            // record equal to the one seen before it went (restored).
            self.observed = self.observed.take().map(|o| Observed { at: now, ..o });
        }
        let observed = self.see(&lease, now);
        let mut lease = lease;
        let spec = lease.spec.get_or_insert_with(Default::default);
        let stamp = fresh_stamp(spec.renew_time.as_ref());
        match judge::decide(&self.config.identity, &observed, self.config.duration, now) {
            Move::Wait => return Ok(Outcome::Other),
            Move::Renew => {}
            Move::Take => {
                spec.holder_identity = Some(self.config.identity.clone());
                spec.acquire_time = Some(stamp.clone());
                let before = spec.lease_transitions.unwrap_or(0).max(0);
                spec.lease_transitions = Some(before.saturating_add(1));
            }
        }
        spec.renew_time = Some(stamp);
        spec.lease_duration_seconds = Some(judge::whole_seconds(self.config.duration));
        let sent = Instant::now();
        match self
            .api
            .replace(&name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => {
                self.see(&written, Instant::now());
                Ok(Outcome::Held { sent })
            }
            Err(e) if code(&e) == Some(409) => Ok(Outcome::Raced),
            Err(e) => Err(Failure::from_kube("writing the lease", e)),
        }
    }

    /// No Lease (404): create it as [`judge::decide_missing`] says, or wait.
    async fn missing(&mut self) -> Result<Outcome, Failure> {
        let now = Instant::now();
        let since = *self.missing_since.get_or_insert(now);
        let last = self.observed.as_ref();
        let leading = self.shared.leading();
        let me = &self.config.identity;
        let decided = judge::decide_missing(me, last, leading, since, self.config.duration, now);
        let transitions = last.and_then(|o| o.record.transitions).unwrap_or(0).max(0);
        let gone = last.is_some();
        match decided {
            Move::Wait => {
                if since == now {
                    tracing::info!(target: "hoist::lease", lease = %self.config.name,
                        "the lease is gone; whoever held it may still lead: waiting a lease \
                         duration before creating it");
                }
                Ok(Outcome::Other)
            }
            Move::Renew => {
                tracing::info!(target: "hoist::lease", lease = %self.config.name,
                    "the lease is gone; recreating it as its leader");
                self.create(transitions).await
            }
            Move::Take => {
                if gone {
                    tracing::info!(target: "hoist::lease", lease = %self.config.name,
                        "the lease stayed gone for a lease duration; creating it");
                }
                let next = if gone {
                    transitions.saturating_add(1)
                } else {
                    0
                };
                self.create(next).await
            }
        }
    }

    /// Create the Lease held by this replica with `transitions` (409:
    /// another was first).
    async fn create(&mut self, transitions: i32) -> Result<Outcome, Failure> {
        let stamp = MicroTime(jiff::Timestamp::now());
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.config.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(k8s_openapi::api::coordination::v1::LeaseSpec {
                holder_identity: Some(self.config.identity.clone()),
                lease_duration_seconds: Some(judge::whole_seconds(self.config.duration)),
                acquire_time: Some(stamp.clone()),
                renew_time: Some(stamp),
                lease_transitions: Some(transitions),
                ..Default::default()
            }),
        };
        let sent = Instant::now();
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(written) => {
                self.missing_since = None;
                self.see(&written, Instant::now());
                Ok(Outcome::Held { sent })
            }
            Err(e) if code(&e) == Some(409) => Ok(Outcome::Raced),
            Err(e) => Err(Failure::from_kube("creating the lease", e)),
        }
    }

    /// Remember `lease` as read at `now`; say when its holder changed.
    fn see(&mut self, lease: &Lease, now: Instant) -> Observed {
        let record = record(lease);
        let before = self.observed.as_ref().map(|o| o.record.holder());
        if before != Some(record.holder()) {
            let shown = record.holder().map(judge::shown);
            match &shown {
                Some(h) if *h == self.config.identity => {}
                Some(h) => {
                    tracing::info!(target: "hoist::lease", lease = %self.config.name, holder = %h, "the lease is held by another replica")
                }
                None => {
                    tracing::info!(target: "hoist::lease", lease = %self.config.name, "the lease is free")
                }
            }
            self.shared.set_holder(shown);
        }
        let observed = Observed::see(self.observed.as_ref(), record, now);
        self.observed = Some(observed.clone());
        observed
    }

    /// Act on what a try found.
    fn settle(&mut self, tried: Result<Outcome, Failure>) {
        match tried {
            Ok(Outcome::Held { sent }) => {
                let after = self.config.renew_deadline;
                if sent + after <= Instant::now() {
                    let late = Failure::timeout("renewing the lease (answered too late)", after);
                    return self.failed(late);
                }
                self.recovered();
                self.renewed_at = Some(sent);
                if self.shared.flip(true).is_some() {
                    tracing::info!(target: "hoist::lease", lease = %self.config.name,
                        identity = %self.config.identity, "leading");
                }
            }
            Ok(Outcome::Other) => {
                self.recovered();
                self.step_down("another replica holds the lease");
            }
            Ok(Outcome::Raced) => {
                tracing::debug!(target: "hoist::lease", lease = %self.config.name,
                    "the lease kept changing under this replica's writes; trying again");
            }
            Err(f) => self.failed(f),
        }
    }

    fn step_down(&mut self, why: &str) {
        self.renewed_at = None;
        if self.shared.flip(false).is_some() {
            tracing::info!(target: "hoist::lease", lease = %self.config.name,
                identity = %self.config.identity, "stepped down: {why}");
        }
    }

    fn failed(&mut self, f: Failure) {
        if self.failing.as_deref() == Some(f.kind.as_str()) {
            tracing::debug!(target: "hoist::lease", error = %f.error, "lease call failed again");
            return;
        }
        tracing::warn!(target: "hoist::lease", lease = %self.config.name, error = %f.error,
            leading = self.shared.leading(),
            "lease call failed; trying again every {:?}", self.config.retry_period);
        self.failing = Some(f.kind);
    }

    fn recovered(&mut self) {
        if self.failing.take().is_some() {
            tracing::info!(target: "hoist::lease", lease = %self.config.name, "lease calls succeed again");
        }
    }
}
