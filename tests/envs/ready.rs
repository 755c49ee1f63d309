//! `env create` followed to "ready" against the fake Kubernetes API: after
//! the push, the Applications Argo CD's ApplicationSet controller would
//! generate for the new directories (`api-pr-123`, `web-pr-123`) and the
//! HelmRelease Flux would (`worker-pr-123`) appear only later, as they do in
//! a cluster, and hoist must wait for them (a missing object is a verdict
//! only at the timeout), then say the environment is ready once every app is
//! Healthy at the pushed commit.

use super::fixture;
use crate::support::kube::FakeKube;
use crate::support::objects::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[test]
fn env_create_waits_for_the_generated_applications_and_ends_ready() {
    let fake = FakeKube::start();
    // A short timeout on the template, so a follow that never ends fails
    // the test in a minute rather than in ten.
    let policy = fixture::policy_with(fixture::RULE).replace("timeout: 10m", "timeout: 1m");
    let w = fixture::world_with(&policy);
    let seeded = w.tip();
    // The cluster before: staging's apps, Flux's source and the
    // Kustomization that applies the HelmReleases.
    fake.apply(application("argocd", "api-staging", &seeded));
    fake.apply(application("argocd", "web-staging", &seeded));
    fake.apply(git_repository("flux-system", "flux-system"));
    fake.apply(kustomization("flux-system", "apps", &seeded));
    let kubeconfig = fake.kubeconfig(w.dir.path());
    let done = AtomicBool::new(false);
    let (code, json) = std::thread::scope(|s| {
        s.spawn(|| {
            let end = Instant::now() + Duration::from_secs(60);
            while w.tip() == seeded {
                assert!(Instant::now() < end, "never pushed");
                std::thread::sleep(Duration::from_millis(20));
            }
            let r = w.tip();
            std::thread::sleep(Duration::from_secs(2));
            assert!(
                !done.load(Ordering::SeqCst),
                "the follow ended before anything of pr-123 existed"
            );
            // The ApplicationSet generates the Applications, syncing R.
            for name in ["api-pr-123", "web-pr-123"] {
                let mut app = application("argocd", name, &r);
                app["status"] = argo_progressing(&r);
                fake.apply(app);
            }
            // Flux applies the new directory and its HelmRelease appears.
            fake.flux("apps", ks_ready(&r));
            fake.apply(helm_release(
                "flux-system",
                "worker-pr-123",
                "flux-system",
                "apps",
            ));
            std::thread::sleep(Duration::from_millis(500));
            assert!(
                !done.load(Ordering::SeqCst),
                "ready while the Applications were still progressing"
            );
            fake.argo("api-pr-123", argo_healthy(&r));
            fake.argo("web-pr-123", argo_healthy(&r));
        });
        let out = w.exec_env(
            "console:alice",
            "env create pr-123 from staging for 1h",
            &[],
            &[
                ("KUBECONFIG", kubeconfig.to_str().unwrap()),
                ("HOIST_SIGNING_KEY", w.key.to_str().unwrap()),
            ],
        );
        done.store(true, Ordering::SeqCst);
        out
    });
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["commit"].as_str(), Some(w.tip().as_str()), "{json}");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(message.contains("pr-123 is ready"), "{json}");
}
