//! `audit ENV [since DURATION]` in chat: the changes to ENV's targets in the
//! config repo's history (not the journal: git is the record) since then
//! (30 days unless said), counted: through hoist, out of band (a value
//! changed without hoist's signature and trailers, or another part of a
//! target file edited), by signature verdict (against hoist's own key here;
//! `hoist audit --signers` judges against any keys), and break-glass. The
//! newest out-of-band changes are listed; the full export is the CLI's.
//! Commit text is anyone's: it is flattened and bounded before it is said.

use super::message::one_line;
use super::ports::{Touch, Verdict};
use super::render::{date, short};
use super::{Engine, Reply, Result, env_of};
use hoist_commands::Audit;

/// How far back `audit ENV` looks without `since`.
const DEFAULT_SINCE_SECS: u64 = 30 * 86_400;
/// Out-of-band changes listed by name.
const LISTED: usize = 5;

impl Engine {
    pub(super) fn audit(&self, a: &Audit) -> Result<Reply> {
        let (policy, policy_tip) = self.current_policy()?;
        let env = env_of(&policy, &a.env)?;
        let (apps, targets): (Vec<String>, Vec<_>) = policy
            .apps
            .iter()
            .filter_map(|app| Some((app.name.to_string(), app.targets.get(&env.name)?.clone())))
            .unzip();
        let since = a
            .since
            .map_or(DEFAULT_SINCE_SECS, |d| d.as_secs())
            .min(i64::MAX as u64);
        let since_words = a.since.map_or("30d".to_string(), |d| d.to_string());
        if targets.is_empty() {
            return Ok(Reply::done(format!("no app is deployed to {}", env.name)));
        }
        let tip = if env.branch == self.policy_branch()? {
            policy_tip
        } else {
            self.repo.refresh(&env.branch)?
        };
        let from = self.clock.now().saturating_sub(since as i64);
        let touches = self.repo.history_all(&tip, &targets, Some(from))?;
        let head = format!(
            "audit {} since {since_words} ({} at {})",
            env.name,
            env.branch,
            short(&tip)
        );
        Ok(Reply::done(summary(
            &head,
            &touches,
            &apps,
            env.name.as_str(),
        )))
    }
}

