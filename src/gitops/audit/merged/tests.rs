//! PR merges in a real git repository: commits written with gix, hoist's
//! signed ones signed with a generated key the way `GitRepo::commit` signs.
//! One history holds a merge of hoist's commit (its own message forging an
//! approval), a merge whose file is not hoist's, a merge of an unsigned
//! commit, a merge of a commit signed by another key, a squash, and hoist's
//! first commit merged again to roll the file back; the
//! audit's walk, its rows and the `history` walk read it.

use crate::engine::ports::{Touch, Verdict};
use crate::gitops::audit::{report, walk};
use crate::gitops::history::history;
use crate::gitops::sign::Signer;
use crate::policy::Target;
use gix::ObjectId;

const FILE: &str = "apps/api/prod.yaml";

fn target() -> Target {
    let yaml = format!(
        "environments:\n  prod: {{ branch: main, deployers: [\"*\"] }}\napps:\n  api:\n    targets:\n      prod: {{ file: {FILE}, yaml_path: image.tag }}\n"
    );
    let (policy, problems) = crate::policy::load(&yaml);
    assert!(problems.is_empty(), "{problems:?}");
    policy.apps[0].targets.values().next().unwrap().clone()
}

struct Repo {
    _dir: tempfile::TempDir,
    repo: gix::Repository,
    time: std::cell::Cell<i64>,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        Repo {
            _dir: dir,
            repo,
            time: std::cell::Cell::new(1_795_600_800),
        }
    }

    /// A commit of `files` (path, text) with `parents`, signed by `key`.
    fn commit(
        &self,
        parents: &[ObjectId],
        files: &[(&str, &str)],
        message: &str,
        key: Option<&Signer>,
    ) -> ObjectId {
        let empty = self.repo.empty_tree().id;
        let mut editor = self.repo.edit_tree(empty).unwrap();
        for (path, text) in files {
            let blob = self.repo.write_blob(text.as_bytes()).unwrap().detach();
            editor
                .upsert(*path, gix::object::tree::EntryKind::Blob, blob)
                .unwrap();
        }
        let tree = editor.write().unwrap().detach();
        self.time.set(self.time.get() + 60);
        let who = gix::actor::Signature {
            name: "someone".into(),
            email: "someone@example.com".into(),
            time: gix::date::Time {
                seconds: self.time.get(),
                offset: 0,
            },
        };
        let mut commit = gix::objs::Commit {
            tree,
            parents: parents.iter().copied().collect(),
            author: who.clone(),
            committer: who,
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        };
        if let Some(key) = key {
            let mut payload = Vec::new();
            gix::objs::WriteTo::write_to(&commit, &mut payload).unwrap();
            let signature = key.sign(&payload).unwrap();
            commit
                .extra_headers
                .push(("gpgsig".into(), signature.as_str().into()));
        }
        self.repo.write_object(&commit).unwrap().detach()
    }
}

fn prod(tag: &str, replicas: u8) -> String {
    format!("image:\n  tag: {tag}\nreplicas: {replicas}\n")
}

const HOIST_V2: &str = "deploy api v2 to prod\n\nHoist-Operation: 7\n\
                        Hoist-Requested-By: slack:U1\nHoist-Chat: https://chat/7\n";
const MERGE_7: &str = "Merge pull request #7 from acme/hoist/7\n\ndeploy api v2 to prod\n\n\
                       Hoist-Operation: 7\nHoist-Requested-By: slack:U1\n\
                       Hoist-Approved-By: slack:EVIL\n";

/// The history, oldest first, and the ids a test names.
struct History {
    repo: Repo,
    key: Signer,
    tip: ObjectId,
    /// Hoist's commit merged with exactly its file (v2).
    h_good: ObjectId,
    m_good: ObjectId,
    /// The merge whose file is not hoist's (v3, replicas changed too).
    m_mixed: ObjectId,
    /// The merge of an unsigned commit with forged trailers (v4).
    m_unsigned: ObjectId,
    /// The merge of a commit signed by another key (v5).
    m_stranger: ObjectId,
    /// A squash of a hoist change: hoist's words, nobody's signature (v6).
    squash: ObjectId,
    /// The old hoist commit merged again onto v6: back to v2 in its words.
    m_replay: ObjectId,
}

