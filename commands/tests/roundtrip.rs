//! Property tests: the canonical form parses back to the same command, and no
//! input makes the parser panic.

use hoist_commands::*;
use proptest::prelude::*;

fn name() -> impl Strategy<Value = Name> {
    "[a-z0-9][a-z0-9-]{0,20}".prop_map(|s| s.parse().unwrap())
}

fn version() -> impl Strategy<Value = Version> {
    let tag = "[A-Za-z0-9_][A-Za-z0-9._-]{0,30}";
    let hex = "[0-9a-f]{64}";
    prop_oneof![
        tag.prop_map(Version::Tag),
        hex.prop_map(Version::Digest),
        (tag, hex).prop_map(|(tag, digest)| Version::TagDigest { tag, digest }),
    ]
}

/// Free text with at least one visible character, including quotes and backslashes.
fn text() -> impl Strategy<Value = String> {
    "[ a-zA-Z0-9\"'\\\\“”,.@=-]{0,12}[a-zA-Z0-9\"\\\\-][ a-zA-Z0-9\"'\\\\,.-]{0,12}"
}

fn ticket() -> impl Strategy<Value = Ticket> {
    "[A-Z]{2,5}-[0-9]{1,5}|[A-Za-z0-9._/#:-]{1,64}".prop_map(|s| s.parse().unwrap())
}

fn duration() -> impl Strategy<Value = Duration> {
    (
        1u32..1000,
        prop_oneof![Just("s"), Just("m"), Just("h"), Just("d")],
    )
        .prop_map(|(n, u)| format!("{n}{u}").parse().unwrap())
}

fn apps() -> impl Strategy<Value = Vec<Name>> {
    prop::collection::btree_set(name(), 1..4).prop_map(|s| s.into_iter().collect())
}

fn env() -> impl Strategy<Value = Command> {
    prop_oneof![
        (
            name(),
            prop::option::of(name()),
            prop::option::of(duration()),
            prop::option::of(text())
        )
            .prop_map(|(name, from, ttl, reason)| Env::Create(EnvCreate {
                name,
                from,
                ttl,
                reason
            })),
        (name(), prop::option::of(text()))
            .prop_map(|(name, reason)| Env::Destroy(EnvDestroy { name, reason })),
        (name(), duration()).prop_map(|(name, ttl)| Env::Extend(EnvExtend { name, ttl })),
        Just(Env::List),
    ]
    .prop_map(Command::Env)
}

