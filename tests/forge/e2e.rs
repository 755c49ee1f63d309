//! End to end with the real binary and the fake GitHub over loopback: a
//! prod deploy that must go through a pull request is opened on GitHub,
//! approved by two people in chat (`hoist exec --as console:...`), merged by
//! hoist with the head it expects (GitHub's merge commit has hoist's signed
//! commit as its second parent) and recorded as a deployment; a PR closed by
//! a human cancels the operation; a base moved with a conflicting change
//! rebuilds the PR and voids the approvals; a base that changed the same
//! file without a conflict is rebuilt on before the merge (same change, same
//! approvals), so the merged file is the one hoist signed.

use crate::support::github::{FakeGitHub, TOKEN};
use crate::support::kube::FakeKube;
use crate::support::objects::{application, argo_healthy};
use crate::support::{Bot, World, git, serve_command};
use serde_json::Value;
use std::time::{Duration, Instant};

/// prod changes through a PR with two approvals from sre; nothing else
/// (no freeze, soak or ticket) so the test means the same any day.
pub const POLICY: &str = "\
groups:
  sre: [console:carol, console:dave]
  devs: [console:alice]
environments:
  prod:
    branch: main
    via: pull-request
    deployers: [devs]
    approvals: { count: 2, from: [sre] }
apps:
  api:
    targets:
      prod: { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
    argocd: { namespace: argocd, application: \"api-{env}\" }
";

pub const PROD_API: &str = "apps/api/overlays/prod/kustomization.yaml";

/// A world whose `hoist.yaml` is [`POLICY`], and a fake GitHub for
/// `acme/config` over its origin.
pub fn github_world() -> (World, FakeGitHub) {
    let w = World::new();
    w.commit_file("hoist.yaml", POLICY, "prod through pull requests");
    let fake = FakeGitHub::start(&w.origin, "acme", "config");
    (w, fake)
}

/// The variables that point hoist at the fake GitHub.
pub fn github_env<'a>(w: &'a World, fake: &'a FakeGitHub) -> Vec<(&'a str, &'a str)> {
    vec![
        ("HOIST_SIGNING_KEY", w.key.to_str().unwrap()),
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_API_URL", fake.url.as_str()),
        ("HOIST_GITHUB_REPO", "acme/config"),
        ("HOIST_GITHUB_POLL", "5s"),
    ]
}

/// `hoist exec --json` against the fake GitHub.
pub fn exec(w: &World, fake: &FakeGitHub, actor: &str, command: &str) -> (i32, Value) {
    w.exec_env(actor, command, &[], &github_env(w, fake))
}

/// The `newTag:` line of prod's api at `rev` of origin.
pub fn prod_tag(w: &World, rev: &str) -> String {
    w.show(rev, PROD_API)
        .lines()
        .find(|l| l.contains("newTag:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `hoist serve` against the fake GitHub (and `extra` variables).
pub fn serve(w: &World, fake: &FakeGitHub, extra: &[(&str, &str)]) -> Bot {
    let mut cmd = serve_command(w, w.origin.to_str().unwrap());
    cmd.envs(github_env(w, fake)).envs(extra.iter().copied());
    cmd.stderr(std::process::Stdio::piped());
    Bot::start(cmd)
}

/// Wait (at most 60 s: a busy CI machine) until `f` gives something.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no {what} in 60s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_prod_deploy_opens_a_pr_two_approvals_merge_it_with_its_head_and_it_is_recorded() {
    let (w, fake) = github_world();
    let before = w.tip();
    let (code, opened) = exec(&w, &fake, "console:alice", "deploy api v1.2.4 to prod");
    assert_eq!(code, 0, "{opened}");
    assert_eq!(opened["state"], "pr-opened", "{opened}");
    let url = opened["pr"].as_str().expect("--json names the PR");
    assert!(url.ends_with("/pull/1"), "{url}");
    let pr = fake.pr(1);
    assert!(
        pr.open && pr.base == "main" && pr.head == "hoist/1",
        "{pr:?}"
    );
    assert!(
        pr.labels.contains(&"hoist".to_string()) && pr.labels.contains(&"env:prod".to_string()),
        "{pr:?}"
    );
    assert!(pr.title.contains("deploy api v1.2.4 to prod"), "{pr:?}");
    assert_eq!(w.tip(), before, "nothing reaches main before the merge");
    // hoist's signed commit is the PR's head.
    let head = pr.head_sha;
    assert!(w.verify(&head, &w.allowed_signers).status.success());

    let (code, one) = exec(&w, &fake, "console:carol", "approve 1");
    assert_eq!(code, 0, "{one}");
    assert!(fake.pr(1).open, "one approval of two merges nothing");
    let (code, two) = exec(&w, &fake, "console:dave", "approve 1");
    assert_eq!(code, 0, "{two}");
    assert!(
        two["message"].as_str().unwrap_or("").contains("2 of 2"),
        "{two}"
    );
    // At quorum hoist merges as soon as GitHub knows the PR is mergeable
    // (`null` on the first read): at once, or by the bot later.
    match two["state"].as_str() {
        Some("merged") => assert!(fake.pr(1).merged_sha.is_some()),
        Some("pr-opened") => assert!(fake.pr(1).open),
        _ => panic!("{two}"),
    }
    // The bot follows the merge; Argo CD turns Healthy at the merge commit.
    let kube = FakeKube::start();
    kube.apply(application("argocd", "api-prod", &before));
    let kubeconfig = kube.kubeconfig(w.dir.path());
    let bot = serve(&w, &fake, &[("KUBECONFIG", kubeconfig.to_str().unwrap())]);
    let merge = wait_for("the merge", || fake.pr(1).merged_sha);
    let merged = fake.pr(1);
    wait_for("a deployment in progress", || {
        fake.deployments().into_iter().find(|d| d.sha == merge)
    });
    kube.argo("api-prod", argo_healthy(&merge));

    assert_eq!(w.tip(), merge, "main is GitHub's merge commit");
    let parents = git(&w.origin, &["rev-list", "--parents", "-n", "1", &merge]);
    let parents: Vec<&str> = parents.split_whitespace().collect();
    assert_eq!(parents, [merge.as_str(), before.as_str(), head.as_str()]);
    assert!(prod_tag(&w, &merge).contains("v1.2.4"));
    let trailers = git(
        &w.origin,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Hoist-Approved-By,valueonly)",
            &head,
        ],
    );
    let merge_message = git(&w.origin, &["log", "-1", "--format=%B", &merge]);
    for approver in ["console:carol", "console:dave"] {
        assert!(
            trailers.contains(approver) || merge_message.contains(approver),
            "{approver} in the trailers:\n{trailers}\n{merge_message}"
        );
    }
    let merges: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "PUT" && c.path.ends_with("/pulls/1/merge"))
        .collect();
    assert!(
        merges
            .iter()
            .any(|c| c.status == 200 && c.body["sha"] == head.as_str()),
        "merged with the expected head: {merges:?}"
    );
    let recorded = wait_for("a finished deployment", || {
        fake.deployments()
            .into_iter()
            .find(|d| d.statuses.iter().any(|(s, _)| s == "success"))
    });
    assert_eq!(
        (recorded.environment.as_str(), recorded.sha.as_str()),
        ("prod", merge.as_str())
    );
    assert!(!merged.open && merged.merged_by.is_some(), "{merged:?}");
    let states: Vec<&str> = recorded.statuses.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(states, ["in_progress", "success"]);
    drop(bot);
    let (_, status) = exec(&w, &fake, "console:alice", "status api in prod");
    let said = status["message"].as_str().unwrap_or("");
    assert!(
        said.contains("v1.2.4") && said.contains("healthy"),
        "{status}"
    );
    assert_eq!(fake.deployments().len(), 1, "{:?}", fake.deployments());
}

