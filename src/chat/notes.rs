//! Which message of hoist's belongs to which operation, kept in the
//! journal's notes ([`Journal::remember`]) so it holds across restarts:
//! the live message of an operation, the thread its request started, each
//! milestone reply posted, and every message of hoist's whose reactions are
//! votes on the operation (the echo of a slash command that roots the
//! thread, the live message, the milestone replies). Keys are prefixed with
//! the platform's name: `slack:live:7`, `slack:msg:C1:1531420618.000100`,
//! `slack:thread:C1:...`, `slack:milestone:7:approval`. A note that cannot be
//! read or written is logged and treated as absent.

use crate::engine::ports::Journal;
use std::sync::Arc;

/// One platform's notes in the journal.
#[derive(Clone)]
pub struct Notes {
    journal: Arc<dyn Journal>,
    platform: &'static str,
}

impl std::fmt::Debug for Notes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notes")
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

impl Notes {
    pub fn new(journal: Arc<dyn Journal>, platform: &'static str) -> Notes {
        Notes { journal, platform }
    }

    fn key(&self, what: &str, rest: &str) -> String {
        format!("{}:{what}:{rest}", self.platform)
    }

    fn read(&self, key: &str) -> Option<String> {
        self.journal.recall(key).unwrap_or_else(|e| {
            tracing::warn!(error = %e, key, "reading a chat note");
            None
        })
    }

    fn keep(&self, key: &str, value: &str) {
        if let Err(e) = self.journal.remember(key, value) {
            tracing::warn!(error = %e, key, "writing a chat note");
        }
    }

    /// The id of operation `id`'s live message, once posted.
    pub fn live(&self, id: u64) -> Option<String> {
        self.read(&self.key("live", &id.to_string()))
    }

    /// The operation a message of hoist's belongs to: its votes count there.
    pub fn operation_of(&self, channel: &str, message: &str) -> Option<u64> {
        let key = self.key("msg", &format!("{channel}:{message}"));
        self.read(&key)?.parse().ok()
    }

    /// The operation whose request started `thread`.
    pub fn operation_of_thread(&self, channel: &str, thread: &str) -> Option<u64> {
        let key = self.key("thread", &format!("{channel}:{thread}"));
        self.read(&key)?.parse().ok()
    }

    /// The milestone reply of `kind` posted for operation `id`, if any.
    pub fn milestone(&self, id: u64, kind: &str) -> Option<String> {
        self.read(&self.key("milestone", &format!("{id}:{kind}")))
    }

    /// Operation `id`'s live message was posted as `message`, in the thread
    /// that hangs from `root` (the live message itself when it roots one).
    pub fn live_posted(&self, id: u64, channel: &str, message: &str, root: &str) {
        self.keep(&self.key("live", &id.to_string()), message);
        self.message_of(id, channel, message);
        let thread = self.key("thread", &format!("{channel}:{root}"));
        self.keep(&thread, &id.to_string());
    }

    /// The milestone reply of `kind` for operation `id` was posted as `message`.
    pub fn milestone_posted(&self, id: u64, kind: &str, channel: &str, message: &str) {
        self.keep(&self.key("milestone", &format!("{id}:{kind}")), message);
        self.message_of(id, channel, message);
    }

    /// `message` is one of hoist's about operation `id`: a reaction on it
    /// is a vote on the operation.
    pub fn message_of(&self, id: u64, channel: &str, message: &str) {
        let key = self.key("msg", &format!("{channel}:{message}"));
        self.keep(&key, &id.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn notes_keep_the_keys_existing_journals_hold() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let journal: Arc<dyn Journal> = Arc::new(Store::open(dir.path()).expect("a journal"));
        let notes = Notes::new(journal.clone(), "slack");
        notes.live_posted(7, "C1", "1.000200", "1.000100");
        notes.milestone_posted(7, "approval", "C1", "1.000300");
        notes.message_of(7, "C1", "1.000100");
        let recall = |k: &str| journal.recall(k).expect("a note can be read");
        assert_eq!(recall("slack:live:7").as_deref(), Some("1.000200"));
        assert_eq!(recall("slack:msg:C1:1.000200").as_deref(), Some("7"));
        assert_eq!(recall("slack:thread:C1:1.000100").as_deref(), Some("7"));
        assert_eq!(
            recall("slack:milestone:7:approval").as_deref(),
            Some("1.000300")
        );
        // Every message of hoist's about #7 leads back to it; others do not.
        for message in ["1.000100", "1.000200", "1.000300"] {
            assert_eq!(notes.operation_of("C1", message), Some(7), "{message}");
        }
        assert_eq!(notes.operation_of("C2", "1.000200"), None);
        assert_eq!(notes.operation_of_thread("C1", "1.000100"), Some(7));
        // Another platform's notes are its own.
        assert_eq!(Notes::new(journal, "discord").live(7), None);
    }
}
