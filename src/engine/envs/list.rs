//! `env list`: the environments made from templates as the default branch
//! records them (owner, creation, expiry, each app's version there), and
//! how a list of principals is named in the refusals of `env create`.

use super::super::{Engine, Reply, Result, render};
use crate::policy::{Environment, Principal};

impl Engine {
    /// `env list`: every environment made from a template, as the default
    /// branch records them, with each app's version there.
    pub(super) fn env_list(&self) -> Result<Reply> {
        let (policy, tip) = self.current_policy()?;
        let made: Vec<&Environment> = policy
            .environments
            .iter()
            .filter(|e| e.made.is_some())
            .collect();
        if made.is_empty() {
            let text = match &policy.environments_from {
                Some(rule) => format!(
                    "no environments made from {} yet; `env create NAME` makes one",
                    rule.template
                ),
                None => "environments cannot be made here: hoist.yaml has no \
                         `environments_from` rule"
                    .into(),
            };
            return Ok(Reply::done(text));
        }
        let now = self.clock.now();
        let mut rows = vec![
            ["NAME", "FROM", "OWNER", "CREATED", "EXPIRES", "VERSIONS"]
                .map(String::from)
                .to_vec(),
        ];
        for env in made {
            let Some(entry) = &env.made else { continue };
            let versions: Vec<String> = policy
                .apps
                .iter()
                .filter_map(|a| {
                    let target = a.targets.get(&env.name)?;
                    let value = self.repo.read_value(&tip, target).ok().flatten();
                    Some(format!("{}={}", a.name, value.as_deref().unwrap_or("-")))
                })
                .collect();
            let left = entry.expires - now;
            let expires = if left > 0 {
                format!("{} (in {})", render::date(entry.expires), render::age(left))
            } else {
                format!("{} (expired)", render::date(entry.expires))
            };
            rows.push(vec![
                env.name.to_string(),
                entry.template.to_string(),
                super::super::one_line(&entry.owner, 80),
                render::date(entry.created),
                expires,
                versions.join(" "),
            ]);
        }
        Ok(Reply::done(render::table(&rows)))
    }
}

/// Who a list of principals names, for refusals.
pub(super) fn people(list: &[Principal]) -> String {
    if list.is_empty() {
        return "nobody".into();
    }
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