/// Stop `bot` once it is ready (its start-up summary said) and read what
/// it said on stderr.
pub fn said_by(mut bot: Bot) -> String {
    wait_for("/readyz", || {
        (crate::support::slack::get(&bot.addr, "/readyz").0 == 200).then_some(())
    });
    let _ = bot.child.kill();
    let _ = bot.child.wait();
    let mut text = String::new();
    if let Some(mut err) = bot.child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut text);
    }
    text
}

#[test]
fn a_base_moved_with_a_conflicting_change_rebuilds_the_pr_and_voids_the_approvals() {
    let (w, fake) = github_world();
    let (code, opened) = exec(&w, &fake, "console:alice", "deploy api v1.2.4 to prod");
    assert_eq!(code, 0, "{opened}");
    let first = fake.pr(1).head_sha;
    let (code, one) = exec(&w, &fake, "console:carol", "approve 1");
    assert_eq!(code, 0, "{one}");
    // A human moves the same line on main: the PR now conflicts, and the
    // change (old value -> new value) is not the one carol approved.
    let text: String = w
        .show("main", PROD_API)
        .lines()
        .map(|l| match l.find("newTag: v") {
            Some(at) => format!("{}newTag: v1.2.3   # managed by hoist\n", &l[..at]),
            None => format!("{l}\n"),
        })
        .collect();
    w.commit_file(PROD_API, &text, "hotfix: api v1.2.3 in prod by hand");
    let moved = w.tip();

    let bot = serve(&w, &fake, &[]);
    let rebuilt = wait_for("the rebuilt PR", || {
        let pr = fake.pr(1);
        (pr.head_sha != first).then_some(pr)
    });
    assert!(rebuilt.open && rebuilt.merged_sha.is_none(), "{rebuilt:?}");
    let parent = git(&w.origin, &["rev-parse", &format!("{}^", rebuilt.head_sha)]);
    assert_eq!(parent.trim(), moved, "rebuilt on the new base");
    assert!(
        w.verify(&rebuilt.head_sha, &w.allowed_signers)
            .status
            .success()
    );
    let diff = git(
        &w.origin,
        &["diff", &moved, &rebuilt.head_sha, "--", PROD_API],
    );
    assert!(
        diff.contains("-    newTag: v1.2.3") && diff.contains("+    newTag: v1.2.4"),
        "{diff}"
    );
    let said = said_by(bot);
    assert!(
        said.contains("console:alice, main changed since your request")
            && said.contains("approvals void (console:carol)"),
        "the requester is told: {said}"
    );
    // carol's vote is gone: hers counts again, as the first of two.
    let (code, again) = exec(&w, &fake, "console:carol", "approve 1");
    assert_eq!(code, 0, "{again}");
    assert!(
        again["message"].as_str().unwrap_or("").contains("1 of 2"),
        "{again}"
    );
    assert!(fake.pr(1).open);
}

