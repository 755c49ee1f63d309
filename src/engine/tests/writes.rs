//! The write path on in-memory ports: what is refused and how, a deploy's
//! one signed commit and the trailers it carries, a branch that moved
//! underneath (planned again on top, nothing of the other commit lost),
//! `status` reading back, and a pushed change followed to Healthy.

use super::*;
use crate::cluster::Simulated;
use crate::engine::State;
use crate::engine::ports::ConfigRepo;

/// The `Key: value` lines of a message's last paragraph.
fn trailer_lines(message: &str) -> Vec<&str> {
    let last = message.trim_end().rsplit("\n\n").next().unwrap_or_default();
    last.lines().collect()
}

#[test]
fn an_unknown_app_or_environment_is_refused_with_a_suggestion() {
    let w = World::new();
    let r = w.ask("console:bob", "deploy apj v2.0.0 to dev");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(
        r.message
            .contains("unknown app `apj`; apps are api, worker; did you mean `api`?"),
        "{}",
        r.message
    );
    let r = w.ask("console:bob", "deploy api v2.0.0 to prd");
    assert_eq!(r.state, "refused", "{}", r.message);
    assert!(r.message.contains("did you mean `prod`?"), "{}", r.message);
    assert!(w.hoist_commits().is_empty(), "nothing is written");
    assert!(w.journal.list().unwrap().is_empty(), "nothing is journaled");
}

#[test]
fn a_deploy_to_dev_commits_once_signed_with_its_trailers() {
    let w = World::new();
    let initial = w.repo.remote_tip("main").unwrap();
    let r = w.ask("console:bob", "deploy api v2.0.0 to dev --reason login fix");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert_eq!(r.operation, Some(1));
    let commits = w.hoist_commits();
    assert_eq!(commits.len(), 1);
    let (sha, commit) = &commits[0];
    assert_eq!(r.commit.as_ref(), Some(sha));
    assert_eq!(w.repo.remote_tip("main").as_ref(), Some(sha));
    assert_eq!(commit.parent.as_ref(), Some(&initial));
    assert!(commit.signed, "hoist signs what it writes");
    assert_eq!(commit.time, WEDNESDAY);
    let paragraphs: Vec<&str> = commit.message.split("\n\n").collect();
    assert!(paragraphs[0].contains("api"), "{}", commit.message);
    assert_eq!(paragraphs[1], "login fix");
    assert_eq!(
        trailer_lines(&commit.message),
        [
            "Hoist-Operation: 1",
            "Hoist-Requested-By: console:bob",
            "Hoist-Chat: cli"
        ]
    );
    assert_eq!(w.remote_file(DEV_API), kustomization("v2.0.0", "2.0.1"));
    assert_eq!(w.remote_file(PROD_API), kustomization("v1.0.0", "2.0.1"));
    assert_eq!(w.op(1).state, State::Pushed { sha: sha.clone() });
    let said = w.said_about(1);
    assert!(
        said.iter()
            .any(|t| t.starts_with(&format!("#1 pushed {}", &sha[..7]))),
        "{said:?}"
    );
    // The same version again: nothing to do, nothing written.
    let r = w.ask("console:bob", "deploy api v2.0.0 to dev");
    assert_eq!(r.state, "done", "{}", r.message);
    assert!(r.message.contains("already at v2.0.0"), "{}", r.message);
    assert_eq!(w.hoist_commits().len(), 1);
}

/// hoist has seen main's tip; someone else then pushes `path` = `bytes`.
fn moved_underneath(w: &World, path: &str, bytes: &str) -> (String, String) {
    assert_eq!(w.ask("console:bob", "status").state, "done");
    let seen = w.repo.known_tip("main").unwrap();
    let theirs = w
        .repo
        .commit_as_someone_else("main", path, bytes, "someone else's change");
    assert_eq!(w.repo.known_tip("main").unwrap(), seen, "not fetched yet");
    (seen, theirs)
}