/// The counts and the newest out-of-band changes; `apps[t]` names target `t`.
fn summary(head: &str, touches: &[Touch], apps: &[String], env: &str) -> String {
    if touches.is_empty() {
        return format!("{head}: no changes to the targets");
    }
    let via: Vec<&Touch> = touches.iter().filter(|t| t.via_hoist()).collect();
    let out: Vec<&Touch> = touches.iter().filter(|t| !t.via_hoist()).collect();
    let glass = via
        .iter()
        .filter(|t| t.trailer("Hoist-Break-Glass").next().is_some())
        .count();
    let edits = out.iter().filter(|t| t.old == t.new).count();
    // Merged through a PR: counted as hoist's by hoist's signed commit.
    let merged = via.iter().filter(|t| t.merged.is_some()).count();
    let merged = match merged {
        0 => String::new(),
        n => format!(", merged via PR: {n}"),
    };
    let count = |v: Verdict| touches.iter().filter(|t| t.verdict == v).count();
    let mut text = format!(
        "{head}: {} change{}\n  through hoist: {} (break-glass: {glass}{merged})\n  \
         out of band: {} ({} value change{}, {edits} other edit{} of a target file)\n  \
         signatures: {} good (hoist's key), {} bad, {} unknown key, {} unsigned",
        touches.len(),
        plural(touches.len()),
        via.len(),
        out.len(),
        out.len() - edits,
        plural(out.len() - edits),
        plural(edits),
        count(Verdict::Good),
        count(Verdict::Bad),
        count(Verdict::UnknownKey),
        count(Verdict::Unsigned),
    );
    if !out.is_empty() {
        text.push_str("\nout of band, newest first:");
        for t in out.iter().take(LISTED) {
            let app = apps.get(t.target).map_or("?", String::as_str);
            let value = |v: &Option<String>| one_line(v.as_deref().unwrap_or("-"), 40);
            let what = if t.old == t.new {
                format!("{app}: file edited, value {}", value(&t.new))
            } else {
                format!("{app}: {} -> {}", value(&t.old), value(&t.new))
            };
            text.push_str(&format!(
                "\n  {} {} {what}, {}, by {}: {}",
                short(&t.sha),
                date(t.time),
                t.verdict.words(),
                one_line(&t.author, 60),
                one_line(&t.subject, 80)
            ));
        }
        if out.len() > LISTED {
            text.push_str(&format!("\n  ...and {} more", out.len() - LISTED));
        }
    }
    text.push_str(&format!(
        "\nevery row: `hoist audit --repo REPO --env {env} --since SINCE --signers FILE --format csv`"
    ));
    text
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use crate::engine::ports::{Clock, Notify, SystemClock};
    use crate::engine::{Engine, Operation, Request, Settings};
    use crate::gitops::memory::Memory;
    use std::sync::Arc;

    const POLICY: &str = "\
environments:
  dev: { deployers: [\"*\"] }
  prod: { deployers: [\"*\"], incident_channels: [slack:C0INC], break_glass: { approvals: 0 } }
apps:
  api:
    targets:
      dev: { file: dev.yaml, yaml_path: image.tag }
      prod: { file: prod.yaml, yaml_path: image.tag }
";

    #[derive(Debug)]
    struct At(i64);
    impl Clock for At {
        fn now(&self) -> i64 {
            self.0
        }
    }

    #[derive(Debug)]
    struct Quiet;
    impl Notify for Quiet {
        fn update(&self, _: &Operation, _: &str) {}
        fn alert(&self, _: &str, _: &str) {}
    }

    fn ask(engine: &Engine, channel: Option<&str>, text: &str) -> crate::engine::Reply {
        engine.handle(&Request {
            actor: "console:alice".into(),
            channel: channel.map(String::from),
            chat_link: None,
            memberships: Vec::new(),
            command: hoist_commands::parse(text).unwrap(),
        })
    }

    #[test]
    fn audit_counts_changes_through_hoist_out_of_band_and_break_glass() {
        // The repo's first commit is stamped by the system clock: keep to it.
        let clock: Arc<dyn Clock> = Arc::new(At(SystemClock.now()));
        let files = [
            ("hoist.yaml", POLICY),
            ("dev.yaml", "image:\n  tag: v1\n"),
            ("prod.yaml", "image:\n  tag: v1\n"),
        ];
        let repo = Arc::new(
            Memory::new("main", files)
                .signing()
                .with_clock(clock.clone()),
        );
        let journal = Arc::new(crate::store::Memory::with_clock(clock.clone()));
        let engine = Engine::new(
            repo.clone(),
            journal,
            None,
            Arc::new(Quiet),
            clock,
            Settings::default(),
        );
        for (channel, text) in [
            (None, "deploy api v2 to prod"),
            (None, "deploy api v3 to prod"),
            (Some("slack:C0INC"), "rollback api in prod"),
            (None, "deploy api v2 to dev"),
        ] {
            let r = ask(&engine, channel, text);
            assert_eq!(r.state, "pushed", "{text}: {}", r.message);
        }
        repo.commit_as_someone_else(
            "main",
            "prod.yaml",
            "image:\n  tag: v9\n",
            "hotfix\n\nHoist-Operation: 99\nHoist-Requested-By: console:bob\n",
        );
        repo.commit_as_someone_else(
            "main",
            "prod.yaml",
            "# comment\nimage:\n  tag: v9\n",
            "a comment\nwith a second line",
        );
        let r = ask(&engine, None, "audit prod since 1d");
        assert_eq!(r.state, "done", "{}", r.message);
        let lines: Vec<&str> = r.message.lines().collect();
        assert!(
            lines[0].starts_with("audit prod since 1d (main at "),
            "{}",
            r.message
        );
        assert!(lines[0].ends_with("): 6 changes"), "{}", r.message);
        assert_eq!(lines[1], "  through hoist: 3 (break-glass: 1)");
        assert_eq!(
            lines[2],
            "  out of band: 3 (2 value changes, 1 other edit of a target file)"
        );
        assert_eq!(
            lines[3],
            "  signatures: 3 good (hoist's key), 0 bad, 0 unknown key, 3 unsigned"
        );
        assert!(
            lines[5].contains("api: file edited, value v9, unsigned"),
            "{}",
            r.message
        );
        assert!(lines[5].ends_with(": a comment"), "{}", r.message);
        assert!(
            lines[6].contains("api: v2 -> v9, unsigned"),
            "{}",
            r.message
        );
        // The first commit (files made by someone else) and hoist's deploy.
        let r = ask(&engine, None, "audit dev");
        assert!(r.message.contains(": 2 changes\n"), "{}", r.message);
        assert!(
            r.message.contains("api: - -> v1, unsigned"),
            "{}",
            r.message
        );
        let r = ask(&engine, None, "audit prd");
        assert_eq!(r.state, "refused");
        assert!(r.message.contains("did you mean `prod`?"), "{}", r.message);
    }

    #[test]
    fn a_pr_merge_through_hoist_is_counted_as_such() {
        use crate::engine::ports::{Touch, Verdict};
        let touch = |merged: Option<&str>, verdict: Verdict| Touch {
            sha: "m".repeat(40),
            time: 1_795_600_800,
            author: "GitHub <noreply@github.com>".into(),
            subject: "Merge pull request #7".into(),
            trailers: vec![("Hoist-Operation".into(), "7".into())],
            verdict,
            signer: None,
            merged: merged.map(String::from),
            target: 0,
            old: Some("v1".into()),
            new: Some("v2".into()),
        };
        let apps = ["api".to_string()];
        let touches = [
            touch(Some(&"h".repeat(40)), Verdict::Good),
            touch(None, Verdict::Good),
            touch(None, Verdict::UnknownKey),
        ];
        let text = super::summary("audit prod", &touches, &apps, "prod");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "  through hoist: 2 (break-glass: 0, merged via PR: 1)"
        );
        assert!(lines[2].starts_with("  out of band: 1 "), "{text}");
    }
}
