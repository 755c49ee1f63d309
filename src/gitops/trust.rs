//! Which version of `hoist.yaml` may decide, when policy signers are
//! configured (`HOIST_POLICY_SIGNERS`). The chain: take the changes to
//! `hoist.yaml` along the branch's first-parent history (a commit whose
//! `hoist.yaml` differs from its first parent's, created and deleted
//! included), oldest first. The first version is trusted iff the commit that
//! introduced it is signed by a policy signer, or the walk starts at the
//! pinned commit `HOIST_POLICY_TRUST_FROM` (whose version is trusted as it
//! is). Each later change is trusted iff its commit is signed by a signer.
//! The trusted version is the last one before the first untrusted change;
//! once a change is untrusted, later signed changes do not launder it: trust
//! resumes only when a later change brings `hoist.yaml` back to exactly the
//! trusted bytes (a revert), after which changes are judged again one by
//! one. The answer is cached per tip, and a walk stops at the newest commit
//! whose answer is cached, so each new tip costs only the commits since.

use super::sign::{Keyring, Verdict};
use crate::engine::ports::{Offender, PolicyTrust, RepoError, Sha};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The policy file whose history is judged.
pub const POLICY_FILE: &str = "hoist.yaml";

/// The longest first-parent walk; past it, pin a start with `HOIST_POLICY_TRUST_FROM`.
const MAX_WALK: usize = 200_000;

/// Answers remembered (tip -> chain) before the cache starts over.
const CACHE_MAX: usize = 1024;

/// One commit that changed `hoist.yaml`.
#[derive(Debug, Clone)]
pub struct Change {
    pub sha: Sha,
    /// The file's identity after the commit (a blob id, or a digest), `None`: absent.
    pub blob: Option<String>,
    /// Signed by a policy signer.
    pub signed: bool,
    pub author: String,
    pub subject: String,
}

/// The chain's state after some changes, oldest first: what [`PolicyTrust`]
/// is made of, and what the next change is judged against.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    /// The trusted version: a commit holding it, and the file's identity.
    trusted: Option<(Sha, Option<String>)>,
    offending: Option<Offender>,
}

impl Chain {
    /// The chain pinned at `sha`, whose `hoist.yaml` (identity `blob`) is trusted.
    pub fn pinned(sha: &str, blob: Option<String>) -> Chain {
        Chain {
            trusted: Some((sha.to_string(), blob)),
            offending: None,
        }
    }

    /// Judge the next change.
    pub fn step(&mut self, c: Change) {
        if self.offending.is_some() {
            // Only a return to exactly the trusted bytes mends the chain.
            if let Some((_, blob)) = &self.trusted
                && *blob == c.blob
            {
                self.offending = None;
            }
            return;
        }
        if c.signed {
            self.trusted = Some((c.sha, c.blob));
        } else {
            self.offending = Some(Offender {
                sha: c.sha,
                author: c.author,
                subject: c.subject,
            });
        }
    }

    pub fn answer(&self) -> PolicyTrust {
        PolicyTrust {
            trusted: self.trusted.as_ref().map(|(sha, _)| sha.clone()),
            offending: self.offending.clone(),
        }
    }
}

/// Does `pin` (a full commit id: a prefix could be matched by a ground id)
/// name `sha`?
pub fn names(pin: Option<&str>, sha: &str) -> bool {
    pin.is_some_and(|p| p.eq_ignore_ascii_case(sha))
}

/// Policy signers and the answers already worked out.
#[derive(Debug)]
pub struct Guard {
    keyring: Keyring,
    trust_from: Option<String>,
    cache: Mutex<HashMap<Sha, Chain>>,
}

fn err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> RepoError {
    RepoError::git(e)
}

fn blob_of(commit: &gix::Commit<'_>) -> Result<Option<String>, RepoError> {
    let tree = commit.tree().map_err(err)?;
    Ok(tree
        .lookup_entry_by_path(POLICY_FILE)
        .map_err(err)?
        .map(|e| format!("{:?} {}", e.mode().kind(), e.object_id())))
}

