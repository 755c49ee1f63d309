//! One live message per operation: posted in the request's thread the first
//! time the engine reports on it, then edited in place as the operation moves.
//! Edits are coalesced per operation (the newest text wins, at most one call
//! per [`EDIT_GAP`]); milestones that need someone's attention (approval
//! needed, denied, failed, degraded, timed out) are thread replies of their
//! own, posted once. Which message shows which operation is kept in the
//! journal's notes, so reactions on it still count after a restart.
//!
//! Every text the engine hands over is escaped ([`super::text`]); only the
//! mentions of people hoist builds itself stay markup.
//!
//! Engine calls are synchronous; [`Live`] implements the engine's `Notify`
//! port by queueing work for a task on the server's runtime.

use super::api::Api;
use super::place::{self, Place};
use super::text;
use crate::engine::ports::{Journal, Notify};
use crate::engine::{Operation, State, render};
use slack_morphism::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The least time between two edits of one message.
pub const EDIT_GAP: Duration = Duration::from_secs(1);

/// A thread reply that should notify people.
#[derive(Debug, Clone)]
struct Milestone {
    /// `approval`, `failed`, ...: posted once per operation and kind.
    kind: &'static str,
    text: String,
    buttons: Option<u64>,
}

#[derive(Debug, Default)]
struct Pending {
    text: Option<SlackMessageContent>,
    milestones: VecDeque<Milestone>,
    running: bool,
}

