//! `hoist try`: the whole flow locally with no accounts. A throw-away
//! workspace holds a bare "origin" seeded from the example config repo (or
//! `--repo`), hoist's mirror and journal, and a throw-away signing key; a
//! simulated GitOps engine walks each pushed commit to Healthy. Time is
//! `try`'s own ([`clock`]): the same lines do the same thing on any day, and
//! `wait 10m` lets a soak pass.

mod clock;

use self::clock::TryClock;
use super::settings::Settings;
use super::{example, setup};
use crate::chat::console::{self, Printer};
use crate::cluster::Simulated;
use crate::engine::Outcome;
use crate::engine::ports::{Clock, SystemClock};
use crate::forge::simulated::SimulatedForge;
use crate::gitops::sign::Signer;
use anyhow::{Context, bail};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Platform Team",
            "-c",
            "user.email=platform@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .context("running git (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Build `origin.git` in `work`, seeded from `source` or the embedded example
/// (also what the benches start from).
pub fn seed_origin(work: &Path, source: Option<&Path>) -> anyhow::Result<std::path::PathBuf> {
    let origin = work.join("origin.git");
    let origin_str = origin.to_str().context("workspace path is not UTF-8")?;
    if let Some(src) = source.filter(|s| s.join(".git").exists() || s.join("HEAD").is_file()) {
        let src = src.to_str().context("--repo path is not UTF-8")?;
        git(work, &["clone", "--bare", "--quiet", src, origin_str])?;
        return Ok(origin);
    }
    let seed = work.join("seed");
    match source {
        Some(dir) => copy_dir(dir, &seed)?,
        None => {
            for (path, text) in example::FILES {
                let dest = seed.join(path);
                std::fs::create_dir_all(dest.parent().context("example file has a parent")?)?;
                std::fs::write(dest, text)?;
            }
        }
    }
    git(&seed, &["init", "--quiet"])?;
    git(&seed, &["add", "-A"])?;
    git(
        &seed,
        &["commit", "--quiet", "-m", "Config repo for hoist try"],
    )?;
    git(work, &["clone", "--bare", "--quiet", "seed", origin_str])?;
    Ok(origin)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if entry.file_name() == ".git" {
            continue;
        }
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// Run `try` with `settings`' git author and access (the origin is local),
/// as `USER` unless a line says otherwise.
pub fn run(repo: Option<&Path>, settings: &Settings) -> anyhow::Result<i32> {
    let workspace = tempfile::Builder::new().prefix("hoist-try-").tempdir()?;
    let work = workspace.path();
    let origin = seed_origin(work, repo)?;
    let signer = Signer::generate()?;
    let key_path = work.join("signing-key");
    let public = signer
        .public_openssh()
        .context("a generated key is an SSH key")?;
    let private = signer
        .private_openssh()?
        .context("a generated key is an SSH key")?;
    std::fs::write(&key_path, private)?;
    std::fs::write(
        work.join("allowed_signers"),
        format!("hoist@localhost {public}\n"),
    )?;

    let out = Arc::new(Printer::new(Box::new(std::io::stdout())));
    out.line(&format!(
        "hoist try: throw-away workspace {}",
        work.display()
    ));
    out.line(&format!(
        "  origin {}  (seeded from {})",
        origin.display(),
        repo.map(|r| r.display().to_string())
            .unwrap_or_else(|| "deploy/example-config-repo".into())
    ));
    out.line(&format!(
        "  signing key {} ({})",
        key_path.display(),
        signer.describe()
    ));
    out.line("  GitOps engine: simulated (reports Syncing -> Progressing -> Healthy for every pushed commit)");
    out.line("  forge: simulated (pull requests on origin, merged by hoist once the policy is met; deployments recorded)");
    let clock = Arc::new(TryClock::starting_before(SystemClock.now()));
    out.line(&format!(
        "  clock: simulated, starts {} (a Wednesday whatever the day; `wait 10m` lets time pass)",
        clock.describe()
    ));
    let engine = setup::engine_on(
        &work.join("data"),
        origin.to_str().context("path is not UTF-8")?,
        Some(signer),
        &settings.git,
        Some(Arc::new(Simulated::default())),
        out.clone(),
        crate::engine::Settings::default(),
        clock.clone(),
    )?;
    let said = out.clone();
    let forge = SimulatedForge::new(origin)
        .saying(move |line| said.line(&format!("  [simulated forge] {line}")));
    engine.set_forge(Arc::new(forge));

    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let default_actor = format!("console:{}", settings.user.as_deref().unwrap_or("you"));
    if interactive {
        out.line(&format!("Type commands (`help` lists them; `as console:alice: ...` acts as someone else; you are {default_actor}; `wait 10m` moves the clock). Ctrl-D ends."));
    }
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            print!("hoist> ");
            std::io::stdout().flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !interactive {
            out.line(&format!("\n> {}", line.trim()));
        }
        if let Some(said) = clock.wait_line(&line) {
            out.line(&said);
            continue;
        }
        match console::request(&line, &default_actor, None) {
            Err(e) => out.line(&e.to_string()),
            Ok(req) => {
                // One command at a time: each rollout is watched to its end.
                let reply = engine.wait(engine.handle(&req));
                let prefix = match reply.outcome {
                    Outcome::Ok => "",
                    Outcome::Refused => "refused: ",
                    Outcome::Error => "error: ",
                };
                out.line(&format!("{prefix}{}", reply.message));
            }
        }
    }
    if interactive {
        out.line("");
    }
    Ok(0)
}
