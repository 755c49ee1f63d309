//! Seals: what makes an object in hoist's namespace a record only hoist
//! could have written. Anyone with the right to write `hoist.dev` objects
//! there could otherwise forge an operation (`Approved`, or awaiting
//! approval with enough approvers and claimed group memberships) that the
//! leader would carry on and push to production as a signed commit. So
//! every object the journal writes carries `spec.seal`, lowercase hex of
//! HMAC-SHA256 keyed by the journal key (`HOIST_JOURNAL_KEY`) over an
//! unambiguous encoding (each field length-prefixed, an absent one marked
//! as such) of the kind's plural, the object's name and the spec's content
//! fields; reading checks it in constant time, and an object without a
//! seal, or with one made by another key, or copied under another name, is
//! `Corrupt` (never acted on, never skipped). The copies `kubectl get`
//! shows and the labels are not sealed: nothing is decided on them alone
//! (queries check each sealed record).
//!
//! What a seal cannot do: an older object of the SAME name, sealed by
//! hoist in its time (an operation's earlier state, a released lock), is
//! still valid if someone who can write the namespace puts it back. A MAC
//! does not know time, and the `resourceVersion` compare-and-swap does not
//! help (the writer of the replay gets a fresh version like anyone). Who
//! holds the journal key can of course seal anything.

use hmac::{Hmac, KeyInit, Mac};

type HmacSha256 = Hmac<sha2_11::Sha256>;

/// The shortest journal key accepted, in bytes.
pub const MIN_KEY: usize = 32;
/// A seal's length: 32 bytes as hex.
pub const SEAL_LEN: usize = 64;
/// Leads every sealed message, so a seal is never valid for another use
/// of the same key.
const DOMAIN: &[u8] = b"hoist journal seal v1";

/// Seals and checks seals with the journal key; `Debug` shows no key.
#[derive(Clone)]
pub struct Sealer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

/// Why a seal was refused, for the `Corrupt` error.
#[derive(Debug, thiserror::Error)]
#[error("it is not sealed by this journal's key ({0})")]
pub struct Unsealed(&'static str);

impl Sealer {
    /// A sealer for `key` (at least [`MIN_KEY`] bytes: the caller checks).
    pub fn new(key: &[u8]) -> Sealer {
        Sealer { key: key.to_vec() }
    }

    fn mac(&self, plural: &str, name: &str, fields: &[Option<&[u8]>]) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(DOMAIN);
        let mut field = |part: Option<&[u8]>| match part {
            Some(bytes) => {
                mac.update(&[1]);
                mac.update(&(bytes.len() as u64).to_be_bytes());
                mac.update(bytes);
            }
            None => mac.update(&[0]),
        };
        field(Some(plural.as_bytes()));
        field(Some(name.as_bytes()));
        for part in fields {
            field(*part);
        }
        mac
    }

    /// The seal of the object `name` of kind `plural` holding `fields`.
    pub fn seal(&self, plural: &str, name: &str, fields: &[Option<&[u8]>]) -> String {
        self.mac(plural, name, fields)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Is `seal` this key's seal of these fields? Compared in constant time.
    pub fn check(
        &self,
        plural: &str,
        name: &str,
        fields: &[Option<&[u8]>],
        seal: &str,
    ) -> Result<(), Unsealed> {
        if seal.is_empty() {
            return Err(Unsealed("it has no seal"));
        }
        let tag = unhex(seal).ok_or(Unsealed("its seal is not 64 lowercase hex digits"))?;
        self.mac(plural, name, fields)
            .verify_slice(&tag)
            .map_err(|_| Unsealed("its seal does not match"))
    }
}

/// 64 lowercase hex digits as 32 bytes.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() != SEAL_LEN {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    bytes
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_seal_binds_the_kind_the_name_and_every_field() {
        let s = Sealer::new(KEY);
        let seal = s.seal("hoistkeys", "key-1", &[Some(b"k"), None, Some(b"5")]);
        assert_eq!(seal.len(), SEAL_LEN);
        assert!(
            seal.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let fields: &[Option<&[u8]>] = &[Some(b"k"), None, Some(b"5")];
        assert!(s.check("hoistkeys", "key-1", fields, &seal).is_ok());
        for (plural, name, fields) in [
            ("hoistlocks", "key-1", fields),
            ("hoistkeys", "key-2", fields),
            (
                "hoistkeys",
                "key-1",
                &[Some(&b"k"[..]), Some(b""), Some(b"5")][..],
            ),
            // Length prefixes: "k" + "5" is not "k5" + "".
            (
                "hoistkeys",
                "key-1",
                &[Some(&b"k5"[..]), None, Some(b"")][..],
            ),
        ] {
            assert!(
                s.check(plural, name, fields, &seal).is_err(),
                "{plural} {name}"
            );
        }
        let other = Sealer::new(b"another key, also thirty-two bytes long");
        assert!(other.check("hoistkeys", "key-1", fields, &seal).is_err());
        assert!(s.check("hoistkeys", "key-1", fields, "").is_err());
        assert!(
            s.check("hoistkeys", "key-1", fields, &seal.to_uppercase())
                .is_err()
        );
        assert!(s.check("hoistkeys", "key-1", fields, &seal[..62]).is_err());
        assert_eq!(format!("{s:?}"), "Sealer(<redacted>)");
    }
}
