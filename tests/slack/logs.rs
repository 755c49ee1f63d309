//! Logs (README "Logs"): `hoist serve` at `HOIST_LOG=debug` with stderr not
//! a terminal writes one JSON object per line; the lines of an operation's
//! work carry its `op`, `env` and `app`, and its transitions form an audit
//! trail. No secret it was given (Slack bot and app tokens, the signing
//! secret, the git token, the signing key's passphrase) reaches its stdout,
//! its stderr, the data dir (journal, mirror and its git config), the
//! commits or what it said to Slack. The text format puts the span in front
//! of each line; an unknown format or a bad filter stops hoist before it
//! does anything.

use super::*;
use support::http_git::HttpGit;

const SIGNING_SECRET: &str = "SECRET-SIGNING-5f1c9a0b7d";
const APP_TOKEN: &str = "xapp-SECRET-APP-7d3e21c4";
const GIT_TOKEN: &str = "SECRET-GIT-9b2a6f81";
const PASSPHRASE: &str = "SECRET-PASS-4e8d0c55";

/// Every file under `dir`, with its bytes.
fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// `hoist serve` with stdout and stderr in files (read after it stops),
/// over HTTP and Socket Mode, its mirror cloning `repo`.
fn serve_logged(w: &World, fake: &FakeSlack, repo: &str, env: &[(&str, &str)]) -> Bot {
    let out = std::fs::File::create(w.dir.path().join("stdout")).unwrap();
    let err = std::fs::File::create(w.dir.path().join("stderr")).unwrap();
    let child = crate::support::serve_command(w, repo)
        .env_remove("HOIST_LOG_FORMAT")
        .env("HOIST_SIGNING_KEY", &w.key)
        .env("SLACK_BOT_TOKEN", slack::BOT_TOKEN)
        .env("SLACK_API_URL", fake.api_url())
        .envs(env.iter().copied())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("hoist serve starts");
    let mut bot = Bot {
        child,
        addr: String::new(),
    };
    let stdout = w.dir.path().join("stdout");
    wait_until("hoist serve listening", || {
        let text = std::fs::read_to_string(&stdout).unwrap_or_default();
        let found = text
            .lines()
            .find_map(|l| l.strip_prefix("hoist: listening on http://"));
        if let Some(addr) = found {
            bot.addr = addr.trim().to_string();
        }
        found.is_some()
    });
    bot
}

fn send_signed(bot: &Bot, path: &str, content_type: &str, body: &str) -> u16 {
    let headers = signed(SIGNING_SECRET, now(), body, content_type);
    post(&bot.addr, path, &headers, body).0
}

