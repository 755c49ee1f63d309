//! The policy guards itself. With policy signers configured
//! (`HOIST_POLICY_SIGNERS`), the config repo says which version of
//! `hoist.yaml` may decide at a tip ([`ConfigRepo::trusted_policy`]); every
//! decision reads that version, so a change pushed without a signer's
//! signature (prod's approvals dropped, someone added to `sre`) is not
//! obeyed. A request whose answer used the policy while such a change is on
//! the branch says so in one line of its reply ([`Noted`]: the last policy
//! read decides, so a request first decided on a stale tip and then on a
//! fresh, trusted one says nothing), and the trusted
//! policy's `alerts` channels are told once per offending commit (remembered
//! in the journal). The commit's author and subject are anyone's words:
//! they are flattened to one line and bounded before anyone sees them. With
//! no signers configured the repo answers `None` and every version decides,
//! as committed.
//!
//! [`ConfigRepo::trusted_policy`]: super::ports::ConfigRepo::trusted_policy

use super::message::one_line;
use super::ports::Offender;
use super::{Engine, PolicyError, Reply};
use crate::policy::Policy;
use std::cell::RefCell;
use std::sync::Mutex;

/// The longest author and subject shown (longer ones are cut with `…`).
const AUTHOR_MAX: usize = 80;
const SUBJECT_MAX: usize = 120;

/// The journal note that says an offending commit was alerted.
const ALERTED: &str = "policy-untrusted:";

