//! SSH signing keys: OpenSSH private keys of any algorithm ssh-key supports
//! (ed25519, ecdsa p256/p384/p521, rsa), decrypted at load when protected by
//! a passphrase. Signatures are SSHSIG over SHA-512 in namespace `git`.
//! RSA is signed here rather than by ssh-key 0.6.7, whose conversion to an
//! `rsa` key passes the prime p twice and so always fails (RustCrypto/SSH#217,
//! fixed only in 0.7): same construction, PKCS#1 v1.5 with SHA-512
//! (`rsa-sha2-512`), over SSHSIG's own signed-data encoding. Some P-521
//! keys do not load ("length invalid", RustCrypto/SSH#350); the error names
//! the key file, and ed25519 is the recommended kind.

use super::SignError;
use ssh_key::private::RsaKeypair;
use ssh_key::{Algorithm, HashAlg, LineEnding, Mpint, PrivateKey, SshSig};

const NAMESPACE: &str = "git";

pub struct SshKey {
    key: PrivateKey,
}

impl std::fmt::Debug for SshKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl SshKey {
    pub fn load(bytes: &[u8], shown: &str, passphrase: Option<&str>) -> Result<Self, SignError> {
        let key = PrivateKey::from_openssh(bytes).map_err(|e| SignError::Format {
            path: shown.into(),
            reason: format!("not a usable OpenSSH private key: {e}"),
        })?;
        let key = if key.is_encrypted() {
            let pass = passphrase.ok_or_else(|| SignError::Encrypted(shown.into()))?;
            key.decrypt(pass)
                .map_err(|_| SignError::BadPassphrase(shown.into()))?
        } else {
            key
        };
        Ok(SshKey { key })
    }

    pub fn generate() -> Result<Self, SignError> {
        let mut rng = ssh_key::rand_core::OsRng;
        let key = PrivateKey::random(&mut rng, ssh_key::Algorithm::Ed25519)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        Ok(SshKey { key })
    }

    pub fn private_openssh(&self) -> Result<String, SignError> {
        self.key
            .to_openssh(LineEnding::LF)
            .map(|s| s.to_string())
            .map_err(|e| SignError::Sign(e.to_string()))
    }

    pub fn public_openssh(&self) -> String {
        self.key.public_key().to_openssh().unwrap_or_default()
    }

    pub fn describe(&self) -> String {
        format!(
            "{} {}",
            self.key.algorithm(),
            self.key.public_key().fingerprint(HashAlg::Sha256)
        )
    }

    pub fn sign(&self, payload: &[u8]) -> Result<String, SignError> {
        let sig = match self.key.key_data().rsa() {
            Some(rsa) => sign_rsa(&self.key, rsa, payload),
            None => self.key.sign(NAMESPACE, HashAlg::Sha512, payload),
        }
        .map_err(|e| SignError::Sign(e.to_string()))?;
        let pem = sig
            .to_pem(LineEnding::LF)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        Ok(pem.trim_end().to_string())
    }
}

impl SshKey {
    /// Is `armored` an SSHSIG by this key, in namespace `git`, over `payload`?
    pub fn verify(&self, payload: &[u8], armored: &str) -> bool {
        let Ok(sig) = SshSig::from_pem(armored.trim()) else {
            return false;
        };
        self.key
            .public_key()
            .verify(NAMESPACE, payload, &sig)
            .is_ok()
    }
}

fn uint(m: &Mpint) -> Result<rsa::BigUint, ssh_key::Error> {
    m.as_positive_bytes()
        .map(rsa::BigUint::from_bytes_be)
        .ok_or(ssh_key::Error::Crypto)
}

/// An SSHSIG made with an RSA key, as `ssh-keygen -Y sign` makes it.
fn sign_rsa(key: &PrivateKey, rsa: &RsaKeypair, payload: &[u8]) -> ssh_key::Result<SshSig> {
    use rsa::signature::{SignatureEncoding, Signer};
    let private = rsa::RsaPrivateKey::from_components(
        uint(&rsa.public.n)?,
        uint(&rsa.public.e)?,
        uint(&rsa.private.d)?,
        vec![uint(&rsa.private.p)?, uint(&rsa.private.q)?],
    )
    .map_err(|_| ssh_key::Error::Crypto)?;
    let data = SshSig::signed_data(NAMESPACE, HashAlg::Sha512, payload)?;
    let raw = rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(private)
        .try_sign(&data)
        .map_err(|_| ssh_key::Error::Crypto)?;
    let signature = ssh_key::Signature::new(
        Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        },
        raw.to_vec(),
    )?;
    SshSig::new(
        key.public_key().key_data().clone(),
        NAMESPACE,
        HashAlg::Sha512,
        signature,
    )
}
