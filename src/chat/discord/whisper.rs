//! Words only one person sees. Discord has ephemeral messages only as
//! answers to an interaction, so a whisper goes, in order of preference:
//!
//! 1. to a pending interaction of that person in that channel, its token
//!    valid 15 minutes. A slash command ([`Discord::interaction`], deferred
//!    as an ephemeral response of its own, type 5): the first whisper fills
//!    that deferred response (PATCH /webhooks/APP/TOKEN/messages/@original),
//!    later ones are ephemeral follow-ups (POST /webhooks/APP/TOKEN, flags
//!    64). A button press ([`Discord::interaction_component`], deferred as
//!    an update of the pressed message, type 6): follow-ups only, since its
//!    original response is the pressed message, hoist's live message;
//! 2. else as a direct message (POST /users/@me/channels, then a post);
//! 3. a DM the person refuses (Discord's code 50007) is said in the thread
//!    or channel, mentioning them, but only where hoist itself posted (an
//!    operation's thread, the channel of its live message), at most once per
//!    person and place in [`PUBLIC_GAP`]: a whisper is never a way to make
//!    hoist post anywhere it can read, or as often as someone toggles a
//!    reaction. Otherwise it is dropped (logged at debug).
//!
//! The same words to the same person within [`REPEAT_GAP`] go once: the
//! repeats are dropped before any DM is tried.

use super::places::{Bounded, Kind as PlaceKind, lock};
use super::{CallError, Discord, render, text};
use crate::chat::{Message, Platform};
use serde_json::json;
use serenity::http::{LightMethod, Route};
use serenity::model::id::{ApplicationId, ChannelId};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long after it arrived an interaction's token is used (Discord's
/// tokens are valid 15 minutes; a minute is kept for the call itself).
pub const INTERACTION_TTL: Duration = Duration::from_secs(14 * 60);
/// At most this many pending interactions, and this many DM channels, are
/// kept (the oldest forgotten first).
pub const WHISPERS_MAX: usize = 10_000;
/// An interaction token's longest accepted length.
pub const TOKEN_MAX: usize = 512;
/// Discord's code for "Cannot send messages to this user".
pub const DM_REFUSED: i64 = 50_007;
/// At most one refused whisper said publicly per person and place in this
/// long.
pub const PUBLIC_GAP: Duration = Duration::from_secs(5 * 60);
/// The same words to the same person go at most once in this long.
pub const REPEAT_GAP: Duration = Duration::from_secs(10);

/// How an interaction was deferred, so what its whispers may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A command deferred with an answer of its own (type 5): the first
    /// whisper fills it, later ones follow up.
    Command,
    /// A button press deferred as an update of the pressed message (type
    /// 6): its original response is that message, so follow-ups only.
    Component,
}

#[derive(Debug, Clone)]
struct Pending {
    token: String,
    at: Instant,
    /// Whether the deferred original response was filled (a component's
    /// never may be: it is taken as filled).
    answered: bool,
    kind: Kind,
}

/// Which answer of an interaction a whisper takes.
enum Answer {
    Original(String),
    Followup(String),
}

/// The pending interactions per (channel, user), DM channels per user, and
/// when words were last sent to a person (per words, and publicly per
/// place).
#[derive(Debug)]
pub struct Whispers {
    pending: Mutex<Bounded<(String, String), Pending>>,
    dms: Mutex<Bounded<String, String>>,
    /// (user, a hash of the words) -> when they were last whispered.
    said: Mutex<Bounded<(String, u64), Instant>>,
    /// (user, place) -> when a refused whisper was last said there.
    public: Mutex<Bounded<(String, String), Instant>>,
}

impl Default for Whispers {
    fn default() -> Whispers {
        Whispers {
            pending: Mutex::new(Bounded::new(WHISPERS_MAX)),
            dms: Mutex::new(Bounded::new(WHISPERS_MAX)),
            said: Mutex::new(Bounded::new(WHISPERS_MAX)),
            public: Mutex::new(Bounded::new(WHISPERS_MAX)),
        }
    }
}

/// Whether `key` was not stamped within `gap` in `table`; if so it is
/// stamped now.
fn first_in<K: Eq + std::hash::Hash + Clone>(
    table: &Mutex<Bounded<K, Instant>>,
    key: K,
    gap: Duration,
) -> bool {
    let mut table = lock(table);
    if table.get(&key).is_some_and(|at| at.elapsed() < gap) {
        return false;
    }
    table.insert(key, Instant::now());
    true
}

