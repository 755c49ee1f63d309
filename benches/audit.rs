//! The audit benchmark (issue 19), run by `benches/audit.sh`.
//!
//! A config repo of 10,000 commits on `main` (`HOIST_BENCH_COMMITS`) is
//! built with `git fast-import`: 3 environments x 10 apps, each target a
//! Helm values file; nine commits in ten set one target's tag with hoist's
//! trailers, the tenth edits another key of a target file by hand. The
//! chain is then re-written in process with an ed25519 signature on every
//! hoist commit (fast-import cannot sign) and repacked, so the audit
//! verifies 9,000 signatures as it would on a real repo. Timed, median of
//! `HOIST_BENCH_ROUNDS` (5), in the same run:
//!
//! - the baseline: `git log --format=%H%n%B main` over the same repo;
//! - the audit's walk (`GitRepo::audit`, all 30 targets, every signature
//!   checked against an allowed-signers file), the mirror already fetched;
//! - `hoist audit --format json` end to end (the binary, its mirror warm).
//!
//! Goal: the walk under 2 s for 10,000 commits; the ratio to `git log` is printed.

use hoist::engine::ports::ConfigRepo;
use hoist::gitops::sign::{Keyring, Signer};
use hoist::gitops::{Author, GitRepo};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ENVS: [&str; 3] = ["dev", "staging", "prod"];
const APPS: usize = 10;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(app: usize, env: &str) -> String {
    format!("apps/app{app:02}/{env}/values.yaml")
}

fn values(tag: &str, replicas: usize) -> String {
    format!("replicaCount: {replicas}\nimage:\n  repository: ghcr.io/acme/app\n  tag: {tag}\n")
}

fn policy() -> String {
    let mut p = String::from("environments:\n");
    for env in ENVS {
        p.push_str(&format!("  {env}: {{ deployers: [\"*\"] }}\n"));
    }
    p.push_str("apps:\n");
    for a in 0..APPS {
        p.push_str(&format!("  app{a:02}:\n    targets:\n"));
        for env in ENVS {
            p.push_str(&format!(
                "      {env}: {{ file: {}, yaml_path: image.tag }}\n",
                path(a, env)
            ));
        }
    }
    p
}

fn blob(out: &mut Vec<u8>, path: &str, text: &str) {
    let _ = write!(out, "M 100644 inline {path}\ndata {}\n{text}\n", text.len());
}

/// The fast-import stream: one seed commit, then `n - 1` changes.
fn stream(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let t0 = 1_700_000_000;
    let commit = |out: &mut Vec<u8>, i: usize, message: &str| {
        let _ = write!(
            out,
            "commit refs/heads/main\ncommitter hoist <hoist@localhost> {} +0000\ndata {}\n{message}\n",
            t0 + i * 60,
            message.len()
        );
    };
    commit(&mut out, 0, "seed");
    blob(&mut out, "hoist.yaml", &policy());
    for a in 0..APPS {
        for env in ENVS {
            blob(&mut out, &path(a, env), &values("v1.0.0", 1));
        }
    }
    for i in 1..n {
        let (a, env) = (i % APPS, ENVS[(i / APPS) % ENVS.len()]);
        if i % 10 == 0 {
            commit(&mut out, i, "scale by hand");
            blob(
                &mut out,
                &path(a, env),
                &values(&format!("v1.{}", i - 1), i % 7),
            );
        } else {
            let msg = format!(
                "deploy app{a:02} v1.{i} to {env}\n\nHoist-Operation: {i}\n\
                 Hoist-Requested-By: console:alice\nHoist-Approved-By: console:carol\n\
                 Hoist-Chat: https://chat.example/{i}\n"
            );
            commit(&mut out, i, &msg);
            blob(&mut out, &path(a, env), &values(&format!("v1.{i}"), 1));
        }
    }
    out
}

