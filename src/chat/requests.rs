//! What people say to hoist, on any platform, once the platform decoded it
//! into a [`Said`]. A request that opens an operation (deploy, promote,
//! rollback) needs a thread: a message is its own; for a command nobody
//! else saw (a slash command) hoist posts "<mention> asked: `...`" and
//! threads under it. That echo is posted only once a dry run of the same
//! request says it would be written, so a refused request or bad input
//! (from anyone, saying anything) posts nothing: it is answered only to the
//! asker. The echo is noted as the operation's message, so reactions on it
//! are votes like those on the live message and the approval request.
//! A writing verb with no dry run (`env create`) gets no echo: it is asked
//! once, and its live message, posted in the channel, roots the thread.
//! Everything said is escaped by the platform's rules.

use super::adapter::Chat;
use super::platform::{Message, Platform};
use crate::engine::{Outcome, Reply, Request};
use hoist_commands::Command;

/// Where an answer goes: only the asker (a command nobody else saw), or the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Asker,
    Thread,
}

/// One person's words in one place, as the platform decoded them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub user: String,
    pub channel: String,
    /// The message's own id (none for a slash command: nobody else saw it).
    pub message: Option<String>,
    /// The thread it was said in.
    pub thread: Option<String>,
    /// The command line, without mentions of hoist.
    pub text: String,
    /// Answer bad input (false for chatter in hoist's threads).
    pub addressed: bool,
    pub audience: Audience,
}

impl<P: Platform> Chat<P> {
    /// Act on `s`: parse, ask the engine, answer.
    pub async fn on_words(&self, s: Said) {
        let thread = s.thread.clone().or_else(|| s.message.clone());
        let command = match hoist_commands::parse(&s.text) {
            Ok(c) => c,
            Err(e) => {
                if s.addressed {
                    let text = format!("{}: {e}", self.platform().code(&s.text));
                    let at = s.thread.as_deref();
                    self.out.tell(&s.channel, &s.user, at, &text).await;
                }
                return;
            }
        };
        let mut req = Request {
            actor: self.actor(&s.user),
            channel: Some(self.channel(&s.channel)),
            chat_link: None,
            memberships: self.memberships(&s.user, &s.channel).await,
            command,
        };
        // Only a writing request (not a dry run) opens an operation with a live message.
        if !req.command.writes() || req.command.dry_run() {
            let reply = self.run(req).await;
            return self.answer(&s, thread.as_deref(), reply).await;
        }
        // The message the operation's thread hangs from: the request's own,
        // or an echo of it that hoist posts once a dry run says the request
        // would be written.
        let (root, echo) = match &s.message {
            Some(id) => (id.clone(), false),
            None => {
                let Some(command) = rehearsed(&req.command) else {
                    // A verb with no dry run (`env create`): asked once, no
                    // echo; its live message, posted in the channel, roots
                    // its thread. Refused, it posts nothing.
                    let reply = self.run(req).await;
                    return self.answer(&s, thread.as_deref(), reply).await;
                };
                let rehearsal = Request {
                    command,
                    ..req.clone()
                };
                let rehearsed = self.run(rehearsal).await;
                if rehearsed.state != "dry-run" {
                    return self.answer(&s, thread.as_deref(), rehearsed).await;
                }
                let p = self.platform();
                let said = format!("{} asked: {}", p.mention(&s.user), p.code(&s.text));
                match self.out.post(&s.channel, None, &Message::text(said)).await {
                    Ok(id) => (id, true),
                    Err(e) => {
                        let text = format!("hoist could not post in this channel: {e}");
                        return self.out.tell(&s.channel, &s.user, None, &text).await;
                    }
                }
            }
        };
        let link = self
            .platform()
            .permalink(&s.channel, &root, s.thread.as_deref());
        req.chat_link = Some(link);
        let reply = self.run(req).await;
        let Some(id) = reply.operation else {
            // The branch or the policy changed since the dry run.
            if echo && let Err(e) = self.out.delete(&s.channel, None, &root).await {
                tracing::warn!(error = %e, "deleting the request's echo");
            }
            return self.answer(&s, thread.as_deref(), reply).await;
        };
        if echo {
            self.notes.message_of(id, &s.channel, &root);
        }
        if reply.outcome != Outcome::Ok {
            self.out
                .tell(&s.channel, &s.user, Some(&root), &reply.message)
                .await;
        }
    }

    /// The answer to a request that opened no operation.
    async fn answer(&self, s: &Said, thread: Option<&str>, reply: Reply) {
        let public = reply.outcome == Outcome::Ok && s.audience == Audience::Thread;
        if public {
            self.out.say(&s.channel, thread, &reply.message).await
        } else {
            let at = s.thread.as_deref();
            self.out.tell(&s.channel, &s.user, at, &reply.message).await
        }
    }
}

/// The same writing command with `--dry-run`: decided and planned, not
/// written. `None` for a verb that has no dry run (`env`): running it as a
/// rehearsal would write.
fn rehearsed(command: &Command) -> Option<Command> {
    let mut c = command.clone();
    match &mut c {
        Command::Deploy(d) => d.dry_run = true,
        Command::Promote(p) => p.dry_run = true,
        Command::Rollback(r) => r.dry_run = true,
        _ => return None,
    }
    Some(c)
}
