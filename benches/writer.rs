//! The config-repo writer benchmark (issue 3), run by `benches/run.sh`.
//!
//! A generated repo of 10,000 files (100 apps, each file 8 directories deep)
//! in a bare origin on disk. One deploy = learn the tip, change one line of one
//! file, write a signed commit (SSH ed25519), push over `file://`. Measured
//! end to end, median of interleaved rounds, for: hoist's engine in this
//! process; the git CLI floor with a temporary index; the git CLI floor with
//! `fast-import`; and clone-per-write (`clone --depth 1`, edit, commit, push).
//! Then the burst: 100 deploys to 100 apps submitted at once while a foreign
//! writer pushes an unrelated commit every 50 ms. Prints ratios measured in
//! the same run; exits non-zero if a deploy or a foreign commit was lost.

use hoist::chat::console::Silent;
use hoist::engine::ports::{ConfigRepo, SystemClock};
use hoist::engine::{Engine, Request, Settings};
use hoist::gitops::sign::Signer;
use hoist::gitops::{Author, GitRepo};
use hoist::store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const APPS: usize = 100;
const FILES_PER_APP: usize = 100;

fn app_dir(a: usize) -> String {
    format!(
        "apps/team{}/app{a:03}/deploy/overlays/staging/cfg/x",
        a % 10
    )
}

fn target(a: usize) -> String {
    format!("{}/kustomization.yaml", app_dir(a))
}

fn kustomization(a: usize, tag: &str) -> String {
    format!(
        "# app{a:03} in staging: hoist edits the tag below\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/app{a:03}\n    newTag: {tag} # pinned\n"
    )
}

fn policy() -> String {
    let mut s = String::from(
        "environments:\n  staging:\n    branch: main\n    via: push\n    deployers: [\"*\"]\n    approvals: 0\napps:\n",
    );
    for a in 0..APPS {
        s.push_str(&format!(
            "  app{a:03}:\n    targets:\n      staging: {{ file: {}, kustomize_image: ghcr.io/acme/app{a:03} }}\n",
            target(a)
        ));
    }
    s
}

/// git with a fixed identity and no user/system configuration.
fn git_cmd(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .args(["-c", "init.defaultBranch=main", "-c", "gc.auto=0"]);
    c
}

fn git(dir: &Path, args: &[&str]) -> String {
    git_in(dir, args, &[], None)
}

