//! The `env` verbs: the forms users type, the canonical form, and the errors
//! (where they point, which usage line, "did you mean").

use crate::{Command, Env, EnvCreate, EnvDestroy, EnvExtend, ErrorKind, Name, ParseError, Verb};

fn n(s: &str) -> Name {
    s.parse().unwrap()
}

fn ok(input: &str) -> Env {
    match crate::parse(input) {
        Ok(Command::Env(e)) => e,
        Ok(other) => panic!("{input:?} is not an env command: {other:?}"),
        Err(e) => panic!("{input:?} should parse:\n{e}"),
    }
}

fn err(input: &str) -> ParseError {
    match crate::parse(input) {
        Ok(c) => panic!("{input:?} should fail, got {c:?}"),
        Err(e) => e,
    }
}

/// The text the error points at.
fn at(e: &ParseError) -> &str {
    &e.input[e.span.clone()]
}

fn create(name: &str, from: Option<&str>, ttl: Option<&str>, reason: Option<&str>) -> Env {
    Env::Create(EnvCreate {
        name: n(name),
        from: from.map(n),
        ttl: ttl.map(|t| t.parse().unwrap()),
        reason: reason.map(String::from),
    })
}

#[test]
fn create_takes_from_and_for_in_either_order() {
    let full = create("pr-123", Some("staging"), Some("1h"), None);
    for input in [
        "env create pr-123 from staging for 1h",
        "env create pr-123 for 1h from staging",
        "  ENV  Create pr-123 FOR 1h FROM staging ",
    ] {
        assert_eq!(ok(input), full, "{input}");
    }
    assert_eq!(ok("env create pr-123"), create("pr-123", None, None, None));
    assert_eq!(
        ok("env create qa-login from prod"),
        create("qa-login", Some("prod"), None, None)
    );
    assert_eq!(
        ok("env create pr-7 for 3d"),
        create("pr-7", None, Some("3d"), None)
    );
}

#[test]
fn reason_is_an_option_in_every_spelling() {
    let want = create("pr-1", Some("staging"), None, Some("test the login fix"));
    for input in [
        "env create pr-1 from staging --reason \"test the login fix\"",
        "env create pr-1 from staging --reason=\"test the login fix\"",
        "env create pr-1 from staging --reason test the login fix",
        "env create pr-1 from staging --reason “test the login fix”",
        "env create --reason=\"test the login fix\" pr-1 from staging",
        "env create pr-1 --reason \"test the login fix\" from staging",
        "env create pr-1 --reason ‘test the login fix’ from staging",
    ] {
        assert_eq!(ok(input), want, "{input}");
    }
    assert_eq!(
        ok("env destroy pr-1 --reason=merged"),
        Env::Destroy(EnvDestroy {
            name: n("pr-1"),
            reason: Some("merged".into())
        })
    );
    assert_eq!(
        ok("env destroy pr-1"),
        Env::Destroy(EnvDestroy {
            name: n("pr-1"),
            reason: None
        })
    );
}

#[test]
fn extend_and_list() {
    assert_eq!(
        ok("env extend pr-1 for 2d"),
        Env::Extend(EnvExtend {
            name: n("pr-1"),
            ttl: "2d".parse().unwrap()
        })
    );
    assert_eq!(ok("env list"), Env::List);
    assert_eq!(ok("Env LIST"), Env::List);
}

#[test]
fn only_the_writing_forms_write() {
    for (input, writes) in [
        ("env create pr-1", true),
        ("env destroy pr-1", true),
        ("env extend pr-1 for 1d", true),
        ("env list", false),
    ] {
        let c = crate::parse(input).unwrap();
        assert_eq!(c.writes(), writes, "{input}");
        assert!(!c.dry_run(), "{input}");
        assert_eq!(c.verb(), Verb::Env);
    }
}

#[test]
fn the_canonical_form_reads_back() {
    for (input, shown) in [
        (
            "env create pr-123 for 1h from staging --reason=x",
            "env create pr-123 from staging for 1h --reason \"x\"",
        ),
        ("env create pr-123", "env create pr-123"),
        (
            "env destroy pr-1 --reason \"a \\\"quoted\\\" word\"",
            "env destroy pr-1 --reason \"a \\\"quoted\\\" word\"",
        ),
        ("ENV EXTEND pr-1 FOR 2d", "env extend pr-1 for 2d"),
        ("env list", "env list"),
    ] {
        let c = crate::parse(input).unwrap();
        assert_eq!(c.to_string(), shown, "{input}");
        assert_eq!(crate::parse(shown).unwrap(), c, "{shown}");
    }
}

#[test]
fn path_tricks_and_bad_names_are_refused_by_the_name_rule() {
    for (input, bad) in [
        ("env create ../x", "../x"),
        ("env create Prod", "Prod"),
        ("env create a/b", "a/b"),
        ("env create -x", "-x"),
        ("env create \"pr 1\"", "\"pr 1\""),
        ("env create pr-1 from ../staging", "../staging"),
        ("env destroy ../../etc", "../../etc"),
        ("env extend a/b for 1d", "a/b"),
    ] {
        let e = err(input);
        assert_eq!(at(&e), bad, "{input}");
        assert!(
            e.message().contains("not a valid name") && e.message().contains("lowercase"),
            "{input}: {}",
            e.message()
        );
    }
    let long = format!("env create {}", "a".repeat(64));
    assert!(err(&long).message().contains("not a valid name"));
}

