//! What Slack traffic means, after it was acknowledged. A request that opens
//! an operation (deploy, promote, rollback) needs a thread: a mention or a
//! message is its own; for a slash command (which Slack shows nobody) hoist
//! posts "<@U1> asked: `...`" and threads under it. That echo is posted only
//! once a dry run of the same request says it would be written, so a refused
//! request or bad input (from anyone, saying anything) posts nothing: it is
//! answered only to the asker (ephemeral). Everything said is escaped
//! ([`super::text`]). Slash commands, button presses and events are each
//! acted on once, however often the same one arrives ([`super::replay`]).

use super::{Slack, place, replay, text};
use crate::engine::{Outcome, Reply, Request};
use hoist_commands::{Approve, Command, Deny, OpId};
use slack_morphism::prelude::*;
use std::sync::Arc;

/// Where an answer goes: only the asker (a slash command), or the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    Asker,
    Thread,
}

/// The command line of a slash command: `/hoist deploy ...` is its text;
/// `/deploy api v1 to dev` is the verb then the text.
pub fn command_text(command: &str, text: &str) -> String {
    let name = command.trim_start_matches('/');
    if name == "hoist" || name.is_empty() {
        text.trim().to_string()
    } else {
        format!("{name} {}", text.trim()).trim().to_string()
    }
}

/// A message's text without mentions of the bot, trimmed.
pub fn without_mention(text: &str, bot: &str) -> String {
    text.replace(&format!("<@{bot}>"), " ").trim().to_string()
}

/// One person's words in one place.
struct Said<'a> {
    user: &'a str,
    channel: &'a str,
    /// The message's own ts (none for slash commands).
    ts: Option<&'a str>,
    thread_ts: Option<&'a str>,
    text: String,
    /// Answer bad input (false for chatter in hoist's threads).
    addressed: bool,
    audience: Audience,
}

impl Slack {
    /// A slash command (HTTP or Socket Mode), once per `trigger_id`.
    pub async fn on_command(self: Arc<Self>, ev: SlackCommandEvent) {
        if !self.first_seen(replay::command_key(&ev)).await {
            return;
        }
        let text = command_text(&ev.command.0, ev.text.as_deref().unwrap_or(""));
        self.on_words(Said {
            user: &ev.user_id.0,
            channel: &ev.channel_id.0,
            ts: None,
            thread_ts: None,
            text,
            addressed: true,
            audience: Audience::Asker,
        })
        .await
    }

    /// An Events API callback (HTTP or Socket Mode), once per `event_id`.
    pub async fn on_event(self: Arc<Self>, ev: SlackPushEventCallback) {
        if !self.first_seen(replay::event_key(&ev)).await {
            return;
        }
        match ev.event {
            SlackEventCallbackBody::AppMention(m) => {
                let text =
                    without_mention(m.content.text.as_deref().unwrap_or(""), &self.me.user_id);
                self.on_words(Said {
                    user: &m.user.0,
                    channel: &m.channel.0,
                    ts: Some(&m.origin.ts.0),
                    thread_ts: m.origin.thread_ts.as_ref().map(|t| t.0.as_str()),
                    text,
                    addressed: true,
                    audience: Audience::Thread,
                })
                .await
            }
            SlackEventCallbackBody::Message(m) => self.on_message(m).await,
            SlackEventCallbackBody::ReactionAdded(r) => {
                if let SlackReactionsItem::Message(item) = &r.item {
                    self.on_reaction(&r.user.0, &r.reaction.0, item, true).await
                }
            }
            SlackEventCallbackBody::ReactionRemoved(r) => {
                if let SlackReactionsItem::Message(item) = &r.item {
                    self.on_reaction(&r.user.0, &r.reaction.0, item, false)
                        .await
                }
            }
            _ => {}
        }
    }

