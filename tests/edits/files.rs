//! Whole files in the config repo, as environments made from templates need
//! them: `list_files` of a directory and commits that write and remove whole
//! files, through a real mirror of a real bare origin (and the in-memory
//! repo the engine's tests use, which must agree), judged afterwards by
//! git itself (`fsck`, `ls-tree`).

use hoist::engine::ports::{ConfigRepo, MAX_LISTED_FILES, Plan, RepoError};
use hoist::gitops::memory::Memory;
use hoist::gitops::{Author, GitRepo};
use std::path::Path;
use std::process::Command;

/// git in `dir`, with an identity from the environment (not from any
/// configuration) and no system or global configuration.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Human")
        .env("GIT_AUTHOR_EMAIL", "human@example.com")
        .env("GIT_COMMITTER_NAME", "Human")
        .env("GIT_COMMITTER_EMAIL", "human@example.com")
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The files of the origin's first commit; `run.sh` is executable and
/// `apps/web/staging/current` a symlink.
const FILES: [(&str, &str); 8] = [
    ("hoist.yaml", "apps: {}\n"),
    (
        "apps/api/overlays/staging/kustomization.yaml",
        "namespace: staging\n",
    ),
    ("apps/api/overlays/staging/patches/b.yaml", "b: 1\n"),
    ("apps/api/overlays/staging/patches/a.yaml", "a: 1\n"),
    ("apps/api/overlays/staging/run.sh", "#!/bin/sh\necho old\n"),
    ("apps/api/overlays/staging-old/x.yaml", "x: 1\n"),
    ("apps/api/overlays/stagin/y.yaml", "y: 1\n"),
    ("apps/worker/staging/values.yaml", "tag: 1\n"),
];

struct Origin {
    dir: tempfile::TempDir,
    repo: GitRepo,
}

impl Origin {
    /// A bare origin holding [`FILES`] (and what `extra` adds to the work
    /// tree before the commit), and hoist's mirror of it.
    fn new(extra: impl FnOnce(&Path)) -> Origin {
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("seed");
        for (path, text) in FILES {
            let dest = seed.join(path);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::write(dest, text).unwrap();
        }
        std::fs::create_dir_all(seed.join("apps/web/staging")).unwrap();
        std::fs::write(seed.join("apps/web/staging/only.yaml"), "only: 1\n").unwrap();
        extra(&seed);
        git(&seed, &["init", "-q", "-b", "main"]);
        git(&seed, &["add", "-A"]);
        git(
            &seed,
            &[
                "update-index",
                "--chmod=+x",
                "apps/api/overlays/staging/run.sh",
            ],
        );
        git(&seed, &["commit", "-qm", "seed"]);
        git(dir.path(), &["clone", "-q", "--bare", "seed", "origin.git"]);
        let origin = dir.path().join("origin.git");
        let repo = GitRepo::open(
            &dir.path().join("data"),
            origin.to_str().unwrap(),
            None,
            Author::default(),
            &Default::default(),
        )
        .unwrap();
        Origin { dir, repo }
    }

    fn origin(&self) -> std::path::PathBuf {
        self.dir.path().join("origin.git")
    }
}

/// The in-memory repo with what [`Origin::new`] commits without `extra`:
/// [`FILES`] and web's only file.
fn memory_like_origin() -> Memory {
    Memory::new(
        "main",
        FILES
            .iter()
            .chain([&("apps/web/staging/only.yaml", "only: 1\n")])
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())),
    )
}

fn staging() -> Vec<String> {
    [
        "apps/api/overlays/staging/kustomization.yaml",
        "apps/api/overlays/staging/patches/a.yaml",
        "apps/api/overlays/staging/patches/b.yaml",
        "apps/api/overlays/staging/run.sh",
    ]
    .map(String::from)
    .to_vec()
}

/// The same questions asked of any [`ConfigRepo`] holding [`FILES`].
fn lists_like_git(repo: &dyn ConfigRepo) {
    let tip = repo.refresh("main").unwrap();
    // Nested, sorted, from the root; siblings sharing a prefix left out.
    assert_eq!(
        repo.list_files(&tip, "apps/api/overlays/staging").unwrap(),
        staging()
    );
    assert_eq!(
        repo.list_files(&tip, "apps/api/overlays/staging/").unwrap(),
        staging()
    );
    assert_eq!(
        repo.list_files(&tip, "apps/worker/staging").unwrap(),
        ["apps/worker/staging/values.yaml"]
    );
    // Absent: nothing.
    for absent in [
        "apps/api/overlays/pr-1",
        "nowhere",
        "apps/api/overlays/stag",
    ] {
        assert_eq!(
            repo.list_files(&tip, absent).unwrap(),
            Vec::<String>::new(),
            "{absent}"
        );
    }
    // A file is not a directory.
    let err = repo
        .list_files(&tip, "apps/worker/staging/values.yaml")
        .unwrap_err();
    assert!(
        matches!(&err, RepoError::Target(m) if m.contains("values.yaml")),
        "{err:?}"
    );
}

