//! Property tests with hostile target files: whatever a pusher to the config
//! repo writes (deep nesting, huge values, control characters, invalid UTF-8
//! decoded lossily, odd marker lines), reading and planning an edit return a
//! value or an error; they never panic, abort, or take long.

use super::*;
use crate::yaml::tests::on_small_stack;
use proptest::prelude::*;
use std::time::{Duration, Instant};

fn locators() -> impl Strategy<Value = Locator> {
    prop_oneof![
        Just(Locator::KustomizeImage("app".into())),
        Just(Locator::YamlPath("image.tag".into())),
        Just(Locator::YamlPath("a[0].b".into())),
        Just(Locator::Marker("app".into())),
    ]
}

fn versions() -> impl Strategy<Value = Version> {
    prop_oneof![
        Just("v2".parse().expect("a valid tag")),
        Just(
            format!("sha256:{}", "a".repeat(64))
                .parse()
                .expect("a valid digest")
        ),
        Just(
            format!("v2@sha256:{}", "b".repeat(64))
                .parse()
                .expect("a valid tag and digest")
        ),
    ]
}

/// Pieces of YAML and marker syntax, control characters and openers,
/// repeated and glued together.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("images:\n  - name: app\n    newTag: v1\n".to_string()),
        Just("image:\n  tag: v1\n".to_string()),
        Just("a:\n  - b: v1\n".to_string()),
        Just("x: r.io/app:v1 # {\"$hoist\": \"app\"}\n".to_string()),
        Just("# {\"$hoist\": \"app\"}".to_string()),
        Just("- ".to_string()),
        Just("[".to_string()),
        Just("{".to_string()),
        Just("]".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("@".to_string()),
        Just(":".to_string()),
        Just("\u{3000}".to_string()),
        Just("\r\n".to_string()),
        Just("\n".to_string()),
        "[\\x00-\\x1f\\x7f\\u{85}\\u{2028}\\u{feff}é]{1,4}",
        "[a-z: ]{1,12}",
    ];
    prop::collection::vec((piece, 1..120usize), 1..20).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(p, n)| p.repeat(n))
            .collect::<String>()
    })
}

fn survives(src: String, locator: Locator, version: Version) -> Result<(), TestCaseError> {
    let started = Instant::now();
    on_small_stack(move || {
        let _ = read_value(&src, &locator);
        if let Ok(edited) = apply(&src, &locator, &version) {
            // Whatever was written reads back as the version asked for.
            if !edited.lines.is_empty() && !matches!(locator, Locator::Marker(_)) {
                let back = read_value(&edited.new_text, &locator);
                assert!(back.is_ok(), "{back:?}");
            }
        }
    });
    prop_assert!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn reading_and_planning_survive_hostile_files(
        src in hostile(),
        locator in locators(),
        version in versions(),
    ) {
        survives(src, locator, version)?;
    }

    #[test]
    fn reading_and_planning_survive_random_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        locator in locators(),
        version in versions(),
    ) {
        survives(String::from_utf8_lossy(&bytes).into_owned(), locator, version)?;
    }

    /// Marker lines of every shape: the reference before the comment may be
    /// quoted, unclosed, empty, or follow a wide space.
    #[test]
    fn marker_lines_never_panic(
        before in "[ =\"'a-z0-9:/@.\u{3000}é\t-]{0,40}",
        name in "[a-z]{1,4}",
        tail in "[ \r\n]{0,3}",
        version in versions(),
    ) {
        let src = format!("{before} # {{\"$hoist\": \"{name}\"}}{tail}");
        let _ = marker::read_value(&src, &name);
        if let Ok(e) = marker::apply(&src, &name, &version) {
            let marker = format!("{{\"$hoist\": \"{name}\"}}");
            prop_assert!(e.new_text.contains(&marker));
        }
    }
}

#[test]
fn a_marker_after_a_wide_space_is_read_not_split() {
    let src = "image:\u{3000}r.io/app:v1 # {\"$hoist\": \"app\"}\n";
    assert_eq!(
        marker::read_value(src, "app").unwrap().as_deref(),
        Some("v1")
    );
}
