//! Which files a target may name. A target is a file hoist will rewrite with
//! its own signature on whatever a deployer types, so it must never be the
//! policy itself (a deploy that rewrites `environments.prod.approvals` would
//! be a policy change nobody reviewed), git's own machinery (`.git/`,
//! `.gitmodules`, `.gitattributes`, which change what a checkout contains),
//! CI definitions (`.github/`), or a path that could mean a different file
//! to git, to a checkout on another operating system, or to `hoist check`.
//! Only plain, normalised, relative paths are accepted; the loader reports
//! anything else at the `file:` value, so `check` and the engine refuse it
//! alike. Nor may it be `hoist-environments.yaml`, the registry of
//! environments made from templates, which only `env` commands write.
//! Branch names, GitHub logins and teams, and pull-request labels are
//! checked here too.

/// The longest target path accepted, in bytes: far beyond any real layout,
/// and well under the 4096 of Linux's `PATH_MAX`.
pub const MAX_PATH: usize = 1024;

/// Why `branch` may not name an environment's branch, or `None` when it may:
/// git's rules for a branch name (`git check-ref-format --branch`), and
/// never `HEAD` or a name starting with `-` (it must never read as an option).
pub fn branch_problem(branch: &str) -> Option<String> {
    let b = branch;
    let ok = !b.is_empty()
        && b.len() <= 255
        && !b.starts_with(['-', '/', '.'])
        && !b.ends_with(['/', '.'])
        && !b.ends_with(".lock")
        && !b.contains("..")
        && !b.contains("//")
        && !b.contains("@{")
        && !b.contains("/.")
        && b != "HEAD"
        && b != "@"
        && !b
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c));
    (!ok).then(|| {
        format!(
            "branch `{}` is not a branch name git accepts (no `..`, `~^:?*[\\`, spaces, \
             leading `-` or `.`, `HEAD`)",
            b.escape_debug()
        )
    })
}

/// Why `file` may not be a target, or `None` when it may.
pub fn target_file_problem(file: &str) -> Option<String> {
    let refuse = |why: &str| Some(format!("file `{}`: {why}", file.escape_debug()));
    if file.is_empty() {
        return refuse("is empty");
    }
    if file.len() > MAX_PATH {
        return refuse(&format!("is longer than {MAX_PATH} bytes"));
    }
    if let Some(c) = file.chars().find(|c| c.is_control() || invisible(*c)) {
        return refuse(&format!(
            "contains the invisible character U+{:04X}",
            u32::from(c)
        ));
    }
    if file.contains('\\') {
        return refuse("contains `\\`; paths in a repository use `/`");
    }
    if file.starts_with('/') {
        return refuse("is absolute; name a file relative to the repository's root");
    }
    if file.ends_with('/') {
        return refuse("ends with `/`; name a file, not a directory");
    }
    for segment in file.split('/') {
        let lower = segment.to_lowercase();
        let why = match segment {
            "" => "has an empty segment (`//`)",
            "." | ".." => "has a `.` or `..` segment; write the path without them",
            _ if lower.starts_with(".git") || lower == "git~1" => {
                "is inside git's own files or CI settings (`.git*`, `.github/`)"
            }
            _ if segment.ends_with(['.', ' ']) => {
                "has a name ending in `.` or a space (Windows drops them, so it could name another file)"
            }
            _ => continue,
        };
        return refuse(why);
    }
    // Compared without case: on a case-insensitive checkout `HOIST.yaml` is the policy.
    if file.to_lowercase() == "hoist.yaml" {
        return refuse("is the policy itself; a deploy may never rewrite hoist.yaml");
    }
    if file.to_lowercase() == crate::envs::REGISTRY_FILE {
        return refuse(
            "is the registry of environments made from templates; only `env create`, \
             `env destroy` and `env extend` write hoist-environments.yaml",
        );
    }
    None
}

/// A GitHub login: 1-39 ASCII letters, digits and single inner hyphens.
pub fn login_ok(login: &str) -> bool {
    (1..=39).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !login.starts_with('-')
        && !login.ends_with('-')
        && !login.contains("--")
}

/// A GitHub team: `org/slug`, the org a login, the slug letters, digits,
/// `-` and `_`.
pub(super) fn team_ok(team: &str) -> bool {
    team.split_once('/').is_some_and(|(org, slug)| {
        login_ok(org)
            && (1..=100).contains(&slug.len())
            && slug
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Why a pull-request label cannot be used: GitHub allows 50 characters;
/// hoist also keeps labels to visible, single-line text.
pub(super) fn label_problem(label: &str) -> Option<&'static str> {
    if label.is_empty() || label.chars().count() > 50 {
        return Some("a label is 1 to 50 characters");
    }
    if label.chars().any(|c| c.is_control() || invisible(c)) {
        return Some("a label may not hold control or invisible characters");
    }
    None
}

/// Characters that render as nothing and that some filesystems (HFS+) drop
/// from names, so `.g\u{200C}it` would be `.git` there.
pub(super) fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod branch_tests {
    use super::branch_problem;

    #[test]
    fn branches_follow_gits_rules_and_never_read_as_options() {
        for ok in ["main", "release/1.2", "env-prod", "feature_x"] {
            assert_eq!(branch_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "HEAD",
            "--upload-pack=touch /tmp/x",
            "-x",
            "main:refs/heads/x",
            "a..b",
            "a b",
            "a~1",
            "a^",
            "x.lock",
            "/main",
            "main/",
            ".hidden",
            "a//b",
            "a@{1}",
            "a\nb",
        ] {
            assert!(branch_problem(bad).is_some(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths_are_targets() {
        for ok in [
            "apps/api/overlays/prod/kustomization.yaml",
            "values.yaml",
            "hoist.yaml.d/x.yaml",
            "apps/hoist.yaml",
            "git/x.yaml",
            "apps/.config/x.yaml",
        ] {
            assert_eq!(target_file_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn the_policy_git_ci_and_unnormalised_paths_are_not() {
        for (bad, why) in [
            ("hoist.yaml", "the policy itself"),
            ("HOIST.YAML", "the policy itself"),
            ("Hoist.Yaml", "the policy itself"),
            ("hoist-environments.yaml", "the registry of environments"),
            ("Hoist-Environments.YAML", "the registry of environments"),
            ("./hoist.yaml", "`.` or `..`"),
            (".git/config", "git's own files"),
            (".GIT/hooks/pre-commit", "git's own files"),
            (".gitmodules", "git's own files"),
            ("apps/.gitattributes", "git's own files"),
            (".github/workflows/ci.yaml", "git's own files"),
            ("GIT~1/config", "git's own files"),
            (".git./config", "git's own files"),
            ("../../etc/passwd", "`.` or `..`"),
            ("apps/../hoist.yaml", "`.` or `..`"),
            ("apps//x.yaml", "empty segment"),
            ("/etc/passwd", "absolute"),
            ("apps\\x.yaml", "`\\`"),
            ("apps/", "ends with `/`"),
            ("", "is empty"),
            ("apps/x.yaml\n", "invisible character U+000A"),
            ("apps/\u{7f}x", "U+007F"),
            (".g\u{200c}it/config", "U+200C"),
            ("hoist.yaml.", "ending in `.`"),
            ("hoist.yaml ", "ending in `.` or a space"),
        ] {
            let problem = target_file_problem(bad).unwrap_or_default();
            assert!(problem.contains(why), "{bad:?}: {problem}");
        }
        assert!(target_file_problem(&"a/".repeat(600)).is_some());
    }
}
