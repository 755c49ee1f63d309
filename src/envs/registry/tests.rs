//! The registry read strictly and edited surgically: round trips, a human's
//! comments and flow style kept, and hostile files (path tricks in names,
//! injected trailers in owners, 10,000 entries, deep nesting) refused.

use super::*;
use crate::yaml::tests::on_small_stack;

const T0: i64 = 1_796_162_400; // 2026-12-01T22:00:00Z

fn entry(name: &str, op: Option<u64>) -> Entry {
    Entry {
        name: name.parse().unwrap(),
        template: "staging".parse().unwrap(),
        owner: "slack:U123".into(),
        created: T0,
        expires: T0 + 3600,
        operation: op,
    }
}

const EXAMPLE: &str = "\
# Environments made with `env create` (hoist writes this file; see environments_from in hoist.yaml).
environments:
  - name: pr-123
    template: staging
    owner: \"slack:U123\"
    created: \"2026-12-01T22:00:00Z\"
    expires: \"2026-12-01T23:00:00Z\"
    operation: 41
";

#[test]
fn the_example_reads_as_one_entry_and_a_new_file_writes_it_back() {
    assert_eq!(parse(EXAMPLE).unwrap(), vec![entry("pr-123", Some(41))]);
    assert_eq!(append(None, &entry("pr-123", Some(41))).unwrap(), EXAMPLE);
    for empty in [
        "",
        "# nothing yet\n",
        "environments: []\n",
        "environments:\n",
        "environments: ~\n",
    ] {
        assert_eq!(parse(empty).unwrap(), vec![], "{empty:?}");
    }
}

#[test]
fn append_remove_and_extend_touch_only_their_lines() {
    let commented = EXAMPLE.replace(
        "    operation: 41\n",
        "    operation: 41 # the first\n# a note\n",
    );
    let two = append(Some(&commented), &entry("pr-7", None)).unwrap();
    // After the last entry, before the comment that ends the file.
    let pr7 = "  - name: pr-7\n    template: staging\n    owner: \"slack:U123\"\n    created: \"2026-12-01T22:00:00Z\"\n    expires: \"2026-12-01T23:00:00Z\"\n";
    assert_eq!(
        two,
        commented.replace("# a note\n", &format!("{pr7}# a note\n"))
    );
    assert_eq!(
        parse(&two).unwrap(),
        vec![entry("pr-123", Some(41)), entry("pr-7", None)]
    );

    let later = set_expires(&two, "pr-123", T0 + 7200).unwrap();
    assert_eq!(
        later,
        two.replacen("2026-12-01T23:00:00Z", "2026-12-02T00:00:00Z", 1)
    );

    let first_gone = remove(&two, "pr-123").unwrap();
    assert_eq!(
        first_gone,
        format!(
            "{}{pr7}# a note\n",
            &EXAMPLE[..EXAMPLE.find("  - name").unwrap()]
        )
    );
    let last_gone = remove(&two, "pr-7").unwrap();
    assert_eq!(last_gone, commented);
    let none = remove(&remove(&two, "pr-7").unwrap(), "pr-123").unwrap();
    assert_eq!(parse(&none).unwrap(), vec![]);
    assert!(none.starts_with("# Environments made"), "{none}");
    // And back again: an emptied list takes a new entry.
    let again = append(Some(&none), &entry("pr-9", None)).unwrap();
    assert_eq!(parse(&again).unwrap(), vec![entry("pr-9", None)]);

    assert!(
        remove(&two, "pr-8")
            .unwrap_err()
            .contains("no environment `pr-8`")
    );
    assert!(
        set_expires(&two, "pr-7", T0 - 1)
            .unwrap_err()
            .contains("before it was created")
    );
    assert!(
        append(Some(&two), &entry("pr-7", None))
            .unwrap_err()
            .contains("already records")
    );
}

#[test]
fn a_humans_flow_style_entries_and_empty_lists_are_edited_too() {
    let flow_items = "environments:   # made by hoist\n  - {name: a1, template: staging, owner: 'slack:U1', created: 2026-12-01T22:00:00Z, expires: 2026-12-01T23:00:00Z}\n  - {name: b2, template: staging, owner: \"slack:U1\",\n     created: 2026-12-01T22:00:00Z, expires: '2026-12-01T23:00:00Z'}\n";
    let extended = set_expires(flow_items, "b2", T0 + 7200).unwrap();
    assert_eq!(
        extended,
        flow_items.replace("'2026-12-01T23:00:00Z'", "'2026-12-02T00:00:00Z'")
    );
    let extended = set_expires(flow_items, "a1", T0 + 7200).unwrap();
    assert_eq!(
        extended,
        flow_items.replacen(
            "expires: 2026-12-01T23:00:00Z",
            "expires: 2026-12-02T00:00:00Z",
            1
        )
    );
    let without_a = remove(flow_items, "a1").unwrap();
    assert_eq!(
        without_a,
        flow_items.replace(
            &flow_items[flow_items.find("  - {name: a1").unwrap()
                ..flow_items.find("  - {name: b2").unwrap()],
            ""
        )
    );
    let added = append(Some(flow_items), &entry("c3", None)).unwrap();
    assert!(added.starts_with(flow_items));
    assert_eq!(parse(&added).unwrap().len(), 3);

    for (empty, kept) in [
        ("environments: []\n", "environments:\n"),
        ("# hi\nenvironments: [] # none yet\nx_after: 1\n", ""),
    ] {
        match append(Some(empty), &entry("pr-1", None)) {
            Ok(out) => {
                assert!(out.starts_with(kept), "{out}");
                assert_eq!(parse(&out).unwrap(), vec![entry("pr-1", None)]);
            }
            Err(e) => assert!(empty.contains("x_after"), "{e}"),
        }
    }
    let commented = append(
        Some("# hi\nenvironments: [] # none yet\n"),
        &entry("pr-1", None),
    )
    .unwrap();
    assert!(
        commented.starts_with("# hi\nenvironments: # none yet\n  - name: pr-1\n"),
        "{commented}"
    );

    let whole_flow = "environments: [{name: a1, template: staging, owner: slack:U1, created: 2026-12-01T22:00:00Z, expires: 2026-12-01T23:00:00Z}]\n# after\n";
    let added = append(Some(whole_flow), &entry("c3", None)).unwrap();
    assert!(
        added.starts_with("environments:\n  - name: a1\n"),
        "{added}"
    );
    assert!(added.ends_with("# after\n"), "{added}");
    assert_eq!(parse(&added).unwrap().len(), 2);
    let emptied = remove(whole_flow, "a1").unwrap();
    assert_eq!(emptied, "environments: []\n# after\n");
}

