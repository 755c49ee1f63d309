//! Edit tests: realistic kustomize and Helm files, one-line diffs with
//! byte-identical surroundings, style preservation, refusals, and a property
//! test that an edit changes only the target span and reads back.

use super::*;
use proptest::prelude::*;

const KUSTOMIZATION: &str = "\
# api in prod. hoist edits only the newTag below.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base   # shared manifests
images:
  - name: ghcr.io/acme/sidecar
    newTag: \"2.0.1\"
  - name: ghcr.io/acme/api
    newName: registry.internal/acme/api
    newTag: v1.4.1   # managed by hoist
replicas:
  - name: api
    count: 4
";

const VALUES: &str = "\
# Helm values
image:
  repository: ghcr.io/acme/worker
  tag: '2.8.0'   # quoted on purpose
  pullPolicy: IfNotPresent
sidecars:
  - name: envoy
    image: { repository: envoyproxy/envoy, tag: v1.30.1 }
";

fn kustomize(image: &str) -> Locator {
    Locator::KustomizeImage(image.into())
}

fn path(p: &str) -> Locator {
    Locator::YamlPath(p.into())
}

fn v(s: &str) -> Version {
    s.parse().unwrap()
}

/// The edit changes exactly one line, and every other byte is the same.
fn assert_one_line(before: &str, after: &Edited, line: usize, new_line: &str) {
    assert_eq!(after.lines.len(), 1, "{:?}", after.lines);
    assert_eq!(after.lines[0].line, line);
    assert_eq!(after.lines[0].new, new_line);
    let (a, b): (Vec<&str>, Vec<&str>) = (
        before.split('\n').collect(),
        after.new_text.split('\n').collect(),
    );
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if i + 1 != line {
            assert_eq!(x, y, "line {} changed", i + 1);
        }
    }
}

#[test]
fn kustomize_new_tag_changes_only_its_line() {
    let e = apply(KUSTOMIZATION, &kustomize("ghcr.io/acme/api"), &v("v1.4.2")).unwrap();
    assert_eq!(e.old_value.as_deref(), Some("v1.4.1"));
    assert_one_line(
        KUSTOMIZATION,
        &e,
        11,
        "    newTag: v1.4.2   # managed by hoist",
    );
    assert_eq!(
        read_value(&e.new_text, &kustomize("ghcr.io/acme/api"))
            .unwrap()
            .as_deref(),
        Some("v1.4.2")
    );
}

#[test]
fn quoted_values_stay_quoted_in_their_style() {
    let e = apply(
        KUSTOMIZATION,
        &kustomize("ghcr.io/acme/sidecar"),
        &v("2.0.2"),
    )
    .unwrap();
    assert_one_line(KUSTOMIZATION, &e, 8, "    newTag: \"2.0.2\"");
    let e = apply(VALUES, &path("image.tag"), &v("2.9.0")).unwrap();
    assert_one_line(VALUES, &e, 4, "  tag: '2.9.0'   # quoted on purpose");
}

#[test]
fn plain_values_stay_plain_unless_yaml_would_read_a_number() {
    let e = apply(KUSTOMIZATION, &kustomize("ghcr.io/acme/api"), &v("2.9.0")).unwrap();
    assert_eq!(e.lines[0].new, "    newTag: 2.9.0   # managed by hoist");
    let e = apply(KUSTOMIZATION, &kustomize("ghcr.io/acme/api"), &v("1.10")).unwrap();
    assert_eq!(e.lines[0].new, "    newTag: \"1.10\"   # managed by hoist");
    for number in [
        "123", "1e5", "0x1F", "0755", "1_000", "true", "No", "null", "1:20",
    ] {
        assert!(!plain_is_text(number), "{number}");
    }
    for text in [
        "v1.2.3",
        "2.9.0",
        "latest",
        "sha256:abcd",
        "1.2.3-rc.1",
        "main-4f2a1b",
    ] {
        assert!(plain_is_text(text), "{text}");
    }
}