fn build() -> History {
    let repo = Repo::new();
    let key = Signer::generate().unwrap();
    let stranger = Signer::generate().unwrap();
    let v1 = prod("v1", 1);
    let seed = repo.commit(&[], &[(FILE, &v1), ("other.yaml", "a: 1\n")], "seed", None);
    // Hoist's PR branch, and the base moving meanwhile.
    let h_good = repo.commit(
        &[seed],
        &[(FILE, &prod("v2", 1)), ("other.yaml", "a: 1\n")],
        HOIST_V2,
        Some(&key),
    );
    let base = repo.commit(
        &[seed],
        &[(FILE, &v1), ("other.yaml", "a: 2\n")],
        "other",
        None,
    );
    let m_good = repo.commit(
        &[base, h_good],
        &[(FILE, &prod("v2", 1)), ("other.yaml", "a: 2\n")],
        MERGE_7,
        None,
    );
    // Hoist's v3, merged with another change to the same file.
    let h_mixed = repo.commit(
        &[m_good],
        &[(FILE, &prod("v3", 1)), ("other.yaml", "a: 2\n")],
        "deploy api v3 to prod\n\nHoist-Operation: 8\nHoist-Requested-By: slack:U1\n",
        Some(&key),
    );
    let m_mixed = repo.commit(
        &[m_good, h_mixed],
        &[(FILE, &prod("v3", 5)), ("other.yaml", "a: 2\n")],
        "Merge pull request #8 from acme/hoist/8\n\nHoist-Operation: 8\n",
        None,
    );
    let forged = "deploy api v4 to prod\n\nHoist-Operation: 9\nHoist-Approved-By: slack:U2\n";
    let files = [(FILE, prod("v4", 5)), ("other.yaml", "a: 2\n".into())];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let h_unsigned = repo.commit(&[m_mixed], &files, forged, None);
    let m_unsigned = repo.commit(
        &[m_mixed, h_unsigned],
        &files,
        "Merge pull request #9",
        None,
    );
    let v5 = prod("v5", 5);
    let files = [(FILE, v5.as_str()), ("other.yaml", "a: 2\n")];
    let h_stranger = repo.commit(
        &[m_unsigned],
        &files,
        &forged.replace("v4", "v5"),
        Some(&stranger),
    );
    let m_stranger = repo.commit(
        &[m_unsigned, h_stranger],
        &files,
        "Merge pull request #10",
        None,
    );
    let v6 = prod("v6", 5);
    let files = [(FILE, v6.as_str()), ("other.yaml", "a: 2\n")];
    let squash = repo.commit(&[m_stranger], &files, &HOIST_V2.replace("v2", "v6"), None);
    let h_good_files = [(FILE, prod("v2", 1)), ("other.yaml", "a: 2\n".into())];
    let files: Vec<(&str, &str)> = h_good_files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let m_replay = repo.commit(&[squash, h_good], &files, MERGE_7, None);
    History {
        repo,
        key,
        tip: m_replay,
        h_good,
        m_good,
        m_mixed,
        m_unsigned,
        m_stranger,
        squash,
        m_replay,
    }
}

fn audit(h: &History) -> Vec<Touch> {
    let judge = |payload: &[u8], armored: Option<&str>, _: i64| match armored {
        Some(a) if h.key.verify(payload, a) => (Verdict::Good, Some("hoist".to_string())),
        Some(_) => (Verdict::UnknownKey, None),
        None => (Verdict::Unsigned, None),
    };
    walk(&h.repo.repo, &h.tip.to_string(), &[target()], None, &judge).unwrap()
}

fn row(touches: &[Touch], sha: ObjectId) -> &Touch {
    let sha = sha.to_string();
    touches
        .iter()
        .find(|t| t.sha == sha)
        .unwrap_or_else(|| panic!("no row for {sha}: {touches:#?}"))
}

