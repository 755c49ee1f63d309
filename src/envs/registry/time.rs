//! RFC 3339 times as the registry writes them: UTC only, whole seconds,
//! `2026-12-01T22:00:00Z`. Written and read here (days from the civil date
//! and back, Howard Hinnant's algorithms) so one small file needs no crate.

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a count of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The UTC civil time of `secs` since the epoch: (year, month, day, hour,
/// minute, second), for any `i64` (years outside 0000-9999 included). The
/// engine's `render::date` reads it too, so there is one calendar.
pub fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
}

/// The first second of year 0 and the last of year 9999: the times four
/// digits of year can say.
const MIN: i64 = -62_167_219_200;
const MAX: i64 = 253_402_300_799;

/// `secs` since the epoch as `YYYY-MM-DDTHH:MM:SSZ`, or `None` outside
/// years 0000-9999.
pub fn format(secs: i64) -> Option<String> {
    if !(MIN..=MAX).contains(&secs) {
        return None;
    }
    let (y, m, d, hh, mm, ss) = civil(secs);
    Some(format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"))
}

/// `YYYY-MM-DDTHH:MM:SSZ` as seconds since the epoch; anything else (an
/// offset other than `Z`, fractions, a date that does not exist) is `None`.
pub fn parse(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_rfc_3339_utc() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_796_162_400, "2026-12-01T22:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (MAX, "9999-12-31T23:59:59Z"),
            (MIN, "0000-01-01T00:00:00Z"),
        ] {
            assert_eq!(format(secs).as_deref(), Some(text), "{secs}");
            assert_eq!(parse(text), Some(secs), "{text}");
        }
        // Every day of four years, one second before midnight.
        for day in 20_000..21_461 {
            let secs = day * 86_400 + 86_399;
            assert_eq!(parse(&format(secs).unwrap()), Some(secs));
        }
        assert_eq!(format(MAX + 1), None);
        assert_eq!(format(MIN - 1), None);
    }

    #[test]
    fn only_utc_whole_seconds_on_real_dates_are_read() {
        for bad in [
            "2026-12-01T22:00:00+01:00",
            "2026-12-01T22:00:00.5Z",
            "2026-12-01 22:00:00Z",
            "2026-12-01t22:00:00z",
            "2026-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-12-32T00:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T23:60:00Z",
            "2026-12-01T23:59:60Z",
            "+026-12-01T23:59:59Z",
            "2026-1２-01T23:59:59Z",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(parse("2000-02-29T12:00:00Z"), Some(951_825_600));
    }
}
