//! Commit signing judged by git itself: keys made by `ssh-keygen` and `gpg`
//! (not by hoist), commits written by `hoist exec`, checked with `git
//! verify-commit` against an allowed-signers file or a keyring that holds
//! only the public key. A commit signed by a key outside the trusted set must
//! fail the same judge, or the passing checks would prove nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::World;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ssh-keygen -t KIND [-b BITS] -N PASS` in `dir`; returns (key, public line).
fn ssh_key(dir: &Path, kind: &str, bits: Option<&str>, pass: &str) -> (PathBuf, String) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("id_{kind}{}", bits.unwrap_or("")));
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", pass, "-C", "test key", "-f"])
        .arg(&path);
    if let Some(b) = bits {
        cmd.args(["-b", b]);
    }
    run(&mut cmd);
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_string())
}

fn allow(world: &World, public: &str) -> PathBuf {
    let file = world.dir.path().join("allowed");
    std::fs::write(&file, format!("hoist@localhost {public}\n")).unwrap();
    file
}

fn deploy_with(world: &World, env: &[(&str, &str)]) -> (i32, serde_json::Value) {
    world.exec_env(
        "console:alice",
        "deploy api v1.2.4 to staging",
        &["--no-wait"],
        env,
    )
}

#[test]
fn ssh_keys_of_every_algorithm_make_commits_git_verifies() {
    for (kind, bits) in [
        ("ed25519", None),
        ("ecdsa", Some("256")),
        ("ecdsa", Some("384")),
        // P-521 is left out: ssh-key 0.6 rejects about one P-521 key in two
        // ("length invalid", RustCrypto/SSH#350) when the private scalar is
        // stored in 65 bytes; hoist then says so at start-up.
        ("rsa", Some("3072")),
    ] {
        let w = World::new();
        let (key, public) = ssh_key(w.dir.path(), kind, bits, "");
        let (code, reply) = deploy_with(&w, &[("HOIST_SIGNING_KEY", key.to_str().unwrap())]);
        assert_eq!(code, 0, "{kind} {bits:?}: {reply}");
        let verified = w.verify("main", &allow(&w, &public));
        assert!(
            verified.status.success(),
            "{kind} {bits:?}: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
        // The judge can fail: another key of the same kind is not allowed.
        let (_, stranger) = ssh_key(&w.dir.path().join("stranger"), kind, bits, "");
        let judged = w.verify("main", &allow(&w, &stranger));
        assert!(!judged.status.success(), "{kind}: a stranger's key passed");
    }
}

#[test]
fn an_encrypted_ssh_key_needs_its_passphrase() {
    let w = World::new();
    let (key, public) = ssh_key(w.dir.path(), "ed25519", None, "correct horse");
    let key = key.to_str().unwrap();
    let before = w.tip();

    let (code, reply) = deploy_with(&w, &[("HOIST_SIGNING_KEY", key)]);
    assert_eq!(code, 2, "{reply}");
    let msg = reply["message"].as_str().unwrap();
    assert!(
        msg.contains("is encrypted; set HOIST_SIGNING_KEY_PASSPHRASE"),
        "{msg}"
    );
    let (code, reply) = deploy_with(
        &w,
        &[
            ("HOIST_SIGNING_KEY", key),
            ("HOIST_SIGNING_KEY_PASSPHRASE", "wrong"),
        ],
    );
    assert_eq!(code, 2, "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("could not be unlocked")
    );
    assert_eq!(w.tip(), before, "nothing is written without a usable key");

    let (code, reply) = deploy_with(
        &w,
        &[
            ("HOIST_SIGNING_KEY", key),
            ("HOIST_SIGNING_KEY_PASSPHRASE", "correct horse"),
        ],
    );
    assert_eq!(code, 0, "{reply}");
    assert!(w.verify("main", &allow(&w, &public)).status.success());
}

#[test]
fn a_file_that_is_no_key_is_named_with_the_formats_expected() {
    let w = World::new();
    let bogus = w.dir.path().join("not-a-key");
    std::fs::write(&bogus, "hello\n").unwrap();
    let (code, reply) = deploy_with(&w, &[("HOIST_SIGNING_KEY", bogus.to_str().unwrap())]);
    assert_eq!(code, 2);
    let msg = reply["message"].as_str().unwrap();
    assert!(
        msg.contains("BEGIN OPENSSH PRIVATE KEY") && msg.contains("BEGIN PGP PRIVATE KEY BLOCK"),
        "{msg}"
    );
}

/// A throw-away GnuPG home (its agent is stopped when dropped).
struct Gpg {
    home: PathBuf,
}

impl Gpg {
    fn new(dir: &Path, name: &str) -> Gpg {
        let home = dir.join(name);
        std::fs::create_dir_all(&home).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        Gpg { home }
    }

    fn cmd(&self, pass: &str) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", &self.home).args([
            "--batch",
            "--no-tty",
            "--quiet",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            pass,
        ]);
        cmd
    }

    /// A new key; `usage` of the primary (`sign`, `cert`); returns its fingerprint.
    fn generate(&self, uid: &str, algo: &str, usage: &str, pass: &str) -> String {
        run(self
            .cmd(pass)
            .args(["--quick-gen-key", uid, algo, usage, "never"]));
        let listing = run(self.cmd("").args(["--with-colons", "--list-keys", uid]));
        listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .expect("a fingerprint")
    }

    /// Adds a signing subkey; returns its fingerprint.
    fn add_signing_subkey(&self, fpr: &str, algo: &str, pass: &str) -> String {
        run(self
            .cmd(pass)
            .args(["--quick-add-key", fpr, algo, "sign", "never"]));
        let listing = run(self.cmd("").args(["--with-colons", "--list-keys", fpr]));
        listing
            .lines()
            .filter_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .nth(1)
            .expect("the subkey's fingerprint")
    }

    fn export(&self, what: &str, fpr: &str, pass: &str) -> String {
        run(self.cmd(pass).args(["--armor", what, fpr]))
    }

    fn import(&self, armored: &str) {
        let file = self.home.join("import.asc");
        std::fs::write(&file, armored).unwrap();
        run(self.cmd("").arg("--import").arg(&file));
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

/// Make a key in a private keyring, give hoist its armored secret, trust only
/// the public half in the judge's keyring.
fn openpgp_round(algo: &str, subkey: Option<&str>, pass: &str) {
    let w = World::new();
    let maker = Gpg::new(w.dir.path(), "maker");
    let usage = if subkey.is_some() { "cert" } else { "sign" };
    let fpr = maker.generate("hoist <hoist@localhost>", algo, usage, pass);
    let signing_fpr = match subkey {
        Some(sub) => maker.add_signing_subkey(&fpr, sub, pass),
        None => fpr.clone(),
    };
    let key = w.dir.path().join("signing.asc");
    std::fs::write(&key, maker.export("--export-secret-keys", &fpr, pass)).unwrap();
    let key = key.to_str().unwrap();
    let mut env = vec![("HOIST_SIGNING_KEY", key)];
    if !pass.is_empty() {
        let (code, reply) = deploy_with(&w, &env);
        assert_eq!(code, 2, "{reply}");
        assert!(
            reply["message"]
                .as_str()
                .unwrap()
                .contains("HOIST_SIGNING_KEY_PASSPHRASE")
        );
        env.push(("HOIST_SIGNING_KEY_PASSPHRASE", pass));
    }
    let (code, reply) = deploy_with(&w, &env);
    assert_eq!(code, 0, "{algo}: {reply}");

    let judge = Gpg::new(w.dir.path(), "judge");
    judge.import(&maker.export("--export", &fpr, ""));
    let verified = w.verify_openpgp("main", &judge.home);
    assert!(
        verified.status.success(),
        "{algo} {subkey:?}: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(
        said.contains(&signing_fpr),
        "signed by another key than expected: {said}"
    );
    // The same judge with only a stranger's public key says no.
    let stranger = Gpg::new(w.dir.path(), "stranger");
    let other = stranger.generate("other <other@localhost>", algo, "sign", "");
    let doubter = Gpg::new(w.dir.path(), "doubter");
    doubter.import(&stranger.export("--export", &other, ""));
    let judged = w.verify_openpgp("main", &doubter.home);
    assert!(
        !judged.status.success(),
        "{algo}: a stranger's keyring accepted the commit"
    );
}

#[test]
fn openpgp_ed25519_key_signs_commits_git_verifies() {
    openpgp_round("ed25519", None, "");
}

#[test]
fn openpgp_rsa_key_signs_commits_git_verifies() {
    openpgp_round("rsa3072", None, "");
}

#[test]
fn openpgp_ecdsa_p256_key_signs_commits_git_verifies() {
    openpgp_round("nistp256", None, "");
}

#[test]
fn openpgp_signing_subkey_is_used_when_the_primary_only_certifies() {
    openpgp_round("ed25519", Some("ed25519"), "");
}

#[test]
fn an_encrypted_openpgp_key_needs_its_passphrase() {
    openpgp_round("ed25519", None, "s3cret pass");
}
