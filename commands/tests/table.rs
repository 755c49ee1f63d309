//! Table tests: every verb, the forms users type, and the errors they get.

use hoist_commands::*;

fn n(s: &str) -> Name {
    s.parse().unwrap()
}

fn v(s: &str) -> Version {
    s.parse().unwrap()
}

fn ok(input: &str) -> Command {
    parse(input).unwrap_or_else(|e| panic!("{input:?} should parse:\n{e}"))
}

fn err(input: &str) -> ParseError {
    match parse(input) {
        Ok(c) => panic!("{input:?} should fail, got {c:?}"),
        Err(e) => e,
    }
}

fn deploy(apps: &[&str], version: &str, env: &str) -> Deploy {
    Deploy {
        apps: apps.iter().map(|a| n(a)).collect(),
        version: v(version),
        env: n(env),
        reason: None,
        ticket: None,
        dry_run: false,
    }
}

#[test]
fn deploy_forms() {
    let plain = Command::Deploy(deploy(&["api"], "v1.4.2", "staging"));
    for input in [
        "deploy api v1.4.2 to staging",
        "deploy api v1.4.2 in staging",
        "  Deploy   api   v1.4.2   TO staging ",
        "deploy api@v1.4.2 to staging",
    ] {
        assert_eq!(ok(input), plain, "{input}");
    }
    let many = Command::Deploy(deploy(&["api", "worker"], "v2", "staging"));
    for input in [
        "deploy api,worker v2 to staging",
        "deploy api, worker v2 to staging",
        "deploy api ,worker v2 to staging",
    ] {
        assert_eq!(ok(input), many, "{input}");
    }
    let mut full = deploy(&["api"], "v1", "prod");
    full.reason = Some("fix login".into());
    full.ticket = Some("OPS-12".parse().unwrap());
    full.dry_run = true;
    for input in [
        "deploy api v1 to prod --reason \"fix login\" --ticket OPS-12 --dry-run",
        "deploy api v1 to prod --reason=\"fix login\" --ticket=OPS-12 --dry-run",
        "deploy api v1 to prod --dry-run --reason fix login --ticket OPS-12",
        "deploy --ticket OPS-12 --dry-run api v1 to prod --reason “fix login”",
    ] {
        assert_eq!(ok(input), Command::Deploy(full.clone()), "{input}");
    }
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    match ok(&format!("deploy api v1@{digest} to prod")) {
        Command::Deploy(d) => assert_eq!(d.version.digest(), Some(digest.clone())),
        other => panic!("{other:?}"),
    }
    match ok(&format!("deploy api@v1@{digest} to prod")) {
        Command::Deploy(d) => assert_eq!(d.version.tag(), Some("v1")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn promote_rollback_status_history() {
    let promote = Command::Promote(Promote {
        apps: vec![n("api"), n("worker")],
        from: n("staging"),
        to: n("prod"),
        reason: None,
        ticket: None,
        dry_run: false,
    });
    assert_eq!(ok("promote api,worker staging to prod"), promote);
    assert_eq!(ok("promote api,worker from staging to prod"), promote);

    let rollback = |to: Option<&str>| {
        Command::Rollback(Rollback {
            apps: vec![n("api")],
            env: n("prod"),
            to: to.map(v),
            reason: None,
            ticket: None,
            dry_run: false,
        })
    };
    assert_eq!(ok("rollback api in prod"), rollback(None));
    assert_eq!(ok("rollback api prod"), rollback(None));
    assert_eq!(
        ok("rollback api in prod to v1.4.1"),
        rollback(Some("v1.4.1"))
    );
    let Command::Rollback(several) = ok("rollback api,web in prod --reason oops") else {
        panic!("a rollback")
    };
    assert_eq!(several.apps, [n("api"), n("web")]);
    assert_eq!(several.to, None);
    assert_eq!(ok("rollback api, web prod"), ok("rollback api,web in prod"));
    assert_eq!(
        several.to_string(),
        "rollback api,web in prod --reason \"oops\""
    );
    let e = err("rollback api,web in prod to v1.4.1");
    assert_eq!(&e.input[e.span.clone()], "to");
    assert!(e.to_string().contains("`to VERSION` takes one app"), "{e}");
    assert_eq!(
        err("rollback api,api in prod").kind,
        ErrorKind::Duplicate("`api`".into())
    );

    assert_eq!(
        ok("status"),
        Command::Status(Status {
            app: None,
            env: None
        })
    );
    assert_eq!(
        ok("status api"),
        Command::Status(Status {
            app: Some(n("api")),
            env: None
        })
    );
    assert_eq!(
        ok("status in prod"),
        Command::Status(Status {
            app: None,
            env: Some(n("prod"))
        })
    );
    assert_eq!(
        ok("status api in prod"),
        Command::Status(Status {
            app: Some(n("api")),
            env: Some(n("prod"))
        })
    );

    assert_eq!(
        ok("history api"),
        Command::History(History {
            app: n("api"),
            env: None,
            limit: None
        })
    );
    assert_eq!(
        ok("history api in prod --limit 5"),
        Command::History(History {
            app: n("api"),
            env: Some(n("prod")),
            limit: Some(5)
        })
    );
}

#[test]
fn audit_forms() {
    let audit = |since: Option<&str>| {
        Command::Audit(Audit {
            env: n("prod"),
            since: since.map(|s| s.parse().unwrap()),
        })
    };
    assert_eq!(ok("audit prod"), audit(None));
    assert_eq!(ok("audit prod since 30d"), audit(Some("30d")));
    assert_eq!(ok("  AUDIT prod SINCE 12h "), audit(Some("12h")));
    assert_eq!(
        ok("audit prod since 30d").to_string(),
        "audit prod since 30d"
    );
    let e = err("audit prod since 2w");
    assert_eq!(&e.input[e.span.clone()], "2w");
    assert!(
        e.message().contains("not a valid duration"),
        "{}",
        e.message()
    );
    let e = err("audit prod since");
    assert!(e.message().contains("a duration"), "{}", e.message());
    let e = err("audit prod for 30d");
    assert_eq!(&e.input[e.span.clone()], "for");
    let e = err("audit Prod");
    assert!(e.message().contains("not a valid"), "{}", e.message());
    assert_eq!(err("adit prod").suggestion.as_deref(), Some("audit"));
}

#[test]
fn lock_unlock_votes_help() {
    assert_eq!(
        ok("lock prod"),
        Command::Lock(Lock {
            app: None,
            env: n("prod"),
            duration: None,
            reason: None
        })
    );
    assert_eq!(
        ok("lock api in prod for 2h db migration running"),
        Command::Lock(Lock {
            app: Some(n("api")),
            env: n("prod"),
            duration: Some("2h".parse().unwrap()),
            reason: Some("db migration running".into()),
        })
    );
    assert_eq!(
        ok("lock prod for the release"),
        Command::Lock(Lock {
            app: None,
            env: n("prod"),
            duration: None,
            reason: Some("for the release".into())
        })
    );
    assert_eq!(
        ok("unlock api in prod"),
        Command::Unlock(Unlock {
            app: Some(n("api")),
            env: n("prod")
        })
    );
    assert_eq!(
        ok("unlock prod"),
        Command::Unlock(Unlock {
            app: None,
            env: n("prod")
        })
    );
    assert_eq!(ok("approve 7"), Command::Approve(Approve { id: OpId(7) }));
    assert_eq!(ok("approve #7"), Command::Approve(Approve { id: OpId(7) }));
    assert_eq!(
        ok("deny 7 not during the sale"),
        Command::Deny(Deny {
            id: OpId(7),
            reason: Some("not during the sale".into())
        })
    );
    assert_eq!(
        ok("deny 7"),
        Command::Deny(Deny {
            id: OpId(7),
            reason: None
        })
    );
    assert_eq!(ok("cancel 12"), Command::Cancel(Cancel { id: OpId(12) }));
    assert_eq!(ok("help"), Command::Help(Help { verb: None }));
    assert_eq!(
        ok("help promote"),
        Command::Help(Help {
            verb: Some(Verb::Promote)
        })
    );
}

#[test]
fn malformed_version_is_refused_with_the_rule() {
    let e = err("deploy api v1.2;rm to staging");
    assert_eq!(&e.input[e.span.clone()], "v1.2;rm");
    assert_eq!(e.column(), 12);
    assert!(
        e.message().contains("not a valid version"),
        "{}",
        e.message()
    );
    assert!(e.message().contains("image tag"), "{}", e.message());
    assert_eq!(e.usage, Some(Verb::Deploy.usage()));
}

#[test]
fn a_ticket_that_would_forge_a_trailer_is_refused() {
    for input in [
        "deploy api v1.3.1 to dev --ticket \"ABC-1\nHoist-Approved-By: slack:U0SRE1\"",
        "deploy api v1.3.1 to dev --ticket \"ABC-1\n\nHoist-Requested-By: slack:U0SRE1\"",
        "deploy api v1.3.1 to dev --ticket “ABC-1\nHoist-Approved-By: slack:U0SRE1”",
        "deploy api v1.3.1 to dev --ticket=\"ABC-1 Hoist-Approved-By: x\"",
        "rollback api in prod --ticket \"ABC-1\r\nHoist-Break-Glass: no\"",
        "promote api staging to prod --ticket \"OPS-1\u{2028}x\"",
    ] {
        let e = err(input);
        assert!(
            e.message().contains("not a valid ticket"),
            "{input:?}: {}",
            e.message()
        );
        assert!(!e.to_string().contains("\nHoist-"), "{e}");
    }
    let d = match ok("deploy api v1 to dev --ticket team/OPS#12:a.b_c-d") {
        Command::Deploy(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(d.ticket.unwrap().as_str(), "team/OPS#12:a.b_c-d");
}

#[test]
fn typos_get_did_you_mean() {
    let e = err("promot api staging to prod");
    assert_eq!(e.kind, ErrorKind::UnknownVerb("promot".into()));
    assert_eq!(e.suggestion.as_deref(), Some("promote"));
    assert!(e.to_string().contains("did you mean `promote`?"));

    let e = err("deploy api v1 ot staging");
    assert_eq!(e.suggestion.as_deref(), Some("to"));
    assert_eq!(&e.input[e.span.clone()], "ot");

    let e = err("deploy api v1 to prod --reasn x");
    assert_eq!(e.suggestion.as_deref(), Some("--reason"));

    let e = err("help deplyo");
    assert_eq!(e.suggestion.as_deref(), Some("deploy"));
}

#[test]
fn every_error_points_inside_the_input_and_carries_usage() {
    let cases = [
        ("", None),
        ("   ", None),
        ("frobnicate", None),
        ("deploy", Some(Verb::Deploy)),
        ("deploy api", Some(Verb::Deploy)),
        ("deploy api v1", Some(Verb::Deploy)),
        ("deploy api v1 staging", Some(Verb::Deploy)),
        ("deploy api v1 to", Some(Verb::Deploy)),
        ("deploy Api v1 to staging", Some(Verb::Deploy)),
        ("deploy api v1 to staging extra", Some(Verb::Deploy)),
        ("deploy api,api v1 to staging", Some(Verb::Deploy)),
        ("deploy api v1 to staging --reason", Some(Verb::Deploy)),
        ("deploy api v1 to staging --ticket", Some(Verb::Deploy)),
        (
            "deploy api v1 to staging --dry-run --dry-run",
            Some(Verb::Deploy),
        ),
        ("promote api staging prod", Some(Verb::Promote)),
        ("rollback api in prod to", Some(Verb::Rollback)),
        ("history", Some(Verb::History)),
        ("history api --limit 0", Some(Verb::History)),
        ("lock", Some(Verb::Lock)),
        ("lock prod for 2w", Some(Verb::Lock)),
        ("unlock api in", Some(Verb::Unlock)),
        ("approve", Some(Verb::Approve)),
        ("approve seven", Some(Verb::Approve)),
        ("cancel 1 2", Some(Verb::Cancel)),
        ("status api in", Some(Verb::Status)),
        ("audit", Some(Verb::Audit)),
        ("audit prod since 0d", Some(Verb::Audit)),
        ("lock prod \"unterminated", None),
    ];
    for (input, verb) in cases {
        let e = err(input);
        assert!(
            e.span.start <= input.len() && e.span.end <= input.len(),
            "{input:?}: {:?}",
            e.span
        );
        assert_eq!(e.usage, verb.map(Verb::usage), "{input:?}");
        assert!(!e.message().is_empty());
        let _ = e.to_string();
    }
}

#[test]
fn help_text_lists_every_verb() {
    let Command::Help(h) = ok("help") else {
        unreachable!()
    };
    for verb in Verb::ALL {
        assert!(h.text().contains(verb.usage()), "{verb}");
    }
    let Command::Help(h) = ok("help rollback") else {
        unreachable!()
    };
    assert!(h.text().starts_with(Verb::Rollback.usage()));
}
