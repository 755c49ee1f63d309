//! One live message per operation, on any platform: posted in the request's
//! thread the first time the engine reports on the operation, then edited in
//! place as it moves. Reports are coalesced per operation (the newest wins,
//! at most one call per [`EDIT_GAP`]); posts are paced per channel by the
//! [`Outbox`]. Milestones that need someone's attention ([`compose`]) are
//! thread replies of their own, posted once per operation and kind, even
//! across restarts. Which message shows which operation is kept in the
//! journal's notes ([`Notes`]), so reactions on them still count after a
//! restart.
//!
//! Engine calls are synchronous; [`LiveNotify`] implements the engine's
//! `Notify` port by queueing work for a task on the runtime [`Live`] was
//! made in.

use super::adapter::place_of;
use super::compose::{self, milestone_kind};
use super::notes::Notes;
use super::outbox::Outbox;
use super::platform::{Message, Place, Platform, own};
use super::votes::Reactions;
use crate::engine::Operation;
use crate::engine::ports::{Journal, Notify};
use crate::policy::Policy;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The least time between two edits of one message.
pub const EDIT_GAP: Duration = Duration::from_secs(1);

/// Where the policy is read when an approval request names its approvers.
pub type PolicySource = Arc<dyn Fn() -> Option<Policy> + Send + Sync>;

/// A milestone reply to post: its kind and the operation as it was.
#[derive(Debug, Clone)]
struct Milestone {
    kind: &'static str,
    op: Operation,
}

#[derive(Debug, Default)]
struct Pending {
    message: Option<Message>,
    milestones: VecDeque<Milestone>,
    running: bool,
}

/// The live messages of one platform.
pub struct Live<P: Platform> {
    out: Arc<Outbox<P>>,
    notes: Notes,
    reactions: Reactions,
    policy: OnceLock<PolicySource>,
    runtime: tokio::runtime::Handle,
    edit_gap: Duration,
    pending: Mutex<HashMap<u64, Pending>>,
}

impl<P: Platform> std::fmt::Debug for Live<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("platform", &self.out.platform().name())
            .finish_non_exhaustive()
    }
}

impl<P: Platform> Live<P> {
    /// Must be created inside the runtime its tasks will run on.
    /// `reactions` are named in approval requests.
    pub fn new(out: Arc<Outbox<P>>, journal: Arc<dyn Journal>, reactions: Reactions) -> Arc<Self> {
        Self::with_edit_gap(out, journal, reactions, EDIT_GAP)
    }

    /// [`Live::new`] with another least time between two edits.
    pub fn with_edit_gap(
        out: Arc<Outbox<P>>,
        journal: Arc<dyn Journal>,
        reactions: Reactions,
        edit_gap: Duration,
    ) -> Arc<Self> {
        let notes = Notes::new(journal, out.platform().name());
        Arc::new(Live {
            out,
            notes,
            reactions,
            policy: OnceLock::new(),
            runtime: tokio::runtime::Handle::current(),
            edit_gap,
            pending: Mutex::new(HashMap::new()),
        })
    }

    pub fn outbox(&self) -> &Arc<Outbox<P>> {
        &self.out
    }

