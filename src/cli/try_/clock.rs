//! The clock of `hoist try`. Policies speak in wall-clock time (freeze
//! windows such as `Fri 16:00 - Mon 08:00 Europe/Berlin`, `soak: 10m`), so a
//! walk-through on the real clock would be refused on Friday afternoons and
//! could not promote without waiting ten real minutes. `try`'s clock runs at
//! the real pace but starts on the last Wednesday (the real time of day, a
//! whole number of days back), so the same typed lines do the same thing on
//! any day; `wait 10m` moves it on, as time passing would. The policy is
//! judged exactly as written against this clock: `wait 2d` from Wednesday
//! reaches a Friday freeze and prod refuses.

use crate::engine::ports::{Clock, SystemClock};
use std::sync::atomic::{AtomicI64, Ordering};

const DAY: i64 = 86_400;

/// The real clock shifted back to the last Wednesday, moved on by `wait`.
#[derive(Debug)]
pub struct TryClock {
    /// Seconds added to the real clock (negative: the shift to Wednesday,
    /// plus every wait).
    offset: AtomicI64,
}

/// Longest single `wait` (a policy's longest sensible soak or expiry).
pub const MAX_WAIT_SECS: u64 = 30 * DAY as u64;

impl TryClock {
    /// A clock whose now is the Wednesday at or before `real_now` (seconds
    /// since the epoch), at the same time of day.
    pub fn starting_before(real_now: i64) -> TryClock {
        // 1970-01-01 was a Thursday: day 0 is weekday 4 counting from Sunday.
        let weekday = (real_now.div_euclid(DAY) + 4).rem_euclid(7);
        let back = (weekday - 3).rem_euclid(7);
        TryClock {
            offset: AtomicI64::new(-back * DAY),
        }
    }

    /// Let `secs` pass at once.
    pub fn wait(&self, secs: u64) {
        let secs = i64::try_from(secs.min(MAX_WAIT_SECS)).unwrap_or(0);
        self.offset.fetch_add(secs, Ordering::SeqCst);
    }

    /// `wait DURATION`, `try`'s own line: the clock moves on at once. What
    /// to say, or `None` when the line is not a wait (a chat command).
    pub fn wait_line(&self, line: &str) -> Option<String> {
        let rest = line.trim().strip_prefix("wait")?;
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            return None;
        }
        Some(match rest.trim().parse::<hoist_commands::Duration>() {
            Ok(d) if d.as_secs() <= MAX_WAIT_SECS => {
                self.wait(d.as_secs());
                format!("{d} pass (simulated clock)")
            }
            Ok(_) => format!("wait: at most {}d at a time", MAX_WAIT_SECS / DAY as u64),
            Err(e) => format!("wait DURATION (try only, moves try's clock on): {}", e.rule),
        })
    }

    /// Now, in words (`Wed 2026-11-25 13:20 UTC`).
    pub fn describe(&self) -> String {
        jiff::Timestamp::from_second(self.now())
            .map(|t| t.strftime("%a %Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|_| format!("{}s after the epoch", self.now()))
    }
}

impl Clock for TryClock {
    fn now(&self) -> i64 {
        SystemClock.now() + self.offset.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-04, a Friday, 15:30 UTC (16:30 in Berlin: inside the example's freeze).
    const FRIDAY_AFTERNOON: i64 = 1_796_398_200;

    #[test]
    fn every_day_of_the_week_starts_on_the_wednesday_before_at_the_same_time_of_day() {
        for days in 0..7 {
            let real = FRIDAY_AFTERNOON + days * DAY;
            let clock = TryClock::starting_before(real);
            let offset = clock.offset.load(Ordering::SeqCst);
            let start = jiff::Timestamp::from_second(real + offset).unwrap();
            assert_eq!(
                start.strftime("%a %H:%M").to_string(),
                "Wed 15:30",
                "{days}"
            );
            assert!((-6 * DAY..=0).contains(&offset), "{days}: {offset}");
        }
    }

    #[test]
    fn a_wait_line_moves_the_clock_and_anything_else_is_left_to_the_commands() {
        let clock = TryClock::starting_before(SystemClock.now());
        let offset = || clock.offset.load(Ordering::SeqCst);
        let before = offset();
        assert_eq!(
            clock.wait_line("  wait 10m ").unwrap(),
            "10m pass (simulated clock)"
        );
        assert_eq!(offset() - before, 600);
        for refused in [
            "wait",
            "wait 0m",
            "wait -1m",
            "wait 10 m",
            "wait 1w",
            "wait 31d",
        ] {
            let said = clock.wait_line(refused).unwrap();
            assert!(said.starts_with("wait"), "{refused}: {said}");
        }
        assert_eq!(offset() - before, 600);
        for command in ["waiting", "as console:bob: wait 1m", "status", "# wait 1m"] {
            assert_eq!(clock.wait_line(command), None, "{command}");
        }
    }

    #[test]
    fn waiting_moves_the_clock_on_by_that_much_and_no_further_than_the_limit() {
        let clock = TryClock::starting_before(SystemClock.now());
        let before = clock.now();
        clock.wait(600);
        let after = clock.now();
        assert!(
            (600..=602).contains(&(after - before)),
            "{}",
            after - before
        );
        clock.wait(u64::MAX);
        assert!(clock.now() - after <= MAX_WAIT_SECS as i64 + 2);
        assert!(clock.describe().ends_with(" UTC"), "{}", clock.describe());
    }
}
