//! Locks, dedupe keys, notes and retention as objects. A lock is taken or
//! replaced by compare-and-swap and released by a delete conditioned on the
//! version read; a dedupe key is created if absent, so of two replicas
//! handed the same event exactly one is told it is new; a note is an upsert
//! (the last writer wins, as with every journal), retried a few times when
//! another writer moves it meanwhile; retention deletes each old key only
//! if it is still the version listed.

use super::KubeJournal;
use super::api::{is_conflict, is_missing, storage};
use super::codec::{corrupt, decode_key, decode_lock, key_object, key_what, lock_object};
use super::objects::{KEY_KIND, KEYS, KeyKind, LOCKS, key_name, lock_name};
use crate::engine::Lock;
use crate::engine::ports::{Journal as _, JournalError, Pruned};

type Result<T, E = JournalError> = std::result::Result<T, E>;

/// Tries of one `remember` while other writers keep moving the note.
const NOTE_ATTEMPTS: usize = 5;

impl KubeJournal {
    pub(super) fn all_locks(&self) -> Result<Vec<Lock>> {
        let objects = self.objects.list(LOCKS, None).map_err(storage)?;
        let mut out = objects
            .iter()
            .map(|obj| decode_lock(&self.sealer, obj))
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| (&a.env, &a.app).cmp(&(&b.env, &b.app)));
        Ok(out)
    }

    pub(super) fn write_lock(&self, lock: &Lock) -> Result<()> {
        let obj = lock_object(&self.sealer, lock)?;
        self.write(LOCKS, obj, || match &lock.app {
            Some(app) => format!("the lock on {app} in {}", lock.env),
            None => format!("the lock on {}", lock.env),
        })
    }

    pub(super) fn release_lock(&self, env: &str, app: Option<&str>) -> Result<Option<Lock>> {
        let name = lock_name(env, app);
        let Some(obj) = self.objects.get(LOCKS, &name).map_err(storage)? else {
            return Ok(None);
        };
        let lock = decode_lock(&self.sealer, &obj)?;
        if lock.env != env || lock.app.as_deref() != app {
            return Err(corrupt(
                format!("lock object {name}"),
                "it holds another scope's lock",
            ));
        }
        let rv = obj.metadata.resource_version.unwrap_or_default();
        match self.objects.delete(LOCKS, &name, rv) {
            Ok(()) => Ok(Some(lock)),
            Err(e) if is_conflict(&e) || is_missing(&e) => Err(JournalError::Conflict {
                what: match app {
                    Some(app) => format!("the lock on {app} in {env}"),
                    None => format!("the lock on {env}"),
                },
            }),
            Err(e) => Err(storage(e)),
        }
    }

    /// Create the dedupe key: new iff this call created it. A 409 is
    /// checked to be this key's object (not a forged one in its place).
    pub(super) fn see(&self, key: &str, now: i64) -> Result<bool> {
        let obj = key_object(&self.sealer, KeyKind::Dedupe, key, None, now)?;
        match self.objects.create(KEYS, obj) {
            Ok(()) => {
                // Dedupe keys are never updated: no version to keep.
                self.objects.forget(&key_name(KeyKind::Dedupe, key));
                Ok(true)
            }
            Err(e) if is_conflict(&e) => {
                let name = key_name(KeyKind::Dedupe, key);
                if let Some(found) = self.objects.get(KEYS, &name).map_err(storage)? {
                    self.objects.forget(&name);
                    let spec = decode_key(&self.sealer, &found, KeyKind::Dedupe)?;
                    if spec.key != key {
                        return Err(corrupt(
                            key_what(KeyKind::Dedupe, key),
                            "another key holds its name",
                        ));
                    }
                }
                Ok(false)
            }
            Err(e) => Err(storage(e)),
        }
    }

    /// Write the note (stamped now): replace the version last seen, else
    /// create; when another writer moved it, read it and try again.
    pub(super) fn note(&self, key: &str, value: &str) -> Result<()> {
        let name = key_name(KeyKind::Note, key);
        for _ in 0..NOTE_ATTEMPTS {
            let obj = key_object(
                &self.sealer,
                KeyKind::Note,
                key,
                Some(value),
                self.clock.now(),
            )?;
            let done = match self.objects.version(&name) {
                Some(rv) => self.objects.replace(KEYS, obj, rv),
                None => self.objects.create(KEYS, obj),
            };
            match done {
                Ok(()) => return Ok(()),
                Err(e) if is_conflict(&e) || is_missing(&e) => {
                    self.objects.forget(&name);
                    if let Some(found) = self.objects.get(KEYS, &name).map_err(storage)? {
                        decode_key(&self.sealer, &found, KeyKind::Note)?;
                    }
                }
                Err(e) => return Err(storage(e)),
            }
        }
        Err(JournalError::Conflict {
            what: key_what(KeyKind::Note, key),
        })
    }

    pub(super) fn read_note(&self, key: &str) -> Result<Option<String>> {
        let name = key_name(KeyKind::Note, key);
        let Some(obj) = self.objects.get(KEYS, &name).map_err(storage)? else {
            return Ok(None);
        };
        let spec = decode_key(&self.sealer, &obj, KeyKind::Note)?;
        match spec.value {
            Some(value) => Ok(Some(value)),
            None => Err(corrupt(key_what(KeyKind::Note, key), "it has no value")),
        }
    }

    pub(super) fn drop_old(&self, before: i64) -> Result<Pruned> {
        let oldest = self
            .unfinished()?
            .iter()
            .map(|op| op.created_at)
            .min()
            .unwrap_or(i64::MAX);
        Ok(Pruned {
            dedupe_keys: self.drop_keys(KeyKind::Dedupe, before)?,
            notes: self.drop_keys(KeyKind::Note, before.min(oldest))?,
        })
    }

    /// Delete every key of `kind` stamped before `before`, each only if it
    /// is still the version listed; how many this call deleted.
    fn drop_keys(&self, kind: KeyKind, before: i64) -> Result<u64> {
        let selector = format!("{KEY_KIND}={}", kind.label());
        let objects = self.objects.list(KEYS, Some(&selector)).map_err(storage)?;
        let mut dropped = 0;
        for obj in &objects {
            let spec = decode_key(&self.sealer, obj, kind)?;
            let name = key_name(kind, &spec.key);
            if spec.at >= before {
                if kind == KeyKind::Dedupe {
                    self.objects.forget(&name);
                }
                continue;
            }
            let rv = obj.metadata.resource_version.clone().unwrap_or_default();
            match self.objects.delete(KEYS, &name, rv) {
                Ok(()) => dropped += 1,
                // Rewritten or deleted by another replica meanwhile.
                Err(e) if is_conflict(&e) || is_missing(&e) => {}
                Err(e) => return Err(storage(e)),
            }
        }
        Ok(dropped)
    }
}
