//! The in-memory config repo the engine tests run on behaves as the git one
//! does where the engine relies on it: pushes are a compare-and-swap that
//! never drops someone else's commit, hoist reads only what it fetched or
//! wrote, ancestry answers `contains`, and history walks first parents with
//! trailers and hoist's signature.

use crate::engine::ports::{ConfigRepo, RepoError, Sha};
use crate::gitops::memory::Memory;
use crate::policy::{Locator, Target};

const FILE: &str = "app/values.yaml";

fn target() -> Target {
    Target {
        file: FILE.into(),
        locator: Locator::YamlPath("image.tag".into()),
        pos: Default::default(),
    }
}

fn repo() -> Memory {
    Memory::new("main", [(FILE, "image:\n  tag: v1 # pinned\n")]).signing()
}

/// hoist sets the tag to `version` on top of `base` and commits.
fn hoist_commit(repo: &Memory, base: &str, version: &str, message: &str) -> Sha {
    let edits = [(target(), version.parse().unwrap())];
    let plan = repo.plan("main", base, &edits).unwrap();
    repo.commit(&plan, message, true).unwrap()
}

#[test]
fn push_is_a_compare_and_swap_on_the_remote_tip() {
    let repo = repo();
    let base = repo.known_tip("main").unwrap();
    let mine = hoist_commit(&repo, &base, "v2", "set v2");
    assert_eq!(
        repo.remote_tip("main"),
        Some(base.clone()),
        "not pushed yet"
    );
    let theirs = repo.commit_as_someone_else("main", "README", "hi", "docs");
    assert_eq!(repo.known_tip("main").unwrap(), base, "not fetched yet");
    assert!(
        repo.read_file(&theirs, "README").is_err(),
        "not fetched yet"
    );
    let stale = repo.push("main", &mine, &base);
    assert!(matches!(stale, Err(RepoError::Stale(_))), "{stale:?}");
    let refused = repo.push("main", &mine, &theirs);
    assert!(matches!(refused, Err(RepoError::Refused(_))), "{refused:?}");
    assert_eq!(repo.remote_tip("main"), Some(theirs.clone()));
    // Fetch, re-plan on top of their commit, push: both changes are kept.
    let tip = repo.refresh("main").unwrap();
    assert_eq!(tip, theirs);
    let mine = hoist_commit(&repo, &tip, "v2", "set v2");
    repo.push("main", &mine, &tip).unwrap();
    assert_eq!(repo.known_tip("main").unwrap(), mine);
    assert_eq!(
        repo.read_file(&mine, "README").unwrap(),
        Some(b"hi".to_vec())
    );
    let text = repo.read_file(&mine, FILE).unwrap().unwrap();
    assert_eq!(text, b"image:\n  tag: v2 # pinned\n", "a surgical edit");
    assert_eq!(
        repo.read_value(&mine, &target()).unwrap().as_deref(),
        Some("v2")
    );
}

#[test]
fn signing_needs_a_key() {
    let repo = Memory::new("main", [(FILE, "image:\n  tag: v1\n")]);
    assert!(!repo.can_sign());
    let tip = repo.refresh("main").unwrap();
    let plan = repo
        .plan("main", &tip, &[(target(), "v2".parse().unwrap())])
        .unwrap();
    let e = repo.commit(&plan, "set v2", true).unwrap_err();
    assert_eq!(e.kind(), "repo_signing");
    let unsigned = repo.commit(&plan, "set v2", false).unwrap();
    assert!(!repo.commit_at(&unsigned).unwrap().signed);
}

#[test]
fn contains_walks_ancestry_and_history_the_first_parents() {
    let repo = repo();
    let c0 = repo.refresh("main").unwrap();
    let c1 = hoist_commit(
        &repo,
        &c0,
        "v2",
        "set v2\n\nHoist-Operation: 1\nHoist-Requested-By: a\n",
    );
    repo.push("main", &c1, &c0).unwrap();
    let forged = repo.commit_as_someone_else(
        "main",
        FILE,
        "image:\n  tag: v3\n",
        "v3\n\nHoist-Approved-By: me",
    );
    repo.commit_as_someone_else("main", "README", "hi", "docs");
    let tip = repo.refresh("main").unwrap();
    assert!(repo.contains(&tip, &c1).unwrap());
    assert!(repo.contains(&tip, &tip[..7]).unwrap(), "a short id");
    assert!(repo.contains(&c1, &c1).unwrap());
    assert!(
        !repo.contains(&c1, &tip).unwrap(),
        "a descendant is not contained"
    );
    assert!(repo.contains(&tip, "0000000").is_err(), "unknown commit");
    let h = repo.history(&tip, &target(), 10).unwrap();
    let values: Vec<_> = h.iter().map(|r| r.value.as_deref()).collect();
    assert_eq!(values, [Some("v3"), Some("v2"), Some("v1")]);
    assert_eq!(
        (h[0].sha.as_str(), h[1].sha.as_str(), h[2].sha.as_str()),
        (&*forged, &*c1, &*c0)
    );
    assert!(!h[0].signed_by_hoist && h[1].signed_by_hoist);
    assert_eq!(h[0].trailers, [("Hoist-Approved-By".into(), "me".into())]);
    assert_eq!(h[1].subject, "set v2");
    assert_eq!(h[1].trailers[1], ("Hoist-Requested-By".into(), "a".into()));
    assert_eq!(repo.history(&tip, &target(), 1).unwrap().len(), 1);
}
