//! `hoist audit` end to end: a config repo with changes made by `hoist exec`
//! (signed with the test key), a human edit of a target, a human commit with
//! forged `Hoist-*` trailers, an edit of another key in a target file, a
//! break-glass rollback and a hoist commit signed by a key nobody listed.
//! Every row of the JSON is checked; the CSV is read back by Python's `csv`.
//! Then pull requests' merges: one of hoist's signed commit (hoist's, its
//! merge message's words ignored), one mixing another edit into the file,
//! one of a person's unsigned commit (both out of band).

use super::support::{BIN, World, git};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const POLICY: &str = "\
environments:
  dev:
    deployers: [\"*\"]
  prod:
    deployers: [console:alice]
    incident_channels: [slack:C0INC]
    break_glass: { approvals: 0 }
apps:
  api:
    targets:
      dev:  { file: apps/api/overlays/dev/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
      prod: { file: apps/api/overlays/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
  worker:
    targets:
      prod: { file: apps/worker/prod/values.yaml, yaml_path: image.tag }
";

const WORKER: &str = "apps/worker/prod/values.yaml";
const API_DEV: &str = "apps/api/overlays/dev/kustomization.yaml";

fn audit(world: &World, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(["audit", "--repo", world.origin.to_str().unwrap()])
        .args(["--signers", world.allowed_signers.to_str().unwrap()])
        .args(extra)
        .env("HOME", world.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("hoist runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A commit in the human clone, as `name`, with `message`, pushed.
fn human_commit(
    world: &World,
    name: &str,
    path: &str,
    edit: impl Fn(&str) -> String,
    message: &str,
) {
    world.commit_file("README.audit", name, "sync the human clone");
    let work = world.dir.path().join("human");
    let file = work.join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, edit(&text)).unwrap();
    git(&work, &["add", "-A"]);
    // --author, not user.name: GIT_AUTHOR_NAME (set by CI) outranks config.
    let author = format!("--author={name} <test@example.com>");
    git(&work, &["commit", "-qm", message, &author]);
    git(&work, &["push", "-q", "origin", "main"]);
}

fn ok(world: &World, actor: &str, command: &str, extra: &[&str]) {
    let (code, reply) = world.exec_with(actor, command, extra, true);
    assert_eq!(code, 0, "{command}: {reply}");
}

#[test]
fn audit_lists_every_change_with_its_signature_and_flags_what_hoist_did_not_do() {
    let world = World::new();
    world.commit_file("hoist.yaml", POLICY, "policy for the audit");
    ok(&world, "console:bob", "deploy api v1.4.0 to dev", &[]);
    ok(&world, "console:alice", "deploy api v2.0.0 to prod", &[]);
    ok(
        &world,
        "console:alice",
        "deploy api v2.0.1 to prod --ticket OPS-1",
        &[],
    );
    // A person edits a target's value by hand.
    human_commit(
        &world,
        "Dana",
        API_DEV,
        |t| t.replace("v1.4.0", "v9.9.9"),
        "hotfix dev",
    );
    // A person types hoist's trailers into their own commit.
    let forged = "deploy worker 3.0.0 to prod, \"approved\"\n\nHoist-Operation: 99\n\
                  Hoist-Requested-By: console:alice\nHoist-Approved-By: console:carol\n";
    human_commit(
        &world,
        "Mallory \"M\", Jr",
        WORKER,
        |t| t.replace("2.7.4", "3.0.0"),
        forged,
    );
    // Another key of a target file.
    human_commit(
        &world,
        "Dana",
        WORKER,
        |t| t.replace("concurrency: 8", "concurrency: 16"),
        "more workers",
    );
    // Break glass: back to v2.0.0 from the incident channel.
    ok(
        &world,
        "console:alice",
        "rollback api in prod --reason login is down",
        &["--channel", "slack:C0INC", "--trusted"],
    );
    // hoist itself, but with a key the auditor does not list.
    let stranger = world.dir.path().join("stranger");
    let key = hoist::gitops::sign::Signer::generate().unwrap();
    std::fs::write(&stranger, key.private_openssh().unwrap().unwrap()).unwrap();
    let (code, reply) = world.exec_env(
        "console:bob",
        "deploy api v1.5.0 to dev",
        &[],
        &[("HOIST_SIGNING_KEY", stranger.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{reply}");

    let (code, out, err) = audit(&world, &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let seed: Vec<&Value> = rows.iter().filter(|r| r["subject"] == "seed").collect();
    assert_eq!(seed.len(), 3, "the seed commit set every target: {out}");
    assert!(
        seed.iter()
            .all(|r| r["via"] == "out-of-band" && r["signature"] == "unsigned")
    );
    let rows: Vec<&Value> = rows.iter().filter(|r| r["subject"] != "seed").collect();
    let cell = |r: &Value, k: &str| r[k].as_str().unwrap_or("-").to_string();
    let shape: Vec<[String; 7]> = rows
        .iter()
        .map(|r| ["env", "app", "old", "new", "via", "change", "signature"].map(|k| cell(r, k)))
        .collect();
    let want = [
        [
            "dev",
            "api",
            "v9.9.9",
            "v1.5.0",
            "out-of-band",
            "value",
            "unknown-key",
        ],
        ["prod", "api", "v2.0.1", "v2.0.0", "hoist", "value", "good"],
        [
            "prod",
            "worker",
            "3.0.0",
            "3.0.0",
            "out-of-band",
            "file",
            "unsigned",
        ],
        [
            "prod",
            "worker",
            "2.7.4",
            "3.0.0",
            "out-of-band",
            "value",
            "unsigned",
        ],
        [
            "dev",
            "api",
            "v1.4.0",
            "v9.9.9",
            "out-of-band",
            "value",
            "unsigned",
        ],
        ["prod", "api", "v2.0.0", "v2.0.1", "hoist", "value", "good"],
        ["prod", "api", "v1.2.2", "v2.0.0", "hoist", "value", "good"],
        [
            "dev",
            "api",
            "v1.3.0-rc.1",
            "v1.4.0",
            "hoist",
            "value",
            "good",
        ],
    ]
    .map(|r| r.map(String::from));
    assert_eq!(shape, want, "{out}");
    // Through hoist: who asked, who approved, the ticket, break glass, signer.
    let (glass, ticketed, first) = (rows[1], rows[5], rows[7]);
    assert_eq!(cell(glass, "requested_by"), "console:alice");
    assert!(
        cell(glass, "break_glass").contains("incident rollback by console:alice"),
        "{glass}"
    );
    assert_eq!(cell(glass, "chat"), "slack:C0INC");
    assert_eq!(cell(glass, "signer"), "hoist@localhost");
    assert_eq!(cell(ticketed, "ticket"), "OPS-1");
    assert_eq!(cell(ticketed, "break_glass"), "-");
    assert_eq!(cell(first, "requested_by"), "console:bob");
    assert!(cell(first, "operation").parse::<u64>().is_ok(), "{first}");
    assert_eq!(first["approved_by"], serde_json::json!([]));
    // Forged trailers are not hoist's words: flagged, not shown.
    let forged_row = rows[3];
    assert_eq!(cell(forged_row, "operation"), "-");
    assert_eq!(forged_row["approved_by"], serde_json::json!([]));
    assert!(
        cell(forged_row, "note").contains("not trusted"),
        "{forged_row}"
    );
    assert_eq!(
        cell(forged_row, "author"),
        "Mallory \"M\", Jr <test@example.com>"
    );
    assert!(cell(rows[0], "note").contains("not trusted (signature: unknown key)"));
    for r in &rows {
        let time = cell(r, "time");
        assert!(
            time.len() == 20 && time.ends_with('Z') && time.contains('T'),
            "{time}"
        );
    }

    // CSV: the same rows, read back by Python's csv module.
    let (code, csv, err) = audit(&world, &["--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let script = "import csv, json, sys\nrows = list(csv.reader(sys.stdin))\n\
                  print(json.dumps([dict(zip(rows[0], r)) for r in rows[1:]]))";
    let mut py = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    py.stdin.take().unwrap().write_all(csv.as_bytes()).unwrap();
    let py = py.wait_with_output().unwrap();
    assert!(py.status.success(), "python could not read the CSV:\n{csv}");
    let parsed: Vec<Value> = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(parsed.len(), rows.len() + seed.len());
    let forged_csv = parsed
        .iter()
        .find(|r| r["commit"] == forged_row["commit"] && r["change"] == "value")
        .expect("the forged commit is in the CSV");
    assert_eq!(forged_csv["subject"], forged_row["subject"]);
    assert_eq!(forged_csv["author"], "Mallory \"M\", Jr <test@example.com>");
    assert_eq!(parsed[1]["break_glass"], glass["break_glass"]);

    // Filters, and the table: one line per row, no outside newline in it.
    let (_, only, _) = audit(
        &world,
        &["--format", "json", "--env", "prod", "--app", "api"],
    );
    let only: Vec<Value> = serde_json::from_str(&only).unwrap();
    assert_eq!(only.len(), 4, "three through hoist and the seed");
    let (_, recent, _) = audit(&world, &["--format", "json", "--since", "1h"]);
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&recent).unwrap().len(),
        11
    );
    let (code, table, _) = audit(&world, &[]);
    assert_eq!(code, 0);
    assert_eq!(table.lines().count(), 12, "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("v2.0.1 -> v2.0.0") && l.contains("hoist"))
    );
    let (code, _, err) = audit(&world, &["--env", "prdo"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `prod`"), "{err}");
}

/// `git` in the human clone (no assertion reads its identity).
fn human(world: &World, args: &[&str]) -> String {
    git(&world.dir.path().join("human"), args)
}

/// A `via: pull-request` change as GitHub's `merge` method leaves it: the
/// branch gets a merge commit nobody at hoist signed, whose second parent is
/// hoist's signed commit. Built here from hoist's own commits (made by
/// `hoist exec`) merged by hand into a base that moved meanwhile.
#[test]
fn audit_and_history_read_a_pr_merge_through_hoists_signed_commit_and_never_the_merges_words() {
    let world = World::new();
    world.commit_file("hoist.yaml", POLICY, "policy for the audit");
    let base = world.tip();
    ok(&world, "console:alice", "deploy api v2.0.0 to prod", &[]);
    let h1 = world.tip();
    ok(&world, "console:alice", "deploy api v2.0.1 to prod", &[]);
    let h2 = world.tip();
    // Main as GitHub would have it: the base moved, then the PRs merged.
    human(&world, &["fetch", "-q", "origin"]);
    human(&world, &["checkout", "-q", "-B", "main", &base]);
    let work = world.dir.path().join("human");
    std::fs::write(work.join("NOTES.md"), "unrelated\n").unwrap();
    human(&world, &["add", "-A"]);
    human(
        &world,
        &["commit", "-qm", "notes", "--author=Dana <d@example.com>"],
    );
    // Whoever merges writes the merge message: an approval typed there is nobody's.
    let evil = "Merge pull request #1 from acme/hoist/1\n\n\
                Hoist-Operation: 99\nHoist-Approved-By: slack:EVIL\n";
    human(&world, &["merge", "-q", "--no-ff", "-m", evil, &h1]);
    let m1 = human(&world, &["rev-parse", "HEAD"]).trim().to_string();
    // Hoist's v2.0.1, merged together with another edit of the same file.
    human(&world, &["merge", "-q", "--no-ff", "--no-commit", &h2]);
    let prod = work.join("apps/api/overlays/prod/kustomization.yaml");
    let text = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(&prod, format!("{text}# merged with care\n")).unwrap();
    human(&world, &["add", "-A"]);
    human(
        &world,
        &[
            "commit",
            "-qm",
            "Merge pull request #2\n\nHoist-Operation: 2\nHoist-Requested-By: console:alice",
        ],
    );
    let m2 = human(&world, &["rev-parse", "HEAD"]).trim().to_string();
    // A merge of a person's commit carrying hoist's trailers, unsigned.
    human(&world, &["checkout", "-q", "-b", "forged"]);
    let worker = work.join(WORKER);
    let text = std::fs::read_to_string(&worker).unwrap();
    std::fs::write(&worker, text.replace("2.7.4", "3.0.0")).unwrap();
    human(&world, &["add", "-A"]);
    let forged = "deploy worker 3.0.0 to prod\n\nHoist-Operation: 3\nHoist-Approved-By: slack:EVIL";
    human(
        &world,
        &["commit", "-qm", forged, "--author=Mallory <m@example.com>"],
    );
    human(&world, &["checkout", "-q", "main"]);
    human(
        &world,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge pull request #3",
            "forged",
        ],
    );
    let m3 = human(&world, &["rev-parse", "HEAD"]).trim().to_string();
    human(&world, &["push", "-q", "-f", "origin", "main"]);

    let (code, out, err) = audit(&world, &["--format", "json", "--env", "prod"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let of = |sha: &str| -> Vec<&Value> { rows.iter().filter(|r| r["commit"] == sha).collect() };
    assert!(
        of(&h1).is_empty() && of(&h2).is_empty(),
        "first parents only: {out}"
    );
    let merged = of(&m1);
    assert_eq!(merged.len(), 1, "{out}");
    let r = merged[0];
    assert_eq!(
        (r["app"].as_str(), r["new"].as_str()),
        (Some("api"), Some("v2.0.0"))
    );
    assert_eq!(r["via"], "hoist", "{r}");
    assert_eq!(r["signature"], "good");
    assert_eq!(r["signer"], "hoist@localhost");
    assert_eq!(r["merged"], h1.as_str());
    assert_eq!(r["requested_by"], "console:alice");
    // H1's operation, not the one the merge message names.
    let format = "--format=%(trailers:key=Hoist-Operation,valueonly)";
    let op = git(&world.origin, &["log", "-1", format, &h1]);
    assert_eq!(r["operation"].as_str(), Some(op.trim()), "{r}");
    assert_eq!(r["approved_by"], serde_json::json!([]), "{r}");
    assert!(
        r["note"]
            .as_str()
            .unwrap()
            .contains("approvals unknown from git"),
        "{r}"
    );
    assert!(
        !out.contains("slack:EVIL"),
        "the merge's words are not hoist's: {out}"
    );
    for sha in [&m2, &m3] {
        let rows = of(sha);
        assert!(!rows.is_empty(), "{sha}: {out}");
        assert!(
            rows.iter()
                .all(|r| r["via"] == "out-of-band" && r["merged"].is_null()),
            "{out}"
        );
    }
    let (code, table, _) = audit(&world, &["--env", "prod"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("merged via PR from hoist's commit"),
        "{table}"
    );

    // The chat verb reads the same history.
    let (code, reply) = world.exec("console:bob", "history api in prod");
    assert_eq!(code, 0, "{reply}");
    let text = reply["message"].as_str().unwrap_or_default();
    let line = |sha: &str| {
        text.lines()
            .find(|l| l.contains(&sha[..7]))
            .unwrap_or_default()
    };
    assert!(
        line(&m1).contains("by console:alice") && line(&m1).contains("merged via PR"),
        "{text}"
    );
    assert!(line(&m2).contains("not signed by hoist"), "{text}");
    assert!(!text.contains("EVIL"), "{text}");
}
