//! `hoist audit`: every change to a target in the config repo's git history
//! (git is the record, not the journal), as a table, CSV or JSON. The repo
//! is fetched into a mirror (under `--data-dir`, else a throw-away
//! directory); `hoist.yaml` at the default branch's tip names the apps,
//! environments and target files; each environment's branch is walked by
//! first parents (`gitops::audit`), and every signature is judged against
//! the keys given with `--signers` (allowed-signers files, OpenPGP public
//! keyrings). Without `--signers` no signature is good, so nothing counts as
//! through hoist: a note on stderr says so.

use super::settings::{Area, Flags, Settings};
use crate::engine::ports::Clock as _;
use crate::engine::ports::{ConfigRepo, SystemClock, Touch};
use crate::gitops::GitRepo;
use crate::gitops::audit::report;
use crate::gitops::sign::Keyring;
use crate::policy::{self, Target};
use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The config repo: a git URL or a local path.
    #[arg(long)]
    repo: String,
    /// Keep the mirror here (else a throw-away directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Only this environment.
    #[arg(long)]
    env: Option<String>,
    /// Only this app.
    #[arg(long)]
    app: Option<String>,
    /// Only commits this recent (`90d`, `12h`, `30m`).
    #[arg(long)]
    since: Option<String>,
    /// Output shape.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Keys whose signatures are good: an SSH allowed-signers file (git's
    /// format) or armored OpenPGP public keys. Repeatable.
    #[arg(long = "signers", value_name = "FILE")]
    signers: Vec<PathBuf>,
}

/// A name from the command line that `hoist.yaml` must know.
fn known<'a>(
    what: &str,
    name: &str,
    all: impl Iterator<Item = &'a str> + Clone,
) -> anyhow::Result<()> {
    if all.clone().any(|n| n == name) {
        return Ok(());
    }
    let hint = hoist_commands::nearest(name, all.clone())
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    let list: Vec<&str> = all.collect();
    bail!(
        "unknown {what} `{}`: hoist.yaml has {}{hint}",
        hoist_commands::visible(name),
        list.join(", ")
    )
}

/// A target with its (env, app).
type Scoped = (Target, (String, String));

pub fn run(args: AuditArgs) -> anyhow::Result<i32> {
    let since = match &args.since {
        Some(text) => {
            let d: hoist_commands::Duration =
                text.parse().map_err(|e: hoist_commands::Invalid| {
                    anyhow::anyhow!("--since `{text}`: {}", e.rule)
                })?;
            Some(SystemClock.now() - d.as_secs() as i64)
        }
        None => None,
    };
    let signers = Keyring::load(&args.signers)?;
    if signers.is_empty() {
        eprintln!(
            "hoist: note: no --signers given: no signature can be good, so no change counts as \
             through hoist (pass hoist's allowed-signers file or OpenPGP public key)"
        );
    }
    let settings = Settings::from_env(&[Area::Git], &Flags::default())?;
    let scratch = tempfile::tempdir().context("creating a directory for the mirror")?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| scratch.path().into());
    let repo = GitRepo::open(
        &data_dir,
        &args.repo,
        None,
        settings.git.author.clone(),
        &settings.git.access,
    )
    .with_context(|| format!("opening the mirror of {}", args.repo))?;
    let branch = repo.default_branch()?;
    let tip = repo.refresh(&branch)?;
    let bytes = repo
        .read_file(&tip, "hoist.yaml")?
        .with_context(|| format!("there is no hoist.yaml at {branch}'s tip"))?;
    let text = String::from_utf8(bytes).context("hoist.yaml is not UTF-8")?;
    let (policy, problems) = policy::load(&text);
    for p in &problems {
        eprintln!("hoist: warning: {p} (auditing what could be read)");
    }
    if let Some(env) = &args.env {
        known(
            "environment",
            env,
            policy.environments.iter().map(|e| e.name.as_str()),
        )?;
    }
    if let Some(app) = &args.app {
        known("app", app, policy.apps.iter().map(|a| a.name.as_str()))?;
    }
    // Targets per branch, each with its (env, app).
    let mut per_branch: BTreeMap<&str, Vec<Scoped>> = BTreeMap::new();
    for env in &policy.environments {
        if args.env.as_deref().is_some_and(|e| e != env.name.as_str()) {
            continue;
        }
        for app in &policy.apps {
            if args.app.as_deref().is_some_and(|a| a != app.name.as_str()) {
                continue;
            }
            if let Some(target) = app.targets.get(&env.name) {
                let names = (env.name.to_string(), app.name.to_string());
                per_branch
                    .entry(env.branch.as_str())
                    .or_default()
                    .push((target.clone(), names));
            }
        }
    }
    let mut rows = Vec::new();
    for (b, list) in per_branch {
        let tip = if b == branch {
            tip.clone()
        } else {
            repo.refresh(b)?
        };
        let (targets, names): (Vec<Target>, Vec<(String, String)>) = list.into_iter().unzip();
        let touches: Vec<Touch> = repo.audit(&tip, &targets, since, &signers)?;
        rows.extend(report::rows(&touches, &names));
    }
    // Newest first across branches; a commit's rows stay together.
    rows.sort_by(|a, b| b.time.cmp(&a.time));
    let out = match args.format {
        Format::Table => report::table(&rows),
        Format::Csv => report::csv(&rows),
        Format::Json => report::json(&rows) + "\n",
    };
    print!("{out}");
    Ok(0)
}
