//! The engine's log as an audit trail: the span the work on one operation
//! runs in (its lines carry `op`, `env`, `app`) and one info line per
//! journaled transition. Logging only; nothing here decides anything.

use super::{Operation, State};

/// The span of the engine's work on `op`: every line logged inside carries
/// `op`, `env` and `app` (apps comma-separated). At ERROR level so that it
/// exists whenever any line does: under `HOIST_LOG=warn` a warning still
/// says which operation it is about.
pub(crate) fn op_span(op: &Operation) -> tracing::Span {
    tracing::error_span!("op", op = op.id, env = %op.env, app = %apps_of(op))
}

fn apps_of(op: &Operation) -> String {
    let apps: Vec<&str> = op.changes.iter().map(|c| c.app.as_str()).collect();
    apps.join(",")
}

/// One info line per journaled transition, with the operation's identity as
/// fields of its own (a lane records several operations at once), so the
/// log is an audit trail: who asked, who approved, which commit, why it ended.
pub(crate) fn log_transition(op: &Operation) {
    let mut labels = op.transitions.iter().rev().map(|(_, l)| l.as_str());
    let to = labels.next().unwrap_or_else(|| op.state.name());
    let from = labels.next().unwrap_or("new");
    let detail = match &op.state {
        State::Committed { sha } | State::Pushed { sha } | State::Merged { sha } => sha.clone(),
        State::AwaitingApproval { needed, have } => format!("{have} of {needed} approval(s)"),
        State::Rejected { by, reason } => match reason {
            Some(r) => format!("by {by}: {r}"),
            None => format!("by {by}"),
        },
        State::Denied { reason: m }
        | State::Degraded { message: m }
        | State::Failed { message: m }
        | State::PrOpened { url: m, .. } => m.clone(),
        _ => String::new(),
    };
    let approvers = op.approvers.join(",");
    let some = |s: &str| (!s.is_empty()).then_some(s.to_string());
    tracing::info!(
        op = op.id,
        env = %op.env,
        app = %apps_of(op),
        from,
        to,
        detail = some(&detail),
        requester = %op.actor,
        approvers = some(&approvers),
        verb = %op.verb,
        "#{} {from} -> {to}",
        op.id
    );
}

/// The line of a new operation (its id is the journal's): who asked what,
/// where from; then its approval, when it needed none.
pub(crate) fn log_opened(op: &Operation) {
    tracing::info!(
        op = op.id,
        env = %op.env,
        app = %apps_of(op),
        from = "new",
        to = "requested",
        requester = %op.actor,
        verb = %op.verb,
        summary = %op.summary,
        chat = %op.chat,
        needed = op.needed,
        break_glass = op.break_glass.is_some(),
        "#{} new -> requested",
        op.id
    );
    if op.state != State::Requested {
        log_transition(op);
    }
}
