//! The settings read from a fake environment: every area, the defaults,
//! flags over variables, areas a subcommand does not read left alone, and
//! secrets kept out of `Debug` (bad values: [`bad`]).

mod bad;
mod github;

use super::*;
use std::collections::HashMap;

pub(super) const ALL: &[Area] = &[
    Area::Place,
    Area::Signing,
    Area::PolicySigners,
    Area::Git,
    Area::Push,
    Area::Cluster,
    Area::GitHub,
    Area::Slack,
    Area::Http,
    Area::Serve,
    Area::Store,
    Area::Log,
    Area::Test,
    Area::Console,
];

pub(super) fn read(
    areas: &[Area],
    flags: &Flags,
    vars: &[(&str, &str)],
) -> Result<Settings, Error> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(areas, flags, |name| vars.get(name).map(OsString::from))
}

/// The least `serve` needs.
const BASE: &[(&str, &str)] = &[
    ("HOIST_REPO", "https://git.example.com/config.git"),
    ("HOIST_DATA_DIR", "/var/lib/hoist"),
];

pub(super) fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    BASE.iter().chain(extra).copied().collect()
}

#[test]
fn every_area_is_read_from_its_variables() {
    let s = read(
        ALL,
        &Flags::default(),
        &with(&[
            ("HOIST_LISTEN", "127.0.0.1:9000"),
            ("HOIST_SIGNING_KEY", "/keys/hoist"),
            ("HOIST_SIGNING_KEY_PASSPHRASE", "pass"),
            ("HOIST_GIT_AUTHOR", "Deploy Bot <deploy@example.com>"),
            ("HOIST_GIT_TOKEN", "t"),
            ("HOIST_GIT_SSH_KEY", "/keys/ssh"),
            ("HOIST_GIT_KNOWN_HOSTS", "/keys/known_hosts"),
            ("HOIST_PUSH_ATTEMPTS", "3"),
            ("HOIST_PUSH_BACKOFF", "0ms"),
            ("HOIST_PUSH_BACKOFF_CAP", "5s"),
            ("KUBECONFIG", "/kube/config"),
            ("HOIST_WATCH_NAMESPACES", " argocd, flux-system ,"),
            ("HOIST_WATCH_SELECTOR", "team=payments"),
            ("HOIST_POKE", "off"),
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_APP_TOKEN", "xapp-1"),
            ("SLACK_API_URL", "http://127.0.0.1:1/api"),
            ("HOIST_SLACK_GROUP_TTL", "60"),
            ("HOIST_SLACK_APPROVE", ":rocket:, ok"),
            ("HOIST_SLACK_DENY", "no_entry"),
            ("HOIST_HTTP_HEADER_TIMEOUT", "2s"),
            ("HOIST_HTTP_BODY_TIMEOUT", "750ms"),
            ("HOIST_HTTP_MAX_CONNECTIONS", "64"),
            ("HOIST_SLACK_WORK_LIMIT", "8"),
            ("HOIST_SHUTDOWN_GRACE", "5s"),
            ("HOIST_DRIFT_GRACE", "1s"),
            ("HOIST_DRIFT_REMIND", "60s"),
            ("HOIST_JOURNAL_RETENTION", "12h"),
            ("HOIST_LOG", "hoist=debug"),
            ("HOIST_LOG_FORMAT", "pretty"),
            ("NO_COLOR", ""),
            ("HOIST_TEST_KILL_AT", "7"),
            ("USER", "alice"),
        ]),
    )
    .unwrap();
    assert_eq!(s.place.repo, "https://git.example.com/config.git");
    assert_eq!(s.place.data_dir, PathBuf::from("/var/lib/hoist"));
    assert_eq!(s.place.listen, "127.0.0.1:9000");
    assert_eq!(s.git.signing_key, Some(PathBuf::from("/keys/hoist")));
    assert_eq!(s.git.passphrase.as_ref().map(Secret::expose), Some("pass"));
    assert_eq!(
        (s.git.author.name.as_str(), s.git.author.email.as_str()),
        ("Deploy Bot", "deploy@example.com")
    );
    assert_eq!(
        s.git.access,
        Access {
            token: true,
            ssh_key: Some("/keys/ssh".into()),
            known_hosts: Some("/keys/known_hosts".into()),
            token_source: None,
        }
    );
    assert_eq!(
        (s.git.push.attempts, s.git.push.first, s.git.push.cap),
        (3, Duration::ZERO, Duration::from_secs(5))
    );
    assert!(s.cluster.configured());
    assert_eq!(s.cluster.namespaces, ["argocd", "flux-system"]);
    assert_eq!(s.cluster.selector.as_deref(), Some("team=payments"));
    assert!(!s.cluster.poke && !s.cluster.options().poke);
    let slack = s.slack.unwrap();
    assert_eq!(
        (slack.bot_token.as_str(), slack.app_token.as_deref()),
        ("xoxb-1", Some("xapp-1"))
    );
    assert_eq!(slack.signing_secret, None);
    assert_eq!(slack.api_url, "http://127.0.0.1:1/api");
    assert_eq!(slack.group_ttl, Duration::from_secs(60));
    assert_eq!(
        (slack.approve, slack.deny),
        (
            vec!["rocket".to_string(), "ok".into()],
            vec!["no_entry".to_string()]
        )
    );
    assert_eq!(
        s.http,
        Limits {
            header_timeout: Duration::from_secs(2),
            body_timeout: Duration::from_millis(750),
            max_connections: 64,
        }
    );
    assert_eq!(s.serve.work_limit, 8);
    assert_eq!(s.serve.grace, Duration::from_secs(5));
    assert_eq!(
        s.serve.drift,
        Timing {
            grace: Duration::from_secs(1),
            remind: Duration::from_secs(60)
        }
    );
    assert_eq!(s.serve.retention, Duration::from_secs(12 * 3600));
    assert_eq!(s.log.filter.as_deref(), Some("hoist=debug"));
    assert_eq!(s.log.format.as_deref(), Some("pretty"));
    assert!(s.log.no_color, "NO_COLOR counts when set, even empty");
    assert_eq!(s.kill_at, Some(7));
    assert_eq!(s.user.as_deref(), Some("alice"));
}

