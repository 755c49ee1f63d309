//! What Slack traffic is, in the neutral terms of [`crate::chat`], after it
//! was acknowledged: a slash command is words nobody else saw (answered to
//! the asker, its operation threaded under an echo hoist posts); an
//! `app_mention` is words in a thread of its own; a message is words when it
//! is direct, or in the thread of one of hoist's operations and reads as a
//! command; a reaction on a message is a vote (with Slack's skin tones
//! dropped: `+1::skin-tone-2` is `+1`); a button press is a vote. Slash
//! commands, button presses and events are each acted on once, however
//! often the same one arrives ([`super::replay`]).

use super::{Slack, render, replay};
use crate::chat::{Audience, Press, Reaction, Said};
use slack_morphism::prelude::*;
use std::sync::Arc;

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

impl Slack {
    /// A slash command (HTTP or Socket Mode), once per `trigger_id`.
    pub async fn on_command(self: Arc<Self>, ev: SlackCommandEvent) {
        if !self.chat.first_seen(replay::command_key(&ev)).await {
            return;
        }
        let text = command_text(&ev.command.0, ev.text.as_deref().unwrap_or(""));
        self.chat
            .on_words(Said {
                user: ev.user_id.0,
                channel: ev.channel_id.0,
                message: None,
                thread: None,
                text,
                addressed: true,
                audience: Audience::Asker,
            })
            .await
    }

    /// An Events API callback (HTTP or Socket Mode), once per `event_id`.
    pub async fn on_event(self: Arc<Self>, ev: SlackPushEventCallback) {
        if !self.chat.first_seen(replay::event_key(&ev)).await {
            return;
        }
        match ev.event {
            SlackEventCallbackBody::AppMention(m) => {
                let text =
                    without_mention(m.content.text.as_deref().unwrap_or(""), &self.me.user_id);
                self.chat
                    .on_words(Said {
                        user: m.user.0,
                        channel: m.channel.0,
                        message: Some(m.origin.ts.0),
                        thread: m.origin.thread_ts.map(|t| t.0),
                        text,
                        addressed: true,
                        audience: Audience::Thread,
                    })
                    .await
            }
            SlackEventCallbackBody::Message(m) => self.on_message(m).await,
            SlackEventCallbackBody::ReactionAdded(r) => {
                self.on_reaction(r.user.0, r.reaction.0, &r.item, true)
                    .await
            }
            SlackEventCallbackBody::ReactionRemoved(r) => {
                self.on_reaction(r.user.0, r.reaction.0, &r.item, false)
                    .await
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
        let thread = m.origin.thread_ts.as_ref().map(|t| t.0.clone());
        let notes = self.chat.notes();
        let ours = thread
            .as_deref()
            .is_some_and(|t| notes.operation_of_thread(&channel.0, t).is_some());
        if !direct && !ours {
            return;
        }
        self.chat
            .on_words(Said {
                user: user.0.clone(),
                channel: channel.0.clone(),
                message: Some(m.origin.ts.0.clone()),
                thread,
                text: text.trim().to_string(),
                addressed: direct,
                audience: Audience::Thread,
            })
            .await
    }

    /// A reaction on a message: a vote when the message is one of hoist's.
    async fn on_reaction(
        &self,
        user: String,
        name: String,
        item: &SlackReactionsItem,
        added: bool,
    ) {
        let SlackReactionsItem::Message(item) = item else {
            return;
        };
        let Some(channel) = item.origin.channel.as_ref() else {
            return;
        };
        self.chat
            .on_reaction(Reaction {
                user,
                channel: channel.0.clone(),
                message: item.origin.ts.0.clone(),
                name: reaction_name(&name).to_string(),
                added,
            })
            .await
    }

    /// A button on an approval request, once per press.
    pub async fn on_interaction(self: Arc<Self>, ev: SlackInteractionEvent) {
        let SlackInteractionEvent::BlockActions(b) = ev else {
            return;
        };
        if !self.chat.first_seen(replay::actions_key(&b)).await {
            return;
        }
        let (Some(user), Some(channel)) = (&b.user, &b.channel) else {
            return;
        };
        for a in b.actions.iter().flatten() {
            let Some(operation) = a.value.as_deref().and_then(|v| v.parse().ok()) else {
                continue;
            };
            let approve = match a.action_id.0.as_str() {
                render::APPROVE => true,
                render::DENY => false,
                _ => continue,
            };
            self.chat
                .on_press(Press {
                    user: user.id.0.clone(),
                    channel: channel.id.0.clone(),
                    operation,
                    approve,
                })
                .await
        }
    }
}

/// A reaction's name without its skin tone: `+1::skin-tone-2` is `+1`.
pub fn reaction_name(name: &str) -> &str {
    name.split("::").next().unwrap_or(name)
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
    fn a_skin_tone_is_the_same_reaction() {
        assert_eq!(reaction_name("+1::skin-tone-2"), "+1");
        assert_eq!(reaction_name("white_check_mark"), "white_check_mark");
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
