//! Ordered promotion. A `promote` naming several apps with `depends_on`
//! edges among them (`hoist.yaml`) is an ordered plan: its changes are sorted
//! so every app comes after the apps it depends on (ties in the order given),
//! one quorum covers them all (approvals are bound to every change, as for
//! any operation), and the write path commits and pushes one change at a
//! time, `changes[step]` (`Operation::ordered`), subject `(step k of n)`.
//! When a step is Healthy (or pushed, where nothing follows its rollout) and
//! steps remain, the operation goes back to Approved at the next step,
//! journaled before anything else happens, the next step is judged again by
//! the policy as it is then (requester, approvers, gates, soak, locks) and
//! carried. A step that ends Degraded, Failed or TimedOut ends the plan:
//! the message says which apps went out, which one failed, which were never
//! written, and offers the one rollback that undoes what went out.

use super::follow::Following;
use super::{Engine, Fail, Operation, Reply, Result, State};
use crate::policy::{Policy, Target};
use hoist_commands::{Name, Version};
use std::time::Instant;

/// Sort `edits` so that each app comes after those it `depends_on` among
/// them (directly or through apps not in the request); ties (and a cycle,
/// which `hoist check` reports) keep the order given. True when there is
/// any such edge: the plan is ordered.
pub(super) fn sort(policy: &Policy, edits: &mut Vec<(Name, Target, Version)>) -> bool {
    // Every app `a` depends on, directly or through apps not named here.
    let deps = |a: &Name| -> Vec<Name> {
        let (mut seen, mut todo) = (Vec::<Name>::new(), vec![a.clone()]);
        while let Some(n) = todo.pop() {
            for (d, _) in policy.app(&n).map_or(&[][..], |app| &app.depends_on[..]) {
                if d != a && !seen.contains(d) {
                    seen.push(d.clone());
                    todo.push(d.clone());
                }
            }
        }
        seen
    };
    let named: Vec<Name> = edits.iter().map(|(a, ..)| a.clone()).collect();
    let edges = named
        .iter()
        .any(|a| deps(a).iter().any(|d| d != a && named.contains(d)));
    if !edges || edits.len() < 2 {
        return false;
    }
    let mut rest = std::mem::take(edits);
    while !rest.is_empty() {
        let ready = rest.iter().position(|(a, ..)| {
            deps(a)
                .iter()
                .all(|d| d == a || !rest.iter().any(|(r, ..)| r == d))
        });
        edits.push(rest.remove(ready.unwrap_or(0)));
    }
    true
}

/// The commit message of the current step: the operation's, with
/// `(step k of n: app)` after the subject.
pub(super) fn commit_message(op: &Operation) -> String {
    match op.ordered {
        Some(k) => {
            let mut step = op.clone();
            let app = op.changes.get(k).map_or("", |c| c.app.as_str());
            step.summary = format!(
                "{} (step {} of {}: {app})",
                op.summary,
                k + 1,
                op.changes.len()
            );
            super::message::commit_message(&step)
        }
        None => super::message::commit_message(op),
    }
}

/// How many steps of `op` were pushed (each step records Pushed once).
fn pushed_steps(op: &Operation) -> usize {
    let n = op.transitions.iter().filter(|(_, l)| l == "pushed").count();
    n.min(op.changes.len())
}

/// Did the plan stop short: a step ended badly or was refused.
fn stopped(op: &Operation) -> bool {
    op.state.is_terminal() && !matches!(op.state, State::Healthy | State::Unchanged)
}

/// `api ✓ healthy, web … progressing, worker – waiting`: where each app of
/// an ordered plan is. Empty for other operations.
pub(super) fn plan_line(op: &Operation) -> String {
    let Some(k) = op.ordered else {
        return String::new();
    };
    let pushed = pushed_steps(op);
    let now = match &op.state {
        State::Healthy => "✓ healthy".to_string(),
        State::Degraded { .. } => "✗ degraded".into(),
        State::Failed { .. } if pushed > k => "✗ failed".into(),
        State::TimedOut => "✗ not healthy in time".into(),
        State::Reconciling { phase } => format!("… {phase}"),
        State::Pushed { .. } => "… pushed".into(),
        State::Approved | State::Committed { .. } => "… writing".into(),
        State::AwaitingApproval { .. } => "– waiting for approvals".into(),
        _ => "– never written".into(),
    };
    let parts: Vec<String> = op
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = match i {
                _ if i < k => "✓ healthy".to_string(),
                _ if i == k => now.clone(),
                _ if stopped(op) => "– never written".into(),
                _ => "– waiting".into(),
            };
            format!("{} {at}", c.app)
        })
        .collect();
    parts.join(", ")
}

/// `plan_line` on a line of its own, or nothing.
pub(super) fn plan_note(op: &Operation) -> String {
    match op.ordered {
        Some(_) => format!("\n{}", plan_line(op)),
        None => String::new(),
    }
}

