//! What hoist says about an operation, as platform-neutral [`Message`]s:
//! the live message (where the operation is, the engine's latest report, who
//! asked and who approved, buttons while it waits for votes) and the
//! milestone replies that need someone's attention, each posted once per
//! operation and kind: approval needed (mentioning who may approve, with the
//! reactions that vote), denied, failed, degraded, timed out, expired (each
//! mentioning the requester). The engine's words are escaped with the
//! platform's rules; only the mentions built here are markup.

use super::platform::{self, Message, Platform};
use super::votes::Reactions;
use crate::engine::{Operation, State, render};
use crate::policy::{Policy, Principal};

/// The kind of milestone reply `op`'s state calls for (`approval`,
/// `rejected`, `failed`, `degraded`, `timed-out`, `expired`), if any.
pub fn milestone_kind(op: &Operation) -> Option<&'static str> {
    Some(match &op.state {
        State::AwaitingApproval { have: 0, .. } => "approval",
        State::Rejected { .. } => "rejected",
        State::Failed { .. } => "failed",
        State::Degraded { .. } => "degraded",
        State::TimedOut => "timed-out",
        State::Expired => "expired",
        _ => return None,
    })
}

/// The milestone reply of `kind` for `op`. `approvers` are the principals
/// who may approve it ([`who_may_approve`]); those of this platform are
/// mentioned in an approval request.
pub fn milestone<P: Platform>(
    p: &P,
    op: &Operation,
    kind: &str,
    approvers: &[String],
    reactions: &Reactions,
) -> Message {
    let who = platform::actor(p, &op.actor);
    if kind != "approval" {
        let summary = p.escape(&render::summary_line(op));
        return Message::text(format!("{who} {summary}"));
    }
    let needed = match op.state {
        State::AwaitingApproval { needed, .. } => needed,
        _ => op.needed,
    };
    let mentioned = mentions(p, approvers);
    let list = if mentioned.is_empty() {
        String::new()
    } else {
        format!(": {}", mentioned.join(", "))
    };
    let text = format!(
        "Approval needed for #{id} {summary} ({needed} of people allowed to approve, \
         not {who}){list}. {hint}",
        id = op.id,
        summary = p.escape(&op.summary),
        hint = hint(p, reactions),
    );
    Message {
        vote_on: Some(op.id),
        ..Message::text(text)
    }
}

/// How to vote: the first reaction of each set, and the buttons.
fn hint<P: Platform>(p: &P, reactions: &Reactions) -> String {
    let approve = reactions.approve.first().map(|n| p.emoji(n));
    let deny = reactions.deny.first().map(|n| p.emoji(n));
    match (approve, deny) {
        (Some(a), Some(d)) => format!("React {a} to approve or {d} to deny, or use the buttons."),
        (Some(a), None) => format!("React {a} to approve, or use the buttons."),
        (None, Some(d)) => format!("React {d} to deny, or use the buttons."),
        (None, None) => "Use the buttons.".to_string(),
    }
}

/// Mentions of the principals that are this platform's people or groups;
/// anyone else cannot be mentioned here and is left out.
pub fn mentions<P: Platform>(p: &P, principals: &[String]) -> Vec<String> {
    principals
        .iter()
        .filter_map(|s| {
            if let Some(id) = platform::own(p.group_kind(), s) {
                Some(p.mention_group(id))
            } else {
                platform::own(p.name(), s).map(|id| p.mention(id))
            }
        })
        .collect()
}

/// The people and platform groups whose vote on `op` may count under
/// `policy` (its environment's approvers, or deployers when it names none;
/// the incident rule on the incident path), the requester left out, each
/// once, in the policy's order. Empty when the environment is gone.
pub fn who_may_approve(policy: &Policy, op: &Operation) -> Vec<String> {
    let Some(env) = policy
        .environments
        .iter()
        .find(|e| e.name.as_str() == op.env)
    else {
        return Vec::new();
    };
    let rule = match (&op.break_glass, &env.break_glass) {
        (Some(_), Some(incident)) => incident,
        _ => &env.approvals,
    };
    let from = if rule.from.is_empty() {
        &env.deployers
    } else {
        &rule.from
    };
    let mut out: Vec<String> = Vec::new();
    let mut add = |p: &Principal| {
        let id = match p {
            Principal::Actor(a) if *a != op.actor => a,
            Principal::PlatformGroup(g) => g,
            _ => return,
        };
        if !out.contains(id) {
            out.push(id.clone());
        }
    };
    for p in from {
        match p {
            // Groups hold people, never other groups (`check` says so).
            Principal::Group(name, _) => policy
                .groups
                .get(name)
                .into_iter()
                .flatten()
                .for_each(&mut add),
            other => add(other),
        }
    }
    out
}

