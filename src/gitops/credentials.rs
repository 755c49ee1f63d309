//! How the mirror authenticates to the remote ([`Access`], which `cli` reads
//! from the environment). Secrets
//! never reach a command line or a log: an HTTPS token is handed to git by a
//! credential helper that reads it from the environment of git's own child
//! process (the helper's text names the variable, not its value), configured
//! through `GIT_CONFIG_*` variables rather than `-c` arguments. SSH uses
//! `GIT_SSH_COMMAND` with the key file, a known-hosts file and strict host
//! key checking, in batch mode (a bot cannot answer prompts).
//!
//! - `HOIST_GIT_TOKEN` (and `HOIST_GIT_USERNAME`, default `x-access-token`,
//!   what GitHub expects for app and personal tokens);
//! - `HOIST_GIT_SSH_KEY`, `HOIST_GIT_KNOWN_HOSTS`.
//!
//! A token that changes while hoist runs (a GitHub App's installation token,
//! refreshed before it expires) comes from a [`TokenSource`] instead: its
//! current value is put in the environment of each git command as
//! `HOIST_GIT_TOKEN` (never in argv), where the same helper reads it.
//!
//! The token is for the remote's host and nobody else's: the helper is
//! configured for the remote's `scheme://host[:port]/` only
//! (`credential.<url>.helper`, after an empty `credential.helper` that
//! clears helpers from other configuration), and it answers only when the
//! `protocol` and `host` git asks about are the remote's. git follows no
//! HTTP redirect (`http.followRedirects=false`; its default, `initial`,
//! follows one on the first request, to any host): a remote that moved is
//! an error naming the new place, not a silent hop.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

/// Where the current token comes from when it changes while hoist runs (a
/// GitHub App's installation token): called once per git command, from a
/// blocking thread; `None` when no token can be had right now (git then
/// runs without one and the remote says no). Never printed: its `Debug`
/// names no value, and two sources are equal only when they are the same.
#[derive(Clone)]
pub struct TokenSource(Arc<dyn Fn() -> Option<String> + Send + Sync>);

impl TokenSource {
    pub fn new(current: impl Fn() -> Option<String> + Send + Sync + 'static) -> TokenSource {
        TokenSource(Arc::new(current))
    }

    /// The token now.
    pub fn current(&self) -> Option<String> {
        (self.0)()
    }
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSource(..)")
    }
}

impl PartialEq for TokenSource {
    fn eq(&self, other: &TokenSource) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TokenSource {}

/// The credential helper: answers `get` with the variables' values at run
/// time, when the protocol and host git describes on stdin are the remote's
/// (`HOIST_GIT_CREDENTIAL_PROTOCOL`, `HOIST_GIT_CREDENTIAL_HOST`, set by
/// [`Credentials::apply`]); for anything else it says nothing.
const HELPER: &str = "!f() { test \"$1\" = get || return 0; p=; h=; \
    while IFS= read -r l && test -n \"$l\"; do case \"$l\" in \
    protocol=*) p=\"${l#protocol=}\" ;; host=*) h=\"${l#host=}\" ;; esac; done; \
    test -n \"$h\" && test \"$p\" = \"$HOIST_GIT_CREDENTIAL_PROTOCOL\" \
    && test \"$h\" = \"$HOIST_GIT_CREDENTIAL_HOST\" || return 0; \
    printf 'username=%s\\npassword=%s\\n' \"${HOIST_GIT_USERNAME:-x-access-token}\" \"$HOIST_GIT_TOKEN\"; }; f";

/// Where an HTTP(S) remote lives, as git's credential protocol names it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    /// `http` or `https`.
    protocol: String,
    /// `host` or `host:port` (IPv6 in brackets), without any `user@`.
    host: String,
}

impl Origin {
    /// The origin of an `http://` or `https://` URL; `None` for any other
    /// transport (SSH, local paths) or a URL without a usable host.
    fn of(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let protocol = scheme.to_ascii_lowercase();
        if protocol != "http" && protocol != "https" {
            return None;
        }
        let authority = rest.split(['/', '?', '#']).next()?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let plain = |c: char| c.is_ascii_alphanumeric() || "-._:[]".contains(c);
        (!host.is_empty() && host.chars().all(plain)).then(|| Origin {
            protocol,
            host: host.to_string(),
        })
    }