#[test]
fn unset_and_blank_variables_take_the_defaults() {
    let s = read(
        ALL,
        &Flags::default(),
        &with(&[("HOIST_LOG", "  "), ("HOIST_POKE", "")]),
    )
    .unwrap();
    assert_eq!(s.place.listen, "0.0.0.0:8080");
    assert!(s.git.signing_key.is_none() && s.git.passphrase.is_none());
    assert_eq!(s.git.author, Author::default());
    assert_eq!(s.git.access, Access::default());
    assert_eq!(s.git.push.attempts, Backoff::default().attempts);
    assert!(!s.cluster.configured() && s.cluster.poke && s.cluster.namespaces.is_empty());
    assert!(s.slack.is_none());
    assert_eq!(s.http, Limits::default());
    assert_eq!(s.serve.work_limit, 512);
    assert_eq!(s.serve.grace, Duration::from_secs(30));
    assert_eq!(s.serve.drift, Timing::default());
    assert_eq!(s.serve.retention, Duration::from_secs(30 * 86_400));
    assert!(s.log.filter.is_none() && !s.log.no_color);
    assert!(s.kill_at.is_none() && s.user.is_none());
    let slack = read(
        ALL,
        &Flags::default(),
        &with(&[("SLACK_BOT_TOKEN", "b"), ("SLACK_SIGNING_SECRET", "s")]),
    )
    .unwrap()
    .slack
    .unwrap();
    assert_eq!(slack.api_url, "https://slack.com/api");
    assert_eq!(
        (slack.approve, slack.deny),
        (
            vec!["white_check_mark".to_string(), "+1".into()],
            vec!["x".to_string(), "-1".into()]
        )
    );
    assert_eq!(slack.group_ttl, Duration::from_secs(300));
}

#[test]
fn the_cluster_is_configured_by_a_kubeconfig_or_a_pod_unless_switched_off() {
    let cluster = |vars: &[(&str, &str)]| {
        read(&[Area::Cluster], &Flags::default(), vars)
            .unwrap()
            .cluster
    };
    assert!(cluster(&[("KUBERNETES_SERVICE_HOST", "10.0.0.1")]).configured());
    assert!(cluster(&[("KUBECONFIG", "/k"), ("HOIST_CLUSTER", "ON")]).configured());
    for off in ["off", "false", "0", "no", "Off"] {
        assert!(
            !cluster(&[("KUBECONFIG", "/k"), ("HOIST_CLUSTER", off)]).configured(),
            "{off}"
        );
    }
    assert!(!cluster(&[("HOIST_CLUSTER", "on")]).configured());
}

