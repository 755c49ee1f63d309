//! What the watch tasks and the followers share: who follows which object
//! (woken with a non-blocking call when it changes), which caches have
//! finished their first list, and the drift tracker with its alert sink.
//! Watch events are handled here, on the runtime's threads, and never wait
//! on a follower.

use super::super::drift::Tracker;
use super::super::kinds::{self, Key, Kind};
use crate::engine::ports::Wake;
use kube::core::DynamicObject;
use kube::runtime::watcher;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Followers = HashMap<Key, Vec<(u64, Wake)>>;

/// State shared between the watch tasks and the followers.
pub(super) struct Shared {
    pub(super) followers: Mutex<Followers>,
    /// Caches whose first list is complete.
    pub(super) listed: Mutex<std::collections::HashSet<(Kind, Option<String>)>>,
    pub(super) drift: Mutex<Tracker>,
    pub(super) alert: Option<Alert>,
}

/// Receives drift alerts: (channel, text).
pub type Alert = Arc<dyn Fn(&str, &str) + Send + Sync>;

impl Shared {
    pub(super) fn wake(&self, key: &Key) {
        if let Some(list) = self.followers.lock().unwrap().get(key) {
            ping(list);
        }
    }

    pub(super) fn wake_kind(&self, kind: Kind) {
        for (key, list) in self.followers.lock().unwrap().iter() {
            if key.kind == kind {
                ping(list);
            }
        }
    }

    pub(super) fn say(&self, channel: &str, text: &str) {
        tracing::warn!(channel, "{text}");
        if let Some(alert) = &self.alert {
            alert(channel, text);
        }
    }

    pub(super) fn in_flight(&self, key: &Key) -> bool {
        self.followers
            .lock()
            .unwrap()
            .get(key)
            .is_some_and(|l| !l.is_empty())
    }
}

/// Wake followers (a wake only queues a look; it never blocks).
fn ping(list: &[(u64, Wake)]) {
    for (_, wake) in list {
        wake();
    }
}

pub(super) fn on_event(shared: &Shared, kind: Kind, event: &watcher::Event<DynamicObject>) {
    match event {
        watcher::Event::Apply(obj) | watcher::Event::InitApply(obj) => {
            let key = Key::of(kind, obj);
            shared.wake(&key);
            let over = {
                let mut drift = shared.drift.lock().unwrap();
                // Only objects the policy names are judged for drift.
                drift
                    .tracks(&key)
                    .then(|| drift.observe(&key, &kinds::as_json(obj), Instant::now()))
                    .flatten()
            };
            if let Some(a) = over {
                shared.say(&a.channel, &a.text);
            }
        }
        watcher::Event::Delete(obj) => {
            let key = Key::of(kind, obj);
            shared.drift.lock().unwrap().forget(&key);
            shared.wake(&key);
        }
        watcher::Event::InitDone | watcher::Event::Init => {}
    }
}
