//! History of a target: walk first parents from a tip, compare the target
//! file's blob id with the parent's (cheap: no blob is read unless the file
//! changed), and read the value only where the file changed. Trailers come
//! from the commit message; nothing is checked out. Anyone who can push can
//! write `Hoist-Approved-By: ...` into a message, so each revision says
//! whether its commit carries a signature by hoist's own key: only then are
//! its trailers hoist's words. A pull request's merge commit that is not
//! hoist's is read through hoist's signed commit it merged, when it brought
//! exactly that commit's file (see [`super::audit::merged`]: the merge's own
//! message is anyone's words, and squash or rebase merges stay not hoist's).

use super::edit;
use super::sign::Signer;
use crate::engine::ports::{RepoError, Revision};
use crate::policy::Target;

/// Stop looking after this many commits; a config repo's target changes are dense enough.
const MAX_WALK: usize = 20_000;

fn err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> RepoError {
    RepoError::git(e)
}

fn blob_at(commit: &gix::Commit<'_>, path: &str) -> Result<Option<gix::ObjectId>, RepoError> {
    let tree = commit.tree().map_err(err)?;
    Ok(tree
        .lookup_entry_by_path(path)
        .map_err(err)?
        .map(|e| e.object_id()))
}

fn value_of(
    repo: &gix::Repository,
    blob: Option<gix::ObjectId>,
    target: &Target,
) -> Option<String> {
    let data = repo.find_object(blob?).ok()?.detach().data;
    let text = String::from_utf8(data).ok()?;
    edit::read_value(&text, &target.locator).ok().flatten()
}

/// `Key: value` lines of the message's last paragraph.
pub fn trailers(message: &str) -> Vec<(String, String)> {
    let last = message.trim_end().rsplit("\n\n").next().unwrap_or_default();
    last.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(": ")?;
            let ok = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            ok.then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Does `commit` carry a valid signature by `signer` (hoist's key)?
fn signed_by(commit: &gix::Commit<'_>, signer: Option<&Signer>) -> bool {
    let Some(signer) = signer else { return false };
    match commit.signature() {
        Ok(Some((sig, signed))) => {
            let payload = signed.to_bstring();
            std::str::from_utf8(sig.as_ref()).is_ok_and(|armored| signer.verify(&payload, armored))
        }
        _ => false,
    }
}

/// Hoist's commit a PR's merge brought in: its id and trailers.
type Head = (String, Vec<(String, String)>);

/// Hoist's commit a PR's merge brought in, with its trailers: the second
/// parent of a two-parent `commit`, signed by `signer`, carrying hoist's
/// operation trailer, whose `file` is the merge's very blob `blob` and was
/// written on the merge's first parent's blob `base`.
fn hoist_head(
    repo: &gix::Repository,
    commit: &gix::Commit<'_>,
    file: &str,
    (base, blob): (Option<gix::ObjectId>, Option<gix::ObjectId>),
    signer: Option<&Signer>,
) -> Result<Option<Head>, RepoError> {
    let Some(head) = super::audit::merged::second_parent(repo, commit)? else {
        return Ok(None);
    };
    if blob_at(&head, file)? != blob || !signed_by(&head, signer) {
        return Ok(None);
    }
    let written_on = match head.parent_ids().next() {
        Some(p) => blob_at(&repo.find_commit(p.detach()).map_err(err)?, file)?,
        None => None,
    };
    if written_on != base {
        return Ok(None);
    }
    let words = trailers(&head.message_raw().map_err(err)?.to_string());
    let hoists = super::audit::merged::is_operation(&words);
    Ok(hoists.then(|| (head.id.to_string(), words)))
}

pub fn history(
    repo: &gix::Repository,
    tip: &str,
    target: &Target,
    limit: usize,
    signer: Option<&Signer>,
) -> Result<Vec<Revision>, RepoError> {
    let mut out = Vec::new();
    let mut id = gix::ObjectId::from_hex(tip.as_bytes()).map_err(err)?;
    let mut commit = repo.find_commit(id).map_err(err)?;
    let mut blob = blob_at(&commit, &target.file)?;
    let mut value = value_of(repo, blob, target);
    for _ in 0..MAX_WALK {
        if out.len() >= limit {
            break;
        }
        let parent = commit.parent_ids().next().map(|p| p.detach());
        let (parent_blob, parent_commit) = match parent {
            Some(p) => {
                let c = repo.find_commit(p).map_err(err)?;
                (blob_at(&c, &target.file)?, Some(c))
            }
            None => (None, None),
        };
        let parent_value = if parent_blob == blob {
            value.clone()
        } else {
            value_of(repo, parent_blob, target)
        };
        if parent_value != value {
            let message = commit.message_raw().map_err(err)?.to_string();
            let time = commit.time().map_err(err)?.seconds;
            let signed = signed_by(&commit, signer);
            let head = if signed {
                None
            } else {
                hoist_head(repo, &commit, &target.file, (parent_blob, blob), signer)?
            };
            let (trailers, signed_by_hoist, merged) = match head {
                Some((sha, words)) => (words, true, Some(sha)),
                None => (trailers(&message), signed, None),
            };
            out.push(Revision {
                sha: id.to_string(),
                time,
                subject: message.lines().next().unwrap_or_default().to_string(),
                trailers,
                signed_by_hoist,
                merged,
                value: value.clone(),
            });
        }
        let Some(pc) = parent_commit else { break };
        id = pc.id;
        commit = pc;
        blob = parent_blob;
        value = parent_value;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn trailers_come_from_the_last_paragraph() {
        let msg = "deploy api v1 to prod\n\nfix: login\n\nHoist-Operation: 7\nHoist-Approved-By: slack:U1\nHoist-Approved-By: slack:U2\n";
        let t = super::trailers(msg);
        assert_eq!(t.len(), 3);
        assert_eq!(t[2], ("Hoist-Approved-By".into(), "slack:U2".into()));
    }
}
