//! Public keys that may sign, and the verdict on a commit's signature against
//! them: an SSH allowed-signers file (git's `gpg.ssh.allowedSignersFile`:
//! `principals [options] keytype base64key [comment]`) and armored OpenPGP
//! public keyrings, each file's kind read from its content. An SSH signature
//! counts only as an SSHSIG in namespace `git` by a listed key whose
//! `namespaces=` (if any) allows `git` and whose `valid-after`/`valid-before`
//! (if any, UTC) hold at the commit's time, as `git verify-commit` checks it;
//! `cert-authority` lines are refused at load (certificates are not verified
//! here). An OpenPGP signature counts when it verifies against a listed,
//! unrevoked primary key or one of its subkeys whose binding verifies.

use super::SignError;
use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;
use ssh_key::{PublicKey, SshSig};
use std::path::{Path, PathBuf};

const NAMESPACE: &str = "git";

/// What a signature is, judged against a [`Keyring`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Made by a listed key; who (the allowed-signers principals, or the
    /// OpenPGP key's first user id).
    Good(String),
    /// Claims a listed key but does not verify (altered content, another
    /// namespace, outside the key's validity).
    Bad,
    /// Made by a key that is not listed (or unreadable).
    UnknownKey,
    /// No signature at all.
    Unsigned,
}

/// One line of an allowed-signers file.
#[derive(Debug, Clone)]
struct Allowed {
    principals: String,
    key: PublicKey,
    /// `valid-after` / `valid-before`, seconds since the epoch.
    after: Option<i64>,
    before: Option<i64>,
}

/// The keys that may sign. Empty means nobody may.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    ssh: Vec<Allowed>,
    pgp: Vec<(String, SignedPublicKey)>,
}

fn bad(path: &str, reason: impl Into<String>) -> SignError {
    SignError::Signers {
        path: path.into(),
        reason: reason.into(),
    }
}

impl Keyring {
    /// Read every file of `paths` (allowed-signers or OpenPGP keyrings).
    pub fn load(paths: &[PathBuf]) -> Result<Keyring, SignError> {
        let mut ring = Keyring::default();
        for path in paths {
            ring.add_file(path)?;
        }
        Ok(ring)
    }

    fn add_file(&mut self, path: &Path) -> Result<(), SignError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| SignError::Read {
            path: shown.clone(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| bad(&shown, "is not UTF-8 text"))?;
        self.add_text(&text, &shown)
    }

