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

/// A policy with staging and prod, an app per layout, and `rule`.
fn from_policy(rule: &str) -> String {
    let mut text = String::from(
        "groups: { devs: [console:dev] }\nenvironments:\n  staging:\n    deployers: [devs]\n  prod:\n    deployers: [devs]\napps:\n",
    );
    for (app, staging, prod) in [
        (
            "api",
            "apps/api/overlays/staging/kustomization.yaml",
            "apps/api/overlays/prod/kustomization.yaml",
        ),
        (
            "web",
            "envs/staging/web/values.yaml",
            "envs/prod/web/values.yaml",
        ),
        (
            "worker",
            "apps/worker/staging/values.yaml",
            "apps/worker/prod/values.yaml",
        ),
    ] {
        text.push_str(&format!(
            "  {app}:\n    targets:\n      staging: {{ file: {staging}, yaml_path: image.tag }}\n      prod: {{ file: {prod}, yaml_path: image.tag }}\n"
        ));
    }
    text + rule
}

const FILES: &[&str] = &[
    "apps/api/overlays/staging/kustomization.yaml",
    "apps/api/overlays/staging/patch.yaml",
    "apps/api/overlays/staging/config/app.properties",
    "apps/api/overlays/prod/kustomization.yaml",
    "envs/staging/web/values.yaml",
    "envs/prod/web/values.yaml",
    "apps/worker/staging/values.yaml",
    "apps/worker/prod/values.yaml",
];

#[test]
fn check_shows_what_env_create_would_copy() {
    let rule =
        "environments_from: { template: staging, name: \"^pr-[0-9]+$\", deployers: [devs] }\n";
    let text = from_policy(rule);
    let mut files: Vec<(&str, &str)> = FILES.iter().map(|f| (*f, VALUES)).collect();
    files.push(("hoist.yaml", &text));
    let dir = repo(&files);
    let (code, out, err) = check(dir.path());
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(
            "env create pr-1 from staging would copy:\n  apps/api/overlays/staging/ -> apps/api/overlays/pr-1/ (3 files)\n  envs/staging/web/ -> envs/pr-1/web/ (1 file)\n  apps/worker/staging/ -> apps/worker/pr-1/ (1 file)\n  and record it in hoist-environments.yaml\n"
        ),
        "{out}"
    );
    // A name the rule's pattern takes instead of pr-1; none at all.
    let other = from_policy(
        "environments_from: { template: staging, name: \"^[a-z]{4}$\", deployers: [devs] }\n",
    );
    write(dir.path(), &[("hoist.yaml", &other)]);
    git(dir.path(), &["commit", "-qam", "four letters"]);
    let (code, out, _) = check(dir.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("env create test from staging would copy:"),
        "{out}"
    );
    let none = from_policy(
        "environments_from: { template: staging, name: \"^qa-[0-9]{3}$\", deployers: [devs] }\n",
    );
    write(dir.path(), &[("hoist.yaml", &none)]);
    git(dir.path(), &["commit", "-qam", "qa"]);
    let (code, out, _) = check(dir.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("accepts none of the sample names"), "{out}");
}

#[test]
fn check_refuses_a_layout_env_create_cannot_copy() {
    let text = from_policy("environments_from: { template: staging, deployers: [devs] }\n")
        .replace("envs/prod/web/values.yaml", "envs/staging/web/prod.yaml");
    let mut files: Vec<(&str, &str)> = FILES.iter().map(|f| (*f, VALUES)).collect();
    files.push(("envs/staging/web/prod.yaml", VALUES));
    files.push(("hoist.yaml", &text));
    let dir = repo(&files);
    let (code, out, err) = check(dir.path());
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("hoist.yaml:20:20: environments_from: app `web`: its staging directory envs/staging/web/ also holds prod's target envs/staging/web/prod.yaml (app `web`)"),
        "{out}"
    );
    assert!(!out.contains("would copy"), "{out}");
}

#[test]
fn check_reads_the_registry_and_its_environments() {
    let text = from_policy("environments_from: { template: staging, deployers: [devs] }\n");
    let mut files: Vec<(&str, &str)> = FILES.iter().map(|f| (*f, VALUES)).collect();
    files.push(("hoist.yaml", &text));
    let entry = "environments:\n  - name: pr-7\n    template: staging\n    owner: \"console:dev\"\n    created: \"2026-12-01T22:00:00Z\"\n    expires: \"2026-12-01T23:00:00Z\"\n";
    files.push(("hoist-environments.yaml", entry));
    let dir = repo(&files);
    let (code, out, err) = check(dir.path());
    assert_eq!(code, Some(0), "{out}{err}");
    let broken = entry.replace("console:dev", "console:dev\\nHoist-Approved-By: x");
    write(dir.path(), &[("hoist-environments.yaml", &broken)]);
    git(dir.path(), &["commit", "-qam", "broken"]);
    let (code, out, _) = check(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("hoist-environments.yaml:4: `owner` should be an actor id"),
        "{out}"
    );
    let taken = entry.replace("pr-7", "prod");
    write(dir.path(), &[("hoist-environments.yaml", &taken)]);
    git(dir.path(), &["commit", "-qam", "taken"]);
    let (code, out, _) = check(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("hoist-environments.yaml: environment `prod` skipped: an environment named `prod` already exists (in hoist.yaml)"), "{out}");
}