    /// The URL prefix `credential.<url>.helper` is scoped to.
    fn url(&self) -> String {
        format!("{}://{}/", self.protocol, self.host)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// A token is set (its value stays in the environment).
    token: bool,
    ssh_key: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    /// The HTTP(S) remote the token is for; none: the token is not offered.
    origin: Option<Origin>,
    /// Where a changing token comes from (put in git's environment).
    source: Option<TokenSource>,
}

/// Quote a path for the shell git runs `GIT_SSH_COMMAND` with.
fn sh_quote(p: &std::path::Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// How git may authenticate, as `cli` read it from the environment: whether
/// a token is set (its value stays in the environment, where the helper's
/// git child reads it), and the SSH key and known-hosts files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub token: bool,
    pub ssh_key: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    /// A token that changes (a GitHub App's): asked for each git command;
    /// it takes the place of `HOIST_GIT_TOKEN` from hoist's environment.
    pub token_source: Option<TokenSource>,
}

impl Credentials {
    /// The credentials for `remote` given `access`.
    pub fn new(remote: &str, access: &Access) -> Credentials {
        Credentials {
            token: access.token || access.token_source.is_some(),
            ssh_key: access.ssh_key.clone(),
            known_hosts: access.known_hosts.clone(),
            origin: Origin::of(remote),
            source: access.token_source.clone(),
        }
    }

    /// The `ssh` command line git should use, if an SSH key or known-hosts
    /// file is configured.
    pub fn ssh_command(&self) -> Option<String> {
        if self.ssh_key.is_none() && self.known_hosts.is_none() {
            return None;
        }
        let mut cmd = String::from("ssh -o BatchMode=yes");
        if let Some(key) = &self.ssh_key {
            cmd.push_str(&format!(" -i {} -o IdentitiesOnly=yes", sh_quote(key)));
        }
        if let Some(kh) = &self.known_hosts {
            cmd.push_str(&format!(
                " -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
                sh_quote(kh)
            ));
        }
        Some(cmd)
    }

    /// Configure a git command (fetch, push, ls-remote) to authenticate.
    pub fn apply(&self, cmd: &mut Command) {
        let mut config = vec![("http.followRedirects".to_string(), "false")];
        if let (true, Some(origin)) = (self.token, &self.origin) {
            // An empty value first clears helpers from other configuration
            // (URL-scoped ones too: git keeps one list for both).
            config.push(("credential.helper".into(), ""));
            config.push((format!("credential.{}.helper", origin.url()), HELPER));
            cmd.env("HOIST_GIT_CREDENTIAL_PROTOCOL", &origin.protocol)
                .env("HOIST_GIT_CREDENTIAL_HOST", &origin.host);
            if let Some(source) = &self.source {
                match source.current() {
                    Some(token) => cmd.env("HOIST_GIT_TOKEN", token),
                    None => cmd.env_remove("HOIST_GIT_TOKEN"),
                };
            }
        }
        cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
        for (i, (key, value)) in config.iter().enumerate() {
            cmd.env(format!("GIT_CONFIG_KEY_{i}"), key)
                .env(format!("GIT_CONFIG_VALUE_{i}"), value);
        }
        if let Some(ssh) = self.ssh_command() {
            cmd.env("GIT_SSH_COMMAND", ssh);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;
    use std::process::Stdio;

    const REMOTE: &str = "https://git.example.com/acme/config.git";

    fn with_token() -> Credentials {
        Credentials {
            token: true,
            origin: Origin::of(REMOTE),
            ..Credentials::default()
        }
    }

    /// What `cmd` prints when given `input` on stdin.
    fn answer(mut cmd: Command, input: &str) -> String {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `git credential fill` for `input`, configured as the mirror's git is.
    fn fill(creds: &Credentials, input: &str) -> String {
        let mut cmd = Command::new("git");
        cmd.args(["credential", "fill"])
            .env("HOIST_GIT_TOKEN", "s3cr3t-token")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", std::env::temp_dir())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_ASKPASS")
            .env_remove("SSH_ASKPASS");
        creds.apply(&mut cmd);
        answer(cmd, input)
    }

    #[test]
    fn the_token_reaches_git_through_the_helper_and_never_the_command_line() {
        let creds = with_token();
        let mut cmd = Command::new("git");
        cmd.env("HOIST_GIT_TOKEN", "s3cr3t-token");
        creds.apply(&mut cmd);
        let configured: Vec<String> = cmd
            .get_envs()
            .filter_map(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
            .filter(|v| v.contains("s3cr3t"))
            .collect();
        assert_eq!(
            configured,
            ["s3cr3t-token"],
            "only the variable itself holds it"
        );
        let said = fill(&creds, "protocol=https\nhost=git.example.com\n\n");
        assert!(said.contains("username=x-access-token"), "{said}");
        assert!(said.contains("password=s3cr3t-token"), "{said}");
    }

    #[test]
    fn a_token_source_is_asked_for_each_command_and_its_value_goes_to_the_environment_only() {
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let source = TokenSource::new(move || {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some(format!("app-token-{n}"))
        });
        let access = Access {
            token_source: Some(source),
            ..Access::default()
        };
        assert!(!format!("{access:?}").contains("app-token"));
        assert_eq!(access, access.clone(), "the same source");
        let creds = Credentials::new(REMOTE, &access);
        for n in 0..2 {
            let mut cmd = Command::new("git");
            creds.apply(&mut cmd);
            assert!(
                cmd.get_args()
                    .all(|a| !a.to_string_lossy().contains("app-token"))
            );
            let token = cmd
                .get_envs()
                .find(|(k, _)| *k == "HOIST_GIT_TOKEN")
                .and_then(|(_, v)| v)
                .map(|v| v.to_string_lossy().into_owned());
            assert_eq!(token, Some(format!("app-token-{n}")), "asked again");
        }
        let mut cmd = Command::new("git");
        cmd.args(["credential", "fill"])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", std::env::temp_dir())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_ASKPASS");
        creds.apply(&mut cmd);
        let said = answer(cmd, "protocol=https\nhost=git.example.com\n\n");
        assert!(said.contains("password=app-token-2"), "{said}");
    }

    #[test]
    fn the_token_is_offered_to_the_remotes_host_and_no_other() {
        let creds = with_token();
        for other in [
            "protocol=https\nhost=evil.example.com\n\n",
            "protocol=https\nhost=git.example.com:8443\n\n",
            "protocol=http\nhost=git.example.com\n\n",
            "protocol=https\nhost=git.example.com.evil.example\n\n",
        ] {
            let said = fill(&creds, other);
            assert!(!said.contains("s3cr3t"), "{other:?} got {said}");
        }
        // No HTTP remote, no helper: an SSH remote's token would go nowhere.
        let ssh = Credentials {
            token: true,
            origin: Origin::of("ssh://git.example.com/acme/config.git"),
            ..Credentials::default()
        };
        let said = fill(&ssh, "protocol=https\nhost=git.example.com\n\n");
        assert!(!said.contains("s3cr3t"), "{said}");
    }

    #[test]
    fn the_helper_itself_answers_only_for_the_host_it_was_given() {
        // Run as git would, but with no URL scoping in front of it.
        let script = HELPER.strip_prefix('!').unwrap();
        let helper = |input: &str| {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", &format!("{script} \"$@\""), "helper", "get"])
                .env("HOIST_GIT_TOKEN", "s3cr3t-token")
                .env("HOIST_GIT_CREDENTIAL_PROTOCOL", "https")
                .env("HOIST_GIT_CREDENTIAL_HOST", "git.example.com");
            answer(cmd, input)
        };
        let ok = helper("protocol=https\nhost=git.example.com\npath=acme/config.git\n\n");
        assert!(ok.contains("password=s3cr3t-token"), "{ok}");
        for other in [
            "protocol=https\nhost=evil.example.com\n\n",
            "protocol=https\n\n",
            "host=git.example.com\n\n",
            "protocol=https\n\nhost=git.example.com\n",
        ] {
            let said = helper(other);
            assert_eq!(said, "", "{other:?}");
        }
    }

