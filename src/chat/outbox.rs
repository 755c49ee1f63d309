//! Everything hoist says goes out here: posts paced per channel (at most one
//! per the platform's [`Platform::post_gap`] in each channel, queued rather
//! than refused), edits, deletions and words only one person sees. Outside
//! text is escaped on the way ([`Outbox::say`], [`Outbox::tell`]); a call that
//! fails is logged, never a reason to fail an operation: chat is where
//! progress is shown. The time spent pacing is counted for `/metrics`.

use super::platform::{Message, Platform};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// One platform's way out.
pub struct Outbox<P: Platform> {
    platform: Arc<P>,
    /// When each channel may next see a post.
    next_post: Mutex<HashMap<String, Instant>>,
    waited_ms: AtomicU64,
}

impl<P: Platform> std::fmt::Debug for Outbox<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("platform", &self.platform.name())
            .finish_non_exhaustive()
    }
}

impl<P: Platform> Outbox<P> {
    pub fn new(platform: Arc<P>) -> Outbox<P> {
        Outbox {
            platform,
            next_post: Mutex::new(HashMap::new()),
            waited_ms: AtomicU64::new(0),
        }
    }

    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// Time spent waiting for a channel's next post slot, in all.
    pub fn waited(&self) -> Duration {
        Duration::from_millis(self.waited_ms.load(Ordering::Relaxed))
    }

    /// Wait for `channel`'s next post slot.
    async fn pace(&self, channel: &str) {
        let at = {
            let mut next = self.next_post.lock().await;
            let now = Instant::now();
            let at = next
                .get(channel)
                .copied()
                .filter(|t| *t > now)
                .unwrap_or(now);
            next.insert(channel.to_string(), at + self.platform.post_gap());
            at
        };
        let wait = at.saturating_duration_since(Instant::now());
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        self.waited_ms.fetch_add(ms, Ordering::Relaxed);
        tokio::time::sleep_until(at.into()).await;
    }

    /// Post in `channel` (in `thread`) when its turn comes; the message's id.
    pub async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &Message,
    ) -> Result<String, P::Error> {
        self.pace(channel).await;
        self.platform.post(channel, thread, message).await
    }

    pub async fn edit(
        &self,
        channel: &str,
        thread: Option<&str>,
        id: &str,
        message: &Message,
    ) -> Result<(), P::Error> {
        self.platform.edit(channel, thread, id, message).await
    }

    pub async fn delete(
        &self,
        channel: &str,
        thread: Option<&str>,
        id: &str,
    ) -> Result<(), P::Error> {
        self.platform.delete(channel, thread, id).await
    }

    /// Tell only `user`; `text` is escaped. A failure is logged.
    pub async fn tell(&self, channel: &str, user: &str, thread: Option<&str>, text: &str) {
        let text = self.platform.escape(text);
        if let Err(e) = self.platform.ephemeral(channel, user, thread, &text).await {
            tracing::warn!(error = %e, "ephemeral reply");
        }
    }

    /// Say in `channel` (in `thread`) for everyone; `text` is escaped. A
    /// failure is logged.
    pub async fn say(&self, channel: &str, thread: Option<&str>, text: &str) {
        let message = Message::text(self.platform.escape(text));
        if let Err(e) = self.post(channel, thread, &message).await {
            tracing::warn!(error = %e, "reply");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::testing::Recorder;

    #[test]
    fn posts_in_one_channel_are_paced_and_other_channels_do_not_wait() {
        let rt = tokio::runtime::Runtime::new().expect("a runtime");
        let platform = Arc::new(Recorder::new(Duration::from_millis(150)));
        let out = Arc::new(Outbox::new(platform.clone()));
        rt.block_on(async {
            let posts = (0..3).map(|i| {
                let out = out.clone();
                async move {
                    let channel = if i < 2 { "C1" } else { "C2" };
                    out.say(channel, None, "hi <there>").await
                }
            });
            futures::future::join_all(posts).await;
        });
        let posts = platform.calls_of("post");
        assert_eq!(posts.len(), 3, "{posts:?}");
        let c1: Vec<_> = posts.iter().filter(|c| c.channel == "C1").collect();
        let gap = c1[1].at.duration_since(c1[0].at);
        assert!(gap >= Duration::from_millis(140), "{gap:?}");
        let c2 = posts
            .iter()
            .find(|c| c.channel == "C2")
            .expect("a post in C2");
        assert!(
            c2.at.duration_since(c1[0].at) < Duration::from_millis(100),
            "C2 waited for C1"
        );
        assert!(out.waited() >= Duration::from_millis(140));
        assert_eq!(c2.text, "hi (lt)there(gt)", "outside text is escaped");
    }
}
