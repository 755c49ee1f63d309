//! The simulated forge against a real bare repository on disk: a work clone
//! pushes `main` and hoist's branches to it, the forge opens, judges and
//! merges, and git itself is asked what happened.

use super::*;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Run git in `dir` as a test author, without any user configuration.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare remote with `main` holding `app.yaml`, and a work clone of it.
struct Repo {
    _dir: tempfile::TempDir,
    remote: PathBuf,
    work: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let remote = dir.path().join("origin.git");
        let work = dir.path().join("work");
        git(
            dir.path(),
            &["init", "--quiet", "--bare", "-b", "main", "origin.git"],
        );
        git(dir.path(), &["clone", "--quiet", "origin.git", "work"]);
        let repo = Repo {
            _dir: dir,
            remote,
            work,
        };
        repo.change("main", "tag: v1\nother: a\n", "config repo");
        repo
    }

    fn forge(&self) -> SimulatedForge {
        SimulatedForge::new(self.remote.clone())
    }

    /// Commit `app.yaml` = `text` on `branch` (created from main when new)
    /// and push it; the new commit.
    fn change(&self, branch: &str, text: &str, subject: &str) -> String {
        let w = &self.work;
        if !git(w, &["branch", "--list", branch]).is_empty() {
            git(w, &["checkout", "--quiet", branch]);
        } else if git(w, &["branch", "--list"]).is_empty() {
            // The first commit of the repository.
            git(
                w,
                &["symbolic-ref", "HEAD", &format!("refs/heads/{branch}")],
            );
        } else {
            git(w, &["checkout", "--quiet", "-b", branch, "main"]);
        }
        std::fs::write(w.join("app.yaml"), text).unwrap();
        git(w, &["add", "app.yaml"]);
        git(w, &["commit", "--quiet", "-m", subject]);
        git(w, &["push", "--quiet", "origin", branch]);
        git(w, &["rev-parse", "HEAD"])
    }

    fn tip(&self, branch: &str) -> String {
        git(
            &self.remote,
            &["rev-parse", &format!("refs/heads/{branch}")],
        )
    }

    fn show(&self, spec: &str) -> String {
        git(
            &self.remote,
            &["show", "-s", "--format=%P%n%an|%cn%n%B", spec],
        )
    }

    fn file(&self, commit: &str) -> String {
        git(&self.remote, &["show", &format!("{commit}:app.yaml")])
    }
}

fn draft(head: &str) -> Draft {
    Draft {
        head: head.into(),
        base: "main".into(),
        title: "deploy api v2 to prod".into(),
        body: "the diff".into(),
        labels: vec!["hoist".into(), "env:prod".into()],
    }
}

const TRAILERS: &str = "Hoist-Approved-By: console:carol\nHoist-Approved-By: console:dave";