    #[test]
    fn origins_are_scheme_and_host_of_http_urls_only() {
        let o = Origin::of("https://user:pw@Git.Example.com:8443/a/b.git?x#y").unwrap();
        assert_eq!(o.protocol, "https");
        assert_eq!(o.host, "Git.Example.com:8443");
        assert_eq!(o.url(), "https://Git.Example.com:8443/");
        assert_eq!(
            Origin::of("HTTP://[::1]:80/r").unwrap().url(),
            "http://[::1]:80/"
        );
        for none in [
            "git@github.com:acme/config.git",
            "ssh://git.example.com/r",
            "file:///srv/r",
            "/srv/r",
            "https:///r",
            "https://ho st/r",
            "https://host\n/r",
        ] {
            assert_eq!(Origin::of(none), None, "{none:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Whatever the URL, the host that reaches git's configuration and
        /// the helper's environment is one plain token: no newline, quote,
        /// slash or `@` to smuggle another key or host in.
        #[test]
        fn an_origin_from_any_url_is_plain(url in "\\PC{0,80}|https?://[^/]{0,40}/.{0,20}") {
            if let Some(o) = Origin::of(&url) {
                prop_assert!(o.protocol == "http" || o.protocol == "https");
                prop_assert!(!o.host.is_empty());
                prop_assert!(o.host.chars().all(|c| c.is_ascii_graphic()));
                prop_assert!(!o.host.contains(['/', '@', '"', '\\', '\'']));
            }
        }
    }

    #[test]
    fn ssh_uses_the_key_and_known_hosts_strictly_in_batch_mode() {
        let creds = Credentials {
            token: false,
            ssh_key: Some("/etc/hoist/deploy key".into()),
            known_hosts: Some("/etc/hoist/known_hosts".into()),
            origin: None,
            source: None,
        };
        assert_eq!(
            creds.ssh_command().unwrap(),
            "ssh -o BatchMode=yes -i '/etc/hoist/deploy key' -o IdentitiesOnly=yes \
             -o UserKnownHostsFile='/etc/hoist/known_hosts' -o StrictHostKeyChecking=yes"
        );
        assert_eq!(Credentials::default().ssh_command(), None);
    }
}