/// Re-write `main` oldest first, signing every commit with hoist's trailers.
fn sign_chain(origin: &Path, key: &Signer) -> usize {
    let repo = gix::open(origin).expect("opens");
    let ids = git(origin, &["rev-list", "--reverse", "--first-parent", "main"]);
    let mut parent: Option<gix::ObjectId> = None;
    let mut signed = 0;
    for id in ids.lines() {
        let old = repo
            .find_commit(gix::ObjectId::from_hex(id.as_bytes()).unwrap())
            .unwrap();
        let decoded = old.decode().unwrap();
        let mut commit = gix::objs::Commit {
            tree: decoded.tree(),
            parents: parent.into_iter().collect(),
            author: decoded.author().unwrap().into(),
            committer: decoded.committer().unwrap().into(),
            encoding: None,
            message: decoded.message.to_owned(),
            extra_headers: Vec::new(),
        };
        if decoded
            .message
            .windows(16)
            .any(|w| w == b"Hoist-Operation:")
        {
            let mut payload = Vec::new();
            gix::objs::WriteTo::write_to(&commit, &mut payload).unwrap();
            let sig = key.sign(&payload).unwrap();
            commit
                .extra_headers
                .push(("gpgsig".into(), sig.as_bytes().into()));
            signed += 1;
        }
        parent = Some(repo.write_object(&commit).unwrap().detach());
    }
    git(
        origin,
        &[
            "update-ref",
            "refs/heads/main",
            &parent.unwrap().to_string(),
        ],
    );
    git(origin, &["repack", "-adq"]);
    git(origin, &["prune"]);
    signed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(rounds: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let n = env_num("HOIST_BENCH_COMMITS", 10_000);
    let rounds = env_num("HOIST_BENCH_ROUNDS", 5);
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("origin.git");
    git(
        dir.path(),
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            origin.to_str().unwrap(),
        ],
    );
    let built = Instant::now();
    let mut fi = Command::new("git")
        .current_dir(&origin)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    fi.stdin.take().unwrap().write_all(&stream(n)).unwrap();
    assert!(fi.wait().unwrap().success());
    let key = Signer::generate().unwrap();
    let signed = sign_chain(&origin, &key);
    let signers = dir.path().join("allowed_signers");
    std::fs::write(
        &signers,
        format!("hoist@localhost {}\n", key.public_openssh().unwrap()),
    )
    .unwrap();
    println!(
        "repo: {n} commits ({signed} signed by hoist), {} targets, built in {:.1?}",
        APPS * ENVS.len(),
        built.elapsed()
    );

    let baseline = time(rounds, || {
        let out = Command::new("git")
            .current_dir(&origin)
            .args(["log", "--format=%H%n%B", "main"])
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        assert!(out.status.success() && !out.stdout.is_empty());
    });

    let data = dir.path().join("data");
    let repo = GitRepo::open(
        &data,
        origin.to_str().unwrap(),
        None,
        Author::default(),
        &Default::default(),
    )
    .unwrap();
    let tip = repo.refresh("main").unwrap();
    let text = String::from_utf8(repo.read_file(&tip, "hoist.yaml").unwrap().unwrap()).unwrap();
    let (policy, _) = hoist::policy::load(&text);
    let targets: Vec<_> = policy
        .apps
        .iter()
        .flat_map(|a| a.targets.values().cloned())
        .collect();
    let keyring = Keyring::load(std::slice::from_ref(&signers)).unwrap();
    let mut rows = 0;
    let walk = time(rounds, || {
        let touches = repo.audit(&tip, &targets, None, &keyring).unwrap();
        rows = touches.len();
        assert_eq!(
            touches.iter().filter(|t| t.via_hoist()).count(),
            signed,
            "every signed change is good"
        );
    });

    // The same walk with no key listed: signatures are parsed, none verified.
    let nobody = Keyring::default();
    let unverified = time(rounds, || {
        let touches = repo.audit(&tip, &targets, None, &nobody).unwrap();
        assert!(touches.iter().all(|t| !t.via_hoist()));
    });

    let bin = env!("CARGO_BIN_EXE_hoist");
    let cli = time(rounds.min(3), || {
        let out = Command::new(bin)
            .args(["audit", "--repo", origin.to_str().unwrap()])
            .args(["--data-dir", data.to_str().unwrap()])
            .args(["--signers", signers.to_str().unwrap(), "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });

    let ratio = walk.as_secs_f64() / baseline.as_secs_f64();
    println!("git log --format=%H%n%B main        {baseline:>10.1?}   (baseline)");
    println!("audit walk, {rows} rows, signatures  {walk:>10.1?}   {ratio:.2}x git log");
    println!(
        "audit walk, no signature verified    {unverified:>10.1?}   {:.2}x git log",
        unverified.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "hoist audit --format json (binary)  {cli:>10.1?}   {:.2}x git log",
        cli.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "goal: {n} commits under 2 s: {}",
        if walk < Duration::from_secs(2) {
            "met"
        } else {
            "NOT met"
        }
    );
}
