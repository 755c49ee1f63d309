//! The authorization matrix: every actor x environment x verb x channel of
//! the fixture policy, judged by `policy::decide` and compared with the rules
//! written out by hand below (who deploys where, which channels count, where
//! approvals and break-glass apply).

use hoist::policy::{self, Verb};

const POLICY: &str = include_str!("fixtures/policy.yaml");

const ACTORS: [&str; 5] = [
    "console:alice", // devs
    "console:carol", // sre
    "console:olga",  // oncall: in a group, but deploys nowhere but dev
    "slack:U0NOBODY",
    "console:bob", // devs
];
const ENVS: [&str; 3] = ["dev", "staging", "prod"];
const VERBS: [Verb; 4] = [Verb::Deploy, Verb::Promote, Verb::Rollback, Verb::Lock];
const CHANNELS: [Option<&str>; 4] = [
    None,
    Some("slack:C0DEPLOY"),
    Some("slack:C0INCIDENT"),
    Some("slack:C0RANDOM"),
];

/// What the fixture means, spelled out: (allowed, approvals needed, break-glass).
fn expected(actor: &str, env: &str, verb: Verb, channel: Option<&str>) -> (bool, u32, bool) {
    let devs_or_sre = ["console:alice", "console:bob", "console:carol"].contains(&actor);
    let deployer = env == "dev" || devs_or_sre;
    let channel_ok = env != "prod" || channel != Some("slack:C0RANDOM");
    if !deployer || !channel_ok {
        return (false, 0, false);
    }
    let incident = env == "prod" && channel == Some("slack:C0INCIDENT");
    let break_glass = incident && verb == Verb::Rollback;
    let approvals = match (env, verb) {
        (_, Verb::Lock) => 0,
        ("prod", _) if break_glass => 0,
        ("prod", _) => 2,
        _ => 0,
    };
    (true, approvals, break_glass)
}

#[test]
fn authorization_matrix_matches_the_fixture_policy() {
    let (policy, problems) = policy::load(POLICY);
    assert!(problems.is_empty(), "{problems:?}");
    let mut cases = 0;
    for actor in ACTORS {
        for env_name in ENVS {
            let env = policy.env(&env_name.parse().unwrap()).unwrap();
            for verb in VERBS {
                for channel in CHANNELS {
                    cases += 1;
                    let got = policy::decide(&policy, env, verb, actor, channel, &[]);
                    let (allowed, approvals, break_glass) =
                        expected(actor, env_name, verb, channel);
                    let case = format!("{actor} {verb:?} {env_name} from {channel:?}");
                    match got {
                        Ok(d) => {
                            assert!(allowed, "{case}: allowed, expected a refusal");
                            assert_eq!(d.approvals.count, approvals, "{case}");
                            assert_eq!(d.break_glass, break_glass, "{case}");
                        }
                        Err(r) => {
                            assert!(!allowed, "{case}: refused ({}), expected allowed", r.0);
                            let names_it = r.0.contains(actor) || r.0.contains("slack:C0RANDOM");
                            assert!(names_it, "{case}: the refusal says who or where: {}", r.0);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 5 * 3 * 4 * 4);
}

#[test]
fn votes_count_only_from_the_approvers_and_never_from_the_requester() {
    let (policy, _) = policy::load(POLICY);
    let prod = policy.env(&"prod".parse().unwrap()).unwrap();
    let rule = &prod.approvals;
    let vote = |requester: &str, voter: &str| {
        policy::may_vote(&policy, prod, rule, requester, voter, &[]).map_err(|r| r.0)
    };
    assert!(vote("console:alice", "console:carol").is_ok());
    assert!(
        vote("console:carol", "console:carol")
            .unwrap_err()
            .contains("never counts")
    );
    assert!(
        vote("console:alice", "console:bob")
            .unwrap_err()
            .contains("approvals come from sre")
    );
    assert!(vote("console:alice", "console:olga").is_err());
    // A platform group membership, resolved by the chat adapter, counts like a listed id.
    let staging = policy.env(&"staging".parse().unwrap()).unwrap();
    let with_group = policy::may_vote(
        &policy,
        staging,
        &staging.approvals,
        "console:alice",
        "slack:U7",
        &[],
    );
    assert!(
        with_group.is_err(),
        "approvals.from empty means the deployers"
    );
}