/// For an ordered plan that stopped short: which apps went out, which one
/// failed, which were never written, and the command that undoes what went
/// out. `None` for anything else.
pub(super) fn stopped_note(op: &Operation) -> Option<String> {
    let k = op.ordered?;
    if !stopped(op) {
        return None;
    }
    let pushed = pushed_steps(op);
    let apps = |r: std::ops::Range<usize>| -> Vec<&str> {
        op.changes[r].iter().map(|c| c.app.as_str()).collect()
    };
    let healthy = apps(0..k.min(pushed));
    let out = apps(0..pushed);
    let never = apps(pushed.max(k + 1).min(op.changes.len())..op.changes.len());
    let mut note = String::new();
    if !healthy.is_empty() {
        note.push_str(&format!("went out healthy: {}; ", healthy.join(", ")));
    }
    match op.changes.get(k) {
        Some(c) if pushed > k => {
            note.push_str(&format!("{} went out and {}; ", c.app, failure(op)))
        }
        Some(c) => note.push_str(&format!("{} was not written; ", c.app)),
        None => {}
    }
    if !never.is_empty() {
        note.push_str(&format!("never written: {}; ", never.join(", ")));
    }
    if out.is_empty() {
        note.push_str("nothing went out");
    } else {
        note.push_str(&format!(
            "to undo what went out: `rollback {} in {}`",
            out.join(","),
            op.env
        ));
    }
    Some(note)
}

fn failure(op: &Operation) -> &'static str {
    match op.state {
        State::Degraded { .. } => "is degraded",
        State::TimedOut => "did not become healthy in time",
        _ => "failed",
    }
}

/// The transition an ordered plan records when one of its steps is out
/// (healthy, or pushed where nothing follows it), before the next step.
const SETTLED: &str = "settled:";

/// When `app` settled as a step of the ordered plan `op` (before its later
/// steps, which may still fail): a version that went out healthy counts for
/// soak and rollback targets even when the plan stopped after it.
pub(super) fn settled(op: &Operation, app: &str) -> Option<i64> {
    op.ordered?;
    op.transitions
        .iter()
        .find(|(_, l)| l.strip_prefix(SETTLED) == Some(app))
        .map(|(t, _)| *t)
}

/// `(step k of n)` for `status`, empty for other operations.
pub(super) fn step_note(op: &Operation) -> String {
    match op.ordered {
        Some(k) => format!(
            " (step {} of {})",
            (k + 1).min(op.changes.len()),
            op.changes.len()
        ),
        None => String::new(),
    }
}

impl Engine {
    /// The current step is out (healthy, or pushed where nothing follows
    /// it): record the next step as Approved before anything else, judge it
    /// by the policy as it is now, then carry it.
    pub(super) fn next_step(&self, op: &mut Operation) -> Result<Reply> {
        let done = op.ordered.unwrap_or(0);
        if matches!(op.state, State::Pushed { .. } | State::Reconciling { .. })
            && let Some(c) = op.changes.get(done)
        {
            // This app settled here now (see `settled`), whatever the rest does.
            let mark = format!("{SETTLED}{}", c.app);
            op.transitions.push((self.clock.now(), mark));
        }
        op.ordered = Some(done + 1);
        self.save(op, State::Approved)?;
        let app = op.changes.get(done + 1).map_or("", |c| c.app.as_str());
        self.notify.update(
            op,
            &format!(
                "#{} step {} of {}: writing {app}\n{}",
                op.id,
                done + 2,
                op.changes.len(),
                plan_line(op)
            ),
        );
        let (policy, tip) = self.policy_for_branch(&op.branch)?;
        if let Some(reply) = self.recheck(op, &policy)? {
            return Ok(reply);
        }
        if let Some(reply) = self.held_now(op, &policy)? {
            return Ok(reply);
        }
        self.carry(op, &policy, &tip)
    }

    /// The current step needed no commit (its app already had the
    /// version): go on, or end Healthy when it was the last.
    pub(super) fn step_unchanged(&self, op: &mut Operation) -> Result<Reply> {
        if op.steps_left() {
            return self.next_step(op);
        }
        self.save(op, State::Healthy)?;
        let text = super::render::summary_line(op);
        self.notify.update(op, &text);
        Ok(super::render::reply(op, text))
    }

    /// A followed step became healthy and steps remain (the runner's
    /// worker, holding the operation's slot): carry the next step and follow
    /// it in `f`. `carry` does not take the slot, and its hand-over to the
    /// runner is a no-op while this operation is being stepped, so the worker
    /// keeps it. `Some(now)`: look at the new step at once.
    pub(super) fn advance(
        &self,
        op: &mut Operation,
        f: &mut Following,
    ) -> std::result::Result<Option<Instant>, String> {
        let words = |e: Fail| match e {
            Fail::Refused(m) | Fail::Error(m) => m,
        };
        self.next_step(op).map_err(words)?;
        if !matches!(op.state, State::Pushed { .. }) {
            return Ok(None);
        }
        let (policy, _) = self.policy_on(&op.branch, false).map_err(words)?;
        Ok(self.retarget(f, op, &policy).then(Instant::now))
    }

    /// After a restart found a step's commit on the remote: follow it, or
    /// where nothing follows it, go on with the next step.
    pub(super) fn resume_plan(&self, op: &mut Operation, policy: &Policy) -> Result<Reply> {
        if self.settings.wait && self.follow(op, policy) {
            let text = format!("#{}: following its rollout again{}", op.id, step_note(op));
            return Ok(super::render::reply(op, text));
        }
        if op.steps_left() {
            return self.next_step(op);
        }
        Ok(super::render::reply(op, super::render::summary_line(op)))
    }
}
