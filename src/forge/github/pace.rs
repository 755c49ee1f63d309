//! hoist's own pacing of content-creating requests (POST, PATCH, PUT,
//! DELETE), under GitHub's secondary limits (80 a minute, 500 an hour): a
//! log of when each such request finished, and before the next one, a wait
//! until both windows have room. The adapter sends them one at a time, so
//! measuring from the end of the previous request keeps the server's count
//! (which sees them arrive later than they start) under the limit too.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How fast hoist creates content on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pace {
    /// Content-creating requests a minute (GitHub: 80).
    pub content_per_minute: u32,
    /// Content-creating requests an hour (GitHub: 500).
    pub content_per_hour: u32,
    /// The longest the adapter waits for room itself; beyond that the call
    /// returns `RateLimited` with the wait, for the engine to schedule.
    pub max_wait: Duration,
    /// The windows' lengths: a minute and an hour (shorter only in tests
    /// and benchmarks, to scale time).
    pub minute: Duration,
    pub hour: Duration,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            content_per_minute: 80,
            content_per_hour: 500,
            max_wait: Duration::from_secs(60),
            minute: Duration::from_secs(60),
            hour: Duration::from_secs(3600),
        }
    }
}

/// The log of recent content-creating requests.
#[derive(Debug)]
pub struct Pacer {
    pace: Pace,
    done: Mutex<VecDeque<Instant>>,
}

impl Pacer {
    pub fn new(pace: Pace) -> Pacer {
        Pacer {
            pace,
            done: Mutex::new(VecDeque::new()),
        }
    }

    /// How long until one more request fits both windows, at `now`.
    fn wait_at(&self, now: Instant) -> Duration {
        let mut done = self.done.lock().unwrap();
        let longest = self.pace.hour.max(self.pace.minute);
        while done
            .front()
            .is_some_and(|t| now.duration_since(*t) >= longest)
        {
            done.pop_front();
        }
        let room = |limit: u32, window: Duration| {
            let limit = limit.max(1) as usize;
            let inside = done
                .iter()
                .filter(|t| now.duration_since(**t) < window)
                .count();
            if inside < limit {
                return Duration::ZERO;
            }
            // The one that must leave the window first.
            let leaving = done[done.len() - limit];
            (leaving + window).saturating_duration_since(now)
        };
        room(self.pace.content_per_minute, self.pace.minute)
            .max(room(self.pace.content_per_hour, self.pace.hour))
    }

    /// Wait for room (at most `max_wait` in all); `Err(wait)` when more
    /// than that would be needed.
    pub async fn admit(&self) -> Result<(), Duration> {
        let deadline = Instant::now() + self.pace.max_wait;
        loop {
            let now = Instant::now();
            let wait = self.wait_at(now);
            if wait.is_zero() {
                return Ok(());
            }
            if now + wait > deadline {
                return Err(wait);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// A content-creating request finished now.
    pub fn done(&self) {
        self.done.lock().unwrap().push_back(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_comes_back_when_the_oldest_leaves_the_window() {
        let pacer = Pacer::new(Pace {
            content_per_minute: 2,
            content_per_hour: 3,
            ..Pace::default()
        });
        let t0 = Instant::now();
        assert_eq!(pacer.wait_at(t0), Duration::ZERO);
        pacer
            .done
            .lock()
            .unwrap()
            .extend([t0, t0 + Duration::from_secs(10)]);
        let now = t0 + Duration::from_secs(20);
        assert_eq!(pacer.wait_at(now), Duration::from_secs(40), "minute full");
        pacer
            .done
            .lock()
            .unwrap()
            .push_back(t0 + Duration::from_secs(70));
        let now = t0 + Duration::from_secs(80);
        assert_eq!(
            pacer.wait_at(now),
            Duration::from_secs(3520),
            "hour full: until the first leaves it"
        );
    }
}