fn git_in(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> String {
    let mut c = git_cmd(dir);
    c.args(args).envs(env.iter().copied());
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("git runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The bare origin, seeded in one `fast-import` stream.
fn generate(dir: &Path) -> PathBuf {
    let origin = dir.join("origin.git");
    git(dir, &["init", "-q", "--bare", origin.to_str().unwrap()]);
    let mut files = Vec::new();
    files.push(("hoist.yaml".to_string(), policy()));
    for a in 0..APPS {
        files.push((target(a), kustomization(a, "v1.0.0")));
        for f in 1..FILES_PER_APP {
            files.push((
                format!("{}/config-{f:02}.yaml", app_dir(a)),
                format!("# app{a:03} setting {f}\nkey: value-{a}-{f}\n"),
            ));
        }
    }
    let mut all =
        b"commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata 4\nseed\n"
            .to_vec();
    for (path, data) in &files {
        all.extend_from_slice(
            format!("M 100644 inline {path}\ndata {}\n{data}\n", data.len()).as_bytes(),
        );
    }
    all.extend_from_slice(b"\n");
    git_in(&origin, &["fast-import", "--quiet"], &[], Some(&all));
    let count = git(&origin, &["ls-tree", "-r", "--name-only", "main"])
        .lines()
        .count();
    assert_eq!(count, APPS * FILES_PER_APP + 1);
    origin
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The file with its `newTag:` value replaced (what every path does).
fn retag(old: &str, tag: &str) -> String {
    old.lines()
        .map(|l| match l.split_once("newTag: ") {
            Some((indent, rest)) => {
                let comment = rest.find(" #").map(|i| &rest[i..]).unwrap_or("");
                format!("{indent}newTag: {tag}{comment}")
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// What the git CLI paths share: a persistent bare mirror and a signing setup.
struct Cli {
    mirror: PathBuf,
    sign: [String; 4],
}

impl Cli {
    fn new(dir: &Path, origin: &Path, key: &Path) -> Cli {
        let mirror = dir.join("cli-mirror.git");
        git(dir, &["init", "-q", "--bare", mirror.to_str().unwrap()]);
        git(
            &mirror,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        let sign = [
            "-c".to_string(),
            "gpg.format=ssh".to_string(),
            "-c".to_string(),
            format!("user.signingkey={}", key.display()),
        ];
        Cli { mirror, sign }
    }

    /// The tip this mirror knows (its last push updated it), and the new
    /// content of the target. `fetch` first when another writer moved it.
    fn prepare(&self, tag: &str, fetch: bool) -> (String, String) {
        let m = &self.mirror;
        if fetch {
            git(
                m,
                &[
                    "fetch",
                    "-q",
                    "origin",
                    "+refs/heads/main:refs/remotes/origin/main",
                ],
            );
        }
        let tip = git(m, &["rev-parse", "refs/remotes/origin/main"]);
        let old = git(m, &["cat-file", "blob", &format!("{tip}:{}", target(0))]);
        (tip, retag(&old, tag))
    }

    /// Returns how long the push alone took.
    fn commit_and_push(&self, tree: &str, tip: &str, tag: &str) -> Duration {
        let m = &self.mirror;
        let mut args: Vec<&str> = self.sign.iter().map(String::as_str).collect();
        let msg = format!("deploy app000 {tag} to staging");
        args.extend(["commit-tree", "-S", tree, "-p", tip, "-m", &msg]);
        let commit = git(m, &args);
        let t = Instant::now();
        git(
            m,
            &["push", "-q", "origin", &format!("{commit}:refs/heads/main")],
        );
        t.elapsed()
    }

    /// Temporary index: read-tree, update-index, write-tree, commit-tree -S, push.
    fn temporary_index(&self, tag: &str, fetch: bool) {
        let m = &self.mirror;
        let (tip, new) = self.prepare(tag, fetch);
        let blob = git_in(
            m,
            &["hash-object", "-w", "--stdin"],
            &[],
            Some(new.as_bytes()),
        );
        let index = m.join("bench-index");
        let env = [("GIT_INDEX_FILE", index.to_str().unwrap())];
        git_in(m, &["read-tree", &tip], &env, None);
        let info = format!("100644,{blob},{}", target(0));
        git_in(
            m,
            &["update-index", "--add", "--cacheinfo", &info],
            &env,
            None,
        );
        let tree = git_in(m, &["write-tree"], &env, None);
        self.commit_and_push(&tree, &tip, tag);
    }

    /// fast-import builds the tree; commit-tree -S signs; push.
    fn fast_import(&self, tag: &str, fetch: bool) -> Duration {
        let m = &self.mirror;
        let (tip, new) = self.prepare(tag, fetch);
        let stream = format!(
            "commit refs/bench/tree\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata 4\ntree\nfrom {tip}\nM 100644 inline {}\ndata {}\n{new}\n\n",
            target(0),
            new.len()
        );
        git_in(
            m,
            &["fast-import", "--quiet", "--force"],
            &[],
            Some(stream.as_bytes()),
        );
        let tree = git(m, &["rev-parse", "refs/bench/tree^{tree}"]);
        self.commit_and_push(&tree, &tip, tag)
    }

    /// Clone (depth 1), edit, commit -S, push, throw away.
    fn clone_per_write(&self, dir: &Path, origin: &Path, tag: &str) {
        let work = dir.join("clone-per-write");
        let url = format!("file://{}", origin.display());
        git(
            dir,
            &[
                "clone",
                "-q",
                "--depth",
                "1",
                "--branch",
                "main",
                &url,
                work.to_str().unwrap(),
            ],
        );
        let path = work.join(target(0));
        let old = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, retag(&old, tag)).unwrap();
        let mut args: Vec<&str> = self.sign.iter().map(String::as_str).collect();
        let msg = format!("deploy app000 {tag} to staging");
        args.extend(["commit", "-S", "-qam", &msg]);
        git(&work, &args);
        git(&work, &["push", "-q", "origin", "HEAD:main"]);
        std::fs::remove_dir_all(&work).unwrap();
    }
}

fn engine(
    dir: &Path,
    origin: &Path,
    key: &Path,
    settings: Settings,
) -> (Arc<Engine>, Arc<GitRepo>) {
    let signer = Signer::from_file(key, None).unwrap();
    let data = dir.join("data");
    let repo = Arc::new(
        GitRepo::open(
            &data,
            origin.to_str().unwrap(),
            Some(signer),
            Author::default(),
            &Default::default(),
        )
        .unwrap(),
    );
    let store = Store::open(&data).unwrap();
    let engine = Engine::new(
        repo.clone(),
        Arc::new(store),
        None,
        Arc::new(Silent),
        Arc::new(SystemClock),
        settings,
    );
    (engine, repo)
}

fn deploy(engine: &Engine, text: &str) -> hoist::engine::Reply {
    engine.handle(&Request {
        actor: "console:bench".into(),
        channel: None,
        chat_link: None,
        memberships: Vec::new(),
        command: hoist_commands::parse(text).unwrap(),
    })
}

/// A human pushing an unrelated commit every 50 ms from their own clone,
/// rebasing when someone got there first. Returns the subjects that landed.
fn foreign_writer(dir: &Path, origin: &Path, stop: Arc<AtomicBool>) -> Vec<String> {
    let work = dir.join("foreign");
    let mut landed = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let subject = format!("foreign change {i}");
        std::fs::write(work.join(format!("notes-{i}.txt")), &subject).unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-qm", &subject]);
        while !git_cmd(&work)
            .args(["push", "-q", "origin", "main"])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
        {
            git(&work, &["pull", "-q", "--rebase", "origin", "main"]);
        }
        landed.push(subject);
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = origin;
    landed
}

/// 100 deploys at once plus the foreign writer; returns (seconds, foreign commits).
fn burst(dir: &Path, origin: &Path, engine: Arc<Engine>) -> (f64, usize) {
    git(dir, &["clone", "-q", origin.to_str().unwrap(), "foreign"]);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (dir, origin, stop) = (dir.to_path_buf(), origin.to_path_buf(), stop.clone());
        std::thread::spawn(move || foreign_writer(&dir, &origin, stop))
    };
    std::thread::sleep(Duration::from_millis(200));
    let start = Arc::new(Barrier::new(APPS + 1));
    let threads: Vec<_> = (0..APPS)
        .map(|a| {
            let (engine, start) = (engine.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                deploy(&engine, &format!("deploy app{a:03} v2.0.0 to staging"))
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    let replies: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let took = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    let foreign = writer.join().unwrap();

    let lost: Vec<_> = replies.iter().filter(|r| r.state != "pushed").collect();
    assert!(
        lost.is_empty(),
        "deploys that did not land: {:?}",
        lost.iter().map(|r| &r.message).collect::<Vec<_>>()
    );
    for a in 0..APPS {
        let text = git(
            origin,
            &["cat-file", "blob", &format!("main:{}", target(a))],
        );
        assert_eq!(
            text + "\n",
            kustomization(a, "v2.0.0"),
            "app{a:03} holds the new tag, nothing else changed"
        );
    }
    let subjects = git(origin, &["log", "--format=%s", "main"]);
    for s in &foreign {
        assert!(subjects.lines().any(|l| l == s), "foreign commit lost: {s}");
    }
    let ours = subjects
        .lines()
        .filter(|l| l.ends_with("v2.0.0 to staging"))
        .count();
    assert_eq!(ours, APPS, "one commit per deploy");
    git(origin, &["fsck", "--strict", "--no-progress"]);
    (took, foreign.len())
}

fn main() {
    let rounds: usize = std::env::var("HOIST_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let clone_rounds = rounds.min(5);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let t = Instant::now();
    let origin = generate(dir);
    println!(
        "repo: {} files, targets 8 directories deep, generated in {:.1} s",
        APPS * FILES_PER_APP + 1,
        t.elapsed().as_secs_f64()
    );
    let key = dir.join("signing-key");
    let signer = Signer::generate().unwrap();
    std::fs::write(&key, signer.private_openssh().unwrap().unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let cli = Cli::new(dir, &origin, &key);
    let (engine, repo) = engine(dir, &origin, &key, Settings::default());
    let (policy, _) = hoist::policy::load(&policy());
    let app0 = policy.app(&"app000".parse().unwrap()).unwrap();
    let target0 = app0
        .targets
        .get(&"staging".parse().unwrap())
        .unwrap()
        .clone();

    // Each path runs as the only writer for a block of rounds, after one
    // untimed round that brings its mirror up to date (the steady state of a
    // persistent mirror: it knows the tip because it pushed it).
    // Three passes over the paths, so a disturbance of the machine (the disk
    // flushing a build, say) does not land on one path only.
    const PASSES: usize = 3;
    let per_pass = rounds.div_ceil(PASSES);
    let timed = |f: &mut dyn FnMut(usize)| -> Vec<Duration> {
        (0..per_pass)
            .map(|r| {
                let t = Instant::now();
                f(r);
                t.elapsed()
            })
            .collect()
    };
    let (mut ours, mut index, mut fast, mut pushes) = (vec![], vec![], vec![], vec![]);
    for p in 0..PASSES {
        let reply = deploy(&engine, &format!("deploy app000 v0.9.{p} to staging"));
        assert_eq!(reply.state, "pushed", "{}", reply.message);
        ours.extend(timed(&mut |r| {
            let reply = deploy(&engine, &format!("deploy app000 v1.1.{p}-{r} to staging"));
            assert_eq!(reply.state, "pushed", "{}", reply.message);
        }));
        cli.temporary_index(&format!("v1.2.{p}"), true);
        index.extend(timed(&mut |r| {
            cli.temporary_index(&format!("v1.2.{p}-{r}"), false)
        }));
        cli.fast_import(&format!("v1.3.{p}"), true);
        fast.extend(timed(&mut |r| {
            pushes.push(cli.fast_import(&format!("v1.3.{p}-{r}"), false))
        }));
    }
    let clone: Vec<Duration> = (0..clone_rounds)
        .map(|r| {
            let t = Instant::now();
            cli.clone_per_write(dir, &origin, &format!("v1.4.{r}"));
            t.elapsed()
        })
        .collect();
    let tip = repo.refresh("main").unwrap();
    let commit: Vec<Duration> = (0..rounds)
        .map(|r| {
            let version = format!("v1.5.{r}").parse().unwrap();
            let t = Instant::now();
            let plan = repo
                .plan("main", &tip, &[(target0.clone(), version)])
                .unwrap();
            repo.commit(&plan, "bench: in-process commit only", true)
                .unwrap();
            t.elapsed()
        })
        .collect();
    let (ours, index, fast, clone, commit) = (
        median(ours),
        median(index),
        median(fast),
        median(clone),
        median(commit),
    );
    println!(
        "one deploy, end to end (edit, signed commit, push over file://; each path the only writer, its mirror current), median of {rounds} rounds ({clone_rounds} for clone):"
    );
    println!("  {:<44} {:>9.1} ms", "hoist (this process)", ms(ours));
    println!(
        "  {:<44} {:>9.1} ms",
        "git CLI: temporary index + commit-tree -S",
        ms(index)
    );
    println!(
        "  {:<44} {:>9.1} ms",
        "git CLI: fast-import + commit-tree -S",
        ms(fast)
    );
    println!(
        "  {:<44} {:>9.1} ms",
        "clone --depth 1, edit, commit -S, push",
        ms(clone)
    );
    println!(
        "  {:<44} {:>9.2} ms",
        "hoist plan + signed commit, in memory",
        ms(commit)
    );
    println!(
        "  {:<44} {:>9.1} ms",
        "git push alone (inside the fast-import path)",
        ms(median(pushes.clone()))
    );
    println!(
        "  {:<44} {:>9.1} ms",
        "hoist minus the push alone",
        ms(ours) - ms(median(pushes))
    );
    println!("ratios (same run):");
    println!("  hoist / temporary index = {:.2}x", ms(ours) / ms(index));
    println!(
        "  hoist / fast-import     = {:.2}x   (goal <= 0.6x)",
        ms(ours) / ms(fast)
    );
    println!(
        "  clone-per-write / hoist = {:.1}x   (goal >= 50x)",
        ms(clone) / ms(ours)
    );

    let (secs, foreign) = burst(dir, &origin, engine);
    println!(
        "burst: {APPS} deploys to {APPS} apps at once + a foreign writer every 50 ms: {APPS}/{APPS} landed, {foreign} foreign commits all kept, fsck clean"
    );
    println!(
        "  {:.2} s, {:.1} ops/s (goal >= 20 ops/s)",
        secs,
        APPS as f64 / secs
    );
}
