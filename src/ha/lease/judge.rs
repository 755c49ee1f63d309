//! The pure part of leader election: what a lease record is to this
//! replica, when it has expired and what to do about it. Expiry is judged
//! on this replica's own monotonic clock, never on the `renewTime` written
//! by another replica: a record is alive for its `leaseDurationSeconds`
//! after this replica first saw it in its current version, so clocks that
//! disagree between nodes change nothing. Only what a holder writes when it
//! renews or takes the lease counts as a change: a label or annotation
//! written by anyone else (which moves the `resourceVersion`) does not keep
//! a dead holder alive. A Lease that disappears (404) is no free Lease when
//! this replica has seen one before: whoever held it may still lead, so it
//! is created only by its leader or after a lease duration of absence. Kept
//! apart from the loop that talks to the API so every rule here is
//! unit-tested without one.

use std::time::{Duration, Instant};

/// The longest lease hoist accepts, in its settings or read from a record
/// another replica wrote (a hostile `leaseDurationSeconds` of years would
/// otherwise keep every other replica waiting forever).
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(3600);

/// The longest holder identity hoist writes or keeps from a record.
pub(crate) const MAX_IDENTITY: usize = 128;

/// One version of the lease record as read: the fields a holder writes when
/// it renews or takes the lease, and nothing else. Any change of these means
/// its holder is alive; metadata (labels, annotations, the resourceVersion
/// any writer moves) is not part of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Record {
    /// `holderIdentity` as written (None or empty: nobody holds it).
    pub holder: Option<String>,
    /// `renewTime` as written, in microseconds since the epoch.
    pub renewed: Option<i64>,
    /// `acquireTime` as written, in microseconds since the epoch.
    pub acquired: Option<i64>,
    /// `leaseDurationSeconds` as written.
    pub duration_secs: Option<i32>,
    /// `leaseTransitions` as written.
    pub transitions: Option<i32>,
}

impl Record {
    /// The holder, if anyone holds it.
    pub fn holder(&self) -> Option<&str> {
        self.holder.as_deref().filter(|h| !h.is_empty())
    }
}

/// The record last seen and when this replica first saw that version.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    pub record: Record,
    pub at: Instant,
}

impl Observed {
    /// `record` read at `now`: the time it was first seen moves only when
    /// the record changed since `previous`.
    pub fn see(previous: Option<&Observed>, record: Record, now: Instant) -> Observed {
        match previous {
            Some(p) if p.record == record => p.clone(),
            _ => Observed { record, at: now },
        }
    }

    /// Whether the lease may be taken at `now`: nobody holds it, or its
    /// record has not changed for its duration (`fallback` when the record
    /// names none) since this replica first saw it.
    pub fn expired(&self, fallback: Duration, now: Instant) -> bool {
        if self.record.holder().is_none() {
            return true;
        }
        let length = lease_length(self.record.duration_secs, fallback);
        now.saturating_duration_since(self.at) >= length
    }
}

/// What a record asks of this replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Move {
    /// It is ours: renew it.
    Renew,
    /// Free or expired: take it over (a transition: leadership moves).
    Take,
    /// Someone else holds it and it is alive.
    Wait,
}

/// What to do with `observed` as `me` at `now`.
pub(crate) fn decide(me: &str, observed: &Observed, fallback: Duration, now: Instant) -> Move {
    match observed.record.holder() {
        Some(h) if h == me => Move::Renew,
        _ if observed.expired(fallback, now) => Move::Take,
        _ => Move::Wait,
    }
}

/// What a 404 (no Lease) asks of `me`, `leading` or not, having found none
/// since `missing_since` (the first 404 of this streak; any Lease read ends
/// it), `last` the record seen before (None: never saw one).
///
/// - Never saw a Lease (a fresh install): create it at once ([`Move::Take`]).
/// - Leading, and the last record was ours: recreate it, still ours
///   ([`Move::Renew`]); anyone else waits (below), so this is safe.
/// - Otherwise whoever held it (another replica, or one that took it since
///   this replica last looked) may still lead until its renew deadline after
///   its last renewal, which came before the delete, so before
///   `missing_since`: wait a lease duration (the longer of ours and the last
///   record's, bounded) from `missing_since`, then take it.
pub(crate) fn decide_missing(
    me: &str,
    last: Option<&Observed>,
    leading: bool,
    missing_since: Instant,
    fallback: Duration,
    now: Instant,
) -> Move {
    let Some(last) = last else {
        return Move::Take;
    };
    if leading && last.record.holder() == Some(me) {
        return Move::Renew;
    }
    let length = lease_length(last.record.duration_secs, fallback).max(fallback.min(MAX_DURATION));
    if now.saturating_duration_since(missing_since) >= length {
        Move::Take
    } else {
        Move::Wait
    }
}

