//! Freeze windows: when an environment takes no deploys or promotions.
//!
//! Two forms, both ending with an IANA time zone (or `UTC`):
//! a weekly range `Fri 16:00 - Mon 08:00 Europe/Berlin` (may wrap around the
//! week's end) and a dated range `2026-12-24 - 2027-01-02 09:00 Europe/Berlin`
//! (a date alone means 00:00). Weekly ranges are compared in the zone's wall
//! clock, so they follow daylight-saving changes: "16:00 Berlin" is 15:00 UTC
//! in winter and 14:00 UTC in summer. Time zones come from jiff's bundled
//! tz database, so a container without `/usr/share/zoneinfo` judges the same.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

const MINUTES_PER_WEEK: u32 = 7 * 24 * 60;
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Debug, Clone, PartialEq)]
enum Span {
    /// Minutes since Monday 00:00 local time; `start > end` wraps the week.
    Weekly { start: u32, end: u32 },
    /// Instants, seconds since the epoch; `start < end`.
    Dated { start: i64, end: i64 },
}

/// One freeze window as written in `hoist.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Freeze {
    /// The window as written, shown in refusals.
    pub text: String,
    span: Span,
    tz: TimeZone,
}

impl Eq for Freeze {}

impl Freeze {
    /// Parse `Fri 16:00 - Mon 08:00 Europe/Berlin` or
    /// `2026-12-24 - 2027-01-02 09:00 UTC`; the error says what was expected.
    pub fn parse(text: &str) -> Result<Freeze, String> {
        let expected = "expected `DAY HH:MM - DAY HH:MM ZONE` (e.g. `Fri 16:00 - Mon 08:00 Europe/Berlin`) \
                        or `YYYY-MM-DD [HH:MM] - YYYY-MM-DD [HH:MM] ZONE`";
        let (range, zone) = text
            .trim()
            .rsplit_once(char::is_whitespace)
            .ok_or_else(|| format!("freeze window `{text}`: {expected}"))?;
        if hh_mm(zone).is_some() {
            return Err(format!(
                "freeze window `{text}` has no time zone; end it with one such as Europe/Berlin or UTC"
            ));
        }
        let tz = TimeZone::get(zone).map_err(|_| {
            format!("freeze window `{text}`: unknown time zone `{zone}` (use an IANA name such as Europe/Berlin, or UTC)")
        })?;
        let (from, to) = range
            .split_once(" - ")
            .ok_or_else(|| format!("freeze window `{text}`: {expected}"))?;
        let (from, to) = (from.trim(), to.trim());
        let span = match (weekly(from), weekly(to)) {
            (Some(start), Some(end)) if start == end => {
                return Err(format!("freeze window `{text}` starts where it ends"));
            }
            (Some(start), Some(end)) => Span::Weekly { start, end },
            _ => {
                let at = |s: &str| {
                    dated(s)
                        .and_then(|dt| dt.to_zoned(tz.clone()).ok())
                        .map(|z| z.timestamp().as_second())
                };
                match (at(from), at(to)) {
                    (Some(start), Some(end)) if start < end => Span::Dated { start, end },
                    (Some(_), Some(_)) => {
                        return Err(format!("freeze window `{text}` ends before it starts"));
                    }
                    _ => return Err(format!("freeze window `{text}`: {expected}")),
                }
            }
        };
        Ok(Freeze {
            text: text.trim().to_string(),
            span,
            tz,
        })
    }

    /// Is the window in force at `now` (seconds since the epoch)?
    pub fn active_at(&self, now: i64) -> bool {
        match self.span {
            Span::Dated { start, end } => start <= now && now < end,
            Span::Weekly { start, end } => {
                let Ok(ts) = Timestamp::from_second(now) else {
                    return false;
                };
                let local = ts.to_zoned(self.tz.clone());
                let minute =
                    u32::from(local.weekday().to_monday_zero_offset().unsigned_abs()) * 24 * 60
                        + u32::from(local.hour().unsigned_abs()) * 60
                        + u32::from(local.minute().unsigned_abs());
                if start < end {
                    start <= minute && minute < end
                } else {
                    minute >= start || minute < end
                }
            }
        }
    }
}

/// `Fri 16:00` -> minutes since Monday 00:00.
fn weekly(s: &str) -> Option<u32> {
    let (day, time) = s.split_once(char::is_whitespace)?;
    let day = day.to_ascii_lowercase();
    let index = DAYS
        .iter()
        .position(|d| day.len() >= 3 && d.starts_with(&day[..3]) && is_day_name(&day))?;
    let minute = hh_mm(time.trim())?;
    let at = index as u32 * 24 * 60 + minute;
    (at < MINUTES_PER_WEEK).then_some(at)
}

fn is_day_name(day: &str) -> bool {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    day.len() == 3 || FULL.contains(&day)
}