fn command() -> impl Strategy<Value = Command> {
    let opts = || {
        (
            prop::option::of(text()),
            prop::option::of(ticket()),
            any::<bool>(),
        )
    };
    prop_oneof![
        (apps(), version(), name(), opts()).prop_map(
            |(apps, version, env, (reason, ticket, dry_run))| {
                Command::Deploy(Deploy {
                    apps,
                    version,
                    env,
                    reason,
                    ticket,
                    dry_run,
                })
            }
        ),
        (apps(), name(), name(), opts()).prop_map(|(apps, from, to, (reason, ticket, dry_run))| {
            Command::Promote(Promote {
                apps,
                from,
                to,
                reason,
                ticket,
                dry_run,
            })
        }),
        (name(), name(), prop::option::of(version()), opts()).prop_map(
            |(app, env, to, (reason, ticket, dry_run))| {
                Command::Rollback(Rollback {
                    apps: vec![app],
                    env,
                    to,
                    reason,
                    ticket,
                    dry_run,
                })
            }
        ),
        (prop::option::of(name()), prop::option::of(name()))
            .prop_map(|(app, env)| Command::Status(Status { app, env })),
        (
            name(),
            prop::option::of(name()),
            prop::option::of(1u32..500)
        )
            .prop_map(|(app, env, limit)| Command::History(History { app, env, limit })),
        (name(), prop::option::of(duration()))
            .prop_map(|(env, since)| Command::Audit(Audit { env, since })),
        (
            prop::option::of(name()),
            name(),
            prop::option::of(duration()),
            prop::option::of(text())
        )
            .prop_map(|(app, env, duration, reason)| Command::Lock(Lock {
                app,
                env,
                duration,
                reason
            })),
        (prop::option::of(name()), name())
            .prop_map(|(app, env)| Command::Unlock(Unlock { app, env })),
        any::<u64>().prop_map(|id| Command::Approve(Approve { id: OpId(id) })),
        (any::<u64>(), prop::option::of(text())).prop_map(|(id, reason)| Command::Deny(Deny {
            id: OpId(id),
            reason
        })),
        any::<u64>().prop_map(|id| Command::Cancel(Cancel { id: OpId(id) })),
        env(),
        prop::option::of(prop::sample::select(Verb::ALL.to_vec()))
            .prop_map(|verb| Command::Help(Help { verb })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn display_parses_back_to_the_same_command(cmd in command()) {
        let shown = cmd.to_string();
        let back = parse(&shown).map_err(|e| TestCaseError::fail(format!("{shown:?}\n{e}")))?;
        prop_assert_eq!(back, cmd, "{}", shown);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(input in "\\PC{0,80}") {
        if let Err(e) = parse(&input) {
            prop_assert!(e.span.end <= input.len());
            let _ = e.to_string();
        }
    }

    /// Hostile text: control characters, line and paragraph separators,
    /// smart quotes, long runs. Nothing panics, errors stay on their lines,
    /// and whatever parses carries a ticket of the safe charset only.
    #[test]
    fn hostile_text_never_panics_and_never_yields_an_unsafe_ticket(
        input in "(deploy api v1 to dev |rollback api in prod |env create pr-1 |env |)(--ticket|--reason|--ticket=)?[ \\PC\\n\\r\\t\u{0}-\u{1f}\u{7f}-\u{9f}\u{2028}\u{2029}“”‘’\"']{0,200}"
    ) {
        match parse(&input) {
            Ok(cmd) => {
                let ticket = match &cmd {
                    Command::Deploy(d) => d.ticket.clone(),
                    Command::Promote(p) => p.ticket.clone(),
                    Command::Rollback(r) => r.ticket.clone(),
                    _ => None,
                };
                if let Some(t) = ticket {
                    prop_assert!(t.as_str().bytes().all(|b| b.is_ascii_graphic()), "{t:?}");
                }
            }
            Err(e) => {
                prop_assert!(e.span.end <= input.len());
                let shown = e.to_string();
                // The message and the picture of the input: no control characters.
                prop_assert!(!shown.lines().any(|l| l.chars().any(char::is_control)), "{shown:?}");
            }
        }
    }

    #[test]
    fn parser_never_panics_on_command_shaped_text(
        words in prop::collection::vec(prop_oneof![
            Just("deploy".to_string()), Just("to".to_string()), Just("in".to_string()),
            Just("--reason".to_string()), Just("--reason=".to_string()), Just("\"".to_string()),
            Just(",".to_string()), Just("@".to_string()), Just("for".to_string()), Just("lock".to_string()),
            Just("env".to_string()), Just("create".to_string()), Just("from".to_string()), Just("extend".to_string()),
            "[a-z0-9@,.;\"'-]{1,8}",
        ], 0..10)
    ) {
        let input = words.join(" ");
        if let Err(e) = parse(&input) {
            prop_assert!(e.span.end <= input.len());
            let _ = e.to_string();
        }
    }
}

/// A megabyte of command text parses (or fails) quickly and without panic.
#[test]
fn parser_copes_with_huge_input() {
    for word in ["a ", "\"", "“x", "--reason ", "\n", "-"] {
        let input = format!("deploy api v1 to dev --reason {}", word.repeat(200_000));
        let started = std::time::Instant::now();
        let _ = parse(&input).map(|c| c.to_string());
        assert!(
            started.elapsed().as_secs() < 5,
            "{word:?} took {:?}",
            started.elapsed()
        );
    }
}