/// The Slack side of the engine's `Notify` port.
pub struct Live {
    api: Arc<Api>,
    journal: Arc<dyn Journal>,
    runtime: tokio::runtime::Handle,
    pending: Mutex<HashMap<u64, Pending>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

impl Live {
    /// Must be created inside the runtime its tasks will run on.
    pub fn new(api: Arc<Api>, journal: Arc<dyn Journal>) -> Arc<Live> {
        Arc::new(Live {
            api,
            journal,
            runtime: tokio::runtime::Handle::current(),
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// The operation a message (the live one or a milestone) belongs to.
    pub fn operation_of(&self, channel: &str, ts: &str) -> Option<u64> {
        self.note(&place::message_key(channel, ts))?.parse().ok()
    }

    /// The operation whose request started the thread `thread_ts`.
    pub fn operation_of_thread(&self, channel: &str, thread_ts: &str) -> Option<u64> {
        self.note(&place::thread_key(channel, thread_ts))?
            .parse()
            .ok()
    }

    fn note(&self, key: &str) -> Option<String> {
        self.journal.recall(key).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading a chat note");
            None
        })
    }

    fn keep(&self, key: &str, value: &str) {
        if let Err(e) = self.journal.remember(key, value) {
            tracing::warn!(error = %e, key, "writing a chat note");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue `content` (and `milestone`) for operation `id`; start its task
    /// unless one is running.
    fn queue(
        self: &Arc<Self>,
        id: u64,
        at: Place,
        content: SlackMessageContent,
        milestone: Option<Milestone>,
    ) {
        let start = {
            let mut all = self.lock();
            let p = all.entry(id).or_default();
            p.text = Some(content);
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

    /// Send what is queued for `id`, one round per [`EDIT_GAP`], until nothing is.
    async fn drain(self: Arc<Self>, id: u64, at: Place) {
        loop {
            let (text, milestones) = {
                let mut all = self.lock();
                let Some(p) = all.get_mut(&id) else { return };
                if p.text.is_none() && p.milestones.is_empty() {
                    all.remove(&id);
                    return;
                }
                (p.text.take(), std::mem::take(&mut p.milestones))
            };
            let live = match text {
                Some(content) => self.show(id, &at, content).await,
                None => self.live_message(id),
            };
            let thread = at.thread_ts.clone().or(live);
            for m in milestones {
                self.milestone(id, &at.channel, thread.as_deref(), m).await;
            }
            tokio::time::sleep(EDIT_GAP).await;
        }
    }

    /// The ts of operation `id`'s live message, once posted.
    fn live_message(&self, id: u64) -> Option<String> {
        self.note(&place::live_key(id))
    }

    /// Post the live message, or edit it; returns its ts.
    async fn show(&self, id: u64, at: &Place, content: SlackMessageContent) -> Option<String> {
        if let Some(ts) = self.live_message(id) {
            if let Err(e) = self.api.update(&at.channel, &ts, content).await {
                tracing::warn!(error = %e, operation = id, "editing the live message");
            }
            return Some(ts);
        }
        match self
            .api
            .post(&at.channel, at.thread_ts.as_deref(), content)
            .await
        {
            Ok(ts) => {
                self.keep(&place::live_key(id), &ts);
                self.keep(&place::message_key(&at.channel, &ts), &id.to_string());
                let root = at.thread_ts.as_deref().unwrap_or(&ts);
                self.keep(&place::thread_key(&at.channel, root), &id.to_string());
                Some(ts)
            }
            Err(e) => {
                tracing::warn!(error = %e, operation = id, "posting the live message");
                None
            }
        }
    }

    async fn milestone(&self, id: u64, channel: &str, thread: Option<&str>, m: Milestone) {
        let key = format!("slack:milestone:{id}:{}", m.kind);
        if self.note(&key).is_some() {
            return;
        }
        let content = blocks(&m.text, m.buttons);
        match self.api.post(channel, thread, content).await {
            Ok(ts) => {
                self.keep(&key, &ts);
                self.keep(&place::message_key(channel, &ts), &id.to_string());
            }
            Err(e) => tracing::warn!(error = %e, operation = id, "posting a milestone"),
        }
    }
}

/// Notify is implemented on the `Arc` so queued work can outlive the call.
#[derive(Debug, Clone)]
pub struct LiveNotify(pub Arc<Live>);

impl Notify for LiveNotify {
    fn update(&self, op: &Operation, text: &str) {
        let Some(at) = place::of_operation(op) else {
            return;
        };
        self.0
            .queue(op.id, at, live_content(op, text), milestone_of(op))
    }

    fn alert(&self, channel: &str, text: &str) {
        let Some(channel) = channel.strip_prefix("slack:").map(str::to_string) else {
            return;
        };
        let api = self.0.api.clone();
        let text = text::escape(text);
        self.0.runtime.spawn(async move {
            let content = SlackMessageContent::new().with_text(text);
            if let Err(e) = api.post(&channel, None, content).await {
                tracing::warn!(error = %e, "posting an alert");
            }
        });
    }
}

/// `<@U123>` for `slack:U123`, else the actor as escaped text.
fn mention(actor: &str) -> String {
    text::actor(actor)
}

/// The engine's one-line summary of `op`, escaped.
fn summary_line(op: &Operation) -> String {
    text::escape(&render::summary_line(op))
}

fn milestone_of(op: &Operation) -> Option<Milestone> {
    let who = mention(&op.actor);
    let (kind, text) = match &op.state {
        State::AwaitingApproval { needed, have } if *have == 0 => (
            "approval",
            format!(
                "Approval needed for #{id} {summary} ({needed} of people allowed to approve, \
                 not {who}). React :white_check_mark: to approve or :x: to deny, or use the buttons.",
                id = op.id,
                summary = text::escape(&op.summary)
            ),
        ),
        State::Rejected { .. } => ("rejected", format!("{who} {}", summary_line(op))),
        State::Failed { .. } => ("failed", format!("{who} {}", summary_line(op))),
        State::Degraded { .. } => ("degraded", format!("{who} {}", summary_line(op))),
        State::TimedOut => ("timed-out", format!("{who} {}", summary_line(op))),
        State::Expired => ("expired", format!("{who} {}", summary_line(op))),
        _ => return None,
    };
    let buttons = (kind == "approval").then_some(op.id);
    Some(Milestone {
        kind,
        text,
        buttons,
    })
}

/// The live message: a header with where the operation is, the latest
/// report, who asked and who approved; buttons while it waits for approvals.
fn live_content(op: &Operation, text: &str) -> SlackMessageContent {
    let header = summary_line(op);
    let text = text::escape(text);
    let mut context = format!("requested by {}", mention(&op.actor));
    if !op.approvers.is_empty() {
        let names: Vec<String> = op.approvers.iter().map(|a| mention(a)).collect();
        context.push_str(&format!(" · approved by {}", names.join(", ")));
    }
    let body = if text.trim() == header { "" } else { &text };
    let fallback = format!("{header}\n{body}\n{context}");
    let mut blocks = vec![
        serde_json::json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{header}*")}}),
    ];
    if !body.trim().is_empty() {
        blocks
            .push(serde_json::json!({"type": "section", "text": {"type": "mrkdwn", "text": body}}));
    }
    blocks.push(
        serde_json::json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}),
    );
    if matches!(op.state, State::AwaitingApproval { .. }) {
        blocks.push(buttons(op.id));
    }
    content(fallback, blocks)
}

fn buttons(id: u64) -> serde_json::Value {
    serde_json::json!({"type": "actions", "block_id": format!("hoist-{id}"), "elements": [
        {"type": "button", "action_id": "hoist_approve", "value": id.to_string(), "style": "primary",
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": "hoist_deny", "value": id.to_string(), "style": "danger",
         "text": {"type": "plain_text", "text": "Deny"}}
    ]})
}

/// Plain text with (optionally) approve/deny buttons for operation `id`.
fn blocks(text: &str, with_buttons: Option<u64>) -> SlackMessageContent {
    let mut blocks =
        vec![serde_json::json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})];
    if let Some(id) = with_buttons {
        blocks.push(buttons(id));
    }
    content(text.to_string(), blocks)
}

/// Text (the notification and accessibility fallback) plus Block Kit blocks.
fn content(text: String, blocks: Vec<serde_json::Value>) -> SlackMessageContent {
    let parsed: Option<Vec<SlackBlock>> = serde_json::from_value(blocks.into()).ok();
    let mut c = SlackMessageContent::new().with_text(text);
    c.blocks = parsed;
    c
}