#[test]
fn yaml_paths_reach_into_lists_and_flow_mappings() {
    let e = apply(VALUES, &path("sidecars[0].image.tag"), &v("v1.31.0")).unwrap();
    assert_one_line(
        VALUES,
        &e,
        8,
        "    image: { repository: envoyproxy/envoy, tag: v1.31.0 }",
    );
    let dotted = "labels:\n  app.kubernetes.io/version: v1 # x\n";
    let e = apply(
        dotted,
        &path("labels.app\\.kubernetes\\.io/version"),
        &v("v2"),
    )
    .unwrap();
    assert_eq!(e.new_text, "labels:\n  app.kubernetes.io/version: v2 # x\n");
}

#[test]
fn a_file_with_a_key_written_twice_is_neither_read_nor_edited() {
    let src = "image:\n  tag: v1\n  tag: v1-evil\n";
    let loc = Locator::YamlPath("image.tag".into());
    for e in [
        read_value(src, &loc).unwrap_err(),
        apply(src, &loc, &"v2".parse().unwrap()).unwrap_err(),
    ] {
        let text = e.to_string();
        assert!(
            text.contains("key `tag` is written twice (2:3 and 3:3)"),
            "{text}"
        );
    }
}

#[test]
fn a_tag_over_a_pinned_entry_reads_back_as_the_tag() {
    let pinned = KUSTOMIZATION.replace(
        "    newTag: v1.4.1   # managed by hoist\n",
        &format!(
            "    newTag: v1.4.1   # managed by hoist\n    digest: sha256:{}\n",
            "a".repeat(64)
        ),
    );
    let loc = kustomize("ghcr.io/acme/api");
    let edited = apply(&pinned, &loc, &v("v1.5.0")).unwrap();
    assert_eq!(
        read_value(&edited.new_text, &loc).unwrap(),
        Some("v1.5.0".into())
    );
}

#[test]
fn crlf_files_keep_their_line_endings() {
    let src = "image:\r\n  tag: v1\r\n  pullPolicy: Always\r\n";
    let e = apply(src, &path("image.tag"), &v("v2")).unwrap();
    assert_eq!(
        e.new_text,
        "image:\r\n  tag: v2\r\n  pullPolicy: Always\r\n"
    );
}

#[test]
fn digests_are_written_with_tags_as_a_pair() {
    let src = "images:\n  - name: app\n    newTag: v1\n    digest: sha256:aaaa\n";
    let d = "b".repeat(64);
    let e = apply(src, &kustomize("app"), &v(&format!("v2@sha256:{d}"))).unwrap();
    assert_eq!(
        e.new_text,
        format!("images:\n  - name: app\n    newTag: v2\n    digest: sha256:{d}\n")
    );
    // A tag alone clears a digest that would otherwise win.
    let e = apply(&e.new_text, &kustomize("app"), &v("v3")).unwrap();
    assert!(
        e.new_text.contains("newTag: v3\n    digest: \"\"\n"),
        "{}",
        e.new_text
    );
}

#[test]
fn unchanged_values_give_an_empty_diff() {
    let e = apply(KUSTOMIZATION, &kustomize("ghcr.io/acme/api"), &v("v1.4.1")).unwrap();
    assert!(e.lines.is_empty());
    assert_eq!(e.new_text, KUSTOMIZATION);
}

