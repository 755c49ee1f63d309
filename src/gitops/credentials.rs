//! How the mirror authenticates to the remote, from the environment. Secrets
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

use std::path::PathBuf;
use std::process::Command;

/// The credential helper: answers `get` with the variables' values at run time.
const HELPER: &str = "!f() { test \"$1\" = get || return 0; \
    printf 'username=%s\\npassword=%s\\n' \"${HOIST_GIT_USERNAME:-x-access-token}\" \"$HOIST_GIT_TOKEN\"; }; f";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// A token is set (its value stays in the environment).
    token: bool,
    ssh_key: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
}

fn set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Quote a path for the shell git runs `GIT_SSH_COMMAND` with.
fn sh_quote(p: &std::path::Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

impl Credentials {
    pub fn from_env() -> Credentials {
        Credentials {
            token: set("HOIST_GIT_TOKEN").is_some(),
            ssh_key: set("HOIST_GIT_SSH_KEY").map(PathBuf::from),
            known_hosts: set("HOIST_GIT_KNOWN_HOSTS").map(PathBuf::from),
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
        if self.token {
            // An empty value first clears helpers from other configuration.
            cmd.env("GIT_CONFIG_COUNT", "2")
                .env("GIT_CONFIG_KEY_0", "credential.helper")
                .env("GIT_CONFIG_VALUE_0", "")
                .env("GIT_CONFIG_KEY_1", "credential.helper")
                .env("GIT_CONFIG_VALUE_1", HELPER);
        }
        if let Some(ssh) = self.ssh_command() {
            cmd.env("GIT_SSH_COMMAND", ssh);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_reaches_git_through_the_helper_and_never_the_command_line() {
        let creds = Credentials {
            token: true,
            ..Credentials::default()
        };
        let mut cmd = Command::new("git");
        cmd.args(["credential", "fill"])
            .env("HOIST_GIT_TOKEN", "s3cr3t-token")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", std::env::temp_dir())
            .env("GIT_TERMINAL_PROMPT", "0");
        creds.apply(&mut cmd);
        assert!(
            cmd.get_args()
                .all(|a| !a.to_string_lossy().contains("s3cr3t")),
            "no argument carries the token"
        );
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
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"protocol=https\nhost=git.example.com\n\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("username=x-access-token"), "{said}");
        assert!(said.contains("password=s3cr3t-token"), "{said}");
    }

    #[test]
    fn ssh_uses_the_key_and_known_hosts_strictly_in_batch_mode() {
        let creds = Credentials {
            token: false,
            ssh_key: Some("/etc/hoist/deploy key".into()),
            known_hosts: Some("/etc/hoist/known_hosts".into()),
        };
        assert_eq!(
            creds.ssh_command().unwrap(),
            "ssh -o BatchMode=yes -i '/etc/hoist/deploy key' -o IdentitiesOnly=yes \
             -o UserKnownHostsFile='/etc/hoist/known_hosts' -o StrictHostKeyChecking=yes"
        );
        assert_eq!(Credentials::default().ssh_command(), None);
    }
}
