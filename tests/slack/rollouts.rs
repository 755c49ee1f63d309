//! Rollouts followed by `serve`'s runner, seen from Slack. A rollout that
//! takes its time does not keep a work slot: with room for one request at a
//! time (`HOIST_SLACK_WORK_LIMIT=1`), `help` and `status` are answered while
//! a deploy is still reconciling, and the rollout is still reported to its
//! end in the request's thread. A restart in the middle of many rollouts
//! follows each again and reports its end once.

use super::*;
use support::kube::FakeKube;
use support::objects::{application, argo_healthy, argo_progressing};
use support::slack::get;

/// A config repo whose api is followed through Argo CD, the fake cluster
/// with its staging Application, and the kubeconfig to reach it.
fn argo_world() -> (World, FakeKube, std::path::PathBuf) {
    let fake_kube = FakeKube::start();
    let w = World::new();
    let policy = POLICY.replace(
        "      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }\n",
        "      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }\n    argocd: { namespace: argocd, application: \"api-{env}\" }\n",
    );
    w.commit_file("hoist.yaml", &policy, "policy with Argo CD");
    fake_kube.apply(application("argocd", "api-staging", &w.tip()));
    let kubeconfig = fake_kube.kubeconfig(w.dir.path());
    (w, fake_kube, kubeconfig)
}

fn argo_bot(
    w: &World,
    fake: &FakeSlack,
    kubeconfig: &std::path::Path,
    more: &[(&str, &str)],
) -> Bot {
    let mut env = vec![
        ("SLACK_SIGNING_SECRET", SECRET),
        ("KUBECONFIG", kubeconfig.to_str().unwrap()),
    ];
    env.extend_from_slice(more);
    serve(w, fake, &env)
}

/// `/hoist <text>` from USRE1 in C0DEPLOY: acknowledged, not "busy".
fn slash(bot: &Bot, text: &str) {
    slash_in(bot, "C0DEPLOY", text);
}

fn slash_in(bot: &Bot, channel: &str, text: &str) {
    let (status, answer) = send(
        bot,
        "/slack/commands",
        FORM,
        &slash_body("USRE1", channel, text),
    );
    assert_eq!(status, 200, "{text}: {answer}");
    assert!(!answer.contains("busy"), "{text}: {answer}");
}

/// Wait up to `limit` for `what`.
fn within(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What hoist said about operation `id` in messages and edits, newest last.
fn said_about(fake: &FakeSlack, needle: &str) -> usize {
    fake.calls()
        .iter()
        .filter(|c| matches!(c.method.as_str(), "chat.update" | "chat.postMessage"))
        .filter(|c| c.args.to_string().contains(needle))
        .count()
}

#[test]
fn help_and_status_are_answered_while_a_deploy_is_reconciling() {
    let (w, fake_kube, kubeconfig) = argo_world();
    let fake = FakeSlack::start();
    let bot = argo_bot(&w, &fake, &kubeconfig, &[("HOIST_SLACK_WORK_LIMIT", "1")]);
    let slash = |text: &str| slash(&bot, text);
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

#[test]
fn serve_restarted_amid_fifty_rollouts_reports_each_end_once() {
    let (w, fake_kube, kubeconfig) = argo_world();
    let fake = FakeSlack::start();
    let first = argo_bot(&w, &fake, &kubeconfig, &[]);
    // One channel each: Slack paces posts to one message a second per channel.
    for patch in 10..60 {
        let channel = format!("C0TEAM{patch}");
        slash_in(
            &first,
            &channel,
            &format!("deploy api v1.3.{patch} to staging"),
        );
    }
    let pushed = || hoist_commits(&w).len() == 50;
    let start = Instant::now();
    // 50 requests at once on a busy 2-core CI machine: more room than WAIT.
    while !pushed() && start.elapsed() < 3 * WAIT {
        std::thread::sleep(Duration::from_millis(50));
    }
    let told: Vec<String> = fake
        .calls_of("chat.postEphemeral")
        .iter()
        .map(|c| c.args["text"].to_string())
        .collect();
    assert!(
        pushed(),
        "{} pushed; told {told:?}",
        hoist_commits(&w).len()
    );
    fake_kube.argo("api-staging", argo_progressing(&w.tip()));
    within(3 * WAIT, "every rollout to be progressing", || {
        (1..=50).all(|id| said_about(&fake, &format!("#{id} api: progressing")) > 0)
    });
    // Killed mid-flight; the next start follows every rollout again.
    drop(first);
    let second = argo_bot(&w, &fake, &kubeconfig, &[]);
    within(3 * WAIT, "the 50 rollouts followed again", || {
        get(&second.addr, "/metrics")
            .1
            .contains("hoist_rollouts_in_flight 50\n")
    });
    fake_kube.argo("api-staging", argo_healthy(&w.tip()));
    within(3 * WAIT, "every rollout to end", || {
        (1..=50).all(|id| said_about(&fake, &format!("#{id} healthy (")) > 0)
    });
    std::thread::sleep(Duration::from_millis(500));
    for id in 1..=50 {
        let ends = said_about(&fake, &format!("#{id} healthy ("));
        assert_eq!(ends, 1, "#{id} was said healthy {ends} times");
    }
}