impl Guard {
    pub fn new(keyring: Keyring, trust_from: Option<String>) -> Guard {
        Guard {
            keyring,
            trust_from,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// How many keys may sign.
    pub fn signers(&self) -> usize {
        self.keyring.len()
    }

    fn change(&self, commit: &gix::Commit<'_>, blob: Option<String>) -> Result<Change, RepoError> {
        let time = commit.time().map_err(err)?.seconds;
        let verdict = match commit.signature().map_err(err)? {
            Some((sig, signed)) => {
                let payload = signed.to_bstring();
                let armored = std::str::from_utf8(sig.as_ref()).ok();
                match armored {
                    Some(a) => self.keyring.check(&payload, Some(a), time),
                    None => Verdict::UnknownKey,
                }
            }
            None => Verdict::Unsigned,
        };
        let author = commit.author().map_err(err)?;
        let message = commit.message_raw().map_err(err)?.to_string();
        Ok(Change {
            sha: commit.id.to_string(),
            blob,
            signed: matches!(verdict, Verdict::Good(_)),
            author: format!("{} <{}>", author.name, author.email),
            subject: message.lines().next().unwrap_or_default().to_string(),
        })
    }

    /// The trust at `tip` in `repo` (see the module docs).
    pub fn trust(&self, repo: &gix::Repository, tip: &str) -> Result<PolicyTrust, RepoError> {
        let cache = || self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(chain) = cache().get(tip) {
            return Ok(chain.answer());
        }
        let mut id = gix::ObjectId::from_hex(tip.as_bytes()).map_err(err)?;
        let mut commit = repo.find_commit(id).map_err(err)?;
        let mut blob = blob_of(&commit)?;
        let mut newer: Vec<Change> = Vec::new();
        let mut walked = 0;
        let mut chain = loop {
            let sha = id.to_string();
            if let Some(known) = cache().get(&sha) {
                break known.clone();
            }
            if names(self.trust_from.as_deref(), &sha) {
                break Chain::pinned(&sha, blob);
            }
            walked += 1;
            if walked > MAX_WALK {
                return Err(RepoError::git(format!(
                    "{POLICY_FILE}'s history is longer than {MAX_WALK} commits; \
                     pin a start with HOIST_POLICY_TRUST_FROM"
                )));
            }
            let parent = match commit.parent_ids().next() {
                Some(p) => Some(repo.find_commit(p.detach()).map_err(err)?),
                None => None,
            };
            let parent_blob = match &parent {
                Some(p) => blob_of(p)?,
                None => None,
            };
            // A merge changed it if it differs from any parent: `git merge -s
            // ours` onto an old signed commit must not pass as "unchanged".
            let mut changed = parent_blob != blob;
            for other in commit.parent_ids().skip(1) {
                let other = repo.find_commit(other.detach()).map_err(err)?;
                changed |= blob_of(&other)? != blob;
            }
            if changed {
                newer.push(self.change(&commit, blob)?);
            }
            let Some(p) = parent else {
                break Chain::default();
            };
            id = p.id;
            commit = p;
            blob = parent_blob;
        };
        for change in newer.into_iter().rev() {
            chain.step(change);
        }
        let answer = chain.answer();
        let mut cache = cache();
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(tip.to_string(), chain);
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(sha: &str, blob: &str, signed: bool) -> Change {
        Change {
            sha: sha.into(),
            blob: Some(blob.into()),
            signed,
            author: "someone <s@x>".into(),
            subject: format!("commit {sha}"),
        }
    }

    fn run(chain: &mut Chain, changes: &[(&str, &str, bool)]) -> PolicyTrust {
        for (sha, blob, signed) in changes {
            chain.step(change(sha, blob, *signed));
        }
        chain.answer()
    }

    #[test]
    fn the_first_unsigned_change_stops_the_chain_and_later_signatures_do_not_launder_it() {
        let t = run(
            &mut Chain::default(),
            &[
                ("a", "1", true),
                ("b", "2", true),
                ("c", "3", false),
                ("d", "4", true),
            ],
        );
        assert_eq!(t.trusted.as_deref(), Some("b"));
        assert_eq!(t.offending.unwrap().sha, "c");
    }

    #[test]
    fn a_revert_to_the_trusted_bytes_mends_it() {
        let t = run(
            &mut Chain::default(),
            &[
                ("a", "1", true),
                ("c", "3", false),
                ("r", "1", false),
                ("e", "5", true),
            ],
        );
        assert_eq!((t.trusted.as_deref(), t.offending), (Some("e"), None));
    }

    #[test]
    fn an_unsigned_first_version_trusts_nothing_unless_pinned() {
        let t = run(
            &mut Chain::default(),
            &[("a", "1", false), ("b", "2", true)],
        );
        assert_eq!(t.trusted, None);
        assert_eq!(t.offending.unwrap().sha, "a");
        let t = run(
            &mut Chain::pinned("a", Some("1".into())),
            &[("b", "2", true)],
        );
        assert_eq!((t.trusted.as_deref(), t.offending), (Some("b"), None));
    }

    #[test]
    fn a_pin_is_a_long_enough_prefix() {
        assert!(names(Some("ABCDEF1234"), "abcdef1234"));
        assert!(!names(Some("abcdef1"), "abcdef1234"), "no prefixes");
        assert!(!names(None, "abcdef1234"));
    }
}