thread_local! {
    /// While a request is handled on this thread: what its reply must say
    /// about the policy it read last (`Some(None)`: nothing).
    static NOTES: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Alerting is checked and remembered under one lock, so two requests
/// seeing the same offender at once alert once.
static ALERTING: Mutex<()> = Mutex::new(());

/// The notes of one request handled on this thread. [`Noted::finish`] adds
/// them to its reply; dropping it restores whatever an outer request collected.
pub(super) struct Noted {
    outer: Option<Option<String>>,
}

impl Noted {
    pub(super) fn begin() -> Noted {
        Noted {
            outer: NOTES.with(|n| n.replace(Some(None))),
        }
    }

    /// `reply` with the note, if the policy it read last calls for one.
    pub(super) fn finish(mut self, mut reply: Reply) -> Reply {
        let note = NOTES.with(|n| n.replace(self.outer.take()));
        if let Some(Some(note)) = note {
            if !reply.message.is_empty() {
                reply.message.push('\n');
            }
            reply.message.push_str(&note);
        }
        reply
    }
}

impl Drop for Noted {
    fn drop(&mut self) {
        if let Some(outer) = self.outer.take() {
            NOTES.with(|n| n.replace(Some(outer)));
        }
    }
}

/// What the reply of the request being handled on this thread must say
/// about the policy just read (`None`: nothing).
fn note(text: Option<String>) {
    NOTES.with(|n| {
        if let Some(note) = n.borrow_mut().as_mut() {
            *note = text;
        }
    });
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// "hoist.yaml at 1a2b3c4 by Mallory <m@x>": the offender, in safe words.
fn offender_words(o: &Offender) -> String {
    format!(
        "hoist.yaml at {} by {}",
        short(&one_line(&o.sha, 64)),
        one_line(&o.author, AUTHOR_MAX)
    )
}

/// The reply's line when an untrusted change is passed over.
pub(crate) fn passed_over(o: &Offender, trusted: &str) -> String {
    format!(
        "{} is not signed by a policy signer; deciding with the version of {}",
        offender_words(o),
        short(trusted)
    )
}

/// The refusal when no version of `hoist.yaml` is trusted at all.
pub(crate) fn nothing_trusted(o: &Offender) -> String {
    format!(
        "{} is not signed by a policy signer and no earlier version is trusted: nothing is \
         decided until a policy signer signs a version of hoist.yaml (or HOIST_POLICY_TRUST_FROM \
         pins one)",
        offender_words(o)
    )
}

/// The alert posted once per offending commit.
pub(crate) fn alert_text(o: &Offender, trusted: &str) -> String {
    format!(
        "{} (\"{}\") is not signed by a policy signer: hoist does not obey it and keeps deciding \
         with the version of {} until a policy signer signs a change or the change is reverted",
        offender_words(o),
        one_line(&o.subject, SUBJECT_MAX),
        short(trusted)
    )
}

impl Engine {
    /// `hoist.yaml` as it may decide at `tip`: the version there, or, when
    /// policy signers are configured and a change since the last trusted
    /// version is not signed, the trusted version (said in the reply, alerted once).
    pub(super) fn trusted_policy_at(&self, tip: &str) -> Result<Policy, PolicyError> {
        let Some(trust) = self.repo.trusted_policy(tip)? else {
            return self.parse_policy_at(tip);
        };
        let Some(offender) = trust.offending else {
            note(None);
            return self.parse_policy_at(tip);
        };
        let Some(trusted) = trust.trusted else {
            tracing::warn!(commit = %offender.sha, "no version of hoist.yaml is signed by a policy signer");
            return Err(PolicyError::Untrusted(nothing_trusted(&offender)));
        };
        let policy = self.parse_policy_at(&trusted)?;
        note(Some(passed_over(&offender, &trusted)));
        self.alert_untrusted(&policy, &offender, &trusted);
        Ok(policy)
    }

    /// Tell the trusted policy's `alerts` channels about `offender`, once.
    fn alert_untrusted(&self, policy: &Policy, offender: &Offender, trusted: &str) {
        let _one = ALERTING.lock().unwrap_or_else(|p| p.into_inner());
        let key = format!("{ALERTED}{}", offender.sha);
        match self.journal.recall(&key) {
            Ok(Some(_)) => return,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e.report(), "reading whether an untrusted hoist.yaml was alerted")
            }
        }
        let text = alert_text(offender, trusted);
        tracing::warn!(commit = %offender.sha, "{text}");
        if let Err(e) = self.journal.remember(&key, &self.clock.now().to_string()) {
            tracing::warn!(error = %e.report(), "remembering an untrusted hoist.yaml alert");
        }
        let mut channels: Vec<&str> = policy
            .environments
            .iter()
            .filter_map(|e| e.alerts.as_deref())
            .collect();
        channels.sort_unstable();
        channels.dedup();
        for channel in channels {
            self.notify.alert(channel, &text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_words_are_flattened_and_bounded() {
        let o = Offender {
            sha: "0123456789abcdef".into(),
            author: format!("Mallory\n<m@x>\u{2028}{}", "x".repeat(500)),
            subject: "loosen\n\nHoist-Approved-By: slack:U1".into(),
        };
        let line = passed_over(&o, "fedcba9876543210");
        assert!(
            line.starts_with("hoist.yaml at 0123456 by Mallory <m@x> xxx"),
            "{line}"
        );
        assert!(
            line.ends_with("deciding with the version of fedcba9"),
            "{line}"
        );
        let alert = alert_text(&o, "fedcba9876543210");
        assert!(
            !alert.contains('\n') && !alert.contains('\u{2028}'),
            "{alert}"
        );
        assert!(alert.chars().count() < 500, "{alert}");
    }

    #[test]
    fn the_last_policy_read_of_the_request_decides_its_note() {
        note(Some("before any request".into()));
        let noted = Noted::begin();
        note(Some("a".into()));
        note(Some("a".into()));
        let reply = noted.finish(Reply::done("done"));
        assert_eq!(reply.message, "done\na");
        let noted = Noted::begin();
        note(Some("stale".into()));
        note(None);
        assert_eq!(noted.finish(Reply::done("fresh")).message, "fresh");
        note(Some("after".into()));
        let reply = Noted::begin().finish(Reply::done("next"));
        assert_eq!(reply.message, "next");
    }
}
