//! Ending a PR operation without hoist merging it: a deny, a cancel, the
//! expiry or a refusal at quorum. The PR is looked at first: one already
//! merged on the forge is recorded as merged (judged like any merge found
//! there) instead of the end asked for, and the end is journaled only once
//! the PR is closed, so no operation says "cancelled" over a PR that is
//! still open. A close that failed is kept here, in memory, and asked
//! again at the runner's next look.

use super::Next;
use crate::engine::ports::{ForgeError, PrState};
use crate::engine::{Engine, Operation, Result, State, one_line, render};

/// How ending an operation's PR went.
#[derive(Debug)]
pub(in crate::engine) enum Closing {
    /// The PR is closed (or there was none) and the end journaled.
    Closed,
    /// The PR had been merged on the forge: that was journaled instead.
    Merged,
    /// The PR could not be closed: nothing journaled, asked again later.
    Unclosed(String),
}

/// An end asked for and not journaled yet: the state and the PR's comment.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) end: State,
    pub(super) comment: String,
}

impl Engine {
    /// End `op` as `end` (leaving `comment` on its PR, if it has one): see
    /// the module's words.
    pub(in crate::engine) fn end_pr(
        &self,
        op: &mut Operation,
        end: State,
        comment: &str,
    ) -> Result<Closing> {
        match self.close_first(op, comment)? {
            Closing::Closed => {
                self.pr_said.settle_end(op.id);
                self.save(op, end)?;
                Ok(Closing::Closed)
            }
            Closing::Merged => {
                self.pr_said.settle_end(op.id);
                Ok(Closing::Merged)
            }
            Closing::Unclosed(why) => {
                let comment = comment.to_string();
                self.pr_said.pend_end(op.id, Pending { end, comment });
                Ok(Closing::Unclosed(why))
            }
        }
    }

    /// Close `op`'s PR unless the forge shows it merged (then journal that).
    fn close_first(&self, op: &mut Operation, comment: &str) -> Result<Closing> {
        let (Some(forge), Some(pr)) = (self.forge().cloned(), op.pr.clone()) else {
            return Ok(Closing::Closed);
        };
        if pr.number == 0 {
            // Not opened as far as the journal knows: deleting hoist's
            // branch closes one opened but not recorded.
            self.delete_pr_branch(op);
            return Ok(Closing::Closed);
        }
        let look = match forge.look(pr.number) {
            Ok(look) => look,
            Err(ForgeError::Missing(_)) => {
                self.delete_pr_branch(op);
                return Ok(Closing::Closed);
            }
            Err(e) => {
                self.forge_error("looking at the pull request before closing it", &e);
                return Ok(Closing::Unclosed(one_line(&e.to_string(), 200)));
            }
        };
        match look.state {
            PrState::Merged { .. } => {
                self.found_merged(op, &look)?;
                Ok(Closing::Merged)
            }
            PrState::Closed { .. } => {
                self.delete_pr_branch(op);
                Ok(Closing::Closed)
            }
            PrState::Open => match self.close_pr(op, comment) {
                None => Ok(Closing::Closed),
                Some(why) => Ok(Closing::Unclosed(why)),
            },
        }
    }

    /// The runner's look at an operation whose end is pending: close again
    /// (still failing: an error, so the runner waits longer each time).
    pub(super) fn retry_end(
        &self,
        op: &mut Operation,
        pending: Pending,
    ) -> std::result::Result<Next, String> {
        let closing = self
            .end_pr(op, pending.end, &pending.comment)
            .map_err(super::words)?;
        match closing {
            Closing::Closed => {
                let text = format!(
                    "{} (the pull request is closed now)",
                    render::summary_line(op)
                );
                self.notify.update(op, &text);
                Ok(Next::Done)
            }
            Closing::Merged => Ok(Next::Follow),
            Closing::Unclosed(why) => Err(format!("closing the pull request: {why}")),
        }
    }

    /// The words when `what` (denied, cancelled...) did not happen because
    /// of `closing`, said in the thread too; `None` when it did.
    pub(in crate::engine) fn not_ended(
        &self,
        op: &Operation,
        closing: &Closing,
        what: &str,
    ) -> Option<String> {
        let text = match closing {
            Closing::Closed => return None,
            Closing::Merged => format!(
                "#{}: not {what}: the pull request had already been merged; {}",
                op.id,
                render::summary_line(op)
            ),
            Closing::Unclosed(why) => format!(
                "#{}: not {what} yet: the pull request could not be closed ({why}); hoist \
                 tries again and says when it is",
                op.id
            ),
        };
        self.notify.update(op, &text);
        // The runner follows a merge, or closes again.
        self.wait_for_pr(op.id);
        Some(text)
    }
}
