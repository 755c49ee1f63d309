//! Commit signatures, in the two formats git verifies. An OpenSSH private key
//! (ed25519, ecdsa, rsa) signs the commit payload as an SSHSIG in namespace
//! `git` (what `git commit -S` writes with `gpg.format=ssh`); an armored
//! OpenPGP secret key makes a detached binary signature (what `gpg
//! --detach-sign` gives git, and the only kind Argo CD verifies). The format is
//! read from the key file itself. Encrypted keys are unlocked once, at load,
//! with a passphrase (`HOIST_SIGNING_KEY_PASSPHRASE`), so a wrong passphrase
//! is reported when hoist starts, not at the first deploy.

mod keyring;
mod openpgp;
mod ssh;

pub use keyring::{Keyring, Verdict};

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot read signing key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "signing key {path} is neither an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----) \
         nor an armored OpenPGP secret key (-----BEGIN PGP PRIVATE KEY BLOCK-----)"
    )]
    UnknownFormat { path: String },
    #[error("signing key {path}: {reason}")]
    Format { path: String, reason: String },
    #[error("signing key {0} is encrypted; set HOIST_SIGNING_KEY_PASSPHRASE")]
    Encrypted(String),
    #[error(
        "signing key {0} could not be unlocked with HOIST_SIGNING_KEY_PASSPHRASE (wrong passphrase?)"
    )]
    BadPassphrase(String),
    #[error("signing failed: {0}")]
    Sign(String),
    /// A file of public keys that may sign (allowed signers, a keyring).
    #[error("signers file {path}: {reason}")]
    Signers { path: String, reason: String },
}

/// A loaded, unlocked signing key. `Debug` shows the public half only.
pub enum Signer {
    Ssh(Box<ssh::SshKey>),
    OpenPgp(Box<openpgp::PgpKey>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key", &self.describe())
            .finish()
    }
}

impl Signer {
    /// Load a key file; `passphrase` unlocks an encrypted one.
    pub fn from_file(path: &Path, passphrase: Option<&str>) -> Result<Self, SignError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| SignError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::from_bytes(&bytes, &shown, passphrase)
    }

    /// Load a key from its file's contents (`shown` names it in errors).
    pub fn from_bytes(
        bytes: &[u8],
        shown: &str,
        passphrase: Option<&str>,
    ) -> Result<Self, SignError> {
        let text = String::from_utf8_lossy(bytes);
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
            ssh::SshKey::load(bytes, shown, passphrase).map(|k| Signer::Ssh(Box::new(k)))
        } else if text.contains("-----BEGIN PGP PRIVATE KEY BLOCK-----") {
            openpgp::PgpKey::load(&text, shown, passphrase).map(|k| Signer::OpenPgp(Box::new(k)))
        } else {
            Err(SignError::UnknownFormat { path: shown.into() })
        }
    }

    /// A new random ed25519 SSH key (for `hoist try` and tests).
    pub fn generate() -> Result<Self, SignError> {
        ssh::SshKey::generate().map(|k| Signer::Ssh(Box::new(k)))
    }

    /// The private key in OpenSSH format (to write a throw-away key file);
    /// `None` for an OpenPGP key.
    pub fn private_openssh(&self) -> Result<Option<String>, SignError> {
        match self {
            Signer::Ssh(k) => k.private_openssh().map(Some),
            Signer::OpenPgp(_) => Ok(None),
        }
    }

    /// `ssh-ed25519 AAAA...` (the line for an allowed-signers file); `None`
    /// for an OpenPGP key.
    pub fn public_openssh(&self) -> Option<String> {
        match self {
            Signer::Ssh(k) => Some(k.public_openssh()),
            Signer::OpenPgp(_) => None,
        }
    }

    /// What signs, for logs and `Debug`: `ssh-ed25519 SHA256:...` or
    /// `OpenPGP <fingerprint>`. Never secret material.
    pub fn describe(&self) -> String {
        match self {
            Signer::Ssh(k) => k.describe(),
            Signer::OpenPgp(k) => k.describe(),
        }
    }

    /// Is `armored` (a commit's `gpgsig` header) this key's signature over
    /// `payload` (the commit object without that header)? What makes a
    /// commit's trailers trustworthy: only hoist holds this key.
    pub fn verify(&self, payload: &[u8], armored: &str) -> bool {
        match self {
            Signer::Ssh(k) => k.verify(payload, armored),
            Signer::OpenPgp(k) => k.verify(payload, armored),
        }
    }

    /// Sign `payload` (the commit object without its `gpgsig` header); returns
    /// the armored signature without a trailing newline.
    pub fn sign(&self, payload: &[u8]) -> Result<String, SignError> {
        match self {
            Signer::Ssh(k) => k.sign(payload),
            Signer::OpenPgp(k) => k.sign(payload),
        }
    }
}