#[test]
fn list_files_lists_a_directory_like_git_does() {
    let o = Origin::new(|_| {});
    lists_like_git(&o.repo);
    let memory = Memory::new(
        "main",
        FILES
            .iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())),
    );
    lists_like_git(&memory);
}

#[test]
fn a_symlink_or_too_many_files_cannot_be_listed() {
    let o = Origin::new(|seed| {
        std::os::unix::fs::symlink("only.yaml", seed.join("apps/web/staging/current")).unwrap();
        let many = seed.join("apps/big/staging");
        for i in 0..=MAX_LISTED_FILES {
            let dest = many.join(format!("d{}/f{i}.yaml", i % 7));
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::write(dest, format!("i: {i}\n")).unwrap();
        }
    });
    let tip = o.repo.refresh("main").unwrap();
    let err = o.repo.list_files(&tip, "apps/web/staging").unwrap_err();
    assert!(
        matches!(&err, RepoError::Target(m) if m.contains("apps/web/staging/current") && m.contains("symlink")),
        "{err:?}"
    );
    // Above it too: the whole directory would be copied.
    assert!(matches!(
        o.repo.list_files(&tip, "apps/web"),
        Err(RepoError::Target(_))
    ));
    let err = o.repo.list_files(&tip, "apps/big/staging").unwrap_err();
    assert!(
        matches!(&err, RepoError::Target(m) if m.contains(&MAX_LISTED_FILES.to_string())),
        "{err:?}"
    );
    let memory = Memory::new(
        "main",
        (0..=MAX_LISTED_FILES).map(|i| (format!("big/f{i}"), b"x".to_vec())),
    );
    let tip = memory.refresh("main").unwrap();
    assert!(matches!(
        memory.list_files(&tip, "big"),
        Err(RepoError::Target(_))
    ));
}

/// A plan making `pr-1` from `staging` and removing `web`'s only file.
fn plan(tip: &str) -> Plan {
    let mut writes: Vec<(String, Vec<u8>)> = staging()
        .into_iter()
        .map(|p| {
            let bytes = format!("copy of {p}\n").into_bytes();
            (p.replace("/staging/", "/pr-1/"), bytes)
        })
        .collect();
    writes.push((
        "apps/api/overlays/staging/run.sh".into(),
        b"#!/bin/sh\necho new\n".to_vec(),
    ));
    writes.push((
        "envs/pr-1/deep/er/still/file.yaml".into(),
        b"deep: true\n".to_vec(),
    ));
    writes.push((
        "hoist-environments.yaml".into(),
        b"environments: []\n".to_vec(),
    ));
    Plan {
        branch: "main".into(),
        base: tip.into(),
        files: Vec::new(),
        writes,
        removes: vec![
            "apps/web/staging/only.yaml".into(),
            "apps/api/overlays/staging/patches/a.yaml".into(),
        ],
    }
}

#[test]
fn writes_and_removes_make_one_commit_git_accepts() {
    let o = Origin::new(|_| {});
    let tip = o.repo.refresh("main").unwrap();
    let plan = plan(&tip);
    assert!(!plan.is_noop());
    let commit = o.repo.commit(&plan, "env create pr-1\n", false).unwrap();
    // Readable before the push (the chain being built), and as planned.
    assert_eq!(
        o.repo
            .list_files(&commit, "apps/api/overlays/pr-1")
            .unwrap(),
        staging()
            .iter()
            .map(|p| p.replace("/staging/", "/pr-1/"))
            .collect::<Vec<_>>()
    );
    o.repo.push("main", &commit, &tip).unwrap();
    assert_eq!(o.repo.refresh("main").unwrap(), commit);

    let origin = o.origin();
    git(&origin, &["fsck", "--strict", "--no-dangling"]);
    assert_eq!(git(&origin, &["rev-parse", "main^"]).trim(), tip);
    let tree = git(&origin, &["ls-tree", "-r", "-t", "main"]);
    let mode_of = |path: &str| {
        tree.lines()
            .find(|l| l.ends_with(&format!("\t{path}")))
            .map(|l| l.split(' ').next().unwrap().to_string())
    };
    // The executable replaced stays executable; new files are plain files.
    assert_eq!(
        mode_of("apps/api/overlays/staging/run.sh").as_deref(),
        Some("100755")
    );
    assert_eq!(
        mode_of("apps/api/overlays/pr-1/run.sh").as_deref(),
        Some("100644")
    );
    assert_eq!(
        mode_of("envs/pr-1/deep/er/still/file.yaml").as_deref(),
        Some("100644")
    );
    assert_eq!(mode_of("envs/pr-1/deep/er").as_deref(), Some("040000"));
    // Removed, and a directory left empty is gone with its last file.
    assert_eq!(mode_of("apps/web/staging/only.yaml"), None);
    assert_eq!(mode_of("apps/web/staging"), None);
    assert_eq!(mode_of("apps/web"), None);
    assert_eq!(mode_of("apps/api/overlays/staging/patches/a.yaml"), None);
    assert!(mode_of("apps/api/overlays/staging/patches/b.yaml").is_some());
    // Every other file is where it was, byte for byte.
    let show = |path: &str| git(&origin, &["show", &format!("main:{path}")]);
    assert_eq!(
        show("apps/api/overlays/staging/run.sh"),
        "#!/bin/sh\necho new\n"
    );
    assert_eq!(
        show("apps/api/overlays/pr-1/patches/b.yaml"),
        "copy of apps/api/overlays/staging/patches/b.yaml\n"
    );
    for (path, text) in FILES {
        if path != "apps/api/overlays/staging/run.sh" && !path.ends_with("patches/a.yaml") {
            assert_eq!(show(path), text, "{path}");
        }
    }
    // The diff is exactly the plan.
    let diff = git(&origin, &["diff", "--name-status", "main^", "main"]);
    assert_eq!(diff.lines().count(), 9, "{diff}");
}