#[test]
fn a_base_that_changed_the_same_file_without_a_conflict_is_rebuilt_on_before_the_merge() {
    let (w, fake) = github_world();
    let (code, opened) = exec(&w, &fake, "console:alice", "deploy api v1.2.4 to prod");
    assert_eq!(code, 0, "{opened}");
    let first = fake.pr(1).head_sha;
    let (code, one) = exec(&w, &fake, "console:carol", "approve 1");
    assert_eq!(code, 0, "{one}");
    // A human edits another line of the same file on main: GitHub would
    // merge it cleanly, writing a file hoist never signed.
    let text = w.show("main", PROD_API).replace("count: 4", "count: 5");
    assert!(text.contains("count: 5"), "{text}");
    w.commit_file(PROD_API, &text, "scale api in prod by hand");
    let moved = w.tip();
    let (code, two) = exec(&w, &fake, "console:dave", "approve 1");
    assert_eq!(code, 0, "{two}");

    let bot = serve(&w, &fake, &[]);
    let merge = wait_for("the merge", || fake.pr(1).merged_sha);
    let head = fake.pr(1).head_sha;
    assert_ne!(head, first, "rebuilt before the merge");
    let parent = git(&w.origin, &["rev-parse", &format!("{head}^")]);
    assert_eq!(parent.trim(), moved, "rebuilt on the moved base");
    assert!(w.verify(&head, &w.allowed_signers).status.success());
    // The merged file is exactly the one hoist signed: both edits, whole.
    assert_eq!(w.show(&merge, PROD_API), w.show(&head, PROD_API));
    let merged = w.show(&merge, PROD_API);
    assert!(
        merged.contains("count: 5") && prod_tag(&w, &merge).contains("v1.2.4"),
        "{merged}"
    );
    let said = said_by(bot);
    assert!(
        !said.contains("approvals void"),
        "same change, approvals kept: {said}"
    );
}
