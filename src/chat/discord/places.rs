//! Where things are on Discord, as far as hoist has learned: the guild of a
//! channel (for permalinks and role lookups), the parent of a thread (so a
//! thread's traffic is reported as its parent channel's, and a permalink into
//! a thread finds its operation), which channels are known not to be threads
//! or not to hold threads, the channel each of hoist's messages went to
//! (so an edit or a delete finds it) and the channels hoist posted in (the
//! only places a refused whisper may be said publicly), and the channels
//! that could not be read (not asked again for [`UNREADABLE_FOR`]). A
//! thread's parent and its kind are one entry, forgotten together. Everything is learned from inbound
//! events and from hoist's own calls, and every table is bounded
//! ([`Bounded`]): the oldest entry goes first, and a forgotten entry is only
//! asked again (or, for a message, looked for in the thread, then the
//! channel).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many entries in each of the tables below.
pub const PLACES_MAX: usize = 10_000;

/// A map that keeps at most `cap` entries, forgetting the oldest insertion
/// first. A key inserted again moves to the back.
#[derive(Debug)]
pub struct Bounded<K, V> {
    cap: usize,
    seq: u64,
    map: HashMap<K, (V, u64)>,
    order: VecDeque<(K, u64)>,
}

impl<K: Eq + Hash + Clone, V> Bounded<K, V> {
    pub fn new(cap: usize) -> Bounded<K, V> {
        Bounded {
            cap: cap.max(1),
            seq: 0,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|(v, _)| v)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key).map(|(v, _)| v)
    }

    pub fn insert(&mut self, key: K, value: V) {
        self.seq += 1;
        self.map.insert(key.clone(), (value, self.seq));
        self.order.push_back((key, self.seq));
        while self.map.len() > self.cap {
            let Some((k, s)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&k).is_some_and(|(_, at)| *at == s) {
                self.map.remove(&k);
            }
        }
        // Keys inserted again leave stale entries behind: compact them so
        // the queue stays within twice the cap.
        if self.order.len() > 2 * self.cap {
            let map = &self.map;
            self.order
                .retain(|(k, s)| map.get(k).is_some_and(|(_, at)| at == s));
        }
    }
}

/// What a channel is, as far as hoist knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not a thread (a text channel, a DM, a forum...).
    Channel,
    /// A channel in which a thread could not be started from a message (a
    /// DM, a forum, a thread, missing permission): replies there carry a
    /// `message_reference` instead.
    NoThreads,
}

/// What one channel is known to be: a thread of its parent, or a channel
/// of a [`Kind`]. One entry per channel, so a thread's parent and its kind
/// are forgotten together (never a thread taken for a channel).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Known {
    Thread(String),
    Channel(Kind),
}

/// How long a channel that could not be read is not asked again.
pub const UNREADABLE_FOR: Duration = Duration::from_secs(30);

/// The learned tables, each behind its own lock (never held across a call).
#[derive(Debug)]
pub struct Places {
    guilds: Mutex<Bounded<String, String>>,
    channels: Mutex<Bounded<String, Known>>,
    messages: Mutex<Bounded<String, String>>,
    /// The channels (and threads) hoist posted in.
    posted_in: Mutex<Bounded<String, ()>>,
    /// Channels whose GET /channels/{id} failed, and when.
    unreadable: Mutex<Bounded<String, Instant>>,
}

impl Default for Places {
    fn default() -> Places {
        Places::new(PLACES_MAX)
    }
}

impl Places {
    pub fn new(cap: usize) -> Places {
        Places {
            guilds: Mutex::new(Bounded::new(cap)),
            channels: Mutex::new(Bounded::new(cap)),
            messages: Mutex::new(Bounded::new(cap)),
            posted_in: Mutex::new(Bounded::new(cap)),
            unreadable: Mutex::new(Bounded::new(cap)),
        }
    }

    /// Channel `channel` is in `guild`; when `parent` is set it is a thread
    /// of that channel (in the same guild).
    pub fn learn(&self, channel: &str, guild: Option<&str>, parent: Option<&str>) {
        if let Some(g) = guild {
            let mut guilds = lock(&self.guilds);
            if guilds.get(&channel.to_string()).map(String::as_str) != Some(g) {
                guilds.insert(channel.to_string(), g.to_string());
            }
            if let Some(p) = parent
                && guilds.get(&p.to_string()).is_none()
            {
                guilds.insert(p.to_string(), g.to_string());
            }
        }
        if let Some(p) = parent {
            let thread = Known::Thread(p.to_string());
            let mut channels = lock(&self.channels);
            if channels.get(&channel.to_string()) != Some(&thread) {
                channels.insert(channel.to_string(), thread);
            }
        }
    }

    /// The guild of `channel` (or of its parent), when learned.
    pub fn guild(&self, channel: &str) -> Option<String> {
        let guilds = lock(&self.guilds);
        if let Some(g) = guilds.get(&channel.to_string()) {
            return Some(g.clone());
        }
        let parent = self.parent(channel)?;
        guilds.get(&parent).cloned()
    }