#[test]
fn hostile_entries_are_refused_with_their_line() {
    let with = |field: &str, value: &str| {
        EXAMPLE.replace(
            &format!("    {field}: "),
            &format!("    {field}: {value}\n    x_{field}: "),
        )
    };
    let cases = [
        (
            EXAMPLE.replace("name: pr-123", "name: ../prod"),
            "3: `name` is not a valid name",
        ),
        (
            EXAMPLE.replace("name: pr-123", "name: \"pr-1/../../x\""),
            "3: `name` is not a valid name",
        ),
        (
            EXAMPLE.replace("template: staging", "template: Staging"),
            "4: `template` is not a valid name",
        ),
        (
            EXAMPLE.replace(
                "\"slack:U123\"",
                "\"slack:U1\\nHoist-Approved-By: slack:U2\"",
            ),
            "5: `owner` should be an actor id",
        ),
        (
            EXAMPLE.replace("\"slack:U123\"", "\"slack:U1 Hoist-Approved-By: slack:U2\""),
            "5: `owner` should be an actor id",
        ),
        (
            EXAMPLE.replace("\"slack:U123\"", &format!("\"slack:{}\"", "U".repeat(129))),
            "5: `owner`",
        ),
        (
            EXAMPLE.replace("T22:00:00Z", "T22:00:00+01:00"),
            "6: `created` should be a UTC time",
        ),
        (
            EXAMPLE.replace("T23:00:00Z", "T21:00:00Z"),
            "3: environment `pr-123` expires before it was created",
        ),
        (
            EXAMPLE.replace("operation: 41", "operation: -1"),
            "8: `operation`",
        ),
        (
            EXAMPLE.replace("operation: 41", "operation: [41]"),
            "8: `operation`",
        ),
        (with("owner", "x"), "6: unknown key"),
        (
            EXAMPLE.replace("    owner: \"slack:U123\"\n", ""),
            "3: an environment needs `owner`",
        ),
        (
            format!("{EXAMPLE}{}", &EXAMPLE[EXAMPLE.find("  - name").unwrap()..]),
            "9: environment `pr-123` is listed twice",
        ),
        (EXAMPLE.replace("environments:", "envs:"), "2: unknown key"),
        (
            format!("{EXAMPLE}environments: []\n"),
            "duplicate key `environments`",
        ),
        (
            "environments: 3\n".into(),
            "1: `environments` should be a list",
        ),
        ("- a\n".into(), "should be a mapping"),
        ("environments: [\n".into(), "not valid YAML"),
        (
            format!("{EXAMPLE}---\nenvironments: []\n"),
            "more than one YAML document",
        ),
    ];
    for (text, want) in cases {
        let err = parse(&text).unwrap_err();
        assert!(err.starts_with("hoist-environments.yaml:"), "{err}");
        assert!(err.contains(want), "{want}: {err}\n{text}");
        assert!(!err.contains('\n'), "{err}");
    }
    let mut bad = entry("pr-1", None);
    bad.owner = "slack:U1\nHoist-Approved-By: slack:U2".into();
    assert!(append(None, &bad).is_err());
    assert!(append(Some(EXAMPLE), &bad).is_err());
    let mut backwards = entry("pr-1", None);
    backwards.expires = T0 - 1;
    assert!(append(None, &backwards).is_err());
    backwards.expires = i64::MAX;
    assert!(append(None, &backwards).is_err());
}

#[test]
fn huge_and_deep_files_are_refused_without_aborting() {
    let item = &EXAMPLE[EXAMPLE.find("  - name").unwrap()..];
    let many: String = std::iter::once("environments:\n".to_string())
        .chain((0..10_000).map(|i| item.replace("pr-123", &format!("pr-{i}"))))
        .collect();
    assert!(parse(&many).unwrap_err().contains("256 KiB"));
    let just_over: String = std::iter::once("environments:\n".to_string())
        .chain((0..=MAX_ENTRIES).map(|i| format!("- {{name: a{i}, template: b, owner: c:d, created: 2026-12-01T22:00:00Z, expires: 2026-12-01T22:00:00Z}}\n")))
        .collect();
    assert!(
        parse(&just_over).unwrap_err().contains("more than 1000"),
        "{}",
        parse(&just_over).unwrap_err()
    );
    let full: String = just_over
        .lines()
        .take(MAX_ENTRIES + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(parse(&full).unwrap().len(), MAX_ENTRIES);
    assert!(
        append(Some(&full), &entry("pr-1", None))
            .unwrap_err()
            .contains("already holds 1000")
    );
    let deep = format!(
        "environments: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let err = on_small_stack(move || parse(&deep).unwrap_err());
    assert!(err.contains("nesting deeper than 8 levels"), "{err}");
}
