//! Commit signatures. An SSH key (ed25519, ecdsa, rsa) signs the commit
//! payload as an SSHSIG in namespace `git`, the armored result going into the
//! commit's `gpgsig` header exactly as `git commit -S` with `gpg.format=ssh`
//! would write it, so `git verify-commit` accepts it.

use ssh_key::{HashAlg, LineEnding, PrivateKey};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot read signing key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("signing key {path} is not an OpenSSH private key: {reason}")]
    Format { path: String, reason: String },
    #[error("signing key {0} is encrypted; set HOIST_SIGNING_KEY_PASSPHRASE")]
    Encrypted(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A loaded signing key. `Debug` shows the public half only.
pub struct Signer {
    key: PrivateKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("public", &self.public_openssh())
            .finish()
    }
}

impl Signer {
    /// Load an OpenSSH private key file.
    pub fn from_file(path: &Path) -> Result<Self, SignError> {
        let shown = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| SignError::Read {
            path: shown.clone(),
            source,
        })?;
        let key = PrivateKey::from_openssh(&text).map_err(|e| SignError::Format {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        if key.is_encrypted() {
            return Err(SignError::Encrypted(shown));
        }
        Ok(Signer { key })
    }

    /// A new random ed25519 key (for `hoist try` and tests).
    pub fn generate() -> Result<Self, SignError> {
        let mut rng = ssh_key::rand_core::OsRng;
        let key = PrivateKey::random(&mut rng, ssh_key::Algorithm::Ed25519)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        Ok(Signer { key })
    }

    /// The private key in OpenSSH format (to write a throw-away key file).
    pub fn private_openssh(&self) -> Result<String, SignError> {
        self.key
            .to_openssh(LineEnding::LF)
            .map(|s| s.to_string())
            .map_err(|e| SignError::Sign(e.to_string()))
    }

    /// `ssh-ed25519 AAAA...`: the line for an allowed-signers file.
    pub fn public_openssh(&self) -> String {
        self.key.public_key().to_openssh().unwrap_or_default()
    }

    /// Sign `payload` (the commit object without its `gpgsig` header); returns
    /// the armored signature without a trailing newline.
    pub fn sign(&self, payload: &[u8]) -> Result<String, SignError> {
        let sig = self
            .key
            .sign("git", HashAlg::Sha512, payload)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        let pem = sig
            .to_pem(LineEnding::LF)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        Ok(pem.trim_end().to_string())
    }
}
