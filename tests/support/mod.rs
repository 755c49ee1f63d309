//! Test fixtures: real git repositories on disk (a bare "origin" seeded from
//! the example config repo), throw-away signing keys with an allowed-signers
//! file, and helpers that run the `hoist` binary and the `git` CLI as judge.

#![allow(dead_code)]

pub mod discord;
pub mod github;
pub mod harness;
pub mod http_git;
pub mod kube;
pub mod loopback;
pub mod objects;
pub mod slack;

use hoist::gitops::sign::Signer;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_hoist");

/// `hoist serve` as a child process, killed when dropped.
pub struct Bot {
    pub child: std::process::Child,
    pub addr: String,
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bot {
    /// Start `cmd` (from [`serve_command`]) and read where it listens.
    pub fn start(mut cmd: Command) -> Bot {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("hoist serve starts");
        let addr = loopback::listening(&mut child);
        Bot { child, addr }
    }

    /// SIGKILL the process (no shutdown of any kind, as a node dies) and
    /// reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hoist serve` of `repo` with `world`'s data dir on 127.0.0.1:0, and none
/// of the developer's cluster, Slack or signing settings: tests add theirs.
pub fn serve_command(world: &World, repo: &str) -> Command {
    serve_command_in(world, repo, &world.data)
}

/// [`serve_command`] with a data dir of its own (one of several replicas
/// of the same world).
pub fn serve_command_in(world: &World, repo: &str, data: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--repo", repo])
        .args(["--data-dir", data.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("SLACK_APP_TOKEN")
        .env_remove("SLACK_SIGNING_SECRET")
        .env_remove("DISCORD_TOKEN")
        .env_remove("DISCORD_PUBLIC_KEY")
        .env_remove("DISCORD_API_URL")
        .env_remove("HOIST_SIGNING_KEY")
        .env("HOME", world.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1");
    no_github(&mut cmd);
    cmd
}

/// None of the developer's GitHub settings: tests that use GitHub pass
/// the fake's.
pub fn no_github(cmd: &mut Command) {
    for var in [
        "GITHUB_TOKEN",
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_APP_INSTALLATION_ID",
        "GITHUB_API_URL",
        "GITHUB_WEBHOOK_SECRET",
        "HOIST_GITHUB_REPO",
        "HOIST_GITHUB_POLL",
    ] {
        cmd.env_remove(var);
    }
}

/// Run git in `dir` with a clean, deterministic configuration.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
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

/// A config repo world: origin, data dir, key.
pub struct World {
    pub dir: tempfile::TempDir,
    pub origin: PathBuf,
    pub data: PathBuf,
    pub key: PathBuf,
    pub allowed_signers: PathBuf,
}

impl World {
    /// A bare origin seeded from `deploy/example-config-repo`, and a signing key.
    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let seed = dir.path().join("seed");
        for (path, text) in hoist::cli::example::FILES {
            let dest = seed.join(path);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::write(dest, text).unwrap();
        }
        git(&seed, &["init", "-q"]);
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "-qm", "seed"]);
        let origin = dir.path().join("origin.git");
        git(
            dir.path(),
            &["clone", "-q", "--bare", "seed", origin.to_str().unwrap()],
        );
        let signer = Signer::generate().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, signer.private_openssh().unwrap().unwrap()).unwrap();
        let allowed_signers = dir.path().join("allowed_signers");
        std::fs::write(
            &allowed_signers,
            format!("hoist@localhost {}\n", signer.public_openssh().unwrap()),
        )
        .unwrap();
        World {
            data: dir.path().join("data"),
            dir,
            origin,
            key,
            allowed_signers,
        }
    }

    /// Replace a file on origin's main with a plain (unsigned) commit, as a human would.
    pub fn commit_file(&self, path: &str, text: &str, message: &str) {
        self.commit_files(&[(path.to_string(), text.to_string())], message);
    }

    /// Write several files (creating directories) in one plain commit on origin's main.
    pub fn commit_files(&self, files: &[(String, String)], message: &str) {
        let work = self.dir.path().join("human");
        if !work.exists() {
            git(
                self.dir.path(),
                &["clone", "-q", self.origin.to_str().unwrap(), "human"],
            );
        }
        git(&work, &["pull", "-q", "--ff-only"]);
        for (path, text) in files {
            let dest = work.join(path);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::write(dest, text).unwrap();
        }
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-qm", message]);
        git(&work, &["push", "-q", "origin", "main"]);
    }

    /// `hoist exec ... --as ACTOR --json -- COMMAND`, with the world's key.
    pub fn exec(&self, actor: &str, command: &str) -> (i32, serde_json::Value) {
        self.exec_with(actor, command, &[], true)
    }

    pub fn exec_with(
        &self,
        actor: &str,
        command: &str,
        extra: &[&str],
        with_key: bool,
    ) -> (i32, serde_json::Value) {
        let key = with_key.then(|| self.key.to_str().unwrap().to_string());
        let env: Vec<(&str, &str)> = key
            .as_deref()
            .map(|k| vec![("HOIST_SIGNING_KEY", k)])
            .unwrap_or_default();
        self.exec_env(actor, command, extra, &env)
    }

    /// `hoist exec` with extra environment variables (no signing key unless
    /// `env` names one).
    pub fn exec_env(
        &self,
        actor: &str,
        command: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (i32, serde_json::Value) {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "exec",
            "--repo",
            self.origin.to_str().unwrap(),
            "--data-dir",
            self.data.to_str().unwrap(),
            "--as",
            actor,
            "--json",
        ]);
        cmd.args(extra).arg("--").args(command.split_whitespace());
        cmd.env_remove("HOIST_SIGNING_KEY")
            .env_remove("HOIST_SIGNING_KEY_PASSPHRASE")
            // A developer's cluster is not the test's: tests pass KUBECONFIG.
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1");
        no_github(&mut cmd);
        cmd.envs(env.iter().copied());
        let out = cmd.output().expect("hoist runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), json)
    }

    /// The values of trailer `key` on origin's tip.
    pub fn tip_trailers(&self, key: &str) -> Vec<String> {
        let format = format!("--format=%(trailers:key={key},valueonly)");
        git(&self.origin, &["log", "-1", &format, "main"])
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Origin's main tip.
    pub fn tip(&self) -> String {
        git(&self.origin, &["rev-parse", "main"]).trim().to_string()
    }

    /// A file's content at a revision of origin.
    pub fn show(&self, rev: &str, path: &str) -> String {
        git(&self.origin, &["show", &format!("{rev}:{path}")])
    }

    /// `git verify-commit` for an OpenPGP signature, judged by the keyring in
    /// `gnupg_home` (holding only the public keys the test trusts).
    pub fn verify_openpgp(&self, rev: &str, gnupg_home: &Path) -> Output {
        Command::new("git")
            .current_dir(&self.origin)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.path())
            .env("GNUPGHOME", gnupg_home)
            .args(["-c", "gpg.format=openpgp", "verify-commit", "-v", rev])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("git verify-commit runs")
    }

    /// `git verify-commit` with the SSH allowed-signers file.
    pub fn verify(&self, rev: &str, allowed_signers: &Path) -> Output {
        Command::new("git")
            .current_dir(&self.origin)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.path())
            .args([
                "-c",
                "gpg.format=ssh",
                "-c",
                &format!("gpg.ssh.allowedSignersFile={}", allowed_signers.display()),
            ])
            .args(["verify-commit", "-v", rev])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("git verify-commit runs")
    }
}
