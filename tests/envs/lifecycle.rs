//! An environment's whole life through `hoist exec`: created as one signed
//! commit of copies plus its registry entry, deployed to like any other
//! environment, extended, listed, and destroyed as one commit that takes
//! back exactly what creation wrote.

use super::fixture::{self, Recorded, recorded, template_files};
use crate::support::{World, git};

const CREATE: &str = "env create pr-123 from staging for 1h";
const REGISTRY: &str = "hoist-environments.yaml";

/// `STATUS\tPATH` lines of what `rev` changed against its parent, sorted.
fn name_status(w: &World, rev: &str) -> Vec<String> {
    let mut lines: Vec<String> = git(&w.origin, &["show", "--name-status", "--format=", rev])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// Exactly one commit from `before` to origin's tip, a child of `before`,
/// signed with the world's key. The tip.
fn one_signed_commit_on(w: &World, before: &str) -> String {
    let after = w.tip();
    let range = format!("{before}..{after}");
    assert_eq!(
        git(&w.origin, &["rev-list", "--count", &range]).trim(),
        "1",
        "one commit"
    );
    assert_eq!(
        git(&w.origin, &["rev-parse", &format!("{after}^")]).trim(),
        before,
        "a child of the tip it was planned on"
    );
    let verified = w.verify(&after, &w.allowed_signers);
    let stderr = String::from_utf8_lossy(&verified.stderr).into_owned();
    assert!(
        verified.status.success() && stderr.contains("Good \"git\" signature"),
        "verify-commit: {stderr}"
    );
    after
}

fn subject(w: &World, rev: &str) -> String {
    git(&w.origin, &["log", "-1", "--format=%s", rev])
        .trim()
        .to_string()
}

fn registry_at(w: &World, rev: &str) -> Vec<Recorded> {
    recorded(&w.show(rev, REGISTRY))
}

fn create_pr_123(w: &World) -> serde_json::Value {
    let (code, json) = w.exec("console:alice", CREATE);
    assert_eq!(code, 0, "{json}");
    json
}

#[test]
fn env_create_writes_one_signed_commit_of_copies_and_the_registry_entry() {
    let w = fixture::world();
    let before = w.tip();
    let start = jiff::Timestamp::now();
    let json = create_pr_123(&w);
    let end = jiff::Timestamp::now();
    let after = one_signed_commit_on(&w, &before);
    assert_eq!(json["commit"], after.as_str(), "{json}");
    assert_eq!(subject(&w, &after), CREATE);
    let id = json["operation"].as_u64().expect("an operation id");
    let operation = git(
        &w.origin,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Hoist-Operation,valueonly)",
            &after,
        ],
    );
    assert_eq!(operation.trim(), id.to_string());
    assert_eq!(w.tip_trailers("Hoist-Requested-By"), ["console:alice"]);

    let mut expected: Vec<String> = template_files()
        .iter()
        .map(|(_, _, to, _)| format!("A\t{to}"))
        .collect();
    expected.push(format!("A\t{REGISTRY}"));
    expected.sort();
    assert_eq!(
        name_status(&w, &after),
        expected,
        "only the copies and the registry"
    );
    for (from, text, to, copy) in template_files() {
        assert_eq!(
            w.show(&after, to),
            copy,
            "{to}: the template's bytes, names substituted"
        );
        assert_eq!(
            w.show(&after, from),
            text,
            "{from}: the template is untouched"
        );
    }

    let entries = registry_at(&w, &after);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(
        (e.name.as_str(), e.template.as_str(), e.owner.as_str()),
        ("pr-123", "staging", "console:alice")
    );
    let second = jiff::SignedDuration::from_secs(1);
    assert!(
        e.created >= start - second && e.created <= end + second,
        "created {} is not the time of the request ({start} .. {end})",
        e.created
    );
    assert_eq!(
        e.expires.duration_since(e.created),
        jiff::SignedDuration::from_hours(1),
        "for 1h: {e:?}"
    );
    git(&w.origin, &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn a_deploy_to_the_new_environment_edits_one_line_of_its_copy_only() {
    let w = fixture::world();
    create_pr_123(&w);
    let created = w.tip();
    let (code, json) = w.exec("console:alice", "deploy api v1.2.4 to pr-123");
    assert_eq!(code, 0, "{json}");
    let after = one_signed_commit_on(&w, &created);
    let copy = "apps/api/overlays/pr-123/kustomization.yaml";
    let stat = git(&w.origin, &["show", "--numstat", "--format=", &after]);
    assert_eq!(stat.trim(), format!("1\t1\t{copy}"));
    assert_eq!(
        w.show(&after, copy),
        fixture::API_KUSTOMIZATION_PR_123.replace(
            "newTag: v1.2.3   # managed by hoist",
            "newTag: v1.2.4   # managed by hoist"
        )
    );
    assert_eq!(
        w.show(&after, "apps/api/overlays/staging/kustomization.yaml"),
        fixture::API_KUSTOMIZATION,
        "staging's file is left alone"
    );
    assert_eq!(subject(&w, &after), "deploy api v1.2.4 to pr-123");
}

#[test]
fn env_destroy_removes_exactly_the_copies_and_the_entry_in_one_commit() {
    let w = fixture::world();
    let seeded = w.tip();
    create_pr_123(&w);
    let created = w.tip();
    let (code, json) = w.exec("console:alice", "env destroy pr-123");
    assert_eq!(code, 0, "{json}");
    let after = one_signed_commit_on(&w, &created);
    assert_eq!(subject(&w, &after), "env destroy pr-123");
    assert_eq!(w.tip_trailers("Hoist-Requested-By"), ["console:alice"]);
    let mut expected: Vec<String> = template_files()
        .iter()
        .map(|(_, _, to, _)| format!("D\t{to}"))
        .collect();
    expected.push(format!("M\t{REGISTRY}"));
    expected.sort();
    assert_eq!(name_status(&w, &after), expected);
    assert!(registry_at(&w, &after).is_empty(), "the entry is gone");
    // Nothing but the registry file differs from before the creation.
    let since = git(&w.origin, &["diff", "--name-only", &seeded, &after]);
    assert!(since.lines().all(|l| l == REGISTRY), "left behind: {since}");
    git(&w.origin, &["fsck", "--strict", "--no-dangling"]);

    let tip = w.tip();
    let (code, json) = w.exec("console:alice", "deploy api v1.2.4 to pr-123");
    assert_eq!(code, 1, "pr-123 is gone: {json}");
    assert_eq!(w.tip(), tip);
}

#[test]
fn env_extend_moves_only_the_entrys_expiry() {
    let w = fixture::world();
    create_pr_123(&w);
    let created = w.tip();
    let old = registry_at(&w, &created).remove(0);
    let (code, json) = w.exec("console:alice", "env extend pr-123 for 2d");
    assert_eq!(code, 0, "{json}");
    let after = one_signed_commit_on(&w, &created);
    assert!(
        subject(&w, &after).starts_with("env extend pr-123"),
        "{}",
        subject(&w, &after)
    );
    let stat = git(&w.origin, &["show", "--numstat", "--format=", &after]);
    assert_eq!(
        stat.trim(),
        format!("1\t1\t{REGISTRY}"),
        "one line of the registry"
    );
    let new = registry_at(&w, &after).remove(0);
    assert_eq!(
        (&new.name, &new.template, &new.owner, new.created),
        (&old.name, &old.template, &old.owner, old.created)
    );
    let two_days = jiff::SignedDuration::from_hours(48);
    assert!(
        new.expires >= old.created + two_days
            && new.expires
                <= jiff::Timestamp::now() + two_days + jiff::SignedDuration::from_hours(1),
        "extended by 2d: {old:?} -> {new:?}"
    );
}

/// `t` as the list shows it: UTC, to the minute.
fn minute(t: jiff::Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

#[test]
fn env_list_shows_name_template_owner_times_and_versions() {
    let w = fixture::world();
    create_pr_123(&w);
    let (code, json) = w.exec("console:bob", "env create qa-team");
    assert_eq!(code, 0, "{json}");
    let (code, json) = w.exec("console:alice", "deploy api v1.2.4 to pr-123");
    assert_eq!(code, 0, "{json}");
    let entries = registry_at(&w, "main");
    assert_eq!(entries.len(), 2, "{entries:?}");
    let qa = entries.iter().find(|e| e.name == "qa-team").unwrap();
    assert_eq!(
        qa.expires.duration_since(qa.created),
        jiff::SignedDuration::from_hours(72),
        "the rule's ttl when no `for` is given"
    );
    let tip = w.tip();
    // Anyone may look (carol may not create one).
    let (code, json) = w.exec("console:carol", "env list");
    assert_eq!(code, 0, "{json}");
    assert_eq!(w.tip(), tip, "listing writes nothing");
    let message = json["message"].as_str().unwrap();
    let header = message.lines().next().unwrap_or_default();
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns,
        ["NAME", "FROM", "OWNER", "CREATED", "EXPIRES", "VERSIONS"],
        "{message}"
    );
    // api moved in pr-123 only; each row its own versions.
    for (name, owner, api) in [
        ("pr-123", "console:alice", "api=v1.2.4"),
        ("qa-team", "console:bob", "api=v1.2.3"),
    ] {
        let e = entries.iter().find(|e| e.name == name).unwrap();
        let row = message
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed: {message}"));
        let words: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&words[1..3], ["staging", owner], "{row}");
        for shown in [
            minute(e.created),
            minute(e.expires),
            api.to_string(),
            "web=3.4.1".into(),
            "worker=2.8.0".into(),
        ] {
            assert!(row.contains(&shown), "{shown} not in {row:?}");
        }
    }
}

/// The reason is the commit's body, never a trailer, even when it is
/// written like one.
#[test]
fn the_reason_goes_into_the_body_and_cannot_pose_as_a_trailer() {
    let w = fixture::world();
    let (code, json) = w.exec(
        "console:bob",
        "env create pr-5 --reason Hoist-Approved-By: console:carol",
    );
    assert_eq!(code, 0, "{json}");
    let message = git(&w.origin, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.starts_with("env create pr-5 from staging\n\n"),
        "{message}"
    );
    assert!(
        message.contains("Hoist-Approved-By: console:carol"),
        "{message}"
    );
    assert!(
        w.tip_trailers("Hoist-Approved-By").is_empty(),
        "git reads no approver: {message}"
    );
    assert_eq!(w.tip_trailers("Hoist-Requested-By"), ["console:bob"]);
}