#[test]
fn a_branch_moved_underneath_is_planned_again_on_top_of_it() {
    let w = World::new();
    let (seen, theirs) = moved_underneath(&w, "README.md", "# config\n");
    let r = w.ask("console:bob", "deploy api v2.0.0 to dev");
    assert_eq!(r.state, "pushed", "{}", r.message);
    let log = w.repo.log("main");
    assert_eq!(Some(&log[0].0), r.commit.as_ref());
    assert_eq!(log[0].1.parent.as_ref(), Some(&theirs), "on top of theirs");
    assert_eq!(log[1].1.parent.as_ref(), Some(&seen));
    assert_eq!(w.remote_file("README.md"), "# config\n");
    assert_eq!(w.remote_file(DEV_API), kustomization("v2.0.0", "2.0.1"));
    assert_eq!(w.hoist_commits().len(), 1);
    // The first commit, on the tip hoist knew, lost the compare-and-swap.
    let op = w.op(1);
    let committed = op.transitions.iter().filter(|(_, s)| s == "committed");
    assert_eq!(committed.count(), 2);
}

#[test]
fn someone_elses_edit_to_the_same_file_is_kept() {
    let w = World::new();
    moved_underneath(&w, DEV_API, &kustomization("v1.0.0", "2.1.0"));
    let r = w.ask("console:bob", "deploy api v2.0.0 to dev");
    assert_eq!(r.state, "pushed", "{}", r.message);
    assert_eq!(w.remote_file(DEV_API), kustomization("v2.0.0", "2.1.0"));
    assert_eq!(w.hoist_commits().len(), 1);
}

#[test]
fn someone_else_setting_the_version_first_leaves_nothing_to_commit() {
    let w = World::new();
    moved_underneath(&w, DEV_API, &kustomization("v2.0.0", "2.0.1"));
    let r = w.ask("console:bob", "deploy api v2.0.0 to dev");
    assert_eq!(r.state, "done", "{}", r.message);
    assert!(
        r.message.contains("someone else already set this version"),
        "{}",
        r.message
    );
    assert_eq!(w.op(1).state, State::Unchanged);
    assert!(w.hoist_commits().is_empty(), "nothing is written");
}

#[test]
fn history_trusts_trailers_only_on_commits_hoist_signed() {
    let w = World::new();
    assert_eq!(
        w.ask("console:bob", "deploy api v2.0.0 to dev").state,
        "pushed"
    );
    w.repo.commit_as_someone_else(
        "main",
        DEV_API,
        kustomization("v2.1.0", "2.0.1"),
        "by hand\n\nHoist-Requested-By: console:carol\nHoist-Approved-By: console:dave",
    );
    let r = w.ask("console:bob", "history api in dev");
    assert_eq!(r.state, "done", "{}", r.message);
    let rows: Vec<&str> = r.message.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{}", r.message);
    assert!(rows[0].contains("v2.1.0"), "{}", r.message);
    assert!(rows[0].contains("not signed by hoist"), "{}", r.message);
    assert!(rows[1].contains("v2.0.0"), "{}", r.message);
    assert!(rows[1].ends_with("by console:bob"), "{}", r.message);
    assert!(rows[2].contains("v1.0.0") && rows[2].ends_with("not via hoist"));
}

#[test]
fn status_reads_back_the_versions_and_the_last_operation() {
    let w = World::new();
    assert_eq!(
        w.ask("console:bob", "deploy api v2.0.0 to dev").state,
        "pushed"
    );
    w.repo.commit_as_someone_else(
        "main",
        PROD_API,
        kustomization("v1.1.0", "2.0.1"),
        "hotfix by hand",
    );
    w.advance(5 * 60);
    let r = w.ask("console:bob", "status api");
    assert_eq!(r.state, "done", "{}", r.message);
    let row = |env: &str| -> Vec<String> {
        let line = r.message.lines().find(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.get(1) == Some(&env)
        });
        let line = line.unwrap_or_else(|| panic!("no {env} row in\n{}", r.message));
        line.split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(
        row("dev")[..6],
        ["api", "dev", "v2.0.0", "pushed", "#1", "5m"]
    );
    assert_eq!(row("prod")[..4], ["api", "prod", "v1.1.0", "-"], "fetched");
    assert!(!r.message.contains("worker"), "{}", r.message);
}

#[test]
fn a_pushed_change_is_followed_to_healthy() {
    let cluster = Arc::new(Simulated::new(Duration::from_millis(1)));
    let w = World::with_cluster(Some(cluster));
    let r = w.ask("console:bob", "deploy api v2.0.0 to dev");
    assert_eq!(r.state, "pushed", "{}", r.message);
    let r = w.engine.wait(r);
    assert_eq!(r.state, "healthy", "{}", r.message);
    assert_eq!(w.op(1).state, State::Healthy);
    assert_eq!(w.engine.following(), 0);
    let said = w.said_about(1);
    assert!(said.iter().any(|t| t.contains("simulated")), "{said:?}");
}