    /// Add the keys of one file's contents (`shown` names it in errors).
    pub fn add_text(&mut self, text: &str, shown: &str) -> Result<(), SignError> {
        if text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
            let (keys, _) = SignedPublicKey::from_armor_many(std::io::Cursor::new(text.as_bytes()))
                .map_err(|e| bad(shown, format!("not an OpenPGP public keyring: {e}")))?;
            for key in keys {
                let key = key.map_err(|e| bad(shown, format!("an unreadable key: {e}")))?;
                key.verify_bindings()
                    .map_err(|e| bad(shown, format!("a key whose self-signatures fail: {e}")))?;
                let who = key
                    .details
                    .users
                    .first()
                    .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
                    .unwrap_or_else(|| format!("OpenPGP {}", key.fingerprint()));
                self.pgp.push((who, key));
            }
            return Ok(());
        }
        if text.contains("-----BEGIN PGP") {
            return Err(bad(
                shown,
                "holds OpenPGP data that is not a public key block",
            ));
        }
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |why: String| bad(shown, format!("line {}: {why}", n + 1));
            if let Some(allowed) = allowed_line(line).map_err(at)? {
                self.ssh.push(allowed);
            }
        }
        Ok(())
    }

    /// How many keys are listed.
    pub fn len(&self) -> usize {
        self.ssh.len() + self.pgp.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The verdict on `armored` (a commit's `gpgsig`, if any) over `payload`
    /// (the commit without it), for a commit made at `time` (seconds).
    pub fn check(&self, payload: &[u8], armored: Option<&str>, time: i64) -> Verdict {
        let Some(armored) = armored.map(str::trim).filter(|a| !a.is_empty()) else {
            return Verdict::Unsigned;
        };
        if armored.starts_with("-----BEGIN SSH SIGNATURE-----") {
            self.check_ssh(payload, armored, time)
        } else {
            self.check_pgp(payload, armored)
        }
    }

    fn check_ssh(&self, payload: &[u8], armored: &str, time: i64) -> Verdict {
        let Ok(sig) = SshSig::from_pem(armored) else {
            return Verdict::UnknownKey;
        };
        let mut listed = false;
        for a in self
            .ssh
            .iter()
            .filter(|a| a.key.key_data() == sig.public_key())
        {
            listed = true;
            let valid = a.after.is_none_or(|t| time >= t) && a.before.is_none_or(|t| time <= t);
            if valid && a.key.verify(NAMESPACE, payload, &sig).is_ok() {
                return Verdict::Good(a.principals.clone());
            }
        }
        if listed {
            Verdict::Bad
        } else {
            Verdict::UnknownKey
        }
    }

    fn check_pgp(&self, payload: &[u8], armored: &str) -> Verdict {
        let Ok((sig, _)) =
            DetachedSignature::from_armor_single(std::io::Cursor::new(armored.as_bytes()))
        else {
            return Verdict::UnknownKey;
        };
        let issuers = sig.signature.issuer_key_id();
        let mut listed = false;
        for (who, key) in &self.pgp {
            if !key.details.revocation_signatures.is_empty() {
                continue;
            }
            let primary = &key.primary_key;
            listed |= issuers.contains(&&primary.legacy_key_id());
            if sig.verify(primary, payload).is_ok() {
                return Verdict::Good(who.clone());
            }
            for sub in &key.public_subkeys {
                listed |= issuers.contains(&&sub.key.legacy_key_id());
                if sub.verify_bindings(primary).is_ok() && sig.verify(&sub.key, payload).is_ok() {
                    return Verdict::Good(who.clone());
                }
            }
        }
        if listed {
            Verdict::Bad
        } else {
            Verdict::UnknownKey
        }
    }
}

/// Split a line into words, keeping `"..."` together (quotes kept).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut word, mut quoted) = (String::new(), false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// One allowed-signers line; `None` when its `namespaces=` excludes `git`.
fn allowed_line(line: &str) -> Result<Option<Allowed>, String> {
    let w = words(line);
    let key_at = |i: usize| -> Option<PublicKey> {
        let (kind, data) = (w.get(i)?, w.get(i + 1)?);
        PublicKey::from_openssh(&format!("{kind} {data}")).ok()
    };
    let principals = w.first().ok_or("empty line")?.trim_matches('"').to_string();
    let (options, key) = match key_at(1) {
        Some(k) => (None, k),
        None => match key_at(2) {
            Some(k) => (w.get(1), k),
            None => return Err("no `keytype base64key` after the principals".into()),
        },
    };
    let mut allowed = Allowed {
        principals,
        key,
        after: None,
        before: None,
    };
    for option in options.map(|o| split_options(o)).unwrap_or_default() {
        let (name, value) = option.split_once('=').unwrap_or((option.as_str(), ""));
        let value = value.trim_matches('"');
        match name.to_ascii_lowercase().as_str() {
            "namespaces" => {
                if !pattern_list_allows(value, NAMESPACE) {
                    return Ok(None);
                }
            }
            "valid-after" => allowed.after = Some(timestamp(value)?),
            "valid-before" => allowed.before = Some(timestamp(value)?),
            "cert-authority" => {
                return Err("cert-authority is not supported: list the signers' keys".into());
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(Some(allowed))
}

/// OpenSSH's `match_pattern_list`: comma-separated patterns with `*` and
/// `?`; a matching `!pattern` denies whatever else matches.
fn pattern_list_allows(list: &str, name: &str) -> bool {
    let mut allowed = false;
    for pattern in list.split(',').map(str::trim) {
        match pattern.strip_prefix('!') {
            Some(denied) if glob(denied.as_bytes(), name.as_bytes()) => return false,
            Some(_) => {}
            None => allowed |= glob(pattern.as_bytes(), name.as_bytes()),
        }
    }
    allowed
}

/// `*` (any run) and `?` (one character) wildcard match.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], name) || (!name.is_empty() && glob(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// `a="x,y",b` -> [`a="x,y"`, `b`].
fn split_options(options: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut part, mut quoted) = (String::new(), false);
    for c in options.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                part.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut part)),
            c => part.push(c),
        }
    }
    out.push(part);
    out.retain(|p| !p.is_empty());
    out
}