    /// Read the policy with `source` to name who may approve (the first
    /// call wins). Without one, approval requests name nobody.
    pub fn read_policy_with(&self, source: PolicySource) {
        if self.policy.set(source).is_err() {
            tracing::debug!("the live messages already read the policy elsewhere");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue `message` (and `milestone`) for operation `id`; start its task
    /// unless one is running.
    fn queue(self: &Arc<Self>, id: u64, at: Place, message: Message, milestone: Option<Milestone>) {
        let start = {
            let mut all = self.lock();
            let p = all.entry(id).or_default();
            p.message = Some(message);
            if let Some(m) = milestone
                && !p.milestones.iter().any(|q| q.kind == m.kind)
            {
                p.milestones.push_back(m);
            }
            !std::mem::replace(&mut p.running, true)
        };
        if start {
            let me = self.clone();
            self.runtime.spawn(async move { me.drain(id, at).await });
        }
    }

    /// Send what is queued for `id`, one round per edit gap, until nothing is.
    async fn drain(self: Arc<Self>, id: u64, at: Place) {
        loop {
            let (message, milestones) = {
                let mut all = self.lock();
                let Some(p) = all.get_mut(&id) else { return };
                if p.message.is_none() && p.milestones.is_empty() {
                    all.remove(&id);
                    return;
                }
                (p.message.take(), std::mem::take(&mut p.milestones))
            };
            let live = match message {
                Some(m) => self.show(id, &at, &m).await,
                None => self.notes.live(id),
            };
            let thread = at.thread.clone().or(live);
            for m in milestones {
                self.milestone(&at.channel, thread.as_deref(), m).await;
            }
            tokio::time::sleep(self.edit_gap).await;
        }
    }

    /// Post the live message, or edit it; its id.
    async fn show(&self, id: u64, at: &Place, message: &Message) -> Option<String> {
        if let Some(live) = self.notes.live(id) {
            if let Err(e) = self
                .out
                .edit(&at.channel, at.thread.as_deref(), &live, message)
                .await
            {
                tracing::warn!(error = %e, operation = id, "editing the live message");
            }
            return Some(live);
        }
        match self
            .out
            .post(&at.channel, at.thread.as_deref(), message)
            .await
        {
            Ok(live) => {
                let root = at.thread.as_deref().unwrap_or(&live);
                self.notes.live_posted(id, &at.channel, &live, root);
                Some(live)
            }
            Err(e) => {
                tracing::warn!(error = %e, operation = id, "posting the live message");
                None
            }
        }
    }

    /// Post milestone `m` unless it was posted before.
    async fn milestone(&self, channel: &str, thread: Option<&str>, m: Milestone) {
        let id = m.op.id;
        if self.notes.milestone(id, m.kind).is_some() {
            return;
        }
        let approvers = if m.kind == "approval" {
            self.who_may_approve(&m.op).await
        } else {
            Vec::new()
        };
        let p = self.out.platform();
        let message = compose::milestone(p, &m.op, m.kind, &approvers, &self.reactions);
        match self.out.post(channel, thread, &message).await {
            Ok(posted) => self.notes.milestone_posted(id, m.kind, channel, &posted),
            Err(e) => tracing::warn!(error = %e, operation = id, "posting a milestone"),
        }
    }

    /// Who may approve `op` under the policy as it is now (none when it
    /// cannot be read: the request is still posted).
    async fn who_may_approve(&self, op: &Operation) -> Vec<String> {
        let Some(source) = self.policy.get().cloned() else {
            return Vec::new();
        };
        // Reading the policy may fetch: not on the runtime's own threads.
        let policy = tokio::task::spawn_blocking(move || source()).await;
        match policy {
            Ok(Some(p)) => compose::who_may_approve(&p, op),
            _ => Vec::new(),
        }
    }
}

/// `Notify` is implemented on the `Arc` so queued work can outlive the call.
pub struct LiveNotify<P: Platform>(pub Arc<Live<P>>);

impl<P: Platform> std::fmt::Debug for LiveNotify<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LiveNotify").field(&self.0).finish()
    }
}

impl<P: Platform> Notify for LiveNotify<P> {
    fn update(&self, op: &Operation, text: &str) {
        let p = self.0.out.platform();
        let Some(at) = place_of(p, op) else {
            return;
        };
        let milestone = milestone_kind(op).map(|kind| Milestone {
            kind,
            op: op.clone(),
        });
        self.0
            .queue(op.id, at, compose::live(p, op, text), milestone)
    }

    fn reply(&self, op: &Operation, text: &str) {
        let p = self.0.out.platform();
        let Some(at) = place_of(p, op) else {
            return;
        };
        // The request's thread, else the one the live message roots.
        let thread = at.thread.clone().or_else(|| self.0.notes.live(op.id));
        let who = super::platform::actor(p, &op.actor);
        let message = Message::text(format!("{who} {}", p.escape(text)));
        let out = self.0.out.clone();
        let id = op.id;
        self.0.runtime.spawn(async move {
            if let Err(e) = out.post(&at.channel, thread.as_deref(), &message).await {
                tracing::warn!(error = %e, operation = id, "posting a reply in the thread");
            }
        });
    }

    fn alert(&self, channel: &str, text: &str) {
        let Some(channel) = own(self.0.out.platform().name(), channel).map(str::to_string) else {
            return;
        };
        let out = self.0.out.clone();
        let text = text.to_string();
        self.0
            .runtime
            .spawn(async move { out.say(&channel, None, &text).await });
    }
}

#[cfg(test)]
mod tests;