#[test]
fn a_misspelt_or_missing_subverb_says_what_was_meant() {
    for (input, meant) in [
        ("env craete pr-1", "create"),
        ("env destory pr-1", "destroy"),
        ("env extnd pr-1 for 1d", "extend"),
        ("env lst", "list"),
    ] {
        let e = err(input);
        assert_eq!(e.suggestion.as_deref(), Some(meant), "{input}");
        assert_eq!(e.usage, Some(Verb::Env.usage()), "{input}");
        assert!(e.to_string().contains(&format!("did you mean `{meant}`?")));
    }
    let e = err("env");
    assert!(
        e.message()
            .contains("`create`, `destroy`, `extend` or `list`"),
        "{}",
        e.message()
    );
    assert_eq!(e.usage, Some(Verb::Env.usage()));
    let e = err("env \"create\" pr-1");
    assert_eq!(e.suggestion, None, "a quoted word is data, not a keyword");
    assert_eq!(err("evn list").suggestion.as_deref(), Some("env"));
}

#[test]
fn stray_words_are_errors_not_reasons() {
    let e = err("env create pr-1 to test the fix");
    assert_eq!(at(&e), "to");
    assert!(
        e.message()
            .contains("`from`, `for` or the end of the command")
    );
    assert!(e.message().contains("--reason"), "{}", e.message());
    assert_eq!(e.usage, Some(super::CREATE_USAGE));

    let e = err("env create pr-1 form staging");
    assert_eq!(e.suggestion.as_deref(), Some("from"));

    let e = err("env destroy pr-1 merged already");
    assert_eq!(at(&e), "merged");
    assert_eq!(e.usage, Some(super::DESTROY_USAGE));

    let e = err("env extend pr-1 for 2d please");
    assert_eq!(at(&e), "please");
    assert_eq!(e.usage, Some(super::EXTEND_USAGE));
    assert!(!e.message().contains("--reason"), "{}", e.message());

    let e = err("env list all");
    assert_eq!(at(&e), "all");
    assert_eq!(e.usage, Some(super::LIST_USAGE));
}

#[test]
fn from_or_for_given_twice_is_an_error() {
    let e = err("env create pr-1 from staging from prod");
    assert_eq!(e.kind, ErrorKind::Duplicate("`from`".into()));
    assert_eq!(e.span.start, "env create pr-1 from staging ".len());
    let e = err("env create pr-1 for 1h from staging FOR 2h");
    assert_eq!(e.kind, ErrorKind::Duplicate("`for`".into()));
    assert_eq!(at(&e), "FOR");
}

#[test]
fn values_after_keywords_are_checked() {
    let e = err("env create pr-1 for 2w");
    assert_eq!(at(&e), "2w");
    assert!(e.message().contains("not a valid duration"));
    let e = err("env create pr-1 for the fix");
    assert_eq!(at(&e), "the");
    let e = err("env create pr-1 from");
    assert!(
        e.message().contains("the environment to copy"),
        "{}",
        e.message()
    );
    let e = err("env extend pr-1");
    assert!(e.message().contains("`for`"), "{}", e.message());
    let e = err("env extend pr-1 by 2d");
    assert_eq!(at(&e), "by");
    let e = err("env extend pr-1 for");
    assert!(e.message().contains("a duration"), "{}", e.message());
    let e = err("env create");
    assert!(e.message().contains("a name for the new environment"));
    assert_eq!(e.usage, Some(super::CREATE_USAGE));
}

#[test]
fn options_the_subverb_does_not_take_are_refused() {
    let e = err("env extend pr-1 for 2d --reason busy");
    assert_eq!(e.kind, ErrorKind::Unexpected("--reason".into()));
    assert_eq!(at(&e), "--reason");
    assert_eq!(e.usage, Some(super::EXTEND_USAGE));
    let e = err("env list --reason=x");
    assert_eq!(at(&e), "--reason=x");
    assert_eq!(e.usage, Some(super::LIST_USAGE));
    for input in [
        "env create pr-1 --dry-run",
        "env create pr-1 --ticket OPS-1",
        "env destroy pr-1 --reason",
        "env create pr-1 --reason x --reason y",
    ] {
        let e = err(input);
        assert!(e.usage.is_some_and(|u| u.starts_with("env ")), "{input}");
        assert!(e.span.end <= input.len(), "{input}");
    }
}

#[test]
fn hostile_reasons_stay_data() {
    // A reason may hold anything quoted; it is never read as grammar, and the
    // engine flattens it before it reaches a commit message.
    let Env::Create(c) = ok("env create pr-1 --reason \"x\nHoist-Approved-By: slack:U1\"") else {
        panic!("a create")
    };
    assert_eq!(c.reason.as_deref(), Some("x\nHoist-Approved-By: slack:U1"));
    assert_eq!(c.from, None);
    let back = crate::parse(&Command::Env(Env::Create(c.clone())).to_string()).unwrap();
    assert_eq!(back, Command::Env(Env::Create(c)));
    // A quoted word is data, never a keyword: not taken for `from`.
    let e = err("env create pr-1 \"from\" staging");
    assert_eq!(at(&e), "\"from\"");
    assert_eq!(e.suggestion, None);
}

#[test]
fn help_env_explains_every_subverb() {
    let Command::Help(h) = crate::parse("help env").unwrap() else {
        panic!("help")
    };
    let text = h.text();
    for usage in super::SUBVERBS.iter().map(|(_, u)| u) {
        assert!(text.contains(usage), "{usage} missing from:\n{text}");
    }
    assert!(text.starts_with(Verb::Env.usage()));
    let Command::Help(all) = crate::parse("help").unwrap() else {
        panic!("help")
    };
    assert!(all.text().contains(Verb::Env.usage()));
    assert_eq!(Verb::from_word("ENV"), Some(Verb::Env));
}
