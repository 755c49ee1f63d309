//! Reactions and buttons as votes, on any platform. A reaction counts on
//! any message of hoist's about an operation (the echo that roots its
//! thread, its live message, its approval request: see [`super::notes`]);
//! one of the approving reactions approves, one of the denying ones denies,
//! and taking an approving reaction back before quorum withdraws that
//! approval ([`Engine::withdraw`]). Which reactions are which is handed in
//! ([`Reactions`]); the platform normalises a reaction's name first (Slack's
//! `+1::skin-tone-2` is `+1`). A vote that does not count is answered, to
//! the voter only, with why.
//!
//! [`Engine::withdraw`]: crate::engine::Engine::withdraw

use super::adapter::Chat;
use super::platform::Platform;
use crate::engine::{Outcome, Request};
use hoist_commands::{Approve, Command, Deny, OpId};

/// The reaction names that approve and deny.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reactions {
    pub approve: Vec<String>,
    pub deny: Vec<String>,
}

/// What a reaction does to an operation waiting for votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ballot {
    Approve,
    Deny,
    /// An approving reaction taken back.
    Withdraw,
}

impl Reactions {
    pub fn new(approve: &[&str], deny: &[&str]) -> Reactions {
        let own = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        Reactions {
            approve: own(approve),
            deny: own(deny),
        }
    }

    /// What reaction `name` `added` (or, when false, removed) means. A name
    /// in both sets approves; taking a denial back means nothing.
    pub fn ballot(&self, name: &str, added: bool) -> Option<Ballot> {
        let approve = self.approve.iter().any(|a| a == name);
        let deny = self.deny.iter().any(|d| d == name);
        match (approve, deny, added) {
            (true, _, true) => Some(Ballot::Approve),
            (false, true, true) => Some(Ballot::Deny),
            (true, _, false) => Some(Ballot::Withdraw),
            _ => None,
        }
    }
}

/// A reaction added to or removed from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub user: String,
    pub channel: String,
    /// The id of the message reacted to.
    pub message: String,
    /// Normalised by the platform.
    pub name: String,
    pub added: bool,
}

/// An Approve or Deny button pressed on one of hoist's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    pub user: String,
    pub channel: String,
    pub operation: u64,
    pub approve: bool,
}

impl<P: Platform> Chat<P> {
    /// A reaction on one of hoist's messages about an operation is a vote.
    pub async fn on_reaction(&self, r: Reaction) {
        let Some(id) = self.notes.operation_of(&r.channel, &r.message) else {
            return;
        };
        match self.reactions.ballot(&r.name, r.added) {
            Some(Ballot::Approve) => self.vote(&r.user, &r.channel, id, true).await,
            Some(Ballot::Deny) => self.vote(&r.user, &r.channel, id, false).await,
            Some(Ballot::Withdraw) => self.withdraw(&r.user, id).await,
            None => {}
        }
    }

    /// A button press is a vote.
    pub async fn on_press(&self, p: Press) {
        self.vote(&p.user, &p.channel, p.operation, p.approve).await
    }

    /// `approve ID` / `deny ID` from `user`; a vote that does not count is
    /// answered (to that person) with why.
    async fn vote(&self, user: &str, channel: &str, id: u64, approve: bool) {
        let command = if approve {
            Command::Approve(Approve { id: OpId(id) })
        } else {
            Command::Deny(Deny {
                id: OpId(id),
                reason: None,
            })
        };
        let req = Request {
            actor: self.actor(user),
            channel: Some(self.channel(channel)),
            chat_link: None,
            memberships: self.memberships(user, channel).await,
            command,
        };
        let reply = self.run(req).await;
        if reply.outcome != Outcome::Ok {
            let thread = self.thread_of(id);
            self.out
                .tell(channel, user, thread.as_deref(), &reply.message)
                .await;
        }
    }

    async fn withdraw(&self, user: &str, id: u64) {
        let actor = self.actor(user);
        let engine = self.engine.clone();
        let reply = tokio::task::spawn_blocking(move || engine.withdraw(&actor, id)).await;
        if let Ok(r) = reply
            && r.outcome == Outcome::Error
        {
            tracing::warn!(error = %r.message, "withdrawing an approval");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_approve_deny_and_an_approval_taken_back_withdraws() {
        let r = Reactions::new(&["white_check_mark", "+1"], &["x", "-1"]);
        assert_eq!(r.ballot("+1", true), Some(Ballot::Approve));
        assert_eq!(r.ballot("white_check_mark", true), Some(Ballot::Approve));
        assert_eq!(r.ballot("-1", true), Some(Ballot::Deny));
        assert_eq!(r.ballot("+1", false), Some(Ballot::Withdraw));
        assert_eq!(r.ballot("x", false), None, "a denial taken back is nothing");
        assert_eq!(r.ballot("tada", true), None);
        let both = Reactions::new(&["ok"], &["ok"]);
        assert_eq!(both.ballot("ok", true), Some(Ballot::Approve));
    }
}