#[test]
fn prs_are_numbered_from_one_and_opening_the_same_head_again_finds_the_open_one() {
    let repo = Repo::new();
    repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    repo.change("hoist/2", "tag: v3\nother: a\n", "api v3");
    let forge = repo.forge();
    let first = forge.open(&draft("hoist/1")).unwrap();
    assert_eq!(first.number, 1);
    assert_eq!(first.url, "simulated://origin/pull/1");
    assert_eq!(forge.open(&draft("hoist/1")).unwrap(), first);
    assert_eq!(forge.open(&draft("hoist/2")).unwrap().number, 2);
    let pr = forge.pull_request(1).unwrap();
    assert_eq!(
        (pr.title.as_str(), pr.labels.len()),
        ("deploy api v2 to prod", 2)
    );
    assert_eq!(forge.name(), "simulated forge");
    assert!(
        forge
            .teams_of("carol", &["acme/sre".into()])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_head_that_descends_from_the_base_merges_as_a_merge_commit_moving_the_base() {
    let repo = Repo::new();
    let base = repo.tip("main");
    let head = repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    let forge = repo.forge();
    let n = forge.open(&draft("hoist/1")).unwrap().number;
    let look = forge.look(n).unwrap();
    assert_eq!(look.state, PrState::Open);
    assert_eq!(
        (look.head.as_str(), look.mergeable),
        (head.as_str(), Some(true))
    );
    assert_eq!(
        (look.checks, look.approvals.len(), look.again_in),
        (Checks::Passing, 0, None)
    );

    let merged = forge
        .merge(
            n,
            &head,
            MergeMethod::Merge,
            "Merge #1: deploy api v2",
            TRAILERS,
        )
        .unwrap();
    let Merged::Merged { sha } = merged else {
        panic!("{merged:?}")
    };
    assert_eq!(repo.tip("main"), sha);
    let shown = repo.show(&sha);
    assert!(
        shown.starts_with(&format!(
            "{base} {head}\nsimulated forge|simulated forge\nMerge #1: deploy api v2\n\n{TRAILERS}"
        )),
        "{shown}"
    );
    assert_eq!(repo.file(&sha), "tag: v2\nother: a");
    let look = forge.look(n).unwrap();
    assert_eq!(look.state, PrState::Merged { sha, by: None });
    assert_eq!((look.head, look.mergeable), (head, Some(false)));
}

#[test]
fn a_base_that_moved_elsewhere_in_the_file_still_merges_both_changes() {
    let repo = Repo::new();
    let head = repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    // Someone else changes another line of main (far enough for git to merge).
    let moved = repo.change("main", "tag: v1\nother: a\n\n\n\nlast: z\n", "someone else");
    let forge = repo.forge();
    let n = forge.open(&draft("hoist/1")).unwrap().number;
    assert_eq!(forge.look(n).unwrap().mergeable, Some(true));
    let Merged::Merged { sha } = forge.merge(n, &head, MergeMethod::Merge, "t", "").unwrap() else {
        panic!("not merged")
    };
    assert!(repo.show(&sha).starts_with(&format!("{moved} {head}\n")));
    assert_eq!(repo.file(&sha), "tag: v2\nother: a\n\n\n\nlast: z");
}

#[test]
fn a_conflicting_head_is_not_mergeable_and_the_base_stays_where_it_was() {
    let repo = Repo::new();
    let head = repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    let moved = repo.change("main", "tag: v9\nother: a\n", "someone else's v9");
    let forge = repo.forge();
    let n = forge.open(&draft("hoist/1")).unwrap().number;
    assert_eq!(forge.look(n).unwrap().mergeable, Some(false));
    for method in [MergeMethod::Merge, MergeMethod::Squash, MergeMethod::Rebase] {
        let merged = forge.merge(n, &head, method, "t", "").unwrap();
        assert!(matches!(merged, Merged::NotMergeable(_)), "{merged:?}");
    }
    assert_eq!(repo.tip("main"), moved);
    assert_eq!(forge.look(n).unwrap().state, PrState::Open);
}

#[test]
fn a_head_that_is_not_the_one_hoist_expects_is_never_merged() {
    let repo = Repo::new();
    let base = repo.tip("main");
    let first = repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    repo.change("hoist/1", "tag: evil\nother: a\n", "pushed by someone else");
    let forge = repo.forge();
    let n = forge.open(&draft("hoist/1")).unwrap().number;
    let merged = forge.merge(n, &first, MergeMethod::Merge, "t", "").unwrap();
    assert!(matches!(merged, Merged::HeadMoved(_)), "{merged:?}");
    assert_eq!(repo.tip("main"), base);
}

#[test]
fn squash_makes_one_commit_on_the_base_with_the_given_message() {
    let repo = Repo::new();
    let base = repo.tip("main");
    let head = repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    let forge = repo.forge();
    let n = forge.open(&draft("hoist/1")).unwrap().number;
    let merged = forge.merge(
        n,
        &head,
        MergeMethod::Squash,
        "deploy api v2 (#1)",
        TRAILERS,
    );
    let Ok(Merged::Merged { sha }) = merged else {
        panic!("{merged:?}")
    };
    let shown = repo.show(&sha);
    assert!(
        shown.starts_with(&format!(
            "{base}\nsimulated forge|simulated forge\ndeploy api v2 (#1)\n\n{TRAILERS}"
        )),
        "{shown}"
    );
    assert_eq!(repo.file(&sha), "tag: v2\nother: a");
}

#[test]
fn rebase_recommits_hoists_commit_on_the_moved_base_keeping_its_author_and_message() {
    let repo = Repo::new();
    let head = repo.change(
        "hoist/1",
        "tag: v2\nother: a\n",
        "api v2\n\nHoist-Requested-By: console:alice",
    );
    let moved = repo.change("main", "tag: v1\nother: a\n\n\n\nlast: z\n", "someone else");
    let forge = repo.forge();
    let n = forge.open(&draft("hoist/1")).unwrap().number;
    let merged = forge.merge(n, &head, MergeMethod::Rebase, "ignored", "ignored");
    let Ok(Merged::Merged { sha }) = merged else {
        panic!("{merged:?}")
    };
    assert_ne!(sha, head);
    let shown = repo.show(&sha);
    assert!(
        shown.starts_with(&format!(
            "{moved}\nAda|simulated forge\napi v2\n\nHoist-Requested-By: console:alice"
        )),
        "{shown}"
    );
    assert_eq!(repo.file(&sha), "tag: v2\nother: a\n\n\n\nlast: z");
    assert_eq!(repo.tip("main"), sha);
}

#[test]
fn merging_and_closing_wake_the_watcher_until_it_unwatches() {
    let repo = Repo::new();
    let head = repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    repo.change("hoist/2", "tag: v3\nother: a\n", "api v3");
    let forge = repo.forge();
    let (one, two) = (
        forge.open(&draft("hoist/1")).unwrap(),
        forge.open(&draft("hoist/2")).unwrap(),
    );
    let woken = Arc::new(AtomicUsize::new(0));
    for n in [one.number, two.number] {
        let woken = woken.clone();
        forge.watch(
            n,
            Arc::new(move || {
                woken.fetch_add(1, Ordering::SeqCst);
            }),
        );
    }
    forge
        .merge(one.number, &head, MergeMethod::Merge, "t", "")
        .unwrap();
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    forge.unwatch(two.number);
    forge
        .close(two.number, "cancelled in chat by console:alice")
        .unwrap();
    assert_eq!(woken.load(Ordering::SeqCst), 1);
}

#[test]
fn a_closed_pr_keeps_its_comment_is_closed_once_and_never_merges() {
    let repo = Repo::new();
    let head = repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    let forge = repo.forge();
    let n = forge.open(&draft("hoist/1")).unwrap().number;
    forge.describe(n, "approvals: 1 of 2").unwrap();
    forge.close(n, "cancelled").unwrap();
    forge.close(n, "again").unwrap();
    let pr = forge.pull_request(n).unwrap();
    assert_eq!(
        (pr.state, pr.body.as_str()),
        (PrState::Closed { by: None }, "approvals: 1 of 2")
    );
    assert_eq!(pr.comments, ["cancelled"]);
    forge.delete_branch("hoist/1").unwrap();
    // The head is still known after the branch went.
    assert_eq!(forge.look(n).unwrap().head, head);
    let merged = forge.merge(n, &head, MergeMethod::Merge, "t", "").unwrap();
    assert!(matches!(merged, Merged::NotMergeable(_)), "{merged:?}");
    // A new PR from the same head is a new number.
    repo.change("hoist/1", "tag: v2\nother: b\n", "again");
    assert_eq!(forge.open(&draft("hoist/1")).unwrap().number, 2);
}

#[test]
fn only_hoists_branches_are_deleted_and_a_gone_one_is_fine() {
    let repo = Repo::new();
    repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    let forge = repo.forge();
    forge.delete_branch("hoist/1").unwrap();
    forge.delete_branch("hoist/1").unwrap();
    assert!(git(&repo.remote, &["branch", "--list", "hoist/1"]).is_empty());
    assert!(matches!(
        forge.delete_branch("main"),
        Err(ForgeError::Refused(_))
    ));
    assert!(!repo.tip("main").is_empty());
}

#[test]
fn deployments_are_numbered_with_their_statuses_and_a_newer_success_supersedes() {
    let repo = Repo::new();
    let first = repo.tip("main");
    let second = repo.change("main", "tag: v2\nother: a\n", "v2");
    let forge = repo.forge();
    let a = forge.deployment("prod", &first, "api v1").unwrap();
    forge
        .deployment_status(a, DeploymentState::InProgress, "syncing")
        .unwrap();
    forge
        .deployment_status(a, DeploymentState::Success, "healthy")
        .unwrap();
    let b = forge.deployment("prod", &second, "api v2").unwrap();
    forge
        .deployment_status(b, DeploymentState::Success, "healthy")
        .unwrap();
    assert_eq!((a, b), (1, 2));
    let all = forge.deployments();
    let states = |i: usize| all[i].statuses.iter().map(|s| s.0).collect::<Vec<_>>();
    use DeploymentState::*;
    assert_eq!(states(0), [InProgress, Success, Inactive]);
    assert_eq!(states(1), [Success]);
    assert_eq!(
        (all[1].env.as_str(), all[1].sha.as_str()),
        ("prod", second.as_str())
    );
    assert!(matches!(
        forge.deployment_status(3, Success, ""),
        Err(ForgeError::Missing(_))
    ));
    let unknown = "0".repeat(40);
    assert!(matches!(
        forge.deployment("prod", &unknown, ""),
        Err(ForgeError::Missing(_))
    ));
}

#[test]
fn hostile_names_and_sizes_are_refused_before_git_sees_them() {
    let repo = Repo::new();
    let head = repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    let forge = repo.forge();
    for name in ["--upload-pack=touch pwned", "main..x", "a b", "-d", "x\ny"] {
        let refused = forge.open(&Draft {
            head: name.into(),
            ..draft("hoist/1")
        });
        assert!(
            matches!(refused, Err(ForgeError::Refused(_))),
            "{name}: {refused:?}"
        );
        let refused = forge.delete_branch(name);
        assert!(
            matches!(refused, Err(ForgeError::Refused(_))),
            "{name}: {refused:?}"
        );
    }
    assert!(!repo.work.join("pwned").exists() && !repo.remote.join("pwned").exists());
    let long = Draft {
        title: "x".repeat(MAX_TITLE + 1),
        ..draft("hoist/1")
    };
    assert!(matches!(forge.open(&long), Err(ForgeError::Refused(_))));
    assert!(matches!(
        forge.deployment("prod", "HEAD", ""),
        Err(ForgeError::Refused(_))
    ));
    assert!(matches!(forge.look(7), Err(ForgeError::Missing(_))));
    assert!(matches!(
        forge.open(&draft("hoist/none")),
        Err(ForgeError::Missing(_))
    ));
    // Text that looks like an option is a message, never an argument.
    let n = forge.open(&draft("hoist/1")).unwrap().number;
    let merged = forge.merge(n, &head, MergeMethod::Squash, "--amend", "-F /etc/passwd");
    let Ok(Merged::Merged { sha }) = merged else {
        panic!("{merged:?}")
    };
    assert!(repo.show(&sha).contains("--amend\n\n-F /etc/passwd"));
}

#[test]
fn a_saying_forge_tells_each_thing_it_did_once() {
    let repo = Repo::new();
    let head = repo.change("hoist/1", "tag: v2\nother: a\n", "api v2");
    let said = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = said.clone();
    let forge = repo
        .forge()
        .saying(move |line| sink.lock().unwrap().push(line.into()));
    forge.open(&draft("hoist/1")).unwrap();
    forge.open(&draft("hoist/1")).unwrap();
    let Ok(Merged::Merged { sha }) = forge.merge(1, &head, MergeMethod::Merge, "t", "") else {
        panic!("not merged")
    };
    forge.delete_branch("hoist/1").unwrap();
    forge.delete_branch("hoist/1").unwrap();
    let id = forge.deployment("prod", &sha, "api v2").unwrap();
    forge
        .deployment_status(id, DeploymentState::Success, "healthy")
        .unwrap();
    let short = &sha[..7];
    assert_eq!(
        *said.lock().unwrap(),
        [
            "pull request #1 opened: hoist/1 into main, labels hoist, env:prod".to_string(),
            format!("pull request #1 merged into main: merge commit {short} of hoist/1"),
            "branch hoist/1 deleted".to_string(),
            format!("deployment 1 (prod at {short}): success"),
        ]
    );
}
