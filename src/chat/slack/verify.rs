//! Slack's request signatures (v0): `X-Slack-Signature` is
//! `v0=` + hex(HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw body))
//! and `X-Slack-Request-Timestamp` must be within five minutes of now. Checked
//! before anything else reads the body, against an injectable clock, with a
//! constant-time compare. slack-morphism's verifier reads the system clock
//! itself, so the documented example (from 2018) could not be tested with it.

use crate::engine::ports::Clock;
use hmac::{Hmac, KeyInit, Mac};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// How far a request's timestamp may be from now, either way.
pub const WINDOW_SECS: u64 = 5 * 60;

/// Why a request was not accepted; the HTTP answer is 401 in every case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("the request timestamp is not a number")]
    BadTimestamp,
    #[error("the request timestamp is more than five minutes from now (a replay?)")]
    Stale,
    #[error("the signature does not match the body")]
    Mismatch,
}

impl Reject {
    /// A label for the rejection counter.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Reject::Missing(_) => "missing_header",
            Reject::BadTimestamp => "bad_timestamp",
            Reject::Stale => "stale",
            Reject::Mismatch => "bad_signature",
        }
    }
}

/// Checks requests against one signing secret.
#[derive(Clone)]
pub struct Verifier {
    secret: Vec<u8>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier { secret: <redacted> }")
    }
}

impl Verifier {
    pub fn new(secret: &str, clock: Arc<dyn Clock>) -> Verifier {
        Verifier {
            secret: secret.as_bytes().to_vec(),
            clock,
        }
    }

    /// `v0=<hex>` for `body` sent at `timestamp`.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<sha2_11::Sha256>::new_from_slice(&self.secret)
            .expect("HMAC takes a key of any length");
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        let bytes = mac.finalize().into_bytes();
        let mut out = String::with_capacity(3 + 64);
        out.push_str("v0=");
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// Accept or reject a request from its two headers and raw body.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), Reject> {
        let ts = timestamp.ok_or(Reject::Missing("X-Slack-Request-Timestamp"))?;
        let sig = signature.ok_or(Reject::Missing("X-Slack-Signature"))?;
        let at: i64 = ts.trim().parse().map_err(|_| Reject::BadTimestamp)?;
        // `abs_diff` is exact for every pair of i64s (a difference can need
        // 64 bits unsigned): an absurd timestamp is stale, never an overflow.
        if self.clock.now().abs_diff(at) > WINDOW_SECS {
            return Err(Reject::Stale);
        }
        let expected = self.sign(ts, body);
        if bool::from(expected.as_bytes().ct_eq(sig.as_bytes())) {
            Ok(())
        } else {
            Err(Reject::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct At(i64);
    impl Clock for At {
        fn now(&self) -> i64 {
            self.0
        }
    }

    /// Slack's documented example ("Verifying requests from Slack").
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn verifier(secret: &str, now: i64) -> Verifier {
        Verifier::new(secret, Arc::new(At(now)))
    }

    #[test]
    fn the_documented_example_signs_and_verifies() {
        let v = verifier(SECRET, 1_531_420_618 + 60);
        assert_eq!(v.sign(TS, BODY.as_bytes()), EXPECTED);
        assert_eq!(v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes()), Ok(()));
    }

    #[test]
    fn a_tampered_body_is_rejected() {
        let v = verifier(SECRET, 1_531_420_618);
        let body = BODY.replace("user_id=U2CERLKJA", "user_id=U2CERLKJB");
        assert_eq!(
            v.verify(Some(TS), Some(EXPECTED), body.as_bytes()),
            Err(Reject::Mismatch)
        );
    }

    #[test]
    fn a_timestamp_over_five_minutes_away_is_rejected_either_way() {
        for now in [1_531_420_618 + 301, 1_531_420_618 - 301] {
            let v = verifier(SECRET, now);
            assert_eq!(
                v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes()),
                Err(Reject::Stale)
            );
        }
        let edge = verifier(SECRET, 1_531_420_618 + 300);
        assert_eq!(
            edge.verify(Some(TS), Some(EXPECTED), BODY.as_bytes()),
            Ok(())
        );
    }