    /// A message: direct messages to hoist are requests; in a thread of one
    /// of hoist's operations, a line that reads as a command is one.
    /// Mentions come as `app_mention` and are not handled twice.
    async fn on_message(&self, m: SlackMessageEvent) {
        let (Some(user), None, None) = (&m.sender.user, &m.sender.bot_id, &m.subtype) else {
            return;
        };
        let Some(channel) = &m.origin.channel else {
            return;
        };
        let text = m
            .content
            .as_ref()
            .and_then(|c| c.text.clone())
            .unwrap_or_default();
        if user.0 == self.me.user_id || text.contains(&format!("<@{}>", self.me.user_id)) {
            return;
        }
        let direct = m.origin.channel_type.as_ref().is_some_and(|t| t.0 == "im");
        let thread = m.origin.thread_ts.as_ref().map(|t| t.0.as_str());
        let ours = thread.is_some_and(|t| self.live.operation_of_thread(&channel.0, t).is_some());
        if !direct && !ours {
            return;
        }
        self.on_words(Said {
            user: &user.0,
            channel: &channel.0,
            ts: Some(&m.origin.ts.0),
            thread_ts: thread,
            text: text.trim().to_string(),
            addressed: direct,
            audience: Audience::Thread,
        })
        .await
    }

    async fn on_words(&self, s: Said<'_>) {
        let thread = s.thread_ts.or(s.ts);
        let command = match hoist_commands::parse(&s.text) {
            Ok(c) => c,
            Err(e) => {
                if s.addressed {
                    let text = format!("{}: {e}", text::code(&s.text));
                    self.tell(s.channel, s.user, s.thread_ts, &text).await;
                }
                return;
            }
        };
        let actor = format!("slack:{}", s.user);
        let memberships = self.memberships(s.user).await;
        let mut req = Request {
            actor,
            channel: Some(format!("slack:{}", s.channel)),
            chat_link: None,
            memberships,
            command,
        };
        // Only a writing request (not a dry run) opens an operation with a live message.
        if !req.command.writes() || req.command.dry_run() {
            let reply = self.run(req).await;
            return self.answer(&s, thread, reply).await;
        }
        // The message the operation's thread hangs from: the request's own,
        // or (slash commands) an echo of it that hoist posts, once a dry run
        // says the request would be written.
        let (ts, echo) = match s.ts {
            Some(ts) => (ts.to_string(), false),
            None => {
                let rehearsal = Request {
                    command: rehearsed(&req.command),
                    ..req.clone()
                };
                let rehearsed = self.run(rehearsal).await;
                if rehearsed.state != "dry-run" {
                    return self.answer(&s, thread, rehearsed).await;
                }
                let said = format!("{} asked: {}", text::mention(s.user), text::code(&s.text));
                let content = SlackMessageContent::new().with_text(said);
                match self.api.post(s.channel, None, content).await {
                    Ok(ts) => (ts, true),
                    Err(e) => {
                        let text = format!("hoist could not post in this channel: {e}");
                        return self.tell(s.channel, s.user, None, &text).await;
                    }
                }
            }
        };
        req.chat_link = Some(place::permalink(
            &self.me.team_url,
            s.channel,
            &ts,
            s.thread_ts,
        ));
        let reply = self.run(req).await;
        if reply.operation.is_none() {
            // The branch or the policy changed since the dry run.
            if echo && let Err(e) = self.api.delete(s.channel, &ts).await {
                tracing::warn!(error = %e, "deleting the request's echo");
            }
            return self.answer(&s, thread, reply).await;
        }
        if reply.outcome != Outcome::Ok {
            self.tell(s.channel, s.user, Some(&ts), &reply.message)
                .await;
        }
    }

    /// The answer to a request that opened no operation.
    async fn answer(&self, s: &Said<'_>, thread: Option<&str>, reply: Reply) {
        let public = reply.outcome == Outcome::Ok && s.audience == Audience::Thread;
        if public {
            self.say(s.channel, thread, &reply.message).await
        } else {
            self.tell(s.channel, s.user, s.thread_ts, &reply.message)
                .await
        }
    }

    /// A reaction on one of hoist's messages is a vote (approve or deny);
    /// taking an approving reaction back withdraws the approval.
    async fn on_reaction(&self, user: &str, name: &str, item: &SlackHistoryMessage, added: bool) {
        let Some(channel) = item.origin.channel.as_ref().map(|c| c.0.as_str()) else {
            return;
        };
        let Some(id) = self.live.operation_of(channel, &item.origin.ts.0) else {
            return;
        };
        // `+1::skin-tone-2` is a `+1`.
        let name = name.split("::").next().unwrap_or(name);
        let approve = self.config.approve.iter().any(|a| a == name);
        let deny = self.config.deny.iter().any(|d| d == name);
        match (approve, deny, added) {
            (true, _, true) => self.vote(user, channel, id, true).await,
            (false, true, true) => self.vote(user, channel, id, false).await,
            (true, _, false) => self.withdraw(user, id).await,
            _ => {}
        }
    }

