//! Expiry through the runner, over real git and the redb journal with a
//! clock the test moves: an hour before an environment expires its creator's
//! thread is told once (also across a restart), and once it has expired the
//! leader's chores destroy it with one signed commit requested by
//! `hoist:expiry`, said in the same thread.

use super::fixture;
use crate::support::git;
use crate::support::harness::{Harness, WEDNESDAY};

#[test]
fn an_environment_is_warned_about_once_then_destroyed_by_the_runner_when_it_expires() {
    let mut h = Harness::new(&fixture::policy_with(fixture::RULE), WEDNESDAY);
    let files: Vec<(String, String)> = fixture::template_files()
        .iter()
        .map(|(path, text, _, _)| (path.to_string(), text.to_string()))
        .collect();
    h.world.commit_files(&files, "template files");
    let reply = h.say(
        "console:alice",
        None,
        "env create pr-123 from staging for 2h",
    );
    assert!(reply.commit.is_some(), "{reply:?}");
    let created = h.world.tip();
    // One round of the leader's chores. Expiry runs at most every few
    // seconds of real time; a fresh engine (a restart) runs it at once.
    let round = |h: &mut Harness| {
        h.reopen();
        h.engine().chores(true);
    };
    let warned = |h: &Harness| {
        h.said
            .all()
            .iter()
            .filter(|m| m.contains("pr-123 expires at") && m.contains("`env extend pr-123 for 1d`"))
            .count()
    };

    // Two hours less 61 minutes: not yet within the hour.
    h.advance(59 * 60);
    round(&mut h);
    assert_eq!(warned(&h), 0, "{:?}", h.said.all());
    // Within the hour: told once, nothing written; a restarted hoist does
    // not tell again.
    h.advance(30 * 60);
    round(&mut h);
    assert_eq!(warned(&h), 1, "{:?}", h.said.all());
    round(&mut h);
    assert_eq!(warned(&h), 1, "told once: {:?}", h.said.all());
    assert_eq!(h.world.tip(), created, "a warning writes nothing");

    // Expired: destroyed in one signed commit, said in the creator's thread.
    h.advance(31 * 60);
    round(&mut h);
    let after = h.world.tip();
    assert_eq!(
        git(&h.world.origin, &["rev-parse", &format!("{after}^")]).trim(),
        created,
        "one commit on top of the creation"
    );
    assert!(
        h.world
            .verify(&after, &h.world.allowed_signers)
            .status
            .success(),
        "signed"
    );
    assert_eq!(
        git(&h.world.origin, &["log", "-1", "--format=%s", &after]).trim(),
        "env destroy pr-123"
    );
    assert_eq!(h.tip_trailers("Hoist-Requested-By"), ["hoist:expiry"]);
    let mut removed: Vec<String> = git(
        &h.world.origin,
        &["show", "--name-status", "--format=", &after],
    )
    .lines()
    .map(str::to_string)
    .collect();
    removed.sort();
    let mut expected: Vec<String> = fixture::template_files()
        .iter()
        .map(|(_, _, to, _)| format!("D\t{to}"))
        .collect();
    expected.push("M\thoist-environments.yaml".into());
    expected.sort();
    assert_eq!(removed, expected);
    assert!(
        fixture::recorded(&h.world.show(&after, "hoist-environments.yaml")).is_empty(),
        "the entry is gone"
    );
    assert!(
        h.said
            .all()
            .iter()
            .any(|m| m.contains("pr-123 expired and was destroyed")),
        "{:?}",
        h.said.all()
    );
    // Once: the next round finds nothing to destroy.
    round(&mut h);
    assert_eq!(h.world.tip(), after);
}
