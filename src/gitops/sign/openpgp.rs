//! OpenPGP signing keys (rPGP): an armored transferable secret key as `gpg
//! --export-secret-keys --armor` writes it. The signing key is the newest
//! subkey whose binding signature allows signing, else the primary key (as gpg
//! chooses); it is unlocked once at load. Signatures are detached, binary,
//! with the key's preferred hash, armored for the commit's `gpgsig` header.

use super::SignError;
use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, SignedSecretKey};
use pgp::packet::{SecretKey, SecretSubkey, Signature};
use pgp::types::{KeyDetails, Password, SigningKey};

enum Which {
    Primary(SecretKey),
    Subkey(SecretSubkey),
}

pub struct PgpKey {
    key: Which,
    fingerprint: String,
}

impl std::fmt::Debug for PgpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Does the newest of these self-signatures allow signing? `None` when there
/// is none; a signature without any key flag (old keys) allows every use.
fn allows_signing(sigs: &[Signature]) -> Option<bool> {
    sigs.iter()
        .max_by_key(|s| s.created().map(|t| t.as_secs()))
        .map(|s| {
            let f = s.key_flags();
            f.sign()
                || !(f.certify() || f.encrypt_comms() || f.encrypt_storage() || f.authentication())
        })
}

impl PgpKey {
    pub fn load(text: &str, shown: &str, passphrase: Option<&str>) -> Result<Self, SignError> {
        let format = |reason: String| SignError::Format {
            path: shown.into(),
            reason,
        };
        let (key, _) = SignedSecretKey::from_armor_single(std::io::Cursor::new(text.as_bytes()))
            .map_err(|e| format(format!("not a usable OpenPGP secret key: {e}")))?;
        let subkey = key
            .secret_subkeys
            .iter()
            .filter(|s| allows_signing(&s.signatures) == Some(true))
            .max_by_key(|s| s.key.public_key().created_at().as_secs());
        let primary_signs = key
            .details
            .users
            .iter()
            .filter_map(|u| allows_signing(&u.signatures))
            .chain(allows_signing(&key.details.direct_signatures))
            .next()
            .unwrap_or(true);
        let mut which = match subkey {
            Some(s) => Which::Subkey(s.key.clone()),
            None if primary_signs => Which::Primary(key.primary_key.clone()),
            None => {
                return Err(format(
                    "has no key that may sign (neither the primary key nor a subkey has the sign flag)".into(),
                ));
            }
        };
        let encrypted = match &which {
            Which::Primary(k) => k.secret_params().is_encrypted(),
            Which::Subkey(k) => k.secret_params().is_encrypted(),
        };
        if encrypted {
            let pass = passphrase.ok_or_else(|| SignError::Encrypted(shown.into()))?;
            let pw = Password::from(pass);
            let unlocked = match &mut which {
                Which::Primary(k) => k.remove_password(&pw),
                Which::Subkey(k) => k.remove_password(&pw),
            };
            unlocked.map_err(|_| SignError::BadPassphrase(shown.into()))?;
        }
        let fingerprint = match &which {
            Which::Primary(k) => k.fingerprint(),
            Which::Subkey(k) => k.fingerprint(),
        };
        Ok(PgpKey {
            key: which,
            fingerprint: format!("{fingerprint}").to_uppercase(),
        })
    }

    pub fn describe(&self) -> String {
        format!("OpenPGP {}", self.fingerprint)
    }

    pub fn sign(&self, payload: &[u8]) -> Result<String, SignError> {
        let rng = ssh_key::rand_core::OsRng;
        let pw = Password::empty();
        let sig = match &self.key {
            Which::Primary(k) => {
                DetachedSignature::sign_binary_data(rng, k, &pw, k.hash_alg(), payload)
            }
            Which::Subkey(k) => {
                DetachedSignature::sign_binary_data(rng, k, &pw, k.hash_alg(), payload)
            }
        }
        .map_err(|e| SignError::Sign(e.to_string()))?;
        let armored = sig
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| SignError::Sign(e.to_string()))?;
        Ok(armored.trim_end().to_string())
    }
}

impl PgpKey {
    /// Is `armored` a detached signature by this key over `payload`?
    pub fn verify(&self, payload: &[u8], armored: &str) -> bool {
        let Ok((sig, _)) =
            DetachedSignature::from_armor_single(std::io::Cursor::new(armored.as_bytes()))
        else {
            return false;
        };
        match &self.key {
            Which::Primary(k) => sig.verify(k.public_key(), payload).is_ok(),
            Which::Subkey(k) => sig.verify(k.public_key(), payload).is_ok(),
        }
    }
}
