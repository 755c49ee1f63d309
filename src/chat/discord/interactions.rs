//! Discord's HTTP interactions once their signature held
//! (`src/server/discord.rs` checks it, and answers PING): what to answer at
//! once, within Discord's 3 seconds, and the work that follows.
//!
//! - `/hoist command:<text>` (APPLICATION_COMMAND): a deferred, ephemeral
//!   answer (type 5, flags 64) at once; then the interaction is registered
//!   for whispers ([`Discord::interaction`]: the first edits the deferred
//!   answer, later ones are ephemeral follow-ups) and the words go to the
//!   neutral layer as a command nobody else saw (its echo is posted by the
//!   neutral layer once a dry run says it would be written); at the end the
//!   deferred answer is filled if nothing else filled it.
//! - Approve and Deny buttons (MESSAGE_COMPONENT, `hoist:approve:<id>`): a
//!   deferred update (type 6) at once, then a vote ([`Press`]).
//! - Autocomplete: the verbs matching what was typed (type 8), at once.
//!
//! The channel object tells the guild and a thread's parent, the member its
//! roles: both are learned once the interaction is known not to be a
//! replay, the roles as old as the interaction. A thread that is not one of
//! hoist's operation threads is a channel of its own to the policy. An
//! interaction from a DM (a `user`, no `member`) is refused politely; one
//! of another kind is a 400. Each interaction is acted on once
//! (`discord:interaction:<id>`).
//!
//! [`Discord::interaction`]: super::Discord::interaction

use super::decode::{Ask, From, Interaction, choices, snowflake_time};
use super::inbound::Inbound;
use super::{text, whisper};
use crate::chat::{Audience, Press, Said};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The work that follows an acknowledgement.
pub type Job = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What to answer a verified interaction.
pub enum Answer {
    /// This, and nothing more to do.
    Now(Value),
    /// `ack` at once, then `work`; `busy` instead when the work runtime is full.
    Then { ack: Value, busy: Value, work: Job },
    /// Not an interaction hoist takes (400, with why).
    Bad(String),
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Now(v) => f.debug_tuple("Now").field(v).finish(),
            Answer::Then { ack, .. } => f.debug_struct("Then").field("ack", ack).finish(),
            Answer::Bad(why) => f.debug_tuple("Bad").field(why).finish(),
        }
    }
}

/// The application's public key, that Discord signs interactions with
/// (serenity's verifier: Ed25519 over the timestamp and the raw body).
#[derive(Clone)]
pub struct Key(serenity::interactions_endpoint::Verifier);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key")
    }
}

impl Key {
    /// `None` when the bytes are not an Ed25519 public key.
    pub fn new(public_key: [u8; 32]) -> Option<Key> {
        serenity::interactions_endpoint::Verifier::try_new(public_key)
            .ok()
            .map(Key)
    }

    /// Whether `signature` (128 hex digits) signs `timestamp` + `body`.
    pub fn verify(&self, signature: &str, timestamp: &str, body: &[u8]) -> bool {
        self.0.verify(signature, timestamp, body).is_ok()
    }
}

/// Words to the asker only, now (type 4, ephemeral, mentioning nobody).
fn whisper_now(words: &str) -> Value {
    json!({"type": 4, "data": {"content": words, "flags": 64, "allowed_mentions": {"parse": []}}})
}

const BUSY: &str = "hoist is busy right now and did nothing; try again in a minute.";
const DIRECT: &str = "hoist takes requests in a server's channels, not in direct messages.";
const DONE: &str = "Done: hoist answered in the channel.";

/// A verified body, read: answered without the adapter (bad bodies and
/// kinds, bad tokens, autocomplete, DMs), or to act on.
#[derive(Debug)]
pub enum Read {
    Answer(Answer),
    Act(Box<Interaction>, Ask, From),
}

/// Read a verified interaction body (not a PING).
pub fn read(body: &[u8]) -> Read {
    let i = match Interaction::read(body) {
        Ok(i) => i,
        Err(why) => return Read::Answer(Answer::Bad(why)),
    };
    let Some(ask) = i.ask() else {
        let why = format!("not an interaction hoist takes (type {})", i.kind);
        return Read::Answer(Answer::Bad(why));
    };
    if let Ask::Complete(typed) = &ask {
        let choices: Vec<Value> = choices(typed)
            .into_iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        return Read::Answer(Answer::Now(
            json!({"type": 8, "data": {"choices": choices}}),
        ));
    }
    let Some(from) = i.from() else {
        return Read::Answer(Answer::Now(whisper_now(DIRECT)));
    };
    if matches!(ask, Ask::Command(_)) && !whisper::token_ok(&i.token) {
        let why = "an interaction token of another shape".to_string();
        return Read::Answer(Answer::Bad(why));
    }
    Read::Act(Box::new(i), ask, from)
}