#[test]
fn serve_logs_json_lines_with_the_operation_on_each_and_no_secret_anywhere() {
    let w = world();
    // The signing key is encrypted: the passphrase is a secret hoist holds.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&w.key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-p", "-P", "", "-N", PASSPHRASE, "-f"])
        .arg(&w.key)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    // The remote wants the token: the mirror really hands it to git.
    let server = HttpGit::start(w.dir.path(), "x-access-token", GIT_TOKEN);
    let repo = format!("{}/origin.git", server.url);
    let fake = FakeSlack::start();
    fake.set_group("S0DEVS", &["UALICE"]);
    let env = [
        ("HOIST_LOG", "debug"),
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
        ("SLACK_APP_TOKEN", APP_TOKEN),
        ("HOIST_GIT_TOKEN", GIT_TOKEN),
        ("HOIST_SIGNING_KEY_PASSPHRASE", PASSPHRASE),
    ];
    let bot = serve_logged(&w, &fake, &repo, &env);

    let ask = slash_body("UALICE", "C0DEPLOY", "deploy api v1.2.4 to prod");
    assert_eq!(send_signed(&bot, "/slack/commands", FORM, &ask), 200);
    let live = fake.wait_for("chat.postMessage", "needs 2 approval(s)", WAIT);
    let ts = live.ts.unwrap();
    let vote = |event: &str, user: &str| {
        let body = callback(event, reaction(user, "white_check_mark", "C0DEPLOY", &ts));
        assert_eq!(send_signed(&bot, "/slack/events", JSON, &body), 200);
    };
    vote("EvLOG1", "USRE1");
    fake.wait_for("chat.update", "1 of 2", WAIT);
    vote("EvLOG2", "USRE2");
    wait_until("the commit on origin", || hoist_commits(&w).len() == 1);
    fake.wait_for("chat.update", "pushed", WAIT);
    assert!(w.verify("main", &w.allowed_signers).status.success());
    drop(bot);

    // No secret anywhere hoist writes.
    let mut places = files_under(&w.data);
    assert!(
        places.iter().any(|(p, _)| p.ends_with("hoist.redb")),
        "{:?}",
        places.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    assert!(
        places.iter().any(|(p, _)| p.ends_with("config")),
        "the mirror's git config"
    );
    for name in ["stdout", "stderr"] {
        places.push((name.into(), std::fs::read(w.dir.path().join(name)).unwrap()));
    }
    let messages = git(&w.origin, &["log", "--format=%B", "main"]);
    places.push(("commit messages".into(), messages.into_bytes()));
    places.push((
        "said to Slack".into(),
        format!("{:?}", fake.calls()).into_bytes(),
    ));
    use base64::Engine as _;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{GIT_TOKEN}"));
    let secrets = [
        slack::BOT_TOKEN,
        SIGNING_SECRET,
        APP_TOKEN,
        GIT_TOKEN,
        basic.as_str(),
        PASSPHRASE,
    ];
    for (place, bytes) in &places {
        for secret in secrets {
            assert!(!contains(bytes, secret), "{secret} appears in {place}");
        }
    }

    // Every line on stderr is a JSON object: `serve`'s own words (its
    // version, what is on and off, shutting down) go through the log too, so
    // a collector gets one stream it can parse.
    let stderr = std::fs::read_to_string(w.dir.path().join("stderr")).unwrap();
    let mut lines: Vec<(&str, serde_json::Map<String, Value>)> = Vec::new();
    for raw in stderr.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(m)) => lines.push((raw, m)),
            _ => panic!("not a JSON line: {raw}"),
        }
    }
    assert!(
        lines.iter().any(|(_, l)| l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("serve "))),
        "the start-up summary is logged"
    );
    for (raw, line) in &lines {
        for key in ["timestamp", "level", "message", "target"] {
            assert!(line.contains_key(key), "no {key}: {raw}");
        }
    }
    assert!(
        lines.iter().any(|(_, l)| l["level"] == "DEBUG"),
        "HOIST_LOG=debug lets debug lines through"
    );

    // The audit trail of operation 1, each line with its identity.
    let of_op: Vec<&(&str, serde_json::Map<String, Value>)> = lines
        .iter()
        .filter(|(_, l)| l.get("op") == Some(&json!(1)))
        .collect();
    let trail: Vec<&str> = of_op
        .iter()
        .filter(|(_, l)| l["target"] == "hoist::engine::trail")
        .map(|(_, l)| l["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        trail,
        [
            "requested",
            "awaiting-approval",
            "awaiting-approval",
            "awaiting-approval",
            "approved",
            "committed",
            "pushed"
        ],
        "{stderr}"
    );
    let opened = &of_op[0].1;
    assert_eq!(opened["requester"], "slack:UALICE");
    assert_eq!(opened["summary"], "deploy api v1.2.4 to prod");
    let approved = of_op.iter().find(|(_, l)| l["to"] == "approved").unwrap();
    assert_eq!(approved.1["approvers"], "slack:USRE1,slack:USRE2");
    assert_eq!(
        approved.1["actor"], "slack:USRE2",
        "who acted: the request's span"
    );
    assert_eq!(approved.1["requester"], "slack:UALICE");
    for (raw, line) in &of_op {
        assert!(raw.contains(r#""op":1,"#), "greppable: {raw}");
        assert_eq!(
            (&line["env"], &line["app"]),
            (&json!("prod"), &json!("api")),
            "{raw}"
        );
    }
    // The push line names no operation itself: it has one from the span.
    let pushing = of_op.iter().find(|(_, l)| l["message"] == "pushing");
    assert!(
        pushing.is_some(),
        "the push is logged in the op's span: {stderr}"
    );
    // Every engine line after the request was opened is about it.
    let first = lines
        .iter()
        .position(|(_, l)| l.get("op").is_some())
        .unwrap();
    for (raw, line) in &lines[first..] {
        if line["target"]
            .as_str()
            .unwrap()
            .starts_with("hoist::engine")
        {
            assert_eq!(line.get("op"), Some(&json!(1)), "{raw}");
        }
    }
}

/// `console:alice` deploys api v1.2.4 to staging with `hoist exec`, `env`
/// and the world's key (the example policy allows it): exit code, stderr.
fn exec_logged(w: &World, env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(["exec", "--repo", w.origin.to_str().unwrap()])
        .args(["--data-dir", w.data.to_str().unwrap()])
        .args(["--as", "console:alice", "--json", "--"])
        .args(["deploy", "api", "v1.2.4", "to", "staging"])
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("HOIST_LOG")
        .env_remove("HOIST_LOG_FORMAT")
        .env("HOME", w.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOIST_SIGNING_KEY", &w.key)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn the_pretty_format_puts_the_operation_in_front_of_each_line_of_its_work() {
    let w = World::new();
    let (code, stderr) = exec_logged(&w, &[("HOIST_LOG", "info"), ("HOIST_LOG_FORMAT", "pretty")]);
    assert_eq!(code, 0, "{stderr}");
    let pushing = stderr
        .lines()
        .find(|l| l.contains("hoist::engine::land: pushing"));
    let pushing = pushing.unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        pushing.contains("op{op=1 env=staging app=api}"),
        "{pushing}"
    );
    assert!(stderr.contains("#1 committed -> pushed"), "{stderr}");
    assert!(!stderr.contains(r#"{"timestamp""#), "{stderr}");
}

#[test]
fn an_unknown_log_format_or_a_bad_filter_stops_hoist_before_it_writes() {
    let w = World::new();
    let tip = w.tip();
    let (code, stderr) = exec_logged(&w, &[("HOIST_LOG_FORMAT", "xml")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("HOIST_LOG_FORMAT: `xml` is not a log format; use `json` or `pretty`"),
        "{stderr}"
    );
    let (code, stderr) = exec_logged(&w, &[("HOIST_LOG", "hoist=loud")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("HOIST_LOG: `hoist=loud` is not a filter"),
        "{stderr}"
    );
    assert_eq!(w.tip(), tip, "nothing was written");
    assert!(!w.data.exists(), "nothing was opened");
    // Unset, `exec` logs warnings only: a deploy says nothing on stderr.
    let (code, stderr) = exec_logged(&w, &[]);
    assert_eq!((code, stderr.as_str()), (0, ""));
}