/// `08:00` -> 480; `24:00` is accepted as the end of a day.
fn hh_mm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// `2026-12-24` or `2026-12-24 09:00`.
fn dated(s: &str) -> Option<DateTime> {
    let (date, time) = match s.split_once(char::is_whitespace) {
        Some((d, t)) => (d, hh_mm(t.trim())?),
        None => (s, 0),
    };
    let mut parts = date.split('-');
    let y: i16 = parts.next()?.parse().ok()?;
    let mo: i8 = parts.next()?.parse().ok()?;
    let d: i8 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || time >= 24 * 60 {
        return None;
    }
    DateTime::new(y, mo, d, (time / 60) as i8, (time % 60) as i8, 0, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::Freeze;

    /// 2026-03-29 is the day Europe/Berlin moves from CET (+1) to CEST (+2) at 02:00.
    const DST_START_UTC: i64 = 1_774_746_000; // 2026-03-29 01:00:00 UTC

    fn at(window: &str, utc: i64) -> bool {
        Freeze::parse(window).expect("valid window").active_at(utc)
    }

    #[test]
    fn weekly_window_follows_the_wall_clock_across_the_spring_dst_change() {
        let w = "Sun 01:00 - Sun 04:00 Europe/Berlin";
        // 00:30 UTC = 01:30 CET: inside.
        assert!(at(w, DST_START_UTC - 1800));
        // 01:30 UTC = 03:30 CEST (02:00-03:00 never happens that night): inside.
        assert!(at(w, DST_START_UTC + 1800));
        // 02:00 UTC = 04:00 CEST: outside, although a fixed +1 offset would say 03:00.
        assert!(!at(w, DST_START_UTC + 3600));
        // 23:59 UTC the day before = 00:59 CET: not yet.
        assert!(!at(w, DST_START_UTC - 3600 - 60));
    }

    #[test]
    fn friday_afternoon_freeze_is_15_utc_in_winter_and_14_utc_in_summer() {
        let w = "Fri 16:00 - Mon 08:00 Europe/Berlin";
        let winter_fri_15_utc = 1_795_791_600; // Fri 2026-11-27 15:00 UTC = 16:00 CET
        assert!(at(w, winter_fri_15_utc));
        assert!(!at(w, winter_fri_15_utc - 60));
        let summer_fri_14_utc = 1_782_482_400; // Fri 2026-06-26 14:00 UTC = 16:00 CEST
        assert!(at(w, summer_fri_14_utc));
        assert!(!at(w, summer_fri_14_utc - 60));
        // The window wraps the week: Sunday noon is inside, Monday 08:00 local is not.
        assert!(at(w, winter_fri_15_utc + 2 * 86_400 - 3 * 3600));
        let monday_07_utc = winter_fri_15_utc + 3 * 86_400 - 8 * 3600;
        assert!(!at(w, monday_07_utc));
        assert!(at(w, monday_07_utc - 60));
    }

    #[test]
    fn autumn_dst_change_keeps_the_window_in_local_time() {
        // 2026-10-25: CEST -> CET at 03:00 local (01:00 UTC).
        let w = "Sun 03:00 - Sun 05:00 Europe/Berlin";
        let utc_01 = 1_792_890_000; // 2026-10-25 01:00 UTC = 02:00 CET (second pass)
        assert!(!at(w, utc_01));
        assert!(at(w, utc_01 + 3600)); // 03:00 CET
        assert!(!at(w, utc_01 + 3 * 3600)); // 05:00 CET
    }

    #[test]
    fn dated_windows_are_instants_in_their_zone() {
        let w = "2026-12-24 - 2026-12-27 09:00 Europe/Berlin";
        let dec24_midnight_berlin = 1_798_066_800; // 2026-12-23 23:00 UTC
        assert!(at(w, dec24_midnight_berlin));
        assert!(!at(w, dec24_midnight_berlin - 1));
        let end = dec24_midnight_berlin + 3 * 86_400 + 9 * 3600;
        assert!(at(w, end - 1));
        assert!(!at(w, end));
    }

    #[test]
    fn bad_windows_say_what_was_expected() {
        for (w, says) in [
            ("Fri 16:00 - Mon 08:00", "has no time zone"),
            (
                "Fri 16:00 - Mon 08:00 Mars/Olympus",
                "unknown time zone `Mars/Olympus`",
            ),
            ("Fry 16:00 - Mon 08:00 UTC", "expected `DAY HH:MM"),
            ("Fri 25:00 - Mon 08:00 UTC", "expected"),
            ("Fri 16:00 Mon 08:00 UTC", "expected"),
            ("Mon 08:00 - Mon 08:00 UTC", "starts where it ends"),
            ("2026-12-27 - 2026-12-24 UTC", "ends before it starts"),
        ] {
            let e = Freeze::parse(w).expect_err(w);
            assert!(e.contains(says), "{w}: {e}");
        }
        assert!(Freeze::parse("friday 16:00 - monday 08:00 UTC").is_ok());
    }
}
