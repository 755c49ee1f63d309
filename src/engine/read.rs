//! The read verbs: `status` (apps x environments with version, state, age, lock)
//! and `history` (the commits that changed an app's version, with who asked and
//! approved, read from trailers only on commits hoist signed).

use super::render::{age, date, short, table};
use super::{Engine, Fail, Reply, Result, app_of, env_of};
use hoist_commands::{History, Status};
use std::collections::BTreeMap;

impl Engine {
    pub(super) fn status(&self, s: &Status) -> Result<Reply> {
        let (policy, tip) = self.current_policy()?;
        if let Some(env) = &s.env {
            env_of(&policy, env)?;
        }
        if let Some(app) = &s.app {
            app_of(&policy, app)?;
        }
        let mut tips = self.tips(tip)?;
        let locks = self.live_locks()?;
        let now = self.clock.now();
        let mut rows = vec![
            ["APP", "ENV", "VERSION", "STATE", "AGE", "LOCK"]
                .map(String::from)
                .to_vec(),
        ];
        for app in policy
            .apps
            .iter()
            .filter(|a| s.app.as_ref().is_none_or(|x| x == &a.name))
        {
            for env in policy
                .environments
                .iter()
                .filter(|e| s.env.as_ref().is_none_or(|x| x == &e.name))
            {
                let Some(target) = app.targets.get(&env.name) else {
                    continue;
                };
                let tip = tips.get(&env.branch)?;
                let version = match self.repo.read_value(&tip, target) {
                    Ok(v) => v.unwrap_or_else(|| "-".into()),
                    Err(e) => format!("? ({e})"),
                };
                let last = self.journal.latest(env.name.as_str(), app.name.as_str())?;
                let (state, since) = match &last {
                    Some(op) => (
                        format!(
                            "{}{} #{}",
                            shown_state(op, now),
                            super::ordered::step_note(op),
                            op.id
                        ),
                        age(now - op.transitions.last().map(|t| t.0).unwrap_or(op.created_at)),
                    ),
                    None => ("-".into(), "-".into()),
                };
                rows.push(vec![
                    app.name.to_string(),
                    env.name.to_string(),
                    version,
                    state,
                    since,
                    self.hold_cell(env, app.name.as_str(), &locks),
                ]);
            }
        }
        Ok(Reply::done(table(&rows)))
    }

    pub(super) fn history(&self, h: &History) -> Result<Reply> {
        let (policy, tip) = self.current_policy()?;
        let app = app_of(&policy, &h.app)?;
        let limit = h.limit.unwrap_or(10) as usize;
        let mut tips = self.tips(tip)?;
        let mut sections = Vec::new();
        for env in policy
            .environments
            .iter()
            .filter(|e| h.env.as_ref().is_none_or(|x| x == &e.name))
        {
            let Some(target) = app.targets.get(&env.name) else {
                continue;
            };
            let tip = tips.get(&env.branch)?;
            let revisions = self.repo.history(&tip, target, limit)?;
            let mut rows = Vec::new();
            for r in &revisions {
                let trailer = |k: &str| {
                    r.trailers
                        .iter()
                        .filter(|(key, _)| key == k)
                        .map(|(_, v)| v.as_str())
                        .collect::<Vec<_>>()
                };
                let by = trailer("Hoist-Requested-By");
                let approved = trailer("Hoist-Approved-By");
                // Trailers are hoist's words only on commits hoist signed.
                let who = if !r.signed_by_hoist {
                    if by.is_empty() {
                        "not via hoist".to_string()
                    } else {
                        "not signed by hoist (its Hoist- trailers are not trusted)".to_string()
                    }
                } else if by.is_empty() {
                    "signed by hoist, without trailers".to_string()
                } else {
                    let mut who = format!("by {}", by.join(", "));
                    if !approved.is_empty() {
                        who.push_str(&format!(", approved by {}", approved.join(", ")));
                    }
                    who
                };
                // A PR's merge: the words are those of hoist's commit it merged.
                let who = match &r.merged {
                    Some(h) => format!("{who}, merged via PR (hoist's commit {})", short(h)),
                    None => who,
                };
                rows.push(vec![
                    short(&r.sha).to_string(),
                    date(r.time),
                    r.value.clone().unwrap_or_else(|| "-".into()),
                    r.subject.clone(),
                    who,
                ]);
            }
            let body = if rows.is_empty() {
                "  (no changes found)".to_string()
            } else {
                indent(&table(&rows))
            };
            sections.push(format!("{} in {}:\n{body}", app.name, env.name));
        }
        if sections.is_empty()
            && let Some(env) = &h.env
        {
            return Err(Fail::Refused(format!(
                "{} is not deployed to {env}",
                app.name
            )));
        }
        Ok(Reply::done(sections.join("\n")))
    }
}

/// Branch tips for one request: each branch is fetched at most once.
struct Tips<'e> {
    engine: &'e Engine,
    known: BTreeMap<String, String>,
}

impl Tips<'_> {
    fn get(&mut self, branch: &str) -> Result<String> {
        if let Some(tip) = self.known.get(branch) {
            return Ok(tip.clone());
        }
        let tip = self.engine.repo.refresh(branch)?;
        self.known.insert(branch.to_string(), tip.clone());
        Ok(tip)
    }
}

impl Engine {
    /// A tip cache seeded with the policy branch's tip, fetched just now.
    fn tips(&self, policy_tip: String) -> Result<Tips<'_>> {
        let known = BTreeMap::from([(self.policy_branch()?, policy_tip)]);
        Ok(Tips {
            engine: self,
            known,
        })
    }
}

/// An operation's state as `status` shows it: a request whose approvals
/// window has passed reads as expired even before anything touched it.
fn shown_state(op: &super::Operation, now: i64) -> &'static str {
    match op.state {
        super::State::AwaitingApproval { .. } if op.expires_at.is_some_and(|t| now >= t) => {
            "expired"
        }
        ref other => other.label(),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
