//! The names that reach a GitHub URL or come back from GitHub, checked:
//! owners, repositories, teams and branch segments (no path tricks, each
//! percent-encoded where it may hold more than plain characters), logins
//! (`[A-Za-z0-9-]{1,39}`), commit ids, the repository a git remote URL
//! points at, and which git remotes GitHub's token may be handed to.

/// A GitHub login: 1 to 39 letters, digits and single inner dashes (the
/// policy's rule, so a login hoist reads is one `hoist.yaml` could name).
pub fn is_login(s: &str) -> bool {
    crate::policy::login_ok(s)
}

/// A full commit id (SHA-1 or SHA-256, lower-case hex).
pub fn is_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

/// An owner, repository, organization or team slug: letters, digits,
/// `.`, `_`, `-`, at most 100, and not `.` or `..`.
pub fn is_name(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// One segment of a branch name, percent-encoded for a URL path; `None`
/// for an empty, `.`/`..` or control-character segment.
pub fn segment(part: &str) -> Option<String> {
    if part.is_empty() || part == "." || part == ".." || part.chars().any(char::is_control) {
        return None;
    }
    let mut out = String::new();
    for b in part.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Some(out)
}

/// The `(owner, repo)` a GitHub remote URL names: `https://github.com/o/r`
/// (`.git` optional), `git@github.com:o/r.git`, `ssh://git@github.com/o/r`.
/// Only github.com; names are checked ([`is_name`]).
pub fn repo_from_url(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let path = if let Some(rest) = url.strip_prefix("git@github.com:") {
        rest
    } else {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let rest = match scheme.as_str() {
            "https" | "http" => rest,
            "ssh" => rest.strip_prefix("git@")?,
            _ => return None,
        };
        let (host, path) = rest.split_once('/')?;
        let host = host.to_ascii_lowercase();
        if host != "github.com" && host != "www.github.com" {
            return None;
        }
        path
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    let path = path.strip_suffix(".git").unwrap_or(path);
    let (owner, repo) = path.split_once('/')?;
    (is_name(owner) && is_name(repo)).then(|| (owner.to_string(), repo.to_string()))
}

/// The host of an http(s) URL, lower-case, without user or port, when the
/// URL is https, or http on the loopback (tests); `None` otherwise.
fn secure_host(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        format!("[{}]", v6.split(']').next()?)
    } else {
        host_port.split(':').next()?.to_string()
    };
    let host = host.to_ascii_lowercase();
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Some(host),
        "http" if matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") => Some(host),
        _ => None,
    }
}

/// The host of a GitHub API URL hoist may use: https (http only on
/// 127.0.0.1 or localhost, which tests use).
pub fn api_host(api_url: &str) -> Option<String> {
    secure_host(api_url)
}

/// Whether GitHub's token (the App's, or `GITHUB_TOKEN`) may be handed to
/// git for `remote`: only over https (http on the loopback) to the GitHub
/// the API at `api_url` belongs to: github.com for `api.github.com`, the
/// API's own host for GitHub Enterprise (`https://HOST/api/v3`). Any other
/// host would be given a credential that is not its own.
pub fn token_goes_to(api_url: &str, remote: &str) -> bool {
    let Some(api) = api_host(api_url) else {
        return false;
    };
    let github = if api == "api.github.com" {
        "github.com".to_string()
    } else {
        api
    };
    secure_host(remote).is_some_and(|host| host == github)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_urls_name_their_repository_and_nothing_else_does() {
        let acme = Some(("acme".to_string(), "config".to_string()));
        for url in [
            "https://github.com/acme/config",
            "https://github.com/acme/config.git",
            "https://GitHub.com/acme/config/",
            "git@github.com:acme/config.git",
            "ssh://git@github.com/acme/config",
            "ssh://git@github.com/acme/config.git",
        ] {
            assert_eq!(repo_from_url(url), acme, "{url}");
        }
        for url in [
            "https://github.com/acme",
            "https://github.com/acme/config/pulls",
            "https://github.com/../config",
            "https://github.com/acme/..",
            "https://github.com/acme/con fig",
            "https://github.com/acme/config%2F..",
            "https://github.com.evil.example/acme/config",
            "https://evil.example/github.com/acme/config",
            "https://user@github.com/acme/config",
            "git@github.com:acme/config\n.git",
            "file:///srv/github.com/acme/config",
            "/srv/acme/config",
            "ssh://github.com/acme/config",
        ] {
            assert_eq!(repo_from_url(url), None, "{url:?}");
        }
    }

    #[test]
    fn the_token_goes_to_the_githubs_own_git_host_over_https_only() {
        let com = "https://api.github.com";
        let ghe = "https://GHE.example.com/api/v3";
        let local = "http://127.0.0.1:4000";
        for (api, remote) in [
            (com, "https://github.com/acme/config.git"),
            (com, "https://x-access-token@GitHub.com/acme/config"),
            (ghe, "https://ghe.example.com/acme/config.git"),
            (ghe, "https://ghe.example.com:8443/acme/config.git"),
            (local, "http://127.0.0.1:4001/config.git"),
        ] {
            assert!(token_goes_to(api, remote), "{api} {remote}");
        }
        for (api, remote) in [
            (com, "https://git.internal/acme/config.git"),
            (com, "http://github.com/acme/config.git"),
            (com, "https://github.com.evil.example/acme/config"),
            (com, "https://github.com@evil.example/acme/config"),
            (com, "ssh://git@github.com/acme/config"),
            (com, "git@github.com:acme/config.git"),
            (com, "/srv/acme/config"),
            (com, "https://api.github.com/acme/config"),
            (ghe, "https://github.com/acme/config.git"),
            (ghe, "https://evil.example/ghe.example.com/acme/config"),
            (local, "http://10.0.0.1/config.git"),
            (
                "http://ghe.example.com/api/v3",
                "http://ghe.example.com/acme/config",
            ),
            (
                "http://ghe.example.com/api/v3",
                "https://ghe.example.com/acme/config",
            ),
        ] {
            assert!(!token_goes_to(api, remote), "{api} {remote}");
        }
        assert_eq!(api_host("http://localhost:1").as_deref(), Some("localhost"));
        assert_eq!(api_host("http://ghe.example.com/api/v3"), None);
        assert_eq!(api_host("ftp://ghe.example.com"), None);
    }

    #[test]
    fn names_logins_and_segments() {
        assert!(is_login("octo-cat1") && !is_login("bot[bot]") && !is_login(""));
        assert!(!is_login(&"a".repeat(40)));
        assert!(is_sha(&"a".repeat(40)) && !is_sha(&"A".repeat(40)) && !is_sha("abc"));
        assert_eq!(segment("hoist").as_deref(), Some("hoist"));
        assert_eq!(segment("a b?#%").as_deref(), Some("a%20b%3F%23%25"));
        for bad in ["", ".", "..", "a\nb"] {
            assert_eq!(segment(bad), None, "{bad:?}");
        }
    }
}
