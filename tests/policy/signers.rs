//! Policy signers end to end (real git, the real binary): `hoist.yaml`
//! commits signed with `git commit -S` and an SSH key listed in an
//! allowed-signers file (`HOIST_POLICY_SIGNERS`), then a human's unsigned
//! commit that drops prod's approvals. `hoist exec` still waits for two
//! approvals and says why; `hoist check` reports the policy untrusted. A
//! revert mends the chain, and the same change signed by the lead is obeyed.

use crate::support::{BIN, World, git};
use std::path::{Path, PathBuf};
use std::process::Command;

const POLICY: &str = "\
groups:
  sre: [console:carol, console:dave]
environments:
  staging:
    deployers: [\"*\"]
  prod:
    deployers: [\"*\"]
    approvals: { count: 2, from: [sre] }
apps:
  api:
    targets:
      staging: { file: apps/api/overlays/staging/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
      prod: { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
";

fn loosened() -> String {
    POLICY.replace("    approvals: { count: 2, from: [sre] }\n", "")
}

/// The lead's SSH key (a file git signs with) and an allowed-signers file listing it.
fn lead(w: &World) -> (PathBuf, PathBuf) {
    let signer = hoist::gitops::sign::Signer::generate().unwrap();
    let key = w.dir.path().join("lead_key");
    std::fs::write(&key, signer.private_openssh().unwrap().unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let allowed = w.dir.path().join("policy_signers");
    let line = format!("lead@example.com {}\n", signer.public_openssh().unwrap());
    std::fs::write(&allowed, line).unwrap();
    (key, allowed)
}

/// `git commit -S` with the lead's SSH key, in `dir`.
fn signed_commit(dir: &Path, key: &Path, args: &[&str]) {
    let signing = format!("user.signingkey={}", key.display());
    let mut all = vec!["-c", "gpg.format=ssh", "-c", &signing, "commit", "-q", "-S"];
    all.extend_from_slice(args);
    git(dir, &all);
}

/// A human clone of origin, up to date.
fn human(w: &World) -> PathBuf {
    let work = w.dir.path().join("human");
    if !work.exists() {
        git(
            w.dir.path(),
            &["clone", "-q", w.origin.to_str().unwrap(), "human"],
        );
    }
    git(&work, &["pull", "-q", "--ff-only"]);
    work
}

/// `hoist check` of `dir` with the policy signers.
fn check(dir: &Path, signers: &Path) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["check", "--repo", dir.to_str().unwrap()])
        .env("HOIST_POLICY_SIGNERS", signers)
        .env_remove("HOIST_POLICY_TRUST_FROM")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), stdout)
}

#[test]
fn an_unsigned_change_to_hoist_yaml_is_not_obeyed_and_a_signed_one_is() {
    let w = World::new();
    let (key, signers) = lead(&w);
    // The policy's first version, signed by the lead (the seed, rewritten
    // before hoist ever looks).
    let seed = w.dir.path().join("seed");
    std::fs::write(seed.join("hoist.yaml"), POLICY).unwrap();
    git(&seed, &["add", "hoist.yaml"]);
    signed_commit(&seed, &key, &["--amend", "-m", "seed: the policy, signed"]);
    git(&seed, &["push", "-qf", w.origin.to_str().unwrap(), "main"]);
    let trusted = w.tip();

    // A human drops prod's approvals without a signature.
    w.commit_file("hoist.yaml", &loosened(), "prod: no approvals needed");
    let bad = w.tip();
    let env = [
        ("HOIST_SIGNING_KEY", w.key.to_str().unwrap()),
        ("HOIST_POLICY_SIGNERS", signers.to_str().unwrap()),
    ];
    let (code, json) = w.exec_env("console:alice", "deploy api v1.2.4 to prod", &[], &env);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["state"], "awaiting-approval", "{json}");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("needs 2 approval(s) from sre"),
        "{message}"
    );
    // Whoever git recorded (CI's GIT_AUTHOR_NAME outranks the test's config).
    let author = git(&w.origin, &["log", "-1", "--format=%an <%ae>", &bad]);
    let why = format!(
        "hoist.yaml at {} by {} is not signed by a policy signer; \
         deciding with the version of {}",
        &bad[..7],
        author.trim(),
        &trusted[..7]
    );
    assert!(message.contains(&why), "{message}");
    assert_eq!(w.tip(), bad, "nothing written");

    let work = human(&w);
    let (code, out) = check(&work, &signers);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("hoist.yaml:1:1: not trusted: {why}")),
        "{out}"
    );

    // Reverting it mends the chain; the same change signed by the lead is obeyed.
    git(&work, &["revert", "--no-edit", "HEAD"]);
    std::fs::write(work.join("hoist.yaml"), loosened()).unwrap();
    git(&work, &["add", "hoist.yaml"]);
    signed_commit(&work, &key, &["-m", "prod: no approvals needed (signed)"]);
    git(&work, &["push", "-q", "origin", "main"]);
    let (code, out) = check(&work, &signers);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("hoist.yaml: trusted"), "{out}");
    let (code, json) = w.exec_env("console:alice", "deploy api v1.2.5 to prod", &[], &env);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["state"], "pushed", "{json}");
    assert!(
        !json["message"].as_str().unwrap().contains("not signed"),
        "{json}"
    );
}

#[test]
fn without_policy_signers_the_unsigned_change_decides_as_before() {
    let w = World::new();
    let seed = w.dir.path().join("seed");
    std::fs::write(seed.join("hoist.yaml"), POLICY).unwrap();
    git(&seed, &["commit", "-qam", "seed: the policy"]);
    git(&seed, &["push", "-qf", w.origin.to_str().unwrap(), "main"]);
    w.commit_file("hoist.yaml", &loosened(), "prod: no approvals needed");
    let (code, json) = w.exec("console:alice", "deploy api v1.2.4 to prod");
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["state"], "pushed", "{json}");
}
