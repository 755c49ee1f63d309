//! Environments made from templates on in-memory ports: `env create` writes
//! one commit with the copies and the registry entry, a deploy to the new
//! environment edits only its copy, `env destroy` removes it in one commit,
//! refusals write nothing, approvals are collected like a deploy's, the
//! runner warns an hour before expiry and destroys it after (a set clock),
//! and a creation followed in the (simulated) cluster ends "is ready".

use super::*;
use crate::cluster::Simulated;
use crate::engine::State;

const POLICY: &str = "\
groups:
  sre: [console:carol, console:dave]
  devs: [console:alice, console:bob]
environments:
  staging:
    deployers: [devs, sre]
  prod:
    deployers: [sre]
    approvals: { count: 2, from: [sre] }
environments_from: { template: staging, name: \"^pr-[0-9]+$\", ttl: 3d, max: 2, deployers: [devs], approvals: APPROVALS }
apps:
  api:
    targets:
      staging: { file: apps/api/overlays/staging/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
      prod:    { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
    argocd: { namespace: argocd, application: \"api-{env}\" }
  worker:
    targets:
      staging: { file: envs/staging/worker/values.yaml, yaml_path: image.tag }
";

const STAGING_API: &str = "apps/api/overlays/staging/kustomization.yaml";
const STAGING_PATCH: &str = "apps/api/overlays/staging/patches/replicas.yaml";
const STAGING_WORKER: &str = "envs/staging/worker/values.yaml";

fn overlay(ns: &str, tag: &str) -> String {
    format!(
        "# staging overlay: the word staging in a comment stays\n\
         namespace: {ns}\n\
         namePrefix: {ns}-\n\
         resources: [../../base]\n\
         images:\n  \
         - name: ghcr.io/acme/api\n    \
         newTag: {tag}   # managed by hoist\n"
    )
}

/// `approvals` is what `environments_from` asks for; `cluster` follows.
fn world(approvals: u32, cluster: Option<Arc<dyn Cluster>>) -> World {
    let clock = Arc::new(TestClock(AtomicI64::new(WEDNESDAY)));
    let policy = POLICY.replace("APPROVALS", &approvals.to_string());
    let files = [
        ("hoist.yaml", policy),
        (STAGING_API, overlay("staging", "v1.4.1")),
        (STAGING_PATCH, "staging: 2\nreplicas: staging\n".to_string()),
        (
            "apps/api/overlays/prod/kustomization.yaml",
            overlay("prod", "v1.4.0"),
        ),
        (
            STAGING_WORKER,
            "env: staging\nimage:\n  tag: 3.1.0\n".into(),
        ),
    ];
    let repo = Arc::new(
        Memory::new("main", files)
            .signing()
            .with_clock(clock.clone()),
    );
    let journal = Arc::new(crate::store::Memory::with_clock(clock.clone()));
    World::over(repo, journal, cluster, clock, Settings::default())
}

impl World {
    /// One round of the runner's expiry chore, at the clock's time.
    fn expiry_round(&self) {
        let (policy, _) = self.engine.current_policy().expect("policy");
        self.engine.expire_environments(&policy);
    }
}

fn tip_files(w: &World) -> std::collections::BTreeMap<String, Vec<u8>> {
    w.repo.log("main")[0].1.files.clone()
}

#[test]
fn create_writes_one_signed_commit_with_the_copies_and_the_entry() {
    let w = world(0, None);
    let before = tip_files(&w);
    let r = w.ask("console:alice", "env create pr-123 from staging for 1h");
    assert_eq!(r.state, "pushed", "{}", r.message);
    let commits = w.hoist_commits();
    assert_eq!(commits.len(), 1);
    let (_, commit) = &commits[0];
    assert!(commit.signed);
    assert!(
        commit
            .message
            .starts_with("env create pr-123 from staging for 1h\n"),
        "{}",
        commit.message
    );
    assert!(commit.message.contains("Hoist-Requested-By: console:alice"));
    let after = &commit.files;
    let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(
        added,
        [
            "apps/api/overlays/pr-123/kustomization.yaml",
            "apps/api/overlays/pr-123/patches/replicas.yaml",
            "envs/pr-123/worker/values.yaml",
            "hoist-environments.yaml",
        ]
    );
    for (path, bytes) in &before {
        assert_eq!(after.get(path), Some(bytes), "{path} is untouched");
    }
    let copy = String::from_utf8(after["apps/api/overlays/pr-123/kustomization.yaml"].clone());
    assert_eq!(
        copy.unwrap(),
        overlay("pr-123", "v1.4.1").replace(
            "# pr-123 overlay: the word pr-123",
            "# staging overlay: the word staging"
        )
    );
    // A key named staging stays; a whole value becomes the new name.
    assert_eq!(
        after["apps/api/overlays/pr-123/patches/replicas.yaml"],
        b"staging: 2\nreplicas: pr-123\n"
    );
    assert_eq!(
        after["envs/pr-123/worker/values.yaml"],
        b"env: pr-123\nimage:\n  tag: 3.1.0\n"
    );
    let registry = String::from_utf8(after["hoist-environments.yaml"].clone()).unwrap();
    let entries = crate::envs::parse_registry(&registry).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].name.as_str(), "pr-123");
    assert_eq!(entries[0].owner, "console:alice");
    assert_eq!(entries[0].expires - entries[0].created, 3600);
    assert_eq!(entries[0].operation, Some(1));
    let op = w.op(1);
    assert_eq!(op.verb, "env-create");
    let versions: Vec<(&str, &str)> = op
        .changes
        .iter()
        .map(|c| (c.app.as_str(), c.new_value.as_str()))
        .collect();
    assert_eq!(versions, [("api", "v1.4.1"), ("worker", "3.1.0")]);
}

#[test]
fn a_deploy_to_it_edits_only_the_copy_and_destroy_removes_it_in_one_commit() {
    let w = world(0, None);
    assert_eq!(w.ask("console:alice", "env create pr-7").state, "pushed");
    let r = w.ask("console:bob", "deploy api v2 to pr-7");
    assert_eq!(r.state, "pushed", "{}", r.message);
    let (_, deploy) = &w.hoist_commits()[0];
    let (_, created) = &w.hoist_commits()[1];
    let changed: Vec<&String> = deploy
        .files
        .iter()
        .filter(|(k, v)| created.files.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(changed, ["apps/api/overlays/pr-7/kustomization.yaml"]);
    assert!(w.remote_file(STAGING_API).contains("newTag: v1.4.1"));
    let list = w.ask("console:bob", "env list");
    assert!(list.message.contains("pr-7"), "{}", list.message);
    assert!(list.message.contains("api=v2"), "{}", list.message);
    assert!(list.message.contains("console:alice"), "{}", list.message);

    // carol (sre) is neither its owner nor one of its approvers (devs).
    let r = w.ask("console:carol", "env destroy pr-7");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("only console:alice"), "{}", r.message);
    let r = w.ask("console:alice", "env destroy pr-7 --reason done");
    assert_eq!(r.state, "done", "{}", r.message);
    assert!(r.message.contains("pr-7 is destroyed"), "{}", r.message);
    assert_eq!(w.hoist_commits().len(), 3);
    let files = tip_files(&w);
    assert!(files.keys().all(|k| !k.contains("pr-7")), "{files:?}");
    let registry = String::from_utf8(files["hoist-environments.yaml"].clone()).unwrap();
    assert!(crate::envs::parse_registry(&registry).unwrap().is_empty());
    let r = w.ask("console:bob", "deploy api v3 to pr-7");
    assert_eq!(r.state, "refused", "{}", r.message);
}

#[test]
fn refusals_write_nothing() {
    let w = world(0, None);
    assert_eq!(w.ask("console:alice", "env create pr-1").state, "pushed");
    let tip = w.repo.remote_tip("main");
    for (actor, text, words) in [
        ("console:alice", "env create prod", "already exists"),
        ("console:alice", "env create pr-1", "already exists"),
        ("console:alice", "env create qa-1", "must match"),
        (
            "console:carol",
            "env create pr-2",
            "may not create environments",
        ),
        (
            "console:alice",
            "env create pr-2 from prod",
            "made from staging",
        ),
        ("console:alice", "env create pr-2 for 4d", "at most 3d"),
        ("console:alice", "env destroy prod", "written in hoist.yaml"),
        ("console:alice", "env extend pr-1 for 5d", "at most 3d"),
    ] {
        let r = w.ask(actor, text);
        assert_eq!(r.state, "refused", "{text}: {}", r.message);
        assert!(r.message.contains(words), "{text}: {}", r.message);
    }
    assert_eq!(w.ask("console:alice", "env create pr-2").state, "pushed");
    let tip = (tip, w.repo.remote_tip("main"));
    let r = w.ask("console:alice", "env create pr-3");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(
        r.message.contains("at most 2 environments"),
        "{}",
        r.message
    );
    assert_eq!(w.repo.remote_tip("main"), tip.1, "nothing written");
    assert_ne!(tip.0, tip.1);
}

#[test]
fn a_creation_waits_for_its_approvals_like_a_deploy() {
    let w = world(1, None);
    let r = w.ask("console:alice", "env create pr-9");
    assert_eq!(r.state, "awaiting-approval", "{}", r.message);
    assert!(w.hoist_commits().is_empty());
    let r = w.ask("console:alice", "approve 1");
    assert_eq!(r.state, "refused", "{}", r.message);
    let r = w.ask("console:bob", "approve 1");
    assert_eq!(r.state, "pushed", "{}", r.message);
    let (_, commit) = &w.hoist_commits()[0];
    assert!(commit.message.contains("Hoist-Approved-By: console:bob"));
    assert!(commit.files.contains_key("envs/pr-9/worker/values.yaml"));
}

#[test]
fn the_runner_warns_an_hour_before_and_destroys_it_after_expiry() {
    let w = world(0, None);
    assert_eq!(
        w.ask("console:alice", "env create pr-5 for 2h").state,
        "pushed"
    );
    w.expiry_round();
    assert!(
        !w.said_about(1).iter().any(|t| t.contains("expires at")),
        "{:?}",
        w.said_about(1)
    );
    w.advance(3600 + 60);
    w.expiry_round();
    w.advance(20);
    w.expiry_round();
    let warned: Vec<String> = w
        .said_about(1)
        .into_iter()
        .filter(|t| t.contains("pr-5 expires at"))
        .collect();
    assert_eq!(warned.len(), 1, "warned once: {warned:?}");
    assert!(warned[0].contains("env extend pr-5"), "{warned:?}");
    assert_eq!(
        w.hoist_commits().len(),
        1,
        "not destroyed before it expires"
    );
    w.advance(3600);
    w.expiry_round();
    let commits = w.hoist_commits();
    assert_eq!(commits.len(), 2, "destroyed once");
    assert!(commits[0].1.message.starts_with("env destroy pr-5\n"));
    assert!(
        commits[0]
            .1
            .message
            .contains("Hoist-Requested-By: hoist:expiry")
    );
    assert!(tip_files(&w).keys().all(|k| !k.contains("pr-5")));
    assert!(
        w.said_about(1)
            .iter()
            .any(|t| t.contains("pr-5 expired and was destroyed")),
        "{:?}",
        w.said_about(1)
    );
    w.advance(20);
    w.expiry_round();
    assert_eq!(w.hoist_commits().len(), 2);
}

#[test]
fn extend_moves_the_expiry_in_one_commit() {
    let w = world(0, None);
    assert_eq!(
        w.ask("console:alice", "env create pr-4 for 1h").state,
        "pushed"
    );
    let r = w.ask("console:bob", "env extend pr-4 for 2d");
    assert_eq!(r.state, "done", "{}", r.message);
    let registry = w.remote_file("hoist-environments.yaml");
    let entry = &crate::envs::parse_registry(&registry).unwrap()[0];
    assert_eq!(entry.expires, WEDNESDAY + 2 * 86_400);
    assert_eq!(w.op(2).state, State::Done);
}

#[test]
fn a_followed_creation_ends_ready() {
    let cluster: Arc<dyn Cluster> = Arc::new(Simulated::new(Duration::from_millis(1)));
    let w = world(0, Some(cluster));
    let r = w.engine.wait(w.ask("console:alice", "env create pr-8"));
    assert_eq!(r.state, "healthy", "{}", r.message);
    assert!(r.message.contains("pr-8 is ready"), "{}", r.message);
}

#[test]
fn only_the_runner_destroys_on_expiry_and_never_one_extended() {
    let w = world(0, None);
    assert_eq!(
        w.ask("console:alice", "env create pr-6 for 1h").state,
        "pushed"
    );
    // Calling oneself the runner grants nothing.
    let r = w.ask("hoist:expiry", "env destroy pr-6");
    assert_eq!(r.state, "refused", "{}", r.message);
    w.advance(3600 + 5);
    let (stale, _) = w.engine.current_policy().unwrap();
    // Extended after the runner read the policy: its destroy is refused.
    assert_eq!(
        w.ask("console:alice", "env extend pr-6 for 1d").state,
        "done"
    );
    w.engine.expire_environments(&stale);
    assert!(tip_files(&w).contains_key("envs/pr-6/worker/values.yaml"));
    assert_eq!(w.hoist_commits().len(), 2);
}

#[test]
fn destroy_removes_what_the_creation_wrote_even_after_the_layout_moved() {
    let w = world(0, None);
    assert_eq!(w.ask("console:alice", "env create pr-2").state, "pushed");
    // hoist.yaml moves worker's staging target elsewhere.
    let policy = w.remote_file("hoist.yaml");
    let moved = policy.replace(
        "envs/staging/worker/values.yaml",
        "worker/staging/values.yaml",
    );
    w.repo.commit_as_someone_else(
        "main",
        "worker/staging/values.yaml",
        "image:\n  tag: 3.1.0\n",
        "move worker's staging",
    );
    w.repo
        .commit_as_someone_else("main", "hoist.yaml", moved, "move worker's staging");
    let r = w.ask("console:alice", "env destroy pr-2");
    assert_eq!(r.state, "done", "{}", r.message);
    let left: Vec<String> = tip_files(&w)
        .into_keys()
        .filter(|k| k.contains("pr-2"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_template_that_changes_through_pull_requests_is_refused() {
    let w = world(0, None);
    let policy = w.remote_file("hoist.yaml");
    let pr = policy.replace(
        "  staging:\n    deployers: [devs, sre]\n",
        "  staging:\n    deployers: [devs, sre]\n    via: pull-request\n",
    );
    w.repo
        .commit_as_someone_else("main", "hoist.yaml", pr, "staging by PR");
    let r = w.ask("console:alice", "env create pr-3");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("pull requests"), "{}", r.message);
}

#[test]
fn a_creation_on_the_branch_counts_before_its_push_is_recorded() {
    let w = world(0, None);
    assert_eq!(w.ask("console:alice", "env create pr-3").state, "pushed");
    // As another replica sees it between the push and the journal's record.
    let mut op = w.op(1);
    op.transitions.retain(|(_, l)| l != "pushed");
    op.state = State::Committed {
        sha: op.commit.clone().unwrap(),
    };
    w.journal.put(&op).unwrap();
    let other = World::over(
        w.repo.clone(),
        w.journal.clone(),
        None,
        w.clock.clone(),
        Settings::default(),
    );
    let r = other.ask("console:bob", "deploy api v2 to pr-3");
    assert_eq!(r.state, "pushed", "{}", r.message);
    // Not kept as "not made": once recorded, it stays known.
    op.enter(
        State::Pushed {
            sha: op.commit.clone().unwrap(),
        },
        WEDNESDAY,
    );
    w.journal.put(&op).unwrap();
    let r = other.ask("console:bob", "deploy api v3 to pr-3");
    assert_eq!(r.state, "pushed", "{}", r.message);
}