/// How long a record's `leaseDurationSeconds` lasts: `fallback` when it
/// names none (or nonsense), never more than [`MAX_DURATION`].
pub(crate) fn lease_length(secs: Option<i32>, fallback: Duration) -> Duration {
    match secs {
        Some(s) if s > 0 => Duration::from_secs(u64::from(s.unsigned_abs())).min(MAX_DURATION),
        _ => fallback.min(MAX_DURATION),
    }
}

/// `duration` as the whole seconds a record holds: rounded up, at least 1,
/// so a holder never promises less than it renews for.
pub(crate) fn whole_seconds(duration: Duration) -> i32 {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
}

/// A DNS-1123 subdomain: what a Lease may be called.
pub(crate) fn valid_subdomain(name: &str) -> bool {
    (1..=253).contains(&name.len())
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A holder identity read from a record, fit for logs and for `holder()`:
/// one line, bounded.
pub(crate) fn shown(holder: &str) -> String {
    crate::engine::one_line(holder, MAX_IDENTITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Duration = Duration::from_secs(15);

    /// Held by `holder`, renewed at `renewed` (µs).
    fn held_by(holder: &str, renewed: i64) -> Record {
        Record {
            holder: Some(holder.into()),
            renewed: Some(renewed),
            acquired: Some(1),
            duration_secs: Some(15),
            transitions: Some(0),
        }
    }

    #[test]
    fn a_record_is_alive_for_its_duration_from_when_this_replica_first_saw_it() {
        let t0 = Instant::now();
        let seen = Observed::see(None, held_by("b", 1), t0);
        assert!(!seen.expired(D, t0));
        assert!(!seen.expired(D, t0 + Duration::from_secs(14)));
        assert!(seen.expired(D, t0 + D));
        // Read again unchanged later: still judged from the first sight.
        let again = Observed::see(Some(&seen), held_by("b", 1), t0 + Duration::from_secs(10));
        assert_eq!(again.at, t0);
        assert!(again.expired(D, t0 + D));
        // Renewed (a new version): alive again from now.
        let later = t0 + Duration::from_secs(10);
        let renewed = Observed::see(Some(&again), held_by("b", 2), later);
        assert_eq!(renewed.at, later);
        assert!(!renewed.expired(D, t0 + D));
        assert!(renewed.expired(D, later + D));
    }

    #[test]
    fn any_field_a_holder_writes_counts_as_a_change_and_only_those() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(10);
        let seen = Observed::see(None, held_by("b", 1), t0);
        type Change = fn(&mut Record);
        let changes: [Change; 5] = [
            |r| r.holder = Some("c".into()),
            |r| r.renewed = Some(2),
            |r| r.acquired = Some(2),
            |r| r.duration_secs = Some(16),
            |r| r.transitions = Some(1),
        ];
        for change in changes {
            let mut record = held_by("b", 1);
            change(&mut record);
            let moved = Observed::see(Some(&seen), record, later);
            assert_eq!(moved.at, later, "{:?}", moved.record);
        }
        // The same fields read again (whatever the metadata): unchanged.
        assert_eq!(Observed::see(Some(&seen), held_by("b", 1), later).at, t0);
    }

    #[test]
    fn a_missing_lease_is_created_at_once_only_fresh_or_by_its_leader() {
        let t0 = Instant::now();
        let gone = t0 + Duration::from_secs(3);
        // Never saw one: a fresh install.
        assert_eq!(decide_missing("a", None, false, gone, D, gone), Move::Take);
        // Ours and leading: recreated as ours, not a transition.
        let mine = Observed::see(None, held_by("a", 1), t0);
        assert_eq!(
            decide_missing("a", Some(&mine), true, gone, D, gone),
            Move::Renew
        );
        // Ours but not leading (someone may have taken it since), another's,
        // or free when last seen: a lease duration from the first 404.
        let theirs = Observed::see(None, held_by("b", 1), t0);
        let free = Observed::see(None, Record::default(), t0);
        for (last, leading) in [
            (&mine, false),
            (&theirs, false),
            (&theirs, true),
            (&free, false),
        ] {
            let decide = |now| decide_missing("a", Some(last), leading, gone, D, now);
            assert_eq!(decide(gone), Move::Wait, "{last:?}");
            // Not from when the record was last seen to change.
            assert_eq!(decide(t0 + D), Move::Wait, "{last:?}");
            assert_eq!(decide(gone + D - Duration::from_millis(1)), Move::Wait);
            assert_eq!(decide(gone + D), Move::Take, "{last:?}");
        }
        // The longer of ours and the record's, bounded.
        let long = Observed::see(
            None,
            Record {
                duration_secs: Some(i32::MAX),
                ..held_by("b", 1)
            },
            t0,
        );
        let decide = |now| decide_missing("a", Some(&long), false, gone, D, now);
        assert_eq!(decide(gone + D), Move::Wait);
        assert_eq!(decide(gone + MAX_DURATION), Move::Take);
        let short = Observed::see(
            None,
            Record {
                duration_secs: Some(1),
                ..held_by("b", 1)
            },
            t0,
        );
        assert_eq!(
            decide_missing(
                "a",
                Some(&short),
                false,
                gone,
                D,
                gone + Duration::from_secs(2)
            ),
            Move::Wait
        );
    }

    #[test]
    fn a_renew_time_long_ago_or_in_the_future_changes_nothing() {
        let t0 = Instant::now();
        for renewed in [Some(0), Some(i64::MAX), None] {
            let record = Record {
                renewed,
                ..held_by("b", 1)
            };
            let seen = Observed::see(None, record, t0);
            assert!(!seen.expired(D, t0 + Duration::from_secs(1)), "{renewed:?}");
            assert!(seen.expired(D, t0 + D), "{renewed:?}");
        }
    }

    #[test]
    fn nobody_holding_it_is_free_at_once() {
        let t0 = Instant::now();
        for holder in [None, Some(String::new())] {
            let record = Record {
                holder,
                ..held_by("x", 1)
            };
            let seen = Observed::see(None, record, t0);
            assert!(seen.expired(D, t0));
            assert_eq!(decide("a", &seen, D, t0), Move::Take);
        }
    }

    #[test]
    fn ours_is_renewed_anothers_waited_for_until_it_expires_then_taken() {
        let t0 = Instant::now();
        let mine = Observed::see(None, held_by("a", 1), t0);
        assert_eq!(decide("a", &mine, D, t0 + D * 10), Move::Renew);
        let theirs = Observed::see(None, held_by("b", 1), t0);
        assert_eq!(decide("a", &theirs, D, t0), Move::Wait);
        assert_eq!(decide("a", &theirs, D, t0 + D), Move::Take);
    }

    #[test]
    fn the_records_duration_counts_bounded_and_ours_when_it_names_none() {
        let t0 = Instant::now();
        let short = Record {
            duration_secs: Some(2),
            ..held_by("b", 1)
        };
        let seen = Observed::see(None, short, t0);
        assert!(seen.expired(D, t0 + Duration::from_secs(2)));
        assert_eq!(lease_length(Some(i32::MAX), D), MAX_DURATION);
        for nonsense in [None, Some(0), Some(-5), Some(i32::MIN)] {
            assert_eq!(lease_length(nonsense, D), D, "{nonsense:?}");
        }
    }

    #[test]
    fn whole_seconds_round_up() {
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(15)), 15);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_secs(u64::MAX)), i32::MAX);
    }

    #[test]
    fn lease_names_are_dns_subdomains() {
        for good in ["hoist", "hoist-lease", "a.b-c.d", "0", &"a".repeat(253)] {
            assert!(valid_subdomain(good), "{good}");
        }
        for bad in [
            "",
            "Hoist",
            "-a",
            "a-",
            "a..b",
            ".a",
            "a_b",
            "a b",
            "a\nb",
            &"a".repeat(254),
        ] {
            assert!(!valid_subdomain(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_hostile_holder_is_shown_on_one_bounded_line() {
        let hostile = format!("evil\n\u{202e}holder {}", "x".repeat(10_000));
        let s = shown(&hostile);
        assert!(!s.contains('\n') && !s.contains('\u{202e}'));
        assert!(s.chars().count() <= MAX_IDENTITY);
    }
}