    /// The parent channel of thread `channel`, when it is a known thread.
    pub fn parent(&self, channel: &str) -> Option<String> {
        match lock(&self.channels).get(&channel.to_string())? {
            Known::Thread(p) => Some(p.clone()),
            Known::Channel(_) => None,
        }
    }

    /// What `channel` is known to be; a thread cannot hold threads of its
    /// own.
    pub fn kind(&self, channel: &str) -> Option<Kind> {
        match lock(&self.channels).get(&channel.to_string())? {
            Known::Thread(_) => Some(Kind::NoThreads),
            Known::Channel(k) => Some(*k),
        }
    }

    /// `channel` is what `kind` says; a channel known to hold no threads
    /// (or to be a thread) stays so.
    pub fn set_kind(&self, channel: &str, kind: Kind) {
        let mut channels = lock(&self.channels);
        if matches!(
            channels.get(&channel.to_string()),
            Some(Known::Thread(_) | Known::Channel(Kind::NoThreads))
        ) {
            return;
        }
        channels.insert(channel.to_string(), Known::Channel(kind));
    }

    /// hoist's message `id` went to channel `channel`.
    pub fn posted(&self, id: &str, channel: &str) {
        lock(&self.messages).insert(id.to_string(), channel.to_string());
        let mut posted_in = lock(&self.posted_in);
        if posted_in.get(&channel.to_string()).is_none() {
            posted_in.insert(channel.to_string(), ());
        }
    }

    /// Whether hoist posted in `channel` (a channel or a thread), as far as
    /// it remembers.
    pub fn hoist_posted_in(&self, channel: &str) -> bool {
        lock(&self.posted_in).get(&channel.to_string()).is_some()
    }

    /// Reading `channel` (GET /channels/{id}) just failed.
    pub fn unreadable(&self, channel: &str) {
        lock(&self.unreadable).insert(channel.to_string(), Instant::now());
    }

    /// Whether reading `channel` failed within [`UNREADABLE_FOR`].
    pub fn recently_unreadable(&self, channel: &str) -> bool {
        lock(&self.unreadable)
            .get(&channel.to_string())
            .is_some_and(|at| at.elapsed() < UNREADABLE_FOR)
    }

    /// The channel hoist's message `id` went to, when remembered.
    pub fn message(&self, id: &str) -> Option<String> {
        lock(&self.messages).get(&id.to_string()).cloned()
    }

    /// hoist's message `id` is gone.
    pub fn forget(&self, id: &str) {
        lock(&self.messages).remove(&id.to_string());
    }
}

/// A poisoned lock still holds consistent tables (no code panics while
/// holding one mid-update), so its data is used.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_map_forgets_the_oldest_and_stays_small() {
        let mut b = Bounded::new(3);
        for i in 0..5 {
            b.insert(i, i * 10);
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.get(&0), None);
        assert_eq!(b.get(&4), Some(&40));
        // Re-inserting one key many times keeps the queue bounded and the
        // others in place.
        for i in 0..100 {
            b.insert(3, i);
        }
        assert!(b.order.len() <= 6, "{}", b.order.len());
        assert_eq!(b.get(&2), Some(&20));
        b.insert(9, 90);
        assert_eq!(b.get(&2), None, "2 was the oldest left");
        assert_eq!(b.get(&3), Some(&99));
    }

    #[test]
    fn a_thread_knows_its_parent_and_guild() {
        let p = Places::new(10);
        p.learn("300", Some("100"), Some("200"));
        assert_eq!(p.parent("300").as_deref(), Some("200"));
        assert_eq!(p.guild("200").as_deref(), Some("100"));
        assert_eq!(p.guild("300").as_deref(), Some("100"));
        assert_eq!(p.kind("300"), Some(Kind::NoThreads));
        p.set_kind("300", Kind::Channel);
        assert_eq!(p.kind("300"), Some(Kind::NoThreads), "stays");
        assert_eq!(p.parent("200"), None);
    }

    #[test]
    fn a_threads_parent_and_kind_are_forgotten_together() {
        let p = Places::new(2);
        p.learn("300", None, Some("200"));
        p.learn("301", None, Some("200"));
        // Learned again (a later event in the thread), then a third thread.
        p.learn("300", None, Some("200"));
        p.learn("302", None, Some("200"));
        for t in ["300", "301", "302"] {
            let (parent, kind) = (p.parent(t), p.kind(t));
            assert!(
                parent.is_some() || kind.is_none(),
                "{t} is known as no thread but not as a thread: it would locate as ({t}, None)"
            );
        }
    }

    #[test]
    fn where_hoist_posted_and_what_could_not_be_read_are_remembered() {
        let p = Places::new(2);
        assert!(!p.hoist_posted_in("300"));
        p.posted("400", "300");
        p.posted("401", "300");
        assert!(p.hoist_posted_in("300") && !p.hoist_posted_in("200"));
        assert!(!p.recently_unreadable("200"));
        p.unreadable("200");
        assert!(p.recently_unreadable("200"));
    }
}