    /// A button on an approval request, once per press.
    pub async fn on_interaction(self: Arc<Self>, ev: SlackInteractionEvent) {
        let SlackInteractionEvent::BlockActions(b) = ev else {
            return;
        };
        if !self.first_seen(replay::actions_key(&b)).await {
            return;
        }
        let (Some(user), Some(channel)) = (&b.user, &b.channel) else {
            return;
        };
        for a in b.actions.iter().flatten() {
            let Some(id) = a.value.as_deref().and_then(|v| v.parse().ok()) else {
                continue;
            };
            match a.action_id.0.as_str() {
                "hoist_approve" => self.vote(&user.id.0, &channel.id.0, id, true).await,
                "hoist_deny" => self.vote(&user.id.0, &channel.id.0, id, false).await,
                _ => {}
            }
        }
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
            actor: format!("slack:{user}"),
            channel: Some(format!("slack:{channel}")),
            chat_link: None,
            memberships: self.memberships(user).await,
            command,
        };
        let reply = self.run(req).await;
        if reply.outcome != Outcome::Ok {
            let thread = self.thread_of(id);
            self.tell(channel, user, thread.as_deref(), &reply.message)
                .await;
        }
    }

    async fn withdraw(&self, user: &str, id: u64) {
        let actor = format!("slack:{user}");
        let engine = self.engine.clone();
        let reply = tokio::task::spawn_blocking(move || engine.withdraw(&actor, id)).await;
        if let Ok(r) = reply
            && r.outcome == Outcome::Error
        {
            tracing::warn!(error = %r.message, "withdrawing an approval");
        }
    }

    /// The thread operation `id` lives in.
    fn thread_of(&self, id: u64) -> Option<String> {
        let op = self.journal.get(id).ok().flatten()?;
        place::of_operation(&op)?.thread_ts
    }
}

/// The same writing command with `--dry-run`: decided and planned, not written.
fn rehearsed(command: &Command) -> Command {
    let mut c = command.clone();
    match &mut c {
        Command::Deploy(d) => d.dry_run = true,
        Command::Promote(p) => p.dry_run = true,
        Command::Rollback(r) => r.dry_run = true,
        _ => {}
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_commands_read_as_the_command_language() {
        assert_eq!(
            command_text("/hoist", " deploy api v1 to dev "),
            "deploy api v1 to dev"
        );
        assert_eq!(
            command_text("/deploy", "api v1 to dev"),
            "deploy api v1 to dev"
        );
        assert_eq!(
            command_text("/rollback", "api in prod"),
            "rollback api in prod"
        );
    }

    #[test]
    fn mentions_of_the_bot_are_not_part_of_the_command() {
        assert_eq!(
            without_mention("<@UBOT> deploy api v1 to dev", "UBOT"),
            "deploy api v1 to dev"
        );
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]

            #[test]
            fn command_lines_are_trimmed_and_never_panic(command in any::<String>(), text in any::<String>()) {
                let line = command_text(&command, &text);
                prop_assert!(line.contains(text.trim()));
                prop_assert_eq!(line.trim_end(), line.as_str());
                // Whatever came in, parsing it is an answer, not a panic.
                let _ = hoist_commands::parse(&line);
            }

            #[test]
            fn no_mention_of_the_bot_survives(text in any::<String>(), bot in "[A-Z0-9]{1,11}") {
                let mention = format!("<@{bot}>");
                let said = format!("{mention}{text}{mention}");
                let left = without_mention(&said, &bot);
                // Each mention becomes a space, so none can form anew.
                prop_assert!(!left.contains(&mention), "{left:?}");
                prop_assert_eq!(left.trim(), left.as_str());
            }
        }

        #[test]
        fn a_mebibyte_of_text_is_handled() {
            let big = "<@UBOT> `x`\u{0}".repeat(1 << 16);
            assert!(!without_mention(&big, "UBOT").contains("<@UBOT>"));
            let line = command_text("/deploy", &big);
            assert!(line.starts_with("deploy "));
            assert!(hoist_commands::parse(&line).is_err());
        }
    }
}