#[test]
fn refusals_name_the_problem() {
    let err = apply(KUSTOMIZATION, &kustomize("ghcr.io/acme/nope"), &v("v1")).unwrap_err();
    assert!(
        err.to_string()
            .contains("kustomize image `ghcr.io/acme/nope` is not in the file"),
        "{err}"
    );
    let err = apply("a: &x v1\nb: *x\n", &path("a"), &v("v2")).unwrap_err();
    assert!(matches!(err, EditError::Anchored(_)), "{err}");
    let err = apply("a: &x v1\nb: *x\n", &path("b"), &v("v2")).unwrap_err();
    assert!(matches!(err, EditError::Anchored(_)), "{err}");
    let err = apply("a: |\n  v1\n", &path("a"), &v("v2")).unwrap_err();
    assert!(matches!(err, EditError::MultiLine(_)), "{err}");
    let err = apply("a: v1\n---\na: v2\n", &path("a"), &v("v3")).unwrap_err();
    assert!(matches!(err, EditError::Ambiguous(_)), "{err}");
    let err = apply("a: [v1\n", &path("a"), &v("v3")).unwrap_err();
    assert!(matches!(err, EditError::Syntax(_)), "{err}");
    let err = apply(
        "images:\n  - name: app\n",
        &kustomize("app"),
        &v(&format!("v2@sha256:{}", "c".repeat(64))),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no `newTag:` key"), "{err}");
}

#[test]
fn a_missing_digest_key_is_added_after_new_tag_at_its_indentation() {
    let d = format!("sha256:{}", "d".repeat(64));
    let e = apply(
        KUSTOMIZATION,
        &kustomize("ghcr.io/acme/api"),
        &v(&format!("v1.5.0@{d}")),
    )
    .unwrap();
    let expected = KUSTOMIZATION.replace(
        "    newTag: v1.4.1   # managed by hoist\n",
        &format!("    newTag: v1.5.0   # managed by hoist\n    digest: {d}\n"),
    );
    assert_eq!(e.new_text, expected);
    assert_eq!(
        e.lines,
        [
            LineChange {
                line: 11,
                old: "    newTag: v1.4.1   # managed by hoist".into(),
                new: "    newTag: v1.5.0   # managed by hoist".into()
            },
            LineChange {
                line: 12,
                old: String::new(),
                new: format!("    digest: {d}")
            },
        ]
    );
    assert_eq!(
        read_value(&e.new_text, &kustomize("ghcr.io/acme/api")).unwrap(),
        Some(format!("v1.5.0@{d}"))
    );
    // A digest alone keeps the tag and adds only the digest line.
    let e = apply(KUSTOMIZATION, &kustomize("ghcr.io/acme/api"), &v(&d)).unwrap();
    assert_eq!(
        e.new_text,
        KUSTOMIZATION.replace(
            "hoist\nreplicas",
            &format!("hoist\n    digest: {d}\nreplicas")
        )
    );
    assert_eq!(e.lines.len(), 1);
}

#[test]
fn a_missing_digest_keeps_crlf_and_last_lines_and_goes_inline_in_flow_entries() {
    let d = format!("sha256:{}", "e".repeat(64));
    let crlf = "images:\r\n- name: app\r\n  newTag: v1\r\n";
    let e = apply(crlf, &kustomize("app"), &v(&format!("v2@{d}"))).unwrap();
    assert_eq!(
        e.new_text,
        format!("images:\r\n- name: app\r\n  newTag: v2\r\n  digest: {d}\r\n")
    );
    let last = "images:\n  - name: app\n    newTag: v1";
    let e = apply(last, &kustomize("app"), &v(&d)).unwrap();
    assert_eq!(e.new_text, format!("{last}\n    digest: {d}"));
    let tag_first = "images:\n  - newTag: v1\n    name: app";
    let e = apply(tag_first, &kustomize("app"), &v(&d)).unwrap();
    assert_eq!(
        e.new_text,
        format!("images:\n  - newTag: v1\n    digest: {d}\n    name: app")
    );
    let first_key = "images:\n  - name: app\n";
    let e = apply(first_key, &kustomize("app"), &v(&d)).unwrap();
    assert_eq!(e.new_text, format!("{first_key}    digest: {d}\n"));
    let flow = "images:\n  - {name: app, newTag: v1}  # pinned\n  - name: other\n";
    let e = apply(flow, &kustomize("app"), &v(&format!("v2@{d}"))).unwrap();
    assert_eq!(
        e.new_text,
        format!("images:\n  - {{name: app, newTag: v2, digest: {d}}}  # pinned\n  - name: other\n")
    );
    assert_eq!(e.lines.len(), 1);
    // Where a new line would not read back as the entry's digest, refuse.
    let odd = "images: [name: app]\n";
    let err = apply(odd, &kustomize("app"), &v(&d)).unwrap_err();
    assert!(
        err.to_string().contains("could not add a `digest:` key"),
        "{err}"
    );
}

#[test]
fn hostile_target_files_are_errors_not_aborts() {
    let deep_block = format!("image:\n  tag: v1\nx:\n{}y\n", "- ".repeat(100_000));
    let deep_flow = format!(
        "image: {{tag: v1}}\nx: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    for src in [deep_block, deep_flow] {
        let err = crate::yaml::tests::on_small_stack(move || {
            let read = read_value(&src, &path("image.tag")).unwrap_err();
            let plan = apply(&src, &path("image.tag"), &v("v2")).unwrap_err();
            (read, plan)
        });
        for e in [err.0, err.1] {
            assert!(matches!(e, EditError::TooLarge(_)), "{e}");
            assert!(
                e.to_string().contains("nesting deeper than 128 levels"),
                "{e}"
            );
        }
    }
    let huge = format!(
        "image:\n  tag: v1\n# {}\n",
        "x".repeat(Limits::TARGET.max_bytes)
    );
    let err = read_value(&huge, &path("image.tag")).unwrap_err();
    assert!(err.to_string().contains("hoist reads at most"), "{err}");
    let marked = format!("{huge}image: r/a:v1 # {{\"$hoist\": \"a\"}}\n");
    let err = apply(&marked, &Locator::Marker("a".into()), &v("v2")).unwrap_err();
    assert!(matches!(err, EditError::TooLarge(_)), "{err}");
}

#[test]
fn multi_document_files_edit_the_document_that_has_the_target() {
    let src = "kind: A\nname: x\n---\nkind: B\nimage:\n  tag: v1\n";
    let e = apply(src, &path("image.tag"), &v("v2")).unwrap();
    assert_eq!(
        e.new_text,
        "kind: A\nname: x\n---\nkind: B\nimage:\n  tag: v2\n"
    );
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z ]{0,10}".prop_map(|c| format!("  # {c}"))
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// For generated files and values: only the target span changes, and the
    /// result parses to the new value.
    #[test]
    fn edits_touch_only_the_target_span(
        keys in prop::collection::vec("[a-z]{1,8}", 1..4),
        old in "[a-z0-9][a-z0-9.-]{0,10}",
        new in "[A-Za-z0-9_][A-Za-z0-9._-]{0,20}",
        style in 0..3u8,
        before in prop::collection::btree_map("[a-z]{1,6}", "[a-z0-9 ]{0,8}", 0..4),
        after_c in comment(),
        indent in 1..4usize,
    ) {
        let mut keys = keys;
        keys.dedup();
        // Distinct keys: a key written twice in one mapping is refused.
        prop_assume!(keys[0] != "tail");
        let mut src = String::from("# generated\n");
        for (k, val) in &before {
            // `_` is outside the target keys' alphabet and the map's keys are
            // distinct: no duplicate key by accident.
            src.push_str(&format!("b_{k}: \"{val}\"\n"));
        }
        let pad = " ".repeat(indent);
        for (depth, k) in keys.iter().enumerate() {
            src.push_str(&pad.repeat(depth));
            src.push_str(k);
            src.push(':');
            if depth + 1 < keys.len() {
                src.push('\n');
            }
        }
        let old_scalar = match style { 0 => format!("v{old}"), 1 => format!("'v{old}'"), _ => format!("\"v{old}\"") };
        src.push_str(&format!(" {old_scalar}{after_c}\ntail: end\n"));
        let locator = Locator::YamlPath(keys.join("."));
        let version: Version = new.parse().unwrap();
        let edited = apply(&src, &locator, &version).unwrap();
        let start = src.find(&format!(" {old_scalar}{after_c}\ntail")).unwrap() + 1;
        let end = start + old_scalar.len();
        prop_assert_eq!(&edited.new_text[..start], &src[..start]);
        let tail_len = src.len() - end;
        prop_assert_eq!(&edited.new_text[edited.new_text.len() - tail_len..], &src[end..]);
        prop_assert_eq!(read_value(&edited.new_text, &locator).unwrap(), Some(new.clone()));
        if old_scalar != new {
            prop_assert!(edited.lines.len() <= 1);
        }
    }
}