    #[test]
    fn absurd_timestamps_are_rejected_without_overflow() {
        let extremes = [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX];
        for now in extremes {
            let v = verifier(SECRET, now);
            for at in extremes {
                if now.abs_diff(at) <= WINDOW_SECS {
                    continue;
                }
                let ts = at.to_string();
                let sig = v.sign(&ts, BODY.as_bytes());
                assert_eq!(
                    v.verify(Some(&ts), Some(&sig), BODY.as_bytes()),
                    Err(Reject::Stale),
                    "now {now}, timestamp {ts}"
                );
            }
        }
        let v = verifier(SECRET, 1_531_420_618);
        for ts in ["99999999999999999999", "-99999999999999999999", "1e9", ""] {
            assert_eq!(
                v.verify(Some(ts), Some(EXPECTED), BODY.as_bytes()),
                Err(Reject::BadTimestamp),
                "{ts}"
            );
        }
    }

    #[test]
    fn missing_headers_and_a_wrong_secret_are_rejected() {
        let v = verifier(SECRET, 1_531_420_618);
        assert!(matches!(
            v.verify(None, Some(EXPECTED), BODY.as_bytes()),
            Err(Reject::Missing(_))
        ));
        assert!(matches!(
            v.verify(Some(TS), None, BODY.as_bytes()),
            Err(Reject::Missing(_))
        ));
        assert_eq!(
            v.verify(Some("soon"), Some(EXPECTED), BODY.as_bytes()),
            Err(Reject::BadTimestamp)
        );
        let wrong = verifier("8f742231b10e8888abcd99yyyzzz85a6", 1_531_420_618);
        assert_eq!(
            wrong.verify(Some(TS), Some(EXPECTED), BODY.as_bytes()),
            Err(Reject::Mismatch)
        );
        assert_eq!(
            v.verify(Some(TS), Some("v0=a2114d57"), BODY.as_bytes()),
            Err(Reject::Mismatch),
            "a prefix of the right signature is not the signature"
        );
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Header values as an outsider may send them: numbers of any size,
        /// signs, spaces, `v0=` prefixes, control characters, anything.
        fn header() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                any::<i64>().prop_map(|n| n.to_string()),
                "[ +-]?[0-9]{0,40}",
                "v0=[0-9a-f]{0,70}",
                Just(String::new()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]

            #[test]
            fn no_request_panics_the_verifier_or_passes_unsigned(
                now in any::<i64>(),
                ts in proptest::option::of(header()),
                sig in proptest::option::of(header()),
                body in proptest::collection::vec(any::<u8>(), 0..256),
            ) {
                let v = verifier(SECRET, now);
                let answer = v.verify(ts.as_deref(), sig.as_deref(), &body);
                // Only the right signature of this body at this time passes.
                if answer.is_ok() {
                    let ts = ts.as_deref().unwrap_or_default();
                    let expected = v.sign(ts, &body);
                    prop_assert_eq!(sig.as_deref(), Some(expected.as_str()));
                }
            }

            #[test]
            fn a_signed_request_passes_exactly_within_the_window(
                now in any::<i64>(),
                skew in any::<i64>(),
                body in proptest::collection::vec(any::<u8>(), 0..256),
            ) {
                let v = verifier(SECRET, now);
                let at = now.wrapping_add(skew);
                let ts = at.to_string();
                let sig = v.sign(&ts, &body);
                let answer = v.verify(Some(&ts), Some(&sig), &body);
                if now.abs_diff(at) <= WINDOW_SECS {
                    prop_assert_eq!(answer, Ok(()));
                } else {
                    prop_assert_eq!(answer, Err(Reject::Stale));
                }
            }
        }

        #[test]
        fn a_mebibyte_body_and_header_are_checked_quickly() {
            let v = verifier(SECRET, 1_531_420_618);
            let big = vec![0xffu8; 1 << 20];
            let huge = "9".repeat(1 << 20);
            let start = std::time::Instant::now();
            assert_eq!(
                v.verify(Some(TS), Some(EXPECTED), &big),
                Err(Reject::Mismatch)
            );
            assert_eq!(
                v.verify(Some(&huge), Some(&huge), &big),
                Err(Reject::BadTimestamp)
            );
            assert!(start.elapsed() < std::time::Duration::from_secs(5));
        }
    }
}
