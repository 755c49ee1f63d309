//! The `people:` section of `hoist.yaml`: one human's ids on every platform
//! (`alice: [slack:U0SRE1, github:alice]`). Approvals count people, not ids:
//! with GitHub reviews counting toward a quorum, an SRE who approves in Slack
//! and again on GitHub would otherwise count twice, and a requester could
//! approve their own change through their other id. An id belongs to at most
//! one person; only actor ids (`slack:`, `discord:`, `github:`, `console:`)
//! may be listed.

use super::{Loader, Problem};
use crate::policy::model::Policy;
use crate::yaml::Node;

pub(super) fn people(l: &mut Loader, node: &Node, policy: &mut Policy) {
    for (name, key, ids) in l.entries(node, "people", &[]) {
        if l.name(key, "person").is_none() {
            continue;
        }
        let mut listed = Vec::new();
        for item in l.list(ids, "a person's ids") {
            let Some(id) = l.string(item, "an id") else {
                continue;
            };
            if !actor_id(&id) {
                let message = format!(
                    "person `{name}` lists `{id}`: a person's ids are actor ids (slack:ID, \
                     discord:ID, github:LOGIN, console:NAME)"
                );
                l.problem(item, message);
                continue;
            }
            if let Some((other, _)) = policy.people.iter().find(|(_, ids)| ids.contains(&id)) {
                let message =
                    format!("`{id}` is already {other}'s id: an id belongs to one person");
                l.problems.push(Problem {
                    pos: item.pos,
                    message,
                });
                continue;
            }
            if !listed.contains(&id) {
                listed.push(id);
            }
        }
        policy.people.insert(name.to_string(), listed);
    }
}

/// An id of one person on one platform, as `principals` reads actors.
fn actor_id(id: &str) -> bool {
    match id.split_once(':') {
        Some(("github", login)) => crate::policy::paths::login_ok(login),
        Some(("slack" | "discord" | "console", rest)) => !rest.is_empty(),
        _ => false,
    }
}
