//! The policy's answers, as pure functions of (policy, environment, actor,
//! channel, verb): may this happen here, does it need approvals and from
//! whom, is it the incident (break-glass) path? And for a vote: does this
//! person's approval count? Locks and freezes are state and time, judged by
//! the engine; everything here is decidable from `hoist.yaml` alone.

use super::{Approvals, Environment, Policy, Principal};

/// What is being asked of an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Deploy,
    Promote,
    Rollback,
    /// `lock` and `unlock`.
    Lock,
}

/// Why a request was refused by policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// A request the policy lets through, and on which terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Approvals needed before anything is written (count 0: none).
    pub approvals: Approvals,
    /// A rollback from an incident channel: passes locks and freezes, uses
    /// `break_glass` approvals, and is recorded with `Hoist-Break-Glass`.
    pub break_glass: bool,
}

fn list(principals: &[Principal]) -> String {
    if principals.is_empty() {
        return "nobody is listed".into();
    }
    principals
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// May `actor` do `verb` in `env` from `channel`? `channel` is `None` for
/// requests that do not come from chat (`hoist exec` without `--channel`),
/// to which channel rules do not apply.
pub fn decide(
    policy: &Policy,
    env: &Environment,
    verb: Verb,
    actor: &str,
    channel: Option<&str>,
    memberships: &[String],
) -> Result<Decision, Refusal> {
    let deployer = policy.includes(&env.deployers, actor, memberships);
    let incident = channel.is_some_and(|c| env.incident_channels.iter().any(|x| x == c));
    let allowed = match verb {
        // Whoever may approve here may also hold the environment still.
        Verb::Lock => deployer || policy.includes(&approvers(env), actor, memberships),
        _ => deployer,
    };
    if !allowed {
        let what = match verb {
            Verb::Lock => "lock or unlock",
            Verb::Deploy | Verb::Promote | Verb::Rollback => "deploy to",
        };
        return Err(Refusal(format!(
            "{actor} may not {what} {}: deployers are {}",
            env.name,
            list(&env.deployers)
        )));
    }
    if let Some(ch) = channel
        && !env.channels.is_empty()
        && !env.channels.iter().any(|c| c == ch)
        && !incident
    {
        return Err(Refusal(format!(
            "requests for {} are accepted in {}, not in {ch}",
            env.name,
            env.channels.join(", ")
        )));
    }
    let break_glass = incident && verb == Verb::Rollback;
    let approvals = match (&env.break_glass, break_glass) {
        (Some(bg), true) => bg.clone(),
        _ => env.approvals.clone(),
    };
    Ok(Decision {
        approvals: match verb {
            Verb::Lock => Approvals::default(),
            _ => approvals,
        },
        break_glass,
    })
}

/// May `actor` lift a lock held by `holder` in `env`? The holder may, and so
/// may the people who approve there (`approvals.from`; its deployers when
/// that is empty). Anyone else is told who holds it.
pub fn may_unlock(
    policy: &Policy,
    env: &Environment,
    holder: &str,
    actor: &str,
    memberships: &[String],
) -> Result<(), Refusal> {
    let from = approvers(env);
    if actor == holder || policy.includes(&from, actor, memberships) {
        return Ok(());
    }
    Err(Refusal(format!(
        "only {holder} (who holds the lock) or someone who may approve in {} ({}) may unlock it",
        env.name,
        list(&from)
    )))
}

/// Who may approve in `env` when `approvals.from` is empty: its deployers.
fn approvers(env: &Environment) -> Vec<Principal> {
    if env.approvals.from.is_empty() {
        env.deployers.clone()
    } else {
        env.approvals.from.clone()
    }
}

/// Does `voter`'s vote on `requester`'s operation count under `rule`? The
/// requester never counts; only people in `from` (or, when it is empty, the
/// environment's deployers) do.
pub fn may_vote(
    policy: &Policy,
    env: &Environment,
    rule: &Approvals,
    requester: &str,
    voter: &str,
    memberships: &[String],
) -> Result<(), Refusal> {
    if voter == requester {
        return Err(Refusal(format!(
            "{voter} asked for this change; the requester's own approval never counts"
        )));
    }
    if policy.same_person(voter, requester) {
        return Err(Refusal(format!(
            "{voter} and {requester} are one person ({} in hoist.yaml's people); the requester's own approval never counts",
            policy.person(voter).trim_start_matches("person:")
        )));
    }
    let from = if rule.from.is_empty() {
        env.deployers.clone()
    } else {
        rule.from.clone()
    };
    if !policy.includes(&from, voter, memberships) {
        return Err(Refusal(format!(
            "{voter} may not approve changes to {}: approvals come from {}",
            env.name,
            list(&from)
        )));
    }
    Ok(())
}
