//! `environments_from.approvals` as for a deploy: a creation waits, bound to
//! its change, writes nothing until the quorum, and the approver is
//! recorded as a trailer on the one commit it then writes.

use super::fixture;
use crate::support::git;

#[test]
fn a_rule_asking_for_an_approval_writes_only_after_it() {
    let rule = fixture::RULE.replace("approvals: 0", "approvals: { count: 1, from: [sre] }");
    let w = fixture::world_with(&fixture::policy_with(&rule));
    let before = w.tip();
    let (code, json) = w.exec("console:alice", "env create pr-8 for 2h");
    assert_eq!(code, 0, "resting, not refused: {json}");
    assert!(json["commit"].is_null(), "{json}");
    assert_eq!(w.tip(), before, "nothing written before the approval");
    let id = json["operation"].as_u64().expect("an operation to approve");
    assert_eq!(json["state"], "awaiting-approval", "{json}");

    // The requester's own vote does not count; a dev is not in `from`.
    for (who, why) in [
        ("console:alice", "the requester's own approval never counts"),
        ("console:bob", "approvals come from sre"),
    ] {
        let (_, json) = w.exec(who, &format!("approve {id}"));
        assert_eq!(json["state"], "refused", "{who}: {json}");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{who}: {json}");
        assert_eq!(w.tip(), before, "{who}'s vote wrote nothing");
    }
    let (code, json) = w.exec("console:carol", &format!("approve {id}"));
    assert_eq!(code, 0, "{json}");
    let after = w.tip();
    assert_eq!(
        git(&w.origin, &["rev-parse", &format!("{after}^")]).trim(),
        before,
        "one commit"
    );
    assert_eq!(
        git(&w.origin, &["log", "-1", "--format=%s", &after]).trim(),
        "env create pr-8 from staging for 2h"
    );
    assert_eq!(w.tip_trailers("Hoist-Requested-By"), ["console:alice"]);
    assert_eq!(w.tip_trailers("Hoist-Approved-By"), ["console:carol"]);
    assert!(
        w.show(&after, "apps/api/overlays/pr-8/kustomization.yaml")
            .contains("namePrefix: pr-8-"),
        "the copy is written"
    );
}