/// `YYYYMMDD[HHMM[SS]][Z]`, read as UTC, to seconds since the epoch.
fn timestamp(text: &str) -> Result<i64, String> {
    let digits = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    let wrong = || format!("`{text}` is not a time (YYYYMMDD[HHMM[SS]][Z])");
    if !matches!(digits.len(), 8 | 12 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(wrong());
    }
    let num =
        |r: std::ops::Range<usize>| digits.get(r).map_or(0, |s| s.parse::<i64>().unwrap_or(0));
    let (y, m, d) = (num(0..4), num(4..6), num(6..8));
    let (hh, mm, ss) = (num(8..10), num(10..12), num(12..14));
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return Err(wrong());
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_follow_opensshs_pattern_lists() {
        assert!(pattern_list_allows("git", "git"));
        assert!(pattern_list_allows("file,g?t", "git"));
        assert!(pattern_list_allows("*", "git"));
        assert!(!pattern_list_allows("*,!git", "git"), "a negation wins");
        assert!(!pattern_list_allows("!git,*", "git"));
        assert!(!pattern_list_allows("file", "git"));
        assert!(
            !pattern_list_allows("!file", "git"),
            "only negations allow nothing"
        );
        assert!(pattern_list_allows("g*", "git"));
    }
    use crate::gitops::sign::Signer;

    #[test]
    fn allowed_signers_lines_and_verdicts() {
        let alice = Signer::generate().unwrap();
        let other = Signer::generate().unwrap();
        let mut ring = Keyring::default();
        let text = format!(
            "# policy signers\nalice@example.com {}\n\"bob@x\" namespaces=\"file\" {} bob\n",
            alice.public_openssh().unwrap(),
            other.public_openssh().unwrap()
        );
        ring.add_text(&text, "signers").unwrap();
        assert_eq!(ring.len(), 1, "bob's key is not for git");
        let sig = alice.sign(b"payload").unwrap();
        assert_eq!(
            ring.check(b"payload", Some(&sig), 0),
            Verdict::Good("alice@example.com".into())
        );
        assert_eq!(ring.check(b"changed", Some(&sig), 0), Verdict::Bad);
        let theirs = other.sign(b"payload").unwrap();
        assert_eq!(
            ring.check(b"payload", Some(&theirs), 0),
            Verdict::UnknownKey
        );
        assert_eq!(ring.check(b"payload", None, 0), Verdict::Unsigned);
    }

    #[test]
    fn validity_is_judged_at_the_commits_time() {
        let alice = Signer::generate().unwrap();
        let mut ring = Keyring::default();
        let line = format!(
            "a valid-after=\"20240101\",valid-before=\"20250101Z\" {}",
            alice.public_openssh().unwrap()
        );
        ring.add_text(&line, "signers").unwrap();
        let sig = alice.sign(b"p").unwrap();
        assert_eq!(
            ring.check(b"p", Some(&sig), 1_704_067_200),
            Verdict::Good("a".into())
        );
        assert_eq!(ring.check(b"p", Some(&sig), 1_704_067_199), Verdict::Bad);
        assert_eq!(ring.check(b"p", Some(&sig), 1_735_689_601), Verdict::Bad);
    }

    #[test]
    fn refused_lines_name_the_line() {
        let key = Signer::generate().unwrap().public_openssh().unwrap();
        let mut ring = Keyring::default();
        let e = ring
            .add_text(&format!("\nca cert-authority {key}"), "f")
            .unwrap_err();
        assert!(e.to_string().contains("line 2: cert-authority"), "{e}");
        assert!(ring.add_text("alice ssh-ed25519", "f").is_err());
        assert!(
            ring.add_text("-----BEGIN PGP PRIVATE KEY BLOCK-----", "f")
                .is_err()
        );
    }
}
