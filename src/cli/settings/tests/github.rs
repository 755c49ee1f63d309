//! GitHub's settings: a token or an App (all three variables or none), the
//! repository, the API URL, the webhook secret and the poll interval; what
//! only makes sense together, and secrets kept out of `Debug`.

use super::*;
use crate::cli::settings::github::{AppKey, GitHub, GitHubAuth};

fn github(vars: &[(&str, &str)]) -> Result<GitHub, Error> {
    read(&[Area::GitHub], &Flags::default(), vars).map(|s| s.github)
}

const PEM: &str =
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow-KEY-BODY-31f7\n-----END RSA PRIVATE KEY-----\n";

#[test]
fn github_is_off_by_default_and_on_with_a_token_or_an_app() {
    let off = github(&[]).unwrap();
    assert_eq!(off, GitHub::default());
    assert!(off.auth.is_none() && off.webhook_secret.is_none());
    assert_eq!(off.api_url, "https://api.github.com");
    assert_eq!(off.poll, Duration::from_secs(30));
    assert_eq!(
        read(Area::TRY, &Flags::default(), &[("GITHUB_TOKEN", "t")])
            .unwrap()
            .github,
        off
    );

    let token = github(&[
        ("GITHUB_TOKEN", " ghp_token "),
        ("HOIST_GITHUB_REPO", "acme/config.prod"),
        ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
        ("GITHUB_WEBHOOK_SECRET", "It's a Secret to Everybody"),
        ("HOIST_GITHUB_POLL", "5s"),
    ])
    .unwrap();
    assert_eq!(
        token.auth,
        Some(GitHubAuth::Token(Secret::new("ghp_token".into())))
    );
    assert_eq!(token.repo, Some(("acme".into(), "config.prod".into())));
    assert_eq!(token.api_url, "https://ghe.example.com/api/v3");
    assert_eq!(
        token.webhook_secret.as_ref().map(Secret::expose),
        Some("It's a Secret to Everybody")
    );
    assert_eq!(token.poll, Duration::from_secs(5));
    assert_eq!(token.auth.unwrap().kind(), "GITHUB_TOKEN");

    let app = |key: &str| {
        github(&[
            ("GITHUB_APP_ID", "12345"),
            ("GITHUB_APP_PRIVATE_KEY", key),
            ("GITHUB_APP_INSTALLATION_ID", "678"),
        ])
        .unwrap()
        .auth
        .unwrap()
    };
    assert_eq!(
        app(PEM),
        GitHubAuth::App {
            app_id: 12345,
            key: AppKey::Pem(Secret::new(PEM.into())),
            installation_id: 678,
        }
    );
    let from_file = app("/secrets/app.pem");
    assert_eq!(
        from_file,
        GitHubAuth::App {
            app_id: 12345,
            key: AppKey::File("/secrets/app.pem".into()),
            installation_id: 678,
        }
    );
    assert_eq!(from_file.kind(), "GitHub App 12345, installation 678");
}

#[test]
fn a_partial_app_names_what_is_missing() {
    let e = github(&[("GITHUB_APP_ID", "1")]).unwrap_err();
    assert_eq!(e.variable, "GITHUB_APP_PRIVATE_KEY");
    let said = e.to_string();
    assert!(
        said.contains("GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID not set"),
        "{said}"
    );
    let e = github(&[
        ("GITHUB_APP_PRIVATE_KEY", PEM),
        ("GITHUB_APP_INSTALLATION_ID", "2"),
    ])
    .unwrap_err();
    assert_eq!(e.variable, "GITHUB_APP_ID");
    assert!(e.to_string().contains("GITHUB_APP_ID not set"), "{e}");
    assert!(!e.to_string().contains("KEY-BODY"), "{e}");
}

#[test]
fn github_settings_that_do_not_fit_name_their_variable() {
    let app = [
        ("GITHUB_APP_ID", "1"),
        ("GITHUB_APP_PRIVATE_KEY", PEM),
        ("GITHUB_APP_INSTALLATION_ID", "2"),
    ];
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            [("GITHUB_TOKEN", "t")].into_iter().chain(app).collect(),
            "GITHUB_TOKEN",
            "not both",
        ),
        (
            vec![("GITHUB_APP_ID", "app")],
            "GITHUB_APP_ID",
            "is not a positive number",
        ),
        (
            vec![("GITHUB_APP_INSTALLATION_ID", "0")],
            "GITHUB_APP_INSTALLATION_ID",
            "is not a positive number",
        ),
        (
            vec![("HOIST_GITHUB_REPO", "acme")],
            "HOIST_GITHUB_REPO",
            "is not `owner/name`",
        ),
        (
            vec![("HOIST_GITHUB_REPO", "acme/../x")],
            "HOIST_GITHUB_REPO",
            "is not `owner/name`",
        ),
        (
            vec![("GITHUB_API_URL", "ftp://ghe")],
            "GITHUB_API_URL",
            "is not an http(s) URL",
        ),
        (
            vec![("GITHUB_WEBHOOK_SECRET", "s")],
            "GITHUB_WEBHOOK_SECRET",
            "GitHub is not",
        ),
        (
            vec![("HOIST_GITHUB_POLL", "1s")],
            "HOIST_GITHUB_POLL",
            "shorter than `5s`",
        ),
        (
            vec![("HOIST_GITHUB_POLL", "1m")],
            "HOIST_GITHUB_POLL",
            "is not a wait",
        ),
    ];
    for (vars, variable, words) in cases {
        let e = github(&vars).unwrap_err();
        assert_eq!(e.variable, variable, "{vars:?}");
        assert!(e.to_string().contains(words), "{vars:?}: {e}");
    }
}

#[test]
fn debug_never_shows_a_github_secret() {
    for vars in [
        vec![
            ("GITHUB_TOKEN", "ghp_TOKEN-VALUE-8d2f"),
            ("GITHUB_WEBHOOK_SECRET", "HOOK-SECRET-VALUE-55aa"),
        ],
        vec![
            ("GITHUB_APP_ID", "1"),
            ("GITHUB_APP_PRIVATE_KEY", PEM),
            ("GITHUB_APP_INSTALLATION_ID", "2"),
        ],
    ] {
        let s = read(ALL, &Flags::default(), &with(&vars)).unwrap();
        let shown = format!("{s:?}");
        for value in ["TOKEN-VALUE", "HOOK-SECRET", "KEY-BODY"] {
            assert!(!shown.contains(value), "{value} shows in {shown}");
        }
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
