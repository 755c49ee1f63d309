//! `hoist check` judges what the engine will read: `hoist.yaml` and the
//! target files as committed (not the work tree), targets planned the way a
//! deploy plans them, and hostile policies reported instead of aborting.

use crate::support::{BIN, git};
use std::path::Path;
use std::process::Command;

/// A local repository on `main` holding `files`, committed.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    write(dir.path(), files);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "config"]);
    dir
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let dest = dir.join(path);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, text).unwrap();
    }
}

/// (exit code, stdout, stderr) of `hoist check --repo DIR`.
fn check(dir: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(["check", "--repo", dir.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const VALUES: &str = "image:\n  tag: v1\n";

fn policy(targets: &str) -> String {
    format!(
        "environments:\n  staging:\n    deployers: [\"*\"]\napps:\n  api:\n    targets:\n{targets}"
    )
}

#[test]
fn check_reads_the_committed_policy_and_targets_not_the_work_tree() {
    let good = policy("      staging: { file: apps/api.yaml, yaml_path: image.tag }\n");
    let dir = repo(&[("hoist.yaml", &good), ("apps/api.yaml", VALUES)]);
    let (code, out, err) = check(dir.path());
    assert_eq!(code, Some(0), "{out}{err}");
    // Uncommitted: a broken hoist.yaml and a target that exists only on disk.
    let on_disk = policy("      staging: { file: apps/new.yaml, yaml_path: image.tag }\n");
    write(
        dir.path(),
        &[
            ("hoist.yaml", &format!("{on_disk}  nope: 1\n")),
            ("apps/new.yaml", VALUES),
        ],
    );
    let (code, out, err) = check(dir.path());
    assert_eq!(code, Some(0), "the committed policy is fine: {out}{err}");
    assert!(
        err.contains("differs from the one committed at main"),
        "{err}"
    );
    // Committing the policy without the file: the file is not in the branch.
    git(dir.path(), &["add", "hoist.yaml"]);
    git(dir.path(), &["commit", "-qm", "policy only"]);
    let (code, out, _) = check(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "hoist.yaml:7:7: app `api` in `staging`: file `apps/new.yaml` is not in branch `main`"
        ),
        "{out}"
    );
}

#[test]
fn check_refuses_targets_outside_the_tree_and_in_git_files() {
    let targets = "      staging: { file: ../../etc/passwd, marker: api }\n";
    let dir = repo(&[("hoist.yaml", &policy(targets))]);
    // On disk these exist; in git they are not targets at all.
    for (file, why) in [
        ("../../etc/passwd", "`.` or `..` segment"),
        (".git/config", "inside git's own files"),
        ("apps//x.yaml", "empty segment"),
        ("hoist.yaml", "the policy itself"),
    ] {
        let text = policy(&format!(
            "      staging: {{ file: \"{file}\", yaml_path: core.bare }}\n"
        ));
        write(dir.path(), &[("hoist.yaml", &text)]);
        git(dir.path(), &["commit", "-qam", file]);
        let (code, out, err) = check(dir.path());
        assert_eq!(code, Some(1), "{file}: {out}{err}");
        assert!(
            out.contains(&format!("\nhoist.yaml:7:24: file `{file}`: ")) && out.contains(why),
            "{file}: {out}"
        );
    }
}

#[test]
fn check_plans_each_target_as_a_deploy_would() {
    let targets = "      staging: { file: apps/api.yaml, yaml_path: image.tga }\n      prod: { file: apps/k.yaml, kustomize_image: ghcr.io/acme/nope }\n";
    let text = policy(targets).replace("apps:", "  prod:\n    deployers: [\"*\"]\napps:");
    let dir = repo(&[
        ("hoist.yaml", &text),
        ("apps/api.yaml", VALUES),
        (
            "apps/k.yaml",
            "images:\n  - name: ghcr.io/acme/api\n    newTag: v1\n",
        ),
    ]);
    let (code, out, err) = check(dir.path());
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("app `api` in `staging`: apps/api.yaml in branch `main`: YAML path `image.tga` is not in the file"),
        "{out}"
    );
    assert!(
        out.contains("app `api` in `prod`: apps/k.yaml in branch `main`: kustomize image `ghcr.io/acme/nope` is not in the file"),
        "{out}"
    );
}

#[test]
fn check_reports_hostile_policies_instead_of_aborting() {
    let deep = format!("groups:\n  sre:\n    {}x\n", "- ".repeat(100_000));
    let dir = repo(&[("hoist.yaml", &deep)]);
    let (code, out, err) = check(dir.path());
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.starts_with("hoist.yaml:3:"), "{out}");
    assert!(out.contains("nesting deeper than 64 levels"), "{out}");

    let twice = "environments:\n  prod:\n    deployers: [console:carol]\n    deployers: [\"*\"]\napps: {}\n";
    write(dir.path(), &[("hoist.yaml", twice)]);
    git(dir.path(), &["commit", "-qam", "twice"]);
    let (code, out, _) = check(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("hoist.yaml:4:5: duplicate key `deployers` (first at 3:5)"),
        "{out}"
    );
}