/// The live message: a header with where the operation is, the engine's
/// latest report `text`, who asked and who approved; buttons while it
/// waits for approvals.
pub fn live<P: Platform>(p: &P, op: &Operation, text: &str) -> Message {
    let header = p.escape(&render::summary_line(op));
    let text = p.escape(text);
    let mut context = format!("requested by {}", platform::actor(p, &op.actor));
    if !op.approvers.is_empty() {
        let names: Vec<String> = op.approvers.iter().map(|a| platform::actor(p, a)).collect();
        context.push_str(&format!(" · approved by {}", names.join(", ")));
    }
    let body = if text.trim() == header {
        String::new()
    } else {
        text
    };
    Message {
        header: Some(header),
        body,
        context: Some(context),
        vote_on: matches!(op.state, State::AwaitingApproval { .. }).then_some(op.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::testing::Recorder;
    use std::time::Duration;

    /// An operation as the journal holds it.
    pub(crate) fn op(id: u64, actor: &str, state: State) -> Operation {
        let json = serde_json::json!({
            "id": id, "verb": "deploy", "summary": "deploy api v2 to prod <!here>",
            "actor": actor, "channel": "discord:C1", "chat": "test://C1/m0", "env": "prod",
            "reason": null, "ticket": null, "created_at": 100, "state": state,
            "branch": "main", "base": null, "changes": [], "commit": null, "needed": 2,
            "approvers": [], "expires_at": null, "break_glass": null, "transitions": [],
        });
        serde_json::from_value(json).expect("an operation in the journal's shape")
    }

    const POLICY: &str = "\
groups:
  sre: [discord:U1, discord:U2, discord-role:G1, slack:U9]
environments:
  prod:
    deployers: [sre]
    approvals: { count: 2, from: [sre, discord:U3] }
  dev:
    deployers: ['*', discord:U4]
apps:
  api:
    targets:
      prod: { file: p.yaml, kustomize_image: x }
      dev: { file: d.yaml, kustomize_image: x }
";

    fn policy() -> Policy {
        let (policy, problems) = crate::policy::load(POLICY);
        assert!(problems.is_empty(), "{problems:?}");
        policy
    }

    #[test]
    fn an_approval_request_mentions_who_may_approve_but_not_the_requester() {
        let p = Recorder::new(Duration::ZERO);
        let waiting = op(
            3,
            "discord:U1",
            State::AwaitingApproval { needed: 2, have: 0 },
        );
        let approvers = who_may_approve(&policy(), &waiting);
        assert_eq!(
            approvers,
            ["discord:U2", "discord-role:G1", "slack:U9", "discord:U3"]
        );
        let reactions = Reactions::new(&["white_check_mark"], &["x"]);
        let m = milestone(&p, &waiting, "approval", &approvers, &reactions);
        assert_eq!(
            m.body,
            "Approval needed for #3 deploy api v2 to prod (lt)!here(gt) (2 of people allowed \
             to approve, not {@U1}): {@U2}, {group:G1}, {@U3}. React :white_check_mark: to \
             approve or :x: to deny, or use the buttons."
        );
        assert_eq!(m.vote_on, Some(3), "with the buttons");
        // Deployers stand in for approvers; `*` cannot be mentioned.
        let dev = Operation {
            env: "dev".into(),
            ..waiting.clone()
        };
        assert_eq!(who_may_approve(&policy(), &dev), ["discord:U4"]);
        let gone = Operation {
            env: "qa".into(),
            ..waiting
        };
        assert!(who_may_approve(&policy(), &gone).is_empty());
    }

    #[test]
    fn other_milestones_mention_the_requester_and_carry_no_buttons() {
        let p = Recorder::new(Duration::ZERO);
        let failed = op(
            4,
            "discord:U1",
            State::Failed {
                message: "<boom>".into(),
            },
        );
        assert_eq!(milestone_kind(&failed), Some("failed"));
        let m = milestone(&p, &failed, "failed", &[], &Reactions::default());
        assert_eq!(
            m.body,
            "{@U1} #4 deploy api v2 to prod (lt)!here(gt): failed: (lt)boom(gt)"
        );
        assert_eq!(m.vote_on, None);
        let voted = op(
            4,
            "discord:U1",
            State::AwaitingApproval { needed: 2, have: 1 },
        );
        assert_eq!(milestone_kind(&voted), None, "asked for once, at the start");
        assert_eq!(milestone_kind(&op(4, "cli", State::Healthy)), None);
    }

    #[test]
    fn the_live_message_says_where_it_is_who_asked_and_who_approved() {
        let p = Recorder::new(Duration::ZERO);
        let mut waiting = op(
            5,
            "console:<b>",
            State::AwaitingApproval { needed: 2, have: 1 },
        );
        waiting.approvers = vec!["discord:U2".into()];
        let m = live(&p, &waiting, "needs 2 <approvals>");
        assert_eq!(
            m.header.as_deref(),
            Some("#5 deploy api v2 to prod (lt)!here(gt): waiting for approvals (1 of 2)")
        );
        assert_eq!(m.body, "needs 2 (lt)approvals(gt)");
        assert_eq!(
            m.context.as_deref(),
            Some("requested by console:(lt)b(gt) · approved by {@U2}")
        );
        assert_eq!(m.vote_on, Some(5));
        let healthy = op(5, "discord:U1", State::Healthy);
        let header = render::summary_line(&healthy)
            .replace('<', "(lt)")
            .replace('>', "(gt)");
        let m = live(&p, &healthy, &render::summary_line(&healthy));
        assert_eq!(
            (m.header, m.body.as_str()),
            (Some(header), ""),
            "not said twice"
        );
        assert_eq!(m.vote_on, None);
    }
}
