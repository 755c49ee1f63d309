//! The `try`, `check` and `serve` subcommands as a user runs them (`serve`
//! against hostile clients in `server/limits.rs`).

mod support;

#[path = "cli/audit.rs"]
mod audit;
#[path = "deploy/clusters.rs"]
mod clusters;
#[path = "server/lifecycle.rs"]
mod lifecycle;
#[path = "server/limits.rs"]
mod limits;
#[path = "deploy/manifests.rs"]
mod manifests;
#[path = "readme/commands.rs"]
mod readme;

use std::io::Write;
use std::process::{Command, Stdio};
use support::BIN;

fn run_try(input: &str) -> (i32, String) {
    let mut child = Command::new(BIN)
        .arg("try")
        .env_remove("HOIST_SIGNING_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hoist runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn try_shows_commit_diff_simulated_progress_and_status() {
    let (code, out) =
        run_try("as console:alice: deploy api v1.2.4 to staging\nstatus\nhistory api\n");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("#1 pushed "), "{out}");
    assert!(
        out.contains("- newTag: v1.2.3   # managed by hoist")
            && out.contains("+ newTag: v1.2.4   # managed by hoist"),
        "{out}"
    );
    assert!(
        out.contains("api: syncing (simulated, ") && out.contains("healthy (simulated): seen "),
        "{out}"
    );
    let status_row = out
        .lines()
        .find(|l| l.starts_with("api") && l.contains("staging"))
        .expect("status row");
    assert!(
        status_row.contains("v1.2.4") && status_row.contains("healthy #1"),
        "{status_row}"
    );
    assert!(
        out.contains("deploy api v1.2.4 to staging  by console:alice"),
        "history names the requester: {out}"
    );
}

#[test]
fn try_reports_bad_lines_and_keeps_going() {
    let (code, out) =
        run_try("promot api staging to prod\nas console:alice: rollback api in staging\nhelp\n");
    assert_eq!(code, 0);
    assert!(out.contains("did you mean `promote`?"), "{out}");
    assert!(
        out.contains("no earlier version of api in staging"),
        "{out}"
    );
    assert!(out.contains("hoist commands:"), "{out}");
}

#[test]
fn check_accepts_the_example_repo() {
    let dir = env!("CARGO_MANIFEST_DIR").to_string() + "/deploy/example-config-repo";
    let out = Command::new(BIN)
        .args(["check", "--repo", &dir])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn check_reports_every_problem_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("apps")).unwrap();
    std::fs::write(dir.path().join("apps/api.yaml"), "image:\n  tag: v1\n").unwrap();
    let policy = "\
groups:
  sre: [slack:U1]
environments:
  staging:
    deployers: [sre, devs]
    soak: 10 minutes
    via: carrier-pigeon
  prod:
    promote_from: stagin
    aprovals: 2
    freeze: [\"Fri 16:00 - Mon 08:00 Mars/Olympus\", \"Fri 16:00 - Mon 08:00\", \"Fry 9:00 - Sat 10:00 UTC\"]
    approvals: { count: 2, expires: soon }
apps:
  api:
    targets:
      staging: { file: apps/api.yaml, yaml_path: image.tag }
      prod: { file: apps/missing.yaml, yaml_path: image.tag }
      qa: { file: apps/api.yaml, yaml_path: image.tag }
";
    std::fs::write(dir.path().join("hoist.yaml"), policy).unwrap();
    let out = Command::new(BIN)
        .args(["check", "--repo", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let expected = [
        "hoist.yaml:5:22: unknown group `devs`",
        "hoist.yaml:6:11: soak: `10 minutes` is not a valid duration",
        "hoist.yaml:7:10: via should be `push` or `pull-request`",
        "hoist.yaml:9:19: promote_from: environment `stagin` does not exist",
        "hoist.yaml:10:5: unknown key `aprovals` in environment `prod`; did you mean `approvals`?",
        "hoist.yaml:11:14: freeze window `Fri 16:00 - Mon 08:00 Mars/Olympus`: unknown time zone `Mars/Olympus`",
        "hoist.yaml:11:52: freeze window `Fri 16:00 - Mon 08:00` has no time zone",
        "hoist.yaml:11:77: freeze window `Fry 9:00 - Sat 10:00 UTC`: expected `DAY HH:MM - DAY HH:MM ZONE`",
        "hoist.yaml:12:37: approvals.expires: `soon` is not a valid duration",
        "hoist.yaml:17:7: app `api` in `prod`: file `apps/missing.yaml` is not in branch `main`",
        "hoist.yaml:18:7: app `api`: environment `qa` does not exist",
    ];
    for e in expected {
        assert!(
            text.lines().any(|l| l.starts_with(e)),
            "missing `{e}` in:\n{text}"
        );
    }
    assert_eq!(text.lines().count(), expected.len(), "{text}");
}

#[test]
fn the_embedded_example_matches_the_directory() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/example-config-repo");
    let mut on_disk = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                on_disk.push(
                    p.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    on_disk.sort();
    let embedded: Vec<String> = hoist::cli::example::FILES
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    assert_eq!(
        embedded, on_disk,
        "update src/cli/example.rs when the example repo changes"
    );
}
