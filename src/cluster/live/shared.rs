//! What the watch tasks and the followers share: who follows which object
//! (woken with a non-blocking call when it changes) and which caches have
//! finished their first list. Watch events are handled here, on the
//! runtime's threads, and never wait on a follower.

use super::super::kinds::{Key, Kind};
use crate::engine::ports::Wake;
use kube::core::DynamicObject;
use kube::runtime::watcher;
use std::collections::HashMap;
use std::sync::Mutex;

type Followers = HashMap<Key, Vec<(u64, Wake)>>;

/// State shared between the watch tasks and the followers.
pub(super) struct Shared {
    pub(super) followers: Mutex<Followers>,
    /// Caches whose first list is complete.
    pub(super) listed: Mutex<std::collections::HashSet<(Kind, Option<String>)>>,
}

impl Shared {
    pub(super) fn wake(&self, key: &Key) {
        if let Some(list) = self
            .followers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
        {
            ping(list);
        }
    }

    pub(super) fn wake_kind(&self, kind: Kind) {
        for (key, list) in self
            .followers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            if key.kind == kind {
                ping(list);
            }
        }
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
        watcher::Event::Apply(obj)
        | watcher::Event::InitApply(obj)
        | watcher::Event::Delete(obj) => shared.wake(&Key::of(kind, obj)),
        watcher::Event::InitDone | watcher::Event::Init => {}
    }
}