#[test]
fn memory_commits_the_same_files() {
    let memory = memory_like_origin();
    let tip = memory.refresh("main").unwrap();
    let commit = memory
        .commit(&plan(&tip), "env create pr-1\n", false)
        .unwrap();
    memory.push("main", &commit, &tip).unwrap();
    assert_eq!(
        memory.list_files(&commit, "apps/web").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        memory.list_files(&commit, "envs").unwrap(),
        ["envs/pr-1/deep/er/still/file.yaml"]
    );
    assert_eq!(
        memory
            .list_files(&commit, "apps/api/overlays/staging/patches")
            .unwrap(),
        ["apps/api/overlays/staging/patches/b.yaml"]
    );
    assert_eq!(
        memory
            .read_file(&commit, "apps/api/overlays/staging/run.sh")
            .unwrap()
            .unwrap(),
        b"#!/bin/sh\necho new\n"
    );
}

/// The same refusals from any [`ConfigRepo`] holding [`FILES`] and
/// `apps/web/staging/only.yaml`: nothing is committed.
fn refuses_like_git(repo: &dyn ConfigRepo) {
    let tip = repo.refresh("main").unwrap();
    for dir in [
        "",
        "/",
        "..",
        "apps//worker/staging",
        "./apps",
        "apps/../apps",
        "a\\b",
    ] {
        assert!(
            matches!(repo.list_files(&tip, dir), Err(RepoError::Target(_))),
            "{dir:?}"
        );
    }
    let plan = |writes: &[&str], removes: &[&str]| Plan {
        branch: "main".into(),
        base: tip.clone(),
        files: Vec::new(),
        writes: writes
            .iter()
            .map(|p| (p.to_string(), b"x\n".to_vec()))
            .collect(),
        removes: removes.iter().map(|p| p.to_string()).collect(),
    };
    let refused = [
        // A file written over a directory would drop the directory.
        plan(&["apps/web"], &[]),
        plan(&["apps/web/staging"], &[]),
        // Under a file: a tree with a file and a directory of one name.
        plan(&["hoist.yaml/x"], &[]),
        plan(&["new/a", "new/a/b"], &[]),
        // A directory is not removed as a file.
        plan(&[], &["apps/web"]),
        // Not paths of a tree.
        plan(&["a//b"], &[]),
        plan(&["../b"], &[]),
        plan(&["/abs"], &[]),
        plan(&[""], &[]),
        plan(&[".git/config"], &[]),
        plan(&["x/.GIT/hooks/post-checkout"], &[]),
        plan(&[], &["../hoist.yaml"]),
    ];
    for plan in refused {
        let r = repo.commit(&plan, "m\n", false);
        assert!(
            matches!(r, Err(RepoError::Target(_))),
            "{:?} {:?}: {r:?}",
            plan.writes.iter().map(|w| &w.0).collect::<Vec<_>>(),
            plan.removes
        );
    }
    // Removing a file that is not there changes nothing and is no error.
    assert!(repo.commit(&plan(&[], &["nope/x"]), "m\n", false).is_ok());
}

#[test]
fn plans_that_would_break_the_tree_are_refused() {
    let o = Origin::new(|_| {});
    refuses_like_git(&o.repo);
    git(&o.origin(), &["fsck", "--strict"]);
    let memory = memory_like_origin();
    refuses_like_git(&memory);
}

#[test]
fn a_file_name_that_is_not_utf8_cannot_be_listed() {
    use std::os::unix::ffi::OsStrExt;
    let o = Origin::new(|seed| {
        let name = std::ffi::OsStr::from_bytes(b"bad-\xff.yaml");
        std::fs::write(seed.join("apps/worker/staging").join(name), "x: 1\n").unwrap();
    });
    let tip = o.repo.refresh("main").unwrap();
    let err = o.repo.list_files(&tip, "apps/worker").unwrap_err();
    assert!(
        matches!(&err, RepoError::Target(m) if m.contains("UTF-8")),
        "{err:?}"
    );
}
