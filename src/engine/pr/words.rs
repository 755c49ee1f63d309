//! What a pull request says: its title (the request in words), its
//! description (the diff, the requester, reason and ticket, the chat link,
//! the approval state) and its labels. Every value from outside (chat
//! text, names, file lines) is flattened to one bounded line and loses its
//! backticks, so it cannot end a code block or forge markup.

use crate::engine::approve::rule_of;
use crate::engine::{Operation, one_line};
use crate::policy::Environment;

/// The longest value written into a PR description.
const VALUE_MAX: usize = 300;

/// The most bytes of diff a description shows: GitHub refuses a body over
/// 65,536 characters (and the PR with it), and a promotion of many apps
/// could write more; the rest is in the commit.
const DIFF_MAX: usize = 48 * 1024;

/// One line of outside text for markdown.
fn flat(text: &str) -> String {
    one_line(text, VALUE_MAX).replace('`', "'")
}

/// One line of outside text for markdown prose (a PR's description or a
/// comment): as [`flat`], and every word with an `@` or a `#` is put in a
/// code span, so chat text can neither mention people or teams (`@org/team`
/// notifies them) nor link issues and PRs (`#123`, `owner/repo#1`).
pub(in crate::engine) fn prose(text: &str) -> String {
    flat(text)
        .split(' ')
        .map(|w| {
            if w.contains(['@', '#']) {
                format!("`{w}`")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn title(op: &Operation) -> String {
    one_line(&op.summary, 200)
}

/// Who may approve, in words.
pub(super) fn approvers_from(op: &Operation, env: &Environment) -> String {
    let from = rule_of(op, env).from;
    if from.is_empty() {
        "the environment's deployers".into()
    } else {
        from.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The PR's description, in markdown.
pub(super) fn body(op: &Operation, env: &Environment) -> String {
    let mut out = format!(
        "**#{}** {}\n\n- Requested by `{}` ({})\n",
        op.id,
        prose(&op.summary),
        flat(&op.actor),
        prose(&op.chat)
    );
    if let Some(reason) = &op.reason {
        out.push_str(&format!("- Reason: {}\n", prose(reason)));
    }
    if let Some(ticket) = &op.ticket {
        out.push_str(&format!("- Ticket: {}\n", prose(ticket)));
    }
    if let Some(why) = &op.break_glass {
        out.push_str(&format!("- Break glass: {}\n", prose(why)));
    }
    let have = op.approvers.len();
    let who = if op.approvers.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = op
            .approvers
            .iter()
            .map(|a| format!("`{}`", flat(a)))
            .collect();
        format!(": {}", names.join(", "))
    };
    out.push_str(&format!(
        "- Approvals: {have} of {} from {}{who}\n\n```diff\n",
        op.needed,
        prose(&approvers_from(op, env))
    ));
    let (mut shown, mut left) = (0, 0);
    for c in &op.changes {
        for l in &c.lines {
            let line = format!(
                "# {}:{}\n- {}\n+ {}\n",
                flat(&c.file),
                l.line,
                flat(l.old.trim()),
                flat(l.new.trim())
            );
            if shown + line.len() > DIFF_MAX {
                left += 1;
                continue;
            }
            shown += line.len();
            out.push_str(&line);
        }
    }
    out.push_str("```\n\n");
    if left > 0 {
        out.push_str(&format!(
            "({left} more changed line(s) are in the commit: the description stays under \
             GitHub's size limit.)\n\n"
        ));
    }
    let reviews = if env.pr.github_reviews {
        " or an approving review here"
    } else {
        ""
    };
    out.push_str(&format!(
        "Opened by hoist. Approve in chat with `approve {}`{reviews}; hoist merges this pull \
         request once the policy is met and the checks pass. Do not push to this branch.\n",
        op.id
    ));
    out
}

/// The environment's labels and `env:<env>`, each once.
pub(super) fn labels(op: &Operation, env: &Environment) -> Vec<String> {
    let mut labels = env.pr.labels.clone();
    let own = format!("env:{}", op.env);
    if !labels.contains(&own) {
        labels.push(own);
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::flat;

    #[test]
    fn outside_text_cannot_leave_its_line_or_close_a_code_block() {
        let hostile = "fix\n```\n- [x] merged\r\n`rm -rf`\u{202E}";
        let out = flat(hostile);
        assert!(
            !out.contains('\n') && !out.contains('\r') && !out.contains('`'),
            "{out}"
        );
        assert!(!out.contains('\u{202E}'), "{out}");
        assert_eq!(flat(&"a".repeat(1000)).chars().count(), super::VALUE_MAX);
    }

    #[test]
    fn chat_text_in_prose_neither_mentions_nor_links() {
        let out = super::prose("ping @octocat and @acme/sre about #12, see acme/app#3 `x`");
        assert_eq!(
            out,
            "ping `@octocat` and `@acme/sre` about `#12,` see `acme/app#3` 'x'"
        );
        assert_eq!(super::prose("login fix"), "login fix");
    }

    #[test]
    fn a_description_stays_under_githubs_size_limit_however_many_lines_change() {
        let line = |n: usize| crate::engine::ports::LineChange {
            line: n,
            old: format!("tag: {}", "o".repeat(400)),
            new: format!("tag: {}", "n".repeat(400)),
        };
        let change = crate::engine::Change {
            app: "api".into(),
            version: "v2".into(),
            file: format!("apps/{}/values.yaml", "d".repeat(300)),
            old_value: None,
            new_value: "v2".into(),
            lines: (1..=500).map(line).collect(),
        };
        let op = crate::engine::Operation {
            id: 7,
            verb: "promote".into(),
            summary: "promote many apps staging to prod".into(),
            actor: "console:alice".into(),
            channel: None,
            chat: "cli".into(),
            env: "prod".into(),
            reason: Some("r".repeat(10_000)),
            ticket: None,
            created_at: 0,
            state: crate::engine::State::Requested,
            branch: "main".into(),
            base: None,
            changes: vec![change.clone(), change],
            commit: None,
            needed: 2,
            approvers: Vec::new(),
            expires_at: None,
            break_glass: None,
            transitions: Vec::new(),
            memberships: Default::default(),
            ordered: None,
            pr: None,
            deployment: None,
            environment: None,
        };
        let (policy, found) = crate::policy::load(
            "environments:\n  prod:\n    deployers: [\"*\"]\n    via: pull-request\napps: {}\n",
        );
        assert!(found.is_empty(), "{found:?}");
        let body = super::body(&op, &policy.environments[0]);
        assert!(body.chars().count() < 65_536, "{} characters", body.len());
        assert!(
            body.contains("more changed line(s) are in the commit"),
            "{body}"
        );
        assert!(
            body.contains("```diff\n# apps/"),
            "the first lines are shown"
        );
    }
}