#[test]
fn flags_win_over_variables_and_the_place_must_be_given() {
    let flags = Flags {
        repo: Some("/srv/config".into()),
        data_dir: Some("/data".into()),
        listen: Some("127.0.0.1:0".into()),
    };
    let s = read(
        &[Area::Place],
        &flags,
        &with(&[("HOIST_LISTEN", "0.0.0.0:1")]),
    )
    .unwrap();
    assert_eq!(
        (s.place.repo.as_str(), s.place.listen.as_str()),
        ("/srv/config", "127.0.0.1:0")
    );
    assert_eq!(s.place.data_dir, PathBuf::from("/data"));
    let e = read(
        &[Area::Place],
        &Flags::default(),
        &[("HOIST_DATA_DIR", "/d")],
    )
    .unwrap_err();
    assert_eq!(e.variable, "HOIST_REPO");
    assert_eq!(
        e.to_string(),
        "the config repo is not set: pass --repo or set HOIST_REPO"
    );
    let e = read(&[Area::Place], &Flags::default(), &[("HOIST_REPO", "r")]).unwrap_err();
    assert!(
        e.to_string().contains("--data-dir or set HOIST_DATA_DIR"),
        "{e}"
    );
}

#[test]
fn a_subcommand_is_not_stopped_by_an_area_it_does_not_read() {
    let unrelated = [
        ("SLACK_APP_TOKEN", "xapp-without-a-bot-token"),
        ("HOIST_HTTP_MAX_CONNECTIONS", "many"),
        ("HOIST_JOURNAL_RETENTION", "1s"),
    ];
    assert!(read(Area::EXEC, &Flags::default(), &with(&unrelated)).is_ok());
    let git = [
        ("HOIST_PUSH_ATTEMPTS", "0"),
        ("HOIST_CLUSTER", "?"),
        ("HOIST_REPO", ""),
    ];
    assert!(read(Area::TRY, &Flags::default(), &git).is_ok());
    assert!(
        read(
            Area::LOG,
            &Flags::default(),
            &[("HOIST_GIT_AUTHOR", "x"), ("HOIST_TEST_KILL_AT", "x")]
        )
        .is_ok()
    );
    assert!(read(Area::SERVE, &Flags::default(), &with(&unrelated)).is_err());
}

#[test]
fn debug_never_shows_a_secret() {
    let secrets = [
        ("SLACK_BOT_TOKEN", "xoxb-BOT-TOKEN-VALUE-4f1d"),
        ("SLACK_SIGNING_SECRET", "SIGNING-SECRET-VALUE-9a7c"),
        ("SLACK_APP_TOKEN", "xapp-APP-TOKEN-VALUE-3b2e"),
        ("HOIST_SIGNING_KEY_PASSPHRASE", "KEY-PASSPHRASE-VALUE-77e0"),
        ("HOIST_GIT_TOKEN", "GIT-TOKEN-VALUE-1c5a"),
    ];
    let s = read(ALL, &Flags::default(), &with(&secrets)).unwrap();
    for shown in [format!("{s:?}"), format!("{s:#?}")] {
        for (name, value) in secrets {
            assert!(!shown.contains(value), "{name} shows in {shown}");
            assert!(
                !shown.contains(&value[5..15]),
                "part of {name} shows in {shown}"
            );
        }
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(
            shown.contains("/var/lib/hoist"),
            "the rest is shown: {shown}"
        );
    }
}

#[test]
fn policy_signers_are_a_list_of_files_and_an_optional_pinned_commit() {
    let s = read(
        Area::CHECK,
        &Flags::default(),
        &[
            (
                "HOIST_POLICY_SIGNERS",
                " /keys/allowed_signers, /keys/ring.asc ,",
            ),
            (
                "HOIST_POLICY_TRUST_FROM",
                "ABCDEF1234567890ABCDEF1234567890ABCDEF12",
            ),
        ],
    )
    .unwrap();
    assert_eq!(
        s.git.policy.files,
        [
            PathBuf::from("/keys/allowed_signers"),
            PathBuf::from("/keys/ring.asc")
        ]
    );
    assert_eq!(
        s.git.policy.trust_from.as_deref(),
        Some("abcdef1234567890abcdef1234567890abcdef12")
    );
    let none = read(Area::CHECK, &Flags::default(), &[]).unwrap();
    assert_eq!(none.git.policy, PolicySigners::default());
    let bad = |vars: &[(&str, &str)]| read(Area::CHECK, &Flags::default(), vars).unwrap_err();
    assert_eq!(
        bad(&[(
            "HOIST_POLICY_TRUST_FROM",
            "abcdef1234567890abcdef1234567890abcdef12"
        )])
        .variable,
        "HOIST_POLICY_TRUST_FROM"
    );
    // A prefix could be matched by a ground commit id: full ids only.
    let e = bad(&[
        ("HOIST_POLICY_SIGNERS", "/f"),
        ("HOIST_POLICY_TRUST_FROM", "abcdef1"),
    ]);
    assert!(e.to_string().contains("is not a full commit id"), "{e}");
    let e = bad(&[
        ("HOIST_POLICY_SIGNERS", "/f"),
        ("HOIST_POLICY_TRUST_FROM", "main"),
    ]);
    assert!(e.to_string().contains("is not a full commit id"), "{e}");
}
