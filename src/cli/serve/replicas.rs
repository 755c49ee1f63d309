//! `serve` as one of several replicas (`HOIST_STORE=kubernetes`): the
//! journal in the Kubernetes API instead of `DATA_DIR/hoist.redb`, the
//! engine started on standby, and, once the config repo answers, a campaign
//! for the Lease whose winner does the singleton work (the engine's
//! `lead`/`step_down`). With redb (the default) this process is alone and
//! always leads. At shutdown the Lease is given up, so another replica
//! takes over at its next try instead of after the lease expires.

use super::life::{self, Part};
use crate::cli::settings::store::{Kind, Store as StoreSettings};
use crate::engine::Engine;
use crate::engine::ports::{Clock, Journal};
use crate::ha::lease::{Elector, LeaseConfig};
use crate::ha::{self, Kube};
use crate::store::{KubeJournal, Store};
use anyhow::Context;
use std::path::Path;
use std::sync::{Arc, Weak};

/// The journal `serve` opened, and what it needs to lead.
pub struct Opened {
    pub journal: Arc<dyn Journal>,
    /// The connection and this replica's Lease, with the Kubernetes store.
    lease: Option<(Arc<Kube>, LeaseConfig)>,
    /// What the summary says about it.
    pub part: Part,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("lease", &self.lease.as_ref().map(|(_, c)| c))
            .finish_non_exhaustive()
    }
}

/// Open the journal `settings` name; `kubeconfig` is the cluster's (`KUBECONFIG`).
pub fn open(
    settings: &StoreSettings,
    kubeconfig: Option<&Path>,
    data_dir: &Path,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Opened> {
    match settings.kind {
        Kind::Redb => Ok(Opened {
            journal: Arc::new(Store::open(data_dir)?),
            lease: None,
            part: Part::On(format!("journal {}", data_dir.join("hoist.redb").display())),
        }),
        Kind::Kubernetes => {
            let kube = Arc::new(
                Kube::connect(&ha::Options {
                    kubeconfig: kubeconfig.map(Path::to_path_buf),
                    namespace: settings.namespace.clone(),
                    call_timeout: None,
                })
                .context("HOIST_STORE=kubernetes")?,
            );
            let key = settings
                .journal_key
                .as_ref()
                .context("HOIST_JOURNAL_KEY is required with HOIST_STORE=kubernetes")?;
            let journal = KubeJournal::new(kube.clone(), clock, key.expose().as_bytes())
                .map_err(|e| anyhow::anyhow!("{}", e.report()))
                .context("opening the journal in the Kubernetes API (are the CRDs of deploy/crds applied?)")?;
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "hoist".into());
            // Unique per process even when two share a pod name (two
            // holders with one name would both renew: two leaders).
            let unique = {
                use std::hash::{BuildHasher, Hasher};
                std::collections::hash_map::RandomState::new()
                    .build_hasher()
                    .finish() as u32
            };
            let identity = format!(
                "{}_{unique:08x}",
                ha::identity(settings.pod_name.as_deref(), &host, std::process::id())
            );
            let config = LeaseConfig {
                name: settings.lease_name.clone(),
                identity,
                duration: settings.lease_duration,
                renew_deadline: settings.renew_deadline,
                retry_period: settings.retry_period,
            };
            config
                .check()
                .map_err(|why| anyhow::anyhow!("HOIST_LEASE_*: {why}"))?;
            let part = Part::On(format!(
                "journal in the Kubernetes API (namespace {}); replicas: Lease {}/{} as {} \
                 (duration {:?}, renew deadline {:?}, retry {:?})",
                kube.namespace(),
                kube.namespace(),
                config.name,
                config.identity,
                config.duration,
                config.renew_deadline,
                config.retry_period,
            ));
            Ok(Opened {
                journal: Arc::new(journal),
                lease: Some((kube, config)),
                part,
            })
        }
    }
}

impl Opened {
    /// With replicas, the engine waits on standby for the Lease.
    pub fn prepare(&self, engine: &Engine) {
        if self.lease.is_some() {
            engine.stand_by();
        }
    }

    /// Is this one of several replicas (the Kubernetes store)?
    pub fn replicas(&self) -> bool {
        self.lease.is_some()
    }

    /// Once the config repo answers: campaign for the Lease (the engine
    /// leads while this replica holds it; `also` is told each change
    /// first, as it only queues), or, alone, resume at once.
    pub fn start(
        &self,
        engine: &Arc<Engine>,
        also: Option<Box<dyn Fn(bool) + Send>>,
    ) -> Option<Arc<Elector>> {
        let Some((kube, config)) = &self.lease else {
            for r in engine.resume() {
                life::tell(false, &format!("resumed: {}", r.message));
            }
            return None;
        };
        let weak: Weak<Engine> = Arc::downgrade(engine);
        let on_change = Box::new(move |leading: bool| {
            let Some(engine) = weak.upgrade() else {
                return;
            };
            // What else follows leadership (Discord's gateway) is told
            // first: it only queues, and is connected before the takeover.
            if let Some(also) = &also {
                also(leading);
            }
            if leading {
                life::tell(
                    false,
                    "leading: this replica now follows rollouts and waits",
                );
                for r in engine.lead() {
                    life::tell(false, &format!("resumed: {}", r.message));
                }
            } else {
                life::tell(true, "not leading: another replica does the singleton work");
                engine.step_down();
            }
        });
        let elector = Arc::new(Elector::start(kube.clone(), config.clone(), on_change));
        // The engine asks the Lease itself before each piece of singleton
        // work: a lost Lease stops it at once, even while the callback
        // thread is busy taking over.
        let held = Arc::downgrade(&elector);
        engine.check_lease_with(Arc::new(move || {
            held.upgrade().is_some_and(|e| e.leading())
        }));
        Some(elector)
    }
}