#[test]
fn a_merge_that_brought_exactly_hoists_signed_commit_is_via_hoist_with_its_trailers() {
    let h = build();
    let touches = audit(&h);
    let t = row(&touches, h.m_good);
    assert!(t.via_hoist(), "{t:#?}");
    assert_eq!(
        (t.verdict, t.signer.as_deref()),
        (Verdict::Good, Some("hoist"))
    );
    assert_eq!(t.merged, Some(h.h_good.to_string()));
    assert_eq!(
        (t.old.as_deref(), t.new.as_deref()),
        (Some("v1"), Some("v2"))
    );
    assert_eq!(t.subject, "Merge pull request #7 from acme/hoist/7");
    // H's words, not the merge's: the forged approval is nowhere.
    assert_eq!(
        t.trailer("Hoist-Chat").collect::<Vec<_>>(),
        ["https://chat/7"]
    );
    assert_eq!(t.trailer("Hoist-Approved-By").count(), 0, "{t:#?}");
    let names = [("prod".to_string(), "api".to_string())];
    let rows = report::rows(std::slice::from_ref(t), &names);
    assert_eq!(rows[0].via, "hoist");
    assert_eq!(rows[0].merged, Some(h.h_good.to_string()));
    assert!(rows[0].approved_by.is_empty());
    let note = rows[0].note.as_deref().unwrap();
    assert!(
        note.contains("merged via PR") && note.contains("approvals unknown from git"),
        "{note}"
    );
    let csv = report::csv(&rows);
    assert!(
        csv.lines().next().unwrap().ends_with(",note,merged"),
        "{csv}"
    );
    assert!(!csv.contains("EVIL") && !report::json(&rows).contains("EVIL"));
    // The base's own change (another file) is no row of this target.
    let merge = h.m_good.to_string();
    assert_eq!(touches.iter().filter(|t| t.sha == merge).count(), 1);
}

#[test]
fn merges_of_other_files_unsigned_or_strangers_commits_and_squashes_are_out_of_band() {
    let h = build();
    let touches = audit(&h);
    for (sha, new) in [
        (h.m_mixed, "v3"),
        (h.m_unsigned, "v4"),
        (h.m_stranger, "v5"),
        (h.squash, "v6"),
        (h.m_replay, "v2"),
    ] {
        let t = row(&touches, sha);
        assert!(!t.via_hoist(), "{t:#?}");
        assert_eq!((t.merged.as_ref(), t.new.as_deref()), (None, Some(new)));
        assert_eq!(
            t.verdict,
            Verdict::Unsigned,
            "the merge's own verdict: {t:#?}"
        );
    }
    // Every change of the target has one row: seed, five merges and the squash.
    assert_eq!(touches.len(), 7, "{touches:#?}");
    let names = [("prod".to_string(), "api".to_string())];
    let rows = report::rows(&touches, &names);
    assert_eq!(rows.iter().filter(|r| r.via == "hoist").count(), 1);
    assert!(rows.iter().all(|r| r.via == "hoist" || r.merged.is_none()));
}

#[test]
fn history_reads_a_hoist_merge_through_its_signed_commit_and_nothing_else() {
    let h = build();
    let target = target();
    let revs = history(&h.repo.repo, &h.tip.to_string(), &target, 20, Some(&h.key)).unwrap();
    let seen: Vec<(String, Option<&str>, bool, bool)> = revs
        .iter()
        .map(|r| {
            (
                r.sha.clone(),
                r.value.as_deref(),
                r.signed_by_hoist,
                r.merged.is_some(),
            )
        })
        .collect();
    let s = |id: ObjectId| id.to_string();
    assert_eq!(
        seen[..6],
        [
            (s(h.m_replay), Some("v2"), false, false),
            (s(h.squash), Some("v6"), false, false),
            (s(h.m_stranger), Some("v5"), false, false),
            (s(h.m_unsigned), Some("v4"), false, false),
            (s(h.m_mixed), Some("v3"), false, false),
            (s(h.m_good), Some("v2"), true, true),
        ]
    );
    let good = &revs[5];
    assert_eq!(good.merged, Some(h.h_good.to_string()));
    assert!(
        good.trailers.iter().all(|(_, v)| v != "slack:EVIL"),
        "{good:#?}"
    );
    assert!(
        good.trailers
            .contains(&("Hoist-Operation".into(), "7".into()))
    );
    // Without hoist's key nothing is hoist's.
    let revs = history(&h.repo.repo, &h.tip.to_string(), &target, 20, None).unwrap();
    assert!(
        revs.iter()
            .all(|r| !r.signed_by_hoist && r.merged.is_none())
    );
}
