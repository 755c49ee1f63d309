//! Checks on the paths of whole files a plan writes or removes, and of the
//! directories `list_files` lists, shared by the git repo and the in-memory
//! one so both refuse the same plans. git's tree editor would otherwise
//! replace a whole directory by a file written at its path, write a tree
//! holding a file and a directory of the same name (one git fsck rejects),
//! or remove a whole directory named as a file; and paths with empty, `.`,
//! `..` or `.git` components are not paths in a tree at all.

use crate::engine::ports::{Plan, RepoError};
use std::collections::HashSet;

/// What is at a path of the base tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    Nothing,
    File,
    Dir,
}

/// A path of a tree: `a/b/c`, no empty, `.`, `..` or `.git` component, no
/// NUL, no backslash.
pub(crate) fn check(path: &str) -> Result<(), RepoError> {
    let bad = path.is_empty()
        || path.contains(['\0', '\\'])
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == ".." || c.eq_ignore_ascii_case(".git"));
    if bad {
        return Err(RepoError::Target(format!(
            "`{}` is not a path in the repository",
            shown(path)
        )));
    }
    Ok(())
}

/// A path as messages show it: on one line, bounded.
fn shown(path: &str) -> String {
    crate::engine::one_line(path, 200)
}

/// Refuse a plan whose writes or removes would not do what they say: a
/// write at a directory or under a file (of the base, or of another write),
/// a remove of a directory, a path that is not one. `at` says what the base
/// tree holds at a path.
pub(crate) fn check_plan(
    plan: &Plan,
    mut at: impl FnMut(&str) -> Result<Found, RepoError>,
) -> Result<(), RepoError> {
    let written: HashSet<&str> = plan.writes.iter().map(|(p, _)| p.as_str()).collect();
    for (path, _) in &plan.writes {
        check(path)?;
        if at(path)? == Found::Dir {
            return Err(RepoError::Target(format!(
                "{} is a directory: hoist writes only files",
                shown(path)
            )));
        }
        for (i, _) in path.match_indices('/') {
            let parent = &path[..i];
            if written.contains(parent) || at(parent)? == Found::File {
                return Err(RepoError::Target(format!(
                    "{} cannot be written: {} is a file",
                    shown(path),
                    shown(parent)
                )));
            }
        }
    }
    for path in &plan.removes {
        check(path)?;
        if at(path)? == Found::Dir {
            return Err(RepoError::Target(format!(
                "{} is a directory: hoist removes only files",
                shown(path)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_are_not_tree_paths_are_refused() {
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "./a",
            "a/../b",
            "..",
            ".git/config",
            "a/.GIT/x",
            "a\0b",
            "a\\b",
        ] {
            assert!(matches!(check(bad), Err(RepoError::Target(_))), "{bad:?}");
        }
        for good in ["a", "a/b.yaml", ".github/x", "a/.gitignore", "a/..b", "é/ü"] {
            assert!(check(good).is_ok(), "{good:?}");
        }
        // Hostile text is flattened and bounded in the message.
        let Err(RepoError::Target(m)) = check(&format!("a//\n{}", "x".repeat(10_000))) else {
            panic!()
        };
        assert!(!m.contains('\n') && m.len() < 400, "{m}");
    }
}