/// Whether `token` has the shape of an interaction token (URL-safe
/// characters only), so it may be put in a route.
pub fn token_ok(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= TOKEN_MAX
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Whispers {
    /// An interaction of `user` in `channel` with `token`, just received,
    /// deferred as `kind` says. A token of another shape is ignored. A press
    /// does not take the place of a command of the same person still
    /// pending there (its end would find no answer to fill, and "hoist is
    /// thinking" would stay): the press's whispers go to that command's
    /// answer, or as its ephemeral follow-ups.
    pub fn register(&self, channel: &str, user: &str, token: &str, kind: Kind) {
        if !token_ok(token) {
            return;
        }
        let key = (channel.to_string(), user.to_string());
        let mut pending = lock(&self.pending);
        let waiting = pending
            .get(&key)
            .is_some_and(|p| p.kind == Kind::Command && p.at.elapsed() < INTERACTION_TTL);
        if kind == Kind::Component && waiting {
            return;
        }
        let new = Pending {
            token: token.to_string(),
            at: Instant::now(),
            answered: kind == Kind::Component,
            kind,
        };
        pending.insert(key, new);
    }

    /// The answer the next whisper to `user` in `channel` takes, claimed:
    /// the original response once, follow-ups after.
    fn claim(&self, channel: &str, user: &str, original_only: bool) -> Option<Answer> {
        let key = (channel.to_string(), user.to_string());
        let mut pending = lock(&self.pending);
        let p = pending.get(&key)?.clone();
        if p.at.elapsed() >= INTERACTION_TTL {
            pending.remove(&key);
            return None;
        }
        if p.answered {
            return (!original_only).then_some(Answer::Followup(p.token));
        }
        pending.insert(
            key,
            Pending {
                answered: true,
                ..p.clone()
            },
        );
        Some(Answer::Original(p.token))
    }

    fn dm(&self, user: &str) -> Option<String> {
        lock(&self.dms).get(&user.to_string()).cloned()
    }

    /// Whether `text` to `user` was not whispered within [`REPEAT_GAP`]
    /// (and is counted as whispered now).
    fn first_saying(&self, user: &str, text: &str) -> bool {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut hash = DefaultHasher::new();
        text.hash(&mut hash);
        first_in(&self.said, (user.to_string(), hash.finish()), REPEAT_GAP)
    }

    /// Whether a refused whisper to `user` may be said in `place` now
    /// (none was within [`PUBLIC_GAP`]), counted as said.
    fn first_public(&self, user: &str, place: &str) -> bool {
        first_in(
            &self.public,
            (user.to_string(), place.to_string()),
            PUBLIC_GAP,
        )
    }
}

/// `text` (escaped) to `user` only, asked from `channel` (`thread`).
pub async fn ephemeral(
    d: &Discord,
    channel: &str,
    user: &str,
    thread: Option<&str>,
    text: &str,
) -> Result<(), CallError> {
    if !text::snowflake(user) {
        return Err(CallError::not_an_id(user));
    }
    if let Some(answer) = d.whispers().claim(channel, user, false) {
        match answer_with(d, answer, text).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "discord: an interaction answer failed; a DM instead")
            }
        }
    }
    if !d.whispers().first_saying(user, text) {
        tracing::debug!("discord: the same whisper to the same person again, dropped");
        return Ok(());
    }
    match direct(d, user, text).await {
        Err(e) if e.code() == Some(DM_REFUSED) => {
            if !publicly(d, channel, user, thread) {
                return Ok(());
            }
            let said = Message::text(format!("{} {text}", text::mention(user)));
            d.post(channel, thread, &said).await.map(|_| ())
        }
        other => other,
    }
}

/// Whether a whisper to `user` whose DM was refused is said in the thread
/// (or channel) with a mention: only where hoist posted, once per person
/// and place in [`PUBLIC_GAP`] (counted as said now); else it is dropped.
fn publicly(d: &Discord, channel: &str, user: &str, thread: Option<&str>) -> bool {
    let places = d.places();
    // Where the post would go: thread R when hoist posted in it, else the
    // channel when it holds no threads and hoist posted there (replies).
    let ours = match thread {
        Some(r) => {
            places.hoist_posted_in(r)
                || (places.kind(channel) == Some(PlaceKind::NoThreads)
                    && places.hoist_posted_in(channel))
        }
        None => places.hoist_posted_in(channel),
    };
    if !ours {
        tracing::debug!("discord: a refused whisper where hoist did not post, dropped");
        return false;
    }
    if !d.whispers().first_public(user, thread.unwrap_or(channel)) {
        tracing::debug!("discord: a refused whisper said there recently, dropped");
        return false;
    }
    true
}

/// The end of an interaction: `text` in its original response, unless a
/// whisper filled it already.
pub async fn finish(d: &Discord, channel: &str, user: &str, text: &str) -> Result<(), CallError> {
    match d.whispers().claim(channel, user, true) {
        Some(answer) => answer_with(d, answer, text).await,
        None => Ok(()),
    }
}

async fn answer_with(d: &Discord, answer: Answer, text: &str) -> Result<(), CallError> {
    let app = d
        .application()
        .and_then(|a| text::id(&a))
        .ok_or(CallError::NoApplication)?;
    let application_id = ApplicationId::new(app);
    let mut body = render::words(text);
    match &answer {
        Answer::Original(token) => {
            body["embeds"] = json!([]);
            body["components"] = json!([]);
            let route = Route::WebhookOriginalInteractionResponse {
                application_id,
                token,
            };
            d.call(route, LightMethod::Patch, Some(&body)).await?;
        }
        Answer::Followup(token) => {
            body["flags"] = json!(64);
            let route = Route::WebhookFollowupMessages {
                application_id,
                token,
            };
            d.call(route, LightMethod::Post, Some(&body)).await?;
        }
    }
    Ok(())
}

/// A direct message to `user` (its DM channel opened once, remembered).
async fn direct(d: &Discord, user: &str, text: &str) -> Result<(), CallError> {
    let channel = match d.whispers().dm(user) {
        Some(c) => c,
        None => {
            let opened = d
                .call(
                    Route::UserMeDmChannels,
                    LightMethod::Post,
                    Some(&json!({"recipient_id": user})),
                )
                .await?;
            let id = opened["id"]
                .as_str()
                .filter(|c| text::snowflake(c))
                .ok_or_else(|| CallError::Transport("a DM channel without an id".into()))?
                .to_string();
            lock(&d.whispers().dms).insert(user.to_string(), id.clone());
            id
        }
    };
    let n = text::id(&channel).ok_or_else(|| CallError::not_an_id(&channel))?;
    let route = Route::ChannelMessages {
        channel_id: ChannelId::new(n),
    };
    d.call(route, LightMethod::Post, Some(&render::words(text)))
        .await
        .map(|_| ())
}
