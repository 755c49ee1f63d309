//! The audit's pure parts: which changes are rows, how rows read, and the
//! three shapes (CSV parsed back by the RFC's rules).

use super::report::{csv, flat, iso, json, rows, table};
use super::{Changed, touches};
use crate::engine::ports::{Touch, Verdict};
use crate::policy::Target;

fn target(file: &str) -> Target {
    let yaml = format!(
        "environments:\n  dev: {{ branch: main, deployers: [\"*\"] }}\napps:\n  api:\n    targets:\n      dev: {{ file: {file}, yaml_path: image.tag }}\n"
    );
    let (policy, problems) = crate::policy::load(&yaml);
    assert!(problems.is_empty(), "{problems:?}");
    policy.apps[0].targets.values().next().unwrap().clone()
}

fn commit(verdict: Verdict, trailers: &[(&str, &str)]) -> Touch {
    Touch {
        sha: "a".repeat(40),
        time: 1_795_600_800,
        author: "Mallory, \"M\" <m@x>".into(),
        subject: "deploy api v2 to dev".into(),
        trailers: trailers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        verdict,
        signer: None,
        merged: None,
        target: 0,
        old: None,
        new: None,
    }
}

fn changed(target: usize, old: &str, new: &str) -> Changed {
    Changed {
        target,
        old: Some(old.into()),
        new: Some(new.into()),
    }
}

const HOIST: &[(&str, &str)] = &[
    ("Hoist-Operation", "7"),
    ("Hoist-Requested-By", "console:alice"),
    ("Hoist-Approved-By", "console:carol"),
    ("Hoist-Approved-By", "console:dave"),
    ("Hoist-Chat", "https://chat/x"),
];

#[test]
fn a_neighbour_of_a_hoist_change_is_not_out_of_band_but_a_human_edit_is() {
    // Two targets in one file, a third in another.
    let targets = [target("a.yaml"), target("a.yaml"), target("b.yaml")];
    let by_hoist = commit(Verdict::Good, HOIST);
    let rows = touches(
        &by_hoist,
        vec![
            changed(0, "v1", "v2"),
            changed(1, "v1", "v1"),
            changed(2, "x", "x"),
        ],
        &targets,
    );
    let seen: Vec<(usize, bool)> = rows.iter().map(|t| (t.target, t.via_hoist())).collect();
    assert_eq!(seen, [(0, true), (2, false)], "{rows:?}");
    // The same change without a good signature: every touched target is a row.
    let forged = commit(Verdict::Unsigned, HOIST);
    let rows = touches(
        &forged,
        vec![changed(0, "v1", "v2"), changed(1, "v1", "v1")],
        &targets,
    );
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|t| !t.via_hoist()));
}

#[test]
fn trailers_are_shown_only_through_hoist_and_forged_ones_are_flagged() {
    let names = [("dev".to_string(), "api".to_string())];
    let mut good = commit(Verdict::Good, HOIST);
    (good.old, good.new) = (Some("v1".into()), Some("v2".into()));
    let mut forged = good.clone();
    forged.verdict = Verdict::UnknownKey;
    let r = rows(&[good, forged], &names);
    assert_eq!(r[0].via, "hoist");
    assert_eq!(r[0].operation.as_deref(), Some("7"));
    assert_eq!(r[0].approved_by, ["console:carol", "console:dave"]);
    assert_eq!(r[0].note, None);
    assert_eq!(r[1].via, "out-of-band");
    assert_eq!((r[1].operation.as_ref(), r[1].approved_by.len()), (None, 0));
    assert_eq!(
        r[1].note.as_deref(),
        Some("carries Hoist-* trailers, not trusted (signature: unknown key)")
    );
    assert_eq!(r[0].time, "2026-11-25T10:00:00Z");
    assert_eq!(iso(0), "1970-01-01T00:00:00Z");
}

/// RFC 4180 read back: quoted fields may hold commas, doubled quotes, CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[test]
fn csv_and_json_keep_outside_text_whole_and_the_table_flattens_it() {
    let names = [("dev".to_string(), "api".to_string())];
    let mut t = commit(Verdict::Unsigned, &[]);
    t.subject = "evil, \"quoted\"\r\nHoist-Approved-By: x\u{2028}y".into();
    (t.old, t.new) = (Some("v1".into()), Some("v2".into()));
    let r = rows(&[t.clone()], &names);
    let parsed = parse_csv(&csv(&r));
    assert_eq!(parsed.len(), 2, "{parsed:?}");
    assert_eq!(parsed[0].len(), parsed[1].len());
    let col = |name: &str| parsed[0].iter().position(|c| c == name).unwrap();
    assert_eq!(parsed[1][col("subject")], t.subject);
    assert_eq!(parsed[1][col("author")], t.author);
    let back: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
    assert_eq!(back[0]["subject"], t.subject.as_str());
    assert_eq!(back[0]["signature"], "unsigned");
    assert_eq!(back[0]["via"], "out-of-band");
    let shown = table(&r);
    assert_eq!(shown.lines().count(), 2, "{shown}");
    assert!(
        shown.contains("evil, \"quoted\" Hoist-Approved-By: x y"),
        "{shown}"
    );
    // A subject a spreadsheet would run is opened as text.
    let mut f = t;
    f.subject = "=HYPERLINK(\"https://evil.example\",\"ok\")".into();
    let parsed = parse_csv(&csv(&rows(&[f.clone()], &names)));
    assert_eq!(parsed[1][col("subject")], format!("'{}", f.subject));
    assert_eq!(flat("a\n\nb\tc", 10), "a b c");
    assert_eq!(flat("abcdef", 4), "abc…");
}
