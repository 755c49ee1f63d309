//! A rollout that takes its time does not keep a work slot: with room for
//! one request at a time (`HOIST_SLACK_WORK_LIMIT=1`), `help` and `status`
//! are answered while a deploy is still reconciling, and the rollout is
//! still reported to its end in the request's thread.

use super::*;
use support::kube::FakeKube;
use support::objects::{application, argo_healthy, argo_progressing};

#[test]
fn help_and_status_are_answered_while_a_deploy_is_reconciling() {
    let fake_kube = FakeKube::start();
    let w = World::new();
    let policy = POLICY.replace(
        "      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }\n",
        "      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }\n    argocd: { namespace: argocd, application: \"api-{env}\" }\n",
    );
    w.commit_file("hoist.yaml", &policy, "policy with Argo CD");
    fake_kube.apply(application("argocd", "api-staging", &w.tip()));
    let kubeconfig = fake_kube.kubeconfig(w.dir.path());
    let fake = FakeSlack::start();
    let bot = serve(
        &w,
        &fake,
        &[
            ("SLACK_SIGNING_SECRET", SECRET),
            ("HOIST_SLACK_WORK_LIMIT", "1"),
            ("KUBECONFIG", kubeconfig.to_str().unwrap()),
        ],
    );
    let slash = |text: &str| {
        let (status, answer) = send(
            &bot,
            "/slack/commands",
            FORM,
            &slash_body("USRE1", "C0DEPLOY", text),
        );
        assert_eq!(status, 200, "{text}: {answer}");
        assert!(!answer.contains("busy"), "{text}: {answer}");
    };
    slash("deploy api v1.2.4 to staging");
    assert!(
        fake_kube.wait_for_patch("applications argocd/api-staging", WAIT),
        "no poke"
    );
    fake_kube.argo("api-staging", argo_progressing(&w.tip()));
    fake.wait_for("chat.update", "api: progressing", WAIT);
    // The deploy is reconciling; the one work slot is free for others.
    slash("help");
    fake.wait_for("chat.postEphemeral", "rollback", WAIT);
    slash("status api in staging");
    fake.wait_for("chat.postEphemeral", "reconciling", WAIT);
    fake_kube.argo("api-staging", argo_healthy(&w.tip()));
    let end = fake.wait_for("chat.update", "healthy (Argo CD api-staging)", WAIT);
    assert_eq!(end.args["channel"], "C0DEPLOY", "{:?}", end.args);
}
