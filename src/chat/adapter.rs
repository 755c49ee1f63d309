//! The chat adapter every platform shares ([`Chat`]): it holds the engine,
//! the way out ([`Outbox`]), the journal notes and the reactions that vote,
//! and knows how a platform's user and channel become a request's actor
//! (`slack:U1`) and channel (`slack:C1`), which of the policy's platform
//! groups a person is in, and whether a delivery was seen before
//! ([`Journal::first_seen`]). What people say is in [`super::requests`],
//! what their reactions and buttons mean in [`super::votes`]. The engine is
//! called on a blocking thread: its ports are synchronous.

use super::live::Live;
use super::notes::Notes;
use super::outbox::Outbox;
use super::platform::{Place, Platform, own};
use super::votes::Reactions;
use crate::engine::ports::{Clock, Journal};
use crate::engine::{Engine, Operation, Reply, Request};
use std::sync::Arc;

/// One platform's adapter, shared by all its inbound paths.
pub struct Chat<P: Platform> {
    pub(super) engine: Arc<Engine>,
    pub(super) out: Arc<Outbox<P>>,
    pub(super) notes: Notes,
    pub(super) journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
    pub(super) reactions: Reactions,
}

impl<P: Platform> std::fmt::Debug for Chat<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("platform", &self.out.platform().name())
            .field("reactions", &self.reactions)
            .finish_non_exhaustive()
    }
}

/// What [`Chat::new`] needs.
pub struct Parts<P: Platform> {
    pub engine: Arc<Engine>,
    /// The engine's `Notify` (its outbox is the adapter's too).
    pub live: Arc<Live<P>>,
    pub journal: Arc<dyn Journal>,
    pub clock: Arc<dyn Clock>,
    pub reactions: Reactions,
}

impl<P: Platform> std::fmt::Debug for Parts<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("reactions", &self.reactions)
            .finish_non_exhaustive()
    }
}

impl<P: Platform> Chat<P> {
    /// The adapter; from now on the live messages' approval requests name
    /// who may approve, as the engine's policy says.
    pub fn new(p: Parts<P>) -> Arc<Chat<P>> {
        let engine = Arc::downgrade(&p.engine);
        p.live.read_policy_with(Arc::new(move || {
            let policy = engine.upgrade()?.policy();
            policy
                .inspect_err(|e| tracing::debug!(error = %e, "reading the policy for mentions"))
                .ok()
        }));
        let platform = p.live.outbox().platform().name();
        Arc::new(Chat {
            engine: p.engine,
            out: p.live.outbox().clone(),
            notes: Notes::new(p.journal.clone(), platform),
            journal: p.journal,
            clock: p.clock,
            reactions: p.reactions,
        })
    }

    pub fn platform(&self) -> &P {
        self.out.platform()
    }

    pub fn outbox(&self) -> &Arc<Outbox<P>> {
        &self.out
    }

    pub fn notes(&self) -> &Notes {
        &self.notes
    }

    /// `slack:U1` for the platform's user `U1`.
    pub(super) fn actor(&self, user: &str) -> String {
        format!("{}:{user}", self.platform().name())
    }

    /// `slack:C1` for the platform's channel `C1`.
    pub(super) fn channel(&self, channel: &str) -> String {
        format!("{}:{channel}", self.platform().name())
    }

    /// Run a request through the engine on a blocking thread.
    pub(super) async fn run(&self, req: Request) -> Reply {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.handle(&req))
            .await
            .unwrap_or_else(|e| Reply::error(format!("the engine stopped: {e}")))
    }

    /// The platform groups (of those the policy names) that `user` is in,
    /// as the policy names them (`slack-group:S1`), asked from `channel`.
    pub(super) async fn memberships(&self, user: &str, channel: &str) -> Vec<String> {
        let engine = self.engine.clone();
        let groups = tokio::task::spawn_blocking(move || engine.platform_groups())
            .await
            .unwrap_or_default();
        let kind = self.platform().group_kind();
        let ids: Vec<String> = groups
            .iter()
            .filter_map(|g| own(kind, g).map(str::to_string))
            .collect();
        if ids.is_empty() {
            return Vec::new();
        }
        let member = self.platform().member_of(user, channel, &ids).await;
        member.iter().map(|id| format!("{kind}:{id}")).collect()
    }

    /// Is this delivery new? `key` is the platform's id of it: retried
    /// deliveries and replays of a signed body carry the same one.
    pub async fn first_seen(&self, key: String) -> bool {
        let journal = self.journal.clone();
        let now = self.clock.now();
        let shown = key.clone();
        let seen = tokio::task::spawn_blocking(move || journal.first_seen(&key, now)).await;
        match seen {
            Ok(Ok(fresh)) => {
                if !fresh {
                    tracing::info!(key = %shown, "a request already handled (a retry or a replay)");
                }
                fresh
            }
            Ok(Err(e)) => {
                // Not knowing is answered as "new": a lost approval is worse
                // than a vote counted twice, which the engine refuses anyway.
                tracing::warn!(error = %e, key = %shown, "dedupe store");
                true
            }
            Err(_) => true,
        }
    }

    /// The thread operation `id` lives in.
    pub(super) fn thread_of(&self, id: u64) -> Option<String> {
        let op = self.journal.get(id).ok().flatten()?;
        place_of(self.platform(), &op)?.thread
    }
}

/// Where an operation's messages go on `p`: the thread of its request (its
/// permalink, the `Hoist-Chat` trailer), or (asked from the command line
/// with `--channel slack:C1`) the channel; `None` when it did not come from
/// this platform. No table is needed, before or after a restart.
pub fn place_of<P: Platform>(p: &P, op: &Operation) -> Option<Place> {
    if let Some(place) = p.place_of_link(&op.chat) {
        return Some(place);
    }
    let channel = own(p.name(), op.channel.as_deref()?)?;
    Some(Place {
        channel: channel.to_string(),
        thread: None,
    })
}