impl Inbound {
    /// The answer to a verified interaction body (not a PING).
    pub fn answer(self: &Arc<Self>, body: &[u8]) -> Answer {
        let (i, ask, from) = match read(body) {
            Read::Answer(a) => return a,
            Read::Act(i, ask, from) => (i, ask, from),
        };
        let key = format!("discord:interaction:{}", i.id);
        let this = self.clone();
        match ask {
            Ask::Command(line) => {
                let work = async move {
                    if !this.chat.first_seen(key).await {
                        return;
                    }
                    let channel = this.place(&i.id, &from).await;
                    this.discord.interaction(&channel, &from.user, &i.token);
                    this.chat
                        .on_words(Said {
                            user: from.user.clone(),
                            channel: channel.clone(),
                            message: None,
                            thread: None,
                            text: line,
                            addressed: true,
                            audience: Audience::Asker,
                        })
                        .await;
                    let done = text::escape(DONE);
                    this.discord
                        .finish_interaction(&channel, &from.user, &done)
                        .await;
                };
                Answer::Then {
                    ack: json!({"type": 5, "data": {"flags": 64}}),
                    busy: whisper_now(BUSY),
                    work: Box::pin(work),
                }
            }
            Ask::Press { operation, approve } => {
                let work = async move {
                    if !this.chat.first_seen(key).await {
                        return;
                    }
                    let channel = this.place(&i.id, &from).await;
                    this.discord
                        .interaction_component(&channel, &from.user, &i.token);
                    let press = Press {
                        user: from.user,
                        channel,
                        operation,
                        approve,
                    };
                    this.chat.on_press(press).await
                };
                Answer::Then {
                    ack: json!({"type": 6}),
                    busy: whisper_now(BUSY),
                    work: Box::pin(work),
                }
            }
            Ask::Complete(_) => Answer::Bad("autocomplete is answered by `read`".into()),
        }
    }

    /// What interaction `id` taught (it is no replay: its roles are as old
    /// as it is), and its channel as the neutral layer names it: the parent
    /// of one of hoist's operation threads, any other thread itself
    /// ([`Inbound::request_channel`]).
    async fn place(&self, id: &str, from: &From) -> String {
        let guild = from.guild.as_deref();
        self.discord
            .learn(&from.channel, guild, from.parent.as_deref());
        if let (Some(g), Some(at)) = (guild, snowflake_time(id)) {
            self.discord.learn_roles_at(g, &from.user, &from.roles, at);
        }
        self.request_channel(&from.channel).await.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(body: serde_json::Value) -> Value {
        match read(body.to_string().as_bytes()) {
            Read::Answer(Answer::Now(v)) => v,
            other => panic!("not answered at once: {other:?}"),
        }
    }

    fn bad(body: &[u8]) -> String {
        match read(body) {
            Read::Answer(Answer::Bad(why)) => why,
            other => panic!("not refused: {other:?}"),
        }
    }

    const MEMBER: &str = r#"{"user":{"id":"9"},"roles":["3"]}"#;

    #[test]
    fn autocomplete_is_answered_at_once_with_matching_verbs() {
        let v = now(json!({"id": "1", "type": 4,
            "data": {"options": [{"name": "command", "value": "ro", "focused": true}]}}));
        assert_eq!(v["type"], 8);
        let choices = v["data"]["choices"].as_array().unwrap();
        assert_eq!(choices.len(), 1);
        assert_eq!(choices[0]["value"], "rollback");
    }

    #[test]
    fn a_dm_is_refused_politely_to_the_asker_only() {
        let v = now(
            json!({"id": "1", "type": 2, "token": "t", "channel_id": "5",
            "user": {"id": "9"}, "data": {"options": [{"name": "command", "value": "status"}]}}),
        );
        assert_eq!(v["type"], 4);
        assert_eq!(v["data"]["flags"], 64);
        assert_eq!(v["data"]["allowed_mentions"]["parse"], json!([]));
        assert!(
            v["data"]["content"]
                .as_str()
                .unwrap()
                .contains("direct messages")
        );
    }

    #[test]
    fn unknown_kinds_bad_bodies_and_bad_tokens_are_refused() {
        assert!(bad(br#"{"id":"1","type":9}"#).contains("type 9"));
        assert!(bad(b"not json").starts_with("not an interaction"));
        let token =
            format!(r#"{{"id":"1","type":2,"token":"a/../b","channel_id":"5","member":{MEMBER}}}"#);
        assert!(bad(token.as_bytes()).contains("token"));
    }

    #[test]
    fn commands_and_buttons_from_a_guild_are_acted_on() {
        let body = format!(
            r#"{{"id":"1","type":2,"token":"tok","channel_id":"5","guild_id":"7","member":{MEMBER},
            "data":{{"options":[{{"name":"command","value":"status"}}]}}}}"#
        );
        let Read::Act(_, ask, from) = read(body.as_bytes()) else {
            panic!("not acted on");
        };
        assert_eq!(ask, Ask::Command("status".into()));
        assert_eq!((from.user.as_str(), from.channel.as_str()), ("9", "5"));
        let body = format!(
            r#"{{"id":"2","type":3,"channel_id":"5","member":{MEMBER},
            "data":{{"custom_id":"hoist:deny:12"}}}}"#
        );
        let Read::Act(_, ask, _) = read(body.as_bytes()) else {
            panic!("not acted on");
        };
        assert_eq!(
            ask,
            Ask::Press {
                operation: 12,
                approve: false
            }
        );
    }
}
