//! Bad values: each is an error that names its variable, with the words
//! the subcommands have always said; Slack's settings that only make sense
//! together.

use super::*;

#[test]
fn a_bad_value_is_an_error_that_names_its_variable() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "HOIST_GIT_AUTHOR",
            "nobody",
            "HOIST_GIT_AUTHOR: `nobody` is not `Name <email>`",
        ),
        (
            "HOIST_PUSH_ATTEMPTS",
            "0",
            "HOIST_PUSH_ATTEMPTS: `0` is not a positive number",
        ),
        (
            "HOIST_PUSH_BACKOFF",
            "1m",
            "HOIST_PUSH_BACKOFF: `1m` is not a wait like `250ms` or `2s`",
        ),
        (
            "HOIST_PUSH_BACKOFF_CAP",
            "soon",
            "HOIST_PUSH_BACKOFF_CAP: `soon` is not a wait",
        ),
        (
            "HOIST_CLUSTER",
            "maybe",
            "HOIST_CLUSTER: `maybe` is not `on` or `off`",
        ),
        (
            "HOIST_POKE",
            "sometimes",
            "HOIST_POKE: `sometimes` is not `on` or `off`",
        ),
        (
            "HOIST_WATCH_NAMESPACES",
            "Argo CD",
            "HOIST_WATCH_NAMESPACES: `Argo CD` is not a namespace name",
        ),
        (
            "HOIST_WATCH_NAMESPACES",
            ",",
            "HOIST_WATCH_NAMESPACES: `,` names nothing",
        ),
        (
            "HOIST_SLACK_GROUP_TTL",
            "5m",
            "HOIST_SLACK_GROUP_TTL: `5m` is not a number of seconds",
        ),
        (
            "HOIST_SLACK_APPROVE",
            ": ,",
            "HOIST_SLACK_APPROVE: `: ,` names nothing",
        ),
        (
            "HOIST_SLACK_DENY",
            ",",
            "HOIST_SLACK_DENY: `,` names nothing",
        ),
        (
            "HOIST_HTTP_HEADER_TIMEOUT",
            "10",
            "HOIST_HTTP_HEADER_TIMEOUT: `10` is not a wait like `250ms` or `2s`",
        ),
        (
            "HOIST_HTTP_BODY_TIMEOUT",
            "0s",
            "HOIST_HTTP_BODY_TIMEOUT: `0s` is not a wait",
        ),
        (
            "HOIST_HTTP_MAX_CONNECTIONS",
            "-1",
            "HOIST_HTTP_MAX_CONNECTIONS: `-1` is not a positive number",
        ),
        (
            "HOIST_SLACK_WORK_LIMIT",
            "0",
            "HOIST_SLACK_WORK_LIMIT: `0` is not a positive number",
        ),
        (
            "HOIST_SHUTDOWN_GRACE",
            "30",
            "HOIST_SHUTDOWN_GRACE: `30` is not a wait",
        ),
        (
            "HOIST_DRIFT_GRACE",
            "0ms",
            "HOIST_DRIFT_GRACE: `0ms` is not a wait",
        ),
        (
            "HOIST_DRIFT_REMIND",
            "4h",
            "HOIST_DRIFT_REMIND: `4h` is not a wait",
        ),
        (
            "HOIST_DRIFT_GRACE",
            "1ms",
            "HOIST_DRIFT_GRACE: `1ms` is shorter than `1s`",
        ),
        (
            "HOIST_DRIFT_REMIND",
            "59s",
            "HOIST_DRIFT_REMIND: `59s` is shorter than `60s`",
        ),
        (
            "HOIST_JOURNAL_RETENTION",
            "a month",
            "HOIST_JOURNAL_RETENTION: `a month` is not a duration like `30d` or `12h`",
        ),
        (
            "HOIST_JOURNAL_RETENTION",
            "30m",
            "HOIST_JOURNAL_RETENTION: `30m` is shorter than `1h`",
        ),
        (
            "HOIST_TEST_KILL_AT",
            "three",
            "HOIST_TEST_KILL_AT: `three` is not a number",
        ),
    ];
    let slack = [("SLACK_BOT_TOKEN", "b"), ("SLACK_SIGNING_SECRET", "s")];
    for (name, value, message) in cases {
        let mut vars = with(&slack);
        vars.push((name, value));
        let e = read(ALL, &Flags::default(), &vars).unwrap_err();
        assert_eq!(e.variable, *name, "{name}={value}: {e}");
        assert!(e.to_string().starts_with(message), "{name}={value}: {e}");
    }
}

#[test]
fn slack_needs_a_bot_token_and_a_way_in() {
    let slack = |vars: &[(&str, &str)]| read(&[Area::Slack], &Flags::default(), vars);
    let e = slack(&[("SLACK_SIGNING_SECRET", "s")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Slack: SLACK_BOT_TOKEN is needed to answer (xoxb-...)"
    );
    assert_eq!(e.variable, "SLACK_BOT_TOKEN");
    let e = slack(&[("SLACK_BOT_TOKEN", "b")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Slack: set SLACK_SIGNING_SECRET (HTTP endpoints) or SLACK_APP_TOKEN (Socket Mode)"
    );
    // Without a bot token the rest of Slack's settings are not read.
    assert!(
        slack(&[("HOIST_SLACK_GROUP_TTL", "x")])
            .unwrap()
            .slack
            .is_none()
    );
}
