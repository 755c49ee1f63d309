//! The mirror's readers of git's output (`push --porcelain` status and hook
//! messages, `ls-remote --symref`), with examples git really prints and
//! hostile generators: invalid UTF-8, control characters, huge lines. None
//! may panic, take more than linear time, or pass terminal escapes or an
//! unbounded text on to people.

use super::*;
use proptest::prelude::*;
use std::time::{Duration, Instant};

#[test]
fn ls_remote_names_the_default_branch() {
    let sha = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
    let out = format!("ref: refs/heads/trunk\tHEAD\n{sha}\tHEAD\n");
    assert_eq!(symref_head(&out).as_deref(), Some("trunk"));
    let nested = format!("ref: refs/heads/release/2024\tHEAD\n{sha}\tHEAD\n");
    assert_eq!(symref_head(&nested).as_deref(), Some("release/2024"));
    // No symref (an old server, an empty repo): nothing remembered.
    assert_eq!(symref_head(&format!("{sha}\tHEAD\n")), None);
    assert_eq!(symref_head(""), None);
    // Names git would not make, or hoist will not put in a refspec.
    for bad in [
        "ref: refs/heads/-upload-pack=sh\tHEAD",
        "ref: refs/heads/a..b\tHEAD",
        "ref: refs/heads/a b\tHEAD",
        "ref: refs/heads/a\u{1b}[31m\tHEAD",
        "ref: refs/heads/x:refs/heads/y\tHEAD",
        "ref: refs/heads/main\tHEADS",
        "ref: refs/heads/\tHEAD",
    ] {
        assert_eq!(symref_head(bad), None, "{bad:?}");
    }
}

#[test]
fn a_refused_push_says_what_the_hook_said_and_a_stale_one_is_retried() {
    let stderr = b"remote: error: GH006: Protected branch update failed for refs/heads/main.\n\
        remote: error: At least 1 approving review is required.\n\
        To github.com:acme/config.git\n ! [remote rejected] main (protected branch hook declined)\n";
    let r = push_result(false, b"", stderr);
    assert_eq!(
        r,
        PushResult::Refused(
            "error: GH006: Protected branch update failed for refs/heads/main.\n\
             error: At least 1 approving review is required."
                .into()
        )
    );
    let stale =
        b"To /srv/origin.git\n!\trefs/heads/main:refs/heads/main\t[rejected] (stale info)\nDone\n";
    assert!(matches!(
        push_result(false, stale, b"error: failed to push some refs"),
        PushResult::Stale(_)
    ));
    assert_eq!(push_result(true, b"", b""), PushResult::Pushed);
}

#[test]
fn what_the_remote_says_reaches_people_without_escapes_and_bounded() {
    let r = remote_message("remote: \u{1b}]0;pwned\u{7}deploy \u{1b}[2Jblocked\r\n");
    assert_eq!(r.as_deref(), Some("]0;pwneddeploy [2Jblocked"));
    let long = format!("remote: {}\n", "x".repeat(100_000));
    let r = remote_message(&long).unwrap();
    assert!(r.len() <= SAID_MAX + '…'.len_utf8(), "{}", r.len());
    assert!(r.ends_with('…'));
}

/// Bytes git might print, and bytes a hostile remote might make it print.
fn hostile() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just(b"remote: ".to_vec()),
        Just(b"ref: refs/heads/".to_vec()),
        Just(b"\tHEAD\n".to_vec()),
        Just(b"[rejected] (stale info)".to_vec()),
        Just(b"pre-receive hook declined".to_vec()),
        Just(vec![0x1b, b'[', b'3', b'1', b'm']),
        Just(vec![0xff, 0xfe, 0xc3]),
        prop::collection::vec(any::<u8>(), 0..64),
        "\\PC{0,32}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(line, 0..32).prop_map(|parts| parts.concat())
}

fn unsaid(text: &str) -> bool {
    text.chars().all(|c| !c.is_control() || c == '\n') && text.len() <= SAID_MAX + '…'.len_utf8()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn push_results_of_any_output_are_bounded_and_clean(
        ok in any::<bool>(), out in hostile(), err in hostile()
    ) {
        match push_result(ok, &out, &err) {
            PushResult::Pushed => prop_assert!(ok),
            PushResult::Stale(m) | PushResult::Refused(m) => {
                prop_assert!(!ok);
                prop_assert!(unsaid(&m), "{m:?}");
            }
        }
    }

    #[test]
    fn the_default_branch_of_any_output_is_a_valid_branch(out in hostile()) {
        let text = String::from_utf8_lossy(&out);
        if let Some(b) = symref_head(&text) {
            prop_assert!(valid_branch(&b));
            prop_assert!(!b.contains(['\n', '\t', ' ', ':']) && !b.starts_with('-'));
        }
    }

    #[test]
    fn said_keeps_only_printable_text(text in "\\PC*|[\\x00-\\x1f\\x7f-\\u{9f}a-z]{0,300}") {
        let s = said(&text);
        prop_assert!(unsaid(&s));
        if text.len() <= SAID_MAX && text.chars().all(|c| !c.is_control()) {
            prop_assert_eq!(s, text);
        }
    }
}

#[test]
fn megabyte_lines_are_read_in_linear_time() {
    let start = Instant::now();
    let huge = "remote: ".to_string() + &"\u{1b}x".repeat(1 << 20);
    let mut stderr = huge.clone().into_bytes();
    stderr.extend_from_slice(&[0xff; 1 << 20]);
    stderr.extend_from_slice(b"\nstale info\n");
    assert!(matches!(
        push_result(false, huge.as_bytes(), &stderr),
        PushResult::Stale(_)
    ));
    let ls = "ref: refs/heads/".to_string() + &"a".repeat(1 << 21) + "\tHEAD\n";
    assert_eq!(symref_head(&ls), None, "too long for a branch name");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}
